package e2e

import (
	"strings"
	"testing"

	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"
	"gotest.tools/v3/icmd"

	"github.com/docker-werf/docker-werf/e2e/harness"
)

// TestDemo is the main job, told step by step (`make demo` runs it with -v):
// two GitLab jobs on one shared runner, one HOME and one docker config. The
// first works with no docker login at all, the second logs in as another
// user, and neither sees the other's credentials nor leaves a secret in
// config.json.
func TestDemo(t *testing.T) {
	h := harness.New(t)
	botPass, devPass := h.RandomSecret("bot-"), h.RandomSecret("dev-")
	h.Credential("ci-bot", botPass)
	h.Credential("developer", devPass)
	reg := harness.StartRegistry(t, harness.Registry3, map[string]string{"ci-bot": botPass, "developer": devPass})
	t.Logf("a registry with TLS and two users runs at %s", reg.Addr)

	runner := harness.NewEnv(t)
	// icmd looks programs up in the test's own PATH, not the job's.
	programs := map[string]string{
		"docker-credential-werf": runner.Bins.Helper, "docker": harness.Tool(t, harness.ToolDocker),
		"crane": harness.Tool(t, harness.ToolCrane), "cat": "cat",
	}
	step := func(env *harness.Env, what string, args ...string) *icmd.Result {
		t.Helper()
		res := h.Run(env, programs[args[0]], args[1:]...)
		t.Logf("%s\n$ %s\n%s", what, strings.Join(args, " "), strings.TrimSpace(res.Combined()))
		res.Assert(t, icmd.Success)
		return res
	}
	step(runner, "once per runner: docker sends the CI registry to docker-credential-werf",
		"docker-credential-werf", "configure", "--registry", reg.Addr)

	jobA := runner.With("GITLAB_CI", "true", "CI_JOB_ID", "1001", "CI_REGISTRY", reg.Addr,
		"CI_REGISTRY_USER", "ci-bot", "CI_REGISTRY_PASSWORD", botPass)
	jobB := runner.With("GITLAB_CI", "true", "CI_JOB_ID", "1002", "CI_REGISTRY", reg.Addr,
		"CI_REGISTRY_USER", "ci-bot", "CI_REGISTRY_PASSWORD", botPass)

	info := step(jobA, "job 1001 has its credentials from the CI job itself, with no docker login",
		"docker", "werf", "registry", "info", reg.Repo("demo/app"))
	assert.Check(t, is.Contains(info.Stdout(), "authenticated as ci-bot"))

	cmd := jobB.Cmd(programs["docker"], "login", reg.Addr, "-u", "developer", "--password-stdin")
	login := h.RunCmd(cmd, icmd.WithStdin(strings.NewReader(devPass)))
	t.Logf("job 1002 logs in as another user, at the same time, on the same HOME\n$ docker login %s -u developer --password-stdin\n%s",
		reg.Addr, strings.TrimSpace(login.Combined()))
	login.Assert(t, icmd.Success)

	info = step(jobB, "job 1002 now works as developer", "docker", "werf", "registry", "info", reg.Repo("demo/app"))
	assert.Check(t, is.Contains(info.Stdout(), "authenticated as developer"))
	info = step(jobA, "job 1001 is still ci-bot", "docker", "werf", "registry", "info", reg.Repo("demo/app"))
	assert.Check(t, is.Contains(info.Stdout(), "authenticated as ci-bot"))

	h.PushRandomImage(jobA, reg.Repo("demo/app:v1"))
	tags := step(jobB, "images pushed by one job are there for the other", "crane", "ls", reg.Repo("demo/app"))
	assert.Check(t, is.Contains(tags.Stdout(), "v1"))

	step(jobB, "job 1002 logs out at its end", "docker", "logout", reg.Addr)
	info = step(jobA, "which does not log out job 1001", "docker", "werf", "registry", "info", reg.Repo("demo/app"))
	assert.Check(t, is.Contains(info.Stdout(), "authenticated as ci-bot"))

	h.AssertNoSecretInFile(runner.ConfigFile())
	step(runner, "and the shared config.json holds no secret", "cat", runner.ConfigFile())
}
