package policy_test

import (
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"gotest.tools/v3/assert"

	"github.com/docker-werf/docker-werf/internal/ci"
	"github.com/docker-werf/docker-werf/internal/gitrepo"
	"github.com/docker-werf/docker-werf/internal/gitrepo/gittest"
	"github.com/docker-werf/docker-werf/internal/policy"
)

var (
	sharedOnce sync.Once
	shared     string
)

func sharedDir() string {
	sharedOnce.Do(func() {
		d, err := os.MkdirTemp("", "policy-test-")
		if err != nil {
			panic(err)
		}
		shared = d
	})
	d, err := os.MkdirTemp(shared, "t")
	if err != nil {
		panic(err)
	}
	return d
}

func TestMain(m *testing.M) {
	code := m.Run()
	if shared != "" {
		os.RemoveAll(shared)
	}
	os.Exit(code)
}

// TestEveryTagOneDecision decides random tag sets under random
// configurations and checks that every tag gets exactly one decision, in
// tag order, with a known reason that matches Keep and a detail; that the
// result does not depend on input order; and that a tag kept by a vote of
// the git families stays kept when the tag rules are added.
func TestEveryTagOneDecision(t *testing.T) {
	fx, repo := fixture(t)
	var shas []string
	for _, s := range fx.C {
		shas = append(shas, s)
	}
	sort.Strings(shas)
	words := []string{"main", "latest", "feature-b", ci.Slug("feature/x_y"), "feature-a", "release-1", "dead",
		"v1.0.0", "v1.0.3", "v1.0.5", "v0.9.0", "1234567", "20240101", "stable", "app", "cache", "v2", "x"}
	rng := rand.New(rand.NewPCG(1, 2))
	pick := func(xs []string) string { return xs[rng.IntN(len(xs))] }
	randTags := func() []policy.TagInfo {
		n := rng.IntN(60)
		seen := map[string]bool{}
		var out []policy.TagInfo
		for len(out) < n {
			var ti policy.TagInfo
			switch rng.IntN(7) {
			case 0:
				ti.Tag = pick(words)
			case 1:
				s := pick(shas)
				ti.Tag = s[:7+rng.IntN(34)]
			case 2:
				ti.Tag = fmt.Sprintf("%040x", rng.Uint64())
			case 3:
				ti.Tag = fmt.Sprintf("sha256-%064x", rng.IntN(5))
				if rng.IntN(2) == 0 {
					ti.Tag += ".sig"
				}
			default:
				ti.Tag = fmt.Sprintf("%s-%d", pick(words), rng.IntN(20))
			}
			if seen[ti.Tag] {
				continue
			}
			seen[ti.Tag] = true
			ti.Digest = fmt.Sprintf("sha256:%064x", rng.IntN(8))
			switch rng.IntN(4) {
			case 0:
			case 1:
				ti.Created = now.Add(time.Duration(rng.IntN(3600)) * time.Second)
			default:
				ti.Created = now.Add(-time.Duration(rng.IntN(40*24)) * time.Hour)
			}
			switch rng.IntN(4) {
			case 0:
				ti.Commit = pick(shas)[:7+rng.IntN(34)]
			case 1:
				ti.Commit = fmt.Sprintf("%040x", rng.Uint64())
			case 2:
				ti.Commit = "not-a-sha"
			}
			out = append(out, ti)
		}
		return out
	}
	randConfig := func() (policy.Config, *gitrepo.Repo) {
		c := policy.DefaultConfig()
		var r *gitrepo.Repo
		if rng.IntN(3) > 0 {
			r = repo
			c.GitRefs = rng.IntN(2) == 0
			switch rng.IntN(3) {
			case 0:
				c.DisableKeepPolicies = true
			case 1:
				c.KeepPolicies = parsePolicies(t, "keepPolicies: [{references: {branch: /.*/}, imagesPerReference: {last: 1}}, {references: {tag: /.*/, limit: {last: 2}}}]")
			}
			if rng.IntN(2) == 0 {
				c.GitTagStrategyLimit, c.GitTagStrategyExpiryDays = 1+rng.IntN(3), 1+rng.IntN(20)
				c.GitCommitStrategyLimit, c.GitCommitStrategyExpiryDays = 1+rng.IntN(3), 1+rng.IntN(20)
			}
		} else {
			c.DisableKeepPolicies = true
		}
		c.KeepLast = rng.IntN(4)
		if rng.IntN(2) == 0 {
			c.OlderThan = time.Duration(rng.IntN(30*24)) * time.Hour
		}
		c.KeepYoungerThan = time.Duration(rng.IntN(3)) * time.Hour
		if rng.IntN(3) == 0 {
			c.TagFilter = regexp.MustCompile("^(?:.*-.*)$")
		}
		if rng.IntN(3) == 0 {
			c.KeepTag = []*regexp.Regexp{regexp.MustCompile("^(?:v1.*)$")}
		}
		if rng.IntN(3) == 0 {
			c.KeepList = []string{"cache", "app-1"}
		}
		return c, r
	}
	for i := 0; i < 300; i++ {
		tags := randTags()
		cfg, r := randConfig()
		got, err := policy.Decide(tags, r, cfg, now)
		assert.NilError(t, err, "case %d", i)
		assert.Equal(t, len(got), len(tags), "case %d", i)
		count := map[string]int{}
		for _, d := range got {
			count[d.Tag]++
			keep, known := policy.Reasons[d.Reason]
			assert.Assert(t, known, "case %d: tag %s: unknown reason %q", i, d.Tag, d.Reason)
			assert.Assert(t, keep == d.Keep, "case %d: tag %s: reason %s with keep %v", i, d.Tag, d.Reason, d.Keep)
			assert.Assert(t, d.Detail != "", "case %d: tag %s: no detail", i, d.Tag)
		}
		for _, ti := range tags {
			assert.Assert(t, count[ti.Tag] == 1, "case %d: tag %s decided %d times", i, ti.Tag, count[ti.Tag])
		}
		assert.Assert(t, sort.SliceIsSorted(got, func(a, b int) bool { return got[a].Tag < got[b].Tag }), "case %d", i)

		shuffled := append([]policy.TagInfo(nil), tags...)
		rng.Shuffle(len(shuffled), func(a, b int) { shuffled[a], shuffled[b] = shuffled[b], shuffled[a] })
		again, err := policy.Decide(shuffled, r, cfg, now)
		assert.NilError(t, err)
		assert.DeepEqual(t, again, got)

		// Adding the tag rules never deletes what a git family keeps.
		if r != nil && cfg.KeepLast == 0 && cfg.OlderThan == 0 {
			cfg2 := cfg
			cfg2.OlderThan, cfg2.KeepLast = time.Hour, 1
			more, err := policy.Decide(tags, r, cfg2, now)
			assert.NilError(t, err)
			for k, d := range got {
				switch d.Reason {
				case policy.ReasonGitBranch, policy.ReasonGitTag, policy.ReasonGitCommit, policy.ReasonKeepPolicy:
					assert.Assert(t, more[k].Keep, "case %d: %s kept by %s, deleted with tag rules: %s", i, d.Tag, d.Reason, more[k].Reason)
				}
			}
		}
	}
}

var (
	benchOnce sync.Once
	benchGen  *gittest.Generated
	benchTags []policy.TagInfo
)

// benchSetup generates, once, a repository of 2,000 commits (1,000 on main,
// 200 branches of 5) with 50 tags, and 5,000 image tags: a commit-SHA tag
// per commit, a tag per branch slug plus 100 of deleted branches, a tag per
// git tag plus 50 of deleted ones, 1,000 images labelled with live commits
// and 500 with deleted ones, and unrelated tags without commits.
func benchSetup(b testing.TB) {
	benchOnce.Do(func() {
		base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
		benchGen = gittest.Generate(b, filepath.Join(sharedDir(), "bench"), gittest.Spec{
			MainCommits: 1000, Branches: 200, CommitsPerBranch: 5, Tags: 50, Base: base})
		g := benchGen
		rng := rand.New(rand.NewPCG(3, 4))
		at := func(i int) time.Time { return g.Times[i].Add(30 * time.Minute) }
		add := func(tag string, created time.Time, commit string) {
			benchTags = append(benchTags, policy.TagInfo{Tag: tag, Digest: fmt.Sprintf("sha256:%064x", len(benchTags)), Created: created, Commit: commit})
		}
		for i, c := range g.Commits {
			add(c, at(i), "")
		}
		for k, br := range g.Branches {
			i := 1000 + k*5 + 4
			add(ci.Slug(br), at(i), g.Commits[i])
		}
		for k := 0; k < 100; k++ {
			add(fmt.Sprintf("feature-gone-%d", k), base.Add(time.Duration(k)*time.Hour), "")
		}
		for k, tg := range g.Tags {
			i := k * 1000 / 50
			add(tg, at(i), g.Commits[i])
		}
		for k := 0; k < 50; k++ {
			add(fmt.Sprintf("v0.%d.1", k), base, "")
		}
		for k := 0; k < 1000; k++ {
			i := rng.IntN(len(g.Commits))
			add(fmt.Sprintf("stage-%d", k), at(i), g.Commits[i][:12])
		}
		for k := 0; k < 500; k++ {
			add(fmt.Sprintf("stage-gone-%d", k), base.Add(time.Duration(k)*time.Hour), fmt.Sprintf("%040x", rng.Uint64()))
		}
		for k := 0; len(benchTags) < 5000; k++ {
			add(fmt.Sprintf("other-%d", k), base.Add(time.Duration(k)*time.Minute), "")
		}
	})
}

func benchConfig() policy.Config {
	c := policy.DefaultConfig()
	c.GitRefs = true
	c.GitTagStrategyLimit = 20
	c.KeepLast = 100
	c.OlderThan = 30 * 24 * time.Hour
	return c
}

var benchNow = time.Date(2026, 4, 1, 0, 0, 0, 0, time.UTC)

// BenchmarkDecideCold opens the repository (reading refs and the commit
// graph with git) and decides 5,000 tags with GitRefs, werf's default keep
// policies and the tag rules, each iteration.
func BenchmarkDecideCold(b *testing.B) {
	benchSetup(b)
	cfg := benchConfig()
	b.ResetTimer()
	for b.Loop() {
		repo, err := gitrepo.Open(benchGen.Dir)
		if err != nil {
			b.Fatal(err)
		}
		ds, err := policy.Decide(benchTags, repo, cfg, benchNow)
		if err != nil || len(ds) != 5000 {
			b.Fatal(len(ds), err)
		}
	}
}

// BenchmarkDecideWarm decides the same 5,000 tags with the repository
// already read.
func BenchmarkDecideWarm(b *testing.B) {
	benchSetup(b)
	cfg := benchConfig()
	repo, err := gitrepo.Open(benchGen.Dir)
	if err != nil {
		b.Fatal(err)
	}
	if _, err := policy.Decide(benchTags, repo, cfg, benchNow); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for b.Loop() {
		if _, err := policy.Decide(benchTags, repo, cfg, benchNow); err != nil {
			b.Fatal(err)
		}
	}
}

// TestDecideScale checks the benchmark's workload for sanity and speed (a
// generous bound, so that slow CI machines pass).
func TestDecideScale(t *testing.T) {
	if testing.Short() {
		t.Skip("short")
	}
	benchSetup(t)
	cfg := benchConfig()
	start := time.Now()
	repo, err := gitrepo.Open(benchGen.Dir)
	assert.NilError(t, err)
	ds, err := policy.Decide(benchTags, repo, cfg, benchNow)
	assert.NilError(t, err)
	elapsed := time.Since(start)
	assert.Equal(t, len(ds), 5000)
	byReason := map[string]int{}
	for _, d := range ds {
		byReason[d.Reason]++
	}
	t.Logf("5000 tags, 2000 commits, 200 branches: %s cold; reasons %v", elapsed, byReason)
	assert.Assert(t, elapsed < 5*time.Second, elapsed)
	assert.Equal(t, byReason[policy.ReasonGitBranch], 200)
	assert.Equal(t, byReason[policy.ReasonGitBranchGone] > 0, true)
	assert.Equal(t, byReason[policy.ReasonCommitGone] >= 500, true)
	keys := make([]string, 0, len(byReason))
	for k := range byReason {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	t.Log(strings.Join(keys, " "))
}
