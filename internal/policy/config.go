package policy

import (
	"errors"
	"fmt"
	"regexp"
	"time"
)

// Config selects the rules. Start from DefaultConfig: its zero value is not
// valid (the git-tag and git-commit limits must be -1 or positive). Each
// field is a flag of `docker werf cleanup`, named in the comment; errors
// name the flag.
type Config struct {
	// Protected tags are always kept (--protected). See DefaultProtected.
	Protected []*regexp.Regexp
	// KeepList tags are always kept (--keep-list FILE, see LoadKeepList).
	KeepList []string
	// KeepYoungerThan keeps every tag created less than this long ago
	// (--keep-younger-than, werf's keepImagesBuiltWithinLastNHours);
	// 0 disables the rule. Default 2h.
	KeepYoungerThan time.Duration
	// KeepTag tags are always kept (--keep-tag).
	KeepTag []*regexp.Regexp
	// TagFilter, when set, limits cleanup to the tags it matches; the others
	// are kept as "filtered-out" (--tag-filter).
	TagFilter *regexp.Regexp

	// GitRefs turns on the tag-per-reference rules of werf 1.0's
	// tagging-strategy cleanup (--git-refs): branch-slug, git-tag-slug and
	// commit-SHA tags live as long as their branch, tag or commit.
	GitRefs bool
	// GitTagStrategyLimit keeps at most this many images of existing git
	// tags, newest first by creation time (--git-tag-strategy-limit,
	// WERF_GIT_TAG_STRATEGY_LIMIT); -1: no limit.
	GitTagStrategyLimit int
	// GitTagStrategyExpiryDays deletes images of existing git tags created
	// more than this many days ago (--git-tag-strategy-expiry-days,
	// WERF_GIT_TAG_STRATEGY_EXPIRY_DAYS); -1: no expiry.
	GitTagStrategyExpiryDays int
	// GitCommitStrategyLimit and GitCommitStrategyExpiryDays are the same
	// for images tagged with the SHA of an existing commit
	// (--git-commit-strategy-limit, --git-commit-strategy-expiry-days).
	GitCommitStrategyLimit      int
	GitCommitStrategyExpiryDays int

	// KeepPolicies are werf's cleanup.keepPolicies, from werf.yaml
	// (LoadWerfConfig) or a --policy file (LoadPolicyFile). Empty means
	// werf's defaults (DefaultKeepPolicies). They apply whenever a git
	// repository is given, unless DisableKeepPolicies.
	KeepPolicies []KeepPolicy
	// PolicySource names where KeepPolicies come from, for messages
	// ("werf.yaml", a file name); "" for werf's defaults.
	PolicySource string
	// DisableKeepPolicies turns the keepPolicies rules off
	// (--no-keep-policies, werf's cleanup.disableGitHistoryBasedPolicy).
	DisableKeepPolicies bool

	// SkipKubernetes says not to ask the clusters what they run, so that a
	// tag they use is decided by the other rules alone (werf's
	// cleanup.disableKubernetesBasedPolicy, see WerfCleanup.ApplyKubernetes;
	// --without-kube is the same, and wins when given). Decide does not read
	// it: it is for the Kubernetes scan of `docker werf cleanup`.
	SkipKubernetes bool
	// SkipKubernetesBy names where SkipKubernetes was said, "FILE:LINE" of
	// the werf.yaml key, for the notice that clusters are not scanned.
	SkipKubernetesBy string

	// KeepLast keeps the newest N tags by creation time and, unless
	// OlderThan is set, deletes the others (--keep-last); 0: off.
	KeepLast int
	// OlderThan deletes tags created longer ago than this, except the
	// KeepLast newest (--older-than); 0: off.
	OlderThan time.Duration
}

// DefaultKeepYoungerThan is werf's keepImagesBuiltWithinLastNHours default
// (2), the grace window that protects images a running build may still be
// pushing or about to reference.
const DefaultKeepYoungerThan = 2 * time.Hour

// DefaultProtectedPatterns are the tags kept by default, whole-tag matches:
// the conventional moving tags (latest, stable) and the tags named after
// werf's long-lived default branches (main, master, staging, production, the
// branches of werf's third default keep policy), which deployments commonly
// pull by name. GitLab's cleanup policy likewise always keeps latest.
var DefaultProtectedPatterns = []string{"latest", "stable", "main", "master", "staging", "production"}

// DefaultProtected returns DefaultProtectedPatterns compiled as ParseRegexps
// does (anchored).
func DefaultProtected() []*regexp.Regexp {
	re, err := ParseRegexps("--protected", DefaultProtectedPatterns)
	if err != nil {
		panic(err)
	}
	return re
}

// DefaultConfig returns the defaults: DefaultProtected, KeepYoungerThan 2h,
// git-tag and git-commit limits and expiries -1 (none), werf's default keep
// policies, everything else off.
func DefaultConfig() Config {
	return Config{
		Protected:                   DefaultProtected(),
		KeepYoungerThan:             DefaultKeepYoungerThan,
		GitTagStrategyLimit:         -1,
		GitTagStrategyExpiryDays:    -1,
		GitCommitStrategyLimit:      -1,
		GitCommitStrategyExpiryDays: -1,
	}
}

// Validate checks the configuration; Decide calls it.
func (c *Config) Validate() error {
	var errs []error
	nilRe := func(flag string, res []*regexp.Regexp) {
		for i, re := range res {
			if re == nil {
				errs = append(errs, fmt.Errorf("%s: pattern %d is nil", flag, i+1))
			}
		}
	}
	nilRe("--protected", c.Protected)
	nilRe("--keep-tag", c.KeepTag)
	for _, t := range c.KeepList {
		if t == "" {
			errs = append(errs, errors.New("--keep-list: empty tag"))
			break
		}
	}
	nonNeg := func(flag string, d time.Duration) {
		if d < 0 {
			errs = append(errs, fmt.Errorf("%s: negative duration %s", flag, d))
		}
	}
	nonNeg("--keep-younger-than", c.KeepYoungerThan)
	nonNeg("--older-than", c.OlderThan)
	if c.KeepLast < 0 {
		errs = append(errs, fmt.Errorf("--keep-last: %d is negative (0 turns it off)", c.KeepLast))
	}
	limit := func(flag string, n int, what string) {
		if n == 0 || n < -1 {
			errs = append(errs, fmt.Errorf("%s: %d is not allowed: give -1 for no %s or a positive number", flag, n, what))
		}
	}
	limit("--git-tag-strategy-limit", c.GitTagStrategyLimit, "limit")
	limit("--git-tag-strategy-expiry-days", c.GitTagStrategyExpiryDays, "expiry")
	limit("--git-commit-strategy-limit", c.GitCommitStrategyLimit, "limit")
	limit("--git-commit-strategy-expiry-days", c.GitCommitStrategyExpiryDays, "expiry")
	for i, p := range c.KeepPolicies {
		if err := p.validate(); err != nil {
			errs = append(errs, fmt.Errorf("keep policy #%d (%s): %w", i+1, p.where(c.PolicySource), err))
		}
	}
	return errors.Join(errs...)
}

// RefKind says whether a keep policy selects branches or git tags.
type RefKind string

// Reference kinds.
const (
	BranchRef RefKind = "branch"
	TagRef    RefKind = "tag"
)

// Operator combines the last and in conditions of a Limit.
type Operator string

// Operators. The empty Operator means And.
const (
	And Operator = "And"
	Or  Operator = "Or"
)

// Limit is werf's {last, in, operator}: in references.limit it selects
// references by their time (branch: committer time of the tip; tag: tagger
// date, else commit time), in imagesPerReference the images of a reference
// by the committer time of the commit they were built from.
type Limit struct {
	// Last keeps the newest Last items; -1: no count condition. The zero
	// value 0 keeps nothing (useful in imagesPerReference to override an
	// earlier policy for some references).
	Last int
	// In keeps the items newer than now−In; 0: no time condition.
	In time.Duration
	// Operator combines Last and In when both are given: And (default,
	// intersection) or Or (union).
	Operator Operator
}

// NoLimit is a Limit without conditions.
var NoLimit = Limit{Last: -1}

func (l Limit) hasLast() bool { return l.Last >= 0 }
func (l Limit) hasIn() bool   { return l.In > 0 }

func (l Limit) validate(field string) error {
	if l.Last < -1 {
		return fmt.Errorf("%s.last: %d is less than -1 (-1 means no limit)", field, l.Last)
	}
	if l.In < 0 {
		return fmt.Errorf("%s.in: negative duration %s", field, l.In)
	}
	if l.Operator != "" && l.Operator != And && l.Operator != Or {
		return fmt.Errorf("%s.operator: %q is not And or Or", field, string(l.Operator))
	}
	return nil
}

// String renders the limit, e.g. "last 2 and in 7d".
func (l Limit) String() string {
	var s string
	if l.hasLast() {
		s = fmt.Sprintf("last %d", l.Last)
	}
	if l.hasIn() {
		if s != "" {
			s += " "
		}
		s += "in " + FormatDuration(l.In)
	}
	if l.hasLast() && l.hasIn() {
		// "last 2 and in 7d": the operator between its operands, as it
		// reads.
		op := "and"
		if l.Operator == Or {
			op = "or"
		}
		s = fmt.Sprintf("last %d %s in %s", l.Last, op, FormatDuration(l.In))
	}
	if s == "" {
		return "no limit"
	}
	return s
}

// KeepPolicy is one entry of werf's cleanup.keepPolicies.
type KeepPolicy struct {
	// Kind is BranchRef or TagRef.
	Kind RefKind
	// Pattern is the value as written: "/regexp/" or a literal name.
	Pattern string
	// Match matches whole reference names (branch names without the remote
	// prefix, tag names).
	Match *regexp.Regexp
	// References selects among the matching references (references.limit).
	References Limit
	// ImagesPerReference selects the images kept for each selected
	// reference (imagesPerReference); NoLimit keeps all images built from
	// commits of the reference's history, as werf does when it is omitted.
	ImagesPerReference Limit
	// Source is where the policy was written ("werf.yaml:12") or
	// "werf default #N".
	Source string
}

func (p KeepPolicy) validate() error {
	if p.Kind != BranchRef && p.Kind != TagRef {
		return fmt.Errorf("kind %q is not branch or tag", string(p.Kind))
	}
	if p.Match == nil {
		return errors.New("no pattern")
	}
	if err := p.References.validate("references.limit"); err != nil {
		return err
	}
	return p.ImagesPerReference.validate("imagesPerReference")
}

func (p KeepPolicy) where(source string) string {
	if p.Source != "" {
		return p.Source
	}
	if source != "" {
		return source
	}
	return "config"
}

// String renders the policy briefly: `branch /.*/ (limit last 10 and in 7d;
// images last 2 and in 7d)`.
func (p KeepPolicy) String() string {
	s := string(p.Kind) + " " + p.Pattern
	var parts []string
	if p.References != NoLimit && (p.References.hasLast() || p.References.hasIn()) {
		parts = append(parts, "limit "+p.References.String())
	}
	if p.ImagesPerReference.hasLast() || p.ImagesPerReference.hasIn() {
		parts = append(parts, "images "+p.ImagesPerReference.String())
	}
	if len(parts) > 0 {
		s += " ("
		for i, x := range parts {
			if i > 0 {
				s += "; "
			}
			s += x
		}
		s += ")"
	}
	return s
}

// DefaultMainImagesPerReference is imagesPerReference.last of werf's third
// default policy (main, master, staging, production). werf's documentation
// (since PR #6668, 2025-02) says 2; werf's code says 10 since a refactor
// (#6708, 2025-03). docker werf follows the documentation.
const DefaultMainImagesPerReference = 2

// DefaultKeepPolicies returns werf's documented default keep policies,
// used when none are configured:
//
//  1. tags /.*/, the last 10 (one image each: tags are scanned to depth 1);
//  2. branches /.*/, the last 10 active in the last 168h, 2 images each from
//     the last 168h;
//  3. branches main, master, staging and production: 2 images each.
func DefaultKeepPolicies() []KeepPolicy {
	week := 168 * time.Hour
	return []KeepPolicy{
		{Kind: TagRef, Pattern: "/.*/", Match: regexp.MustCompile(`^(?:.*)$`),
			References: Limit{Last: 10}, ImagesPerReference: NoLimit, Source: "werf default #1"},
		{Kind: BranchRef, Pattern: "/.*/", Match: regexp.MustCompile(`^(?:.*)$`),
			References:         Limit{Last: 10, In: week, Operator: And},
			ImagesPerReference: Limit{Last: 2, In: week, Operator: And}, Source: "werf default #2"},
		{Kind: BranchRef, Pattern: "/^(main|master|staging|production)$/", Match: regexp.MustCompile(`^(?:main|master|staging|production)$`),
			References: NoLimit, ImagesPerReference: Limit{Last: DefaultMainImagesPerReference}, Source: "werf default #3"},
	}
}
