package harness

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// Names of the external tools the tests use.
const (
	ToolDocker         = "docker"          // docker CLI
	ToolDockerRegistry = "docker-registry" // CNCF distribution 2.8 (Debian package)
	ToolRegistry       = "registry"        // CNCF distribution 3.x (go install)
	ToolCrane          = "crane"
	ToolRegctl         = "regctl"
	ToolSkopeo         = "skopeo"
)

// CacheDir is where e2e/testdeps.sh caches what it installs:
// ${DOCKER_WERF_TEST_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/docker-werf-test}.
func CacheDir() string {
	if d := os.Getenv("DOCKER_WERF_TEST_CACHE"); d != "" {
		return d
	}
	base := os.Getenv("XDG_CACHE_HOME")
	if base == "" {
		home, _ := os.UserHomeDir()
		base = filepath.Join(home, ".cache")
	}
	return filepath.Join(base, "docker-werf-test")
}

// CacheBinDir is CacheDir()/bin, where the pinned tools live.
func CacheBinDir() string { return filepath.Join(CacheDir(), "bin") }

// LookTool finds a tool in the cache bin dir (pinned versions first), then on
// PATH. It returns "" when the tool is missing.
func LookTool(name string) string {
	p := filepath.Join(CacheBinDir(), name)
	if fi, err := os.Stat(p); err == nil && !fi.IsDir() && fi.Mode()&0o111 != 0 {
		return p
	}
	if p, err := exec.LookPath(name); err == nil {
		if abs, err := filepath.Abs(p); err == nil {
			return abs
		}
		return p
	}
	return ""
}

// Tool returns the absolute path of a tool. A missing tool fails the test in
// CI (CI=true) and skips it elsewhere, naming the tool and the install script.
func Tool(t testing.TB, name string) string {
	t.Helper()
	p := LookTool(name)
	if p == "" {
		unavailable(t, "harness: tool %q not found in %s or on PATH; install the test dependencies with: sh e2e/testdeps.sh",
			name, CacheBinDir())
	}
	return p
}

// Tools holds the paths of all external tools.
type Tools struct {
	Docker, DockerRegistry, Registry, Crane, Regctl, Skopeo string
}

// AllTools looks up every tool, failing or skipping (see [Tool]) on the first
// missing one.
func AllTools(t testing.TB) Tools {
	t.Helper()
	return Tools{
		Docker:         Tool(t, ToolDocker),
		DockerRegistry: Tool(t, ToolDockerRegistry),
		Registry:       Tool(t, ToolRegistry),
		Crane:          Tool(t, ToolCrane),
		Regctl:         Tool(t, ToolRegctl),
		Skopeo:         Tool(t, ToolSkopeo),
	}
}

// toolDirs lists the distinct directories of the tools that exist, the cache
// bin dir first.
func toolDirs() []string {
	dirs := []string{CacheBinDir()}
	for _, n := range []string{ToolDocker, ToolDockerRegistry, ToolRegistry, ToolCrane, ToolRegctl, ToolSkopeo} {
		if p := LookTool(n); p != "" {
			dirs = appendUnique(dirs, filepath.Dir(p))
		}
	}
	return dirs
}

func appendUnique(list []string, s string) []string {
	for _, x := range list {
		if x == s {
			return list
		}
	}
	return append(list, s)
}
