package e2e

import (
	"regexp"
	"strings"
	"testing"
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
