//go:build unix

package privatefile

import (
	"os"
	"syscall"
)

// PermsMeaningful says that mode bits and owners mean what they say.
const PermsMeaningful = true

// Owner returns the uid that owns the file.
func Owner(fi os.FileInfo) (uid int, ok bool) {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return 0, false
	}
	return int(st.Uid), true
}
