package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"
	"gotest.tools/v3/icmd"

	"github.com/docker-werf/docker-werf/e2e/harness"
)

// TestInstallScript installs from this tree into a fresh HOME twice (the
// second run must change nothing and succeed), then checks its errors.
func TestInstallScript(t *testing.T) {
	h := harness.New(t)
	env := installEnv(t)
	script := filepath.Join(harness.ModuleRoot(t), "install.sh")
	bindir := filepath.Join(env.Root, "bin")

	for _, run := range []string{"first", "again"} {
		res := h.Run(env, "sh", script, "-b", bindir)
		res.Assert(t, icmd.Success)
		plugin := filepath.Join(env.DockerConfig, "cli-plugins", "docker-werf")
		assert.Check(t, is.Contains(res.Stdout(), "installed "+plugin), run)
		assert.Check(t, is.Contains(res.Stdout(), "installed "+filepath.Join(bindir, "docker-credential-werf")), run)
		assert.Check(t, is.Contains(res.Stdout(), "docker-werf "), "%s: install.sh ends with docker werf version", run)
		assert.Check(t, is.Contains(res.Stderr(), bindir+" is not on PATH"), run)
		for _, p := range []string{plugin, filepath.Join(bindir, "docker-credential-werf")} {
			fi, err := os.Stat(p)
			assert.NilError(t, err)
			assert.Check(t, is.Equal(fi.Mode().Perm(), os.FileMode(0o755)), p)
		}
	}
	leftovers, _ := filepath.Glob(filepath.Join(bindir, ".*"))
	assert.Check(t, is.Len(leftovers, 0), "temporary files left behind")

	tests := []struct {
		name    string
		args    []string
		env     []string
		wantErr string
	}{
		{name: "broken go", env: []string{"GO", "/nonexistent/go"}, wantErr: "install.sh: /nonexistent/go does not work"},
		{name: "unwritable bin dir", args: []string{"-b", "/proc/docker-werf-test"},
			wantErr: "install.sh: cannot create /proc/docker-werf-test"},
		{name: "unexpected argument", args: []string{"extra"}, wantErr: "install.sh: unexpected argument: extra"},
		{name: "unknown option", args: []string{"-x"}, wantErr: "Usage: sh install.sh"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			res := h.Run(env.With(tc.env...), "sh", append([]string{script}, tc.args...)...)
			assert.Check(t, res.ExitCode != 0)
			assert.Check(t, is.Contains(res.Stderr(), tc.wantErr))
		})
	}
}

// installEnv is a fresh HOME whose docker config has no cliPluginsExtraDirs,
// so docker can only find the plugin install.sh put there, but which shares
// the Go caches of the test process so the build stays warm.
func installEnv(t *testing.T) *harness.Env {
	t.Helper()
	env := harness.NewEnv(t)
	env.WriteConfig(t, map[string]any{})
	for _, k := range []string{"GOCACHE", "GOMODCACHE", "GOPATH", "GOFLAGS", "GOPROXY", "GONOSUMDB", "GOTOOLCHAIN"} {
		out, err := exec.Command("go", "env", k).Output()
		assert.NilError(t, err)
		if v := strings.TrimSpace(string(out)); v != "" {
			env.Set(k, v)
		}
	}
	return env
}
