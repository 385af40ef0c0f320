//go:build !unix

package credstore

import (
	"errors"
	"os"
)

const (
	lockSh = 8
	lockEx = 1
	lockNB = 2
	lockUn = 4
)

// On other systems (Windows) writes fail: the store relies on flock(2).
var errNoLocking = errors.New("the credential store is not supported on this platform (it needs flock)")

func flock(*os.File, int) error { return errNoLocking }
func isWouldBlock(error) bool   { return false }
