package policy_test

import (
	"testing"
	"time"

	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"

	"github.com/docker-werf/docker-werf/internal/policy"
)

// TestWarnings: each keep rule that keeps nothing here is named, with what
// the pattern would match as a prefix; rules that match stay quiet.
func TestWarnings(t *testing.T) {
	day := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	tags := []policy.TagInfo{
		{Tag: "keep-1", Created: day}, {Tag: "keep-2", Created: day}, {Tag: "main", Created: day},
		{Tag: "nightly"}, {Tag: "rc-7"},
	}
	cfg := policy.DefaultConfig()
	var err error
	cfg.KeepTag, err = policy.ParseRegexps("--keep-tag", []string{"^keep-", "nightly", "release-.*"})
	assert.NilError(t, err)
	cfg.KeepList = []string{"main", "gone-1"}
	cfg.KeepLast = 2
	got, err := policy.Warnings(tags, nil, cfg)
	assert.NilError(t, err)
	assert.DeepEqual(t, got, []string{
		`--keep-tag "^keep-" matches no tag, so it keeps nothing (patterns match whole tags: "keep-.*" would match 2, e.g. keep-1, keep-2)`,
		`--keep-tag "release-.*" matches no tag, so it keeps nothing`,
		`1 of the keep list's 2 tags are not in the repository: gone-1`,
		`--keep-last 2: 2 of 5 tags have no creation time, so they rank after the dated ones by tag name, not by age`,
	})

	t.Run("protected and tag filter", func(t *testing.T) {
		cfg := policy.DefaultConfig()
		cfg.Protected, err = policy.ParseRegexps("--protected", []string{"rc"})
		assert.NilError(t, err)
		cfg.TagFilter, err = policy.ParseRegexp("--tag-filter", "keep")
		assert.NilError(t, err)
		got, err := policy.Warnings(tags, nil, cfg)
		assert.NilError(t, err)
		assert.DeepEqual(t, got, []string{
			`--protected "rc" matches no tag, so it protects nothing (patterns match whole tags: "rc.*" would match 1, e.g. rc-7)`,
			`--tag-filter "keep" matches no tag, so cleanup considers no tag (patterns match whole tags: "keep.*" would match 2, e.g. keep-1, keep-2)`,
		})
	})

	t.Run("defaults say nothing", func(t *testing.T) {
		got, err := policy.Warnings(tags, nil, policy.DefaultConfig())
		assert.NilError(t, err)
		assert.Check(t, is.Len(got, 0))
	})

	t.Run("keep policy matching no reference", func(t *testing.T) {
		_, repo := fixture(t)
		ps, err := policy.ParsePolicies("p.yaml", []byte("keepPolicies:\n- references:\n    branch: /^hotfix-.*/\n- references:\n    branch: /.*/\n"))
		assert.NilError(t, err)
		cfg := policy.DefaultConfig()
		cfg.KeepPolicies, cfg.PolicySource = ps, "p.yaml"
		got, err := policy.Warnings(tags, repo, cfg)
		assert.NilError(t, err)
		assert.DeepEqual(t, got, []string{
			"keep policy #1 (branch /^hotfix-.*/, p.yaml:2) matches no branch of the git repository, so it keeps nothing",
		})
	})
}
