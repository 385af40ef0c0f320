package credstore

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/docker-werf/docker-werf/internal/privatefile"
)

// UnsafeError reports a store directory or file that is refused because
// another user could read or replace it.
type UnsafeError struct {
	Path    string
	Problem string
	Fix     string
}

func (e *UnsafeError) Error() string {
	return fmt.Sprintf("refusing to use %s: %s; %s", e.Path, e.Problem, e.Fix)
}

var errScopeGone = errors.New("scope directory removed while waiting for its lock")

// checkExisting checks a directory that may not exist: (false, nil) when it
// is missing, (true, nil) when it is safe.
func (s *Store) checkExisting(path, what string) (bool, error) {
	fi, err := os.Lstat(path)
	if errors.Is(err, os.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("%s %s: %w", what, path, err)
	}
	return true, s.checkDir(path, what, fi)
}

// ensureDir creates a directory (with parents when parents is true) with
// mode 0700 if it is missing, then checks it.
func (s *Store) ensureDir(path string, parents bool, what string) error {
	ok, err := s.checkExisting(path, what)
	if ok || err != nil {
		return err
	}
	if parents {
		err = os.MkdirAll(path, 0o700)
	} else {
		err = os.Mkdir(path, 0o700)
	}
	if err != nil && !errors.Is(err, os.ErrExist) {
		return fmt.Errorf("creating %s %s: %w", what, path, err)
	}
	fi, err := os.Lstat(path)
	if err != nil {
		return fmt.Errorf("%s %s: %w", what, path, err)
	}
	return s.checkDir(path, what, fi)
}

func (s *Store) checkDir(path, what string, fi os.FileInfo) error {
	p := privatefile.Check(fi, true, s.uid, privatefile.OpenToOthers)
	switch {
	case p == nil:
		return nil
	case p.BadMode:
		return &UnsafeError{path, what + " " + p.Text, fmt.Sprintf("run \"chmod 700 %s\"", path)}
	}
	return &UnsafeError{path, what + " " + p.Text, "remove it, or set " + EnvDir + " to a directory of your own with mode 0700"}
}

func (s *Store) checkFile(path string, fi os.FileInfo) error {
	p := privatefile.Check(fi, false, s.uid, privatefile.OpenToOthers)
	switch {
	case p == nil:
		return nil
	case p.BadMode:
		return &UnsafeError{path, "the file " + p.Text, fmt.Sprintf("run \"chmod 600 %s\"", path)}
	}
	return &UnsafeError{path, "the file " + p.Text, "remove it (and `docker login` again)"}
}

// openNoFollow opens a file without following a final symlink and without
// waiting on a FIFO (see privatefile.Open); callers check the type.
func openNoFollow(path string, flag int, perm os.FileMode) (*os.File, error) {
	f, err := privatefile.Open(path, flag, perm)
	if err != nil && privatefile.IsSymlinkError(err) {
		return nil, &UnsafeError{path, "the file is a symbolic link", "remove it (and `docker login` again)"}
	}
	return f, err
}

// readFile reads a checked file; (nil, nil) when it does not exist.
func (s *Store) readFile(path string) ([]byte, os.FileInfo, error) {
	f, err := openNoFollow(path, os.O_RDONLY, 0)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil, nil
	}
	if err != nil {
		return nil, nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", path, err)
	}
	if err := s.checkFile(path, fi); err != nil {
		return nil, nil, err
	}
	data, err := io.ReadAll(io.LimitReader(f, maxFileSize+1))
	if err != nil {
		return nil, nil, fmt.Errorf("reading %s: %w", path, err)
	}
	if len(data) > maxFileSize {
		return nil, nil, fmt.Errorf("%s is larger than %d bytes; remove it", path, maxFileSize)
	}
	return data, fi, nil
}

func (s *Store) readCredentials(path string) (map[string]Entry, error) {
	data, _, err := s.readFile(path)
	if data == nil || err != nil {
		return nil, err
	}
	var m map[string]Entry
	if err := json.Unmarshal(data, &m); err != nil {
		// The decoder's message may quote a character of the file, which
		// holds secrets: report the position only.
		where := ""
		var se *json.SyntaxError
		if errors.As(err, &se) {
			where = fmt.Sprintf(" at byte %d", se.Offset)
		}
		return nil, fmt.Errorf("credential file %s is corrupt (invalid JSON%s); remove it and `docker login` again", path, where)
	}
	return m, nil
}

func marshal(v any) ([]byte, error) {
	data, err := json.MarshalIndent(v, "", "\t")
	if err != nil {
		return nil, err
	}
	return append(data, '\n'), nil
}

// scopeLock is a held flock on a scope's lock file.
type scopeLock struct{ f *os.File }

func (l scopeLock) unlock() {
	_ = flock(l.f, lockUn)
	_ = l.f.Close()
}

// lock takes the exclusive lock of the scope in dir, waiting when wait is
// true (else returning errBusy). It fails with errScopeGone when the lock
// file it locked is no longer the one at the path (gc removed the scope).
func (s *Store) lock(dir string, wait bool) (scopeLock, error) {
	how := lockEx
	if !wait {
		how |= lockNB
	}
	return s.lockAt(filepath.Join(dir, lockFile), how)
}

// rootLock flocks the root directory itself: shared (lockSh) by writers
// for the whole of an update, which may create the scope directory, and
// exclusive (lockEx) around the removal of a scope. Without it gc could
// remove a directory a writer has just created and not yet locked. The
// order is always the root lock first, then the scope's.
func (s *Store) rootLock(how int) (scopeLock, error) {
	f, err := openNoFollow(s.root, os.O_RDONLY, 0)
	if err != nil {
		return scopeLock{}, fmt.Errorf("opening %s: %w", s.root, err)
	}
	fi, err := f.Stat()
	if err == nil {
		err = s.checkDir(s.root, "credential store directory", fi)
	}
	if err == nil {
		err = flock(f, how)
	}
	if err != nil {
		_ = f.Close()
		return scopeLock{}, err
	}
	return scopeLock{f}, nil
}

func (s *Store) lockAt(path string, how int) (scopeLock, error) {
	f, err := openNoFollow(path, os.O_RDWR|os.O_CREATE, 0o600)
	if errors.Is(err, os.ErrNotExist) {
		return scopeLock{}, errScopeGone // the directory went away (gc)
	}
	if err != nil {
		return scopeLock{}, fmt.Errorf("opening lock %s: %w", path, err)
	}
	fi, err := f.Stat()
	if err == nil {
		err = s.checkFile(path, fi)
	}
	if err != nil {
		_ = f.Close()
		return scopeLock{}, err
	}
	if err = flock(f, how); err != nil {
		_ = f.Close()
		if isWouldBlock(err) {
			return scopeLock{}, errBusy
		}
		return scopeLock{}, fmt.Errorf("locking %s: %w", path, err)
	}
	now, err := os.Lstat(path)
	if err != nil || !os.SameFile(fi, now) {
		l := scopeLock{f}
		l.unlock()
		return scopeLock{}, errScopeGone
	}
	return scopeLock{f}, nil
}

var errBusy = errors.New("scope is locked by another process")
