//go:build unix

package imagecache

import (
	"fmt"
	"os"
	"syscall"
)

// checkPrivate refuses what another user owns or may write: such a cache
// could make images look old enough to delete.
func checkPrivate(path string, fi os.FileInfo) error {
	if st, ok := fi.Sys().(*syscall.Stat_t); ok && int(st.Uid) != os.Getuid() {
		return &UnsafeError{path, fmt.Sprintf("it belongs to uid %d, not to the current user (uid %d)", st.Uid, os.Getuid())}
	}
	if perm := fi.Mode().Perm(); perm&0o022 != 0 {
		return &UnsafeError{path, fmt.Sprintf("it has mode %04o: others may write it", perm)}
	}
	return nil
}
