package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"
	"gotest.tools/v3/icmd"

	"github.com/docker-werf/docker-werf/e2e/harness"
)

// The GitHub Actions jobs run in nektos/act (https://nektosact.com) on the
// host (-P ubuntu-latest=-self-hosted): act reads the workflow file, runs its
// `run:` steps and the shipped composite action (github-action/), and sets
// the job's GITHUB_* and RUNNER_* variables itself.

const toolAct = "act"

// runAct runs `act push` on one workflow of project, as a push of its main
// branch, with vars and the named secrets (whose values act reads from env).
func runAct(h *harness.H, env *harness.Env, project, workflow string, vars map[string]string, secrets ...string) *icmd.Result {
	h.T.Helper()
	args := []string{"-P", "ubuntu-latest=-self-hosted", "push", "--no-cache-server", "-W", ".github/workflows/" + workflow}
	for k, v := range vars {
		args = append(args, "--var", k+"="+v)
	}
	for _, s := range secrets {
		args = append(args, "-s", s)
	}
	cmd := env.Cmd(harness.Tool(h.T, toolAct), args...)
	cmd.Dir = project
	cmd.Timeout = 5 * time.Minute
	return h.RunCmd(cmd)
}

// TestActJobs: two GitHub Actions jobs at once on one machine, with
// different logins to one registry, each load ci-env through the shipped
// action, docker login, build and push FROM scratch through the helper, clean
// the registry and clean up. Neither sees the other's config or credentials;
// the machine's ~/.docker/config.json and the credential store come out as
// they went in.
func TestActJobs(t *testing.T) {
	harness.RequireEngine(t)
	harness.Tool(t, toolAct)
	h := harness.New(t)
	users, reg := twoUsers(t, h)
	m := newRunnerMachine(t, h)
	project, commit := newProject(t, m.env, map[string]string{".github/workflows/build.yml": runnerFile(t, "github", "build.yml")})

	results := runBoth(func(_ int, user string) *icmd.Result {
		env := m.env.With("PROJECT_DIR", project, "SYNC_DIR", m.syncDir, "JOBS", "2", "REGISTRY_PASSWORD", users[user])
		return runAct(h, env, project, "build.yml", map[string]string{
			"REGISTRY": reg.Addr, "REGISTRY_USER": user, "REPO": reg.Repo("acme/" + user),
		}, "REGISTRY_PASSWORD")
	})

	configs := map[string]string{}
	for user, res := range results {
		out := res.Combined()
		if !assert.Check(t, res.ExitCode == 0 && strings.Contains(out, "Job succeeded"), "%s's job:\n%s", user, out) {
			continue
		}
		cfg := assertOwnLoginOnly(t, out, reg, user)
		configs[user] = cfg
		assert.Check(t, is.Contains(cfg, filepath.Join(m.env.Home, ".cache", "act")+"/"), "the private config is under act's RUNNER_TEMP")
		assert.Check(t, is.Contains(out, "docker werf ci-env --cleanup"), "the cleanup action ran")

		// cleanup keeps the commit's and main's tags and deletes old-feature
		assertTags(t, user, users[user], reg.Repo("acme/"+user), commit, "main")
		_, err := os.Stat(cfg)
		assert.Check(t, os.IsNotExist(err), "the job's config %s is still there", cfg)
	}
	assert.Check(t, configs["alice"] != configs["bob"])
	m.assertUntouched(t)
}

// TestActCIEnvFails: a job whose ci-env fails stops at that step, with the
// reason in the log; the cleanup under `if: always()` still runs.
func TestActCIEnvFails(t *testing.T) {
	harness.RequireEngine(t)
	harness.Tool(t, toolAct)
	h := harness.New(t)
	m := newRunnerMachine(t, h)
	project, _ := newProject(t, m.env, map[string]string{".github/workflows/fail.yml": runnerFile(t, "github", "fail.yml")})
	res := runAct(h, m.env.With("PROJECT_DIR", project), project, "fail.yml", nil)
	out := res.Combined()
	assert.Check(t, res.ExitCode != 0, "act succeeded:\n%s", out)
	assert.Check(t, is.Contains(out, `invalid repository "Not/A/Repository:tag@x"`))
	assert.Check(t, !strings.Contains(out, "| this step must not run"), "the job went on after ci-env failed:\n%s", out)
	assert.Check(t, is.Contains(out, "Job failed"))
	m.assertUntouched(t)
}
