package e2e

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"
	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"
	"gotest.tools/v3/icmd"

	"github.com/docker-werf/docker-werf/e2e/harness"
)

// The Woodpecker jobs run the shipped example pipeline (woodpecker/build.yaml)
// in Woodpecker's own CLI, `woodpecker-cli exec` with its local backend: it
// reads the file, substitutes ${NAME}, picks the steps by event, sets the
// CI_* variables and runs each step's commands in one shell, with the run's
// own HOME. What a run on this machine cannot have is changed, and only
// that: the step's image becomes the shell (the local backend runs `image
// -c script`), a first command copies the project in (exec skips the clone),
// the from_secret values come from the agent's environment (exec has no
// secret store), and the test's probes follow the example's commands.

const toolWoodpecker = "woodpecker-cli"

// woodpeckerPipeline returns the shipped example, changed as described
// above: env gives the values of the steps' environment entries (each entry
// must have one, or be a from_secret entry, so that a variable added to the
// example is noticed), probes the commands after a step's own.
func woodpeckerPipeline(t *testing.T, env map[string]string, probes map[string][]string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(harness.ModuleRoot(t), "woodpecker", "build.yaml"))
	assert.NilError(t, err)
	var doc yaml.Node
	assert.NilError(t, yaml.Unmarshal(b, &doc))
	stepsNode := yamlValue(t, doc.Content[0], "steps")
	for i := 0; i+1 < len(stepsNode.Content); i += 2 {
		name, step := stepsNode.Content[i].Value, stepsNode.Content[i+1]
		yamlValue(t, step, "image").SetString("sh")
		entries := yamlValue(t, step, "environment")
		kept := entries.Content[:0]
		for j := 0; j+1 < len(entries.Content); j += 2 {
			key, val := entries.Content[j], entries.Content[j+1]
			if val.Kind == yaml.MappingNode {
				assert.Assert(t, yamlValue(t, val, "from_secret") != nil, "step %s: %s", name, key.Value)
				continue // from the agent's environment
			}
			v, ok := env[key.Value]
			assert.Assert(t, ok, "step %s of the example sets %s, which the test does not give a value", name, key.Value)
			val.SetString(v)
			kept = append(kept, key, val)
		}
		entries.Content = kept
		cmds := yamlValue(t, step, "commands")
		var list []string
		assert.NilError(t, cmds.Decode(&list))
		list = append(append([]string{`cp -R "$PROJECT_DIR/." .`}, list...), probes[name]...)
		assert.NilError(t, cmds.Encode(list))
	}
	out, err := yaml.Marshal(&doc)
	assert.NilError(t, err)
	return string(out)
}

func yamlValue(t *testing.T, m *yaml.Node, key string) *yaml.Node {
	t.Helper()
	assert.Assert(t, m.Kind == yaml.MappingNode, "not a mapping: line %d", m.Line)
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			return m.Content[i+1]
		}
	}
	t.Fatalf("no %q at line %d", key, m.Line)
	return nil
}

// woodpeckerAgent is a machine running Woodpecker's local backend: the
// runner's docker config given to every run as DOCKER_CONFIG (so that docker
// finds the plugin although each run has its own HOME), one credential store
// and one temp dir for all runs.
type woodpeckerAgent struct {
	*runnerMachine
	tmp   string // TMPDIR: Woodpecker's run dirs and the jobs' configs
	store string // WERF_CREDENTIALS_DIR
}

func newWoodpeckerAgent(t *testing.T, h *harness.H) *woodpeckerAgent {
	m := newRunnerMachine(t, h)
	a := &woodpeckerAgent{runnerMachine: m, tmp: m.env.TmpDir, store: m.env.CredentialsDir}
	m.env.Set("DOCKER_CONFIG", filepath.Dir(m.configFile)).Set("WERF_CREDENTIALS_DIR", a.store)
	return a
}

// run runs one pipeline of the acme/app repository: its number, event and
// the commit of the project's main branch (none: CI_COMMIT_SHA is empty, as
// in a local run); env adds to the agent's environment (the secrets among it).
func (a *woodpeckerAgent) run(h *harness.H, project, commit, pipeline string, number int, event string, env ...string) *icmd.Result {
	h.T.Helper()
	file := filepath.Join(h.T.TempDir(), "build.yaml")
	assert.NilError(h.T, os.WriteFile(file, []byte(pipeline), 0o600))
	args := []string{"exec", "--backend-engine", "local", "--repo", "acme/app", "--repo-link", "https://git.example.com/acme/app",
		"--pipeline-number", strconv.Itoa(number), "--pipeline-event", event, "--commit-branch", "main", "--commit-ref", "refs/heads/main"}
	if commit != "" {
		args = append(args, "--commit-sha", commit)
	}
	cmd := a.env.With(env...).Cmd(harness.Tool(h.T, toolWoodpecker), append(args, file)...)
	cmd.Dir = project
	cmd.Timeout = 5 * time.Minute
	return h.RunCmd(cmd)
}

// assertClean checks what every run must leave: the runner's config as it
// was, no credentials, no job config and no run dir of Woodpecker.
func (a *woodpeckerAgent) assertClean(t *testing.T) {
	t.Helper()
	a.assertUntouched(t)
	for _, dir := range []string{a.store, a.tmp} {
		left, err := os.ReadDir(dir)
		assert.NilError(t, err)
		assert.Check(t, is.Len(left, 0), "left in %s", dir)
	}
}

// woodpeckerProbes follow the example's build commands: one more tag for
// the cleanup to delete, then what the job sees, once alone and once when
// every job of the test has come as far.
var woodpeckerProbes = []string{
	`docker tag "$WERF_REPO:$CI_COMMIT_SHA" "$WERF_REPO:old-feature"`,
	`docker push -q "$WERF_REPO:old-feature"`,
	`for tag in "$CI_COMMIT_SHA" main old-feature; do docker rmi -f "$WERF_REPO:$tag" >/dev/null; done`,
	// printf, not echo "key: ...": Woodpecker prints each command before
	// running it, and only the result may read "key: ".
	`printf '%s: %s\n' job-config "$DOCKER_CONFIG"`,
	`printf '%s: %s\n' job-store "$(docker-credential-werf list)"`,
	`docker werf registry info "$WERF_REPO"`,
	`touch "$SYNC_DIR/$REGISTRY_USER"`,
	`for i in $(seq 600); do [ "$(ls "$SYNC_DIR" | wc -l)" -ge "$JOBS" ] && break; sleep 0.1; done`,
	`printf '%s: %s\n' job-store-after-both "$(docker-credential-werf list)"`,
}

// TestWoodpeckerJobs: two pipelines at once on one agent, of two users
// with different logins to one registry, run the example's build step:
// ci-env, docker login, a FROM scratch build and push through the helper,
// the cleanup on exit. Neither sees the other's login; then a cron pipeline
// runs the example's cleanup step. Nothing is left on the agent.
func TestWoodpeckerJobs(t *testing.T) {
	harness.RequireEngine(t)
	harness.Tool(t, toolWoodpecker)
	h := harness.New(t)
	users, reg := twoUsers(t, h)
	a := newWoodpeckerAgent(t, h)
	project, commit := newProject(t, a.env, nil)
	repo := func(user string) string { return reg.Repo("acme/" + user) }
	pipeline := func(user string) string {
		return woodpeckerPipeline(t, map[string]string{
			"WERF_REPO": repo(user), "REGISTRY_USER": user, "WERF_REGISTRY_USERNAME": user,
		}, map[string][]string{"build": woodpeckerProbes})
	}

	results := runBoth(func(i int, user string) *icmd.Result {
		return a.run(h, project, commit, pipeline(user), 10+i, "push",
			"REGISTRY_PASSWORD", users[user], "PROJECT_DIR", project, "SYNC_DIR", a.syncDir, "JOBS", "2")
	})

	configs := map[string]string{}
	for user, res := range results {
		out := res.Combined()
		if !assert.Check(t, res.ExitCode == 0, "%s's pipeline:\n%s", user, out) {
			continue
		}
		assert.Check(t, !strings.Contains(out, "[cleanup:"), "the cron step ran on push:\n%s", out)
		cfg := assertOwnLoginOnly(t, out, reg, user)
		configs[user] = cfg
		assert.Check(t, strings.HasPrefix(cfg, a.tmp+"/"), "the private config %s is under the agent's TMPDIR", cfg)
		assertTags(t, user, users[user], repo(user), commit, "main", "old-feature")
	}
	assert.Check(t, configs["alice"] != configs["bob"])
	a.assertClean(t)

	// The scheduled cleanup: a cron pipeline runs only the cleanup step,
	// which logs in through ci-env's WERF_REGISTRY_* and keeps the tags of
	// main and of its commit. Run without a commit SHA, as a local run is,
	// ci-env warns and goes on.
	res := a.run(h, project, "", pipeline("alice"), 12, "cron",
		"WERF_REGISTRY_PASSWORD", users["alice"], "PROJECT_DIR", project, "WERF_KEEP_YOUNGER_THAN", "0")
	out := res.Combined()
	assert.Check(t, res.ExitCode == 0, "the cron pipeline:\n%s", out)
	assert.Check(t, !strings.Contains(out, "[build:"), "the build step ran on cron:\n%s", out)
	assert.Check(t, is.Contains(out, "Warning: woodpecker: CI_COMMIT_SHA is not set"), "ci-env warns of the missing commit:\n%s", out)
	assert.Check(t, is.Equal(strings.Count(out, "tags that Kubernetes runs are not protected"), 1),
		"the example's comment promises one notice that clusters are not protected:\n%s", out)
	assertTags(t, "alice", users["alice"], repo("alice"), commit, "main")
	a.assertClean(t)
}

// TestWoodpeckerCIEnvFails: a step whose ci-env fails stops there, with the
// reason in the log, and the pipeline fails.
func TestWoodpeckerCIEnvFails(t *testing.T) {
	harness.RequireEngine(t)
	harness.Tool(t, toolWoodpecker)
	h := harness.New(t)
	a := newWoodpeckerAgent(t, h)
	project, commit := newProject(t, a.env, nil)
	pipeline := woodpeckerPipeline(t, map[string]string{
		"WERF_REPO": "Not/A/Repository:tag@x", "REGISTRY_USER": "ci", "WERF_REGISTRY_USERNAME": "ci"}, nil)
	res := a.run(h, project, commit, pipeline, 1, "push", "REGISTRY_PASSWORD", "unused", "PROJECT_DIR", project)
	out := res.Combined()
	assertCIEnvFailed(t, res.ExitCode, out, `invalid repository "Not/A/Repository:tag@x"`, "+ trap", "+ printf", "+ docker build")
	a.assertUntouched(t)
	left, err := os.ReadDir(a.store)
	assert.NilError(t, err)
	assert.Check(t, is.Len(left, 0), "a failed ci-env left credentials")
	// Woodpecker leaves a failed run's dir (and HOME) behind; ci-env made
	// no config in the agent's TMPDIR.
	left, err = os.ReadDir(a.tmp)
	assert.NilError(t, err)
	for _, e := range left {
		assert.Check(t, strings.HasPrefix(e.Name(), "woodpecker-local-"), "left in TMPDIR: %s", e.Name())
	}
}
