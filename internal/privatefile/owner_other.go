//go:build !unix

package privatefile

import "os"

// PermsMeaningful is false: on other systems (Windows) mode bits and owners
// are not checked.
const PermsMeaningful = false

const openFlags = 0

// Owner is unknown on other systems.
func Owner(os.FileInfo) (uid int, ok bool) { return 0, false }

// IsSymlinkError is false: other systems have no O_NOFOLLOW.
func IsSymlinkError(error) bool { return false }
