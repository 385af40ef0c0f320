// Package version holds the build version of both binaries, stamped by the
// Makefile with -ldflags "-X".
package version

// Version and Commit are replaced at link time.
var (
	Version = "v0.0.0-dev"
	Commit  = "unknown"
)
