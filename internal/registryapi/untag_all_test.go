package registryapi

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"
)

// untagAll runs UntagAll and returns each tag's result.
func untagAll(ctx context.Context, c *Client, tags []TagAt, parallel int) map[string]error {
	got := map[string]error{}
	c.UntagAll(ctx, tags, UntagAllOptions{Parallel: parallel, Done: func(i int, err error) {
		if _, dup := got[tags[i].Tag]; dup {
			panic("two results for " + tags[i].Tag)
		}
		got[tags[i].Tag] = err
	}})
	return got
}

// countRequests counts the logged requests that start with prefix.
func countRequests(reqs []string, prefix string) int {
	n := 0
	for _, r := range reqs {
		if strings.HasPrefix(r, prefix) {
			n++
		}
	}
	return n
}

func TestUntagAllGroups(t *testing.T) {
	for _, tc := range []struct {
		mode               string
		digestDeletes      int // DELETE manifests/sha256:… requests
		tagDeletes         int
		throwAwayOverwrite int // PUT manifests/<tag>
	}{
		// 1 + 4 + 16 + 64 + 256 + 59 tags: six groups, six DELETEs for 400 tags.
		{mode: modeV2, digestDeletes: 6, throwAwayOverwrite: 400},
		{mode: modeV3, tagDeletes: 400},
	} {
		t.Run(tc.mode, func(t *testing.T) {
			f := newFake(t, tc.mode)
			var names []string
			for i := range 402 {
				names = append(names, fmt.Sprintf("t%03d", i))
			}
			shared := f.tagAll(names...)
			other := f.putImage("other", time.Unix(5, 0), nil, nil)
			var tags []TagAt
			for _, n := range names[2:] { // t000 and t001 stay on the shared digest
				tags = append(tags, TagAt{Tag: n, Digest: shared})
			}
			c := f.client()
			f.requests()

			got := untagAll(context.Background(), c, tags, 8)
			assert.Check(t, is.Len(got, 400))
			for tag, err := range got {
				assert.Check(t, err, tag)
			}
			assert.DeepEqual(t, f.tagNames(), []string{"other", "t000", "t001"})
			assert.Check(t, f.hasManifest(shared))
			assert.Check(t, f.hasManifest(other))
			f.mu.Lock()
			assert.Check(t, is.Len(f.manifests, 2), "no throw-away manifest left")
			f.mu.Unlock()
			reqs := f.requests()
			assert.Check(t, is.Equal(countRequests(reqs, "DELETE /v2/team/app/manifests/sha256:"), tc.digestDeletes+1), "probe + deletes: %q", reqs)
			assert.Check(t, is.Equal(countRequests(reqs, "DELETE /v2/team/app/manifests/t"), tc.tagDeletes), "%q", reqs)
			assert.Check(t, is.Equal(countRequests(reqs, "PUT /v2/team/app/manifests/t"), tc.throwAwayOverwrite))
			assert.Check(t, is.Equal(countRequests(reqs, "HEAD /v2/team/app/manifests/t"), 400), "each tag checked")
		})
	}
}

// TestUntagAllKeepsWhatMoved: a tag that moved or vanished before its
// check is reported and left alone; the group goes on.
func TestUntagAllKeepsWhatMoved(t *testing.T) {
	f := newFake(t, modeV2)
	d1 := f.tagAll("a", "b", "c", "d", "e", "f")
	d2 := f.putImage("moved", time.Unix(7, 0), nil, nil)
	f.mu.Lock()
	f.tags["b"] = d2 // moved since the inventory
	delete(f.tags, "c")
	f.mu.Unlock()
	c := f.client()
	tags := []TagAt{{"a", d1}, {"b", d1}, {"c", d1}, {"d", d1}, {"e", d1}, {"bad tag", d1}, {"f", "sha256:nope"}}
	got := untagAll(context.Background(), c, tags, 3)
	assert.Check(t, got["a"])
	assert.Check(t, errors.Is(got["b"], ErrTagMoved), "%v", got["b"])
	assert.Check(t, errors.Is(got["c"], ErrNotFound), "%v", got["c"])
	assert.Check(t, got["d"])
	assert.Check(t, got["e"])
	assert.Check(t, is.ErrorContains(got["bad tag"], "invalid tag"))
	assert.Check(t, is.ErrorContains(got["f"], "invalid digest"))
	assert.DeepEqual(t, f.tagNames(), []string{"b", "f", "moved"})
	assert.Check(t, f.hasManifest(d1))
}

// TestUntagAllStops: once ctx ends no tag is overwritten any more, the
// group under way is finished (its throw-away deleted, so no tag is left
// on one) and the tags not reached get no result.
func TestUntagAllStops(t *testing.T) {
	f := newFake(t, modeV2)
	var names []string
	for i := range 100 {
		names = append(names, fmt.Sprintf("t%03d", i))
	}
	d := f.tagAll(names...)
	var tags []TagAt
	for _, n := range names {
		tags = append(tags, TagAt{Tag: n, Digest: d})
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	n := 0
	f.hook = func(w http.ResponseWriter, r *http.Request) bool {
		if r.Method == http.MethodPut && strings.HasPrefix(r.URL.Path, "/v2/team/app/manifests/t") {
			if n++; n == 8 { // inside the third group (tags 5..20)
				cancel()
			}
		}
		return false
	}
	got := untagAll(ctx, f.client(), tags, 1)
	assert.Check(t, len(got) >= 8 && len(got) < 21, "%d results", len(got))
	for tag, err := range got {
		assert.Check(t, err, tag)
	}
	left := f.tagNames()
	assert.Check(t, is.Len(left, 100-len(got)))
	for _, tag := range left {
		_, reported := got[tag]
		assert.Check(t, !reported, tag)
		dig, _ := f.tagDigest(tag)
		assert.Check(t, is.Equal(dig, d), "%s is left on a throw-away", tag)
	}
	assert.Check(t, slices.Contains(left, "t099"))
}

// TestUntagAllFailedDelete: when the group's DELETE fails, every tag of
// the group reports it (the tags point to the throw-away; a rerun deletes
// them) and the next group is tried.
func TestUntagAllFailedDelete(t *testing.T) {
	f := newFake(t, modeV2)
	d := f.tagAll("a", "b", "c", "d", "e", "f")
	c := f.client()
	failures := 0
	f.hook = func(w http.ResponseWriter, r *http.Request) bool {
		if r.Method == http.MethodDelete && failures == 0 && f.throwAwayDigest(r.URL.Path) {
			failures++
			errorJSON(w, http.StatusForbidden, "DENIED", "retention policy")
			return true
		}
		return false
	}
	got := untagAll(context.Background(), c, []TagAt{{"b", d}, {"c", d}, {"d", d}}, 2)
	assert.Check(t, is.ErrorContains(got["b"], "throw-away manifest"))
	assert.Check(t, got["c"])
	assert.Check(t, got["d"])
	assert.DeepEqual(t, f.tagNames(), []string{"a", "b", "e", "f"})
}

// throwAwayDigest says whether a manifest path names a throw-away manifest.
func (f *fakeRegistry) throwAwayDigest(path string) bool {
	d, ok := strings.CutPrefix(path, "/v2/team/app/manifests/")
	if !ok || !isDigest(d) {
		return false
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	return strings.Contains(string(f.manifests[d].body), ArtifactTypeUntag)
}

func TestFetch(t *testing.T) {
	f := newFake(t, modeV3)
	created := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	d := f.putImage("v1", created, map[string]string{KeyRevision: "abc"}, nil)
	c := f.client()
	ctx := context.Background()
	f.requests()

	m, err := c.Fetch(ctx, "v1")
	assert.NilError(t, err)
	assert.Check(t, is.Equal(m.Digest, d))
	assert.Check(t, is.Equal(m.MediaType, MediaTypeOCIManifest))
	assert.Check(t, is.Equal(m.Size, int64(len(m.Body))))
	img, err := c.InspectManifest(ctx, m)
	assert.NilError(t, err)
	assert.Check(t, img.Created.Equal(created))
	assert.Check(t, is.Equal(img.Revision, "abc"))
	reqs := slices.DeleteFunc(f.requests(), func(r string) bool { return strings.HasPrefix(r, "GET /v2/ ") })
	assert.Check(t, is.Len(reqs, 2), "one manifest GET, one config GET (besides pings): %q", reqs)
	assert.Check(t, is.Equal(reqs[0], "GET /v2/team/app/manifests/v1 -> 200"))

	_, err = c.Fetch(ctx, "missing")
	assert.Check(t, errors.Is(err, ErrNotFound), "%v", err)
	_, err = c.Fetch(ctx, "bad tag")
	assert.Check(t, is.ErrorContains(err, "invalid tag"))

	// A registry that sends another digest than the body's is not believed.
	f.hook = func(w http.ResponseWriter, r *http.Request) bool {
		if r.Method != http.MethodGet || r.URL.Path != "/v2/team/app/manifests/v1" {
			return false
		}
		w.Header().Set("Docker-Content-Digest", "sha256:"+strings.Repeat("0", 64))
		w.Header().Set("Content-Type", MediaTypeOCIManifest)
		_, _ = w.Write(m.Body)
		return true
	}
	_, err = c.Fetch(ctx, "v1")
	assert.Check(t, is.ErrorContains(err, "manifest digest is "+d))
}
