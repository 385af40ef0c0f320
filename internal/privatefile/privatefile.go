// Package privatefile holds what the stores of docker-werf need to keep
// files only their user can touch: who owns a file, and an atomic write of
// a 0600 file. The credential store keeps secrets this way; the image cache
// keeps what decides which images look old enough to delete.
package privatefile

import (
	"fmt"
	"os"
	"path/filepath"
)

// WriteAtomic replaces dir/name with data: a 0600 temp file in dir, fsync,
// rename, fsync of dir.
func WriteAtomic(dir, name string, data []byte) error {
	tmp, err := os.CreateTemp(dir, "."+name+".*.tmp")
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
