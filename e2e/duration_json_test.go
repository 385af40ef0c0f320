package e2e

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"

	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"
	"gotest.tools/v3/icmd"

	"github.com/docker-werf/docker-werf/e2e/harness"
	"github.com/docker-werf/docker-werf/internal/jsonout/jsoncheck"
)

// ageFiles sets the modification time of dir's files (and dir's) to d ago: how
// long ago a job last used its config or credential scope.
func ageFiles(t *testing.T, dir string, d time.Duration) {
	t.Helper()
	when := time.Now().Add(-d)
	entries, err := os.ReadDir(dir)
	assert.NilError(t, err)
	for _, e := range entries {
		assert.NilError(t, os.Chtimes(filepath.Join(dir, e.Name()), when, when))
	}
	assert.NilError(t, os.Chtimes(dir, when, when))
}

func pathExists(path string) bool { _, err := os.Lstat(path); return err == nil }

// TestCIEnvCleanupOlderThanInDays: through docker and the real binaries,
// ci-env takes --cleanup-older-than in days (and its variable in weeks and
// days): a job removes the private config another job left 10 days ago and
// keeps the one left 3 days ago, and a later job with 2d removes that too.
func TestCIEnvCleanupOlderThanInDays(t *testing.T) {
	h := harness.New(t)
	base := harness.NewEnv(t)
	job := func(id string) *harness.Env {
		return base.With("GITLAB_CI", "true", "CI", "true", "CI_JOB_ID", id, "CI_COMMIT_SHA", testCommit,
			"CI_COMMIT_BRANCH", "main", "CI_COMMIT_REF_NAME", "main")
	}
	configOf := func(res *icmd.Result) string {
		t.Helper()
		res.Assert(t, icmd.Success)
		var vars map[string]string
		assert.NilError(t, json.Unmarshal([]byte(res.Stdout()), &vars), res.Stdout())
		assert.Assert(t, vars["DOCKER_CONFIG"] != "", res.Stdout())
		return vars["DOCKER_CONFIG"]
	}
	old := configOf(h.Plugin(job("1"), "ci-env", "--format", "json"))
	recent := configOf(h.Plugin(job("2"), "ci-env", "--format", "json"))
	ageFiles(t, old, 10*24*time.Hour)
	ageFiles(t, recent, 3*24*time.Hour)

	own := configOf(h.Plugin(job("3"), "ci-env", "--format", "json", "--cleanup-older-than", "7d"))
	assert.Check(t, !pathExists(old), "the config left 10 days ago is still there")
	assert.Check(t, pathExists(recent), "the config left 3 days ago was removed")
	assert.Check(t, pathExists(own))

	configOf(h.Plugin(job("4").With("WERF_CI_ENV_CLEANUP_OLDER_THAN", "1w"), "ci-env", "--format", "json"))
	assert.Check(t, pathExists(recent), "1w removed the config left 3 days ago")
	configOf(h.Plugin(job("5").With("WERF_CI_ENV_CLEANUP_OLDER_THAN", "2d"), "ci-env", "--format", "json"))
	assert.Check(t, !pathExists(recent), "2d left the config left 3 days ago")

	res := h.Plugin(job("6"), "ci-env", "--format", "json", "--cleanup-older-than", "7x")
	res.Assert(t, icmd.Expected{ExitCode: 1, Err: `invalid duration "7x": want a number with a unit s, m, h, d or w`})
}

// TestHelperGCJSONInWeeks: docker-credential-werf gc --format json
// --older-than 2w prints one JSON document with lowerCamel keys that lists
// the CI job scope unused for 20 days and not the one unused for 10 days,
// which stays on disk; registry info --format json speaks the same dialect.
func TestHelperGCJSONInWeeks(t *testing.T) {
	h := harness.New(t)
	env := harness.NewEnv(t)
	pass := h.RandomSecret("pw-")
	scopes := map[string]string{}
	for id, d := range map[string]time.Duration{"20": 20 * 24 * time.Hour, "10": 10 * 24 * time.Hour} {
		before := helperScopeDirs(t, env)
		jobEnv := env.With("GITLAB_CI", "true", "CI_JOB_ID", id)
		h.Helper(jobEnv, `{"ServerURL":"registry.example.com","Username":"alice","Secret":"`+pass+`"}`, "store").Assert(t, icmd.Success)
		after := helperScopeDirs(t, env)
		assert.Assert(t, is.Len(after, len(before)+1))
		for dir := range after {
			if !before[dir] {
				scopes[id] = dir
			}
		}
		ageFiles(t, scopes[id], d)
	}

	res := h.Helper(env, "", "gc", "--format", "json", "--older-than", "2w")
	res.Assert(t, icmd.Success)
	assert.Check(t, is.Len(jsoncheck.Problems([]byte(res.Stdout())), 0), res.Stdout())
	var report struct {
		Root      string `json:"root"`
		OlderThan string `json:"olderThan"`
		DryRun    bool   `json:"dryRun"`
		Removed   []struct {
			Scope, CISystem, Dir, LastUsed, Reason string
		} `json:"removed"`
	}
	assert.NilError(t, json.Unmarshal([]byte(res.Stdout()), &report), res.Stdout())
	assert.Check(t, is.Equal(report.Root, env.CredentialsDir))
	assert.Check(t, is.Equal(report.OlderThan, "14d"))
	assert.Assert(t, is.Len(report.Removed, 1), res.Stdout())
	assert.Check(t, is.Equal(report.Removed[0].Scope, "ci:gitlab:20"))
	assert.Check(t, is.Equal(report.Removed[0].Dir, scopes["20"]))
	assert.Check(t, is.Contains(report.Removed[0].Reason, "CI job scope unused for 20d"))
	assert.Check(t, !pathExists(scopes["20"]))
	assert.Check(t, pathExists(scopes["10"]))

	res = h.Plugin(env, "registry", "info", "--check=false", "--format", "json", "registry.example.com/acme/app")
	res.Assert(t, icmd.Success)
	assert.Check(t, is.Len(jsoncheck.Problems([]byte(res.Stdout())), 0), res.Stdout())
}

func helperScopeDirs(t *testing.T, env *harness.Env) map[string]bool {
	t.Helper()
	entries, err := os.ReadDir(env.CredentialsDir)
	assert.NilError(t, err)
	dirs := map[string]bool{}
	for _, e := range entries {
		if e.IsDir() {
			dirs[filepath.Join(env.CredentialsDir, e.Name())] = true
		}
	}
	return dirs
}
