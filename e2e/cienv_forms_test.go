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

// ciEnvJobForms are the forms the README documents for loading ci-env in a
// job, per shell; ARGS stands for ci-env's arguments. Each must stop the job
// when ci-env fails and when docker cannot run the plugin at all, without
// set -e. (PowerShell and cmd.exe cannot run here: internal/shellenv models
// them.)
var ciEnvJobForms = []struct {
	shell string
	argv  []string
	load  string
	after string
}{
	{"sh", []string{"sh", "-c"}, `eval "$(docker werf ci-env ARGS || echo exit 1)"`, `echo "after $DOCKER_CONFIG"`},
	{"bash", []string{"bash", "--norc", "--noprofile", "-c"}, `eval "$(docker werf ci-env ARGS --shell bash || echo exit 1)"`, `echo "after $DOCKER_CONFIG"`},
	{"zsh", []string{"zsh", "-f", "-c"}, `eval "$(docker werf ci-env ARGS --shell zsh || echo exit 1)"`, `echo "after $DOCKER_CONFIG"`},
	{"busybox-sh", []string{"busybox", "sh", "-c"}, `eval "$(docker werf ci-env ARGS || echo exit 1)"`, `echo "after $DOCKER_CONFIG"`},
	{"fish", []string{"fish", "--no-config", "-c"}, `eval (docker werf ci-env ARGS --shell fish; or echo exit 1)`, `echo "after $DOCKER_CONFIG"`},
}

// ciEnvPromptForms are the shorter forms for a prompt; they still stop a
// non-interactive shell when ci-env itself fails.
var ciEnvPromptForms = []struct {
	shell string
	argv  []string
	load  string
	after string
}{
	{"sh", []string{"sh", "-c"}, `eval "$(docker werf ci-env ARGS)"`, `echo "after $DOCKER_CONFIG"`},
	{"bash", []string{"bash", "--norc", "--noprofile", "-c"}, `eval "$(docker werf ci-env ARGS --shell bash)"`, `echo "after $DOCKER_CONFIG"`},
	{"zsh", []string{"zsh", "-f", "-c"}, `eval "$(docker werf ci-env ARGS --shell zsh)"`, `echo "after $DOCKER_CONFIG"`},
	{"fish", []string{"fish", "--no-config", "-c"}, `docker werf ci-env ARGS --shell fish | source; or exit 1`, `echo "after $DOCKER_CONFIG"`},
}

func ciEnvFormsJob(t *testing.T) *harness.Env {
	env := harness.NewEnv(t).With("GITLAB_CI", "true", "CI", "true", "CI_JOB_ID", "77", "CI_COMMIT_SHA", testCommit,
		"CI_COMMIT_BRANCH", "main", "CI_COMMIT_REF_NAME", "main", "CI_PROJECT_URL", "https://gitlab.example.com/group/app")
	return env
}

func runForm(t *testing.T, h *harness.H, env *harness.Env, argv []string, load, args, after string) *icmd.Result {
	t.Helper()
	bin, err := exec.LookPath(argv[0])
	if err != nil {
		if harness.InCI() {
			t.Fatalf("%s is not installed (e2e/testdeps.sh installs it)", argv[0])
		}
		t.Skipf("%s is not installed (sh e2e/testdeps.sh installs it)", argv[0])
	}
	script := strings.ReplaceAll(load, "ARGS", args) + "\n" + after + "\n"
	return h.Run(env, bin, append(argv[1:], script)...)
}

// TestCIEnvFailureStopsJob: every documented form, in every shell we can
// run, loads the variables when ci-env works, and stops the job with the
// reason on stderr when ci-env fails or the plugin cannot be found.
func TestCIEnvFailureStopsJob(t *testing.T) {
	h := harness.New(t)
	corrupt := t.TempDir()
	assert.NilError(t, os.WriteFile(filepath.Join(corrupt, "config.json"), []byte(`{"auths": {`), 0o600))
	for _, f := range ciEnvJobForms {
		t.Run(f.shell, func(t *testing.T) {
			t.Run("works", func(t *testing.T) {
				env := ciEnvFormsJob(t)
				res := runForm(t, h, env, f.argv, f.load, "gitlab", f.after)
				res.Assert(t, icmd.Success)
				dir := strings.TrimPrefix(strings.TrimSpace(res.Stdout()), "after ")
				assert.Check(t, strings.HasPrefix(dir, env.Get("TMPDIR")+"/"), "DOCKER_CONFIG is %q", dir)
			})
			t.Run("ci-env fails", func(t *testing.T) {
				env := ciEnvFormsJob(t)
				res := runForm(t, h, env, f.argv, f.load, "gitlab --docker-config "+corrupt, f.after)
				res.Assert(t, icmd.Expected{ExitCode: 1, Err: "is not a valid JSON object"})
				assert.Check(t, !strings.Contains(res.Stdout(), "after"), "the job went on: %s", res.Stdout())
			})
			t.Run("plugin not found", func(t *testing.T) {
				env := ciEnvFormsJob(t)
				env.WriteConfig(t, map[string]any{"auths": map[string]any{}})
				res := runForm(t, h, env, f.argv, f.load, "gitlab", f.after)
				res.Assert(t, icmd.Expected{ExitCode: 1, Err: "Run 'docker --help'"})
				assert.Check(t, !strings.Contains(res.Stdout(), "after"), "the job went on: %s", res.Stdout())
			})
		})
	}
	for _, f := range ciEnvPromptForms {
		t.Run("prompt form/"+f.shell, func(t *testing.T) {
			env := ciEnvFormsJob(t)
			res := runForm(t, h, env, f.argv, f.load, "gitlab --docker-config "+corrupt, f.after)
			res.Assert(t, icmd.Expected{ExitCode: 1, Err: "is not a valid JSON object"})
			assert.Check(t, !strings.Contains(res.Stdout(), "after"), "the job went on: %s", res.Stdout())
		})
	}
}

// TestCIEnvFailureOutput: what a failing ci-env prints on stdout, per
// output; the formats that are data print nothing.
func TestCIEnvFailureOutput(t *testing.T) {
	h := harness.New(t)
	tests := []struct {
		args []string
		want string
	}{
		{nil, "case $- in *i*) false ;; *) exit 1 ;; esac\n"},
		{[]string{"--shell", "fish"}, "status is-interactive; or exit 1; false;\n"},
		{[]string{"--shell", "powershell"}, "throw 'docker werf ci-env failed (the error is on stderr): this stops the job'\n"},
		{[]string{"--shell", "cmdexe"}, "@exit /b 1\r\n"},
		{[]string{"--shell", "tcsh"}, "case $- in *i*) false ;; *) exit 1 ;; esac\n"},
		{[]string{"--no-such-flag"}, "case $- in *i*) false ;; *) exit 1 ;; esac\n"},
		{[]string{"--as-file"}, ""},
		{[]string{"--as-env-file"}, ""},
		{[]string{"--format", "json"}, ""},
		{[]string{"--cleanup", "--shell", "fish", "--cleanup-older-than", "0"}, "status is-interactive; or exit 1; false;\n"},
	}
	for _, tc := range tests {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			env := ciEnvFormsJob(t)
			res := h.Plugin(env, append([]string{"ci-env", "no-such-ci"}, tc.args...)...)
			res.Assert(t, icmd.Expected{ExitCode: 1})
			if tc.want == "" {
				assert.Check(t, is.Equal(res.Stdout(), ""))
				return
			}
			assert.Check(t, strings.HasSuffix(res.Stdout(), tc.want), "stdout: %q", res.Stdout())
		})
	}
}

// TestCIEnvREADMEForms: the README gives the forms this file runs, and every
// eval of ci-env at the start of a job in its CI table stops the job when
// the plugin does not run.
func TestCIEnvREADMEForms(t *testing.T) {
	data, err := os.ReadFile(filepath.Join(harness.ModuleRoot(t), "README.md"))
	assert.NilError(t, err)
	readme := strings.ReplaceAll(string(data), `\|`, "|")
	for _, f := range ciEnvJobForms {
		if f.shell != "sh" && f.shell != "fish" {
			continue // the README gives one form for every POSIX shell
		}
		form := strings.ReplaceAll(f.load, " ARGS", "")
		assert.Check(t, is.Contains(readme, "| `"+form+"` |"), "the README's %s row", f.shell)
	}
	start := strings.Index(readme, "| CI system | at the start of the job |")
	assert.Assert(t, start >= 0)
	for _, row := range strings.Split(readme[start:strings.Index(readme[start:], "\n\n")+start], "\n")[2:] {
		cells := strings.Split(row, "` |")
		if strings.Contains(cells[0], `eval "$(docker werf ci-env`) {
			assert.Check(t, is.Contains(cells[0], `|| echo exit 1)"`), "row %q", row)
		}
	}
}
