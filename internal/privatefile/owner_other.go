//go:build !unix

package privatefile

import "os"

// PermsMeaningful is false: on other systems (Windows) mode bits and owners
// are not checked.
const PermsMeaningful = false

// Owner is unknown on other systems.
func Owner(os.FileInfo) (uid int, ok bool) { return 0, false }
