package cleanup

import (
	"context"
	"slices"
	"testing"

	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"

	"github.com/docker-werf/docker-werf/internal/registryapi"
)

// lastUntagDeletes is ECR's semantics over the fake: removing an image's
// last tag deletes the image.
type lastUntagDeletes struct {
	*fakeRegistry
	deleted []string
}

func (f *lastUntagDeletes) Untag(ctx context.Context, tag, expect string) error {
	if err := f.fakeRegistry.Untag(ctx, tag, expect); err != nil {
		return err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, d := range f.tags {
		if d == expect {
			return nil
		}
	}
	f.deleted = append(f.deleted, expect)
	return nil
}

func TestUntagDeletesImageKeepsWhatKeptNeeds(t *testing.T) {
	for _, tc := range []struct {
		name   string
		tags   map[string]string
		images map[string]registryapi.Image
		keep   []string
		kept   []string // tags the plan must keep with ReasonUntagDeletesImage
		gone   []string // digests that may be deleted
	}{
		{
			name: "children of a kept index",
			tags: map[string]string{"multi": "sha256:idx", "amd64": "sha256:amd", "amd64-b": "sha256:amd",
				"arm64": "sha256:arm", "old": "sha256:old"},
			images: map[string]registryapi.Image{"sha256:idx": {IsIndex: true,
				Children: []registryapi.Descriptor{{Digest: "sha256:amd"}, {Digest: "sha256:arm"}}}},
			keep: []string{"multi"},
			kept: []string{"amd64", "arm64"},
			gone: []string{"sha256:old"},
		},
		{
			name: "the subject of a kept referrer",
			tags: map[string]string{"v1": "sha256:v1", "v1-sig": "sha256:s1"},
			images: map[string]registryapi.Image{
				"sha256:s1": {Subject: &registryapi.Descriptor{Digest: "sha256:v1"}}},
			keep: []string{"v1-sig"},
			kept: []string{"v1"},
		},
		{
			name: "a kept tag holds the image up",
			tags: map[string]string{"a": "sha256:1", "b": "sha256:1", "c": "sha256:2"},
			keep: []string{"a"},
			gone: []string{"sha256:2"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := &lastUntagDeletes{fakeRegistry: newFake(tc.tags)}
			for d, img := range tc.images {
				f.images[d] = img
			}
			ctx := context.Background()
			items, err := Inventory(ctx, f, 2, nil)
			assert.NilError(t, err)
			plan := MakePlan(items, decide(tc.keep...)(items), PlanOptions{UntagDeletesImage: true})
			res, err := Execute(ctx, f, plan, Options{Parallel: 2})
			assert.NilError(t, err)
			var kept []string
			for _, r := range res {
				if r.Reason == ReasonUntagDeletesImage {
					assert.Check(t, r.Keep, r.Tag)
					kept = append(kept, r.Tag)
				}
			}
			slices.Sort(kept)
			assert.Check(t, is.DeepEqual(kept, tc.kept))
			assert.Check(t, is.DeepEqual(f.deleted, tc.gone), "images deleted with their last tag")
		})
	}
}
