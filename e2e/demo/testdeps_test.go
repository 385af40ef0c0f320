package demo

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"
	"gotest.tools/v3/icmd"

	"github.com/docker-werf/docker-werf/e2e/harness"
)

// TestTestdepsDemo: `sh e2e/testdeps.sh demo` (what make demo runs) is
// content with what the demo uses: on a machine with docker-registry, a
// docker CLI and git but no Go and an empty tool cache, it installs nothing
// and succeeds, where the full run fails for want of the other tools.
// An unknown argument is refused.
func TestTestdepsDemo(t *testing.T) {
	bin := t.TempDir()
	for name, path := range map[string]string{
		"docker-registry": harness.Tool(t, harness.ToolDockerRegistry), "docker": harness.Tool(t, harness.ToolDocker),
		"git": lookPath(t, "git"), "sh": lookPath(t, "sh"), "mkdir": lookPath(t, "mkdir"), "id": lookPath(t, "id"),
	} {
		assert.NilError(t, os.Symlink(path, filepath.Join(bin, name)))
	}
	cache := t.TempDir()
	script := filepath.Join(harness.ModuleRoot(t), "e2e", "testdeps.sh")
	run := func(args ...string) *icmd.Result {
		cmd := icmd.Command(filepath.Join(bin, "sh"), append([]string{script}, args...)...)
		cmd.Env = []string{"PATH=" + bin, "HOME=" + t.TempDir(), "DOCKER_WERF_TEST_CACHE=" + cache}
		return icmd.RunCmd(cmd)
	}

	run("demo").Assert(t, icmd.Expected{ExitCode: 0, Out: icmd.None, Err: icmd.None})
	entries, err := os.ReadDir(filepath.Join(cache, "bin"))
	assert.NilError(t, err)
	assert.Check(t, is.Len(entries, 0), "the demo mode installed tools")

	full := run()
	assert.Check(t, full.ExitCode != 0, "the full run found everything on a PATH of the demo's tools")
	assert.Check(t, is.Contains(full.Stderr(), "testdeps: error: "))

	run("everything").Assert(t, icmd.Expected{ExitCode: 2,
		Err: `testdeps: error: unknown argument everything: expected none (what every test needs) or "demo" (what make demo needs)`})
}

func lookPath(t *testing.T, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	assert.NilError(t, err)
	abs, err := filepath.EvalSymlinks(p)
	assert.NilError(t, err)
	return abs
}
