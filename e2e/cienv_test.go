package e2e

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"
	"gotest.tools/v3/icmd"

	"github.com/docker-werf/docker-werf/e2e/harness"
	"github.com/docker-werf/docker-werf/internal/gitrepo/gittest"
)

const testCommit = "0123456789abcdef0123456789abcdef01234567"

// gitlabJob is the environment GitLab gives a branch job whose project
// registry is reg.
func gitlabJob(env *harness.Env, reg *harness.Registry, jobID, user, pass string) *harness.Env {
	return env.With("GITLAB_CI", "true", "CI", "true", "CI_JOB_ID", jobID, "CI_COMMIT_SHA", testCommit,
		"CI_COMMIT_BRANCH", "main", "CI_COMMIT_REF_NAME", "main", "CI_PROJECT_URL", "https://gitlab.example.com/group/app",
		"CI_REGISTRY", reg.Addr, "CI_REGISTRY_IMAGE", reg.Repo("group/app"),
		"CI_REGISTRY_USER", user, "CI_REGISTRY_PASSWORD", pass, "CI_JOB_TOKEN", pass)
}

// jobScript runs a job's steps in sh after loading ci-env's output the way
// a job does.
func jobScript(h *harness.H, env *harness.Env, steps string) *icmd.Result {
	return h.Run(env, "sh", "-ec", `eval "$(docker werf ci-env)"
echo "job-config: $DOCKER_CONFIG"
`+steps)
}

func jobConfigDir(t *testing.T, res *icmd.Result) string {
	t.Helper()
	for _, line := range strings.Split(res.Stdout(), "\n") {
		if dir, ok := strings.CutPrefix(line, "job-config: "); ok {
			return dir
		}
	}
	t.Fatalf("the job printed no config dir:\n%s", res.Combined())
	return ""
}

// TestCIEnvGitLabJob: a GitLab job loads ci-env and then pushes with the real
// docker engine, lists with crane and checks access with the plugin, with no
// docker login and no secret in its config.
func TestCIEnvGitLabJob(t *testing.T) {
	for _, version := range harness.RegistryVersions {
		t.Run(version, func(t *testing.T) {
			harness.RequireEngine(t)
			h := harness.New(t)
			pass := h.RandomSecret("job-token-")
			h.Credential("gitlab-ci-token", pass)
			reg := harness.StartRegistry(t, version, map[string]string{"gitlab-ci-token": pass})
			env := gitlabJob(harness.NewEnv(t), reg, "4711", "gitlab-ci-token", pass)
			h.DockerImportImage(env, "docker-werf-e2e/app:local")

			res := jobScript(h, env, `docker tag docker-werf-e2e/app:local "$WERF_REPO:main"
docker push -q "$WERF_REPO:main"
crane ls "$WERF_REPO"
docker pull -q "$WERF_REPO:main"
docker werf registry info "$WERF_REPO"
`)
			res.Assert(t, icmd.Success)
			assert.Check(t, is.Contains(res.Stdout(), "\nmain\n"), "crane ls lists the pushed tag")
			assert.Check(t, is.Contains(res.Stdout(), "authenticated as gitlab-ci-token"))
			h.RemoveImageAtCleanup(env, reg.Repo("group/app:main"))
			dir := jobConfigDir(t, res)
			h.AssertNoSecretInFile(filepath.Join(dir, "config.json"))
			cfg := readJSON(t, filepath.Join(dir, "config.json"))
			assert.Check(t, is.DeepEqual(cfg["credHelpers"], map[string]any{reg.Addr: "werf"}))
		})
	}
}

// TestCIEnvGitHubJob: a GitHub Actions job whose registry is not ghcr.io gets
// its credentials from WERF_REGISTRY_AUTH_* secrets, again with no login.
func TestCIEnvGitHubJob(t *testing.T) {
	h := harness.New(t)
	pass := h.RandomSecret("gh-secret-")
	h.Credential("deployer", pass)
	reg := harness.StartRegistry(t, harness.Registry3, map[string]string{"deployer": pass})
	key := "WERF_REGISTRY_AUTH_127_0_0_1_" + reg.Addr[len("127.0.0.1:"):]
	env := harness.NewEnv(t).With("GITHUB_ACTIONS", "true", "CI", "true", "GITHUB_RUN_ID", "99", "GITHUB_RUN_ATTEMPT", "1",
		"GITHUB_JOB", "build", "RUNNER_NAME", "runner-1", "GITHUB_SHA", testCommit, "GITHUB_REF", "refs/heads/main",
		"GITHUB_REF_NAME", "main", "GITHUB_REF_TYPE", "branch", "GITHUB_SERVER_URL", "https://github.com",
		"GITHUB_REPOSITORY", "acme/app", "WERF_REPO", reg.Repo("acme/app"),
		key+"_USERNAME", "deployer", key+"_PASSWORD", pass)
	res := jobScript(h, env, `tar cf layer.tar --files-from /dev/null
crane append -f layer.tar -t "$WERF_REPO:v1" >/dev/null
crane ls "$WERF_REPO"
docker werf registry info "$WERF_REPO"
`)
	res.Assert(t, icmd.Success)
	assert.Check(t, is.Contains(res.Stdout(), "\nv1\n"), "crane pushed and listed through the helper")
	assert.Check(t, is.Contains(res.Stdout(), "authenticated as deployer"))
	h.AssertNoSecretInFile(filepath.Join(jobConfigDir(t, res), "config.json"))
}

func readJSON(t *testing.T, path string) map[string]any {
	t.Helper()
	data, err := os.ReadFile(path)
	assert.NilError(t, err)
	var m map[string]any
	assert.NilError(t, json.Unmarshal(data, &m))
	return m
}

// TestCIEnvParallelJobs: two jobs on one HOME at the same time get separate
// configs and credential scopes; the cleanup of one leaves the other working
// and nothing of its own behind.
func TestCIEnvParallelJobs(t *testing.T) {
	h := harness.New(t)
	alicePass, bobPass := h.RandomSecret("alice-"), h.RandomSecret("bob-")
	h.Credential("alice", alicePass)
	h.Credential("bob", bobPass)
	reg := harness.StartRegistry(t, harness.Registry3, map[string]string{"alice": alicePass, "bob": bobPass})
	runner := harness.NewEnv(t)
	tmp := runner.TmpDir
	jobs := map[string]*harness.Env{
		"alice": gitlabJob(runner, reg, "1", "alice", alicePass),
		"bob":   gitlabJob(runner, reg, "2", "bob", bobPass),
	}
	dirs := map[string]string{}
	var mu sync.Mutex
	var wg sync.WaitGroup
	for user, env := range jobs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			res := jobScript(h, env, `echo "$CI_REGISTRY_PASSWORD" | docker login "$CI_REGISTRY" -u "$CI_REGISTRY_USER" --password-stdin
docker werf registry info "$WERF_REPO"
`)
			mu.Lock()
			defer mu.Unlock()
			if assert.Check(t, res.ExitCode == 0, "%s: %s", user, res.Combined()) {
				assert.Check(t, is.Contains(res.Stdout(), "authenticated as "+user))
				dirs[user] = jobConfigDir(t, res)
			}
		}()
	}
	wg.Wait()
	assert.Assert(t, len(dirs) == 2 && dirs["alice"] != dirs["bob"], "%v", dirs)
	scopes, err := os.ReadDir(runner.CredentialsDir)
	assert.NilError(t, err)
	assert.Check(t, is.Len(scopes, 2), "each docker login stored into its own job scope")

	docker := harness.Tool(t, harness.ToolDocker)
	alice := jobs["alice"].With("DOCKER_CONFIG", dirs["alice"])
	res := h.Run(alice, docker, "werf", "ci-env", "--cleanup")
	res.Assert(t, icmd.Expected{Err: "Removed the job's docker config"})
	assert.Check(t, is.Equal(res.Stdout(), "unset -v DOCKER_CONFIG\nunset -v WERF_DOCKER_CONFIG\n"))
	_, err = os.Stat(dirs["alice"])
	assert.Check(t, os.IsNotExist(err), "alice's config is still there")
	scopes, err = os.ReadDir(runner.CredentialsDir)
	assert.NilError(t, err)
	assert.Check(t, is.Len(scopes, 1), "alice's credential scope is still there")
	// A second run, from the plugin itself: docker no longer finds plugins
	// through a DOCKER_CONFIG that is gone, which is why cleanup unsets it.
	res = h.Run(alice, alice.Bins.Plugin, "werf", "ci-env", "--cleanup")
	res.Assert(t, icmd.Expected{Err: "Removed the job's credentials"})
	assert.Check(t, !strings.Contains(res.Stderr(), "Removed the job's docker config"))

	bob := jobs["bob"].With("DOCKER_CONFIG", dirs["bob"])
	h.Run(bob, docker, "werf", "registry", "info", reg.Repo("group/app")).Assert(t, icmd.Expected{Out: "authenticated as bob"})
	left, err := os.ReadDir(tmp)
	assert.NilError(t, err)
	assert.Check(t, is.Len(left, 1), "only bob's config is left")

	// bob cleans up in a fresh shell, as GitLab's after_script does: his
	// DOCKER_CONFIG is the runner's again, which is left alone, and his
	// job's config is found by its job id.
	res = h.Run(jobs["bob"], docker, "werf", "ci-env", "--cleanup")
	res.Assert(t, icmd.Expected{Err: "is not a docker werf job config; left alone"})
	assert.Check(t, is.Contains(res.Stderr(), "Removed the job's docker config "+dirs["bob"]))
	left, err = os.ReadDir(tmp)
	assert.NilError(t, err)
	assert.Check(t, is.Len(left, 0))
	_, err = os.Stat(runner.ConfigFile())
	assert.NilError(t, err, "the runner's own config must stay")
	scopes, err = os.ReadDir(runner.CredentialsDir)
	assert.NilError(t, err)
	assert.Check(t, is.Len(scopes, 0))
}

// TestCIEnvHostileValues: a branch name built to break a script, loaded by
// real sh and bash, comes back byte for byte as the JSON output says, and
// runs nothing.
func TestCIEnvHostileValues(t *testing.T) {
	h := harness.New(t)
	hostile := "x\";$(touch MARKER1);`touch MARKER2`'\n%PATH%\\"
	env := harness.NewEnv(t).With("GITLAB_CI", "true", "CI_JOB_ID", "3", "CI_COMMIT_SHA", testCommit,
		"CI_COMMIT_BRANCH", hostile, "CI_COMMIT_REF_NAME", hostile, "CI_PROJECT_URL", "https://gitlab.example.com/g/p",
		"CI_ENVIRONMENT_SLUG", hostile, "CI_PIPELINE_URL", "https://gitlab.example.com/p'$(touch MARKER3)")
	res := h.Plugin(env, "ci-env", "--format", "json")
	res.Assert(t, icmd.Success)
	var want map[string]string
	assert.NilError(t, json.Unmarshal([]byte(res.Stdout()), &want))
	assert.Check(t, is.Equal(want["WERF_ENV"], hostile))
	delete(want, "DOCKER_CONFIG")
	delete(want, "WERF_DOCKER_CONFIG")

	for _, shell := range []string{"sh", "bash"} {
		t.Run(shell, func(t *testing.T) {
			dir := t.TempDir()
			cmd := env.Cmd(shell, "-c", `eval "$(docker werf ci-env --shell `+shell+`)" && env -0`)
			cmd.Dir = dir
			res := h.RunCmd(cmd)
			res.Assert(t, icmd.Success)
			got := map[string]string{}
			for _, kv := range strings.Split(res.Stdout(), "\x00") {
				if k, v, ok := strings.Cut(kv, "="); ok && strings.HasPrefix(k, "WERF_") && k != "WERF_DOCKER_CONFIG" &&
					k != "WERF_CREDENTIALS_DIR" {
					got[k] = v
				}
			}
			assert.Check(t, is.DeepEqual(got, want))
			entries, err := os.ReadDir(dir)
			assert.NilError(t, err)
			assert.Check(t, is.Len(entries, 0), "the script ran something")
		})
	}
}

// TestCIEnvBadInput: each error names its cause and the variable or path,
// exits non-zero and leaves nothing behind.
func TestCIEnvBadInput(t *testing.T) {
	h := harness.New(t)
	corrupt := t.TempDir()
	assert.NilError(t, os.WriteFile(filepath.Join(corrupt, "config.json"), []byte(`{"auths": {`), 0o600))
	unreadable := t.TempDir()
	assert.NilError(t, os.Mkdir(filepath.Join(unreadable, "config.json"), 0o700))
	gitlab := []string{"GITLAB_CI", "true", "CI_JOB_ID", "9", "CI_COMMIT_SHA", testCommit, "CI_COMMIT_BRANCH", "main"}
	dockerOnly := t.TempDir() // a PATH with docker and nothing else
	assert.NilError(t, os.Symlink(harness.Tool(t, harness.ToolDocker), filepath.Join(dockerOnly, "docker")))
	tests := []struct {
		name    string
		env     []string
		args    []string
		wantErr string
	}{
		{name: "unknown CI system", args: []string{"jenkins-x"},
			wantErr: `unknown CI system "jenkins-x": expected one of gitlab, forgejo`},
		{name: "no CI system", wantErr: "cannot tell which CI system this is; name it"},
		{name: "malformed commit", env: []string{"GITLAB_CI", "true", "CI_JOB_ID", "9", "CI_COMMIT_SHA", "HEAD"},
			wantErr: `gitlab: CI_COMMIT_SHA is "HEAD", not a commit SHA`},
		{name: "corrupt source config", env: gitlab, args: []string{"--docker-config", corrupt},
			wantErr: "the source docker config " + filepath.Join(corrupt, "config.json") + " is not a valid JSON object"},
		{name: "unreadable source config", env: gitlab, args: []string{"--docker-config", unreadable},
			wantErr: "reading the source docker config: read " + filepath.Join(unreadable, "config.json")},
		{name: "unwritable temp dir", env: gitlab, args: []string{"--tmp-dir", "/proc/docker-werf"},
			wantErr: "cannot create the job's docker config directory in /proc/docker-werf"},
		{name: "docker auth config missing", env: gitlab, args: []string{"--docker-auth-config"},
			wantErr: "DOCKER_AUTH_CONFIG is empty or not set"},
		{name: "unknown shell", env: gitlab, args: []string{"--shell", "tcsh"}, wantErr: `--shell: unknown output format "tcsh"`},
		{name: "github env outside actions", env: gitlab, args: []string{"--github-env"}, wantErr: "--github-env needs GITHUB_ENV"},
		{name: "half a login", env: gitlab, args: []string{"--registry-username", "u"},
			wantErr: "--registry-username and --registry-password"},
		{name: "two outputs", env: gitlab, args: []string{"--as-file", "--format", "json"}, wantErr: "choose one of"},
		{name: "no helper on PATH", env: append([]string{"PATH", dockerOnly}, gitlab...),
			wantErr: "docker-credential-werf is not on PATH, and the job's config would name it as its credsStore"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			env := harness.NewEnv(t).With(tc.env...)
			tmp := env.TmpDir
			res := h.Plugin(env, append([]string{"ci-env"}, tc.args...)...)
			res.Assert(t, icmd.Expected{ExitCode: 1, Err: tc.wantErr})
			// Only what stops an evaluating shell, where the output is a
			// script on stdout.
			stop := "# docker werf ci-env failed (the error is on stderr): this stops the job\n" +
				"case $- in *i*) false ;; *) exit 1 ;; esac\n"
			if slices.Contains(tc.args, "--as-file") || slices.Contains(tc.args, "--github-env") {
				stop = ""
			}
			assert.Check(t, is.Equal(res.Stdout(), stop))
			left, err := os.ReadDir(tmp)
			assert.NilError(t, err)
			assert.Check(t, is.Len(left, 0), "something was half-created")
		})
	}
}

var formatHelp = regexp.MustCompile(`--format string Output format: "json" or empty for text \(env (\w+)\)`)

// TestFormatVariablePerCommand: a job that sets one command's format (for
// cleanup's JSON report) leaves ci-env's script a script, and every command
// reads its own variable.
func TestFormatVariablePerCommand(t *testing.T) {
	h := harness.New(t)
	env := harness.NewEnv(t).With("GITLAB_CI", "true", "CI_JOB_ID", "5", "CI_COMMIT_SHA", testCommit,
		"CI_COMMIT_BRANCH", "main", "WERF_OUTPUT_FORMAT", "json", "WERF_CLEANUP_FORMAT", "json",
		"WERF_REGISTRY_INFO_FORMAT", "json")
	res := h.Plugin(env, "ci-env")
	res.Assert(t, icmd.Success)
	assert.Check(t, strings.HasPrefix(res.Stdout(), "# docker werf ci-env: gitlab job\n"), "stdout: %s", res.Stdout())

	res = h.Plugin(env.With("WERF_CI_ENV_FORMAT", "json"), "ci-env")
	res.Assert(t, icmd.Success)
	assert.Check(t, json.Valid([]byte(res.Stdout())), "WERF_CI_ENV_FORMAT=json: %s", res.Stdout())

	res = h.Plugin(env, "registry", "info", "--check=false", "registry.example.com/app")
	res.Assert(t, icmd.Success)
	assert.Check(t, json.Valid([]byte(res.Stdout())), "WERF_REGISTRY_INFO_FORMAT=json: %s", res.Stdout())

	seen := map[string]string{}
	for _, cmd := range [][]string{{"ci-env"}, {"cleanup"}, {"purge"}, {"registry", "info"}, {"version"}} {
		res := h.Plugin(env, append(cmd, "--help")...)
		res.Assert(t, icmd.Success)
		// Help wraps its lines anywhere: compare with single spaces.
		m := formatHelp.FindStringSubmatch(strings.Join(strings.Fields(res.Stdout()), " "))
		assert.Assert(t, m != nil, "%v --help names no format variable:\n%s", cmd, res.Stdout())
		name := m[1]
		assert.Check(t, seen[name] == "", "%v and %s share %s", cmd, seen[name], name)
		seen[name] = strings.Join(cmd, " ")
	}
}

// TestCIEnvRegistryKindStaysWithRepo: the registry kind ci-env exports for
// werf (which applies it to WERF_REPO only) does not reach docker werf's
// commands on other registries; a kind the job or the command line sets
// applies everywhere.
func TestCIEnvRegistryKindStaysWithRepo(t *testing.T) {
	h := harness.New(t)
	github := []string{"GITHUB_ACTIONS", "true", "CI", "true", "GITHUB_RUN_ID", "7", "GITHUB_RUN_ATTEMPT", "1",
		"GITHUB_JOB", "build", "GITHUB_SHA", testCommit, "GITHUB_REF_NAME", "main", "GITHUB_REF_TYPE", "branch",
		"GITHUB_SERVER_URL", "https://github.com", "GITHUB_REPOSITORY", "acme/app"}
	gitlab := []string{"GITLAB_CI", "true", "CI", "true", "CI_JOB_ID", "8", "CI_COMMIT_SHA", testCommit,
		"CI_COMMIT_BRANCH", "main", "CI_REGISTRY", "registry.gitlab.example.com",
		"CI_REGISTRY_IMAGE", "registry.gitlab.example.com/group/app"}
	tests := []struct {
		name string
		job  []string
		args string
		repo string
		want string // kind (source)
	}{
		{name: "github job, plain registry", job: github, repo: "registry.example.com/team/app", want: "default detected"},
		{name: "github job, own repo", job: github, repo: "ghcr.io/acme/app", want: "github override"},
		{name: "gitlab job, other registry", job: gitlab, repo: "registry.example.com/team/app", want: "default detected"},
		{name: "gitlab job, own registry", job: gitlab, repo: "registry.gitlab.example.com/group/other", want: "gitlab override"},
		{name: "gitlab job, flag", job: gitlab, args: "--repo-container-registry quay", repo: "registry.example.com/team/app", want: "quay override"},
		{name: "job's own kind", job: append([]string{"WERF_REPO_CONTAINER_REGISTRY", "harbor"}, gitlab...),
			repo: "registry.example.com/team/app", want: "harbor override"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			env := harness.NewEnv(t).With(tc.job...)
			res := h.Run(env, "sh", "-c", `eval "$(docker werf ci-env --login-to-registry=false || echo exit 1)"
docker werf registry info --check=false --format json `+tc.args+` "$1"`, "sh", tc.repo)
			res.Assert(t, icmd.Success)
			var info struct{ Kind, KindSource string }
			assert.NilError(t, json.Unmarshal([]byte(res.Stdout()), &info), res.Stdout())
			assert.Check(t, is.Equal(info.Kind+" "+info.KindSource, tc.want))
		})
	}
}

// TestCIEnvDockerLoginGoesThroughHelper: in a job whose private config has
// credHelpers for the CI registry, a docker login to another registry, and
// the inline login the machine's config had, go to docker-credential-werf,
// never into the job's config.json; --keep-creds-store keeps the machine's
// store.
func TestCIEnvDockerLoginGoesThroughHelper(t *testing.T) {
	h := harness.New(t)
	ciPass, bobPass, inlinePass := h.RandomSecret("ci-"), h.RandomSecret("bob-"), h.RandomSecret("inline-")
	h.Credential("gitlab-ci-token", ciPass)
	h.Credential("bob", bobPass)
	h.Credential("carol", inlinePass)
	ci := harness.StartRegistry(t, harness.Registry3, map[string]string{"gitlab-ci-token": ciPass})
	other := harness.StartRegistry(t, harness.Registry3, map[string]string{"bob": bobPass})
	inline := harness.StartRegistry(t, harness.Registry3, map[string]string{"carol": inlinePass})
	runner := harness.NewEnv(t)
	runner.WriteConfig(t, map[string]any{
		"auths":               map[string]any{inline.Addr: map[string]any{"auth": base64.StdEncoding.EncodeToString([]byte("carol:" + inlinePass))}},
		"cliPluginsExtraDirs": []string{runner.Bins.PluginDir},
	})
	env := gitlabJob(runner, ci, "31", "gitlab-ci-token", ciPass).With("BOB_PASSWORD", bobPass)

	res := h.Run(env, "sh", "-ec", `eval "$(docker werf ci-env || echo exit 1)"
echo "job-config: $DOCKER_CONFIG"
echo "$BOB_PASSWORD" | docker login "$1" -u bob --password-stdin
docker-credential-werf list
docker werf registry info "$1/team/app"
docker werf registry info "$2/team/app"
cat "$DOCKER_CONFIG/config.json"
`, "sh", other.Addr, inline.Addr)
	res.Assert(t, icmd.Success)
	assert.Check(t, !strings.Contains(res.Stderr(), "unencrypted"), res.Stderr())
	assert.Check(t, is.Contains(res.Stdout(), "authenticated as bob"))
	assert.Check(t, is.Contains(res.Stdout(), "authenticated as carol"))
	assert.Check(t, is.Contains(res.Stdout(), other.Addr), "docker-credential-werf list shows the login")
	dir := jobConfigDir(t, res)
	h.AssertNoSecretInFile(filepath.Join(dir, "config.json"))
	cfg := readJSON(t, filepath.Join(dir, "config.json"))
	assert.Check(t, is.Equal(cfg["credsStore"], "werf"))

	// --keep-creds-store: the user keeps the machine's store, and gets it.
	runner.WriteConfig(t, map[string]any{"credsStore": "desktop", "cliPluginsExtraDirs": []string{runner.Bins.PluginDir}})
	res = h.Run(env, "sh", "-ec", `eval "$(docker werf ci-env --keep-creds-store || echo exit 1)"
echo "job-config: $DOCKER_CONFIG"`)
	res.Assert(t, icmd.Success)
	cfg = readJSON(t, filepath.Join(jobConfigDir(t, res), "config.json"))
	assert.Check(t, is.Equal(cfg["credsStore"], "desktop"))
}

// TestCIEnvMissingCommitWarns: a local Woodpecker run without CI_COMMIT_SHA
// gets its config and variables, without the commit annotation, and a
// warning that says why.
func TestCIEnvMissingCommitWarns(t *testing.T) {
	h := harness.New(t)
	env := harness.NewEnv(t).With("CI", "woodpecker", "CI_REPO", "john-doe/my-repo", "CI_PIPELINE_NUMBER", "8",
		"CI_WORKFLOW_NUMBER", "1", "CI_STEP_NUMBER", "0", "CI_STEP_NAME", "build", "CI_COMMIT_BRANCH", "main",
		"CI_REPO_URL", "https://codeberg.org/john-doe/my-repo")
	tmp := env.TmpDir
	res := h.Run(env, "sh", "-c", `eval "$(docker werf ci-env || echo exit 1)"
echo "config=$DOCKER_CONFIG branch=$WERF_TAG_GIT_BRANCH commit=${WERF_ADD_ANNOTATION_CI_COMMIT-unset}"`)
	res.Assert(t, icmd.Expected{Err: "Warning: woodpecker: CI_COMMIT_SHA is not set, so there is no WERF_ADD_ANNOTATION_CI_COMMIT"})
	assert.Check(t, is.Contains(res.Stdout(), "config="+tmp+"/"))
	assert.Check(t, is.Contains(res.Stdout(), " branch=main commit=unset"))
}

// TestCIEnvWiresEveryFormDockerLooksUp: docker looks a registry up by the
// host an image is written with, so the dependency proxy (given as
// host:443, written host/group/...) and GitHub's legacy registry are wired
// to the helper in each form, and the helper answers for each.
func TestCIEnvWiresEveryFormDockerLooksUp(t *testing.T) {
	h := harness.New(t)
	proxyPass, ghToken := h.RandomSecret("proxy-"), h.RandomSecret("ghs_")
	tests := []struct {
		name  string
		env   []string
		hosts map[string]string // credHelpers key -> user the helper answers with
	}{
		{name: "gitlab dependency proxy", env: []string{"GITLAB_CI", "true", "CI_JOB_ID", "12", "CI_COMMIT_SHA", testCommit,
			"CI_DEPENDENCY_PROXY_SERVER", "gitlab.example.com:443", "CI_DEPENDENCY_PROXY_USER", "gitlab-ci-token",
			"CI_DEPENDENCY_PROXY_PASSWORD", proxyPass},
			hosts: map[string]string{"gitlab.example.com:443": "gitlab-ci-token", "gitlab.example.com": "gitlab-ci-token"}},
		{name: "github packages", env: []string{"GITHUB_ACTIONS", "true", "GITHUB_RUN_ID", "5", "GITHUB_RUN_ATTEMPT", "1",
			"GITHUB_JOB", "b", "GITHUB_SHA", testCommit, "GITHUB_REPOSITORY", "acme/app", "GITHUB_ACTOR", "octocat",
			"GITHUB_TOKEN", ghToken},
			hosts: map[string]string{"ghcr.io": "octocat", "docker.pkg.github.com": "octocat"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			env := harness.NewEnv(t).With(tc.env...)
			res := jobScript(h, env, "")
			res.Assert(t, icmd.Success)
			dir := jobConfigDir(t, res)
			cfg := readJSON(t, filepath.Join(dir, "config.json"))
			helpers, _ := cfg["credHelpers"].(map[string]any)
			job := env.With("DOCKER_CONFIG", dir)
			for host, user := range tc.hosts {
				assert.Check(t, is.Equal(helpers[host], "werf"), "credHelpers: %v", helpers)
				got, res := h.HelperGet(job, host)
				res.Assert(t, icmd.Success)
				assert.Check(t, is.Equal(got.Username, user), host)
			}
		})
	}
}

// TestCIEnvCleanupOfOtherRegistry: after ci-env exported the kind of the
// job's own registry (GitHub's, with and without GITHUB_TOKEN; GitLab's),
// docker werf cleanup of a plain registry, logged in with docker login,
// deletes what no policy keeps and asks for no token of the job's registry;
// a kind the user sets, as the variable or the flag, applies there too.
func TestCIEnvCleanupOfOtherRegistry(t *testing.T) {
	h := harness.New(t)
	reg, pusher, pass := startCIRegistry(t, h, harness.Registry3, "plain-")
	fx := gittest.New(t)
	ghToken := h.RandomSecret("ghs_")
	github := []string{"GITHUB_ACTIONS", "true", "CI", "true", "GITHUB_RUN_ID", "17", "GITHUB_RUN_ATTEMPT", "1",
		"GITHUB_JOB", "build", "GITHUB_SHA", testCommit, "GITHUB_REF_NAME", "main", "GITHUB_REF_TYPE", "branch",
		"GITHUB_SERVER_URL", "https://github.com", "GITHUB_REPOSITORY", "acme/app", "GITHUB_ACTOR", "octocat"}
	gitlab := []string{"GITLAB_CI", "true", "CI", "true", "CI_JOB_ID", "18", "CI_COMMIT_SHA", testCommit,
		"CI_COMMIT_BRANCH", "main", "CI_REGISTRY", "registry.gitlab.example.com",
		"CI_REGISTRY_IMAGE", "registry.gitlab.example.com/group/app"}
	// what a GitHub kind on the plain registry fails with
	const needsToken = "--repo-github-token (WERF_REPO_GITHUB_TOKEN) is not set"
	tests := []struct {
		name, args string
		job        []string
		wantKind   string // the kind ci-env exported for the job's own registry
		wantErr    string // "": the cleanup succeeds
	}{
		{name: "github job", job: github, wantKind: "github"},
		{name: "github job with token", job: append([]string{"GITHUB_TOKEN", ghToken}, github...), wantKind: "github"},
		{name: "gitlab job", job: gitlab, wantKind: "gitlab"},
		{name: "user's variable", job: append([]string{"WERF_REPO_CONTAINER_REGISTRY", "github"}, github...),
			wantKind: "github", wantErr: needsToken},
		{name: "user's flag", job: github, args: "--repo-container-registry github", wantKind: "github", wantErr: needsToken},
	}
	old := time.Now().Add(-72 * time.Hour)
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			repo := reg.Repo(fmt.Sprintf("team/app%d", i))
			pusher.Push(repo+":main", pusher.Image(old, map[string]string{revisionLabel: fx.C["c4"]}))
			pusher.Push(repo+":gone", pusher.Image(old, map[string]string{revisionLabel: fx.C["d1"]}))
			env := harness.NewEnv(t).With(tc.job...).With("REGISTRY_PASSWORD", pass)
			res := h.Run(env, "sh", "-ec", `eval "$(docker werf ci-env || echo exit 1)"
echo "job-kind: $WERF_REPO_CONTAINER_REGISTRY"
printf '%s\n' "$REGISTRY_PASSWORD" | docker login "$1" -u ci --password-stdin
docker werf cleanup --repo "$2" --git-dir "$3" --no-keep-policies --without-kube `+tc.args, "sh", reg.Addr, repo, fx.Dir)
			assert.Check(t, is.Contains(res.Stdout(), "job-kind: "+tc.wantKind+"\n"), res.Combined())
			if tc.wantErr != "" {
				res.Assert(t, icmd.Expected{ExitCode: 1, Err: tc.wantErr})
				assert.Check(t, is.DeepEqual(sorted(pusher.Tags(repo)), []string{"gone", "main"}))
				return
			}
			res.Assert(t, icmd.Success)
			for _, other := range []string{"GitHub", "GitLab", "TOKEN"} {
				assert.Check(t, !strings.Contains(res.Stderr(), other), res.Stderr())
			}
			assert.Check(t, is.DeepEqual(pusher.Tags(repo), []string{"main"}))
		})
	}
}
