// Package privatefile holds what docker-werf needs to keep files only their
// user can touch: who owns a file, the checks that refuse a file or
// directory someone else could read or replace, an open that neither follows
// a symlink nor waits on a FIFO, and writes that never go through a file or
// link another user put in place. The credential store keeps secrets this
// way; the image cache keeps what decides which images look old enough to
// delete; ci-env writes the script a job sources, and cleanup its report.
package privatefile

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// Modes Check refuses: any access by group or others (secrets), or their
// write access (files that decide what runs or what is deleted).
const (
	OpenToOthers     os.FileMode = 0o077
	WritableByOthers os.FileMode = 0o022
)

// Problem is why a file or directory is not private to the current user.
type Problem struct {
	Text    string // e.g. "is a symbolic link", "has mode 0644: group or others may write it"
	BadMode bool   // only the mode is wrong: chmod fixes it
}

// Check returns why fi (from Lstat, or Stat of an open file) is not a
// directory (dir true) or regular file (dir false) of uid with none of the
// mode bits in deny; nil when it is. Owners and modes are checked only where
// they mean something (PermsMeaningful).
func Check(fi os.FileInfo, dir bool, uid int, deny os.FileMode) *Problem {
	switch {
	case fi.Mode()&os.ModeSymlink != 0:
		return &Problem{Text: "is a symbolic link"}
	case dir && !fi.IsDir():
		return &Problem{Text: "is not a directory"}
	case !dir && !fi.Mode().IsRegular():
		return &Problem{Text: "is not a regular file (" + typeName(fi.Mode()) + ")"}
	}
	if owner, ok := Owner(fi); ok && owner != uid {
		return &Problem{Text: fmt.Sprintf("belongs to uid %d, not to the current user (uid %d)", owner, uid)}
	}
	if perm := fi.Mode().Perm(); PermsMeaningful && perm&deny != 0 {
		how := "is open to group or others"
		if deny&0o044 == 0 {
			how = "lets group or others write it"
		}
		return &Problem{Text: fmt.Sprintf("has mode %04o, which %s", perm, how), BadMode: true}
	}
	return nil
}

func typeName(m os.FileMode) string {
	switch {
	case m.IsDir():
		return "a directory"
	case m&os.ModeNamedPipe != 0:
		return "a FIFO"
	case m&os.ModeSocket != 0:
		return "a socket"
	case m&os.ModeDevice != 0:
		return "a device"
	}
	return "mode " + m.Type().String()
}

// Open opens path with flag without following a final symlink (the error
// then satisfies IsSymlinkError) and without waiting on a FIFO: O_NONBLOCK
// makes opening one return at once, so the caller can Check the open file's
// Stat before reading. On a regular file O_NONBLOCK changes nothing.
func Open(path string, flag int, perm os.FileMode) (*os.File, error) {
	return os.OpenFile(path, flag|openFlags, perm)
}

// RefusedError is a file Write will not write through.
type RefusedError struct {
	Path    string
	Problem string
}

func (e *RefusedError) Error() string {
	return fmt.Sprintf("refusing to write %s: it %s", e.Path, e.Problem)
}

// Write writes data to path as a 0600 file of the current user without
// ever writing through what someone else put there. A missing file is
// created exclusively (O_EXCL, which also fails on a symlink). An existing
// one is refused (RefusedError) if Check finds a problem with deny; else a
// new file replaces it by rename (WriteAtomic), so no other link to the old
// file and no process holding it open sees the new content.
func Write(path string, data []byte, deny os.FileMode) error {
	for attempt := 0; ; attempt++ {
		fi, err := os.Lstat(path)
		if err == nil {
			if err := refuse(path, fi, deny); err != nil {
				return err
			}
			return WriteAtomic(filepath.Dir(path), filepath.Base(path), data)
		}
		if !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("writing %s: %w", path, err)
		}
		err = writeNew(path, data)
		if errors.Is(err, os.ErrExist) && attempt == 0 {
			continue // created in between: check what is there now
		}
		return err
	}
}

// CheckTarget reports, before any work is done, whether Write(path, ...,
// deny) would be refused: what is at path must pass Check, and a missing
// file needs an existing directory to be created in. Write checks again;
// this is for failing before a run rather than after it.
func CheckTarget(path string, deny os.FileMode) error {
	fi, err := os.Lstat(path)
	if err == nil {
		return refuse(path, fi, deny)
	}
	if !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("checking %s: %w", path, err)
	}
	dir := filepath.Dir(path)
	if fi, err := os.Stat(dir); err != nil || !fi.IsDir() {
		return fmt.Errorf("cannot create %s: %s is not a directory", path, dir)
	}
	return nil
}

func refuse(path string, fi os.FileInfo, deny os.FileMode) error {
	if p := Check(fi, false, os.Geteuid(), deny); p != nil {
		return &RefusedError{Path: path, Problem: p.Text}
	}
	return nil
}

func writeNew(path string, data []byte) error {
	f, err := Open(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	_, err = f.Write(data)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		_ = os.Remove(path)
		return fmt.Errorf("writing %s: %w", path, err)
	}
	return nil
}

// WriteAtomic replaces dir/name with data: a 0600 temp file created
// exclusively under a random name in dir (TempPattern), fsync, rename, fsync
// of dir.
func WriteAtomic(dir, name string, data []byte) error {
	tmp, err := os.CreateTemp(dir, TempPattern(name))
	if err != nil {
		return fmt.Errorf("writing %s: %w", filepath.Join(dir, name), err)
	}
	tmpName := tmp.Name()
	ok := false
	defer func() {
		if !ok {
			_ = tmp.Close()
			_ = os.Remove(tmpName)
		}
	}()
	if err := tmp.Chmod(0o600); err != nil {
		return fmt.Errorf("writing %s: %w", tmpName, err)
	}
	if _, err := tmp.Write(data); err != nil {
		return fmt.Errorf("writing %s: %w", tmpName, err)
	}
	if err := tmp.Sync(); err != nil {
		return fmt.Errorf("writing %s: %w", tmpName, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("writing %s: %w", tmpName, err)
	}
	dst := filepath.Join(dir, name)
	if err := os.Rename(tmpName, dst); err != nil {
		return fmt.Errorf("replacing %s: %w", dst, err)
	}
	ok = true
	return SyncDir(dir)
}

// SyncDir flushes a directory's entries (a rename or a removal in it) to
// disk, where the system allows; it never fails.
func SyncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return nil
	}
	defer d.Close()
	_ = d.Sync()
	return nil
}

// TempPattern is the os.CreateTemp pattern of WriteAtomic's temp files for
// name: ".name.*.tmp". A writer killed before its rename leaves one behind.
func TempPattern(name string) string { return "." + name + ".*.tmp" }
