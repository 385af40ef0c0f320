package e2e

import (
	"regexp"
	"strings"
	"testing"

	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"
)

// jobBlock returns the lines a job printed between a line "begin" and a line
// "end", without the runner's prefix of each line (act's "[wf/job]   | ").
func jobBlock(t *testing.T, out, begin, end string) string {
	t.Helper()
	prefix := regexp.MustCompile(`^(\[[^]]*\]\s+\| )?`)
	var lines []string
	in := false
	for _, l := range strings.Split(strings.ReplaceAll(out, "\r\n", "\n"), "\n") {
		l = prefix.ReplaceAllString(l, "")
		switch {
		case !in && l == begin:
			in = true
		case in && l == end:
			return strings.Join(lines, "\n")
		case in:
			lines = append(lines, l)
		}
	}
	t.Fatalf("the job printed no block from %q to %q:\n%s", begin, end, out)
	return ""
}

// assertCIEnvFailed checks a CI job whose ci-env failed, as a runner
// reported it (its exit status and its log): the job failed, the log gives
// the reason, and none of notRun (what only the commands after ci-env print)
// is in it.
func assertCIEnvFailed(t *testing.T, exitCode int, log, reason string, notRun ...string) {
	t.Helper()
	assert.Check(t, exitCode != 0, "the job succeeded:\n%s", log)
	assert.Check(t, is.Contains(log, reason))
	for _, s := range notRun {
		assert.Check(t, !strings.Contains(log, s), "the job went on after ci-env failed (%q):\n%s", s, log)
	}
}
