package e2e

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"
	"gotest.tools/v3/icmd"

	"github.com/docker-werf/docker-werf/e2e/harness"
	"github.com/docker-werf/docker-werf/internal/gitrepo/gittest"
)

// TestCleanupKeepPolicies: werf's keepPolicies walked over the generated git
// history keep the newest image of each branch and delete the rest.
func TestCleanupKeepPolicies(t *testing.T) {
	for _, version := range harness.RegistryVersions {
		t.Run(version, func(t *testing.T) {
			h := harness.New(t)
			reg, p, pass := startCIRegistry(t, h, version, "kp-")
			fx := gittest.New(t)
			repo := reg.Repo("shop/app")
			old := time.Now().Add(-72 * time.Hour)
			for _, c := range []string{"c1", "c2", "c4", "b2"} {
				p.Push(repo+":build-"+c, p.Image(old, map[string]string{revisionLabel: fx.C[c]}))
			}
			policy := filepath.Join(t.TempDir(), "policy.yaml")
			assert.NilError(t, os.WriteFile(policy, []byte("keepPolicies:\n- references:\n    branch: /.*/\n  imagesPerReference:\n    last: 1\n"), 0o600))

			env := harness.NewEnv(t).Set("WERF_REGISTRY_USERNAME", "ci").Set("WERF_REGISTRY_PASSWORD", pass)
			report := filepath.Join(env.Root, "report.json")
			h.Plugin(env, "cleanup", "--repo", repo, "--git-dir", fx.Dir, "--git-refs=false", "--policy", policy,
				"--report", report).Assert(t, icmd.Success)

			assert.Check(t, is.DeepEqual(sorted(p.Tags(repo)), []string{"build-b2", "build-c4"}))
			reasons := map[string]string{}
			for _, tr := range readReport(t, report).Tags {
				reasons[tr.Tag] = tr.Reason
			}
			assert.Check(t, is.DeepEqual(reasons, map[string]string{
				"build-b2": "keep-policy", "build-c4": "keep-policy", "build-c1": "no-policy", "build-c2": "no-policy",
			}))
		})
	}
}

// TestCleanupTagRules: without git, --tag-filter and --keep-last keep the
// newest matching tags and leave the others alone.
func TestCleanupTagRules(t *testing.T) {
	for _, version := range harness.RegistryVersions {
		t.Run(version, func(t *testing.T) {
			h := harness.New(t)
			reg, p, pass := startCIRegistry(t, h, version, "tr-")
			repo := reg.Repo("nightly/app")
			for i, tag := range []string{"nightly-1", "nightly-2", "nightly-3", "nightly-4", "nightly-5"} {
				p.Push(repo+":"+tag, p.Image(time.Now().Add(-time.Duration(100-i)*time.Hour), nil))
			}
			p.Push(repo+":release", p.Image(time.Now().Add(-200*time.Hour), nil))

			env := harness.NewEnv(t).Set("WERF_REGISTRY_USERNAME", "ci").Set("WERF_REGISTRY_PASSWORD", pass)
			cmd := env.Cmd(env.Bins.Plugin, "werf", "cleanup", "--repo", repo, "--tag-filter", "nightly-.*", "--keep-last", "2",
				"--format", "json")
			cmd.Dir = env.Root // not a git repository: only the tag rules apply
			res := h.RunCmd(cmd)
			res.Assert(t, icmd.Expected{Err: "no git repository here"})
			assert.Check(t, is.DeepEqual(sorted(p.Tags(repo)), []string{"nightly-4", "nightly-5", "release"}))
			assert.Check(t, is.Contains(res.Stdout(), `"reason": "filtered-out"`))
			assert.Check(t, is.Contains(res.Stdout(), `"reason": "keep-last"`))
		})
	}
}
