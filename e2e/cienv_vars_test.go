package e2e

import (
	"bufio"
	"encoding/base64"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"

	"github.com/docker-werf/docker-werf/e2e/harness"
	"github.com/docker-werf/docker-werf/internal/creds"
	"github.com/docker-werf/docker-werf/internal/gitrepo/gittest"
)

// Every flag of docker werf has a WERF_* variable, named in --help. A job
// sets a command's variable for that command, so a variable of one command
// must change nothing in another. Only the variables werf itself shares
// between its commands (the repository, its registry and the connection to
// it, a dry run) are read by more than one.

// sharedVars are the variables more than one command reads, and why.
var sharedVars = map[string]string{
	"WERF_REPO":                     "werf's repository of the project, for every command on it",
	"WERF_REPO_CONTAINER_REGISTRY":  "werf's kind of that repository's registry",
	"WERF_REGISTRY_USERNAME":        "the job's login to that registry: ci-env gives it to the job, cleanup and purge use it",
	"WERF_REGISTRY_PASSWORD":        "the password of that login",
	"WERF_INSECURE_REGISTRY":        "werf's connection setting for the registry",
	"WERF_SKIP_TLS_VERIFY_REGISTRY": "werf's connection setting for the registry",
	"WERF_DRY_RUN":                  "werf's dry run, shared by its cleanup and purge",
}

// sharedVarPrefix: the registry API credentials (--repo-github-token, ...),
// werf's, for every command that talks to the repository's registry.
const sharedVarPrefix = "WERF_REPO_"

// commandVarsExtra are variables a command reads besides those of its flags'
// help: werf's and kubectl's other names for the kubeconfig.
var commandVarsExtra = map[string][]flagVar{
	"cleanup": {{Var: "WERF_KUBECONFIG", Type: "string"}, {Var: "WERF_KUBECONFIG_BASE64", Type: "string"}},
}

type flagVar struct {
	Var, Type string
	DefTrue   bool // a bool flag whose default is true
}

var (
	helpFlagLine = regexp.MustCompile(`^ {2,8}(?:-\w, )?--[a-z0-9-]+(?: ([a-zA-Z]+))? `)
	helpEnv      = regexp.MustCompile(`\(env (WERF_[A-Z0-9_]+)`)
)

// commandVars reads the variables of a command's flags from its --help.
func commandVars(t *testing.T, h *harness.H, env *harness.Env, cmd string) []flagVar {
	t.Helper()
	res := h.Plugin(env, append(strings.Fields(cmd), "--help")...)
	assert.Assert(t, res.ExitCode == 0, res.Combined())
	var flags []string
	sc := bufio.NewScanner(strings.NewReader(res.Stdout()))
	for sc.Scan() {
		line := sc.Text()
		switch {
		case helpFlagLine.MatchString(line):
			flags = append(flags, line)
		case len(flags) > 0 && strings.HasPrefix(line, "          "):
			flags[len(flags)-1] += " " + strings.TrimSpace(line)
		}
	}
	vars := commandVarsExtra[cmd]
	for _, f := range flags {
		m := helpEnv.FindStringSubmatch(f)
		assert.Assert(t, m != nil, "docker werf %s: a flag without a variable: %s", cmd, f)
		typ := helpFlagLine.FindStringSubmatch(f)[1]
		if typ == "" {
			typ = "bool"
		}
		vars = append(vars, flagVar{Var: m[1], Type: typ, DefTrue: strings.Contains(f, "(default true)")})
	}
	return vars
}

// TestVariablesStayWithTheirCommand sets each variable that only one
// command reads to a value that would change that command, and runs every
// other command (and the credential helper): their output is what it is
// without the variable, and nothing appears where the value points.
func TestVariablesStayWithTheirCommand(t *testing.T) {
	h := harness.New(t)
	reg, pusher, pass := startCIRegistry(t, h, harness.Registry3, "vars-")
	fx := gittest.New(t)
	repo := reg.Repo("team/app")
	old := time.Now().Add(-72 * time.Hour)
	pusher.Push(repo+":main", pusher.Image(old, map[string]string{revisionLabel: fx.C["c4"]}))
	pusher.Push(repo+":gone", pusher.Image(old, map[string]string{revisionLabel: fx.C["d1"]}))
	userVar, passVar := creds.ExplicitVars(reg.Addr)
	auth := base64.StdEncoding.EncodeToString([]byte("ci:" + pass))
	values := t.TempDir() // where path values point: nothing may appear there

	// A GitLab job whose docker config has the login to the plain registry
	// (not the job's own, which GitLab cleans through its API).
	job := func(t *testing.T, kv ...string) *harness.Env {
		env := harness.NewEnv(t).With("GITLAB_CI", "true", "CI", "true", "CI_JOB_ID", "61", "CI_COMMIT_SHA", testCommit,
			"CI_COMMIT_BRANCH", "main", "CI_PROJECT_URL", "https://gitlab.example.com/group/app",
			"CI_REGISTRY", "registry.gitlab.example.com", "CI_REGISTRY_IMAGE", "registry.gitlab.example.com/group/app",
			userVar, "ci", passVar, pass).With(kv...)
		env.WriteConfig(t, map[string]any{"auths": map[string]any{reg.Addr: map[string]any{"auth": auth}},
			"cliPluginsExtraDirs": []string{env.Bins.PluginDir}})
		return env
	}
	type outcome struct {
		Exit           int
		Stdout, Stderr string
	}
	configDir := regexp.MustCompile(`docker-werf-config-\d+`)
	runs := map[string]func(t *testing.T, env *harness.Env) outcome{
		"ci-env":        nil,
		"cleanup":       nil,
		"purge":         nil,
		"registry info": nil,
		"version":       nil,
	}
	plugin := func(args ...string) func(t *testing.T, env *harness.Env) outcome {
		return func(t *testing.T, env *harness.Env) outcome {
			cmd := env.Cmd(env.Bins.Plugin, append([]string{"werf"}, args...)...)
			cmd.Dir = fx.Dir
			res := h.RunCmd(cmd)
			norm := func(s string) string {
				return configDir.ReplaceAllString(strings.ReplaceAll(s, env.Root, "<root>"), "<config>")
			}
			return outcome{res.ExitCode, norm(res.Stdout()), norm(res.Stderr())}
		}
	}
	runs["ci-env"] = plugin("ci-env")
	runs["cleanup"] = plugin("cleanup", "--repo", repo, "--dry-run", "--without-kube")
	runs["purge"] = plugin("purge", "--repo", repo, "--dry-run")
	runs["registry info"] = plugin("registry", "info", repo)
	runs["version"] = plugin("version")
	runs["docker-credential-werf"] = func(t *testing.T, env *harness.Env) outcome {
		got, res := h.HelperGet(env, reg.Addr)
		list := h.Helper(env, "", "list")
		return outcome{res.ExitCode + list.ExitCode, got.Username + " " + list.Stdout(), res.Stderr() + list.Stderr()}
	}

	readers := map[string][]string{} // variable -> commands
	types := map[string]flagVar{}
	discover := job(t)
	for _, cmd := range []string{"ci-env", "cleanup", "purge", "registry info", "version", "ecr-login"} {
		for _, v := range commandVars(t, h, discover, cmd) {
			readers[v.Var] = append(readers[v.Var], cmd)
			types[v.Var] = v
		}
	}
	for v, cmds := range readers {
		if len(cmds) > 1 && sharedVars[v] == "" && !strings.HasPrefix(v, sharedVarPrefix) {
			t.Errorf("%s is read by %s: a variable of one command must not change another", v, strings.Join(cmds, ", "))
		}
	}

	baseline := map[string]outcome{}
	for name, run := range runs {
		baseline[name] = run(t, job(t))
		assert.Assert(t, baseline[name].Exit == 0, "%s: %+v", name, baseline[name])
	}
	// ci-env hands werf its cleanup settings and leaves a job's own value
	// of one alone: that is ci-env writing the variable, not reading it.
	exported := map[string]bool{}
	for _, m := range regexp.MustCompile(`(?m)^export (WERF_\w+)=`).FindAllStringSubmatch(baseline["ci-env"].Stdout, -1) {
		exported[m[1]] = true
	}
	t.Run("each", func(t *testing.T) {
		for _, v := range slices.Sorted(maps.Keys(readers)) {
			if len(readers[v]) != 1 {
				continue
			}
			value := map[string]string{"bool": "true", "int": "7", "duration": "1h"}[types[v].Type]
			switch {
			case types[v].Type == "bool" && types[v].DefTrue:
				value = "false"
			case value == "":
				value = filepath.Join(values, v)
			}
			t.Run(v, func(t *testing.T) {
				t.Parallel()
				for name, run := range runs {
					if name == readers[v][0] || name == "ci-env" && exported[v] {
						continue
					}
					got := run(t, job(t, v, value))
					assert.Check(t, is.DeepEqual(got, baseline[name]), "%s=%s changes %s", v, value, name)
				}
			})
		}
	})
	left, err := os.ReadDir(values)
	assert.NilError(t, err)
	assert.Check(t, is.Len(left, 0), "a command wrote where another command's variable points")
}
