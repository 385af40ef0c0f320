// Package version holds the build version of both binaries, stamped by the
// Makefile with -ldflags "-X".
package version

// Version and Commit are replaced at link time.
var (
	Version = "v0.0.0-dev"
	Commit  = "unknown"
)

// UserAgent identifies docker-werf in registry and API logs.
func UserAgent() string { return "docker-werf/" + Version }
