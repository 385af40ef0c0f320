package policy

import (
	"bufio"
	"bytes"
	"fmt"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/docker-werf/docker-werf/internal/duration"
)

// FormatDuration renders d compactly with days, to the second under a
// minute and to the minute above: "2h", "1h30m", "7d", "7d12h", "45s".
func FormatDuration(d time.Duration) string {
	if d < 0 {
		return "-" + FormatDuration(-d)
	}
	if d < time.Minute {
		return duration.Format(d.Round(time.Second))
	}
	return duration.Format(d.Round(time.Minute))
}

// ParseRegexp compiles a tag pattern given as flag. Patterns match whole
// tags, as in werf's keepPolicies and GitLab's cleanup policies: "v1.*"
// matches v1.2 but not av1; write ".*rc.*" for a substring. Errors name the
// flag, the pattern and the problem.
func ParseRegexp(flag, pattern string) (*regexp.Regexp, error) {
	if pattern == "" {
		return nil, fmt.Errorf("invalid %s pattern \"\": empty", flag)
	}
	if _, err := regexp.Compile(pattern); err != nil {
		return nil, fmt.Errorf("invalid %s pattern %q: %w", flag, pattern, err)
	}
	return regexp.Compile(`^(?:` + pattern + `)$`)
}

// ParseRegexps compiles several patterns as ParseRegexp does.
func ParseRegexps(flag string, patterns []string) ([]*regexp.Regexp, error) {
	out := make([]*regexp.Regexp, 0, len(patterns))
	for _, p := range patterns {
		re, err := ParseRegexp(flag, p)
		if err != nil {
			return nil, err
		}
		out = append(out, re)
	}
	return out, nil
}

// tagSyntax is the docker tag grammar.
var tagSyntax = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$`) })

// LoadKeepList reads a keep list: one tag per line; blank lines and
// everything from "#" to the end of a line are ignored; surrounding
// whitespace is trimmed. A line that is not a valid tag is an error naming
// the file and line. Duplicates are dropped.
func LoadKeepList(path string) ([]string, error) {
	data, err := readCapped("keep list", path, MaxKeepListSize)
	if err != nil {
		return nil, err
	}
	return ParseKeepList(path, data)
}

// ParseKeepList parses keep-list data as LoadKeepList does; name is used in
// errors.
func ParseKeepList(name string, data []byte) ([]string, error) {
	var out []string
	seen := map[string]bool{}
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		if n == 1 {
			line = strings.TrimPrefix(line, "\ufeff")
		}
		if i := strings.IndexByte(line, '#'); i >= 0 {
			line = line[:i]
		}
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		if !tagSyntax().MatchString(line) {
			hint := ""
			if strings.ContainsAny(line, ":/@") {
				hint = " (give the tag alone, without repository or digest)"
			} else if strings.ContainsAny(line, " \t") {
				hint = " (one tag per line)"
			}
			return nil, fmt.Errorf("%s:%d: %q is not a valid tag%s", name, n, line, hint)
		}
		if !seen[line] {
			seen[line] = true
			out = append(out, line)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("reading keep list %s: %w", name, err)
	}
	return out, nil
}
