package e2e

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"
	"gotest.tools/v3/fs"
	"gotest.tools/v3/icmd"

	"github.com/docker-werf/docker-werf/e2e/harness"
)

// notFound is the protocol's exact "no credentials" answer.
const notFound = "credentials not found in native keychain"

// assertNoAuthField fails when any auths entry of config.json carries an
// "auth" (or password or token) field.
func assertNoAuthField(t *testing.T, env *harness.Env) {
	t.Helper()
	auths, _ := env.ReadConfig(t)["auths"].(map[string]any)
	for host, v := range auths {
		entry, _ := v.(map[string]any)
		for _, k := range []string{"auth", "password", "identitytoken", "registrytoken"} {
			assert.Check(t, !has(entry, k), "config.json auths[%q] has a %q field", host, k)
		}
	}
}

func has(m map[string]any, k string) bool { _, ok := m[k]; return ok }

// assertUnauthorized checks a registry client failed because it had no (or
// wrong) credentials.
func assertUnauthorized(t *testing.T, res *icmd.Result, what string) {
	t.Helper()
	assert.Check(t, res.ExitCode != 0, "%s succeeded", what)
	assert.Check(t, is.Contains(strings.ToUpper(res.Combined()), "UNAUTHORIZED"), what)
}

// assertNotFound checks a helper get answered exactly the protocol's
// not-found message, exit 1, nothing on stderr.
func assertNotFound(t *testing.T, res *icmd.Result, what string) {
	t.Helper()
	assert.Check(t, is.Equal(res.ExitCode, 1), what)
	assert.Check(t, is.Equal(res.Stdout(), notFound+"\n"), what)
	assert.Check(t, is.Equal(res.Stderr(), ""), what)
}

// registryInfoAccess runs `docker werf registry info REPO --format json` and
// returns its "access" object.
func registryInfoAccess(t *testing.T, h *harness.H, env *harness.Env, repo string) map[string]any {
	t.Helper()
	res := h.Plugin(env, "registry", "info", repo, "--format", "json")
	if !assert.Check(t, is.Equal(res.ExitCode, 0), "docker werf registry info: %s", res.Combined()) {
		return nil
	}
	var info struct {
		Access map[string]any `json:"access"`
	}
	assert.NilError(t, json.Unmarshal([]byte(res.Stdout()), &info), res.Stdout())
	return info.Access
}

// TestCredHelperDockerLogin: docker login stores through the helper (nothing
// secret in config.json), every client authenticates through it, docker
// push/pull through the engine work, docker logout erases.
func TestCredHelperDockerLogin(t *testing.T) {
	for _, version := range harness.RegistryVersions {
		t.Run(version, func(t *testing.T) {
			h := harness.New(t)
			user, pass := "alice", h.RandomSecret("pw-")
			h.Credential(user, pass)
			reg := harness.StartRegistry(t, version, map[string]string{user: pass})
			env := harness.NewEnv(t)
			env.UseHelperFor(t, reg.Addr)
			h.AssertNoSecretInFile(env.ConfigFile())

			h.DockerLogin(env, reg.Addr, user, pass).Assert(t, icmd.Expected{Out: "Login Succeeded"})
			h.AssertNoSecretInFile(env.ConfigFile())
			assertNoAuthField(t, env)
			assert.Check(t, is.Equal(env.ReadConfig(t)["credHelpers"].(map[string]any)[reg.Addr], "werf"))

			got, res := h.HelperGet(env, reg.Addr)
			res.Assert(t, icmd.Success)
			assert.Check(t, is.Equal(got.Username, user))
			assert.Check(t, got.Secret == pass, "get returned another secret")

			repo := reg.Repo("login/app")
			h.PushRandomImage(env, repo+":v1")
			h.Crane(env, "ls", repo).Assert(t, icmd.Expected{Out: "v1"})
			h.Skopeo(env, "list-tags", "docker://"+repo).Assert(t, icmd.Expected{Out: `"v1"`})
			h.Regctl(env, "tag", "ls", repo).Assert(t, icmd.Expected{Out: "v1"})

			access := registryInfoAccess(t, h, env, repo)
			assert.Check(t, is.Equal(access["authenticated"], true), "access: %v", access)
			assert.Check(t, is.Equal(access["username"], user), "access: %v", access)

			t.Run("engine", func(t *testing.T) {
				harness.RequireEngine(t)
				ref := reg.Repo("login/imported") + ":t1"
				h.DockerImportImage(env, ref)
				h.Docker(env, "push", ref).Assert(t, icmd.Success)
				h.Docker(env, "rmi", ref).Assert(t, icmd.Success)
				h.Docker(env, "pull", ref).Assert(t, icmd.Success)
				h.Crane(env, "ls", reg.Repo("login/imported")).Assert(t, icmd.Expected{Out: "t1"})
			})

			h.Docker(env, "logout", reg.Addr).Assert(t, icmd.Success)
			_, res = h.HelperGet(env, reg.Addr)
			assertNotFound(t, res, "get after logout")
			assertUnauthorized(t, h.Crane(env, "ls", repo), "crane ls after logout")
			h.AssertNoSecretInFile(env.ConfigFile())
		})
	}
}

// TestCredHelperConcurrentJobs: 20 CI jobs on one machine share HOME,
// config.json and the credential store; each logs in as its own user at the
// same time, reads back its own login, and 10 logging out leave the other
// 10 untouched.
func TestCredHelperConcurrentJobs(t *testing.T) {
	const jobs = 20
	for _, version := range harness.RegistryVersions {
		t.Run(version, func(t *testing.T) {
			harness.Tool(t, harness.ToolDocker) // before goroutines use it: Skipf/Fatalf need the test goroutine
			h := harness.New(t)
			users := map[string]string{}
			names := make([]string, jobs)
			for i := range jobs {
				names[i] = fmt.Sprintf("job%02d", i)
				users[names[i]] = h.RandomSecret("pw-")
				h.Credential(names[i], users[names[i]])
			}
			reg := harness.StartRegistry(t, version, users)
			repo := reg.Repo("jobs/app")

			seed := harness.NewEnv(t)
			h.CraneLogin(seed, reg.Addr, names[0], users[names[0]]).Assert(t, icmd.Success)
			h.PushRandomImage(seed, repo+":seed")

			shared := harness.NewEnv(t)
			shared.UseHelperFor(t, reg.Addr)
			envs := make([]*harness.Env, jobs)
			for i := range jobs {
				envs[i] = shared.With("CI", "true", "GITLAB_CI", "true", "CI_JOB_ID", fmt.Sprint(1000+i))
			}
			// each runs f for jobs [from, to) concurrently and returns the results.
			each := func(from, to int, f func(i int) *icmd.Result) []*icmd.Result {
				out := make([]*icmd.Result, jobs)
				var wg sync.WaitGroup
				for i := from; i < to; i++ {
					wg.Add(1)
					go func() { defer wg.Done(); out[i] = f(i) }()
				}
				wg.Wait()
				return out
			}

			for i, res := range each(0, jobs, func(i int) *icmd.Result {
				return h.DockerLogin(envs[i], reg.Addr, names[i], users[names[i]])
			})[:jobs] {
				assert.Check(t, res.Compare(icmd.Expected{Out: "Login Succeeded"}), "login of %s", names[i])
			}
			assertNoAuthField(t, shared)
			h.AssertNoSecretInFile(shared.ConfigFile())

			checkOwn := func(from, to int) {
				t.Helper()
				gets := make([]harness.HelperCredentials, jobs)
				getRes := each(from, to, func(i int) *icmd.Result {
					var res *icmd.Result
					gets[i], res = h.HelperGet(envs[i], reg.Addr)
					return res
				})
				lsRes := each(from, to, func(i int) *icmd.Result { return h.Crane(envs[i], "ls", repo) })
				for i := from; i < to; i++ {
					assert.Check(t, getRes[i].Compare(icmd.Success), "get of %s", names[i])
					assert.Check(t, is.Equal(gets[i].Username, names[i]), "get of %s", names[i])
					assert.Check(t, gets[i].Secret == users[names[i]], "get of %s returned another secret", names[i])
					assert.Check(t, lsRes[i].Compare(icmd.Expected{Out: "seed"}), "crane ls of %s", names[i])
				}
			}
			checkOwn(0, jobs)

			for i, res := range each(0, jobs/2, func(i int) *icmd.Result {
				return h.Docker(envs[i], "logout", reg.Addr)
			})[:jobs/2] {
				assert.Check(t, res.Compare(icmd.Success), "logout of %s", names[i])
			}
			checkOwn(jobs/2, jobs)
			gone := each(0, jobs/2, func(i int) *icmd.Result {
				_, res := h.HelperGet(envs[i], reg.Addr)
				return res
			})
			for i := range jobs / 2 {
				assertNotFound(t, gone[i], "get after logout of "+names[i])
			}
			assertUnauthorized(t, h.Crane(envs[0], "ls", repo), "crane ls after logout of "+names[0])
			h.AssertNoSecretInFile(shared.ConfigFile())
		})
	}
}

// TestCredHelperGitLabJob: in a GitLab job the helper answers for
// CI_REGISTRY with the job's registry credentials, no login needed, and
// exactly "not found" for every other registry.
func TestCredHelperGitLabJob(t *testing.T) {
	for _, version := range harness.RegistryVersions {
		t.Run(version, func(t *testing.T) {
			h := harness.New(t)
			user, pass := "project-bot", h.RandomSecret("job-pw-")
			h.Credential(user, pass)
			jobToken := h.RandomSecret("job-token-")
			h.Credential("gitlab-ci-token", jobToken)
			reg := harness.StartRegistry(t, version, map[string]string{user: pass, "gitlab-ci-token": jobToken})
			image := reg.Repo("group/project")
			other := harness.FreeAddr(t)

			env := harness.NewEnv(t).With(
				"CI", "true",
				"GITLAB_CI", "true",
				"CI_JOB_ID", "4242",
				"CI_REGISTRY", reg.Addr,
				"CI_REGISTRY_USER", user,
				"CI_REGISTRY_PASSWORD", pass,
				"CI_JOB_TOKEN", jobToken,
				"CI_REGISTRY_IMAGE", image,
			)
			env.UseHelperFor(t, reg.Addr)

			h.PushRandomImage(env, image+":v1")
			h.Crane(env, "ls", image).Assert(t, icmd.Expected{Out: "v1"})
			got, res := h.HelperGet(env, reg.Addr)
			res.Assert(t, icmd.Success)
			assert.Check(t, is.Equal(got.Username, user))
			assert.Check(t, got.Secret == pass, "get returned another secret")

			for _, server := range []string{"docker.io", "https://index.docker.io/v1/", "registry-1.docker.io", "ghcr.io", "gcr.io", other} {
				_, res := h.HelperGet(env, server)
				assertNotFound(t, res, "get "+server)
			}
			h.AssertNoSecretInFile(env.ConfigFile())

			// Without CI_REGISTRY_USER/_PASSWORD the job token serves, as
			// gitlab-ci-token.
			tokenOnly := env.With().Unset("CI_REGISTRY_USER").Unset("CI_REGISTRY_PASSWORD")
			got, res = h.HelperGet(tokenOnly, reg.Addr)
			res.Assert(t, icmd.Success)
			assert.Check(t, is.Equal(got.Username, "gitlab-ci-token"))
			assert.Check(t, got.Secret == jobToken, "get returned another secret")
			h.Crane(tokenOnly, "ls", image).Assert(t, icmd.Expected{Out: "v1"})
		})
	}
}

// TestCredHelperBadInput: malformed, oversized and hostile input makes the
// helper exit 1 with a short, clear message and no secret.
func TestCredHelperBadInput(t *testing.T) {
	h := harness.New(t)
	secret := h.RandomSecret("bad-input-")
	big := strings.Repeat("a", 1<<20)
	storeJSON := `{"ServerURL":"registry.example.com","Username":"u","Secret":"` + secret + `"}`

	base := harness.NewEnv(t)
	hostile := fs.NewDir(t, "hostile-store",
		fs.WithSymlink("link", base.CredentialsDir), // a symlink to a good 0700 dir
		fs.WithDir("open", fs.WithMode(os.ModeDir|0o777)))
	symlinked, open := hostile.Join("link"), hostile.Join("open")
	fi, err := os.Stat(open)
	assert.NilError(t, err)
	assert.Assert(t, is.Equal(fi.Mode().Perm(), os.FileMode(0o777)))

	cases := []struct {
		name   string
		env    *harness.Env
		args   []string
		stdin  string
		wants  string // substring of the output
		maxOut int    // output size limit; 0 means 512 bytes
	}{
		{name: "get empty stdin", args: []string{"get"}, wants: "no credentials server URL"},
		{name: "erase empty stdin", args: []string{"erase"}, wants: "no credentials server URL"},
		{name: "store empty stdin", args: []string{"store"}, wants: "not a JSON object"},
		{name: "store malformed JSON", args: []string{"store"}, stdin: storeJSON[:len(storeJSON)-2], wants: "not a JSON object"},
		{name: "store JSON array", args: []string{"store"}, stdin: `["` + secret + `"]`, wants: "not a JSON object"},
		{name: "store no username", args: []string{"store"}, stdin: `{"ServerURL":"r.example.com","Secret":"` + secret + `"}`, wants: "no credentials username"},
		{name: "get 1 MiB server URL", args: []string{"get"}, stdin: big, wants: "too large"},
		{name: "erase 1 MiB server URL", args: []string{"erase"}, stdin: big, wants: "too large"},
		{name: "store 1 MiB server URL", args: []string{"store"},
			stdin: `{"ServerURL":"` + big + `","Username":"u","Secret":"` + secret + `"}`, wants: "too large"},
		{name: "unknown action", args: []string{"frobnicate"}, wants: "unknown action: frobnicate"},
		{name: "unknown 100 KiB action", args: []string{big[:100<<10]}, wants: "unknown action"},
		{name: "store into symlinked store dir", env: base.With("WERF_CREDENTIALS_DIR", symlinked),
			args: []string{"store"}, stdin: storeJSON, wants: "symbolic link"},
		{name: "get from symlinked store dir", env: base.With("WERF_CREDENTIALS_DIR", symlinked),
			args: []string{"get"}, stdin: "registry.example.com", wants: "symbolic link"},
		{name: "store into 0777 store dir", env: base.With("WERF_CREDENTIALS_DIR", open),
			args: []string{"store"}, stdin: storeJSON, wants: "mode 0777"},
		{name: "get from 0777 store dir", env: base.With("WERF_CREDENTIALS_DIR", open),
			args: []string{"get"}, stdin: "registry.example.com", wants: "mode 0777"},
		{name: "erase in 0777 store dir", env: base.With("WERF_CREDENTIALS_DIR", open),
			args: []string{"erase"}, stdin: "registry.example.com", wants: "mode 0777"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			env := tc.env
			if env == nil {
				env = base
			}
			res := h.Helper(env, tc.stdin, tc.args...)
			assert.Check(t, is.Equal(res.ExitCode, 1), "output: %.300s", res.Combined())
			assert.Check(t, is.Contains(res.Combined(), tc.wants))
			maxOut := tc.maxOut
			if maxOut == 0 {
				maxOut = 512
			}
			assert.Check(t, len(res.Combined()) <= maxOut, "output is %d bytes: %.300s…", len(res.Combined()), res.Combined())
		})
	}
	// Nothing was stored anywhere.
	for _, dir := range []string{base.CredentialsDir, open} {
		entries, err := os.ReadDir(dir)
		assert.NilError(t, err)
		for _, e := range entries {
			assert.Check(t, e.IsDir() || !strings.HasSuffix(e.Name(), ".json"), "unexpected %s in %s", e.Name(), dir)
			h.AssertNoSecretInFile(filepath.Join(dir, e.Name()))
		}
	}
}

// TestCredHelperConfigure: configure adds the credHelpers entry, keeps every
// other key, and docker then logs in through the helper.
func TestCredHelperConfigure(t *testing.T) {
	for _, version := range harness.RegistryVersions {
		t.Run(version, func(t *testing.T) {
			h := harness.New(t)
			user, pass := "dave", h.RandomSecret("pw-")
			h.Credential(user, pass)
			reg := harness.StartRegistry(t, version, map[string]string{user: pass})
			env := harness.NewEnv(t)
			before := map[string]any{
				"auths":               map[string]any{"other.example.com": map[string]any{}},
				"credHelpers":         map[string]any{"gcr.io": "gcloud"},
				"psFormat":            "table {{.ID}}",
				"cliPluginsExtraDirs": []any{env.Bins.PluginDir},
				"someFutureKey":       map[string]any{"nested": []any{1.0, "two"}},
			}
			env.WriteConfig(t, before)

			res := h.Helper(env, "", "configure", "--registry", reg.Addr, "--config", env.DockerConfig)
			res.Assert(t, icmd.Success)
			assert.Check(t, is.Contains(res.Stdout(), reg.Addr))

			after := env.ReadConfig(t)
			want := map[string]any{}
			for k, v := range before {
				want[k] = v
			}
			want["credHelpers"] = map[string]any{"gcr.io": "gcloud", reg.Addr: "werf"}
			assert.Check(t, is.DeepEqual(after, want))
			fi, err := os.Stat(env.ConfigFile())
			assert.NilError(t, err)
			assert.Check(t, is.Equal(fi.Mode().Perm(), os.FileMode(0o600)))

			// Idempotent.
			h.Helper(env, "", "configure", "--registry", "https://"+reg.Addr+"/", "--config", env.DockerConfig).
				Assert(t, icmd.Success)
			assert.Check(t, is.DeepEqual(env.ReadConfig(t), want))

			h.DockerLogin(env, reg.Addr, user, pass).Assert(t, icmd.Expected{Out: "Login Succeeded"})
			assertNoAuthField(t, env)
			h.AssertNoSecretInFile(env.ConfigFile())
			h.PushRandomImage(env, reg.Repo("configured/app")+":v1")
			h.Crane(env, "ls", reg.Repo("configured/app")).Assert(t, icmd.Expected{Out: "v1"})
		})
	}
}
