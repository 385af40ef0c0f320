package policy

import (
	"fmt"
	"sort"
	"time"

	"github.com/docker-werf/docker-werf/internal/gitrepo"
)

// reference is a branch or git tag a keep policy may select.
type reference struct {
	kind   RefKind
	name   string
	time   time.Time
	tips   []string // branch tips, or the tag's commit
	policy int      // index of the last policy that selected it; -1 none
}

// keepPolicies votes as werf's git-history cleanup: each policy selects
// references (references.branch|tag and references.limit); the last policy
// selecting a reference sets its imagesPerReference; every reference's
// history (a branch: all commits reachable from its tips; a tag: only its
// commit) is searched for commits images were built from, and the images of
// the commits imagesPerReference selects are kept. Images of live commits
// no reference keeps are deleted ("no-policy"); images whose commit is
// gone are deleted ("commit-gone"); images without a known commit are left
// to the other rules ("unknown-commit").
//
// Unlike werf, every reference is scanned in full (werf stops a scan at
// commits an earlier reference covered, an optimisation), and branches of
// every remote and local branches count, not only origin's.
func (e *engine) keepPolicies(items []*item) error {
	policies := e.cfg.KeepPolicies
	source := e.cfg.PolicySource
	if len(policies) == 0 {
		policies, source = DefaultKeepPolicies(), "werf defaults"
	}
	if source == "" {
		source = "the configuration"
	}
	byCommit := map[string][]*item{}
	for _, it := range items {
		v := &it.votes[famPolicies]
		switch it.state {
		case commitUnknown:
			*v = vote{abstain, ReasonUnknownCommit, it.commitNote + ", so the keep policies cannot place it in git history"}
		case commitGone:
			*v = vote{deleteVote, ReasonCommitGone, fmt.Sprintf("its commit %s is on no branch or tag", short(it.commit))}
		case commitAlive:
			for _, sha := range it.resolved {
				byCommit[sha] = append(byCommit[sha], it)
			}
		}
	}
	if len(byCommit) == 0 {
		return nil
	}

	refs, err := e.references()
	if err != nil {
		return err
	}
	for i, p := range policies {
		var matched []*reference
		for _, r := range refs {
			if r.kind == p.Kind && p.Match.MatchString(r.name) {
				matched = append(matched, r)
			}
		}
		for _, r := range selectLimit(matched, func(r *reference) time.Time { return r.time }, p.References, e.now) {
			r.policy = i
		}
	}

	type keeper struct {
		ref    *reference
		commit string
		rank   int
		of     int
	}
	keptBy := map[*item]keeper{}
	for _, r := range refs { // newest reference first: it names the keeper
		if r.policy < 0 {
			continue
		}
		ipr := policies[r.policy].ImagesPerReference
		if ipr.Last == 0 {
			continue
		}
		var hits []gitrepo.Commit
		if r.kind == TagRef {
			// werf scans tags to depth 1: only the tagged commit.
			if _, ok := byCommit[r.tips[0]]; ok {
				t, _, err := e.repo.CommitTime(r.tips[0])
				if err != nil {
					return err
				}
				hits = []gitrepo.Commit{{SHA: r.tips[0], Time: t}}
			}
		} else {
			hist, err := e.repo.History(r.tips...)
			if err != nil {
				return err
			}
			for _, c := range hist {
				if _, ok := byCommit[c.SHA]; ok {
					hits = append(hits, c)
				}
			}
		}
		sel := selectLimit(hits, func(c gitrepo.Commit) time.Time { return c.Time }, ipr, e.now)
		for k, c := range sel {
			for _, it := range byCommit[c.SHA] {
				if _, done := keptBy[it]; !done {
					keptBy[it] = keeper{r, c.SHA, k + 1, len(sel)}
				}
			}
		}
	}
	for _, it := range items {
		if it.state != commitAlive {
			continue
		}
		v := &it.votes[famPolicies]
		if k, ok := keptBy[it]; ok {
			p := policies[k.ref.policy]
			*v = vote{keepVote, ReasonKeepPolicy, fmt.Sprintf("%s %s keeps commit %s (%s of %d image commits kept, images %s) by policy #%d %s %s (%s)",
				k.ref.kind, k.ref.name, short(k.commit), ordinal(k.rank), k.of, p.ImagesPerReference.String(),
				k.ref.policy+1, p.Kind, p.Pattern, p.where(source))}
			continue
		}
		*v = vote{deleteVote, ReasonNoPolicy, fmt.Sprintf("commit %s is on a branch or tag, but no keep policy keeps its image (policies: %s)",
			short(it.resolved[0]), source)}
	}
	return nil
}

// references lists branches and git tags, newest first (ties: branches
// before tags, then by name).
func (e *engine) references() ([]*reference, error) {
	branches, err := e.repo.Branches()
	if err != nil {
		return nil, err
	}
	tags, err := e.repo.Tags()
	if err != nil {
		return nil, err
	}
	var refs []*reference
	for _, b := range branches {
		refs = append(refs, &reference{kind: BranchRef, name: b.Name, time: b.Time, tips: b.Tips, policy: -1})
	}
	for _, t := range tags {
		if t.Commit == "" {
			continue
		}
		refs = append(refs, &reference{kind: TagRef, name: t.Name, time: t.Time, tips: []string{t.Commit}, policy: -1})
	}
	sort.SliceStable(refs, func(a, b int) bool {
		ra, rb := refs[a], refs[b]
		if !ra.time.Equal(rb.time) {
			return ra.time.After(rb.time)
		}
		if ra.kind != rb.kind {
			return ra.kind == BranchRef
		}
		return ra.name < rb.name
	})
	return refs, nil
}

// selectLimit applies a Limit to items sorted newest first: the newest
// Last, those newer than now−In, combined by Operator; without conditions
// all of them.
func selectLimit[T any](items []T, at func(T) time.Time, l Limit, now time.Time) []T {
	if !l.hasLast() && !l.hasIn() {
		return items
	}
	cutoff := now.Add(-l.In)
	var out []T
	for i, x := range items {
		byLast := l.hasLast() && i < l.Last
		byIn := l.hasIn() && at(x).After(cutoff)
		var ok bool
		switch {
		case !l.hasIn():
			ok = byLast
		case !l.hasLast():
			ok = byIn
		case l.Operator == Or:
			ok = byLast || byIn
		default:
			ok = byLast && byIn
		}
		if ok {
			out = append(out, x)
		}
	}
	return out
}
