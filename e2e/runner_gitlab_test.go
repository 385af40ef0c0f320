package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"
	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"
	"gotest.tools/v3/icmd"

	"github.com/docker-werf/docker-werf/e2e/harness"
)

// GitLab Runner cannot run here (its `exec` is gone), so the GitLab jobs are
// the project's .gitlab-ci.yml (e2e/testdata/runners/gitlab), with the
// shipped template (gitlab-ci/) included, run the way the shell executor runs
// a job (https://docs.gitlab.com/runner/shells/): `include: local` and
// `extends` merged as GitLab merges them (hashes deep, arrays replaced), the
// job's variables and GitLab's predefined ones exported, before_script and
// script in one shell that starts with errexit and pipefail, after_script in
// a new shell with the same variables and CI_JOB_STATUS, whose failure does
// not fail the job.

// gitlabJobDef is what the tests read of one job.
type gitlabJobDef struct {
	Image        string            `yaml:"image"`
	Stage        string            `yaml:"stage"`
	Variables    map[string]string `yaml:"variables"`
	BeforeScript []string          `yaml:"before_script"`
	Script       []string          `yaml:"script"`
	AfterScript  []string          `yaml:"after_script"`
	Rules        []struct {
		If string `yaml:"if"`
	} `yaml:"rules"`
}

// gitlabPipeline is a .gitlab-ci.yml with its local includes merged in.
type gitlabPipeline struct {
	keys      map[string]yaml.Node
	variables map[string]string
}

func loadGitLabPipeline(t *testing.T, project string) *gitlabPipeline {
	t.Helper()
	p := &gitlabPipeline{keys: map[string]yaml.Node{}, variables: map[string]string{}}
	own := readGitLabFile(t, filepath.Join(project, ".gitlab-ci.yml"))
	if inc, ok := own["include"]; ok {
		var includes []struct {
			Local string `yaml:"local"`
		}
		assert.NilError(t, inc.Decode(&includes))
		for _, i := range includes {
			assert.Assert(t, i.Local != "", "only include: local can be had here")
			for k, v := range readGitLabFile(t, filepath.Join(project, i.Local)) {
				p.keys[k] = v
			}
		}
	}
	for k, v := range own { // the project's own keys win over included ones
		p.keys[k] = v
	}
	if v, ok := p.keys["variables"]; ok {
		assert.NilError(t, v.Decode(&p.variables))
	}
	return p
}

func readGitLabFile(t *testing.T, path string) map[string]yaml.Node {
	t.Helper()
	b, err := os.ReadFile(path)
	assert.NilError(t, err)
	var m map[string]yaml.Node
	assert.NilError(t, yaml.Unmarshal(b, &m), "%s", path)
	return m
}

// job returns a job with what it extends merged in (one level, as the
// template needs).
func (p *gitlabPipeline) job(t *testing.T, name string) gitlabJobDef {
	t.Helper()
	node, ok := p.keys[name]
	assert.Assert(t, ok, "no job %q", name)
	var ext struct {
		Extends string `yaml:"extends"`
	}
	assert.NilError(t, node.Decode(&ext))
	var job gitlabJobDef
	if ext.Extends != "" {
		base, ok := p.keys[ext.Extends]
		assert.Assert(t, ok, "job %s extends %q, which is not there", name, ext.Extends)
		assert.NilError(t, base.Decode(&job))
	}
	// Decoding into the same value merges maps key by key and replaces
	// lists, which is what extends does.
	assert.NilError(t, node.Decode(&job))
	return job
}

var gitlabRuleIf = regexp.MustCompile(`^\$([A-Z0-9_]+) == "([^"]*)"$`)

// runs reports whether the job's rules let it run with the given variables;
// only the `$VAR == "value"` form is understood.
func (j gitlabJobDef) runs(t *testing.T, vars map[string]string) bool {
	t.Helper()
	if len(j.Rules) == 0 {
		return true
	}
	for _, r := range j.Rules {
		m := gitlabRuleIf.FindStringSubmatch(r.If)
		assert.Assert(t, m != nil, "rule %q: the test understands only $VAR == \"value\"", r.If)
		if vars[m[1]] == m[2] {
			return true
		}
	}
	return false
}

// gitlabShellScript is a job script as the shell executor writes it for
// bash and sh: errexit and pipefail (where the shell has it), then each
// line printed ("$ line") and run.
func gitlabShellScript(lines ...[]string) string {
	var b strings.Builder
	b.WriteString("if set -o | grep pipefail > /dev/null; then set -o pipefail; fi; set -o errexit\nset +o noclobber\n")
	for _, part := range lines {
		for _, l := range part {
			fmt.Fprintf(&b, "printf '$ %%s\\n' %s\n%s\n", shellQuote(l), l)
		}
	}
	return b.String()
}

func shellQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }

// gitlabJobRun is the outcome of one job: the shell of before_script and
// script, and the one of after_script.
type gitlabJobRun struct {
	main, after *icmd.Result
}

func (r gitlabJobRun) output() string { return r.main.Combined() + r.after.Combined() }

// gitlabJobVars is what GitLab gives every job of project (a path such as
// group/app) on a branch push, as its predefined variables
// (https://docs.gitlab.com/ci/variables/predefined_variables/), with the
// job token as the registry password.
func gitlabJobVars(reg *harness.Registry, project, dir, commit, jobID, user, token string) map[string]string {
	return map[string]string{
		"CI": "true", "GITLAB_CI": "true", "CI_SERVER": "yes",
		"CI_SERVER_URL": "https://gitlab.example.com", "CI_SERVER_HOST": "gitlab.example.com",
		"CI_API_V4_URL":   "https://gitlab.example.com/api/v4",
		"CI_PROJECT_PATH": project, "CI_PROJECT_NAME": filepath.Base(project), "CI_PROJECT_NAMESPACE": filepath.Dir(project),
		"CI_PROJECT_ID": "42" + jobID, "CI_PROJECT_DIR": dir, "CI_PROJECT_URL": "https://gitlab.example.com/" + project,
		"CI_BUILDS_DIR": filepath.Dir(dir), "CI_CONCURRENT_ID": jobID, "CI_RUNNER_ID": "7",
		"CI_PIPELINE_ID": "9" + jobID, "CI_PIPELINE_IID": jobID, "CI_PIPELINE_SOURCE": "push",
		"CI_PIPELINE_URL": "https://gitlab.example.com/" + project + "/-/pipelines/9" + jobID,
		"CI_JOB_ID":       jobID, "CI_JOB_NAME": "build", "CI_JOB_STAGE": "test",
		"CI_JOB_URL": "https://gitlab.example.com/" + project + "/-/jobs/" + jobID, "CI_JOB_TOKEN": token,
		"CI_COMMIT_SHA": commit, "CI_COMMIT_SHORT_SHA": commit[:8], "CI_COMMIT_BRANCH": "main",
		"CI_COMMIT_REF_NAME": "main", "CI_COMMIT_REF_SLUG": "main", "CI_DEFAULT_BRANCH": "main",
		"CI_REGISTRY": reg.Addr, "CI_REGISTRY_IMAGE": reg.Repo(project),
		"CI_REGISTRY_USER": user, "CI_REGISTRY_PASSWORD": token,
		"CI_DEPENDENCY_PROXY_SERVER": "gitlab.example.com:443", "CI_DEPENDENCY_PROXY_USER": user,
		"CI_DEPENDENCY_PROXY_PASSWORD": token, "CI_DEPENDENCY_PROXY_GROUP_IMAGE_PREFIX": "gitlab.example.com:443/group/dependency_proxy/containers",
		"GITLAB_USER_LOGIN": user,
	}
}

// runGitLabJob runs job in bash on the machine env, in dir, with the
// pipeline's and the job's variables over vars.
func runGitLabJob(h *harness.H, env *harness.Env, p *gitlabPipeline, job gitlabJobDef, dir string, vars map[string]string) gitlabJobRun {
	h.T.Helper()
	all := map[string]string{}
	for _, m := range []map[string]string{vars, p.variables, job.Variables} {
		for k, v := range m {
			all[k] = v
		}
	}
	kv := make([]string, 0, 2*len(all))
	for k, v := range all {
		kv = append(kv, k, v)
	}
	jobEnv := env.With(kv...)
	shell := func(script string, env *harness.Env) *icmd.Result {
		cmd := env.Cmd("bash", "-c", script)
		cmd.Dir = dir
		cmd.Timeout = 3 * time.Minute
		return h.RunCmd(cmd)
	}
	main := shell(gitlabShellScript(job.BeforeScript, job.Script), jobEnv)
	status := "success"
	if main.ExitCode != 0 {
		status = "failed"
	}
	after := shell(gitlabShellScript(job.AfterScript), jobEnv.With("CI_JOB_STATUS", status))
	return gitlabJobRun{main: main, after: after}
}

// TestGitLabTemplateJobs: two build jobs of two projects at once on one
// shell runner (one HOME, one ~/.docker), each with its own registry login,
// extend the template's .docker-werf: ci-env, docker login, a FROM scratch
// build and push through the helper; neither sees the other's login, and
// after_script leaves nothing. Then a scheduled pipeline runs the template's
// docker-werf-cleanup.
func TestGitLabTemplateJobs(t *testing.T) {
	harness.RequireEngine(t)
	h := harness.New(t)
	// One registry user per job stands for GitLab's gitlab-ci-token with a
	// token per job, which htpasswd cannot have.
	tokens, reg := twoUsers(t, h)
	m := newRunnerMachine(t, h)
	tmp := m.env.TmpDir
	ci := runnerFile(t, "gitlab", "gitlab-ci.yml")

	type job struct {
		dir, commit string
		vars        map[string]string
		pipeline    *gitlabPipeline
	}
	jobs := map[string]*job{}
	for i, user := range []string{"alice", "bob"} {
		dir, commit := newProject(t, m.env, map[string]string{".gitlab-ci.yml": ci})
		vars := gitlabJobVars(reg, "group/"+user+"-app", dir, commit, fmt.Sprint(101+i), user, tokens[user])
		vars["SYNC_DIR"], vars["JOBS"] = m.syncDir, "2"
		jobs[user] = &job{dir: dir, commit: commit, vars: vars, pipeline: loadGitLabPipeline(t, dir)}
	}
	build := jobs["alice"].pipeline.job(t, "build")
	runs := runBoth(func(_ int, user string) gitlabJobRun {
		j := jobs[user]
		return runGitLabJob(h, m.env, j.pipeline, build, j.dir, j.vars)
	})

	configs := map[string]string{}
	for user, j := range jobs {
		run := runs[user]
		out := run.output()
		if !assert.Check(t, run.main.ExitCode == 0 && run.after.ExitCode == 0, "%s's job:\n%s", user, out) {
			continue
		}
		cfg := assertOwnLoginOnly(t, out, reg, user)
		configs[user] = cfg
		assert.Check(t, strings.HasPrefix(cfg, tmp+"/"), "the private config %s is under the runner's TMPDIR", cfg)
		assert.Check(t, is.Contains(run.after.Stderr(), "Removed the job's docker config "+cfg))
		assertTags(t, user, tokens[user], j.vars["CI_REGISTRY_IMAGE"], j.commit, "main", "old-feature")
	}
	assert.Check(t, configs["alice"] != configs["bob"])
	m.assertUntouched(t)
	left, err := os.ReadDir(tmp)
	assert.NilError(t, err)
	assert.Check(t, is.Len(left, 0), "left in the runner's TMPDIR")

	// The scheduled pipeline of alice's project. WERF_REPO_CONTAINER_REGISTRY
	// (a project variable) makes the registry a plain one: GitLab's API,
	// which cleanup uses on a GitLab registry, is not here.
	alice := jobs["alice"]
	p := alice.pipeline
	cleanup := p.job(t, "docker-werf-cleanup")
	assert.Check(t, !cleanup.runs(t, alice.vars), "the cleanup job runs in a push pipeline")
	// WERF_CLEANUP_FORMAT and werf's WERF_OUTPUT_FORMAT ask for cleanup's
	// JSON report and leave ci-env's script alone.
	vars := map[string]string{"CI_PIPELINE_SOURCE": "schedule", "CI_JOB_ID": "201", "CI_JOB_NAME": "docker-werf-cleanup",
		"WERF_REPO_CONTAINER_REGISTRY": "default", "WERF_KEEP_YOUNGER_THAN": "0",
		"WERF_CLEANUP_FORMAT": "json", "WERF_OUTPUT_FORMAT": "json"}
	for k, v := range alice.vars {
		if _, ok := vars[k]; !ok {
			vars[k] = v
		}
	}
	assert.Assert(t, cleanup.runs(t, vars), "the cleanup job does not run in a scheduled pipeline")
	assert.Check(t, is.Equal(cleanup.Variables["GIT_DEPTH"], "0"), "cleanup reads the whole history")
	run := runGitLabJob(h, m.env, p, cleanup, alice.dir, vars)
	out := run.output()
	assert.Check(t, run.main.ExitCode == 0 && run.after.ExitCode == 0, "the cleanup job:\n%s", out)
	assert.Check(t, is.Contains(run.main.Stdout(), "\n{"), "cleanup's report is JSON:\n%s", out)
	assert.Check(t, is.Equal(strings.Count(out, "tags that Kubernetes runs are not protected"), 1),
		"the template's comment promises one notice that clusters are not protected:\n%s", out)
	assertTags(t, "alice", tokens["alice"], alice.vars["CI_REGISTRY_IMAGE"], alice.commit, "main")
	m.assertUntouched(t)
}

// TestGitLabTemplateCIEnvFails: a job whose ci-env fails stops in
// before_script, with the reason in the log; its script does not run, and
// after_script does.
func TestGitLabTemplateCIEnvFails(t *testing.T) {
	h := harness.New(t)
	token := h.RandomSecret("job-token-")
	h.Credential("gitlab-ci-token", token)
	reg := harness.StartRegistry(t, harness.Registry3, map[string]string{"gitlab-ci-token": token})
	m := newRunnerMachine(t, h)
	dir, commit := newProject(t, m.env, map[string]string{".gitlab-ci.yml": runnerFile(t, "gitlab", "gitlab-ci.yml")})
	vars := gitlabJobVars(reg, "group/app", dir, commit, "301", "gitlab-ci-token", token)
	vars["CI_COMMIT_SHA"] = "HEAD"
	p := loadGitLabPipeline(t, dir)
	run := runGitLabJob(h, m.env, p, p.job(t, "build"), dir, vars)
	out := run.output()
	assertCIEnvFailed(t, run.main.ExitCode, out, `CI_COMMIT_SHA is "HEAD", not a commit SHA`, "$ printf '%s\\n' \"$CI_REGISTRY_PASSWORD\"")
	assert.Check(t, is.Contains(run.after.Stdout(), "$ docker werf ci-env --cleanup"), "after_script ran")
	m.assertUntouched(t)
}
