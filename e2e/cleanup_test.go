package e2e

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"
	"gotest.tools/v3/icmd"

	"github.com/docker-werf/docker-werf/e2e/harness"
	"github.com/docker-werf/docker-werf/internal/ci"
	"github.com/docker-werf/docker-werf/internal/gitrepo/gittest"
)

const revisionLabel = "org.opencontainers.image.revision"

type wantTag struct {
	Keep   bool
	Reason string
}

// cleanupScene is a repository pushed for the generated git repository of
// gittest.New, with what the git-reference policies must decide for it.
type cleanupScene struct {
	reg    *harness.Registry
	repo   string
	pusher *harness.Pusher
	want   map[string]wantTag
	// digests that must survive although every tag on them is deleted:
	// the children of a kept index.
	mustExist []string
	gitDir    string
	password  string
}

// startCIRegistry starts a registry of version whose one user, ci, has a
// fresh password that h scans every output for, and a Pusher logged in as ci.
func startCIRegistry(t *testing.T, h *harness.H, version, secretPrefix string) (*harness.Registry, *harness.Pusher, string) {
	t.Helper()
	pass := h.RandomSecret(secretPrefix)
	h.Credential("ci", pass)
	return harness.StartRegistry(t, version, map[string]string{"ci": pass}), harness.NewPusher(t, "ci", pass), pass
}

func newCleanupScene(t *testing.T, h *harness.H, version string) *cleanupScene {
	reg, pusher, pass := startCIRegistry(t, h, version, "cleanup-")
	fx := gittest.New(t)
	s := &cleanupScene{reg: reg, repo: reg.Repo("shop/app"), pusher: pusher,
		want: map[string]wantTag{}, gitDir: fx.Dir, password: pass}
	old := time.Now().Add(-72 * time.Hour)
	push := func(tag, commit string, created time.Time, want wantTag) string {
		d := s.pusher.Push(s.repo+":"+tag, s.pusher.Image(created, map[string]string{revisionLabel: commit}))
		s.want[tag] = want
		return d
	}
	mainDigest := push("main", fx.C["c4"], old, wantTag{true, "protected"})
	s.pusher.Tag(s.repo+":main", "feature-a") // shares main's digest; its branch is gone
	s.want["feature-a"] = wantTag{false, "git-branch-gone"}
	push("feature-b", fx.C["b2"], old, wantTag{true, "git-branch"})
	deadDigest := push("dead", fx.C["c3"], old, wantTag{false, "git-branch-gone"})
	push(ci.Slug("feature/x_y"), fx.C["f1"], old, wantTag{true, "git-branch"})
	push("release-1", fx.C["r1"], old, wantTag{true, "git-branch"})
	push("v1.0.4", fx.C["c4"], old, wantTag{true, "git-tag"})
	push("v0.9.0", fx.C["c1"], old, wantTag{false, "git-tag-gone"})
	push(fx.C["c4"], fx.C["c4"], old, wantTag{true, "git-commit"})
	push(fx.C["d1"], fx.C["d1"], old, wantTag{false, "commit-gone"})
	push("fresh-build", fx.C["d1"], time.Now(), wantTag{true, "young"})

	amd := s.pusher.Image(old, map[string]string{revisionLabel: fx.C["c3"]})
	arm := s.pusher.Image(old, map[string]string{revisionLabel: fx.C["c3"]})
	s.pusher.Index(s.repo+":v1.0.3", amd, arm)
	s.want["v1.0.3"] = wantTag{true, "git-tag"}
	s.want["v1.0.3-amd64"] = wantTag{false, "git-tag-gone"}
	s.want["v1.0.3-arm64"] = wantTag{false, "git-tag-gone"}
	s.mustExist = append(s.mustExist, s.pusher.Push(s.repo+":v1.0.3-amd64", amd), s.pusher.Push(s.repo+":v1.0.3-arm64", arm))

	sig := func(subject string) string { return "sha256-" + strings.TrimPrefix(subject, "sha256:") + ".sig" }
	push(sig(mainDigest), "", old, wantTag{true, "referrer-of-kept"})
	push(sig(deadDigest), "", old, wantTag{false, "referrer-of-deleted"})
	s.mustExist = append(s.mustExist, mainDigest)
	return s
}

func (s *cleanupScene) env(t *testing.T) *harness.Env {
	return harness.NewEnv(t).Set("WERF_REGISTRY_USERNAME", "ci").Set("WERF_REGISTRY_PASSWORD", s.password)
}

type cleanupReport struct {
	Summary struct {
		Deleted, Failed, Skipped int
	}
	Tags []struct {
		Tag, Reason, Outcome string
		Keep                 bool
	}
}

func readReport(t *testing.T, path string) cleanupReport {
	t.Helper()
	data, err := os.ReadFile(path)
	assert.NilError(t, err)
	var r cleanupReport
	assert.NilError(t, json.Unmarshal(data, &r))
	return r
}

func (s *cleanupScene) survivors() []string {
	var keep []string
	for tag, w := range s.want {
		if w.Keep {
			keep = append(keep, tag)
		}
	}
	slices.Sort(keep)
	return keep
}

func sorted(tags []string) []string {
	slices.Sort(tags)
	return tags
}

// TestCleanupGitReferences: the git-reference policies and the safety rules
// on a repository pushed for a generated git history, on both registry
// versions: exactly the expected survivors, the right reason for each tag in
// the report, a shared digest and a kept index's children that survive.
func TestCleanupGitReferences(t *testing.T) {
	for _, version := range harness.RegistryVersions {
		t.Run(version, func(t *testing.T) {
			h := harness.New(t)
			s := newCleanupScene(t, h, version)
			env := s.env(t)
			report := filepath.Join(env.Root, "report.json")
			res := h.Plugin(env, "cleanup", "--repo", s.repo, "--git-dir", s.gitDir, "--no-keep-policies", "--report", report)
			res.Assert(t, icmd.Success)

			assert.Check(t, is.DeepEqual(sorted(s.pusher.Tags(s.repo)), s.survivors()))
			got := map[string]wantTag{}
			for _, tr := range readReport(t, report).Tags {
				got[tr.Tag] = wantTag{tr.Keep, tr.Reason}
			}
			assert.Check(t, is.DeepEqual(got, s.want))
			for _, d := range s.mustExist {
				assert.Check(t, s.pusher.Exists(s.repo+"@"+d), "manifest %s is gone", d)
			}

			again := h.Plugin(env, "cleanup", "--repo", s.repo, "--git-dir", s.gitDir, "--no-keep-policies", "--format", "json")
			again.Assert(t, icmd.Success)
			var second cleanupReport
			assert.NilError(t, json.Unmarshal([]byte(again.Stdout()), &second))
			assert.Check(t, is.Equal(second.Summary.Deleted, 0), "a second full run must delete nothing")
		})
	}
}
