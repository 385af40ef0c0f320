package main

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"
	"gotest.tools/v3/golden"

	"github.com/docker-werf/docker-werf/internal/cleanup"
	"github.com/docker-werf/docker-werf/internal/jsonout/jsoncheck"
)

func digestOf(c byte) string { return "sha256:" + string(bytes.Repeat([]byte{c}, 64)) }

// outputResults is one run's tags: kept for several reasons, deleted,
// moved, failed, and a detail with a newline in it (a server's message).
func outputResults(dryRun bool) []cleanup.TagResult {
	del := func(tag, reason, detail string, o cleanup.Outcome, errText string) cleanup.TagResult {
		if dryRun {
			o, errText = cleanup.WouldDelete, ""
		}
		return cleanup.TagResult{Tag: tag, Digest: digestOf('d'), Reason: reason, Detail: detail, Action: "untag",
			Outcome: o, Error: errText, Keep: o == cleanup.Moved}
	}
	return []cleanup.TagResult{
		{Tag: "feature-b", Digest: digestOf('b'), Keep: true, Reason: "git-branch", Detail: "branch feature-b exists (origin/feature-b at 1a2b3c4)", Outcome: cleanup.Kept},
		{Tag: "main", Digest: digestOf('a'), Keep: true, Reason: "protected", Detail: "matches --protected main", Outcome: cleanup.Kept},
		{Tag: "release-1", Digest: digestOf('c'), Keep: true, Reason: "git-branch", Detail: "branch release-1 exists (origin/release-1 at 5d6e7f8)", Outcome: cleanup.Kept},
		del("dead", "git-branch-gone", `no branch or git tag has the slug "dead" (deleted branch)`, cleanup.Deleted, ""),
		del("v0.9.0", "git-tag-gone", `no git tag or branch has the slug "v0.9.0" (deleted git tag)`, cleanup.Moved, ""),
		del("old-1", "older-than", "created 30d ago, older than --older-than 7d", cleanup.Failed, "untag old-1: HTTP 500\nbody"),
	}
}

func renderOutput(t *testing.T, dryRun, quiet bool) string {
	t.Helper()
	var buf bytes.Buffer
	o := &cleanupOutput{out: &buf, repo: "registry.example.com/app", dryRun: dryRun, quiet: quiet}
	if err := o.write(outputResults(dryRun)); err != nil {
		t.Fatal(err)
	}
	return buf.String()
}

// TestCleanupTextOutput: every tag with its decision, reason and detail,
// kept tags grouped by reason; --quiet shows only the deletions. Update the
// files with `go test ./cli-plugin/ -run TestCleanupTextOutput -update`.
func TestCleanupTextOutput(t *testing.T) {
	tests := []struct {
		name          string
		dryRun, quiet bool
	}{
		{"cleanup-run.golden", false, false},
		{"cleanup-dry-run.golden", true, false},
		{"cleanup-quiet.golden", false, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			golden.Assert(t, renderOutput(t, tc.dryRun, tc.quiet), tc.name)
		})
	}
}

// TestCleanupJSONOutput: --format json and --report are in the products'
// one JSON dialect: lowerCamel keys, and a server's "<html>" as it was.
func TestCleanupJSONOutput(t *testing.T) {
	rs := outputResults(false)
	rs[len(rs)-1].Error = "untag old-1: HTTP 500: <html><body>Internal Server Error</body></html>"
	var buf bytes.Buffer
	report := filepath.Join(t.TempDir(), "report.json")
	o := &cleanupOutput{out: &buf, repo: "registry.example.com/app", format: formatJSON, report: report}
	assert.NilError(t, o.write(rs))
	written, err := os.ReadFile(report)
	assert.NilError(t, err)
	for name, data := range map[string][]byte{"stdout": buf.Bytes(), "--report": written} {
		assert.Check(t, is.Len(jsoncheck.Problems(data, "summary.kept"), 0), "%s:\n%s", name, data)
		assert.Check(t, is.Contains(string(data), "<html>"), name)
	}
}
