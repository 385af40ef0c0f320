// Package e2e holds docker-werf's end-to-end tests: the built binaries
// against real registries, the docker CLI and engine, crane, regctl and
// skopeo. Run e2e/testdeps.sh first; missing tools skip the tests, except in
// CI (CI=true), where they fail.
package e2e

import (
	"encoding/base64"
	"fmt"
	"os"
	"runtime"
	"strings"
	"sync"
	"testing"

	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"
	"gotest.tools/v3/icmd"

	"github.com/docker-werf/docker-werf/e2e/harness"
)

func TestMain(m *testing.M) { harness.Main(m) }

// TestHarnessClients proves the harness against both registry versions: a
// plain `auths` login with crane, a random image pushed with crane, its tag
// listed by crane, regctl and skopeo, and a push and pull through the real
// docker engine.
func TestHarnessClients(t *testing.T) {
	for _, version := range harness.RegistryVersions {
		t.Run(version, func(t *testing.T) {
			h := harness.New(t)
			user, pass := "alice", h.RandomSecret("pw-")
			h.Credential(user, pass)
			reg := harness.StartRegistry(t, version, map[string]string{user: pass})
			env := harness.NewEnv(t)

			h.CraneLogin(env, reg.Addr, user, pass).Assert(t, icmd.Success)
			auths, _ := env.ReadConfig(t)["auths"].(map[string]any)
			assert.Check(t, is.Contains(auths, reg.Addr), "crane auth login wrote no auths entry")

			repo := reg.Repo("harness/app")
			digest := h.PushRandomImage(env, repo+":v1")
			assert.Check(t, strings.HasPrefix(digest, "sha256:"))

			h.Crane(env, "ls", repo).Assert(t, icmd.Expected{Out: "v1"})
			h.Regctl(env, "tag", "ls", repo).Assert(t, icmd.Expected{Out: "v1"})
			h.Skopeo(env, "list-tags", "docker://"+repo).Assert(t, icmd.Expected{Out: `"v1"`})
			h.Crane(env, "digest", repo+":v1").Assert(t, icmd.Expected{Out: digest})

			t.Run("engine", func(t *testing.T) {
				harness.RequireEngine(t)
				ref := reg.Repo("harness/imported") + ":t1"
				h.DockerImportImage(env, ref)
				h.Docker(env, "push", ref).Assert(t, icmd.Success)
				h.Docker(env, "rmi", ref).Assert(t, icmd.Success)
				h.Docker(env, "pull", ref).Assert(t, icmd.Success)
				h.Crane(env, "ls", reg.Repo("harness/imported")).Assert(t, icmd.Expected{Out: "t1"})
			})

			// Without credentials the registry refuses: the login above mattered.
			anon := harness.NewEnv(t)
			res := h.Crane(anon, "ls", repo)
			res.Assert(t, icmd.Expected{ExitCode: 1})
			assert.Check(t, is.Contains(strings.ToUpper(res.Combined()), "UNAUTHORIZED"))
		})
	}
}

// TestHarnessTLSIsVerified shows the clients verify the registry's
// certificate: with the system CA bundle instead of the test CA they fail.
func TestHarnessTLSIsVerified(t *testing.T) {
	h := harness.New(t)
	user, pass := "bob", h.RandomSecret("pw-")
	reg := harness.StartRegistry(t, harness.Registry28, map[string]string{user: pass})
	env := harness.NewEnv(t)
	h.CraneLogin(env, reg.Addr, user, pass).Assert(t, icmd.Success)
	repo := reg.Repo("tls/app")
	h.PushRandomImage(env, repo+":v1")

	untrusting := env.With("SSL_CERT_FILE", os.DevNull)
	for name, res := range map[string]*icmd.Result{
		"crane":  h.Crane(untrusting, "ls", repo),
		"regctl": h.Regctl(untrusting, "tag", "ls", repo),
		"skopeo": h.Skopeo(untrusting, "list-tags", "docker://"+repo),
	} {
		assert.Check(t, res.ExitCode != 0, "%s succeeded without trusting the CA", name)
		assert.Check(t, is.Contains(res.Combined(), "certificate signed by unknown authority"), name)
	}
}

// TestHarnessEnvIsHermetic checks nothing of the developer's CI_*, GITHUB_*,
// WERF_* or DOCKER_* variables reaches commands, and that the isolated
// directories are set up.
func TestHarnessEnvIsHermetic(t *testing.T) {
	t.Setenv("CI_JOB_ID", "leaked-job-id")
	t.Setenv("GITHUB_TOKEN", "leaked-github-token")
	t.Setenv("WERF_REPO", "leaked-werf-repo")
	t.Setenv("DOCKER_CONFIG", "/leaked/docker/config")
	t.Setenv("DOCKER_AUTH_CONFIG", "leaked-docker-auth-config")
	t.Setenv("GITLAB_CI", "true")

	h := harness.New(t)
	env := harness.NewEnv(t).With("CI_JOB_ID", "42")
	res := h.Run(env, "env")
	res.Assert(t, icmd.Success)
	out := res.Stdout()
	assert.Check(t, !strings.Contains(out, "leaked"), "inherited variables:\n%s", out)
	assert.Check(t, !strings.Contains(out, "GITLAB_CI="))
	assert.Check(t, is.Contains(out, "CI_JOB_ID=42\n"))
	assert.Check(t, is.Contains(out, "HOME="+env.Home+"\n"))
	assert.Check(t, is.Contains(out, "DOCKER_CONFIG="+env.DockerConfig+"\n"))
	assert.Check(t, is.Contains(out, "WERF_CREDENTIALS_DIR="+env.CredentialsDir+"\n"))
	assert.Check(t, is.Contains(out, "SSL_CERT_FILE="+env.CAFile+"\n"))
	assert.Check(t, is.Contains(out, "PATH="+env.Bins.Dir+":"))

	for _, d := range []string{env.DockerConfig, env.CredentialsDir, env.Home} {
		fi, err := os.Stat(d)
		assert.NilError(t, err)
		assert.Check(t, is.Equal(fi.Mode().Perm(), os.FileMode(0o700)), d)
	}
	cfg := env.ReadConfig(t)
	assert.Check(t, is.DeepEqual(cfg["cliPluginsExtraDirs"], []any{env.Bins.PluginDir}))
}

// spyTB records what the recorder reports instead of failing the real test.
type spyTB struct {
	testing.TB
	mu       sync.Mutex
	errs     []string
	cleanups []func()
}

func (s *spyTB) Helper() {}
func (s *spyTB) Errorf(format string, args ...any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.errs = append(s.errs, fmt.Sprintf(format, args...))
}

func (s *spyTB) Fatalf(format string, args ...any) {
	s.Errorf(format, args...)
	runtime.Goexit()
}

func (s *spyTB) Skipf(format string, args ...any) {
	s.Errorf("SKIP: "+format, args...)
	runtime.Goexit()
}
func (s *spyTB) Cleanup(f func()) { s.cleanups = append(s.cleanups, f) }
func (s *spyTB) runCleanups() {
	for i := len(s.cleanups) - 1; i >= 0; i-- {
		s.cleanups[i]()
	}
}

// TestHarnessRecorderCatchesLeaks checks the recorder itself: a secret, or
// the base64 of user:secret, on stdout, stderr or in a file is reported,
// without the report repeating the secret.
func TestHarnessRecorderCatchesLeaks(t *testing.T) {
	env := harness.NewEnv(t)
	const user = "carol"
	cases := []struct {
		name  string
		run   func(h *harness.H, pass string)
		wants string
	}{
		{"clean", func(h *harness.H, pass string) { h.Run(env, "echo", "nothing to see") }, ""},
		{"stdout", func(h *harness.H, pass string) { h.Run(env, "echo", "x"+pass+"y") }, "leaked on the stdout"},
		{"stderr", func(h *harness.H, pass string) { h.Run(env, "sh", "-c", `echo "$0" >&2`, pass) }, "leaked on the stderr"},
		{"base64", func(h *harness.H, pass string) {
			h.Run(env, "echo", base64.StdEncoding.EncodeToString([]byte(user+":"+pass)))
		}, "base64(carol:<password>) leaked on the stdout"},
		{"file", func(h *harness.H, pass string) {
			p := env.Root + "/leaky.json"
			assert.NilError(t, os.WriteFile(p, []byte(`{"auth":"`+pass+`"}`), 0o600))
			h.AssertNoSecretInFile(p)
		}, "found in file"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			spy := &spyTB{TB: t}
			h := harness.New(spy)
			pass := h.RandomSecret("leak-")
			h.Credential(user, pass)
			tc.run(h, pass)
			spy.runCleanups()
			joined := strings.Join(spy.errs, "\n")
			if tc.wants == "" {
				assert.Check(t, is.Len(spy.errs, 0), joined)
			} else {
				assert.Check(t, is.Contains(joined, tc.wants))
			}
			assert.Check(t, !strings.Contains(joined, pass), "the report repeats the secret")
		})
	}
}

// TestHarnessMissingTool checks a missing tool skips outside CI and fails in
// CI, naming the tool and the install script.
func TestHarnessMissingTool(t *testing.T) {
	for _, ci := range []string{"", "true"} {
		t.Run("CI="+ci, func(t *testing.T) {
			t.Setenv("CI", ci)
			spy := &spyTB{TB: t}
			done := make(chan struct{})
			go func() { defer close(done); harness.Tool(spy, "no-such-tool-for-docker-werf") }()
			<-done
			assert.Assert(t, is.Len(spy.errs, 1))
			msg := spy.errs[0]
			assert.Check(t, is.Contains(msg, `"no-such-tool-for-docker-werf"`))
			assert.Check(t, is.Contains(msg, "sh e2e/testdeps.sh"))
			assert.Check(t, is.Equal(strings.HasPrefix(msg, "SKIP: "), ci != "true"), msg)
		})
	}
}
