//go:build unix

package credstore

import (
	"errors"
	"os"
	"syscall"
)

// unixPerms says that mode bits and owners mean what they say.
const unixPerms = true

const (
	oNoFollow = syscall.O_NOFOLLOW | syscall.O_CLOEXEC
	lockEx    = syscall.LOCK_EX
	lockNB    = syscall.LOCK_NB
	lockUn    = syscall.LOCK_UN
)

func ownerOf(fi os.FileInfo) (int, bool) {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return 0, false
	}
	return int(st.Uid), true
}

func flock(f *os.File, how int) error {
	for {
		err := syscall.Flock(int(f.Fd()), how)
		if err != syscall.EINTR {
			return err
		}
	}
}

func isLoop(err error) bool       { return errors.Is(err, syscall.ELOOP) }
func isWouldBlock(err error) bool { return errors.Is(err, syscall.EWOULDBLOCK) }
