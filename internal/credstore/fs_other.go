//go:build !unix

package credstore

import (
	"errors"
	"os"
)

// On other systems (Windows) mode bits and owners are not checked, and
// writes fail: the store relies on flock(2).
const unixPerms = false

const (
	oNoFollow = 0
	lockEx    = 1
	lockNB    = 2
	lockUn    = 4
)

var errNoLocking = errors.New("the credential store is not supported on this platform (it needs flock)")

func ownerOf(os.FileInfo) (int, bool) { return 0, false }
func flock(*os.File, int) error       { return errNoLocking }
func isLoop(error) bool               { return false }
func isWouldBlock(error) bool         { return false }
