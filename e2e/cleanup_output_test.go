package e2e

import (
	"regexp"
	"testing"

	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"
	"gotest.tools/v3/icmd"

	"github.com/docker-werf/docker-werf/e2e/harness"
)

// TestCleanupShowsWhy: the text output of a dry run names every tag with
// its reason and detail, kept ones too, and --quiet only the deletions; a
// --keep-tag written as a prefix (patterns match whole tags) is a warning
// that says what would match.
func TestCleanupShowsWhy(t *testing.T) {
	h := harness.New(t)
	s := newCleanupScene(t, h, harness.Registry3)
	env := s.env(t)
	res := h.Plugin(env, s.cleanupArgs(s.repo, "--dry-run", "--keep-tag", "^v1")...)
	res.Assert(t, icmd.Success)
	assert.Check(t, is.Contains(res.Stderr(), `Warning: --keep-tag "^v1" matches no tag, so it keeps nothing (patterns match whole tags: "v1.*" would match`))
	out := res.Stdout()
	assert.Check(t, is.Contains(out, "Kept ("))
	assert.Check(t, is.Contains(out, "Would delete ("))
	for tag, w := range s.want {
		assert.Check(t, is.Regexp(`(?m)^\S*\s*`+regexp.QuoteMeta(tag)+`\s+sha256:\S+\s+`, out), "tag %s is not listed", tag)
		assert.Check(t, is.Contains(out, w.Reason), "reason of %s", tag)
	}
	assert.Check(t, is.Contains(out, `no git tag or branch has the slug "v0.9.0" (deleted git tag)`))
	assert.Check(t, is.Contains(out, "branch feature-b exists"))

	quiet := h.Plugin(env, s.cleanupArgs(s.repo, "--dry-run", "--quiet")...)
	quiet.Assert(t, icmd.Success)
	assert.Check(t, !is.Contains(quiet.Stdout(), "Kept (")().Success(), quiet.Stdout())
	assert.Check(t, is.Contains(quiet.Stdout(), "Would delete ("))
}
