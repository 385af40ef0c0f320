package e2e

import (
	"encoding/json"
	"maps"
	"os"
	"path/filepath"
	"slices"
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
// branch, with vars, secrets and any further act flags. The secrets reach act
// in a 0600 file (--secret-file), never on its command line, where any user
// of the machine could read them.
func runAct(h *harness.H, env *harness.Env, project, workflow string, vars, secrets map[string]string, flags ...string) *icmd.Result {
	h.T.Helper()
	args := []string{"-P", "ubuntu-latest=-self-hosted", "push", "--no-cache-server", "-W", ".github/workflows/" + workflow}
	for k, v := range vars {
		args = append(args, "--var", k+"="+v)
	}
	if len(secrets) > 0 {
		args = append(args, "--secret-file", actSecretFile(h.T, secrets))
	}
	cmd := env.Cmd(harness.Tool(h.T, toolAct), append(args, flags...)...)
	cmd.Dir = project
	cmd.Timeout = 5 * time.Minute
	return h.RunCmd(cmd)
}

// actSecretFile writes secrets as act reads a --secret-file (KEY=VALUE lines,
// dotenv style) into a 0600 file of its own temp dir.
func actSecretFile(t testing.TB, secrets map[string]string) string {
	t.Helper()
	var b strings.Builder
	for _, k := range slices.Sorted(maps.Keys(secrets)) {
		v := secrets[k]
		if strings.ContainsAny(v, "\n\r\"'$` #\\") {
			t.Fatalf("secret %s: the test writes only plain values to act's secret file", k)
		}
		b.WriteString(k + "=" + v + "\n")
	}
	path := filepath.Join(t.TempDir(), "secrets")
	assert.NilError(t, os.WriteFile(path, []byte(b.String()), 0o600))
	return path
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
		env := m.env.With("PROJECT_DIR", project, "SYNC_DIR", m.syncDir, "JOBS", "2")
		return runAct(h, env, project, "build.yml", map[string]string{
			"REGISTRY": reg.Addr, "REGISTRY_USER": user, "REPO": reg.Repo("acme/" + user),
		}, map[string]string{"REGISTRY_PASSWORD": users[user]})
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
// reason in the log and not the token the action was given; the cleanup
// under `if: always()` still runs.
func TestActCIEnvFails(t *testing.T) {
	harness.RequireEngine(t)
	harness.Tool(t, toolAct)
	h := harness.New(t)
	token := h.RandomSecret("ghs_")
	m := newRunnerMachine(t, h)
	project, _ := newProject(t, m.env, map[string]string{".github/workflows/fail.yml": runnerFile(t, "github", "fail.yml")})
	// --insecure-secrets: act would mask the token in its log (see
	// TestActGitHubToken).
	res := runAct(h, m.env.With("PROJECT_DIR", project), project, "fail.yml", nil,
		map[string]string{"GITHUB_TOKEN": token}, "--insecure-secrets")
	out := res.Combined()
	assertCIEnvFailed(t, res.ExitCode, out, `invalid repository "Not/A/Repository:tag@x"`, "| this step must not run")
	assert.Check(t, is.Contains(out, "Job failed"))
	assert.Check(t, is.Contains(out, "docker werf ci-env --cleanup"), "the cleanup action ran")
	m.assertUntouched(t)
}

// TestActGitHubToken: a job that gives the shipped action the workflow's
// GITHUB_TOKEN, as its github-token input (as action.yml shows) or in the
// job's env (as the README shows), gets a private config whose every login
// goes to the helper (credsStore) and that names the helper for ghcr.io and
// docker.pkg.github.com, with no credential inline (the runner's own login
// moved to the job's store) and the token in no file. The helper answers
// ghcr.io in the steps whose environment has the token. No registry is
// reached (there is no network here): this is about the wiring, which a real
// ghcr.io would then answer.
func TestActGitHubToken(t *testing.T) {
	harness.RequireEngine(t)
	harness.Tool(t, toolAct)
	for _, tc := range []struct {
		workflow string
		// everyStep: the token is in every step's env, not only the
		// step that maps it.
		everyStep bool
	}{
		{workflow: "token.yml"},
		{workflow: "token-env.yml", everyStep: true},
	} {
		t.Run(tc.workflow, func(t *testing.T) {
			h := harness.New(t)
			token := h.RandomSecret("ghs_")
			m := newRunnerMachine(t, h)
			project, _ := newProject(t, m.env, map[string]string{".github/workflows/" + tc.workflow: runnerFile(t, "github", tc.workflow)})
			outDir := t.TempDir()
			// act masks the values of secrets in its log (***), which would
			// hide a leak of ours from the harness's scan of act's output:
			// with --insecure-secrets act prints what the job prints, as it
			// is.
			res := runAct(h, m.env.With("PROJECT_DIR", project, "OUT_DIR", outDir), project, tc.workflow, nil,
				map[string]string{"GITHUB_TOKEN": token}, "--insecure-secrets")
			out := res.Combined()
			assert.Assert(t, res.ExitCode == 0 && strings.Contains(out, "Job succeeded"), "the job:\n%s", out)
			assertGitHubTokenWiring(t, jobBlock(t, out, "job-config-json-begin", "job-config-json-end"))

			// The token is in no file the job left for the test: its config
			// dir and its $GITHUB_ENV (ci-env writes no secret there, and
			// says so).
			var files int
			assert.NilError(t, filepath.WalkDir(outDir, func(p string, d os.DirEntry, err error) error {
				if err == nil && d.Type().IsRegular() {
					files++
					h.AssertNoSecretInFile(p)
				}
				return err
			}))
			assert.Check(t, files >= 2, "the job copied %d files for the scan", files)
			assert.Check(t, is.Contains(out, "WERF_REPO_GITHUB_TOKEN is not written"))

			// The token is not stored: the helper answers ghcr.io where the
			// step's environment has it, and only there.
			assert.Check(t, is.Contains(jobLine(t, out, "job-store-with-token"), `"ghcr.io":`))
			store := jobLine(t, out, "job-store")
			assert.Check(t, strings.Contains(store, `"ghcr.io":`) == tc.everyStep, "a step without GITHUB_TOKEN in its env: %s", store)
			assert.Check(t, is.Contains(store, `"runner-registry.example.com":"runner"`), "the runner's own login moved to the job's store")

			assert.Check(t, is.Contains(out, "docker werf ci-env --cleanup"), "the cleanup action ran")
			_, err := os.Stat(jobLine(t, out, "job-config"))
			assert.Check(t, os.IsNotExist(err), "the job's config is still there")
			m.assertUntouched(t)
		})
	}
}

// assertGitHubTokenWiring checks the config.json of a GitHub job with
// GITHUB_TOKEN: every login to the helper, ghcr.io and docker.pkg.github.com
// named for it, and no auths entry with a credential (base64 user:password).
func assertGitHubTokenWiring(t *testing.T, text string) {
	t.Helper()
	var cfg struct {
		CredsStore  string                    `json:"credsStore"`
		CredHelpers map[string]string         `json:"credHelpers"`
		Auths       map[string]map[string]any `json:"auths"`
	}
	assert.NilError(t, json.Unmarshal([]byte(text), &cfg), "the job's config.json:\n%s", text)
	assert.Check(t, is.Equal(cfg.CredsStore, "werf"), "credsStore:\n%s", text)
	for _, host := range []string{"ghcr.io", "docker.pkg.github.com"} {
		assert.Check(t, is.Equal(cfg.CredHelpers[host], "werf"), "credHelpers[%s]:\n%s", host, text)
	}
	for host, a := range cfg.Auths {
		_, inline := a["auth"]
		assert.Check(t, !inline, "auths[%s] holds a credential in the job's config.json", host)
	}
}
