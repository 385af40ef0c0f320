package e2e

import (
	"bufio"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"gotest.tools/v3/assert"
	"gotest.tools/v3/golden"

	"github.com/docker-werf/docker-werf/e2e/harness"
)

// ciEnvFormats are every output of ci-env, by the flags that select it.
var ciEnvFormats = []struct {
	name string
	args []string
}{
	{"sh", nil},
	{"bash", []string{"--shell", "bash"}},
	{"zsh", []string{"--shell", "zsh"}},
	{"fish", []string{"--shell", "fish"}},
	{"powershell", []string{"--shell", "powershell"}},
	{"cmdexe", []string{"--shell", "cmdexe"}},
	{"as-file", []string{"--as-file"}},
	{"as-env-file", []string{"--as-env-file"}},
	{"github-env", []string{"--github-env"}},
	{"json", []string{"--format", "json"}},
}

// TestCIEnvGolden runs ci-env for every CI system's branch, tag and merge
// request fixture (internal/ci/testdata) in every output format and
// compares with e2e/testdata/ci-env/<system>-<fixture>.golden
// (go test ./e2e -run TestCIEnvGolden -update rewrites them).
func TestCIEnvGolden(t *testing.T) {
	fixtures, err := filepath.Glob(filepath.Join(harness.ModuleRoot(t), "internal", "ci", "testdata", "*", "*.env"))
	assert.NilError(t, err)
	assert.Check(t, len(fixtures) >= 42, "expected a branch, tag and pr fixture per CI system, found %d", len(fixtures))
	for _, path := range fixtures {
		system := filepath.Base(filepath.Dir(path))
		name := system + "-" + strings.TrimSuffix(filepath.Base(path), ".env")
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			h := harness.New(t)
			vars, args := readCIFixture(t, path)
			var out strings.Builder
			for _, f := range ciEnvFormats {
				out.WriteString("=== " + f.name + " ===\n")
				out.WriteString(runCIEnvForGolden(t, h, system, vars, append(args, f.args...)))
			}
			golden.Assert(t, out.String(), filepath.Join("ci-env", name+".golden"))
		})
	}
}

var ghaDelimiter = regexp.MustCompile(`ghadelimiter_[0-9a-f]{32}`)

// runCIEnvForGolden runs one format and returns what the job would load,
// with the job's random directory and heredoc delimiters made stable.
func runCIEnvForGolden(t *testing.T, h *harness.H, system string, vars map[string]string, args []string) string {
	env := harness.NewEnv(t)
	for k, v := range vars {
		env.Set(k, v)
	}
	tmp := filepath.Join(env.Root, "jobs")
	assert.NilError(t, os.Mkdir(tmp, 0o700))
	githubEnv := filepath.Join(env.Root, "github-env")
	assert.NilError(t, os.WriteFile(githubEnv, nil, 0o600))
	env.Set("GITHUB_ENV", githubEnv)

	res := h.Run(env, env.Bins.Plugin, append([]string{"werf", "ci-env", system, "--tmp-dir", tmp}, args...)...)
	if res.ExitCode != 0 {
		return "error: " + strings.ReplaceAll(res.Stderr(), tmp, "<TMP>")
	}
	text := res.Stdout()
	switch {
	case slices.Contains(args, "--as-file") || slices.Contains(args, "--as-env-file"):
		data, err := os.ReadFile(strings.TrimSpace(text))
		assert.NilError(t, err)
		text = "path: " + strings.TrimSpace(text) + "\n" + string(data)
	case slices.Contains(args, "--github-env"):
		data, err := os.ReadFile(githubEnv)
		assert.NilError(t, err)
		text = string(data)
	}
	jobs, err := os.ReadDir(tmp)
	assert.NilError(t, err)
	assert.Equal(t, len(jobs), 1, "one private config per run")
	text = strings.ReplaceAll(text, filepath.Join(tmp, jobs[0].Name()), "<DOCKER_CONFIG>")
	return ghaDelimiter.ReplaceAllString(text, "ghadelimiter_<random>")
}

// readCIFixture reads KEY=VALUE lines and "#option Field=value" lines (the
// explicit flags a job would pass).
func readCIFixture(t *testing.T, path string) (map[string]string, []string) {
	t.Helper()
	f, err := os.Open(path)
	assert.NilError(t, err)
	defer f.Close()
	flags := map[string]string{"Repo": "--repo", "Env": "--env", "Branch": "--branch", "Tag": "--tag",
		"Commit": "--commit", "ProjectURL": "--project-url"}
	vars := map[string]string{}
	var args []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if opt, ok := strings.CutPrefix(line, "#option "); ok {
			k, v, _ := strings.Cut(opt, "=")
			assert.Check(t, flags[k] != "", "%s: unknown option %q", path, k)
			args = append(args, flags[k]+"="+v)
			continue
		}
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		assert.Check(t, ok, "%s: not KEY=VALUE: %q", path, line)
		vars[k] = v
	}
	assert.NilError(t, sc.Err())
	return vars, args
}
