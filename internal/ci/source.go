package ci

import (
	"fmt"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"unicode/utf8"
)

// getter looks up a variable, trimmed; "" means unset.
type getter func(string) string

// source produces one Job field and says where it came from.
type source func(get getter) (value, from string)

// cond is a test on the environment.
type cond func(get getter) bool

// kindRule: the job is Kind when When holds (the first match wins).
type kindRule struct {
	Kind Kind
	When cond
}

// annotation is a system's own WERF_ADD_ANNOTATION_<Name> = "<Key>=<URL>",
// with the pipeline URL, or the job URL when Job is set.
type annotation struct {
	Name, Key string
	Job       bool
}

// spec describes how to read one CI system. A nil source means the system
// does not provide the value.
type spec struct {
	Name   string
	Detect detection
	// Doc is the page that documents the system's variables.
	Doc   string
	Kinds []kindRule
	// Commit lists the variables that may hold the commit SHA, in order;
	// one of them is required.
	Commit []string
	// Tag is read for tag builds, Branch for branch builds, SourceBranch
	// for merge requests.
	Tag, Branch, SourceBranch source
	ProjectURL, PipelineURL   source
	JobURL                    source
	Repo, Registry, Env       source
	Token, TempDir, Color     source
	Annotations               []annotation
}

func firstOf(get getter, names []string) (string, string) {
	for _, n := range names {
		if v := get(n); v != "" {
			return v, n
		}
	}
	return "", ""
}

// env is the first non-empty variable of names.
func env(names ...string) source {
	return func(get getter) (string, string) { return firstOf(get, names) }
}

// either is the first source with a value.
func either(srcs ...source) source {
	return func(get getter) (string, string) {
		for _, s := range srcs {
			if v, from := s(get); v != "" {
				return v, from
			}
		}
		return "", ""
	}
}

// withoutPrefix is the variable without prefix (e.g. "refs/heads/"), and
// nothing when it does not start with it.
func withoutPrefix(name, prefix string) source {
	return func(get getter) (string, string) {
		if v, ok := strings.CutPrefix(get(name), prefix); ok && v != "" {
			return v, name + " without " + prefix
		}
		return "", ""
	}
}

// trimPrefix is the variable with prefix removed when it has it: some
// variables hold a full ref on one forge and a bare name on another.
func trimPrefix(name, prefix string) source {
	return func(get getter) (string, string) {
		v := get(name)
		if rest, ok := strings.CutPrefix(v, prefix); ok {
			return rest, name + " without " + prefix
		}
		return v, name
	}
}

// constant is a fixed value.
func constant(value, from string) source {
	return func(getter) (string, string) { return value, from }
}

// derived computes a value from several variables; it gives nothing when f
// returns "".
func derived(from []string, f func(get getter) string) source {
	desc := "derived from " + strings.Join(from, ", ")
	return func(get getter) (string, string) {
		if v := f(get); v != "" {
			return v, desc
		}
		return "", ""
	}
}

// derivedUsing is derived with the variables f actually used.
func derivedUsing(f func(get getter) (string, []string)) source {
	return func(get getter) (string, string) {
		if v, used := f(get); v != "" {
			return v, "derived from " + strings.Join(used, ", ")
		}
		return "", ""
	}
}

// joined concatenates literal text and variables, or gives nothing when a
// variable is unset. Parts naming a variable are written "$NAME".
func joined(parts ...string) source {
	var names []string
	for _, p := range parts {
		if n, ok := strings.CutPrefix(p, "$"); ok {
			names = append(names, n)
		}
	}
	return derived(names, func(get getter) string {
		var b strings.Builder
		for _, p := range parts {
			if n, ok := strings.CutPrefix(p, "$"); ok {
				v := get(n)
				if v == "" {
					return ""
				}
				b.WriteString(v)
			} else {
				b.WriteString(p)
			}
		}
		return b.String()
	})
}

// projectURL reads a repository URL and turns it into the project's web
// page (see webURL); the source says "derived" when that changed it.
func projectURL(names ...string) source {
	return func(get getter) (string, string) {
		for _, n := range names {
			raw := get(n)
			if raw == "" {
				continue
			}
			if w := webURL(raw); w == raw {
				return w, n
			} else if w != "" {
				return w, "derived from " + n
			}
		}
		return "", ""
	}
}

// scpLike is git's "[user@]host:path"; a one-letter host is a Windows drive.
var scpLike = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^(?:[^@/:]+@)?([A-Za-z0-9.-]{2,}):([^/].*)$`) })

// webURL turns a clone or web URL of a repository into its web page without
// credentials, a trailing ".git" or "/":
//
//	git@github.com:org/app.git                 → https://github.com/org/app
//	ssh://git@host:2222/org/app.git            → https://host/org/app
//	https://user:token@dev.azure.com/o/p/_git/r → https://dev.azure.com/o/p/_git/r
//
// Anything else (a local path, another scheme) gives "".
func webURL(raw string) string {
	if m := scpLike().FindStringSubmatch(raw); m != nil && !strings.Contains(raw, "://") {
		raw = "ssh://" + m[1] + "/" + m[2]
	}
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return ""
	}
	switch strings.ToLower(u.Scheme) {
	case "http", "https":
		u.Scheme = strings.ToLower(u.Scheme)
	case "ssh", "git", "git+ssh":
		u.Scheme, u.Host = "https", u.Hostname()
	default:
		return ""
	}
	u.User, u.RawQuery, u.Fragment, u.RawFragment = nil, "", "", ""
	u.Path = strings.TrimSuffix(strings.TrimSuffix(u.Path, "/"), ".git")
	u.RawPath = ""
	return u.String()
}

// hostOf returns the host[:port] of a URL, lower-cased, or "".
func hostOf(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return ""
	}
	return strings.ToLower(u.Host)
}

func isSet(name string) cond {
	return func(get getter) bool { return get(name) != "" }
}

// equals holds when the variable is one of values, case-insensitively.
func equals(name string, values ...string) cond {
	return func(get getter) bool {
		v := get(name)
		for _, want := range values {
			if strings.EqualFold(v, want) {
				return true
			}
		}
		return false
	}
}

func hasPrefix(name, prefix string) cond {
	return func(get getter) bool { return strings.HasPrefix(get(name), prefix) }
}

// isPullRequest holds for a variable holding a pull request number, not
// empty and not "false" (Travis, Buildkite).
func isPullRequest(name string) cond {
	return func(get getter) bool { v := get(name); return v != "" && v != "false" }
}

func anyOf(conds ...cond) cond {
	return func(get getter) bool {
		for _, c := range conds {
			if c(get) {
				return true
			}
		}
		return false
	}
}

// quote quotes a value for an error message, cut to 100 bytes.
func quote(s string) string {
	const max = 100
	if len(s) <= max {
		return strconv.Quote(s)
	}
	cut := max
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return fmt.Sprintf("%s... (%d bytes)", strconv.Quote(s[:cut]), len(s))
}
