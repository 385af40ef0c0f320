package policy

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"
)

// ParseDuration parses a duration given as name (a flag or a field, used in
// the error): Go's time.ParseDuration syntax plus the units d (24h) and w
// (7d), combinable: "90m", "36h", "7d", "2w", "1w2d12h". Negative durations
// are refused.
func ParseDuration(name, s string) (time.Duration, error) {
	d, err := parseDuration(s)
	if err != nil {
		return 0, fmt.Errorf("invalid duration %q for %s: %w", s, name, err)
	}
	return d, nil
}

const durationHint = "use a number with a unit s, m, h, d (24h) or w (7d), e.g. 36h, 7d or 1w2d"

func parseDuration(s string) (time.Duration, error) {
	in := strings.TrimSpace(s)
	if in == "" {
		return 0, errors.New("empty; " + durationHint)
	}
	if in[0] == '-' {
		return 0, errors.New("negative")
	}
	in = strings.TrimPrefix(in, "+")
	if in == "0" {
		return 0, nil
	}
	var total time.Duration
	for in != "" {
		i := 0
		for i < len(in) && (in[i] >= '0' && in[i] <= '9' || in[i] == '.') {
			i++
		}
		num := in[:i]
		if num == "" {
			return 0, fmt.Errorf("expected a number at %q; %s", in, durationHint)
		}
		j := i
		for j < len(in) && (in[j] < '0' || in[j] > '9') && in[j] != '.' {
			j++
		}
		unit := in[i:j]
		in = in[j:]
		var d time.Duration
		switch unit {
		case "":
			return 0, fmt.Errorf("missing unit after %s; %s", num, durationHint)
		case "d", "w":
			f, err := strconv.ParseFloat(num, 64)
			if err != nil || math.IsInf(f, 0) {
				return 0, fmt.Errorf("bad number %q; %s", num, durationHint)
			}
			h := 24.0
			if unit == "w" {
				h = 7 * 24
			}
			v := f * h * float64(time.Hour)
			if v > math.MaxInt64 {
				return 0, errors.New("too long")
			}
			d = time.Duration(v)
		default:
			var err error
			d, err = time.ParseDuration(num + unit)
			if err != nil {
				if strings.Contains(err.Error(), "unknown unit") {
					return 0, fmt.Errorf("unknown unit %q; %s", unit, durationHint)
				}
				if _, ferr := strconv.ParseFloat(num, 64); ferr != nil {
					return 0, fmt.Errorf("bad number %q; %s", num, durationHint)
				}
				return 0, errors.New("too long")
			}
		}
		if total > math.MaxInt64-d {
			return 0, errors.New("too long")
		}
		total += d
	}
	return total, nil
}

// FormatDuration renders d compactly with days: "2h", "90m", "7d", "7d12h",
// "45s".
func FormatDuration(d time.Duration) string {
	if d < 0 {
		return "-" + FormatDuration(-d)
	}
	if d < time.Minute {
		return d.Round(time.Second).String()
	}
	d = d.Round(time.Minute)
	days := d / (24 * time.Hour)
	d -= days * 24 * time.Hour
	h := d / time.Hour
	m := (d - h*time.Hour) / time.Minute
	var s string
	if days > 0 {
		s += strconv.FormatInt(int64(days), 10) + "d"
	}
	if h > 0 {
		s += strconv.FormatInt(int64(h), 10) + "h"
	}
	if m > 0 {
		s += strconv.FormatInt(int64(m), 10) + "m"
	}
	if s == "" {
		s = "0s"
	}
	return s
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
