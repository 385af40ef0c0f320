//go:build unix

package privatefile

import (
	"errors"
	"os"
	"syscall"
)

// PermsMeaningful says that mode bits and owners mean what they say.
const PermsMeaningful = true

// openFlags are added to every open: a final symlink is not followed, the
// descriptor is not inherited, and opening a FIFO does not wait for a writer
// (the type is checked on the open file before anything is read).
const openFlags = syscall.O_NOFOLLOW | syscall.O_CLOEXEC | syscall.O_NONBLOCK

// Owner returns the uid that owns the file.
func Owner(fi os.FileInfo) (uid int, ok bool) {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return 0, false
	}
	return int(st.Uid), true
}

// IsSymlinkError reports whether err is what an open with O_NOFOLLOW
// returns for a symbolic link.
func IsSymlinkError(err error) bool { return errors.Is(err, syscall.ELOOP) }
