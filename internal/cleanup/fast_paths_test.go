package cleanup

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"

	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"

	"github.com/docker-werf/docker-werf/internal/registryapi"
)

// groupingRegistry untags through UntagAll and records the calls.
type groupingRegistry struct {
	*fakeRegistry
	calls  [][]string // tags of each UntagAll call
	stopAt int        // cancel after this many tags (0: never)
	cancel context.CancelFunc
}

func (g *groupingRegistry) UntagAll(ctx context.Context, tags []registryapi.TagAt, opts registryapi.UntagAllOptions) {
	var names []string
	for i, t := range tags {
		if ctx.Err() != nil {
			break // not reached: no result
		}
		names = append(names, t.Tag)
		opts.Done(i, g.Untag(ctx, t.Tag, t.Digest))
		if g.stopAt > 0 && len(names) == g.stopAt {
			g.cancel()
		}
	}
	g.calls = append(g.calls, names)
}

func TestExecuteGroupsUntags(t *testing.T) {
	f := newFake(map[string]string{"keep": "sha256:1", "a": "sha256:1", "b": "sha256:1", "c": "sha256:2", "d": "sha256:3", "e": "sha256:3"})
	g := &groupingRegistry{fakeRegistry: f}
	ctx := context.Background()
	items, err := Inventory(ctx, g, 2, nil)
	assert.NilError(t, err)
	var progress []int
	res, err := Execute(ctx, g, MakePlan(items, decide("keep", "e")(items), PlanOptions{DeleteManifests: true}),
		Options{Parallel: 2, Progress: func(phase string, done, total int) {
			assert.Check(t, is.Equal(phase, "deleting"))
			assert.Check(t, is.Equal(total, 4))
			progress = append(progress, done)
		}})
	assert.NilError(t, err)
	assert.Check(t, is.DeepEqual(f.remaining(), []string{"e", "keep"}))
	assert.Check(t, is.DeepEqual(g.calls, [][]string{{"a", "b", "d"}}), "every untag in one call")
	assert.Check(t, is.Equal(f.writes[0], "delete sha256:2"), "manifest deletes go first: %v", f.writes)
	assert.Check(t, is.DeepEqual(progress, []int{0, 1, 2, 3, 4}))
	for _, tag := range []string{"a", "b", "c", "d"} {
		assert.Check(t, is.Equal(byTag(res)[tag].Outcome, Deleted), tag)
	}
}

func TestExecuteGroupedUntagsInterrupted(t *testing.T) {
	f := newFake(map[string]string{"keep": "sha256:k", "a": "sha256:1", "b": "sha256:1", "c": "sha256:1", "d": "sha256:1"})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	g := &groupingRegistry{fakeRegistry: f, stopAt: 2, cancel: cancel}
	items, err := Inventory(ctx, g, 2, nil)
	assert.NilError(t, err)
	res, err := Execute(ctx, g, MakePlan(items, decide("keep")(items), PlanOptions{}), Options{Parallel: 2})
	assert.Check(t, errors.Is(err, context.Canceled), "%v", err)
	var outcomes []string
	for _, tag := range []string{"a", "b", "c", "d"} {
		outcomes = append(outcomes, string(byTag(res)[tag].Outcome))
	}
	assert.Check(t, is.DeepEqual(outcomes, []string{"deleted", "deleted", "interrupted", "interrupted"}))
	assert.Check(t, is.DeepEqual(f.remaining(), []string{"c", "d", "keep"}))
}

// fetchingRegistry serves Fetch and InspectManifest and counts the calls of
// each method.
type fetchingRegistry struct {
	*fakeRegistry
	mu    sync.Mutex
	calls map[string][]string
}

func (r *fetchingRegistry) record(method, arg string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls[method] = append(r.calls[method], arg)
}

func (r *fetchingRegistry) Fetch(ctx context.Context, tag string) (registryapi.Manifest, error) {
	r.record("Fetch", tag)
	d, err := r.fakeRegistry.Resolve(ctx, tag)
	return registryapi.Manifest{Descriptor: d, Body: []byte("body of " + d.Digest)}, err
}

func (r *fetchingRegistry) InspectManifest(ctx context.Context, m registryapi.Manifest) (registryapi.Image, error) {
	r.record("InspectManifest", string(m.Body))
	return r.fakeRegistry.Inspect(ctx, m.Descriptor)
}

func (r *fetchingRegistry) Resolve(ctx context.Context, tag string) (registryapi.Descriptor, error) {
	r.record("Resolve", tag)
	return r.fakeRegistry.Resolve(ctx, tag)
}

func (r *fetchingRegistry) Inspect(ctx context.Context, d registryapi.Descriptor) (registryapi.Image, error) {
	r.record("Inspect", d.Digest)
	return r.fakeRegistry.Inspect(ctx, d)
}

func TestInventoryFetchesInScopeTags(t *testing.T) {
	f := newFake(map[string]string{"old-1": "sha256:1", "old-2": "sha256:1", "old-3": "sha256:3", "keep-1": "sha256:2"})
	f.images["sha256:3"] = registryapi.Image{Revision: "abc"}
	r := &fetchingRegistry{fakeRegistry: f, calls: map[string][]string{}}
	items, err := InventoryOf(context.Background(), r, InventoryOptions{Parallel: 2, ResolveAll: true,
		InScope: func(tag string) bool { return strings.HasPrefix(tag, "old-") }})
	assert.NilError(t, err)
	for _, calls := range r.calls {
		slices.Sort(calls)
	}
	assert.Check(t, is.DeepEqual(r.calls, map[string][]string{
		"Fetch":           {"old-1", "old-2", "old-3"},
		"Resolve":         {"keep-1"},
		"InspectManifest": {"body of sha256:1", "body of sha256:3"},
	}), "one Fetch per in-scope tag, one InspectManifest per image, no Inspect")
	got := map[string]Item{}
	for _, it := range items {
		got[it.Tag] = it
	}
	assert.Check(t, is.Equal(got["old-3"].Commit, "abc"))
	assert.Check(t, is.Equal(got["old-2"].Digest, "sha256:1"))
	assert.Check(t, is.Equal(got["keep-1"].Digest, "sha256:2"))
}

// TestThrowAwayLeftoverIsDeleted: a tag an interrupted untag left on a
// throw-away manifest goes, whatever the policy says.
func TestThrowAwayLeftoverIsDeleted(t *testing.T) {
	f := newFake(map[string]string{"keep": "sha256:k", "latest": "sha256:t", "x": "sha256:t"})
	f.images["sha256:t"] = registryapi.Image{Descriptor: registryapi.Descriptor{ArtifactType: registryapi.ArtifactTypeUntag}}
	res := runWith(t, f, []string{"keep", "latest"}, Options{}, false)
	assert.Check(t, is.DeepEqual(f.remaining(), []string{"keep"}))
	assert.Check(t, is.Equal(byTag(res)["latest"].Reason, ReasonInterruptedUntag))
	assert.Check(t, is.Contains(byTag(res)["latest"].Detail, "keep-tag"))
	assert.Check(t, is.Equal(byTag(res)["keep"].Reason, "keep-tag"))
}

// mapCache is an ImageCache in memory.
type mapCache struct {
	mu     sync.Mutex
	images map[string]registryapi.Image
}

func (m *mapCache) Image(d string) (registryapi.Image, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	img, ok := m.images[d]
	return img, ok
}

func (m *mapCache) Remember(img registryapi.Image) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.images[img.Digest] = img
}

func TestInventoryCache(t *testing.T) {
	f := newFake(map[string]string{"a": "sha256:1", "b": "sha256:2"})
	f.images["sha256:2"] = registryapi.Image{Descriptor: registryapi.Descriptor{Digest: "sha256:2"}, Revision: "from-registry"}
	cache := &mapCache{images: map[string]registryapi.Image{
		"sha256:1": {Descriptor: registryapi.Descriptor{Digest: "sha256:1"}, Revision: "from-cache"},
	}}
	r := &fetchingRegistry{fakeRegistry: f, calls: map[string][]string{}}
	items, err := InventoryOf(context.Background(), r, InventoryOptions{Parallel: 2, Cache: cache})
	assert.NilError(t, err)
	assert.Check(t, is.DeepEqual(r.calls["InspectManifest"], []string{"body of sha256:2"}), "the cached image is not read")
	assert.Check(t, is.Equal(items[0].Commit, "from-cache"))
	assert.Check(t, is.Equal(items[1].Commit, "from-registry"))
	_, learned := cache.Image("sha256:2")
	assert.Check(t, learned)

	// Native APIs (no Fetch) do not use it: their images may carry what a
	// tag listing said.
	native := newFake(map[string]string{"a": "sha256:1"})
	native.images["sha256:1"] = registryapi.Image{Revision: "native"}
	items, err = InventoryOf(context.Background(), native, InventoryOptions{Parallel: 1, Cache: cache})
	assert.NilError(t, err)
	assert.Check(t, is.Equal(items[0].Commit, "native"))
}

// TestReferrersGoFirst: a run stopped after the first deletion never
// leaves a referrer whose subject it deleted.
func TestReferrersGoFirst(t *testing.T) {
	for _, grouped := range []bool{false, true} {
		f := newFake(map[string]string{"a-old": "sha256:0", "b-old": "sha256:1", "z-sig": "sha256:s", "keep": "sha256:k"})
		f.images["sha256:s"] = registryapi.Image{Subject: &registryapi.Descriptor{Digest: "sha256:0"}}
		var reg Registry = f
		if grouped {
			reg = &groupingRegistry{fakeRegistry: f}
		}
		run := func(deleteManifests bool) {
			items, err := Inventory(context.Background(), reg, 1, nil)
			assert.NilError(t, err)
			_, err = Execute(context.Background(), reg, MakePlan(items, decide("keep")(items), PlanOptions{DeleteManifests: deleteManifests}),
				Options{Parallel: 1})
			assert.NilError(t, err)
		}
		run(true)
		assert.Check(t, is.DeepEqual(f.writes[0], "delete sha256:s"), "grouped=%v: %v", grouped, f.writes)
		f = newFake(map[string]string{"a-old": "sha256:0", "z-sig": "sha256:s", "keep": "sha256:k"})
		f.images["sha256:s"] = registryapi.Image{Subject: &registryapi.Descriptor{Digest: "sha256:0"}}
		reg = f
		if grouped {
			reg = &groupingRegistry{fakeRegistry: f}
		}
		run(false)
		assert.Check(t, is.DeepEqual(f.writes[0], "untag z-sig"), "grouped=%v: %v", grouped, f.writes)
	}
}

// TestTagSchemaReferrersGoFirst: a cosign-style sha256-<hex>.sig tag, which
// the policy deletes as a referrer by its name alone, goes before the rest.
func TestTagSchemaReferrersGoFirst(t *testing.T) {
	f := newFake(map[string]string{"a-old": "sha256:0", "sha256-0.sig": "sha256:s", "keep": "sha256:k"})
	items, err := Inventory(context.Background(), f, 1, nil)
	assert.NilError(t, err)
	ds := decide("keep")(items)
	for i := range ds {
		if ds[i].Tag == "sha256-0.sig" {
			ds[i].Reason = ReasonReferrerOfDeleted
		}
	}
	_, err = Execute(context.Background(), f, MakePlan(items, ds, PlanOptions{}), Options{Parallel: 1})
	assert.NilError(t, err)
	assert.Check(t, is.DeepEqual(f.writes, []string{"untag sha256-0.sig", "untag a-old"}))
}
