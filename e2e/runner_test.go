package e2e

import (
	"encoding/base64"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"

	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"
	"gotest.tools/v3/icmd"

	"github.com/docker-werf/docker-werf/e2e/harness"
)

// Shared parts of the tests that run real CI runners (act, Woodpecker) and
// the shipped templates: a runner machine with its own HOME and docker
// config, and a project (a git repository) for the jobs to build.

// runnerMachine is one CI machine: a HOME shared by its jobs, whose
// ~/.docker/config.json holds the runner's own login and must come out of
// every job untouched.
type runnerMachine struct {
	env        *harness.Env
	configFile string // $HOME/.docker/config.json
	config     []byte // its content before the jobs
	syncDir    string // where jobs meet, so that two of them overlap
}

// newRunnerMachine returns a machine whose environment is what a runner's
// user has: no DOCKER_CONFIG, no WERF_CREDENTIALS_DIR (the store goes to its
// default under HOME), the binaries under test and the test tools on PATH.
func newRunnerMachine(t *testing.T, h *harness.H) *runnerMachine {
	t.Helper()
	env := harness.NewEnv(t)
	env.Unset("DOCKER_CONFIG").Unset("WERF_CREDENTIALS_DIR")
	own := h.RandomSecret("runner-own-")
	h.Credential("runner", own)
	m := &runnerMachine{env: env, configFile: filepath.Join(env.Home, ".docker", "config.json"),
		syncDir: filepath.Join(env.Root, "sync")}
	m.config = []byte(`{
	"auths": {"runner-registry.example.com": {"auth": "` + base64.StdEncoding.EncodeToString([]byte("runner:"+own)) + `"}},
	"cliPluginsExtraDirs": ["` + env.Bins.PluginDir + `"]
}
`)
	assert.NilError(t, os.MkdirAll(filepath.Dir(m.configFile), 0o700))
	assert.NilError(t, os.WriteFile(m.configFile, m.config, 0o600))
	assert.NilError(t, os.Mkdir(m.syncDir, 0o700))
	return m
}

// credentialStore is the default store of docker-credential-werf for this
// machine's HOME.
func (m *runnerMachine) credentialStore() string {
	return filepath.Join(m.env.Home, ".local", "state", "docker-credential-werf")
}

// assertUntouched checks that the runner's own docker config is as it was
// and that no job left credentials in the store.
func (m *runnerMachine) assertUntouched(t *testing.T) {
	t.Helper()
	got, err := os.ReadFile(m.configFile)
	assert.NilError(t, err)
	assert.Check(t, is.Equal(string(got), string(m.config)), "the runner's ~/.docker/config.json changed")
	scopes, err := os.ReadDir(m.credentialStore())
	if !os.IsNotExist(err) {
		assert.NilError(t, err)
		assert.Check(t, is.Len(scopes, 0), "a job left credentials in %s", m.credentialStore())
	}
}

// newProject makes a git repository (branch main, one commit) holding the
// test project (a Dockerfile FROM scratch), the shipped CI templates and the
// given files, and returns its directory and commit.
func newProject(t *testing.T, env *harness.Env, files map[string]string) (string, string) {
	t.Helper()
	root := harness.ModuleRoot(t)
	dir := filepath.Join(t.TempDir(), "project")
	copyTree(t, filepath.Join(root, "e2e", "testdata", "runners", "project"), dir)
	for _, d := range []string{"github-action", "gitlab-ci"} {
		if _, err := os.Stat(filepath.Join(root, d)); err == nil {
			copyTree(t, filepath.Join(root, d), filepath.Join(dir, d))
		}
	}
	for name, content := range files {
		p := filepath.Join(dir, name)
		assert.NilError(t, os.MkdirAll(filepath.Dir(p), 0o755))
		assert.NilError(t, os.WriteFile(p, []byte(content), 0o644))
	}
	gitEnv := env.With("GIT_AUTHOR_NAME", "dev", "GIT_AUTHOR_EMAIL", "dev@example.com",
		"GIT_COMMITTER_NAME", "dev", "GIT_COMMITTER_EMAIL", "dev@example.com", "GIT_CONFIG_NOSYSTEM", "1")
	for _, args := range [][]string{{"init", "-q", "-b", "main"}, {"add", "-A"}, {"commit", "-q", "-m", "project"}} {
		cmd := gitEnv.Cmd("git", args...)
		cmd.Dir = dir
		icmd.RunCmd(cmd).Assert(t, icmd.Success)
	}
	cmd := gitEnv.Cmd("git", "rev-parse", "HEAD")
	cmd.Dir = dir
	res := icmd.RunCmd(cmd)
	res.Assert(t, icmd.Success)
	return dir, strings.TrimSpace(res.Stdout())
}

// runnerFile returns a CI file of e2e/testdata/runners/<ci>.
func runnerFile(t *testing.T, ci, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(harness.ModuleRoot(t), "e2e", "testdata", "runners", ci, name))
	assert.NilError(t, err)
	return string(b)
}

func copyTree(t *testing.T, from, to string) {
	t.Helper()
	assert.NilError(t, os.MkdirAll(filepath.Dir(to), 0o755))
	out, err := exec.Command("cp", "-R", from, to).CombinedOutput()
	assert.NilError(t, err, "%s", out)
}

// twoUsers are the users of the parallel-jobs tests, alice and bob, with
// their passwords (registered as secrets) and a registry they can both use.
func twoUsers(t *testing.T, h *harness.H) (map[string]string, *harness.Registry) {
	t.Helper()
	users := map[string]string{"alice": h.RandomSecret("alice-"), "bob": h.RandomSecret("bob-")}
	for u, p := range users {
		h.Credential(u, p)
	}
	return users, harness.StartRegistry(t, harness.Registry3, users)
}

// runBoth runs alice's and bob's jobs at once (i is 0 for alice, 1 for bob)
// and returns their results by user.
func runBoth[R any](job func(i int, user string) R) map[string]R {
	results := map[string]R{}
	var mu sync.Mutex
	var wg sync.WaitGroup
	for i, user := range []string{"alice", "bob"} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := job(i, user)
			mu.Lock()
			defer mu.Unlock()
			results[user] = r
		}()
	}
	wg.Wait()
	return results
}

// assertOwnLoginOnly checks the output of a job of a parallel-jobs test
// (one of two users, alice and bob, on one registry) for what its probes
// print: its config dir ("job-config"), which it returns, and the helper's
// list alone and once both jobs are as far ("job-store",
// "job-store-after-both"), holding its own login and never the other's; and
// that docker login went through the helper.
func assertOwnLoginOnly(t *testing.T, out string, reg *harness.Registry, user string) string {
	t.Helper()
	other := map[string]string{"alice": "bob", "bob": "alice"}[user]
	for _, key := range []string{"job-store", "job-store-after-both"} {
		store := jobLine(t, out, key)
		assert.Check(t, is.Contains(store, `"`+reg.Addr+`":"`+user+`"`), "%s: %s", key, store)
		assert.Check(t, !strings.Contains(store, other), "%s's job sees %s's login: %s", user, other, store)
	}
	assert.Check(t, is.Contains(out, "authenticated as "+user))
	assert.Check(t, !strings.Contains(out, "stored unencrypted"), "docker login bypassed the helper:\n%s", out)
	return jobLine(t, out, "job-config")
}

// assertTags checks the tags of repo, read as user.
func assertTags(t *testing.T, user, pass, repo string, want ...string) {
	t.Helper()
	got := harness.NewPusher(t, user, pass).Tags(repo)
	slices.Sort(got)
	slices.Sort(want)
	assert.Check(t, is.DeepEqual(got, want), "tags of %s", repo)
}

// jobLine returns the value of the first "<key>: value" line a job printed
// (after a runner's own prefix, such as act's "[wf/job]   | ").
func jobLine(t *testing.T, out, key string) string {
	t.Helper()
	m := regexp.MustCompile(`(?m)` + regexp.QuoteMeta(key) + `: (.*?)\r?$`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("the job printed no %q line:\n%s", key, out)
	}
	return m[1]
}
