package cleanup

import (
	"cmp"
	"context"
	"errors"
	"fmt"
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
// A manifest deleted whole goes only once every tag on it has been checked
// (all at once) and a listing started after those checks shows no tag the
// plan does not know on it. A tag moved since the inventory is kept, and
// what its new image needs (the image, an index's children, a referrer's
// subject) is not deleted whole.
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
	d := newDeleter(reg, plan, results, opts)
	actions, err := d.guardNewTags(ctx)
	if err != nil {
		return results.list(), err
	}
	d.tick = progressOf(opts.Progress, "deleting", len(actions))
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
	plan    Plan
	results *results
	opts    Options
	tick    func(int)
	lister  *lister
	known   map[string]Item // by digest, the images the inventory read

	mu         sync.Mutex
	finished   int
	extra      map[string]bool // untags a whole delete turned into: no progress tick of their own
	protected  map[string]bool // digests not to delete whole: a tag moved or was pushed onto what needs them
	protectAll bool            // what a moved tag needs is unknown: delete nothing whole
}

func newDeleter(reg Registry, plan Plan, results *results, opts Options) *deleter {
	d := &deleter{reg: reg, plan: plan, results: results, opts: opts, tick: func(int) {}, lister: &lister{reg: reg},
		known: map[string]Item{}, extra: map[string]bool{}, protected: map[string]bool{}}
	for _, it := range plan.Items {
		if it.Digest != "" {
			d.known[it.Digest] = it
		}
	}
	return d
}

// requestContext is the context of one deletion: it finishes even when
// ctx ends mid-way, within the per-request timeout.
func (d *deleter) requestContext(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.WithoutCancel(ctx), d.opts.timeout())
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
// grouped untags do). Untags that a whole delete turned into go with them.
func (d *deleter) run(ctx context.Context, actions []Action) error {
	grouper, grouping := d.reg.(GroupUntagger)
	var untags []Action
	if grouping {
		untags, actions = partition(actions, func(a Action) bool { return a.Kind == Untag })
	}
	var (
		mu    sync.Mutex
		later []Action
	)
	err := forEach(ctx, len(actions), d.opts.Parallel, func(int) {}, func(_ context.Context, i int) error {
		rctx, cancel := d.requestContext(ctx)
		defer cancel()
		if a := actions[i]; a.Kind == DeleteManifest {
			instead := d.deleteWhole(rctx, a)
			mu.Lock()
			later = append(later, instead...)
			mu.Unlock()
		} else {
			carryOut(rctx, d.reg, a, d.results)
		}
		d.done()
		return nil
	})
	if err != nil {
		return err
	}
	if !grouping && len(later) > 0 {
		err = forEach(ctx, len(later), d.opts.Parallel, func(int) {}, func(_ context.Context, i int) error {
			rctx, cancel := d.requestContext(ctx)
			defer cancel()
			carryOut(rctx, d.reg, later[i], d.results)
			return nil
		})
		if err != nil {
			return err
		}
	}
	if grouping {
		untags = append(untags, later...)
	}
	if len(untags) == 0 {
		return nil
	}
	tags := make([]registryapi.TagAt, len(untags))
	for i, a := range untags {
		tags[i] = registryapi.TagAt{Tag: a.Tags[0], Digest: a.Digest}
	}
	grouper.UntagAll(ctx, tags, registryapi.UntagAllOptions{Parallel: d.opts.Parallel, Timeout: d.opts.timeout(),
		Done: func(i int, err error) {
			o, err := outcomeOf(err)
			d.results.set(tags[i].Tag, Untag, o, err)
			d.mu.Lock()
			extra := d.extra[tags[i].Tag]
			d.mu.Unlock()
			if !extra {
				d.done()
			}
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
// tag that such a deletion does not name: one moved since the inventory (a
// kept tag re-pushed with the content of a deleted image, or as an index of
// deleted images) would lose its image with such a deletion, so that
// deletion too becomes untags.
func (d *deleter) guardNewTags(ctx context.Context) ([]Action, error) {
	plan := d.plan
	tags, err := d.reg.Tags(ctx)
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
	descs := make([]registryapi.Descriptor, len(look))
	err = forEach(ctx, len(look), d.opts.Parallel, func(int) {}, func(ctx context.Context, i int) error {
		desc, err := d.reg.Resolve(ctx, look[i])
		if errors.Is(err, registryapi.ErrNotFound) {
			return nil
		}
		descs[i] = desc
		return err
	})
	if err != nil {
		return nil, err
	}
	for i, t := range look {
		switch {
		case descs[i].Digest == "":
			continue
		case i < len(fresh):
			d.results.add(TagResult{Tag: t, Digest: descs[i].Digest, Keep: true, Reason: ReasonPushedDuringRun,
				Detail: "pushed after the inventory, so no policy judged it", Outcome: Kept})
		case descs[i].Digest == plan.Items[t].Digest:
			continue
		}
		if len(wholly) > 0 {
			if err := d.protect(ctx, descs[i]); err != nil {
				return nil, fmt.Errorf("reading the image %s now points to: %w", t, err)
			}
		}
	}
	var actions []Action
	for _, a := range plan.Actions {
		if a.Kind == DeleteManifest && d.isProtected(a.Digest) {
			for _, u := range d.insteadOfDelete(a.Digest, a.Tags) {
				delete(d.extra, u.Tags[0])
				actions = append(actions, u)
			}
			continue
		}
		actions = append(actions, a)
	}
	return actions, nil
}

// protect keeps whole deletes off what the image at desc needs: the image,
// an index's manifests (to any depth) and a referrer's subject. The images
// the inventory read are known; others are read.
func (d *deleter) protect(ctx context.Context, desc registryapi.Descriptor) error {
	queue := []registryapi.Descriptor{desc}
	for depth := 0; len(queue) > 0 && depth <= 16; depth++ {
		var next []registryapi.Descriptor
		for _, at := range queue {
			d.mu.Lock()
			seen := d.protected[at.Digest]
			d.protected[at.Digest] = true
			d.mu.Unlock()
			if seen || at.Digest == "" {
				continue
			}
			var children []string
			subject := ""
			if it, ok := d.known[at.Digest]; ok {
				children, subject = it.Children, it.Subject
			} else {
				img, err := d.reg.Inspect(ctx, at)
				if err != nil {
					return err
				}
				for _, c := range img.Children {
					children = append(children, c.Digest)
				}
				if img.Subject != nil {
					subject = img.Subject.Digest
				}
			}
			for _, c := range append(children, subject) {
				if c != "" {
					next = append(next, registryapi.Descriptor{Digest: c})
				}
			}
		}
		queue = next
	}
	return nil
}

func (d *deleter) isProtected(digest string) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.protectAll || d.protected[digest]
}

// insteadOfDelete is what becomes of a whole delete of digest that a tag
// pushed or moved during the run stops: untags of tags, or, where the
// registry cannot untag, tags kept with ReasonCannotUntag.
func (d *deleter) insteadOfDelete(digest string, tags []string) []Action {
	if d.plan.CannotUntag {
		for _, t := range tags {
			d.results.keep(t, ReasonCannotUntag, "a tag pushed or moved onto this image (or an index of it) during the "+
				"run keeps it, and the registry cannot remove this tag without removing the image")
		}
		return nil
	}
	actions := make([]Action, len(tags))
	d.mu.Lock()
	defer d.mu.Unlock()
	for i, t := range tags {
		actions[i] = Action{Kind: Untag, Digest: digest, Tags: []string{t}}
		d.extra[t] = true
	}
	return actions
}

// deleteWhole deletes a manifest with every tag on it, once each of a's
// tags has been checked to be still on it (all at once, so that none of
// the checks is older than the others) and a listing started after the
// checks shows no tag the plan does not know on it. Should a check fail,
// nothing of the manifest goes; should another tag be on it now, a's tags
// are returned as untags to carry out instead.
func (d *deleter) deleteWhole(ctx context.Context, a Action) []Action {
	descs := make([]registryapi.Descriptor, len(a.Tags))
	errs := make([]error, len(a.Tags))
	_ = forEach(ctx, len(a.Tags), min(len(a.Tags), max(d.opts.Parallel, 1)), func(int) {}, func(ctx context.Context, i int) error {
		descs[i], errs[i] = d.reg.Resolve(ctx, a.Tags[i])
		return nil
	})
	var still []string
	var failed error
	for i, t := range a.Tags {
		switch err := errs[i]; {
		case errors.Is(err, registryapi.ErrNotFound):
			d.results.set(t, a.Kind, Gone, nil)
		case err != nil:
			d.results.set(t, a.Kind, Failed, err)
			failed = cmp.Or(failed, fmt.Errorf("checking %s, also on it: %w", t, err))
		case descs[i].Digest != a.Digest:
			d.results.set(t, a.Kind, Moved, nil)
			if err := d.protect(ctx, descs[i]); err != nil {
				d.mu.Lock()
				d.protectAll = true
				d.mu.Unlock()
			}
		default:
			still = append(still, t)
		}
	}
	if failed == nil && len(still) > 0 {
		var pushed bool
		pushed, failed = d.pushedOnto(ctx, a.Digest)
		if pushed || d.isProtected(a.Digest) {
			return d.insteadOfDelete(a.Digest, still)
		}
	}
	if failed != nil {
		for _, t := range still {
			d.results.set(t, a.Kind, Failed, fmt.Errorf("not deleted with its manifest %s: %w", a.Digest, failed))
		}
		return nil
	}
	if len(still) == 0 {
		return nil
	}
	outcome, err := outcomeOf(d.reg.DeleteManifest(ctx, a.Digest))
	for _, t := range still {
		d.results.set(t, a.Kind, outcome, err)
	}
	return nil
}

// pushedOnto lists the tags again and checks those the plan does not know
// (they are kept): it says whether one of them is on digest.
func (d *deleter) pushedOnto(ctx context.Context, digest string) (bool, error) {
	tags, err := d.lister.fresh(ctx)
	if err != nil {
		return false, fmt.Errorf("listing the tags again: %w", err)
	}
	var fresh []string
	for _, t := range tags {
		if _, known := d.plan.Items[t]; !known {
			fresh = append(fresh, t)
		}
	}
	descs := make([]registryapi.Descriptor, len(fresh))
	err = forEach(ctx, len(fresh), d.opts.Parallel, func(int) {}, func(ctx context.Context, i int) error {
		desc, err := d.reg.Resolve(ctx, fresh[i])
		if errors.Is(err, registryapi.ErrNotFound) {
			return nil
		}
		descs[i] = desc
		return err
	})
	if err != nil {
		return false, fmt.Errorf("checking a tag pushed during the run: %w", err)
	}
	pushed := false
	for i, t := range fresh {
		if descs[i].Digest == "" {
			continue
		}
		pushed = pushed || descs[i].Digest == digest
		d.results.addNew(TagResult{Tag: t, Digest: descs[i].Digest, Keep: true, Reason: ReasonPushedDuringRun,
			Detail: "pushed after the inventory, so no policy judged it", Outcome: Kept})
	}
	return pushed, nil
}

// lister shares tag listings among deletes in parallel: each caller gets a
// listing that started after it asked, and callers that ask while one is in
// flight share the next.
type lister struct {
	reg Registry

	mu      sync.Mutex
	running bool
	next    *listing
}

type listing struct {
	ctx  context.Context
	done chan struct{}
	tags []string
	err  error
}

func (l *lister) fresh(ctx context.Context) ([]string, error) {
	l.mu.Lock()
	if l.next == nil {
		l.next = &listing{ctx: ctx, done: make(chan struct{})}
	}
	mine := l.next
	if !l.running {
		l.start()
	}
	l.mu.Unlock()
	select {
	case <-mine.done:
		return mine.tags, mine.err
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// start runs the next listing, with the context of the caller that asked
// for it first; l.mu is held.
func (l *lister) start() {
	cur := l.next
	l.next, l.running = nil, true
	go func() {
		cur.tags, cur.err = l.reg.Tags(cur.ctx)
		close(cur.done)
		l.mu.Lock()
		defer l.mu.Unlock()
		l.running = false
		if l.next != nil {
			l.start()
		}
	}()
}

func carryOut(ctx context.Context, reg Registry, a Action, r *results) {
	o, err := outcomeOf(reg.Untag(ctx, a.Tags[0], a.Digest))
	r.set(a.Tags[0], a.Kind, o, err)
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

// addNew adds t unless the tag has a result already.
func (r *results) addNew(t TagResult) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, ok := r.tags[t.Tag]; !ok {
		r.tags[t.Tag] = &t
	}
}

// keep keeps a tag the plan deleted, for reason.
func (r *results) keep(tag, reason, detail string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	t := r.tags[tag]
	t.Keep, t.Detail, t.Outcome, t.Action = true, detail+" ("+t.Reason+")", Kept, ""
	t.Reason = reason
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
