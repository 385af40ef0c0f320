package cleanup

import (
	"context"
	"slices"
	"strings"
	"sync"
	"testing"

	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"

	"github.com/docker-werf/docker-werf/internal/policy"
	"github.com/docker-werf/docker-werf/internal/registryapi"
)

// fakeRegistry models distribution's semantics: a manifest delete takes
// every tag on it, an untag exactly one. It records every write.
type fakeRegistry struct {
	mu       sync.Mutex
	tags     map[string]string // tag -> digest
	images   map[string]registryapi.Image
	writes   []string
	onDelete func(f *fakeRegistry) // runs (unlocked) before each write, to simulate pushes
}

func newFake(tags map[string]string) *fakeRegistry {
	return &fakeRegistry{tags: tags, images: map[string]registryapi.Image{}}
}

func (f *fakeRegistry) Tags(context.Context) ([]string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []string
	for t := range f.tags {
		out = append(out, t)
	}
	slices.Sort(out)
	return out, nil
}

func (f *fakeRegistry) Resolve(_ context.Context, tag string) (registryapi.Descriptor, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	d, ok := f.tags[tag]
	if !ok {
		return registryapi.Descriptor{}, registryapi.ErrNotFound
	}
	return registryapi.Descriptor{Digest: d}, nil
}

func (f *fakeRegistry) Inspect(_ context.Context, d registryapi.Descriptor) (registryapi.Image, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.images[d.Digest], nil
}

func (f *fakeRegistry) Untag(_ context.Context, tag, expect string) error {
	if f.onDelete != nil {
		f.onDelete(f)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	d, ok := f.tags[tag]
	switch {
	case !ok:
		return registryapi.ErrNotFound
	case d != expect:
		return registryapi.ErrTagMoved
	}
	delete(f.tags, tag)
	f.writes = append(f.writes, "untag "+tag)
	return nil
}

func (f *fakeRegistry) DeleteManifest(_ context.Context, digest string) error {
	if f.onDelete != nil {
		f.onDelete(f)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	found := false
	for t, d := range f.tags {
		if d == digest {
			delete(f.tags, t)
			found = true
		}
	}
	if !found {
		return registryapi.ErrNotFound
	}
	f.writes = append(f.writes, "delete "+digest)
	return nil
}

func (f *fakeRegistry) remaining() []string {
	tags, _ := f.Tags(context.Background())
	return tags
}

func decide(keep ...string) func(items []Item) []policy.Decision {
	return func(items []Item) []policy.Decision {
		var ds []policy.Decision
		for _, it := range items {
			k := slices.Contains(keep, it.Tag)
			reason := "no-policy"
			if k {
				reason = "keep-tag"
			}
			ds = append(ds, policy.Decision{Tag: it.Tag, Keep: k, Reason: reason})
		}
		return ds
	}
}

func run(t *testing.T, f *fakeRegistry, keep []string, opts Options) []TagResult {
	return runWith(t, f, keep, opts, true)
}

func runWith(t *testing.T, f *fakeRegistry, keep []string, opts Options, deleteManifests bool) []TagResult {
	t.Helper()
	ctx := context.Background()
	items, err := Inventory(ctx, f, 4, nil)
	assert.NilError(t, err)
	plan := MakePlan(items, decide(keep...)(items), PlanOptions{DeleteManifests: deleteManifests})
	if opts.Parallel == 0 {
		opts.Parallel = 4
	}
	res, err := Execute(ctx, f, plan, opts)
	assert.NilError(t, err)
	return res
}

func TestSharedDigestIsUntagged(t *testing.T) {
	f := newFake(map[string]string{"a": "sha256:1", "b": "sha256:1", "c": "sha256:1", "d": "sha256:2", "e": "sha256:2"})
	run(t, f, []string{"a"}, Options{})
	assert.Check(t, is.DeepEqual(f.remaining(), []string{"a"}))
	slices.Sort(f.writes)
	assert.Check(t, is.DeepEqual(f.writes, []string{"delete sha256:2", "untag b", "untag c"}),
		"sha256:1 must be untagged tag by tag, sha256:2 deleted once")
}

func TestKeptIndexKeepsItsChildren(t *testing.T) {
	f := newFake(map[string]string{"multi": "sha256:idx", "amd64": "sha256:amd", "arm64": "sha256:arm", "old": "sha256:old"})
	f.images["sha256:idx"] = registryapi.Image{IsIndex: true,
		Children: []registryapi.Descriptor{{Digest: "sha256:amd"}, {Digest: "sha256:arm"}}}
	run(t, f, []string{"multi"}, Options{})
	assert.Check(t, is.DeepEqual(f.remaining(), []string{"multi"}))
	slices.Sort(f.writes)
	assert.Check(t, is.DeepEqual(f.writes, []string{"delete sha256:old", "untag amd64", "untag arm64"}),
		"the children's manifests must survive, only their tags go")
}

func TestReferrersFollowTheirSubject(t *testing.T) {
	f := newFake(map[string]string{"v1": "sha256:v1", "v1-sig": "sha256:s1", "v0": "sha256:v0", "v0-sig": "sha256:s0"})
	f.images["sha256:s1"] = registryapi.Image{Subject: &registryapi.Descriptor{Digest: "sha256:v1"}}
	f.images["sha256:s0"] = registryapi.Image{Subject: &registryapi.Descriptor{Digest: "sha256:v0"}}
	res := run(t, f, []string{"v1", "v0-sig"}, Options{})
	// v0-sig was kept by keep-tag, which is stronger than following its
	// subject; v1-sig follows v1.
	assert.Check(t, is.DeepEqual(f.remaining(), []string{"v0-sig", "v1", "v1-sig"}))
	assert.Check(t, is.Equal(byTag(res)["v1-sig"].Reason, ReasonReferrerOfKept))
	assert.Check(t, !slices.Contains(f.writes, "delete sha256:v0"), "the subject of a kept referrer must stay: %v", f.writes)
}

func TestDryRunWritesNothing(t *testing.T) {
	f := newFake(map[string]string{"a": "sha256:1", "b": "sha256:1", "d": "sha256:2"})
	res := run(t, f, []string{"a"}, Options{DryRun: true})
	assert.Check(t, is.Len(f.writes, 0))
	assert.Check(t, is.Len(f.remaining(), 3))
	assert.Check(t, is.Equal(byTag(res)["b"].Outcome, WouldDelete))
	assert.Check(t, is.Equal(byTag(res)["b"].Action, string(Untag)))
	assert.Check(t, is.Equal(byTag(res)["d"].Action, string(DeleteManifest)))
}

func TestTagPushedDuringRunIsKept(t *testing.T) {
	f := newFake(map[string]string{"old1": "sha256:1", "old2": "sha256:1", "keep": "sha256:k"})
	ctx := context.Background()
	items, err := Inventory(ctx, f, 2, nil)
	assert.NilError(t, err)
	plan := MakePlan(items, decide("keep")(items), PlanOptions{DeleteManifests: true})
	assert.Check(t, is.Equal(plan.Actions[0].Kind, DeleteManifest))
	f.tags["fresh"] = "sha256:1" // pushed after the inventory, onto a digest the plan deletes
	res, err := Execute(ctx, f, plan, Options{Parallel: 2})
	assert.NilError(t, err)
	assert.Check(t, is.DeepEqual(f.remaining(), []string{"fresh", "keep"}))
	assert.Check(t, is.Equal(byTag(res)["fresh"].Reason, ReasonPushedDuringRun))
}

func TestTagMovedBeforeDeletionIsKept(t *testing.T) {
	f := newFake(map[string]string{"a": "sha256:1", "b": "sha256:1", "c": "sha256:2"})
	moved := false
	f.onDelete = func(f *fakeRegistry) {
		f.mu.Lock()
		defer f.mu.Unlock()
		if !moved {
			moved = true
			f.tags["b"] = "sha256:new" // someone re-pushed b
		}
	}
	res := run(t, f, []string{"a"}, Options{Parallel: 1})
	assert.Check(t, is.Equal(byTag(res)["b"].Outcome, Moved))
	assert.Check(t, byTag(res)["b"].Keep)
	assert.Check(t, is.DeepEqual(f.remaining(), []string{"a", "b"}))
}

func TestInterruptedRunIsFinishedByARerun(t *testing.T) {
	tags := map[string]string{"keep": "sha256:k"}
	for _, t := range []string{"a", "b", "c", "d", "e", "f"} {
		tags[t] = "sha256:" + t
	}
	f := newFake(tags)
	ctx, cancel := context.WithCancel(context.Background())
	deletes := 0
	f.onDelete = func(*fakeRegistry) {
		if deletes++; deletes == 2 {
			cancel()
		}
	}
	items, err := Inventory(ctx, f, 1, nil)
	assert.NilError(t, err)
	res, err := Execute(ctx, f, MakePlan(items, decide("keep")(items), PlanOptions{DeleteManifests: true}), Options{Parallel: 1})
	assert.ErrorIs(t, err, context.Canceled)
	interrupted := 0
	for _, r := range res {
		if r.Outcome == Interrupted {
			interrupted++
		}
	}
	assert.Check(t, interrupted > 0 && len(f.remaining()) > 1, "the run should stop early: %v", f.remaining())

	f.onDelete = nil
	run(t, f, []string{"keep"}, Options{})
	assert.Check(t, is.DeepEqual(f.remaining(), []string{"keep"}))
	before := len(f.writes)
	run(t, f, []string{"keep"}, Options{})
	assert.Check(t, is.Equal(len(f.writes), before), "a second full run must delete nothing")
}

func byTag(rs []TagResult) map[string]TagResult {
	m := map[string]TagResult{}
	for _, r := range rs {
		m[r.Tag] = r
	}
	return m
}

func TestUntagOnlyByDefault(t *testing.T) {
	f := newFake(map[string]string{"a": "sha256:1", "b": "sha256:1", "d": "sha256:2"})
	runWith(t, f, []string{"a"}, Options{}, false)
	slices.Sort(f.writes)
	assert.Check(t, is.DeepEqual(f.writes, []string{"untag b", "untag d"}))
	assert.Check(t, is.DeepEqual(f.remaining(), []string{"a"}))
}

// TestPushOntoDeletedDigestDuringDeletes is the race untag-only exists for:
// a tag pushed onto a stale digest after the last check survives.
func TestPushOntoDeletedDigestDuringDeletes(t *testing.T) {
	f := newFake(map[string]string{"old": "sha256:1", "keep": "sha256:k"})
	f.onDelete = func(f *fakeRegistry) {
		f.mu.Lock()
		defer f.mu.Unlock()
		f.tags["rebuilt"] = "sha256:1"
	}
	runWith(t, f, []string{"keep"}, Options{Parallel: 1}, false)
	assert.Check(t, is.DeepEqual(f.remaining(), []string{"keep", "rebuilt"}))
}

func TestCannotUntagKeepsWholeImages(t *testing.T) {
	f := newFake(map[string]string{"a": "sha256:1", "b": "sha256:1", "c": "sha256:2", "d": "sha256:2"})
	ctx := context.Background()
	items, err := Inventory(ctx, f, 2, nil)
	assert.NilError(t, err)
	plan := MakePlan(items, decide("a")(items), PlanOptions{CannotUntag: true})
	res, err := Execute(ctx, f, plan, Options{Parallel: 2})
	assert.NilError(t, err)
	assert.Check(t, is.DeepEqual(f.remaining(), []string{"a", "b"}))
	assert.Check(t, is.Equal(byTag(res)["b"].Reason, ReasonCannotUntag))
	assert.Check(t, is.DeepEqual(f.writes, []string{"delete sha256:2"}))
}

func TestInventoryInScopeReadsOnlyWhatItNeeds(t *testing.T) {
	f := newFake(map[string]string{"old-1": "sha256:1", "keep-1": "sha256:2", "old-2": "sha256:3"})
	resolved := map[string]bool{}
	counting := &countingRegistry{fakeRegistry: f, resolved: resolved}
	items, err := InventoryOf(context.Background(), counting, InventoryOptions{Parallel: 1,
		InScope: func(tag string) bool { return strings.HasPrefix(tag, "old-") }})
	assert.NilError(t, err)
	assert.Check(t, is.Len(items, 3))
	assert.Check(t, is.DeepEqual(resolved, map[string]bool{"old-1": true, "old-2": true}))

	clear(resolved)
	_, err = InventoryOf(context.Background(), counting, InventoryOptions{Parallel: 1, ResolveAll: true,
		InScope: func(tag string) bool { return strings.HasPrefix(tag, "old-") }})
	assert.NilError(t, err)
	assert.Check(t, is.Len(resolved, 3))
}

type countingRegistry struct {
	*fakeRegistry
	mu       sync.Mutex
	resolved map[string]bool
}

func (c *countingRegistry) Resolve(ctx context.Context, tag string) (registryapi.Descriptor, error) {
	c.mu.Lock()
	c.resolved[tag] = true
	c.mu.Unlock()
	return c.fakeRegistry.Resolve(ctx, tag)
}

// TestKeptTagMovedOntoDeletedDigest: a kept tag re-pushed, after the
// inventory, with the content of an image the plan deletes whole would go
// with that manifest; the second listing finds it there and the deletion
// becomes an untag.
func TestKeptTagMovedOntoDeletedDigest(t *testing.T) {
	f := newFake(map[string]string{"old": "sha256:1", "keep": "sha256:k", "other": "sha256:2"})
	ctx := context.Background()
	items, err := Inventory(ctx, f, 2, nil)
	assert.NilError(t, err)
	plan := MakePlan(items, decide("keep")(items), PlanOptions{DeleteManifests: true})
	f.tags["keep"] = "sha256:1" // moved onto old's digest after the inventory
	res, err := Execute(ctx, f, plan, Options{Parallel: 2})
	assert.NilError(t, err)
	assert.Check(t, is.DeepEqual(f.remaining(), []string{"keep"}))
	assert.Check(t, is.Equal(byTag(res)["old"].Action, string(Untag)))
	assert.Check(t, is.Equal(byTag(res)["other"].Action, string(DeleteManifest)))
}
