package cleanup

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/docker-werf/docker-werf/internal/registryapi"
	"github.com/docker-werf/docker-werf/internal/registrytypes"
)

// Outcome is what happened to one tag.
type Outcome string

const (
	Kept        Outcome = "kept"
	Deleted     Outcome = "deleted"
	WouldDelete Outcome = "would-delete" // dry run
	Moved       Outcome = "moved"        // re-pointed during the run: kept
	Gone        Outcome = "gone"         // deleted by someone else (or an earlier run)
	Interrupted Outcome = "interrupted"  // not reached before SIGINT/SIGTERM
	Protected   Outcome = "protected"    // the registry refuses: immutable, locked, in use; kept
	Failed      Outcome = "failed"
)

// ErrProtected is registrytypes.ErrProtected: the backends wrap it without
// importing the planner.
var ErrProtected = registrytypes.ErrProtected

// ReasonPushedDuringRun keeps a tag that appeared after the inventory.
const ReasonPushedDuringRun = "pushed-during-run"

// TagResult is the decision and outcome for one tag.
type TagResult struct {
	Tag     string  `json:"tag"`
	Digest  string  `json:"digest"`
	Keep    bool    `json:"keep"`
	Reason  string  `json:"reason"`
	Detail  string  `json:"detail,omitempty"`
	Action  string  `json:"action,omitempty"`
	Outcome Outcome `json:"outcome"`
	Error   string  `json:"error,omitempty"`
}

// Options control Execute.
type Options struct {
	Parallel int
	DryRun   bool
	Progress Progress
	// RequestTimeout bounds each deletion once started; a stop signal lets
	// deletions in flight finish within it.
	RequestTimeout time.Duration
}

// Execute carries out the plan. It first lists the tags again, so that a
// tag pushed since the inventory onto a digest the plan deletes turns that
// deletion into untags; each tag is checked again right before it goes.
// When ctx ends, deletions in flight finish and the rest are reported
// interrupted: a later run completes the plan.
func Execute(ctx context.Context, reg Registry, plan Plan, opts Options) ([]TagResult, error) {
	results := newResults(plan)
	if opts.DryRun {
		for _, a := range plan.Actions {
			for _, t := range a.Tags {
				results.set(t, a.Kind, WouldDelete, nil)
			}
		}
		return results.list(), nil
	}
	actions, err := guardNewTags(ctx, reg, plan, results, opts.Parallel)
	if err != nil {
		return results.list(), err
	}
	d := &deleter{reg: reg, results: results, opts: opts, tick: progressOf(opts.Progress, "deleting", len(actions))}
	// Referrers go first: a run stopped between a referrer and its subject
	// must not leave the referrer of a deleted image behind, which a rerun
	// could no longer tell from one whose subject was never pushed.
	referrer := referrerTags(plan)
	referrers, rest := partition(actions, func(a Action) bool { return referrer[a.Tags[0]] })
	err = d.run(ctx, referrers)
	if err == nil {
		err = d.run(ctx, rest)
	}
	results.interruptRest()
	return results.list(), err
}

// deleter carries out actions and counts them for the progress.
type deleter struct {
	reg     Registry
	results *results
	opts    Options
	tick    func(int)

	mu       sync.Mutex
	finished int
}

func (d *deleter) done() {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.finished++
	d.tick(d.finished)
}

// run carries out actions: through UntagAll where the registry groups
// untags, after the manifest deletes (on distribution 2.8 a DELETE by
// digest fails half way when tag links are written meanwhile, as the
// grouped untags do).
func (d *deleter) run(ctx context.Context, actions []Action) error {
	grouper, grouping := d.reg.(GroupUntagger)
	var untags []Action
	if grouping {
		untags, actions = partition(actions, func(a Action) bool { return a.Kind == Untag })
	}
	err := forEach(ctx, len(actions), d.opts.Parallel, func(int) {}, func(_ context.Context, i int) error {
		// Requests in flight finish even when ctx ends mid-way.
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), d.opts.timeout())
		defer cancel()
		carryOut(rctx, d.reg, actions[i], d.results)
		d.done()
		return nil
	})
	if err != nil || len(untags) == 0 {
		return err
	}
	tags := make([]registryapi.TagAt, len(untags))
	for i, a := range untags {
		tags[i] = registryapi.TagAt{Tag: a.Tags[0], Digest: a.Digest}
	}
	grouper.UntagAll(ctx, tags, registryapi.UntagAllOptions{Parallel: d.opts.Parallel, Timeout: d.opts.timeout(),
		Done: func(i int, err error) {
			o, err := outcomeOf(err)
			d.results.set(tags[i].Tag, Untag, o, err)
			d.done()
		}})
	return ctx.Err()
}

// referrerTags are the tags whose deletion is that of a referrer: images
// with an OCI subject, and tags the policy deletes as referrers of a deleted
// image (cosign's sha256-<hex>.sig and the like).
func referrerTags(plan Plan) map[string]bool {
	tags := map[string]bool{}
	for _, d := range plan.Decisions {
		tags[d.Tag] = d.Reason == ReasonReferrerOfDeleted || plan.Items[d.Tag].Subject != ""
	}
	return tags
}

// GroupUntagger is implemented by registries that untag many tags with
// fewer requests than an Untag each (registryapi.Client, where the registry
// has no tag DELETE).
type GroupUntagger interface {
	UntagAll(ctx context.Context, tags []registryapi.TagAt, opts registryapi.UntagAllOptions)
}

// partition splits actions into those that match and the others, each in
// order.
func partition(actions []Action, match func(Action) bool) (matching, others []Action) {
	for _, a := range actions {
		if match(a) {
			matching = append(matching, a)
		} else {
			others = append(others, a)
		}
	}
	return matching, others
}

func (o Options) timeout() time.Duration {
	if o.RequestTimeout > 0 {
		return o.RequestTimeout
	}
	return 5 * time.Minute
}

// guardNewTags lists the tags again and keeps any new one; a new tag on a
// digest the plan deletes whole turns that deletion into untags of the old
// tags. When the plan deletes digests whole, it also resolves again every
// tag that such a deletion does not name: one moved onto such a digest
// since the inventory (a kept tag re-pushed with the content of a deleted
// image) would go with it, so that deletion too becomes untags.
func guardNewTags(ctx context.Context, reg Registry, plan Plan, results *results, parallel int) ([]Action, error) {
	tags, err := reg.Tags(ctx)
	if err != nil {
		return nil, err
	}
	wholly, named := map[string]bool{}, map[string]bool{} // digests deleted whole, and their tags
	for _, a := range plan.Actions {
		if a.Kind == DeleteManifest {
			wholly[a.Digest] = true
			for _, t := range a.Tags {
				named[t] = true
			}
		}
	}
	var fresh, recheck []string
	for _, t := range tags {
		_, known := plan.Items[t]
		switch {
		case !known:
			fresh = append(fresh, t)
		case len(wholly) > 0 && !named[t]:
			recheck = append(recheck, t)
		}
	}
	look := append(slices.Clip(fresh), recheck...)
	digests := make([]string, len(look))
	err = forEach(ctx, len(look), parallel, func(int) {}, func(ctx context.Context, i int) error {
		d, err := reg.Resolve(ctx, look[i])
		if errors.Is(err, registryapi.ErrNotFound) {
			return nil
		}
		digests[i] = d.Digest
		return err
	})
	if err != nil {
		return nil, err
	}
	touched := map[string]bool{}
	for i, t := range look {
		if digests[i] == "" {
			continue
		}
		if i < len(fresh) {
			touched[digests[i]] = true
			results.add(TagResult{Tag: t, Digest: digests[i], Keep: true, Reason: ReasonPushedDuringRun,
				Detail: "pushed after the inventory, so no policy judged it", Outcome: Kept})
		} else if digests[i] != plan.Items[t].Digest && wholly[digests[i]] {
			touched[digests[i]] = true
		}
	}
	var actions []Action
	for _, a := range plan.Actions {
		if a.Kind == DeleteManifest && touched[a.Digest] {
			for _, t := range a.Tags {
				actions = append(actions, Action{Kind: Untag, Digest: a.Digest, Tags: []string{t}})
			}
			continue
		}
		actions = append(actions, a)
	}
	return actions, nil
}

func carryOut(ctx context.Context, reg Registry, a Action, r *results) {
	if a.Kind == Untag {
		o, err := outcomeOf(reg.Untag(ctx, a.Tags[0], a.Digest))
		r.set(a.Tags[0], a.Kind, o, err)
		return
	}
	// Every tag must still be on the digest; one that moved is no longer
	// touched by the delete, one that is gone needs nothing.
	var still []string
	for _, t := range a.Tags {
		d, err := reg.Resolve(ctx, t)
		switch {
		case errors.Is(err, registryapi.ErrNotFound):
			r.set(t, a.Kind, Gone, nil)
		case err != nil:
			r.set(t, a.Kind, Failed, err)
		case d.Digest != a.Digest:
			r.set(t, a.Kind, Moved, nil)
		default:
			still = append(still, t)
		}
	}
	if len(still) == 0 {
		return
	}
	outcome, err := outcomeOf(reg.DeleteManifest(ctx, a.Digest))
	for _, t := range still {
		r.set(t, a.Kind, outcome, err)
	}
}

func outcomeOf(err error) (Outcome, error) {
	switch {
	case err == nil:
		return Deleted, nil
	case errors.Is(err, registryapi.ErrTagMoved):
		return Moved, nil
	case errors.Is(err, registryapi.ErrNotFound):
		return Gone, nil
	case errors.Is(err, ErrProtected):
		return Protected, err
	default:
		return Failed, err
	}
}

// results collects TagResults concurrently.
type results struct {
	mu   sync.Mutex
	tags map[string]*TagResult
}

func newResults(p Plan) *results {
	r := &results{tags: make(map[string]*TagResult, len(p.Decisions))}
	for _, d := range p.Decisions {
		r.tags[d.Tag] = &TagResult{Tag: d.Tag, Digest: p.Items[d.Tag].Digest, Keep: d.Keep, Reason: d.Reason,
			Detail: d.Detail, Outcome: Kept}
	}
	return r
}

func (r *results) add(t TagResult) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.tags[t.Tag] = &t
}

func (r *results) set(tag string, kind ActionKind, o Outcome, err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	t := r.tags[tag]
	t.Action, t.Outcome = string(kind), o
	if err != nil {
		t.Error = err.Error()
	}
	if o == Moved || o == Protected {
		t.Keep = true
	}
}

// interruptRest marks the deletions never reached.
func (r *results) interruptRest() {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, t := range r.tags {
		if !t.Keep && t.Outcome == Kept {
			t.Outcome = Interrupted
		}
	}
}

func (r *results) list() []TagResult {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]TagResult, 0, len(r.tags))
	for _, t := range r.tags {
		out = append(out, *t)
	}
	slices.SortFunc(out, func(a, b TagResult) int { return strings.Compare(a.Tag, b.Tag) })
	return out
}

var (
	_ ManifestFetcher = (*registryapi.Client)(nil)
	_ GroupUntagger   = (*registryapi.Client)(nil)
)
