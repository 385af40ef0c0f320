// Package cleanup plans and carries out the deletion of a repository's
// stale tags so that nothing a policy keeps is ever lost: a digest that a
// kept tag points to is never deleted (its other tags are untagged one by
// one), children of kept indexes and referrers of kept images stay, and
// every tag is checked again right before it goes.
package cleanup

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/docker-werf/docker-werf/internal/registryapi"
)

// Registry is what cleanup needs of a registry. registryapi.Client serves
// the Docker Registry API; native APIs implement the same.
type Registry interface {
	Tags(ctx context.Context) ([]string, error)
	Resolve(ctx context.Context, tag string) (registryapi.Descriptor, error)
	Inspect(ctx context.Context, d registryapi.Descriptor) (registryapi.Image, error)
	Untag(ctx context.Context, tag, expect string) error
	DeleteManifest(ctx context.Context, digest string) error
}

// ManifestFetcher is implemented by registries that resolve a tag and read
// its manifest with one request (registryapi.Client). The inventory then
// sends one GET per tag where it would send a HEAD per tag and a GET per
// image: on distribution both cost the registry the same.
type ManifestFetcher interface {
	Fetch(ctx context.Context, tag string) (registryapi.Manifest, error)
	InspectManifest(ctx context.Context, m registryapi.Manifest) (registryapi.Image, error)
}

// Item is one tag and what the policies need to know of its image.
type Item struct {
	Tag      string
	Digest   string
	Created  time.Time
	Commit   string
	IsIndex  bool
	Children []string // digests of an index's manifests
	Subject  string   // digest of the image this one refers to (OCI 1.1)
	// ThrowAway says the tag points to one of the throw-away manifests
	// untagging puts over a tag before deleting it: an earlier run stopped
	// in between.
	ThrowAway bool
}

// Progress reports how far a phase is; it may be nil.
type Progress func(phase string, done, total int)

// Inventory lists every tag, resolves each to its digest and inspects each
// distinct image once, with at most parallel requests in flight. A tag that
// disappears while it is listed is left out: it is gone already.
func Inventory(ctx context.Context, reg Registry, parallel int, progress Progress) ([]Item, error) {
	return InventoryOf(ctx, reg, InventoryOptions{Parallel: parallel, Progress: progress})
}

// InventoryOptions narrow an inventory to what a plan needs.
type InventoryOptions struct {
	Parallel int
	Progress Progress
	// InScope, when set, says which tags cleanup may delete (--tag-filter).
	// The others are kept whatever happens, so their images are not read;
	// they are not even resolved unless ResolveAll.
	InScope func(tag string) bool
	// ResolveAll resolves out-of-scope tags too: deleting a manifest whole
	// (or a whole image, where the registry cannot untag) must know every
	// tag on it.
	ResolveAll bool
	// Cache, when set, answers for the images it knows and learns the
	// others, where the registry is a ManifestFetcher (the Docker Registry
	// API, whose Inspect reads only the manifest and what it names; native
	// APIs may add what a tag listing says).
	Cache ImageCache
}

// ImageCache remembers what Inspect read of a manifest, by digest: a
// manifest never changes, so neither does what it says.
type ImageCache interface {
	Image(digest string) (registryapi.Image, bool)
	Remember(img registryapi.Image)
}

// InventoryOf is Inventory with options. Items of out-of-scope tags that
// were not resolved have no digest.
func InventoryOf(ctx context.Context, reg Registry, opts InventoryOptions) ([]Item, error) {
	tags, err := reg.Tags(ctx)
	if err != nil {
		return nil, err
	}
	inScope := func(tag string) bool { return opts.InScope == nil || opts.InScope(tag) }
	var toResolve []int
	for i, tag := range tags {
		if opts.ResolveAll || inScope(tag) {
			toResolve = append(toResolve, i)
		}
	}
	descs := make([]registryapi.Descriptor, len(tags))
	fetched := newManifests()
	fetcher, canFetch := reg.(ManifestFetcher)
	err = forEach(ctx, len(toResolve), opts.Parallel, progressOf(opts.Progress, "resolving tags", len(toResolve)), func(ctx context.Context, j int) error {
		i := toResolve[j]
		var d registryapi.Descriptor
		var err error
		if canFetch && inScope(tags[i]) {
			var m registryapi.Manifest
			m, err = fetcher.Fetch(ctx, tags[i])
			d = m.Descriptor
			fetched.add(m)
		} else {
			d, err = reg.Resolve(ctx, tags[i])
		}
		if errors.Is(err, registryapi.ErrNotFound) {
			return nil
		}
		descs[i] = d
		return err
	})
	if err != nil {
		return nil, err
	}
	var wanted []registryapi.Descriptor
	for i, tag := range tags {
		if inScope(tag) {
			wanted = append(wanted, descs[i])
		}
	}
	inspect := reg.Inspect
	if canFetch {
		inspect = func(ctx context.Context, d registryapi.Descriptor) (registryapi.Image, error) {
			m, fetchedIt := fetched.take(d.Digest)
			if opts.Cache != nil {
				if img, ok := opts.Cache.Image(d.Digest); ok {
					return img, nil
				}
			}
			var img registryapi.Image
			var err error
			if fetchedIt {
				img, err = fetcher.InspectManifest(ctx, m)
			} else {
				img, err = reg.Inspect(ctx, d)
			}
			if err == nil && opts.Cache != nil {
				opts.Cache.Remember(img)
			}
			return img, err
		}
	}
	images, err := inspectAll(ctx, inspect, wanted, opts.Parallel, opts.Progress)
	if err != nil {
		return nil, err
	}
	items := make([]Item, 0, len(tags))
	for i, tag := range tags {
		switch {
		case !inScope(tag):
			items = append(items, Item{Tag: tag, Digest: descs[i].Digest})
		case descs[i].Digest != "":
			items = append(items, newItem(tag, images[descs[i].Digest]))
		}
	}
	return items, nil
}

// manifests holds the manifests the inventory fetched, one per digest,
// until they are inspected.
type manifests struct {
	mu       sync.Mutex
	byDigest map[string]registryapi.Manifest
}

func newManifests() *manifests { return &manifests{byDigest: map[string]registryapi.Manifest{}} }

func (ms *manifests) add(m registryapi.Manifest) {
	if m.Digest == "" {
		return
	}
	ms.mu.Lock()
	defer ms.mu.Unlock()
	if _, ok := ms.byDigest[m.Digest]; !ok {
		ms.byDigest[m.Digest] = m
	}
}

func (ms *manifests) take(digest string) (registryapi.Manifest, bool) {
	ms.mu.Lock()
	defer ms.mu.Unlock()
	m, ok := ms.byDigest[digest]
	delete(ms.byDigest, digest)
	return m, ok
}

type inspectFunc func(context.Context, registryapi.Descriptor) (registryapi.Image, error)

func inspectAll(ctx context.Context, inspect inspectFunc, descs []registryapi.Descriptor, parallel int, progress Progress) (map[string]registryapi.Image, error) {
	var unique []registryapi.Descriptor
	seen := map[string]bool{}
	for _, d := range descs {
		if d.Digest != "" && !seen[d.Digest] {
			seen[d.Digest] = true
			unique = append(unique, d)
		}
	}
	images := make([]registryapi.Image, len(unique))
	err := forEach(ctx, len(unique), parallel, progressOf(progress, "inspecting images", len(unique)), func(ctx context.Context, i int) error {
		img, err := inspect(ctx, unique[i])
		if err != nil {
			return fmt.Errorf("inspecting %s: %w", unique[i].Digest, err)
		}
		images[i] = img
		return nil
	})
	byDigest := make(map[string]registryapi.Image, len(unique))
	for i, d := range unique {
		artifactType := images[i].ArtifactType
		images[i].Descriptor = d
		images[i].ArtifactType = cmp.Or(d.ArtifactType, artifactType)
		byDigest[d.Digest] = images[i]
	}
	return byDigest, err
}

func newItem(tag string, img registryapi.Image) Item {
	it := Item{Tag: tag, Digest: img.Digest, Created: img.Created, Commit: img.Revision, IsIndex: img.IsIndex,
		ThrowAway: img.ArtifactType == registryapi.ArtifactTypeUntag}
	for _, c := range img.Children {
		it.Children = append(it.Children, c.Digest)
	}
	if img.Subject != nil {
		it.Subject = img.Subject.Digest
	}
	return it
}

func progressOf(p Progress, phase string, total int) func(done int) {
	if p == nil {
		return func(int) {}
	}
	p(phase, 0, total)
	return func(done int) { p(phase, done, total) }
}

// forEach runs fn for 0..n-1 with at most parallel calls at once and stops
// at the first error.
func forEach(parent context.Context, n, parallel int, done func(int), fn func(context.Context, int) error) error {
	if parallel < 1 {
		parallel = 1
	}
	ctx, cancel := context.WithCancel(parent)
	defer cancel()
	var (
		mu       sync.Mutex
		firstErr error
		finished int
		wg       sync.WaitGroup
	)
	next := make(chan int)
	for range min(parallel, max(n, 1)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				err := fn(ctx, i)
				mu.Lock()
				finished++
				done(finished)
				if err != nil && firstErr == nil {
					firstErr = err
					cancel()
				}
				mu.Unlock()
			}
		}()
	}
feed:
	for i := range n {
		select {
		case next <- i:
		case <-ctx.Done():
			break feed
		}
	}
	close(next)
	wg.Wait()
	if firstErr != nil {
		return firstErr
	}
	return parent.Err()
}
