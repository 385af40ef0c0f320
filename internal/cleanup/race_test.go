package cleanup

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"

	"github.com/docker-werf/docker-werf/internal/registryapi"
)

// racyRegistry is the fake with a hook on every check of a tag, to push or
// move tags at the moment cleanup reads one, and checks that fail.
type racyRegistry struct {
	*fakeRegistry
	onResolve func(f *fakeRegistry, tag string) // runs before the answer
	failing   map[string]error                  // tag -> the error its check gets

	mu       sync.Mutex
	inFlight int
	most     int // checks in flight at once, at most
}

func (r *racyRegistry) Resolve(ctx context.Context, tag string) (registryapi.Descriptor, error) {
	r.mu.Lock()
	r.inFlight++
	r.most = max(r.most, r.inFlight)
	hook := r.onResolve
	r.mu.Unlock()
	defer func() {
		r.mu.Lock()
		r.inFlight--
		r.mu.Unlock()
	}()
	if hook != nil {
		hook(r.fakeRegistry, tag)
	}
	if err := r.failing[tag]; err != nil {
		return registryapi.Descriptor{}, err
	}
	return r.fakeRegistry.Resolve(ctx, tag)
}

func (r *racyRegistry) set(tag, digest string) {
	r.fakeRegistry.mu.Lock()
	defer r.fakeRegistry.mu.Unlock()
	r.tags[tag] = digest
}

// plan inventories r and plans keeping keep, deleting manifests whole.
func (r *racyRegistry) plan(t *testing.T, opts PlanOptions, keep ...string) Plan {
	t.Helper()
	items, err := Inventory(context.Background(), r, 4, nil)
	assert.NilError(t, err)
	opts.DeleteManifests = true
	return MakePlan(items, decide(keep...)(items), opts)
}

// TestTagPushedOntoDigestAtItsCheckIsKept: a tag pushed onto a manifest the
// plan deletes whole, after the second listing but before the checks that
// precede the DELETE, was lost with the manifest; the tags are listed again
// after those checks, so it is kept and the manifest's tags are untagged.
func TestTagPushedOntoDigestAtItsCheckIsKept(t *testing.T) {
	r := &racyRegistry{fakeRegistry: newFake(map[string]string{"old": "sha256:1", "keep": "sha256:k"})}
	plan := r.plan(t, PlanOptions{}, "keep")
	var once sync.Once
	r.onResolve = func(_ *fakeRegistry, tag string) {
		if tag == "old" {
			once.Do(func() { r.set("rebuilt", "sha256:1") })
		}
	}
	res, err := Execute(context.Background(), r, plan, Options{Parallel: 4})
	assert.NilError(t, err)
	assert.Check(t, is.DeepEqual(r.remaining(), []string{"keep", "rebuilt"}))
	assert.Check(t, is.DeepEqual(r.writes, []string{"untag old"}))
	assert.Check(t, is.Equal(byTag(res)["rebuilt"].Reason, ReasonPushedDuringRun))
	assert.Check(t, byTag(res)["rebuilt"].Keep)
}

// TestManifestTagsAreCheckedAtOnce: the tags of a manifest deleted whole are
// checked in parallel, so that the first check is no older than the others
// when the DELETE goes; one after another, the first was three checks older.
func TestManifestTagsAreCheckedAtOnce(t *testing.T) {
	r := &racyRegistry{fakeRegistry: newFake(map[string]string{"a": "sha256:1", "b": "sha256:1", "c": "sha256:1",
		"d": "sha256:1", "keep": "sha256:k"})}
	plan := r.plan(t, PlanOptions{}, "keep")
	r.onResolve = func(*fakeRegistry, string) { time.Sleep(20 * time.Millisecond) }
	_, err := Execute(context.Background(), r, plan, Options{Parallel: 4})
	assert.NilError(t, err)
	assert.Check(t, is.DeepEqual(r.remaining(), []string{"keep"}))
	assert.Check(t, is.DeepEqual(r.writes, []string{"delete sha256:1"}))
	assert.Check(t, is.Equal(r.most, 4), "checks in flight at once")
}

// TestFailedCheckDeletesNothingOfTheManifest: when the check of one tag of
// a manifest fails, the DELETE would take that tag unchecked; nothing of
// that manifest goes, and the tags are reported failed.
func TestFailedCheckDeletesNothingOfTheManifest(t *testing.T) {
	r := &racyRegistry{fakeRegistry: newFake(map[string]string{"a": "sha256:1", "b": "sha256:1", "c": "sha256:2",
		"keep": "sha256:k"})}
	plan := r.plan(t, PlanOptions{}, "keep")
	r.failing = map[string]error{"b": errors.New("503 Service Unavailable")}
	res, err := Execute(context.Background(), r, plan, Options{Parallel: 2})
	assert.NilError(t, err)
	assert.Check(t, is.DeepEqual(r.remaining(), []string{"a", "b", "keep"}))
	assert.Check(t, is.DeepEqual(r.writes, []string{"delete sha256:2"}))
	for _, tag := range []string{"a", "b"} {
		assert.Check(t, is.Equal(byTag(res)[tag].Outcome, Failed), tag)
		assert.Check(t, byTag(res)[tag].Error != "", tag)
	}
}

// TestTagMovedOntoAnIndexKeepsItsChildren: a kept tag re-pushed, after the
// inventory, as an index of images whose tags the plan deletes with their
// manifests would be left pointing to an index of deleted manifests; the
// move is re-planned: the index's children are only untagged.
func TestTagMovedOntoAnIndexKeepsItsChildren(t *testing.T) {
	r := &racyRegistry{fakeRegistry: newFake(map[string]string{"main": "sha256:m", "v2-amd64": "sha256:amd",
		"v2-arm64": "sha256:arm", "old": "sha256:old"})}
	plan := r.plan(t, PlanOptions{}, "main")
	r.images["sha256:idx"] = registryapi.Image{IsIndex: true,
		Children: []registryapi.Descriptor{{Digest: "sha256:amd"}, {Digest: "sha256:arm"}}}
	r.set("main", "sha256:idx") // main is now the multi-arch image of v2
	res, err := Execute(context.Background(), r, plan, Options{Parallel: 2})
	assert.NilError(t, err)
	slices.Sort(r.writes)
	assert.Check(t, is.DeepEqual(r.writes, []string{"delete sha256:old", "untag v2-amd64", "untag v2-arm64"}))
	assert.Check(t, is.Equal(byTag(res)["v2-amd64"].Action, string(Untag)))
}

// cannotUntagRegistry deletes whole images only, as GitHub Packages.
type cannotUntagRegistry struct{ *racyRegistry }

var errCannotUntag = errors.New("this registry cannot untag")

func (cannotUntagRegistry) Untag(context.Context, string, string) error { return errCannotUntag }

// TestCannotUntagKeepsImagesPushedOnto: on a registry that deletes whole
// images only, a tag pushed during the run onto an image the plan deletes
// turned the delete into untags that the registry refuses, and the run
// failed; those tags are kept, with cannot-untag, and the run succeeds.
func TestCannotUntagKeepsImagesPushedOnto(t *testing.T) {
	for _, when := range []string{"before the second listing", "at the check"} {
		t.Run(when, func(t *testing.T) {
			r := cannotUntagRegistry{&racyRegistry{fakeRegistry: newFake(map[string]string{"old": "sha256:1",
				"other": "sha256:2", "keep": "sha256:k"})}}
			items, err := Inventory(context.Background(), r, 4, nil)
			assert.NilError(t, err)
			plan := MakePlan(items, decide("keep")(items), PlanOptions{CannotUntag: true})
			if when == "at the check" {
				var once sync.Once
				r.onResolve = func(_ *fakeRegistry, tag string) {
					if tag == "old" {
						once.Do(func() { r.set("rebuilt", "sha256:1") })
					}
				}
			} else {
				r.set("rebuilt", "sha256:1")
			}
			res, err := Execute(context.Background(), r, plan, Options{Parallel: 2})
			assert.NilError(t, err)
			assert.Check(t, is.DeepEqual(r.remaining(), []string{"keep", "old", "rebuilt"}))
			assert.Check(t, is.DeepEqual(r.writes, []string{"delete sha256:2"}))
			old := byTag(res)["old"]
			assert.Check(t, is.Equal(old.Reason, ReasonCannotUntag))
			assert.Check(t, old.Keep)
			assert.Check(t, is.Equal(old.Outcome, Kept))
			assert.Check(t, is.Equal(old.Error, ""))
		})
	}
}

// gatedLister is the fake whose listings read the tags when they start and
// answer once let go.
type gatedLister struct {
	*fakeRegistry
	started chan struct{}
	release chan struct{}
}

func (g *gatedLister) Tags(ctx context.Context) ([]string, error) {
	tags, err := g.fakeRegistry.Tags(ctx)
	g.started <- struct{}{}
	<-g.release
	return tags, err
}

// TestListingsStartAfterTheyAreAsked: deletes that ask for a listing while
// one is in flight get the next one, which starts after they asked and so
// sees a tag pushed meanwhile; they share it.
func TestListingsStartAfterTheyAreAsked(t *testing.T) {
	g := &gatedLister{fakeRegistry: newFake(map[string]string{"a": "sha256:1"}),
		started: make(chan struct{}, 4), release: make(chan struct{})}
	l := &lister{reg: g}
	ctx := context.Background()
	got := make(chan []string, 3)
	ask := func() {
		tags, err := l.fresh(ctx)
		assert.Check(t, err)
		got <- tags
	}
	go ask()
	<-g.started // the first listing has read the tags
	g.fakeRegistry.mu.Lock()
	g.tags["pushed"] = "sha256:1"
	g.fakeRegistry.mu.Unlock()
	var asked sync.WaitGroup
	for range 2 {
		asked.Add(1)
		go func() { asked.Done(); ask() }()
	}
	asked.Wait()
	for waiting := false; !waiting; {
		l.mu.Lock()
		waiting = l.next != nil
		l.mu.Unlock()
		time.Sleep(10 * time.Millisecond) // and the other caller too
	}
	close(g.release)
	var sizes []int
	for range 3 {
		sizes = append(sizes, len(<-got))
	}
	slices.Sort(sizes)
	assert.Check(t, is.DeepEqual(sizes, []int{1, 2, 2}), "the first caller's listing, then the next")
	assert.Check(t, is.Len(g.started, 1), "the two later callers share one listing")
}
