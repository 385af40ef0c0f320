package creds

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// parentDockerConfig returns the --config directory of the docker CLI that
// started this process, if the parent is one and was given --config. docker
// passes the directory only in its own argv; the helper it execs inherits
// no DOCKER_CONFIG. It reads /proc/<ppid>/cmdline (and, for a relative
// directory, /proc/<ppid>/cwd) and returns "" on any failure.
var parentDockerConfig = func() string {
	ppid := os.Getppid()
	if ppid <= 1 {
		return ""
	}
	proc := "/proc/" + strconv.Itoa(ppid)
	data, err := os.ReadFile(proc + "/cmdline")
	if err != nil {
		return ""
	}
	dir := configFromArgs(strings.Split(strings.TrimSuffix(string(data), "\x00"), "\x00"))
	if dir == "" || filepath.IsAbs(dir) {
		return dir
	}
	cwd, err := os.Readlink(proc + "/cwd")
	if err != nil {
		return ""
	}
	return filepath.Join(cwd, dir)
}
