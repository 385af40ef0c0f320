package policy

import (
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/docker-werf/docker-werf/internal/gitrepo"
)

// Warnings says which keep rules keep nothing in this repository, as a
// user who wrote them would want to know before trusting the run: a
// --keep-tag, --protected (other than the defaults) or --tag-filter pattern
// that matches no tag, with what would match if the pattern was meant as a
// prefix or a substring (patterns match whole tags); keep-list tags the
// repository does not have; keep policies from werf.yaml or --policy whose
// references match no branch or git tag (repo may be nil); and --keep-last
// over tags without a creation time, which rank after the others by name.
func Warnings(tags []TagInfo, repo *gitrepo.Repo, cfg Config) ([]string, error) {
	names := make([]string, len(tags))
	for i, t := range tags {
		names[i] = t.Tag
	}
	var out []string
	for _, re := range cfg.KeepTag {
		out = append(out, unmatched("--keep-tag", re, names, "keeps nothing")...)
	}
	if !defaultProtected(cfg.Protected) {
		for _, re := range cfg.Protected {
			out = append(out, unmatched("--protected", re, names, "protects nothing")...)
		}
	}
	if cfg.TagFilter != nil {
		out = append(out, unmatched("--tag-filter", cfg.TagFilter, names, "so cleanup considers no tag")...)
	}
	if w := missingFromKeepList(cfg.KeepList, names); w != "" {
		out = append(out, w)
	}
	if cfg.KeepLast > 0 {
		if w := undatedKeepLast(tags, cfg); w != "" {
			out = append(out, w)
		}
	}
	if repo != nil && !cfg.DisableKeepPolicies && len(cfg.KeepPolicies) > 0 {
		ws, err := unmatchedPolicies(repo, cfg)
		if err != nil {
			return nil, err
		}
		out = append(out, ws...)
	}
	return out, nil
}

func defaultProtected(res []*regexp.Regexp) bool {
	if len(res) != len(DefaultProtectedPatterns) {
		return false
	}
	for i, re := range res {
		if patternOf(re) != DefaultProtectedPatterns[i] {
			return false
		}
	}
	return true
}

func countMatches(re *regexp.Regexp, names []string) (int, []string) {
	n := 0
	var some []string
	for _, s := range names {
		if re.MatchString(s) {
			n++
			if len(some) < 3 {
				some = append(some, s)
			}
		}
	}
	return n, some
}

// unmatched warns when re matches none of names, suggesting the pattern as
// a prefix, suffix or substring where that matches.
func unmatched(flag string, re *regexp.Regexp, names []string, effect string) []string {
	if n, _ := countMatches(re, names); n > 0 {
		return nil
	}
	p := patternOf(re)
	w := fmt.Sprintf("%s %q matches no tag, so it %s", flag, p, effect)
	if strings.HasPrefix(effect, "so ") {
		w = fmt.Sprintf("%s %q matches no tag, %s", flag, p, effect)
	}
	if s, n, some := suggestion(p, names); s != "" {
		w += fmt.Sprintf(" (patterns match whole tags: %q would match %d, e.g. %s)", s, n, strings.Join(some, ", "))
	}
	return []string{w}
}

// suggestion is the first of the pattern as a prefix, a suffix and a
// substring that matches a tag.
func suggestion(p string, names []string) (string, int, []string) {
	core := strings.TrimSuffix(strings.TrimPrefix(p, "^"), "$")
	for _, c := range []string{core + ".*", ".*" + core, ".*" + core + ".*"} {
		if c == p {
			continue
		}
		re, err := ParseRegexp("", c)
		if err != nil {
			continue
		}
		if n, some := countMatches(re, names); n > 0 {
			return c, n, some
		}
	}
	return "", 0, nil
}

func missingFromKeepList(list, names []string) string {
	have := make(map[string]bool, len(names))
	for _, n := range names {
		have[n] = true
	}
	var missing []string
	for _, t := range list {
		if !have[t] {
			missing = append(missing, t)
		}
	}
	switch {
	case len(missing) == 0:
		return ""
	case len(missing) == len(list):
		return fmt.Sprintf("no tag of the keep list is in the repository, so it keeps nothing (%s)", firstFew(missing))
	}
	return fmt.Sprintf("%d of the keep list's %d tags are not in the repository: %s", len(missing), len(list), firstFew(missing))
}

func firstFew(s []string) string {
	if len(s) > 5 {
		return strings.Join(s[:5], ", ") + fmt.Sprintf(" and %d more", len(s)-5)
	}
	return strings.Join(s, ", ")
}

func undatedKeepLast(tags []TagInfo, cfg Config) string {
	undated, counted := 0, 0
	for _, t := range tags {
		if cfg.TagFilter != nil && !cfg.TagFilter.MatchString(t.Tag) {
			continue
		}
		counted++
		if t.Created.IsZero() {
			undated++
		}
	}
	if undated == 0 {
		return ""
	}
	return fmt.Sprintf("--keep-last %d: %d of %d tags have no creation time, so they rank after the dated ones by tag name, not by age",
		cfg.KeepLast, undated, counted)
}

// unmatchedPolicies warns of configured keep policies whose references
// match no branch or git tag.
func unmatchedPolicies(repo *gitrepo.Repo, cfg Config) ([]string, error) {
	e := &engine{cfg: cfg, repo: repo}
	refs, err := e.references()
	if err != nil {
		return nil, err
	}
	source := cfg.PolicySource
	if source == "" {
		source = "the configuration"
	}
	var out []string
	for i, p := range cfg.KeepPolicies {
		matched := slices.ContainsFunc(refs, func(r *reference) bool { return r.kind == p.Kind && p.Match.MatchString(r.name) })
		if !matched {
			out = append(out, fmt.Sprintf("keep policy #%d (%s, %s) matches no %s of the git repository, so it keeps nothing",
				i+1, p.String(), p.where(source), p.Kind))
		}
	}
	return out, nil
}
