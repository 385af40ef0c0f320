//go:build unix

package credstore

import (
	"errors"
	"os"
	"syscall"
)

const (
	lockSh = syscall.LOCK_SH
	lockEx = syscall.LOCK_EX
	lockNB = syscall.LOCK_NB
	lockUn = syscall.LOCK_UN
)

func flock(f *os.File, how int) error {
	for {
		err := syscall.Flock(int(f.Fd()), how)
		if err != syscall.EINTR {
			return err
		}
	}
}

func isWouldBlock(err error) bool { return errors.Is(err, syscall.EWOULDBLOCK) }
