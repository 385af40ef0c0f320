package e2e

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"
	"gotest.tools/v3/icmd"

	"github.com/docker-werf/docker-werf/e2e/harness"
)

// noDaemon points the docker CLI at a socket that does not exist, to prove a
// command never needs the engine.
const noDaemon = "unix:///nonexistent/docker.sock"

func TestPluginMetadata(t *testing.T) {
	h := harness.New(t)
	env := harness.NewEnv(t)
	res := h.Run(env, env.Bins.Plugin, "docker-cli-plugin-metadata")
	res.Assert(t, icmd.Success)
	var meta map[string]string
	assert.NilError(t, json.Unmarshal([]byte(res.Stdout()), &meta), "metadata must be JSON only: %q", res.Stdout())
	assert.Check(t, is.Equal(meta["SchemaVersion"], "0.1.0"))
	assert.Check(t, is.Equal(meta["Vendor"], "docker-werf"))
	assert.Check(t, meta["Version"] != "")
	assert.Check(t, meta["ShortDescription"] != "")
	assert.Check(t, is.Equal(res.Stderr(), ""))
}

func TestPluginThroughDocker(t *testing.T) {
	h := harness.New(t)
	env := harness.NewEnv(t).Set("DOCKER_HOST", noDaemon)

	help := h.Docker(env, "--help")
	help.Assert(t, icmd.Success)
	assert.Check(t, is.Regexp(`(?m)^\s+werf\*\s+werf's CI environment`, help.Stdout()))

	h.Plugin(env, "version").Assert(t, icmd.Expected{Out: "docker-werf "})

	var v map[string]string
	res := h.Plugin(env, "version", "--format", "json")
	res.Assert(t, icmd.Success)
	assert.NilError(t, json.Unmarshal([]byte(res.Stdout()), &v))
	assert.Check(t, v["version"] != "" && v["goVersion"] != "")
}

func TestPluginBadInput(t *testing.T) {
	h := harness.New(t)
	env := harness.NewEnv(t).Set("DOCKER_HOST", noDaemon)
	tests := []struct {
		name    string
		args    []string
		env     []string
		wantErr string
	}{
		{name: "unknown subcommand", args: []string{"nope"}, wantErr: `unknown command "nope" for "docker werf"`},
		{name: "unknown registry subcommand", args: []string{"registry", "nope"}, wantErr: `unknown command "nope"`},
		{name: "unknown flag", args: []string{"version", "--bogus"}, wantErr: "unknown flag: --bogus"},
		{name: "bad format", args: []string{"version", "--format", "yaml"}, wantErr: `invalid --format "yaml": expected "json" or empty`},
		{name: "bad format from env", args: []string{"version"}, env: []string{"WERF_VERSION_FORMAT", "xml"},
			wantErr: `invalid --format "xml"`},
		{name: "no repository", args: []string{"registry", "info"}, wantErr: "needs a repository: give REPO or set WERF_REPO"},
		{name: "upper-case repository", args: []string{"registry", "info", "--check=false", "Example.com/App"},
			wantErr: `invalid repository "Example.com/App"`},
		{name: "tag instead of repository", args: []string{"registry", "info", "--check=false", "example.com/app:v1"},
			wantErr: `"example.com/app:v1"`},
		{name: "unknown registry kind", args: []string{"registry", "info", "--check=false", "--repo-container-registry", "artifactory", "example.com/app"},
			wantErr: `unknown container registry "artifactory": expected one of auto, default, dockerhub`},
		{name: "unknown registry kind from env", args: []string{"registry", "info", "--check=false", "example.com/app"},
			env: []string{"WERF_REPO_CONTAINER_REGISTRY", "nope"}, wantErr: `--repo-container-registry: unknown container registry "nope"`},
		{name: "bad duration", args: []string{"registry", "info", "--timeout", "soon", "example.com/app"},
			wantErr: `invalid argument "soon" for "--timeout"`},
		{name: "quay without its token", args: []string{"cleanup", "--repo", "quay.io/acme/app"},
			wantErr: "--repo-quay-token (WERF_REPO_QUAY_TOKEN) is not set"},
		{name: "docker hub without credentials", args: []string{"cleanup", "--repo", "acme/app"},
			wantErr: "set --repo-docker-hub-token (WERF_REPO_DOCKER_HUB_TOKEN)"},
		{name: "half a docker hub login", args: []string{"purge", "--repo", "acme/app", "--yes"},
			env: []string{"WERF_REPO_DOCKER_HUB_USERNAME", "acme"}, wantErr: "--repo-docker-hub-password (WERF_REPO_DOCKER_HUB_PASSWORD)"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			res := h.Plugin(env.With(tc.env...), tc.args...)
			res.Assert(t, icmd.Expected{ExitCode: 1, Err: tc.wantErr})
			assert.Check(t, is.Equal(res.Stdout(), ""))
		})
	}
}

// TestRegistryInfoKinds checks the plugin end to end for one address of each
// registry kind; internal/registry's table tests cover every pattern.
func TestRegistryInfoKinds(t *testing.T) {
	h := harness.New(t)
	env := harness.NewEnv(t).Set("DOCKER_HOST", noDaemon).Set("CI_REGISTRY", "gitlab.example.com:5050")
	tests := []struct {
		repo, kind, method string
		untagSafe          bool
	}{
		{"127.0.0.1:5000/app", "default", "overwrite-then-delete", true},
		{"alpine", "dockerhub", "hub-tag-api", true},
		{"123456789012.dkr.ecr.eu-west-1.amazonaws.com/app", "ecr", "ecr-batch-delete-by-tag", true},
		{"myreg.azurecr.io/app", "acr", "acr-tag-api", true},
		{"europe-docker.pkg.dev/proj/repo/app", "gcr", "oci-tag-delete", true},
		{"ghcr.io/acme/app", "github", "github-package-versions", false},
		{"gitlab.example.com:5050/group/app", "gitlab", "gitlab-tag-api", true},
		{"harbor.example.com/proj/app", "harbor", "harbor-artifact-tag-api", true},
		{"quay.io/acme/app", "quay", "quay-tag-api", true},
		{"acme.jfrog.io/docker/app", "jfrog", "overwrite-then-delete", true},
		{"nexus.example.com/app", "nexus", "overwrite-then-delete", true},
		{"cr.yandex/crp123/app", "yandex", "overwrite-then-delete", true},
		{"cr.selcloud.ru/acme/app", "selectel", "selectel-api", false},
	}
	for _, tc := range tests {
		t.Run(tc.kind, func(t *testing.T) {
			res := h.Plugin(env, "registry", "info", "--check=false", "--format", "json", tc.repo)
			res.Assert(t, icmd.Success)
			var info struct {
				Kind     string `json:"kind"`
				Deletion struct {
					Method    string `json:"method"`
					UntagSafe bool   `json:"untagSafe"`
				} `json:"deletion"`
				Credentials []json.RawMessage      `json:"credentials"`
				Access      struct{ Checked bool } `json:"access"`
			}
			assert.NilError(t, json.Unmarshal([]byte(res.Stdout()), &info))
			assert.Check(t, is.Equal(info.Kind, tc.kind))
			assert.Check(t, is.Equal(info.Deletion.Method, tc.method))
			assert.Check(t, is.Equal(info.Deletion.UntagSafe, tc.untagSafe))
			assert.Check(t, len(info.Credentials) > 0, "no credentials listed for %s", tc.kind)
			assert.Check(t, !info.Access.Checked)
		})
	}
}

// TestRegistryInfoAccessRefused checks that the access check fails the
// command, and says why, when the registry refuses: no credentials at all, and
// wrong ones handed over by docker-credential-werf.
func TestRegistryInfoAccessRefused(t *testing.T) {
	h := harness.New(t)
	pass := h.RandomSecret("pw-")
	h.Credential("alice", pass)
	reg := harness.StartRegistry(t, harness.Registry28, map[string]string{"alice": pass})

	anonymous := harness.NewEnv(t)
	res := h.Plugin(anonymous, "registry", "info", reg.Repo("app"))
	res.Assert(t, icmd.Expected{ExitCode: 1, Err: "access check failed: no credentials for " + reg.Addr})

	wrong := h.RandomSecret("wrong-")
	env := harness.NewEnv(t)
	env.UseHelperFor(t, reg.Addr)
	key := "WERF_REGISTRY_AUTH_127_0_0_1_" + reg.Addr[len("127.0.0.1:"):]
	env.Set(key+"_USERNAME", "alice").Set(key+"_PASSWORD", wrong)
	res = h.Plugin(env, "registry", "info", "--format", "json", reg.Repo("app"))
	res.Assert(t, icmd.Expected{ExitCode: 1, Err: "refused the credentials for app (HTTP 401)"})
	var info struct{ Access access }
	assert.NilError(t, json.Unmarshal([]byte(res.Stdout()), &info))
	assert.Check(t, is.Equal(info.Access.Username, "alice"))
	assert.Check(t, !info.Access.Authenticated)
	assert.Check(t, is.Contains(info.Access.Source, "WERF_REGISTRY_AUTH_"))

	env.Set(key+"_PASSWORD", pass)
	h.Plugin(env, "registry", "info", reg.Repo("app")).Assert(t, icmd.Expected{Out: "authenticated as alice"})
}

type access struct {
	Authenticated bool
	Username      string
	Source        string
}

// TestPluginCompletion: docker's completion scripts ask `docker __complete
// werf ...`; the docker CLI hands the request to the plugin, whose answer
// offers the values and says which flags complete file names.
func TestPluginCompletion(t *testing.T) {
	h := harness.New(t)
	env := harness.NewEnv(t).Set("DOCKER_HOST", noDaemon)
	for _, tc := range []struct {
		name      string
		args      []string
		want      []string
		directive string
	}{
		{"CI system", []string{"ci-env", ""}, []string{"gitlab", "github", "woodpecker", "generic"}, ":4"},
		{"shell", []string{"ci-env", "--shell", ""}, []string{"sh", "fish", "powershell"}, ":4"},
		{"registry kind", []string{"cleanup", "--repo-container-registry", ""}, []string{"auto\t", "quay\t", "selectel\t"}, ":4"},
		{"format", []string{"registry", "info", "--format", ""}, []string{"json"}, ":4"},
		{"policy file", []string{"cleanup", "--policy", ""}, []string{"yaml", "yml"}, ":8"},
		{"report file", []string{"cleanup", "--report", ""}, nil, ":0"},
		{"output file", []string{"ci-env", "-o", ""}, nil, ":0"},
		{"git directory", []string{"cleanup", "--git-dir", ""}, nil, ":16"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res := h.Docker(env, append([]string{"__complete", "werf"}, tc.args...)...)
			res.Assert(t, icmd.Success)
			lines := strings.Split(strings.TrimSpace(res.Stdout()), "\n")
			assert.Check(t, is.Equal(lines[len(lines)-1], tc.directive), res.Stdout())
			for _, w := range tc.want {
				assert.Check(t, slices.ContainsFunc(lines, func(l string) bool { return l == w || strings.HasPrefix(l, w) }),
					"%q not offered:\n%s", w, res.Stdout())
			}
			if tc.want == nil {
				assert.Check(t, is.Len(lines, 1), res.Stdout())
			}
		})
	}
}

// TestPluginUsageErrors: through the real docker CLI, wrong arguments and
// unknown commands fail with exit code 1 and say what docker's own commands
// say: the command, the count it takes, its help and its usage line.
func TestPluginUsageErrors(t *testing.T) {
	h := harness.New(t)
	env := harness.NewEnv(t).Set("DOCKER_HOST", noDaemon)
	for _, tc := range []struct {
		name string
		args []string
		want []string
	}{
		{"typo of a command", []string{"cleanp"}, []string{`unknown command "cleanp" for "docker werf"`,
			"\n\nDid you mean this?\n\tcleanup\n", "See 'docker werf --help'.", "\nUsage:  docker werf COMMAND\n"}},
		{"typo of a registry command", []string{"registry", "inf"}, []string{"Did you mean this?\n\tinfo\n",
			"Usage:  docker werf registry COMMAND\n"}},
		{"missing argument", []string{"ecr-login"}, []string{`"docker werf ecr-login" requires exactly 1 argument.` +
			"\nSee 'docker werf ecr-login --help'.\n\nUsage:  docker werf ecr-login REGISTRY\n"}},
		{"argument to cleanup", []string{"cleanup", "registry.example.com/app"}, []string{
			`"docker werf cleanup" accepts no arguments.` + "\nSee 'docker werf cleanup --help'.\n\nUsage:  docker werf cleanup [OPTIONS]\n"}},
		{"two CI systems", []string{"ci-env", "gitlab", "github"}, []string{`"docker werf ci-env" accepts at most 1 argument.`,
			"Usage:  docker werf ci-env [OPTIONS] [CI_SYSTEM]\n"}},
		{"unknown flag", []string{"purge", "--bogus"}, []string{"unknown flag: --bogus\nSee 'docker werf purge --help'.",
			"Usage:  docker werf purge [OPTIONS]\n"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res := h.Plugin(env, tc.args...)
			res.Assert(t, icmd.Expected{ExitCode: 1})
			for _, w := range tc.want {
				assert.Check(t, is.Contains(res.Stderr(), w))
			}
			assert.Check(t, !strings.Contains(res.Stderr(), "arg(s)"), res.Stderr())
		})
	}
}

// TestPluginCleanupHelp: `docker werf cleanup --help` shows its flags in
// sections, the per-registry API credentials in a section of their own.
func TestPluginCleanupHelp(t *testing.T) {
	h := harness.New(t)
	env := harness.NewEnv(t).Set("DOCKER_HOST", noDaemon)
	res := h.Plugin(env, "cleanup", "--help")
	res.Assert(t, icmd.Success)
	out := res.Stdout()
	assert.Check(t, strings.HasPrefix(out, "Usage:  docker werf cleanup [OPTIONS]\n"), out)
	last := 0
	for _, title := range []string{"Examples", "Scope", "Policies", "Kubernetes", "Registry access",
		"Per-registry API credentials", "Run and output"} {
		at := strings.Index(out, "\n\n"+title+":\n")
		assert.Check(t, at > last, "section %q missing or out of order:\n%s", title, out)
		last = max(last, at)
	}
	from, to := strings.Index(out, "\nPer-registry API credentials:\n"), strings.Index(out, "\nRun and output:\n")
	assert.Assert(t, from >= 0 && to > from, out)
	assert.Check(t, is.Contains(out[from:to], "--repo-quay-token string"))
	assert.Check(t, !strings.Contains(out, "\nOptions:\n"), out)
}
