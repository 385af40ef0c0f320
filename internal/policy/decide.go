package policy

import (
	"errors"
	"fmt"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/docker-werf/docker-werf/internal/ci"
	"github.com/docker-werf/docker-werf/internal/gitrepo"
)

// TagInfo is one tag of the repository being cleaned.
type TagInfo struct {
	Tag     string
	Digest  string    // manifest digest, "sha256:…"
	Created time.Time // image creation time; zero when unknown
	// Commit is the commit the image was built from (from its revision
	// label or werf annotation), full or abbreviated (≥ 7 hex digits);
	// "" when unknown. When empty and the tag itself is a commit SHA (7 to
	// 40 or 64 hex digits), the tag is used.
	Commit string
}

// Decision says whether a tag is kept and why.
type Decision struct {
	Tag    string
	Keep   bool
	Reason string // a Reason* code
	Detail string // human-readable explanation
}

// Reason codes. Each code always comes with the same Keep value (Reasons).
const (
	// Always kept, decided before anything else, in this order.
	ReasonProtected = "protected"
	ReasonKeepList  = "keep-list"
	ReasonYoung     = "young"
	ReasonKeepTag   = "keep-tag"
	// Outside the tag filter: kept.
	ReasonFilteredOut = "filtered-out"

	// Git references (GitRefs).
	ReasonGitBranch        = "git-branch"
	ReasonGitBranchGone    = "git-branch-gone"
	ReasonGitTag           = "git-tag"
	ReasonGitTagGone       = "git-tag-gone"
	ReasonGitTagLimit      = "git-tag-limit"
	ReasonGitTagExpired    = "git-tag-expired"
	ReasonGitCommit        = "git-commit"
	ReasonGitCommitLimit   = "git-commit-limit"
	ReasonGitCommitExpired = "git-commit-expired"
	// GitRefs and keep policies.
	ReasonCommitGone = "commit-gone"

	// Keep policies.
	ReasonKeepPolicy    = "keep-policy"
	ReasonNoPolicy      = "no-policy"
	ReasonUnknownCommit = "unknown-commit"

	// Tag rules.
	ReasonKeepLast       = "keep-last"
	ReasonBeyondKeepLast = "beyond-keep-last"
	ReasonOlderThan      = "older-than"
	ReasonNotOlderThan   = "not-older-than"
	ReasonUnknownCreated = "unknown-created"

	// Signature, attestation and SBOM tags (sha256-<hex>[.suffix]).
	ReasonReferrerOfKept         = "referrer-of-kept"
	ReasonReferrerOfDeleted      = "referrer-of-deleted"
	ReasonReferrerUnknownSubject = "referrer-unknown-subject"

	// Nothing decided: kept.
	ReasonNoRule = "no-rule"
)

// Reasons maps every reason code to whether it keeps the tag.
var Reasons = map[string]bool{
	ReasonProtected: true, ReasonKeepList: true, ReasonYoung: true, ReasonKeepTag: true, ReasonFilteredOut: true,
	ReasonGitBranch: true, ReasonGitBranchGone: false, ReasonGitTag: true, ReasonGitTagGone: false,
	ReasonGitTagLimit: false, ReasonGitTagExpired: false, ReasonGitCommit: true, ReasonGitCommitLimit: false,
	ReasonGitCommitExpired: false, ReasonCommitGone: false,
	ReasonKeepPolicy: true, ReasonNoPolicy: false, ReasonUnknownCommit: true,
	ReasonKeepLast: true, ReasonBeyondKeepLast: false, ReasonOlderThan: false, ReasonNotOlderThan: true,
	ReasonUnknownCreated: true,
	ReasonReferrerOfKept: true, ReasonReferrerOfDeleted: false, ReasonReferrerUnknownSubject: true,
	ReasonNoRule: true,
}

// referrerTag matches the tags cosign and the OCI referrers tag schema give
// to signatures, attestations and SBOMs of the image with digest sha256:<hex>.
var referrerTag = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^sha256-([0-9a-f]{64})(?:\.[A-Za-z0-9_.-]+)?$`) })

type voteKind int

const (
	abstain voteKind = iota
	keepVote
	deleteVote
)

type vote struct {
	kind   voteKind
	reason string
	detail string
}

type commitState int

const (
	commitUnknown commitState = iota
	commitAlive
	commitGone
)

type item struct {
	TagInfo
	decided bool
	dec     Decision
	// referrer subject digest ("sha256:…") of a signature-style tag.
	subject string

	commit      string // normalised commit ("" unknown)
	commitNote  string // why the commit is unknown, for details
	state       commitState
	resolved    []string // full SHAs when alive
	tagIsCommit bool     // the tag itself names a commit (werf 1.0 git-commit tag)

	votes [3]vote // git refs, keep policies, tag rules
}

const (
	famRefs = iota
	famPolicies
	famTags
)

// Decide returns one decision per tag, sorted by tag name. repo may be nil
// (no --git-dir): then GitRefs and explicitly given KeepPolicies are errors,
// and werf's default keep policies are skipped. now is the reference time
// for every age.
func Decide(tags []TagInfo, repo *gitrepo.Repo, cfg Config, now time.Time) ([]Decision, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.GitRefs && repo == nil {
		return nil, errors.New("--git-refs needs a git repository (give --git-dir)")
	}
	usePolicies := repo != nil && !cfg.DisableKeepPolicies
	if repo == nil && !cfg.DisableKeepPolicies && len(cfg.KeepPolicies) > 0 {
		src := cfg.PolicySource
		if src == "" {
			src = "the configuration"
		}
		return nil, fmt.Errorf("keep policies from %s need a git repository (give --git-dir)", src)
	}
	useTagRules := cfg.KeepLast > 0 || cfg.OlderThan > 0

	items := make([]*item, len(tags))
	seen := make(map[string]bool, len(tags))
	for i, t := range tags {
		if t.Tag == "" {
			return nil, fmt.Errorf("tag %d of %d has an empty name", i+1, len(tags))
		}
		if seen[t.Tag] {
			return nil, fmt.Errorf("tag %q is listed twice", t.Tag)
		}
		seen[t.Tag] = true
		items[i] = &item{TagInfo: t}
	}
	sort.Slice(items, func(a, b int) bool { return items[a].Tag < items[b].Tag })

	e := &engine{cfg: cfg, now: now, repo: repo, keepList: map[string]bool{}}
	for _, t := range cfg.KeepList {
		e.keepList[t] = true
	}
	var counted []*item
	for _, it := range items {
		if e.guard(it) {
			counted = append(counted, it)
		}
	}

	if repo != nil && (cfg.GitRefs || usePolicies) {
		if err := e.resolveCommits(counted); err != nil {
			return nil, err
		}
	}
	if cfg.GitRefs {
		if err := e.gitRefs(counted); err != nil {
			return nil, err
		}
	}
	if usePolicies {
		if err := e.keepPolicies(counted); err != nil {
			return nil, err
		}
	}
	if useTagRules {
		e.tagRules(counted)
	}
	anyFamily := cfg.GitRefs || usePolicies || useTagRules
	for _, it := range counted {
		if !it.decided {
			e.combine(it, anyFamily)
		}
	}
	e.referrers(items)

	out := make([]Decision, len(items))
	for i, it := range items {
		if !it.decided || it.dec.Reason == "" {
			// Unreachable by construction; never hand out a decision
			// without a reason.
			return nil, fmt.Errorf("internal error: no decision for tag %q", it.Tag)
		}
		out[i] = it.dec
	}
	return out, nil
}

type engine struct {
	cfg      Config
	now      time.Time
	repo     *gitrepo.Repo
	keepList map[string]bool
}

func (it *item) decide(keep bool, reason, detail string) {
	it.decided = true
	it.dec = Decision{Tag: it.Tag, Keep: keep, Reason: reason, Detail: detail}
}

// guard applies the always-keep rules, the tag filter and the referrer
// deferral; it reports whether the tag takes part in the counting rules.
func (e *engine) guard(it *item) bool {
	protected := firstMatch(e.cfg.Protected, it.Tag)
	keepTag := firstMatch(e.cfg.KeepTag, it.Tag)
	listed := e.keepList[it.Tag]
	inFilter := e.cfg.TagFilter == nil || e.cfg.TagFilter.MatchString(it.Tag)
	m := referrerTag().FindStringSubmatch(it.Tag)
	switch {
	case protected != nil:
		it.decide(true, ReasonProtected, "matches --protected "+patternOf(protected))
	case listed:
		it.decide(true, ReasonKeepList, "listed in the keep list")
	case e.young(it):
		it.decide(true, ReasonYoung, fmt.Sprintf("created %s, within --keep-younger-than %s", e.age(it.Created), FormatDuration(e.cfg.KeepYoungerThan)))
	case keepTag != nil:
		it.decide(true, ReasonKeepTag, "matches --keep-tag "+patternOf(keepTag))
	case !inFilter:
		it.decide(true, ReasonFilteredOut, "does not match --tag-filter "+patternOf(e.cfg.TagFilter))
	case m != nil:
		it.subject = "sha256:" + m[1]
	}
	// Tags kept by an explicit keep rule are set aside before counting, as
	// werf does with images used in Kubernetes and GitLab with
	// name_regex_keep; young tags still count, as in werf, whose
	// built-within-N-hours rule comes after the git policies.
	return protected == nil && !listed && keepTag == nil && inFilter && m == nil
}

func (e *engine) young(it *item) bool {
	return e.cfg.KeepYoungerThan > 0 && !it.Created.IsZero() && e.now.Sub(it.Created) < e.cfg.KeepYoungerThan
}

func (e *engine) age(t time.Time) string {
	d := e.now.Sub(t)
	if d < 0 {
		return FormatDuration(-d) + " in the future"
	}
	return FormatDuration(d) + " ago"
}

func firstMatch(res []*regexp.Regexp, s string) *regexp.Regexp {
	for _, re := range res {
		if re.MatchString(s) {
			return re
		}
	}
	return nil
}

// patternOf returns the pattern as the user wrote it for a regexp made by
// ParseRegexp.
func patternOf(re *regexp.Regexp) string {
	s := re.String()
	if strings.HasPrefix(s, "^(?:") && strings.HasSuffix(s, ")$") {
		return s[4 : len(s)-2]
	}
	return s
}

func short(sha string) string {
	if len(sha) > 7 {
		return sha[:7]
	}
	return sha
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

// commitShaped reports whether a tag looks like a commit SHA: 7 to 40 or
// exactly 64 hex digits.
func commitShaped(s string) bool {
	return gitrepo.IsHex(s, 7) && (len(s) <= 40 || len(s) == 64)
}

// resolveCommits finds each counted tag's commit in the repository.
func (e *engine) resolveCommits(items []*item) error {
	for _, it := range items {
		switch c := strings.ToLower(strings.TrimSpace(it.Commit)); {
		case c != "" && commitShaped(c):
			it.commit = c
		case c != "":
			it.commitNote = fmt.Sprintf("its commit %q is not a commit SHA", it.Commit)
		case commitShaped(it.Tag):
			it.commit = strings.ToLower(it.Tag)
		default:
			it.commitNote = "no commit is known (no revision label, and the tag is not a commit SHA)"
		}
		// A short all-digit tag that names no commit is most likely a
		// build number, not a commit.
		if commitShaped(it.Tag) {
			it.tagIsCommit = true
			if allDigits(it.Tag) && len(it.Tag) < 40 {
				ok, err := e.repo.HasCommit(it.Tag)
				if err != nil {
					return err
				}
				if !ok {
					it.tagIsCommit = false
					if it.Commit == "" {
						it.commit = ""
						it.commitNote = "no commit is known (no revision label; the numeric tag names no commit)"
					}
				}
			}
		}
		if it.commit == "" {
			continue
		}
		m, err := e.repo.Resolve(it.commit)
		if err != nil {
			return err
		}
		if len(m) > 0 {
			it.state, it.resolved = commitAlive, m
			continue
		}
		it.state = commitGone
	}
	return nil
}

var versionLike = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^v?[0-9]+(\.[0-9]+)+([-+_.].*)?$|^v[0-9]+$`) })

// gitRefs votes as werf 1.0's tagging-strategy cleanup: a tag named after
// a live branch or git tag (by slug) or a live commit lives; the tags of
// deleted branches, git tags and commits go; then the git-tag and
// git-commit expiry and limit apply.
func (e *engine) gitRefs(items []*item) error {
	branches, err := e.repo.Branches()
	if err != nil {
		return err
	}
	gtags, err := e.repo.Tags()
	if err != nil {
		return err
	}
	bySlugB := map[string]*gitrepo.Branch{}
	for i := range branches {
		s := ci.Slug(branches[i].Name)
		if _, dup := bySlugB[s]; !dup {
			bySlugB[s] = &branches[i]
		}
	}
	bySlugT := map[string]*gitrepo.Tag{}
	for i := range gtags {
		s := ci.Slug(gtags[i].Name)
		if _, dup := bySlugT[s]; !dup {
			bySlugT[s] = &gtags[i]
		}
	}
	var tagImgs, commitImgs []*item
	gitTagOf := map[*item]*gitrepo.Tag{}
	for _, it := range items {
		v := &it.votes[famRefs]
		if b := bySlugB[it.Tag]; b != nil {
			*v = vote{keepVote, ReasonGitBranch, fmt.Sprintf("branch %s exists (%s at %s)", b.Name, strings.Join(shortRefs(b.Refs), ", "), short(b.Commit))}
			continue
		}
		if gt := bySlugT[it.Tag]; gt != nil {
			gitTagOf[it] = gt
			tagImgs = append(tagImgs, it)
			continue
		}
		if it.tagIsCommit {
			// The tag names the commit (werf 1.0 git-commit strategy),
			// whatever a label says.
			alive, err := e.repo.HasCommit(it.Tag)
			if err != nil {
				return err
			}
			if alive {
				commitImgs = append(commitImgs, it)
			} else {
				*v = vote{deleteVote, ReasonCommitGone, fmt.Sprintf("commit %s is on no branch or tag", short(strings.ToLower(it.Tag)))}
			}
			continue
		}
		switch {
		case versionLike().MatchString(it.Tag):
			// A version names a git tag, whatever became of its commit.
			d := fmt.Sprintf("no git tag or branch has the slug %q (deleted git tag)", it.Tag)
			if it.state == commitGone {
				d += fmt.Sprintf("; its commit %s is on no branch or tag either", short(it.commit))
			}
			*v = vote{deleteVote, ReasonGitTagGone, d}
		case it.state == commitGone:
			*v = vote{deleteVote, ReasonCommitGone, fmt.Sprintf("its commit %s is on no branch or tag", short(it.commit))}
		default:
			*v = vote{deleteVote, ReasonGitBranchGone, fmt.Sprintf("no branch or git tag has the slug %q (deleted branch)", it.Tag)}
		}
	}
	e.strategyLimits(tagImgs, "git-tag", e.cfg.GitTagStrategyLimit, e.cfg.GitTagStrategyExpiryDays,
		ReasonGitTag, ReasonGitTagLimit, ReasonGitTagExpired,
		func(it *item) string { return "git tag " + gitTagOf[it].Name + " exists" })
	e.strategyLimits(commitImgs, "git-commit", e.cfg.GitCommitStrategyLimit, e.cfg.GitCommitStrategyExpiryDays,
		ReasonGitCommit, ReasonGitCommitLimit, ReasonGitCommitExpired,
		func(it *item) string { return "commit " + short(strings.ToLower(it.Tag)) + " is on a branch or tag" })
	return nil
}

func shortRefs(refs []string) []string {
	out := make([]string, len(refs))
	for i, r := range refs {
		out[i] = strings.TrimPrefix(strings.TrimPrefix(r, "refs/heads/"), "refs/remotes/")
	}
	return out
}

// strategyLimits applies werf 1.0's per-strategy policy: first the images
// created more than expiryDays ago go, then of the rest only the newest
// limit stay.
func (e *engine) strategyLimits(items []*item, what string, limit, expiryDays int, keep, overLimit, expired string, exists func(*item) string) {
	var live []*item
	for _, it := range items {
		if expiryDays > 0 && !it.Created.IsZero() && e.now.Sub(it.Created) > time.Duration(expiryDays)*24*time.Hour {
			it.votes[famRefs] = vote{deleteVote, expired, fmt.Sprintf("%s, but the image was created %s, beyond --%s-strategy-expiry-days %d",
				exists(it), e.age(it.Created), what, expiryDays)}
			continue
		}
		live = append(live, it)
	}
	sortNewest(live)
	for i, it := range live {
		switch {
		case limit > 0 && i >= limit:
			it.votes[famRefs] = vote{deleteVote, overLimit, fmt.Sprintf("%s, but the image is the %s newest of %d %s images, beyond --%s-strategy-limit %d",
				exists(it), ordinal(i+1), len(live), what, what, limit)}
		case limit > 0:
			it.votes[famRefs] = vote{keepVote, keep, fmt.Sprintf("%s (%s newest of %d %s images, --%s-strategy-limit %d)",
				exists(it), ordinal(i+1), len(live), what, what, limit)}
		default:
			it.votes[famRefs] = vote{keepVote, keep, exists(it)}
		}
	}
}

// sortNewest sorts by creation time, newest first, unknown times last, ties
// by tag name.
func sortNewest(items []*item) {
	sort.SliceStable(items, func(a, b int) bool {
		ta, tb := items[a].Created, items[b].Created
		if ta.IsZero() != tb.IsZero() {
			return tb.IsZero()
		}
		if !ta.Equal(tb) {
			return ta.After(tb)
		}
		return items[a].Tag < items[b].Tag
	})
}

func ordinal(n int) string {
	suffix := "th"
	switch {
	case n%100 >= 11 && n%100 <= 13:
	case n%10 == 1:
		suffix = "st"
	case n%10 == 2:
		suffix = "nd"
	case n%10 == 3:
		suffix = "rd"
	}
	return strconv.Itoa(n) + suffix
}

// tagRules votes by creation time alone: the KeepLast newest stay; the
// others go when older than OlderThan, or, without OlderThan, all.
func (e *engine) tagRules(items []*item) {
	sorted := append([]*item(nil), items...)
	sortNewest(sorted)
	for i, it := range sorted {
		v := &it.votes[famTags]
		switch {
		case i < e.cfg.KeepLast:
			*v = vote{keepVote, ReasonKeepLast, fmt.Sprintf("%s newest of %d tags, within --keep-last %d", ordinal(i+1), len(sorted), e.cfg.KeepLast)}
		case e.cfg.OlderThan == 0:
			*v = vote{deleteVote, ReasonBeyondKeepLast, fmt.Sprintf("%s newest of %d tags, beyond --keep-last %d", ordinal(i+1), len(sorted), e.cfg.KeepLast)}
		case it.Created.IsZero():
			*v = vote{abstain, ReasonUnknownCreated, "creation time unknown, so --older-than cannot judge it"}
		case e.now.Sub(it.Created) > e.cfg.OlderThan:
			d := fmt.Sprintf("created %s, older than --older-than %s", e.age(it.Created), FormatDuration(e.cfg.OlderThan))
			if e.cfg.KeepLast > 0 {
				d += fmt.Sprintf(", and not among the --keep-last %d newest", e.cfg.KeepLast)
			}
			*v = vote{deleteVote, ReasonOlderThan, d}
		default:
			*v = vote{abstain, ReasonNotOlderThan, fmt.Sprintf("created %s, not older than --older-than %s", e.age(it.Created), FormatDuration(e.cfg.OlderThan))}
		}
	}
}

// combine turns the families' votes into the decision: a tag kept by any
// family is kept; otherwise a tag any family deletes is deleted; otherwise
// it is kept with the first abstention's reason, or no-rule.
func (e *engine) combine(it *item, anyFamily bool) {
	for _, want := range []voteKind{keepVote, deleteVote} {
		var first *vote
		var also []string
		for i := range it.votes {
			v := &it.votes[i]
			if v.kind != want {
				continue
			}
			switch {
			case first == nil:
				first = v
			case v.reason != first.reason && !slices.Contains(also, v.reason):
				also = append(also, v.reason)
			}
		}
		if first != nil {
			d := first.detail
			if len(also) > 0 {
				d += " (also " + strings.Join(also, ", ") + ")"
			}
			it.decide(want == keepVote, first.reason, d)
			return
		}
	}
	for _, v := range it.votes {
		if v.reason != "" {
			it.decide(true, v.reason, v.detail)
			return
		}
	}
	if anyFamily {
		it.decide(true, ReasonNoRule, "no rule applies to this tag")
		return
	}
	it.decide(true, ReasonNoRule, "no deletion rule is configured (--git-refs, keep policies with --git-dir, --keep-last or --older-than)")
}

// referrers decides signature-style tags (sha256-<hex>[.sig|.att|…]) by
// their subject: kept while a tag of the subject digest stays, deleted with
// it, kept when no listed tag has the subject digest.
func (e *engine) referrers(items []*item) {
	byDigest := map[string][]*item{}
	for _, it := range items {
		if it.Digest != "" {
			byDigest[it.Digest] = append(byDigest[it.Digest], it)
		}
	}
	visiting := map[*item]bool{}
	var resolve func(it *item)
	resolve = func(it *item) {
		if it.decided {
			return
		}
		visiting[it] = true
		var kept, deleted []string
		for _, s := range byDigest[it.subject] {
			if s == it || visiting[s] {
				continue
			}
			resolve(s)
			if s.dec.Keep {
				kept = append(kept, s.Tag)
			} else {
				deleted = append(deleted, s.Tag)
			}
		}
		visiting[it] = false
		ds := shortDigest(it.subject)
		switch {
		case len(kept) > 0:
			it.decide(true, ReasonReferrerOfKept, fmt.Sprintf("refers to %s, kept as %s", ds, strings.Join(kept, ", ")))
		case len(deleted) > 0:
			it.decide(false, ReasonReferrerOfDeleted, fmt.Sprintf("refers to %s, deleted with %s", ds, strings.Join(deleted, ", ")))
		default:
			it.decide(true, ReasonReferrerUnknownSubject, fmt.Sprintf("refers to %s, which no listed tag points at", ds))
		}
	}
	for _, it := range items {
		if it.subject != "" {
			resolve(it)
		}
	}
}

func shortDigest(d string) string {
	if len(d) > 19 {
		return d[:19]
	}
	return d
}
