package shellenv

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"
)

// failureOutput is output that set a variable before the failure, as a
// partial script would, to show that nothing after the failure runs.
func failureOutput(t *testing.T, f Format) string {
	t.Helper()
	var b bytes.Buffer
	assert.NilError(t, Render(&b, f, []Entry{{Name: "BEFORE", Value: "set"}}))
	assert.NilError(t, RenderFailure(&b, f, "ci-env failed: see the error above"))
	return b.String()
}

// TestFailureModels: PowerShell and cmd.exe cannot run here; their models
// stop at the failure statement.
func TestFailureModels(t *testing.T) {
	for _, tc := range []struct {
		f     Format
		model func(string, map[string]*string) error
		how   string
	}{
		{PowerShell, psModel, "throw ci-env failed: see the error above"},
		{CmdExe, cmdModel, "exit /b 1"},
	} {
		t.Run(string(tc.f), func(t *testing.T) {
			env := map[string]*string{}
			err := tc.model(failureOutput(t, tc.f)+renderString(t, tc.f, Entry{Name: "AFTER", Value: "x"}), env)
			var s stopped
			assert.Assert(t, errors.As(err, &s), "the model ran past the failure: %v", err)
			assert.Check(t, is.Equal(s.how, tc.how))
			assert.Check(t, env["BEFORE"] != nil && *env["BEFORE"] == "set")
			assert.Check(t, env["AFTER"] == nil)
		})
	}
	for _, f := range []Format{DotEnv, GitHubEnv, JSON} {
		err := RenderFailure(&bytes.Buffer{}, f, "x")
		assert.Check(t, errors.Is(err, ErrUnrepresentable), "%s: %v", f, err)
	}
	assert.Check(t, RenderFailure(&bytes.Buffer{}, "tcsh", "x") != nil)
}

func renderString(t *testing.T, f Format, e ...Entry) string {
	t.Helper()
	var b bytes.Buffer
	assert.NilError(t, Render(&b, f, e))
	return b.String()
}

// TestFailureStopsShells evaluates a failure in real shells, every way a job
// loads the output: a non-interactive shell (a CI job) stops with status 1
// and runs nothing after it, even without set -e; an interactive one stays
// open with status 1. fish's source only stops the sourcing (fish's own
// rule), so it reports status 1 to the caller.
func TestFailureStopsShells(t *testing.T) {
	type form struct {
		name, script string
		stops        bool // the shell ends; otherwise it reports "status 1"
	}
	posix := func(bin string, pre ...string) []string { return append(append([]string{bin}, pre...), "-c") }
	posixForms := []form{
		{"eval", `eval "$(cat ./out)"; echo "after $? $BEFORE"`, true},
		{"dot", `. ./out; echo "after $? $BEFORE"`, true},
	}
	posixInteractive := []form{
		{"eval interactive", `eval "$(cat ./out)"; echo "after $? $BEFORE"`, false},
	}
	fishForms := []form{
		{"eval", `eval (cat ./out); echo "after $status $BEFORE"`, true},
		{"source", `cat ./out | source; echo "after $status $BEFORE"`, false},
	}
	fishInteractive := []form{
		{"eval interactive", `eval (cat ./out); echo "after $status $BEFORE"`, false},
		{"source interactive", `cat ./out | source; echo "after $status $BEFORE"`, false},
	}
	shells := []struct {
		name        string
		f           Format
		bin         string
		cmd, icmd   []string
		forms, ifms []form
	}{
		{"dash", SH, "dash", posix("dash"), posix("dash", "-i"), posixForms, posixInteractive},
		{"bash", Bash, "bash", posix("bash", "--norc", "--noprofile"), posix("bash", "--norc", "--noprofile", "-i"), posixForms, posixInteractive},
		{"zsh", Zsh, "zsh", posix("zsh", "-f"), posix("zsh", "-f", "-i"), posixForms, posixInteractive},
		{"busybox-sh", SH, "busybox", posix("busybox", "sh"), posix("busybox", "sh", "-i"), posixForms, posixInteractive},
		{"fish", Fish, "fish", posix("fish", "--no-config"), posix("fish", "--no-config", "-i"), fishForms, fishInteractive},
	}
	for _, s := range shells {
		t.Run(s.name, func(t *testing.T) {
			bin, err := exec.LookPath(s.bin)
			if err != nil {
				t.Skipf("%s is not installed (%v)", s.bin, err)
			}
			dir := t.TempDir()
			assert.NilError(t, os.WriteFile(filepath.Join(dir, "out"), []byte(failureOutput(t, s.f)), 0o600))
			run := func(argv []string, fm form) {
				t.Run(fm.name, func(t *testing.T) {
					ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
					defer cancel()
					cmd := exec.CommandContext(ctx, bin, append(argv[1:], fm.script)...)
					cmd.Dir, cmd.Env = dir, []string{"PATH=" + os.Getenv("PATH"), "HOME=" + dir, "LC_ALL=C.UTF-8"}
					var stdout, stderr bytes.Buffer
					cmd.Stdout, cmd.Stderr = &stdout, &stderr
					err := cmd.Run()
					if fm.stops {
						var exit *exec.ExitError
						assert.Check(t, errors.As(err, &exit) && exit.ExitCode() == 1, "want exit status 1, got %v; stderr: %s", err, stderr.String())
						assert.Check(t, is.Equal(stdout.String(), ""), "the shell went on after the failure")
						return
					}
					assert.Check(t, err, "stderr: %s", stderr.String())
					// An interactive busybox prints a banner first.
					lines := strings.Split(strings.TrimSpace(stdout.String()), "\n")
					assert.Check(t, is.Equal(lines[len(lines)-1], "after 1 set"))
				})
			}
			for _, fm := range s.forms {
				run(s.cmd, fm)
			}
			for _, fm := range s.ifms {
				run(s.icmd, fm)
			}
		})
	}
}
