package creds

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/docker/docker-credential-helpers/credentials"
	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"

	"github.com/docker-werf/docker-werf/internal/registry"
)

func init() {
	// Tests run under `go test`, whose parent is not docker; make sure.
	parentDockerConfig = func() string { return "" }
}

type env map[string]string

func (e env) get(k string) string { return e[k] }

// newResolver returns a resolver over e with its own store and HOME.
func newResolver(t *testing.T, e env, purpose Purpose) *Resolver {
	t.Helper()
	if _, ok := e["HOME"]; !ok {
		e["HOME"] = t.TempDir()
	}
	if _, ok := e["WERF_CREDENTIALS_DIR"]; !ok {
		e["WERF_CREDENTIALS_DIR"] = filepath.Join(t.TempDir(), "store")
	}
	r, err := New(Options{Env: e.get, Purpose: purpose})
	assert.NilError(t, err)
	return r
}

const (
	jobToken     = "glcbt-64-JOBTOKEN-abcdef"
	regPassword  = "glcbt-64-REGPASS-123456"
	proxyPass    = "glcbt-64-PROXYPASS-7890"
	ghToken      = "ghs_GITHUBTOKEN0123456789"
	cleanupPass  = "glpat-CLEANUP-0123456789"
	explicitPass = "explicit-pass-0123456789"
)

var secrets = []string{jobToken, regPassword, proxyPass, ghToken, cleanupPass, explicitPass}

func gitlabEnv() env {
	return env{
		"GITLAB_CI": "true", "CI_JOB_ID": "1001",
		"CI_REGISTRY": "registry.gitlab.example.com:5050", "CI_REGISTRY_USER": "gitlab-ci-token", "CI_REGISTRY_PASSWORD": regPassword,
		"CI_JOB_TOKEN":               jobToken,
		"CI_DEPENDENCY_PROXY_SERVER": "gitlab.example.com:443", "CI_DEPENDENCY_PROXY_USER": "gitlab-ci-token",
		"CI_DEPENDENCY_PROXY_PASSWORD": proxyPass,
	}
}

func with(base env, kv ...string) env {
	out := env{}
	for k, v := range base {
		out[k] = v
	}
	for i := 0; i < len(kv); i += 2 {
		if kv[i+1] == "<unset>" {
			delete(out, kv[i])
		} else {
			out[kv[i]] = kv[i+1]
		}
	}
	return out
}

func TestGet(t *testing.T) {
	ghEnv := env{
		"GITHUB_ACTIONS": "true", "GITHUB_RUN_ID": "5", "GITHUB_JOB": "build", "GITHUB_ACTOR": "octocat",
		"GITHUB_TOKEN": ghToken, "GITHUB_SERVER_URL": "https://github.com",
	}
	forgejoEnv := env{
		"FORGEJO_ACTIONS": "true", "GITHUB_ACTIONS": "true", "GITHUB_RUN_ID": "5", "GITHUB_JOB": "build",
		"GITHUB_SERVER_URL": "https://code.example.org", "GITHUB_ACTOR": "alice", "GITHUB_TOKEN": ghToken,
	}
	tests := []struct {
		name    string
		env     env
		purpose Purpose
		server  string
		user    string
		secret  string
		source  string
		err     string // substring; "notfound" for the exact not-found error
	}{
		{name: "gitlab registry pair", env: gitlabEnv(), server: "registry.gitlab.example.com:5050",
			user: "gitlab-ci-token", secret: regPassword, source: "CI_REGISTRY_USER/CI_REGISTRY_PASSWORD (GitLab CI_REGISTRY)"},
		{name: "gitlab registry as URL", env: gitlabEnv(), server: "https://REGISTRY.gitlab.example.com:5050/v2/",
			user: "gitlab-ci-token", secret: regPassword},
		{name: "gitlab registry repo probe", env: gitlabEnv(), server: "registry.gitlab.example.com:5050/group/project",
			user: "gitlab-ci-token", secret: regPassword},
		{name: "gitlab registry other port is another host", env: gitlabEnv(), server: "registry.gitlab.example.com", err: "notfound"},
		{name: "gitlab job token fallback", env: with(gitlabEnv(), "CI_REGISTRY_USER", "<unset>", "CI_REGISTRY_PASSWORD", "<unset>"),
			server: "registry.gitlab.example.com:5050", user: "gitlab-ci-token", secret: jobToken,
			source: "CI_JOB_TOKEN as gitlab-ci-token (GitLab CI_REGISTRY)"},
		{name: "gitlab no token is not found",
			env:    with(gitlabEnv(), "CI_REGISTRY_USER", "<unset>", "CI_REGISTRY_PASSWORD", "<unset>", "CI_JOB_TOKEN", "<unset>"),
			server: "registry.gitlab.example.com:5050", err: "notfound"},
		{name: "gitlab half configured", env: with(gitlabEnv(), "CI_REGISTRY_PASSWORD", "<unset>"),
			server: "registry.gitlab.example.com:5050", err: "CI_REGISTRY_USER is set but CI_REGISTRY_PASSWORD is empty or unset"},
		{name: "gitlab dependency proxy with :443", env: gitlabEnv(), server: "gitlab.example.com:443",
			user: "gitlab-ci-token", secret: proxyPass, source: "CI_DEPENDENCY_PROXY_USER/CI_DEPENDENCY_PROXY_PASSWORD (GitLab CI_DEPENDENCY_PROXY_SERVER)"},
		{name: "gitlab dependency proxy without port", env: gitlabEnv(), server: "gitlab.example.com",
			user: "gitlab-ci-token", secret: proxyPass},
		{name: "gitlab dependency proxy job token", env: with(gitlabEnv(), "CI_DEPENDENCY_PROXY_USER", "<unset>", "CI_DEPENDENCY_PROXY_PASSWORD", "<unset>"),
			server: "gitlab.example.com:443", user: "gitlab-ci-token", secret: jobToken},
		{name: "gitlab foreign host", env: gitlabEnv(), server: "docker.io", err: "notfound"},
		{name: "gitlab ignore autologin", env: with(gitlabEnv(), "WERF_IGNORE_CI_DOCKER_AUTOLOGIN", "TRUE"),
			server: "registry.gitlab.example.com:5050", err: "notfound"},
		{name: "gitlab ignore autologin yes", env: with(gitlabEnv(), "WERF_IGNORE_CI_DOCKER_AUTOLOGIN", "yes"),
			server: "registry.gitlab.example.com:5050", err: "notfound"},
		{name: "gitlab ignore autologin false keeps it", env: with(gitlabEnv(), "WERF_IGNORE_CI_DOCKER_AUTOLOGIN", "false"),
			server: "registry.gitlab.example.com:5050", user: "gitlab-ci-token", secret: regPassword},
		{name: "gitlab ignore autologin falls to explicit",
			env: with(gitlabEnv(), "WERF_IGNORE_CI_DOCKER_AUTOLOGIN", "1",
				"WERF_REGISTRY_AUTH_REGISTRY_GITLAB_EXAMPLE_COM_5050_USERNAME", "deployer",
				"WERF_REGISTRY_AUTH_REGISTRY_GITLAB_EXAMPLE_COM_5050_PASSWORD", explicitPass),
			server: "registry.gitlab.example.com:5050", user: "deployer", secret: explicitPass,
			source: "WERF_REGISTRY_AUTH_REGISTRY_GITLAB_EXAMPLE_COM_5050_USERNAME/WERF_REGISTRY_AUTH_REGISTRY_GITLAB_EXAMPLE_COM_5050_PASSWORD"},
		{name: "CI token never for GCR", env: with(gitlabEnv(), "CI_REGISTRY", "gcr.io"), server: "gcr.io", err: "notfound"},
		{name: "CI token never for Artifact Registry", env: with(gitlabEnv(), "CI_REGISTRY", "europe-docker.pkg.dev"),
			server: "europe-docker.pkg.dev", err: "notfound"},
		{name: "GCR explicit variables still served",
			env: with(gitlabEnv(), "CI_REGISTRY", "gcr.io", "WERF_REGISTRY_AUTH_GCR_IO_USERNAME", "_json_key",
				"WERF_REGISTRY_AUTH_GCR_IO_PASSWORD", explicitPass),
			server: "gcr.io", user: "_json_key", secret: explicitPass},
		{name: "cleanup replaces job token", env: with(gitlabEnv(), "WERF_IMAGES_CLEANUP_PASSWORD", cleanupPass), purpose: Cleanup,
			server: "registry.gitlab.example.com:5050", user: "werf-cleanup", secret: cleanupPass,
			source: "WERF_IMAGES_CLEANUP_PASSWORD as werf-cleanup (cleanup, instead of CI_REGISTRY_USER/CI_REGISTRY_PASSWORD (GitLab CI_REGISTRY))"},
		{name: "cleanup without password keeps job token", env: gitlabEnv(), purpose: Cleanup,
			server: "registry.gitlab.example.com:5050", user: "gitlab-ci-token", secret: regPassword},
		{name: "pull ignores cleanup password", env: with(gitlabEnv(), "WERF_IMAGES_CLEANUP_PASSWORD", cleanupPass),
			server: "registry.gitlab.example.com:5050", user: "gitlab-ci-token", secret: regPassword},
		{name: "cleanup does not touch explicit variables",
			env: with(gitlabEnv(), "WERF_IMAGES_CLEANUP_PASSWORD", cleanupPass,
				"WERF_REGISTRY_AUTH_QUAY_IO_USERNAME", "robot", "WERF_REGISTRY_AUTH_QUAY_IO_PASSWORD", explicitPass),
			purpose: Cleanup, server: "quay.io", user: "robot", secret: explicitPass},
		{name: "github ghcr", env: ghEnv, server: "ghcr.io", user: "octocat", secret: ghToken,
			source: "GITHUB_TOKEN as GITHUB_ACTOR (GitHub Actions)"},
		{name: "github legacy packages", env: ghEnv, server: "https://docker.pkg.github.com", user: "octocat", secret: ghToken},
		{name: "github token not mapped", env: with(ghEnv, "GITHUB_TOKEN", "<unset>"), server: "ghcr.io", err: "notfound"},
		{name: "github other host", env: ghEnv, server: "github.com", err: "notfound"},
		{name: "ghcr outside github actions", env: env{"GITHUB_TOKEN": ghToken}, server: "ghcr.io", err: "notfound"},
		{name: "forgejo own server", env: forgejoEnv, server: "code.example.org", user: "alice", secret: ghToken,
			source: "GITHUB_TOKEN as GITHUB_ACTOR (Forgejo Actions)"},
		{name: "forgejo never offers its token to ghcr", env: forgejoEnv, server: "ghcr.io", err: "notfound"},
		{name: "forgejo variables win",
			env:    with(forgejoEnv, "FORGEJO_SERVER_URL", "https://forgejo.example.net", "FORGEJO_TOKEN", jobToken, "FORGEJO_ACTOR", "bob"),
			server: "forgejo.example.net", user: "bob", secret: jobToken, source: "FORGEJO_TOKEN as FORGEJO_ACTOR (Forgejo Actions)"},
		{name: "gitea", env: env{"GITEA_ACTIONS": "true", "GITHUB_ACTIONS": "true", "GITHUB_SERVER_URL": "http://gitea.local:3000",
			"GITHUB_ACTOR": "carol", "GITEA_TOKEN": jobToken},
			server: "gitea.local:3000", user: "carol", secret: jobToken, source: "GITEA_TOKEN as GITHUB_ACTOR (Gitea Actions)"},
		{name: "explicit", env: env{"WERF_REGISTRY_AUTH_REGISTRY_EXAMPLE_COM_USERNAME": "me", "WERF_REGISTRY_AUTH_REGISTRY_EXAMPLE_COM_PASSWORD": explicitPass},
			server: "https://registry.example.com/v1/", user: "me", secret: explicitPass},
		{name: "explicit docker hub", env: env{"WERF_REGISTRY_AUTH_DOCKER_IO_USERNAME": "me", "WERF_REGISTRY_AUTH_DOCKER_IO_PASSWORD": explicitPass},
			server: "https://index.docker.io/v1/", user: "me", secret: explicitPass},
		{name: "explicit docker hub via registry-1", env: env{"WERF_REGISTRY_AUTH_DOCKER_IO_USERNAME": "me", "WERF_REGISTRY_AUTH_DOCKER_IO_PASSWORD": explicitPass},
			server: "registry-1.docker.io", user: "me", secret: explicitPass},
		{name: "explicit ip and port", env: env{"WERF_REGISTRY_AUTH_127_0_0_1_5000_USERNAME": "me", "WERF_REGISTRY_AUTH_127_0_0_1_5000_PASSWORD": explicitPass},
			server: "127.0.0.1:5000", user: "me", secret: explicitPass},
		{name: "explicit half configured names missing variable",
			env:    env{"WERF_REGISTRY_AUTH_REGISTRY_EXAMPLE_COM_PASSWORD": explicitPass},
			server: "registry.example.com", err: "WERF_REGISTRY_AUTH_REGISTRY_EXAMPLE_COM_PASSWORD is set but WERF_REGISTRY_AUTH_REGISTRY_EXAMPLE_COM_USERNAME is empty or unset"},
		{name: "half configured CI pair yields to explicit",
			env: with(gitlabEnv(), "CI_REGISTRY_PASSWORD", "<unset>",
				"WERF_REGISTRY_AUTH_REGISTRY_GITLAB_EXAMPLE_COM_5050_USERNAME", "deployer",
				"WERF_REGISTRY_AUTH_REGISTRY_GITLAB_EXAMPLE_COM_5050_PASSWORD", explicitPass),
			server: "registry.gitlab.example.com:5050", user: "deployer", secret: explicitPass},
		{name: "CI before explicit",
			env: with(gitlabEnv(), "WERF_REGISTRY_AUTH_REGISTRY_GITLAB_EXAMPLE_COM_5050_USERNAME", "deployer",
				"WERF_REGISTRY_AUTH_REGISTRY_GITLAB_EXAMPLE_COM_5050_PASSWORD", explicitPass),
			server: "registry.gitlab.example.com:5050", user: "gitlab-ci-token", secret: regPassword},
		{name: "nothing", env: env{}, server: "registry.example.com", err: "notfound"},
		{name: "garbage address is not found", env: env{}, server: "not a host!", err: "notfound"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := newResolver(t, tc.env, tc.purpose)
			user, secret, err := r.Get(tc.server)
			source, serr := r.Source(tc.server)
			switch tc.err {
			case "":
				assert.NilError(t, err)
				assert.NilError(t, serr)
				assert.Equal(t, user, tc.user)
				assert.Equal(t, secret, tc.secret)
				if tc.source != "" {
					assert.Equal(t, source, tc.source)
				}
				for _, s := range secrets {
					assert.Assert(t, !strings.Contains(source, s), "source %q leaks a secret", source)
				}
			case "notfound":
				assert.Assert(t, credentials.IsErrCredentialsNotFound(err), "got %v", err)
				assert.Equal(t, err.Error(), "credentials not found in native keychain")
				assert.Assert(t, credentials.IsErrCredentialsNotFound(serr))
			default:
				assert.ErrorContains(t, err, tc.err)
				assert.Assert(t, !credentials.IsErrCredentialsNotFound(err))
				for _, s := range secrets {
					assert.Assert(t, !strings.Contains(err.Error(), s), "error %q leaks a secret", err)
				}
			}
		})
	}
}

func TestExplicitKey(t *testing.T) {
	for in, want := range map[string]string{
		"docker.io":                 "DOCKER_IO",
		"127.0.0.1:5000":            "127_0_0_1_5000",
		"registry.example.com":      "REGISTRY_EXAMPLE_COM",
		"my-registry.example.com":   "MY_REGISTRY_EXAMPLE_COM",
		"[::1]:5000":                "_1_5000",
		"europe-docker.pkg.dev":     "EUROPE_DOCKER_PKG_DEV",
		"a--b..c":                   "A_B_C",
		"registry.gitlab.com:5050/": "REGISTRY_GITLAB_COM_5050_",
	} {
		assert.Equal(t, ExplicitKey(in), want, in)
	}
	u, p := ExplicitVars("docker.io")
	assert.Equal(t, u, "WERF_REGISTRY_AUTH_DOCKER_IO_USERNAME")
	assert.Equal(t, p, "WERF_REGISTRY_AUTH_DOCKER_IO_PASSWORD")
}

func TestStoreGetEraseList(t *testing.T) {
	e := with(gitlabEnv())
	r := newResolver(t, e, Pull)

	// Stored credentials come first, even for the CI registry.
	assert.NilError(t, r.Add(&credentials.Credentials{ServerURL: "registry.gitlab.example.com:5050", Username: "me", Secret: "stored-1"}))
	user, secret, err := r.Get("https://registry.gitlab.example.com:5050")
	assert.NilError(t, err)
	assert.Equal(t, user, "me")
	assert.Equal(t, secret, "stored-1")
	src, err := r.Source("registry.gitlab.example.com:5050")
	assert.NilError(t, err)
	assert.Equal(t, src, "stored by docker login in job scope ci:gitlab:1001")

	// Docker Hub under any alias; "<token>" is kept as is.
	assert.NilError(t, r.Add(&credentials.Credentials{ServerURL: "https://index.docker.io/v1/", Username: "<token>", Secret: "idtoken"}))
	for _, alias := range []string{"docker.io", "index.docker.io", "registry-1.docker.io", "https://index.docker.io/v1/"} {
		user, secret, err := r.Get(alias)
		assert.NilError(t, err, alias)
		assert.Equal(t, user, "<token>")
		assert.Equal(t, secret, "idtoken")
	}

	list, err := r.List()
	assert.NilError(t, err)
	assert.DeepEqual(t, list, map[string]string{
		"registry.gitlab.example.com:5050": "me",
		"https://index.docker.io/v1/":      "<token>",
		"gitlab.example.com:443":           "gitlab-ci-token",
	})

	// Erase removes only the stored entry: the CI credentials answer again.
	assert.NilError(t, r.Delete("https://registry.gitlab.example.com:5050/"))
	user, secret, err = r.Get("registry.gitlab.example.com:5050")
	assert.NilError(t, err)
	assert.Equal(t, user, "gitlab-ci-token")
	assert.Equal(t, secret, regPassword)
	assert.NilError(t, r.Delete("never-stored.example.com"), "erasing nothing succeeds")

	assert.Assert(t, credentials.IsCredentialsMissingServerURL(r.Add(&credentials.Credentials{Username: "u"})))
	assert.Assert(t, credentials.IsCredentialsMissingUsername(r.Add(&credentials.Credentials{ServerURL: "h"})))
	err = r.Add(&credentials.Credentials{ServerURL: "ftp://h", Username: "u", Secret: "topsecret-x"})
	assert.ErrorContains(t, err, "unsupported scheme")
	assert.Assert(t, !strings.Contains(err.Error(), "topsecret-x"))
}

func TestJobsSharingHomeAreIsolated(t *testing.T) {
	home := t.TempDir()
	store := filepath.Join(t.TempDir(), "store")
	assert.NilError(t, os.MkdirAll(filepath.Join(home, ".docker"), 0o700))
	job := func(id string) *Resolver {
		return newResolver(t, env{"HOME": home, "WERF_CREDENTIALS_DIR": store, "GITLAB_CI": "true", "CI_JOB_ID": id}, Pull)
	}
	a, b := job("1"), job("2")
	assert.NilError(t, a.Add(&credentials.Credentials{ServerURL: "registry.example.com", Username: "a", Secret: "secret-a"}))
	assert.NilError(t, b.Add(&credentials.Credentials{ServerURL: "registry.example.com", Username: "b", Secret: "secret-b"}))
	user, _, err := a.Get("registry.example.com")
	assert.NilError(t, err)
	assert.Equal(t, user, "a")
	user, _, err = b.Get("registry.example.com")
	assert.NilError(t, err)
	assert.Equal(t, user, "b")
	assert.NilError(t, b.Delete("registry.example.com"))
	user, _, err = a.Get("registry.example.com")
	assert.NilError(t, err)
	assert.Equal(t, user, "a", "b's erase must not touch a")
	_, _, err = b.Get("registry.example.com")
	assert.Assert(t, credentials.IsErrCredentialsNotFound(err))

	// A third job without a job id falls back to the config-dir scope.
	c := newResolver(t, env{"HOME": home, "WERF_CREDENTIALS_DIR": store, "GITLAB_CI": "true"}, Pull)
	key, err := c.ScopeKey()
	assert.NilError(t, err)
	real, err := filepath.EvalSymlinks(filepath.Join(home, ".docker"))
	assert.NilError(t, err)
	assert.Equal(t, key, "config:"+real)
	_, _, err = c.Get("registry.example.com")
	assert.Assert(t, credentials.IsErrCredentialsNotFound(err))
}

func TestScopeKey(t *testing.T) {
	tmp := t.TempDir()
	real := filepath.Join(tmp, "real-docker")
	assert.NilError(t, os.Mkdir(real, 0o700))
	link := filepath.Join(tmp, "link-docker")
	assert.NilError(t, os.Symlink(real, link))
	realTmp, err := filepath.EvalSymlinks(tmp)
	assert.NilError(t, err)
	realDir := filepath.Join(realTmp, "real-docker")

	tests := []struct {
		name      string
		env       env
		configDir string
		parent    string
		want      string
	}{
		{name: "ci", env: env{"GITLAB_CI": "true", "CI_JOB_ID": "77", "DOCKER_CONFIG": real}, want: "ci:gitlab:77"},
		{name: "plugin config dir wins", env: env{"DOCKER_CONFIG": "/elsewhere"}, configDir: link, want: "config:" + realDir},
		{name: "DOCKER_CONFIG", env: env{"DOCKER_CONFIG": link, "HOME": "/home/u"}, parent: "/p", want: "config:" + realDir},
		{name: "parent docker --config", env: env{"HOME": "/home/u"}, parent: link, want: "config:" + realDir},
		{name: "home", env: env{"HOME": realTmp}, want: "config:" + filepath.Join(realTmp, ".docker")},
		{name: "missing dir under a symlink", env: env{"DOCKER_CONFIG": filepath.Join(link, "sub")}, want: "config:" + filepath.Join(realDir, "sub")},
		{name: "ci without job key", env: env{"GITHUB_ACTIONS": "true", "DOCKER_CONFIG": real}, want: "config:" + realDir},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			old := parentDockerConfig
			defer func() { parentDockerConfig = old }()
			parentDockerConfig = func() string { return tc.parent }
			tc.env["WERF_CREDENTIALS_DIR"] = filepath.Join(tmp, "store")
			r, err := New(Options{Env: tc.env.get, ConfigDir: tc.configDir})
			assert.NilError(t, err)
			got, err := r.ScopeKey()
			assert.NilError(t, err)
			assert.Equal(t, got, tc.want)
		})
	}

	t.Run("no home", func(t *testing.T) {
		r, err := New(Options{Env: env{"WERF_CREDENTIALS_DIR": filepath.Join(tmp, "s")}.get})
		assert.NilError(t, err)
		_, err = r.ScopeKey()
		assert.ErrorContains(t, err, "set DOCKER_CONFIG or HOME")
		// get still works from the other sources.
		_, _, err = r.Get("registry.example.com")
		assert.Assert(t, credentials.IsErrCredentialsNotFound(err))
		// store says why it cannot.
		err = r.Add(&credentials.Credentials{ServerURL: "h", Username: "u", Secret: "s"})
		assert.ErrorContains(t, err, "cannot store credentials for h")
	})
}

func TestConfigFromArgs(t *testing.T) {
	tests := []struct {
		argv []string
		want string
	}{
		{[]string{"docker", "--config", "/c", "pull", "x"}, "/c"},
		{[]string{"/usr/bin/docker", "--config=/c", "login"}, "/c"},
		{[]string{"docker", "-H", "tcp://h", "--debug", "--config", "rel", "push"}, "rel"},
		{[]string{"docker", "--context", "ctx", "--config=/c", "build"}, "/c"},
		{[]string{"docker", "pull", "--config", "/c"}, ""},
		{[]string{"docker", "login"}, ""},
		{[]string{"/usr/libexec/docker/cli-plugins/docker-buildx", "--config", "/b", "buildx", "build"}, "/b"},
		{[]string{"docker-buildx", "buildx", "create", "--config", "/buildkitd.toml"}, ""},
		{[]string{"docker-credential-werf", "--config", "/c"}, ""},
		{[]string{"bash", "--config", "/c"}, ""},
		{[]string{"docker", "--config"}, ""},
		{nil, ""},
	}
	for _, tc := range tests {
		t.Run(strings.Join(tc.argv, " "), func(t *testing.T) {
			assert.Equal(t, configFromArgs(tc.argv), tc.want)
		})
	}
}

func TestHostileStoreIsAnError(t *testing.T) {
	e := gitlabEnv()
	store := filepath.Join(t.TempDir(), "store")
	assert.NilError(t, os.Mkdir(store, 0o755))
	e["WERF_CREDENTIALS_DIR"] = store
	r := newResolver(t, e, Pull)
	_, _, err := r.Get("registry.gitlab.example.com:5050")
	assert.Assert(t, IsUnsafeStore(err), "%v", err)
	assert.Assert(t, is.Contains(err.Error(), "chmod 700 "+store))
	err = r.Add(&credentials.Credentials{ServerURL: "h", Username: "u", Secret: "topsecret-y"})
	assert.Assert(t, IsUnsafeStore(err), "%v", err)
	assert.Assert(t, !strings.Contains(err.Error(), "topsecret-y"))
	list, err := r.List()
	assert.NilError(t, err)
	assert.Equal(t, list["registry.gitlab.example.com:5050"], "gitlab-ci-token")
}

func TestNewRejectsBadPurpose(t *testing.T) {
	_, err := New(Options{Purpose: Purpose(7)})
	assert.ErrorContains(t, err, "invalid credentials purpose")
	assert.Equal(t, Cleanup.String(), "cleanup")
}

func TestNilEnvIsEmpty(t *testing.T) {
	r, err := New(Options{StoreDir: filepath.Join(t.TempDir(), "s"), ConfigDir: t.TempDir()})
	assert.NilError(t, err)
	_, _, err = r.Get("registry.example.com")
	assert.Assert(t, credentials.IsErrCredentialsNotFound(err))
}

var _ registry.Env = env{}.get

func BenchmarkResolverGet(b *testing.B) {
	e := with(gitlabEnv(), "HOME", b.TempDir(), "WERF_CREDENTIALS_DIR", filepath.Join(b.TempDir(), "s"))
	for b.Loop() {
		r, _ := New(Options{Env: e.get})
		_, _, _ = r.Get("registry.gitlab.example.com:5050")
	}
}

func TestEnvironmentOnlySkipsTheStore(t *testing.T) {
	e := env{"GITLAB_CI": "true", "CI_JOB_ID": "7"}
	store := filepath.Join(t.TempDir(), "store")
	r, err := New(Options{Env: e.get, StoreDir: store})
	assert.NilError(t, err)
	assert.NilError(t, r.Add(&credentials.Credentials{ServerURL: "registry.example.com", Username: "u", Secret: "stored-secret"}))

	only, err := New(Options{Env: e.get, StoreDir: store, EnvironmentOnly: true})
	assert.NilError(t, err)
	_, _, err = only.Get("registry.example.com")
	assert.Check(t, credentials.IsErrCredentialsNotFound(err), "%v", err)
}
