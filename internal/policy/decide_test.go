package policy_test

import (
	"fmt"
	"regexp"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"

	"github.com/docker-werf/docker-werf/internal/ci"
	"github.com/docker-werf/docker-werf/internal/gitrepo"
	"github.com/docker-werf/docker-werf/internal/gitrepo/gittest"
	"github.com/docker-werf/docker-werf/internal/policy"
)

var (
	fxOnce sync.Once
	fx     *gittest.Fixture
	fxRepo *gitrepo.Repo
)

// fixture builds the shared repository once per test binary.
func fixture(t *testing.T) (*gittest.Fixture, *gitrepo.Repo) {
	t.Helper()
	fxOnce.Do(func() {
		fx = gittest.New(sharedT{t})
		r, err := gitrepo.Open(fx.Dir)
		assert.NilError(t, err)
		fxRepo = r
	})
	if fxRepo == nil {
		t.Fatal("fixture failed")
	}
	return fx, fxRepo
}

// sharedT hands the fixture a temporary directory that outlives the test
// that happened to build it; TestMain removes it.
type sharedT struct{ *testing.T }

func (s sharedT) TempDir() string { return sharedDir() }

var now = gittest.Day(20)

func digest(s string) string {
	h := fmt.Sprintf("%x", s)
	for len(h) < 64 {
		h += "0"
	}
	return "sha256:" + h[:64]
}

func img(tag string, created time.Time, commit string) policy.TagInfo {
	return policy.TagInfo{Tag: tag, Digest: digest(tag), Created: created, Commit: commit}
}

// reasons renders decisions as "tag reason" lines, "-" prefixed when
// deleted, after checking each decision's Keep against its reason.
func reasons(t *testing.T, ds []policy.Decision) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, d := range ds {
		keep, known := policy.Reasons[d.Reason]
		assert.Check(t, known, "unknown reason %q for %s", d.Reason, d.Tag)
		assert.Check(t, is.Equal(d.Keep, keep), "tag %s reason %s", d.Tag, d.Reason)
		assert.Check(t, d.Detail != "", "tag %s: empty detail", d.Tag)
		r := d.Reason
		if !d.Keep {
			r = "-" + r
		}
		out[d.Tag] = r
	}
	return out
}

func baseConfig() policy.Config {
	c := policy.DefaultConfig()
	c.KeepYoungerThan = 0
	return c
}

func TestGitRefs(t *testing.T) {
	fx, repo := fixture(t)
	c := fx.C
	d10 := gittest.Day(10)
	slugXY := ci.Slug("feature/x_y")
	assert.Check(t, slugXY != "feature/x_y")
	tags := []policy.TagInfo{
		img("latest", d10, ""),
		img("main", d10, ""),
		img("feature-b", d10, ""),
		img(slugXY, d10, ""),
		img("release-1", d10, ""),
		img("feature-a", d10, c["a2"]),
		img("dead", d10, ""),
		img("v1.0.0", d10, ""),
		img("v1.0.3", d10, ""),
		img("v1.0.5", d10, ""),
		img("v0.9.0", d10, ""),
		img(c["c1"], d10, ""),
		img(c["b1"][:7], d10, ""),
		img(c["d1"], d10, ""),
		img(c["d2"][:9], d10, ""),
		img("build-7", d10, c["d1"]),
		img("1234567", d10, ""),
		img("young-one", now.Add(-time.Hour), ""),
		{Tag: "sha256-" + strings.TrimPrefix(digest("feature-b"), "sha256:") + ".sig", Created: d10},
		{Tag: "sha256-" + strings.TrimPrefix(digest("feature-a"), "sha256:") + ".sig", Created: d10},
		{Tag: "sha256-" + strings.TrimPrefix(digest("nothing"), "sha256:") + ".att", Created: d10},
	}
	cfg := policy.DefaultConfig()
	cfg.GitRefs = true
	cfg.DisableKeepPolicies = true
	got, err := policy.Decide(tags, repo, cfg, now)
	assert.NilError(t, err)
	assert.DeepEqual(t, reasons(t, got), map[string]string{
		"latest":    "protected",
		"main":      "protected",
		"feature-b": "git-branch",
		slugXY:      "git-branch",
		"release-1": "git-branch",
		"feature-a": "-git-branch-gone",
		"dead":      "-git-branch-gone",
		"v1.0.0":    "git-tag",
		"v1.0.3":    "git-tag",
		"v1.0.5":    "git-tag",
		"v0.9.0":    "-git-tag-gone",
		c["c1"]:     "git-commit",
		c["b1"][:7]: "git-commit",
		c["d1"]:     "-commit-gone",
		c["d2"][:9]: "-commit-gone",
		"build-7":   "-commit-gone",
		"1234567":   "-git-branch-gone",
		"young-one": "young",
		"sha256-" + strings.TrimPrefix(digest("feature-b"), "sha256:") + ".sig": "referrer-of-kept",
		"sha256-" + strings.TrimPrefix(digest("feature-a"), "sha256:") + ".sig": "-referrer-of-deleted",
		"sha256-" + strings.TrimPrefix(digest("nothing"), "sha256:") + ".att":   "referrer-unknown-subject",
	})
	// Sorted by tag, one per tag.
	assert.Check(t, sort.SliceIsSorted(got, func(i, j int) bool { return got[i].Tag < got[j].Tag }))
	assert.Check(t, is.Len(got, len(tags)))

	details := map[string]string{}
	for _, d := range got {
		details[d.Tag] = d.Detail
	}
	assert.Check(t, is.Equal(details["main"], "matches --protected main"))
	assert.Check(t, is.Equal(details["release-1"], "branch release-1 exists (origin/release-1 at "+c["r1"][:7]+")"))
	assert.Check(t, is.Equal(details["feature-a"], `no branch or git tag has the slug "feature-a" (deleted branch)`))
	assert.Check(t, is.Equal(details["v0.9.0"], `no git tag or branch has the slug "v0.9.0" (deleted git tag)`))
	assert.Check(t, is.Equal(details[c["d1"]], "commit "+c["d1"][:7]+" is on no branch or tag"))
	assert.Check(t, is.Equal(details["young-one"], "created 1h ago, within --keep-younger-than 2h"))

	t.Run("main unprotected", func(t *testing.T) {
		cfg := cfg
		cfg.Protected = nil
		got, err := policy.Decide([]policy.TagInfo{img("main", d10, ""), img("latest", d10, "")}, repo, cfg, now)
		assert.NilError(t, err)
		assert.DeepEqual(t, reasons(t, got), map[string]string{"main": "git-branch", "latest": "-git-branch-gone"})
	})
}

func TestGitStrategyLimits(t *testing.T) {
	fx, repo := fixture(t)
	c := fx.C
	day := gittest.Day
	tags := []policy.TagInfo{
		img("v1.0.0", day(1), ""),
		img("v1.0.1", day(5), ""),
		img("v1.0.2", day(12), ""),
		img("v1.0.3", day(13), ""),
		img("v1.0.4", day(14), ""),
		img("v1.0.5", day(15), ""),
		img(c["c1"], day(18), ""),
		img(c["b1"][:7], day(17), ""),
		img(c["c2"], day(2), ""),
		img(c["c3"], time.Time{}, ""),
	}
	tests := []struct {
		name string
		mod  func(*policy.Config)
		want map[string]string
	}{
		{
			name: "no limits",
			mod:  func(*policy.Config) {},
			want: map[string]string{
				"v1.0.0": "git-tag", "v1.0.1": "git-tag", "v1.0.2": "git-tag", "v1.0.3": "git-tag", "v1.0.4": "git-tag", "v1.0.5": "git-tag",
				c["c1"]: "git-commit", c["b1"][:7]: "git-commit", c["c2"]: "git-commit", c["c3"]: "git-commit",
			},
		},
		{
			name: "expiry then limit",
			mod: func(c *policy.Config) {
				c.GitTagStrategyLimit, c.GitTagStrategyExpiryDays = 2, 10
				c.GitCommitStrategyLimit, c.GitCommitStrategyExpiryDays = 1, 10
			},
			want: map[string]string{
				"v1.0.0": "-git-tag-expired", "v1.0.1": "-git-tag-expired",
				"v1.0.2": "-git-tag-limit", "v1.0.3": "-git-tag-limit", "v1.0.4": "git-tag", "v1.0.5": "git-tag",
				c["c1"]: "git-commit", c["b1"][:7]: "-git-commit-limit", c["c2"]: "-git-commit-expired",
				c["c3"]: "-git-commit-limit", // unknown creation time: never expired, ranked oldest
			},
		},
		{
			name: "limit only",
			mod:  func(c *policy.Config) { c.GitTagStrategyLimit = 3 },
			want: map[string]string{
				"v1.0.0": "-git-tag-limit", "v1.0.1": "-git-tag-limit", "v1.0.2": "-git-tag-limit",
				"v1.0.3": "git-tag", "v1.0.4": "git-tag", "v1.0.5": "git-tag",
				c["c1"]: "git-commit", c["b1"][:7]: "git-commit", c["c2"]: "git-commit", c["c3"]: "git-commit",
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := baseConfig()
			cfg.GitRefs, cfg.DisableKeepPolicies = true, true
			tc.mod(&cfg)
			got, err := policy.Decide(tags, repo, cfg, now)
			assert.NilError(t, err)
			assert.DeepEqual(t, reasons(t, got), tc.want)
		})
	}
	cfg := baseConfig()
	cfg.GitRefs, cfg.DisableKeepPolicies = true, true
	cfg.GitTagStrategyLimit, cfg.GitTagStrategyExpiryDays = 2, 10
	got, err := policy.Decide(tags[:6], repo, cfg, now)
	assert.NilError(t, err)
	assert.Check(t, is.Equal(got[0].Detail, "git tag v1.0.0 exists, but the image was created 19d ago, beyond --git-tag-strategy-expiry-days 10"))
	assert.Check(t, is.Equal(got[2].Detail, "git tag v1.0.2 exists, but the image is the 4th newest of 4 git-tag images, beyond --git-tag-strategy-limit 2"))
	assert.Check(t, is.Equal(got[5].Detail, "git tag v1.0.5 exists (1st newest of 4 git-tag images, --git-tag-strategy-limit 2)"))
}

// commitImages returns one image per fixture commit, tagged img-<name>,
// labelled with the commit and created an hour after it, plus an image
// without a commit.
func commitImages(fx *gittest.Fixture) []policy.TagInfo {
	days := map[string]int{"c1": 1, "c2": 2, "a1": 3, "a2": 4, "m1": 5, "c3": 6, "b1": 7, "b2": 8, "d1": 9, "d2": 10,
		"c4": 11, "c5": 14, "r1": 15, "f1": 16}
	var out []policy.TagInfo
	for n, d := range days {
		out = append(out, img("img-"+n, gittest.Day(d).Add(time.Hour), fx.C[n]))
	}
	return append(out, img("nolabel", gittest.Day(3), ""))
}

func parsePolicies(t *testing.T, y string) []policy.KeepPolicy {
	t.Helper()
	ps, err := policy.ParsePolicies("p.yaml", []byte(y))
	assert.NilError(t, err)
	return ps
}

func TestKeepPolicies(t *testing.T) {
	fx, repo := fixture(t)
	images := commitImages(fx)
	gone := map[string]string{"img-d1": "-commit-gone", "img-d2": "-commit-gone", "nolabel": "unknown-commit"}
	want := func(kept ...string) map[string]string {
		out := map[string]string{}
		for _, ti := range images {
			if r, ok := gone[ti.Tag]; ok {
				out[ti.Tag] = r
			} else {
				out[ti.Tag] = "-no-policy"
			}
		}
		for _, k := range kept {
			out["img-"+k] = "keep-policy"
		}
		return out
	}
	tests := []struct {
		name     string
		policies string
		want     map[string]string
	}{
		{
			// Tags (last 10, depth 1): c1 c2 m1 c3 c4 b2. Branches active
			// within 168h of day 20 (main d14, release-1 d15,
			// feature/x_y d16), 2 images each from the last 168h: c5, r1,
			// f1. main (third policy): the last 2, c5 and c4.
			name: "werf defaults",
			want: want("c1", "c2", "m1", "c3", "c4", "b2", "c5", "r1", "f1"),
		},
		{
			name: "last, in, Or; last policy wins; tag regexp",
			policies: `
keepPolicies:
- references:
    branch: /.*/
  imagesPerReference:
    last: 1
- references:
    branch: main
  imagesPerReference:
    last: 3
    in: 240h
    operator: Or
- references:
    tag: /v1\.0\.[45]/
`,
			want: want("b2", "f1", "r1", "c5", "c4", "c3"),
		},
		{
			name: "in And last",
			policies: `
keepPolicies:
- references: {branch: main}
  imagesPerReference: {last: 3, in: 240h}
`,
			want: want("c5", "c4"),
		},
		{
			name: "in only",
			policies: `
keepPolicies:
- references: {branch: feature-b}
  imagesPerReference: {in: 2w}
`,
			want: want("b2", "b1"), // c3 (day 6) is exactly 14d old: not within
		},
		{
			name: "no imagesPerReference keeps the whole history",
			policies: `
keepPolicies:
- references: {branch: feature-b}
`,
			want: want("b2", "b1", "c3", "m1", "a2", "a1", "c2", "c1"),
		},
		{
			name: "last 0 overrides",
			policies: `
keepPolicies:
- references: {branch: /.*/}
  imagesPerReference: {last: 1}
- references: {branch: /feature.*/}
  imagesPerReference: {last: 0}
`,
			want: want("c5", "r1"),
		},
		{
			// Newest branch feature/x_y (d16); within 6d of day 20 (after
			// d14): feature/x_y, release-1 (main at d14 is not after).
			name: "references limit Or",
			policies: `
keepPolicies:
- references:
    branch: /.*/
    limit: {last: 1, in: 144h, operator: Or}
  imagesPerReference: {last: 1}
`,
			want: want("f1", "r1"),
		},
		{
			name: "references limit And",
			policies: `
keepPolicies:
- references:
    branch: /.*/
    limit: {last: 1, in: 144h, operator: And}
  imagesPerReference: {last: 1}
`,
			want: want("f1"),
		},
		{
			// Tag times: v1.0.5 tagger d13, v1.0.3 tagger d12, v1.0.4 commit d11.
			name: "tag limit by tagger date",
			policies: `
keepPolicies:
- references:
    tag: /.*/
    limit: {last: 2}
`,
			want: want("b2", "c3"),
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := baseConfig()
			if tc.policies != "" {
				cfg.KeepPolicies, cfg.PolicySource = parsePolicies(t, tc.policies), "p.yaml"
			}
			got, err := policy.Decide(images, repo, cfg, now)
			assert.NilError(t, err)
			assert.DeepEqual(t, reasons(t, got), tc.want)
		})
	}

	t.Run("details", func(t *testing.T) {
		cfg := baseConfig()
		got, err := policy.Decide(images, repo, cfg, now)
		assert.NilError(t, err)
		d := map[string]string{}
		for _, x := range got {
			d[x.Tag] = x.Detail
		}
		c := fx.C
		assert.Check(t, is.Equal(d["img-c4"], "branch main keeps commit "+c["c4"][:7]+" (2nd of 2 image commits kept, images last 2) by policy #3 branch /^(main|master|staging|production)$/ (werf default #3)"))
		assert.Check(t, is.Equal(d["img-b2"], "tag v1.0.5 keeps commit "+c["b2"][:7]+" (1st of 1 image commits kept, images no limit) by policy #1 tag /.*/ (werf default #1)"))
		assert.Check(t, is.Equal(d["img-a1"], "commit "+c["a1"][:7]+" is on a branch or tag, but no keep policy keeps its image (policies: werf defaults)"))
		assert.Check(t, is.Equal(d["nolabel"], "no commit is known (no revision label, and the tag is not a commit SHA), so the keep policies cannot place it in git history"))
	})

	t.Run("same commit counts once", func(t *testing.T) {
		cfg := baseConfig()
		cfg.KeepPolicies = parsePolicies(t, "keepPolicies: [{references: {branch: main}, imagesPerReference: {last: 1}}]")
		imgs := []policy.TagInfo{
			img("a", gittest.Day(15), fx.C["c5"]),
			img("b", gittest.Day(15), fx.C["c5"][:10]),
			img(fx.C["c5"], gittest.Day(15), ""),
			img("c", gittest.Day(12), fx.C["c4"]),
		}
		got, err := policy.Decide(imgs, repo, cfg, now)
		assert.NilError(t, err)
		assert.DeepEqual(t, reasons(t, got), map[string]string{
			"a": "keep-policy", "b": "keep-policy", fx.C["c5"]: "keep-policy", "c": "-no-policy",
		})
	})
}

func TestCombinedFamilies(t *testing.T) {
	fx, repo := fixture(t)
	c := fx.C
	day := gittest.Day
	tags := []policy.TagInfo{
		img("feature-a", day(4), c["a2"]),  // branch gone; a2 not kept by defaults
		img("feature-b", day(8), c["b2"]),  // live branch; b2 kept by the tag policy (v1.0.5)
		img("v1.0.3", day(12), c["c3"]),    // live git tag and tag policy
		img("old-thing", day(19), c["a1"]), // newest: kept by --keep-last
		img("v0.9.0", day(1), ""),          // tag gone, no commit
		img(c["c5"], day(14), ""),          // live commit, kept by policy #3 too
		img(c["a1"][:8], day(3), ""),       // live commit, no policy
		img("x-gone", day(9), c["d1"]),     // commit gone
	}
	cfg := baseConfig()
	cfg.GitRefs = true
	cfg.KeepLast = 1
	got, err := policy.Decide(tags, repo, cfg, now)
	assert.NilError(t, err)
	assert.DeepEqual(t, reasons(t, got), map[string]string{
		"feature-a": "-git-branch-gone",
		"feature-b": "git-branch",
		"v1.0.3":    "git-tag",
		"old-thing": "keep-last",
		"v0.9.0":    "-git-tag-gone",
		c["c5"]:     "git-commit",
		c["a1"][:8]: "git-commit",
		"x-gone":    "-commit-gone",
	})
	d := map[string]string{}
	for _, x := range got {
		d[x.Tag] = x.Detail
	}
	assert.Check(t, is.Equal(d["feature-a"], `no branch or git tag has the slug "feature-a" (deleted branch) (also no-policy, beyond-keep-last)`))
	assert.Check(t, strings.HasSuffix(d["v1.0.3"], " (also keep-policy)"), d["v1.0.3"])
	assert.Check(t, strings.HasPrefix(d["old-thing"], "1st newest of 8 tags, within --keep-last 1"), d["old-thing"])
	// Both git references and keep policies delete x-gone as commit-gone:
	// said once.
	assert.Check(t, is.Equal(d["x-gone"], "its commit "+c["d1"][:7]+" is on no branch or tag (also beyond-keep-last)"))

	t.Run("version tag whose commit is gone", func(t *testing.T) {
		cfg := cfg
		cfg.KeepLast = 0
		got, err := policy.Decide([]policy.TagInfo{img("v2.0.0", day(9), c["d1"])}, repo, cfg, now)
		assert.NilError(t, err)
		assert.Check(t, is.Equal(got[0].Reason, policy.ReasonGitTagGone))
		assert.Check(t, is.Equal(got[0].Detail, `no git tag or branch has the slug "v2.0.0" (deleted git tag); `+
			"its commit "+c["d1"][:7]+" is on no branch or tag either (also commit-gone)"))
	})

	t.Run("policies and older-than", func(t *testing.T) {
		cfg := baseConfig()
		cfg.OlderThan = 7 * 24 * time.Hour
		got, err := policy.Decide(tags, repo, cfg, now)
		assert.NilError(t, err)
		assert.DeepEqual(t, reasons(t, got), map[string]string{
			"feature-a": "-no-policy",
			"feature-b": "keep-policy",
			"v1.0.3":    "keep-policy",
			"old-thing": "-no-policy", // 1 day old, but the policies delete it
			"v0.9.0":    "-older-than",
			c["c5"]:     "keep-policy",
			c["a1"][:8]: "-no-policy",
			"x-gone":    "-commit-gone",
		})
	})
}

func TestTagRules(t *testing.T) {
	day := gittest.Day
	tags := []policy.TagInfo{
		img("a", day(19), ""),
		img("b", day(18), ""),
		img("c", day(10), ""),
		img("d", day(2), ""),
		img("e", time.Time{}, ""),
		img("f", now.Add(-30*time.Minute), ""),
	}
	tests := []struct {
		name string
		mod  func(*policy.Config)
		want map[string]string
	}{
		{
			name: "nothing configured",
			mod:  func(*policy.Config) {},
			want: map[string]string{"a": "no-rule", "b": "no-rule", "c": "no-rule", "d": "no-rule", "e": "no-rule", "f": "young"},
		},
		{
			name: "keep-last alone",
			mod:  func(c *policy.Config) { c.KeepLast = 2 },
			// f (young) is the newest and takes a slot.
			want: map[string]string{"a": "keep-last", "b": "-beyond-keep-last", "c": "-beyond-keep-last", "d": "-beyond-keep-last",
				"e": "-beyond-keep-last", "f": "young"},
		},
		{
			name: "older-than alone",
			mod:  func(c *policy.Config) { c.OlderThan = 5 * 24 * time.Hour },
			want: map[string]string{"a": "not-older-than", "b": "not-older-than", "c": "-older-than", "d": "-older-than",
				"e": "unknown-created", "f": "young"},
		},
		{
			name: "keep-last and older-than",
			mod:  func(c *policy.Config) { c.KeepLast = 4; c.OlderThan = 5 * 24 * time.Hour },
			want: map[string]string{"a": "keep-last", "b": "keep-last", "c": "keep-last", "d": "-older-than",
				"e": "unknown-created", "f": "young"},
		},
		{
			name: "young disabled",
			mod:  func(c *policy.Config) { c.KeepYoungerThan = 0; c.KeepLast = 1 },
			want: map[string]string{"a": "-beyond-keep-last", "b": "-beyond-keep-last", "c": "-beyond-keep-last", "d": "-beyond-keep-last",
				"e": "-beyond-keep-last", "f": "keep-last"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := policy.DefaultConfig()
			tc.mod(&cfg)
			got, err := policy.Decide(tags, nil, cfg, now)
			assert.NilError(t, err)
			assert.DeepEqual(t, reasons(t, got), tc.want)
		})
	}
	cfg := policy.DefaultConfig()
	got, err := policy.Decide(tags[:1], nil, cfg, now)
	assert.NilError(t, err)
	assert.Check(t, is.Equal(got[0].Detail, "no deletion rule is configured (--git-refs, keep policies with --git-dir, --keep-last or --older-than)"))
	cfg.OlderThan = 5 * 24 * time.Hour
	got, err = policy.Decide(tags[2:3], nil, cfg, now)
	assert.NilError(t, err)
	assert.Check(t, is.Equal(got[0].Detail, "created 10d ago, older than --older-than 5d"))
}

func TestGuards(t *testing.T) {
	_, repo := fixture(t)
	re := func(p ...string) []*regexp.Regexp {
		r, err := policy.ParseRegexps("--x", p)
		assert.NilError(t, err)
		return r
	}
	young := now.Add(-time.Hour)
	old := gittest.Day(1)
	tags := []policy.TagInfo{
		img("latest", young, ""),      // protected, listed, young
		img("listed", young, ""),      // listed, young, keep-tag
		img("keep-young", young, ""),  // young, keep-tag
		img("keep-me", old, ""),       // keep-tag, outside the filter
		img("other", old, ""),         // outside the filter
		img("app-gone", old, ""),      // in the filter: branch gone
		img("app-listed", old, ""),    // listed
		img("app-stable", old, ""),    // keep-tag
		img("release-1", old, ""),     // outside the filter though a live branch
		img("app-x", old, "deadbee0"), // in the filter, commit gone
	}
	cfg := policy.DefaultConfig()
	cfg.GitRefs = true
	cfg.DisableKeepPolicies = true
	cfg.KeepList = []string{"latest", "listed", "app-listed"}
	cfg.KeepTag = re("listed", "keep-.*", "app-stable")
	filter, err := policy.ParseRegexp("--tag-filter", "app-.*")
	assert.NilError(t, err)
	cfg.TagFilter = filter
	got, err := policy.Decide(tags, repo, cfg, now)
	assert.NilError(t, err)
	assert.DeepEqual(t, reasons(t, got), map[string]string{
		"latest": "protected", "listed": "keep-list", "keep-young": "young", "keep-me": "keep-tag",
		"other": "filtered-out", "app-gone": "-git-branch-gone", "app-listed": "keep-list", "app-stable": "keep-tag",
		"release-1": "filtered-out", "app-x": "-commit-gone",
	})
	d := map[string]string{}
	for _, x := range got {
		d[x.Tag] = x.Detail
	}
	assert.Check(t, is.Equal(d["other"], "does not match --tag-filter app-.*"))
	assert.Check(t, is.Equal(d["keep-me"], "matches --keep-tag keep-.*"))
	assert.Check(t, is.Equal(d["listed"], "listed in the keep list"))
}

func TestReferrerChains(t *testing.T) {
	hex := func(s string) string { return strings.TrimPrefix(digest(s), "sha256:") }
	old := gittest.Day(1)
	// sbom refers to img; sig-of-sbom refers to the sbom's digest.
	tags := []policy.TagInfo{
		img("img", old, ""),
		{Tag: "sha256-" + hex("img") + ".sbom", Digest: digest("sbom"), Created: old},
		{Tag: "sha256-" + hex("sbom") + ".sig", Digest: digest("sig"), Created: old},
		{Tag: "sha256-" + hex("img"), Digest: digest("idx"), Created: old},
	}
	cfg := policy.DefaultConfig()
	cfg.OlderThan = time.Hour
	got, err := policy.Decide(tags, nil, cfg, now)
	assert.NilError(t, err)
	assert.DeepEqual(t, reasons(t, got), map[string]string{
		"img":                            "-older-than",
		"sha256-" + hex("img") + ".sbom": "-referrer-of-deleted",
		"sha256-" + hex("sbom") + ".sig": "-referrer-of-deleted",
		"sha256-" + hex("img"):           "-referrer-of-deleted",
	})
	cfg.KeepLast = 1
	got, err = policy.Decide(tags, nil, cfg, now)
	assert.NilError(t, err)
	assert.DeepEqual(t, reasons(t, got), map[string]string{
		"img":                            "keep-last",
		"sha256-" + hex("img") + ".sbom": "referrer-of-kept",
		"sha256-" + hex("sbom") + ".sig": "referrer-of-kept",
		"sha256-" + hex("img"):           "referrer-of-kept",
	})
	assert.Check(t, is.Equal(got[1].Detail, "refers to sha256:696d67000000, kept as img"))
}

func TestDecideErrors(t *testing.T) {
	_, repo := fixture(t)
	ok := []policy.TagInfo{img("a", now, "")}
	tests := []struct {
		name string
		tags []policy.TagInfo
		repo *gitrepo.Repo
		mod  func(*policy.Config)
		want string
	}{
		{name: "git refs without repo", tags: ok, mod: func(c *policy.Config) { c.GitRefs = true },
			want: "--git-refs needs a git repository (give --git-dir)"},
		{name: "policies without repo", tags: ok, mod: func(c *policy.Config) {
			c.KeepPolicies, c.PolicySource = policy.DefaultKeepPolicies(), "werf.yaml"
		}, want: "keep policies from werf.yaml need a git repository (give --git-dir)"},
		{name: "duplicate", tags: []policy.TagInfo{img("a", now, ""), img("a", now, "")}, repo: repo,
			want: `tag "a" is listed twice`},
		{name: "empty tag", tags: []policy.TagInfo{img("a", now, ""), {}}, want: "tag 2 of 2 has an empty name"},
		{name: "zero config", tags: ok, mod: func(c *policy.Config) { *c = policy.Config{} },
			want: "--git-tag-strategy-limit: 0 is not allowed: give -1 for no limit or a positive number\n" +
				"--git-tag-strategy-expiry-days: 0 is not allowed: give -1 for no expiry or a positive number\n" +
				"--git-commit-strategy-limit: 0 is not allowed: give -1 for no limit or a positive number\n" +
				"--git-commit-strategy-expiry-days: 0 is not allowed: give -1 for no expiry or a positive number"},
		{name: "negative", tags: ok, mod: func(c *policy.Config) { c.KeepLast = -1; c.OlderThan = -time.Hour },
			want: "--older-than: negative duration -1h0m0s\n--keep-last: -1 is negative (0 turns it off)"},
		{name: "bad policy", tags: ok, repo: repo, mod: func(c *policy.Config) {
			c.KeepPolicies = []policy.KeepPolicy{{Kind: "branches", Match: regexp.MustCompile("x")}}
			c.PolicySource = "p.yaml"
		}, want: `keep policy #1 (p.yaml): kind "branches" is not branch or tag`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := policy.DefaultConfig()
			if tc.mod != nil {
				tc.mod(&cfg)
			}
			_, err := policy.Decide(tc.tags, tc.repo, cfg, now)
			assert.Error(t, err, tc.want)
		})
	}
}
