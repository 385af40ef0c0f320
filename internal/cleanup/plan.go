package cleanup

import (
	"maps"
	"slices"

	"github.com/docker-werf/docker-werf/internal/policy"
)

// ActionKind is how a deletion is carried out.
type ActionKind string

const (
	// Untag removes exactly one tag and leaves its manifest, because
	// something that is kept still needs the manifest.
	Untag ActionKind = "untag"
	// DeleteManifest deletes a manifest by digest, and with it every tag on
	// it: only when every one of those tags is to go.
	DeleteManifest ActionKind = "delete-manifest"
)

// Action is one deletion.
type Action struct {
	Kind   ActionKind
	Digest string
	Tags   []string
}

// Plan is what a cleanup keeps and deletes.
type Plan struct {
	Items     map[string]Item
	Decisions []policy.Decision
	Actions   []Action
	// CannotUntag is PlanOptions.CannotUntag: a deletion of a whole image
	// that a tag pushed during the run stops keeps the image's tags
	// (ReasonCannotUntag) instead of untagging them.
	CannotUntag bool
}

// Reasons the plan adds to the policy's.
const (
	ReasonReferrerOfKept    = "referrer-of-kept"
	ReasonReferrerOfDeleted = "referrer-of-deleted"
)

// weakKeep are keep reasons that only mean "no rule deleted it": a referrer
// kept for one of them follows its subject into deletion.
var weakKeep = map[string]bool{"no-rule": true, "unknown-commit": true, "unknown-created": true,
	"not-older-than": true, "referrer-unknown-subject": true}

// PlanOptions say how the registry deletes.
type PlanOptions struct {
	// DeleteManifests deletes a digest whole when every tag on it goes.
	DeleteManifests bool
	// CannotUntag is for registries that delete whole images only (GitHub
	// Packages deletes package versions): a tag whose image keeps another
	// tag cannot go, and is kept with ReasonCannotUntag.
	CannotUntag bool
	// UntagDeletesImage is for registries where removing an image's last
	// tag deletes the image (ECR): an image something kept needs (a kept
	// index's child, a kept referrer's subject) keeps one of its tags, with
	// ReasonUntagDeletesImage, when every other tag on it goes.
	UntagDeletesImage bool
	// InUse are the images that something runs (Kubernetes): they are kept
	// with ReasonInUse.
	InUse InUse
}

// ReasonUntagDeletesImage keeps the last tag of an image something kept
// needs, on a registry that deletes an image with its last tag.
const ReasonUntagDeletesImage = "untag-deletes-image"

// ReasonCannotUntag keeps a tag the registry cannot remove without
// removing a kept tag of the same image.
const ReasonCannotUntag = "cannot-untag"

// MakePlan turns the policy's decisions into actions that never take a kept
// tag down. By default every deleted tag is untagged on its own: a manifest
// delete takes every tag on the digest, including one pushed onto it after
// the last check (werf's content-based tags land on existing digests all the
// time). With deleteManifests, a digest is deleted whole when every tag on
// it goes and nothing kept needs it (a kept tag, a kept index's child, a kept
// referrer's subject): one request instead of one per tag, for purge or for
// registries nobody pushes to during the run.
func MakePlan(items []Item, decisions []policy.Decision, opts PlanOptions) Plan {
	p := Plan{Items: make(map[string]Item, len(items)), CannotUntag: opts.CannotUntag}
	for _, it := range items {
		p.Items[it.Tag] = it
	}
	p.Decisions = followSubjects(p.Items, deleteThrowAways(p.Items, keepInUse(p.Items, slices.Clone(decisions), opts.InUse)))
	if opts.CannotUntag {
		p.Decisions = keepWholeImages(p.Items, p.Decisions)
	}
	if opts.UntagDeletesImage {
		p.Decisions = keepLastTags(p.Items, p.Decisions)
	}
	needed := neededDigests(p.Items, p.Decisions)
	byDigest := map[string][]policy.Decision{}
	for _, d := range p.Decisions {
		dig := p.Items[d.Tag].Digest
		byDigest[dig] = append(byDigest[dig], d)
	}
	for _, dig := range slices.Sorted(maps.Keys(byDigest)) {
		untagOnly := !opts.CannotUntag && (needed[dig] || !opts.DeleteManifests)
		p.Actions = append(p.Actions, actionsFor(dig, byDigest[dig], untagOnly)...)
	}
	return p
}

func actionsFor(digest string, ds []policy.Decision, untagOnly bool) []Action {
	var gone []string
	for _, d := range ds {
		if !d.Keep {
			gone = append(gone, d.Tag)
		}
	}
	if len(gone) == 0 {
		return nil
	}
	if !untagOnly && len(gone) == len(ds) {
		return []Action{{Kind: DeleteManifest, Digest: digest, Tags: gone}}
	}
	actions := make([]Action, len(gone))
	for i, tag := range gone {
		actions[i] = Action{Kind: Untag, Digest: digest, Tags: []string{tag}}
	}
	return actions
}

// InUse names images in use, by tag and by digest, each with a detail
// saying who uses it.
type InUse struct {
	Tags    map[string]string
	Digests map[string]string
}

// ReasonInUse keeps a tag that a running workload names, by tag or by the
// digest of its image.
const ReasonInUse = "in-use"

// keepInUse keeps the tags in use: by name, by their digest, or by the
// digest of a manifest their index lists (to any depth). A tag the policy
// keeps for a reason of its own keeps it.
func keepInUse(items map[string]Item, ds []policy.Decision, in InUse) []policy.Decision {
	if len(in.Tags) == 0 && len(in.Digests) == 0 {
		return ds
	}
	digestInUse := inUseDigests(items, in.Digests)
	for i, d := range ds {
		if d.Keep && !weakKeep[d.Reason] {
			continue
		}
		detail, ok := in.Tags[d.Tag]
		if !ok {
			detail, ok = digestInUse(items[d.Tag].Digest)
		}
		if ok {
			ds[i] = policy.Decision{Tag: d.Tag, Keep: true, Reason: ReasonInUse, Detail: detail}
		}
	}
	return ds
}

// inUseDigests says whether a manifest, or one its index lists, is in use.
func inUseDigests(items map[string]Item, inUse map[string]string) func(digest string) (string, bool) {
	children := map[string][]string{}
	for _, it := range items {
		if it.IsIndex {
			children[it.Digest] = it.Children
		}
	}
	type answer struct {
		detail string
		ok     bool
	}
	known := map[string]answer{}
	var find func(digest string, depth int) (string, bool)
	find = func(digest string, depth int) (string, bool) {
		if detail, ok := inUse[digest]; ok {
			return detail, true
		}
		if a, ok := known[digest]; ok || depth > 16 {
			return a.detail, a.ok
		}
		known[digest] = answer{} // an index listing itself ends here
		for _, c := range children[digest] {
			if detail, ok := find(c, depth+1); ok {
				known[digest] = answer{detail, true}
				return detail, true
			}
		}
		return "", false
	}
	return func(digest string) (string, bool) {
		if digest == "" {
			return "", false
		}
		return find(digest, 0)
	}
}

// ReasonInterruptedUntag deletes a tag that an earlier run overwrote with a
// throw-away manifest and stopped before deleting.
const ReasonInterruptedUntag = "interrupted-untag"

// deleteThrowAways deletes every tag that points to a throw-away manifest,
// whatever else the policy says of it: the image it named was untagged
// already, the tag names an empty manifest, and only a rerun can finish the
// untag.
func deleteThrowAways(items map[string]Item, ds []policy.Decision) []policy.Decision {
	for i, d := range ds {
		if items[d.Tag].ThrowAway {
			ds[i] = policy.Decision{Tag: d.Tag, Keep: false, Reason: ReasonInterruptedUntag,
				Detail: "points to a throw-away manifest an interrupted untag left (" + d.Reason + ")"}
		}
	}
	return ds
}

// keepWholeImages keeps every tag of an image that keeps one tag, or that
// something kept needs, for registries that cannot untag.
func keepWholeImages(items map[string]Item, ds []policy.Decision) []policy.Decision {
	needed := neededDigests(items, ds)
	for i, d := range ds {
		if !d.Keep && needed[items[d.Tag].Digest] {
			ds[i] = policy.Decision{Tag: d.Tag, Keep: true, Reason: ReasonCannotUntag,
				Detail: "the registry cannot remove this tag without removing the image a kept tag needs (" + d.Reason + ")"}
		}
	}
	return ds
}

// keepLastTags keeps one tag (the first by name) of each image that
// something kept needs and that no kept tag holds up.
func keepLastTags(items map[string]Item, ds []policy.Decision) []policy.Decision {
	needed := neededDigests(items, ds)
	held, last := map[string]bool{}, map[string]int{}
	for i, d := range ds {
		dig := items[d.Tag].Digest
		switch {
		case d.Keep:
			held[dig] = true
		case !needed[dig]:
		case last[dig] == 0 || d.Tag < ds[last[dig]-1].Tag:
			last[dig] = i + 1
		}
	}
	for dig, i := range last {
		if d := ds[i-1]; !held[dig] {
			ds[i-1] = policy.Decision{Tag: d.Tag, Keep: true, Reason: ReasonUntagDeletesImage,
				Detail: "the registry deletes an image with its last tag, and something kept needs this image (" + d.Reason + ")"}
		}
	}
	return ds
}

// followSubjects keeps the referrers of kept images, and deletes those of
// deleted images unless something stronger than "no rule applied" keeps them.
func followSubjects(items map[string]Item, ds []policy.Decision) []policy.Decision {
	keptDigest, deletedDigest := map[string]bool{}, map[string]bool{}
	for _, d := range ds {
		if items[d.Tag].Subject != "" {
			continue
		}
		if d.Keep {
			keptDigest[items[d.Tag].Digest] = true
		} else {
			deletedDigest[items[d.Tag].Digest] = true
		}
	}
	for i, d := range ds {
		subject := items[d.Tag].Subject
		switch {
		case subject == "":
		case keptDigest[subject] && !d.Keep:
			ds[i] = policy.Decision{Tag: d.Tag, Keep: true, Reason: ReasonReferrerOfKept, Detail: "refers to a kept image " + subject}
		case deletedDigest[subject] && !keptDigest[subject] && (!d.Keep || weakKeep[d.Reason]):
			ds[i] = policy.Decision{Tag: d.Tag, Keep: false, Reason: ReasonReferrerOfDeleted, Detail: "refers to a deleted image " + subject}
		}
	}
	return ds
}

// neededDigests are the manifests something kept needs: those of kept tags,
// every manifest a kept index lists (to any depth), and the subjects of kept
// referrers.
func neededDigests(items map[string]Item, ds []policy.Decision) map[string]bool {
	children := map[string][]string{}
	for _, it := range items {
		if it.IsIndex {
			children[it.Digest] = it.Children
		}
	}
	needed := map[string]bool{}
	var queue []string
	add := func(d string) {
		if d != "" && !needed[d] {
			needed[d] = true
			queue = append(queue, d)
		}
	}
	for _, d := range ds {
		if d.Keep {
			add(items[d.Tag].Digest)
			add(items[d.Tag].Subject)
		}
	}
	for len(queue) > 0 {
		d := queue[0]
		queue = queue[1:]
		for _, c := range children[d] {
			add(c)
		}
	}
	return needed
}
