//go:build !unix

package imagecache

import "os"

// checkPrivate: outside Unix, mode bits and owners say little; the user's
// cache directory is private by default there.
func checkPrivate(string, os.FileInfo) error { return nil }
