package demo

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"unicode"

	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"

	"github.com/docker-werf/docker-werf/e2e/harness"
)

// TestREADMEContents: the README's table of contents links every section
// (## and ###) and nothing else, by the anchors GitHub gives headings.
func TestREADMEContents(t *testing.T) {
	data, err := os.ReadFile(filepath.Join(harness.ModuleRoot(t), "README.md"))
	assert.NilError(t, err)
	text := string(data)
	_, afterTOC, ok := strings.Cut(text, "\n## Contents\n")
	assert.Assert(t, ok, "README.md has no ## Contents")
	toc, _, _ := strings.Cut(afterTOC, "\n## ")

	var headings []string
	inCode := false
	for _, line := range strings.Split(afterTOC, "\n") {
		if strings.HasPrefix(line, "```") {
			inCode = !inCode
		}
		if m := regexp.MustCompile(`^###? (.+)$`).FindStringSubmatch(line); m != nil && !inCode {
			headings = append(headings, anchor(m[1]))
		}
	}
	var links []string
	for _, m := range regexp.MustCompile(`\]\(#([^)]+)\)`).FindAllStringSubmatch(toc, -1) {
		links = append(links, m[1])
	}
	assert.Check(t, is.DeepEqual(links, headings), "the contents (left) and the headings after them (right)")
}

// anchor is the fragment GitHub gives a heading: lower case, without
// punctuation other than - and _, spaces as -.
func anchor(heading string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(heading) {
		switch {
		case r == ' ':
			b.WriteRune('-')
		case r == '-' || r == '_' || unicode.IsLetter(r) || unicode.IsDigit(r):
			b.WriteRune(r)
		}
	}
	return b.String()
}
