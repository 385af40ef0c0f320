//go:build unix

package dockerconfig

import (
	"os"
	"syscall"
)

// keepOwner gives f the owner of the file fi describes when running as root
// (e.g. sudo docker-credential-werf configure on a user's config).
func keepOwner(f *os.File, fi os.FileInfo) {
	if st, ok := fi.Sys().(*syscall.Stat_t); ok && os.Geteuid() == 0 {
		_ = f.Chown(int(st.Uid), int(st.Gid))
	}
}
