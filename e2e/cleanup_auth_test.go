package e2e

import (
	"testing"
	"time"

	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"
	"gotest.tools/v3/icmd"

	"github.com/docker-werf/docker-werf/e2e/harness"
)

// TestCleanupCredentials: in a GitLab job, cleanup logs in as werf-cleanup
// with WERF_IMAGES_CLEANUP_PASSWORD (the job token cannot delete); through
// docker --config it uses that config's login.
func TestCleanupCredentials(t *testing.T) {
	for _, version := range harness.RegistryVersions {
		t.Run(version, func(t *testing.T) {
			h := harness.New(t)
			cleanupPass, jobToken, pushPass := h.RandomSecret("cleanup-"), h.RandomSecret("job-"), h.RandomSecret("push-")
			h.Credential("werf-cleanup", cleanupPass)
			h.Credential("gitlab-ci-token", jobToken)
			h.Credential("pusher", pushPass)
			reg := harness.StartRegistry(t, version, map[string]string{"werf-cleanup": cleanupPass, "pusher": pushPass})
			p := harness.NewPusher(t, "pusher", pushPass)
			repo := reg.Repo("group/app")
			old := time.Now().Add(-72 * time.Hour)
			for _, tag := range []string{"a", "b", "c"} {
				p.Push(repo+":"+tag, p.Image(old, nil))
			}

			job := harness.NewEnv(t).With("GITLAB_CI", "true", "CI_JOB_ID", "77", "CI_REGISTRY", reg.Addr,
				"CI_JOB_TOKEN", jobToken, "WERF_IMAGES_CLEANUP_PASSWORD", cleanupPass)
			cmd := job.Cmd(job.Bins.Plugin, "werf", "cleanup", "--repo", repo, "--keep-tag", "a", "--tag-filter", "b", "--older-than", "1d")
			cmd.Dir = job.Root
			h.RunCmd(cmd).Assert(t, icmd.Success)
			assert.Check(t, is.DeepEqual(sorted(p.Tags(repo)), []string{"a", "c"}))

			// The same through a docker config that holds the pusher's login, given
			// to docker with --config only.
			env := harness.NewEnv(t).Unset("DOCKER_CONFIG")
			h.DockerLogin(env, reg.Addr, "pusher", pushPass).Assert(t, icmd.Success)
			cmd = env.Cmd(harness.Tool(t, harness.ToolDocker), "--config", env.DockerConfig, "werf", "cleanup", "--repo", repo,
				"--keep-tag", "a", "--tag-filter", "c", "--older-than", "1d")
			cmd.Dir = env.Root // no git repository: only the tag rules apply
			h.RunCmd(cmd).Assert(t, icmd.Success)
			assert.Check(t, is.DeepEqual(p.Tags(repo), []string{"a"}))
		})
	}
}

// TestPurge deletes every tag with --yes, and nothing without it when there
// is no terminal to ask on.
func TestPurge(t *testing.T) {
	for _, version := range harness.RegistryVersions {
		t.Run(version, func(t *testing.T) {
			h := harness.New(t)
			reg, p, pass := startCIRegistry(t, h, version, "purge-")
			repo := reg.Repo("old/app")
			img := p.Image(time.Now(), nil)
			p.Push(repo+":a", img)
			p.Tag(repo+":a", "b")
			p.Push(repo+":c", p.Image(time.Now(), nil))
			env := harness.NewEnv(t).Set("WERF_REGISTRY_USERNAME", "ci").Set("WERF_REGISTRY_PASSWORD", pass)

			h.Plugin(env, "purge", "--repo", repo).Assert(t, icmd.Expected{ExitCode: 1, Err: "confirm with --yes"})
			assert.Check(t, is.Len(p.Tags(repo), 3))
			h.Plugin(env, "purge", "--repo", repo, "--dry-run").Assert(t, icmd.Expected{Out: "would delete 3"})
			assert.Check(t, is.Len(p.Tags(repo), 3))
			h.Plugin(env, "purge", "--repo", repo, "--yes").Assert(t, icmd.Success)
			assert.Check(t, is.Len(p.Tags(repo), 0))
		})
	}
}
