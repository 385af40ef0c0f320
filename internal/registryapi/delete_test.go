package registryapi

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"
)

// inventory sets up tags a, b, c on one image and d on another and returns
// the digests.
func (f *fakeRegistry) inventory() (d1, d2 string) {
	d1 = f.tagAll("a", "b", "c")
	d2 = f.putImage("d", time.Unix(100, 0), nil, nil)
	return d1, d2
}

func TestUntagOCITagDelete(t *testing.T) {
	f := newFake(t, modeV3)
	d1, d2 := f.inventory()
	c := f.client()
	ctx := context.Background()
	_, err := c.client(ctx, true)
	assert.NilError(t, err)
	f.requests()

	ok, err := c.SupportsTagDelete(ctx)
	assert.NilError(t, err)
	assert.Check(t, ok)
	probe := f.requests()
	assert.Assert(t, is.Len(probe, 2), "%q", probe)
	assert.Check(t, strings.HasPrefix(probe[0], "DELETE /v2/team/app/manifests/sha256:"), "side-effect-free probe: %s", probe[0])
	assert.Check(t, strings.HasSuffix(probe[0], "-> 404"))
	assert.Check(t, strings.HasPrefix(probe[1], "DELETE /v2/team/app/manifests/docker-werf-probe-"), probe[1])
	assert.Check(t, strings.HasSuffix(probe[1], "-> 404"))

	assert.NilError(t, c.Untag(ctx, "a", d1))
	assert.DeepEqual(t, f.requests(), []string{
		"HEAD /v2/team/app/manifests/a -> 200",
		"DELETE /v2/team/app/manifests/a -> 202",
	})
	assert.DeepEqual(t, f.tagNames(), []string{"b", "c", "d"})
	assert.Check(t, f.hasManifest(d1))
	for tag, want := range map[string]string{"b": d1, "c": d1, "d": d2} {
		got, _ := f.tagDigest(tag)
		assert.Check(t, is.Equal(got, want), tag)
	}

	// A second client of the same host does not probe again.
	c2 := f.client()
	assert.NilError(t, c2.Untag(ctx, "b", d1))
	for _, r := range f.requests() {
		assert.Check(t, !strings.Contains(r, "probe"), r)
	}
}

// TestUntagOverwrite: distribution 2.x answers the tag DELETE with 400
// DIGEST_INVALID, so the tag is overwritten with a unique throw-away
// manifest which is then deleted by digest.
func TestUntagOverwrite(t *testing.T) {
	f := newFake(t, modeV2)
	d1, d2 := f.inventory()
	c := f.client()
	ctx := context.Background()
	ok, err := c.SupportsTagDelete(ctx)
	assert.NilError(t, err)
	assert.Check(t, !ok)
	f.requests()

	assert.NilError(t, c.Untag(ctx, "a", d1))
	reqs := f.requests()
	assert.Assert(t, is.Len(reqs, 6), "%q", reqs)
	assert.Check(t, is.Equal(reqs[0], "HEAD /v2/team/app/blobs/"+emptyJSONDigest+" -> 404"))
	assert.Check(t, is.Equal(reqs[1], "POST /v2/team/app/blobs/uploads/ -> 202"))
	assert.Check(t, is.Equal(reqs[2], "PUT /v2/team/app/blobs/uploads/u-1?digest="+strings.ReplaceAll(emptyJSONDigest, ":", "%3A")+" -> 201"))
	assert.Check(t, is.Equal(reqs[3], "HEAD /v2/team/app/manifests/a -> 200"))
	assert.Check(t, is.Equal(reqs[4], "PUT /v2/team/app/manifests/a -> 201"))
	throwAway, ok := strings.CutPrefix(reqs[5], "DELETE /v2/team/app/manifests/")
	assert.Assert(t, ok, reqs[5])
	throwAway, ok = strings.CutSuffix(throwAway, " -> 202")
	assert.Assert(t, ok, reqs[5])

	// Only the throw-away was deleted; b, c and the image survive.
	assert.Check(t, throwAway != d1 && throwAway != d2)
	assert.Check(t, !f.hasManifest(throwAway))
	assert.Check(t, f.hasManifest(d1))
	assert.DeepEqual(t, f.tagNames(), []string{"b", "c", "d"})
	f.mu.Lock()
	assert.Check(t, is.Equal(string(f.blobs[emptyJSONDigest]), "{}"), "config blob pushed")
	f.mu.Unlock()

	// The next untag reuses the config blob and gets another throw-away.
	assert.NilError(t, c.Untag(ctx, "b", d1))
	reqs = f.requests()
	assert.Assert(t, is.Len(reqs, 3), "%q", reqs)
	assert.Check(t, is.Equal(reqs[0], "HEAD /v2/team/app/manifests/b -> 200"))
	assert.Check(t, is.Equal(reqs[1], "PUT /v2/team/app/manifests/b -> 201"))
	second := strings.TrimSuffix(strings.TrimPrefix(reqs[2], "DELETE /v2/team/app/manifests/"), " -> 202")
	assert.Check(t, second != throwAway && second != d1 && second != d2)
	assert.DeepEqual(t, f.tagNames(), []string{"c", "d"})
	assert.Check(t, f.hasManifest(d1))
}

func TestThrowAwayManifest(t *testing.T) {
	seen := map[string]bool{}
	for range 100 {
		body, d := throwAway("v1")
		assert.Check(t, is.Equal(d, digestOf(body)))
		assert.Check(t, !seen[d], "duplicate throw-away digest")
		seen[d] = true
		var m rawManifest
		assert.NilError(t, json.Unmarshal(body, &m))
		assert.Check(t, is.Equal(m.MediaType, MediaTypeOCIManifest))
		assert.Check(t, is.Equal(m.Config.Digest, emptyJSONDigest))
		assert.Check(t, is.Equal(m.Config.MediaType, MediaTypeOCIEmpty))
		assert.Check(t, is.Len(m.Annotations[AnnotationUntagNonce], 32))
		assert.Check(t, is.Equal(m.Annotations[AnnotationUntagTag], "v1"))
	}
	assert.Check(t, is.Equal(digestOf([]byte(emptyJSON)), emptyJSONDigest))
}

// TestUntagFallsBackWhenTagDeleteRefused: a registry that looks a tag up
// before refusing the tag DELETE passes the probe; the real DELETE's 400
// UNSUPPORTED switches to the overwrite, and the host is remembered.
func TestUntagFallsBackWhenTagDeleteRefused(t *testing.T) {
	f := newFake(t, modeLookup)
	d1, _ := f.inventory()
	c := f.client()
	ctx := context.Background()
	ok, err := c.SupportsTagDelete(ctx)
	assert.NilError(t, err)
	assert.Check(t, ok, "the probe cannot tell")
	f.requests()
	assert.NilError(t, c.Untag(ctx, "a", d1))
	reqs := f.requests()
	assert.Check(t, is.Equal(reqs[0], "HEAD /v2/team/app/manifests/a -> 200"))
	assert.Check(t, is.Equal(reqs[1], "DELETE /v2/team/app/manifests/a -> 400"))
	assert.Check(t, is.Equal(reqs[len(reqs)-2], "PUT /v2/team/app/manifests/a -> 201"))
	assert.DeepEqual(t, f.tagNames(), []string{"b", "c", "d"})
	assert.Check(t, f.hasManifest(d1))

	ok, err = f.client().SupportsTagDelete(ctx)
	assert.NilError(t, err)
	assert.Check(t, !ok, "remembered per host")
}

// TestUntagTagMoved: the tag was re-pointed after the inventory; Untag
// leaves it and sends nothing that writes.
func TestUntagTagMoved(t *testing.T) {
	for _, mode := range []string{modeV3, modeV2} {
		t.Run(mode, func(t *testing.T) {
			f := newFake(t, mode)
			d1, d2 := f.inventory()
			c := f.client()
			ctx := context.Background()
			inv, err := c.Resolve(ctx, "a")
			assert.NilError(t, err)
			assert.Check(t, is.Equal(inv.Digest, d1))
			_, err = c.SupportsTagDelete(ctx)
			assert.NilError(t, err)

			f.mu.Lock()
			f.tags["a"] = d2 // another client pushes a new image to a
			f.mu.Unlock()
			f.requests()
			err = c.Untag(ctx, "a", inv.Digest)
			assert.Check(t, errors.Is(err, ErrTagMoved), "%v", err)
			assert.Check(t, is.ErrorContains(err, "untag a of"))
			assert.Check(t, is.ErrorContains(err, d2))
			for _, r := range f.requests() {
				assert.Check(t, strings.HasPrefix(r, "HEAD ") || strings.HasPrefix(r, "POST /v2/team/app/blobs/uploads/") ||
					strings.HasPrefix(r, "PUT /v2/team/app/blobs/uploads/"), "write after a moved tag: %s", r)
			}
			got, _ := f.tagDigest("a")
			assert.Check(t, is.Equal(got, d2), "the moved tag survives")

			err = c.Untag(ctx, "nope", d1)
			assert.Check(t, errors.Is(err, ErrNotFound), "%v", err)
		})
	}
}

// TestUntagRecoversDanglingTag: distribution 2.8 removes the manifest, then
// fails looking up its tags (500, concurrent tag writes); the retried
// DELETE answers 404 and the tag still names the deleted manifest. Untag
// puts the throw-away back by digest and deletes it again.
func TestUntagRecoversDanglingTag(t *testing.T) {
	f := newFake(t, modeV2)
	d1, _ := f.inventory()
	c := f.client()
	ctx := context.Background()
	failed := false
	f.hook = func(w http.ResponseWriter, r *http.Request) bool {
		d, ok := strings.CutPrefix(r.URL.Path, "/v2/team/app/manifests/sha256:")
		if failed || !ok || r.Method != http.MethodDelete || !f.hasManifest("sha256:"+d) {
			return false
		}
		failed = true
		f.mu.Lock()
		delete(f.manifests, "sha256:"+d) // the tags are not removed
		f.mu.Unlock()
		errorJSON(w, http.StatusInternalServerError, "UNKNOWN", "invalid checksum digest format")
		return true
	}
	assert.NilError(t, c.Untag(ctx, "a", d1))
	reqs := f.requests()
	assert.Check(t, is.Equal(reqs[len(reqs)-1][:len("DELETE")], "DELETE"))
	assert.Check(t, strings.HasSuffix(reqs[len(reqs)-1], "-> 202"), "%q", reqs)
	assert.Check(t, strings.HasPrefix(reqs[len(reqs)-2], "PUT /v2/team/app/manifests/sha256:"), "restored by digest: %q", reqs)
	assert.DeepEqual(t, f.tagNames(), []string{"b", "c", "d"})
}

func TestDeleteDisabled(t *testing.T) {
	f := newFake(t, modeDisabled)
	d1, d2 := f.inventory()
	c := f.client()
	ctx := context.Background()
	ok, err := c.SupportsTagDelete(ctx)
	assert.Check(t, !ok)
	assert.Check(t, errors.Is(err, ErrDeleteDisabled), "%v", err)

	f.requests()
	err = c.Untag(ctx, "a", d1)
	assert.Check(t, errors.Is(err, ErrDeleteDisabled), "%v", err)
	assert.Check(t, is.Len(f.requests(), 0), "nothing sent, nothing overwritten")
	got, _ := f.tagDigest("a")
	assert.Check(t, is.Equal(got, d1))

	err = c.DeleteManifest(ctx, d2)
	assert.Check(t, errors.Is(err, ErrDeleteDisabled), "%v", err)
	assert.Check(t, is.ErrorContains(err, "HTTP 405"))
	assert.Check(t, is.ErrorContains(err, "UNSUPPORTED"))
}

func TestDeleteManifest(t *testing.T) {
	f := newFake(t, modeV2)
	d1, d2 := f.inventory()
	c := f.client()
	ctx := context.Background()
	assert.NilError(t, c.DeleteManifest(ctx, d1))
	assert.DeepEqual(t, f.tagNames(), []string{"d"})
	err := c.DeleteManifest(ctx, d1)
	assert.Check(t, errors.Is(err, ErrNotFound), "%v", err)
	f.requests()
	err = c.DeleteManifest(ctx, "d")
	assert.Check(t, is.ErrorContains(err, "invalid digest"))
	assert.Check(t, is.Len(f.requests(), 0))
	_ = d2
}

func TestUnauthorized(t *testing.T) {
	f := newFake(t, modeV3)
	d1, _ := f.inventory()
	wrong := "wr0ng-pa55word"
	c := f.clientAs(fakeUser, wrong)
	ctx := context.Background()
	check := func(err error, op, rights string) {
		t.Helper()
		assert.Check(t, errors.Is(err, ErrUnauthorized), "%v", err)
		assert.Check(t, is.ErrorContains(err, op))
		assert.Check(t, is.ErrorContains(err, rights))
		assertNoSecret(t, err, wrong)
	}
	_, err := c.Tags(ctx)
	check(err, "list tags of", "pull rights")
	_, err = c.Resolve(ctx, "a")
	check(err, "resolve tag a of", "pull rights")
	err = c.Untag(ctx, "a", d1)
	check(err, "probe delete support of", "delete rights")
	err = c.DeleteManifest(ctx, d1)
	check(err, "delete manifest "+d1, "delete rights")
	assert.Check(t, is.ErrorContains(err, "HTTP 401"))
}

// TestForbiddenDelete: reads are allowed, deletes get 403 DENIED.
func TestForbiddenDelete(t *testing.T) {
	f := newFake(t, modeV3)
	d1, _ := f.inventory()
	f.hook = func(w http.ResponseWriter, r *http.Request) bool {
		if r.Method != http.MethodDelete {
			return false
		}
		// A proxy that echoes the request's Authorization in its message.
		errorJSON(w, http.StatusForbidden, "DENIED", "requested access to the resource is denied for "+r.Header.Get("Authorization"))
		return true
	}
	c := f.client()
	ctx := context.Background()
	_, err := c.Resolve(ctx, "a")
	assert.NilError(t, err)
	err = c.Untag(ctx, "a", d1)
	assert.Check(t, errors.Is(err, ErrUnauthorized), "%v", err)
	assert.Check(t, is.ErrorContains(err, "HTTP 403"))
	assert.Check(t, is.ErrorContains(err, "DENIED"))
	assert.Check(t, is.ErrorContains(err, "delete rights"))
	assert.Check(t, is.ErrorContains(err, "Basic [redacted]"))
	assertNoSecret(t, err, fakePass)
	got, _ := f.tagDigest("a")
	assert.Check(t, is.Equal(got, d1))
}

func assertNoSecret(t *testing.T, err error, pass string) {
	t.Helper()
	if err == nil {
		return
	}
	msg := err.Error()
	for _, s := range []string{pass, base64.StdEncoding.EncodeToString([]byte(fakeUser + ":" + pass))} {
		assert.Check(t, !strings.Contains(msg, s), "secret in error: %s", msg)
	}
}

// TestBearerScopes: reads ask for pull, writes for push,pull,delete; one
// token per kind serves every request until it expires; after expiry the
// token is refreshed once and a PUT's body is sent again.
func TestBearerScopes(t *testing.T) {
	f := newFake(t, modeV2)
	f.bearer = true
	d1, _ := f.inventory()
	c := f.client()
	ctx := context.Background()
	for range 5 {
		_, err := c.Resolve(ctx, "a")
		assert.NilError(t, err)
	}
	_, err := c.Tags(ctx)
	assert.NilError(t, err)
	assert.NilError(t, c.Untag(ctx, "a", d1))
	assert.NilError(t, c.Untag(ctx, "b", d1))
	f.mu.Lock()
	assert.DeepEqual(t, f.tokenScopes, []string{
		"repository:team/app:pull",
		"repository:team/app:push,pull,delete",
	})
	assert.Check(t, is.Equal(f.issued, 2), "one token per scope set for 9 requests")
	f.mu.Unlock()

	f.expireTokens()
	assert.NilError(t, c.Untag(ctx, "c", d1))
	assert.DeepEqual(t, f.tagNames(), []string{"d"})
	f.mu.Lock()
	assert.Check(t, is.Equal(f.issued, 3), "one refresh after expiry: %q", f.tokenScopes)
	f.mu.Unlock()
	assert.Check(t, f.hasManifest(d1))
}

// TestBearerDenied: the token server refuses the credentials.
func TestBearerDenied(t *testing.T) {
	f := newFake(t, modeV3)
	f.bearer = true
	wrong := "n0t-the-password"
	_, err := f.clientAs(fakeUser, wrong).Tags(context.Background())
	assert.Check(t, errors.Is(err, ErrUnauthorized), "%v", err)
	assert.Check(t, is.ErrorContains(err, "pull rights"))
	assertNoSecret(t, err, wrong)
}

// TestConcurrentUntag untags 60 tags of one image from 8 goroutines on a
// registry without tag DELETE; the image and the kept tag survive.
func TestConcurrentUntag(t *testing.T) {
	for _, mode := range []string{modeV2, modeV3} {
		t.Run(mode, func(t *testing.T) {
			f := newFake(t, mode)
			var names []string
			for i := range 61 {
				names = append(names, fmt.Sprintf("t%02d", i))
			}
			d := f.tagAll(names...)
			c := f.client()
			ctx := context.Background()
			jobs := make(chan string)
			var wg sync.WaitGroup
			for range 8 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for tag := range jobs {
						assert.Check(t, c.Untag(ctx, tag, d))
					}
				}()
			}
			for _, n := range names[1:] {
				jobs <- n
			}
			close(jobs)
			wg.Wait()
			assert.DeepEqual(t, f.tagNames(), []string{"t00"})
			assert.Check(t, f.hasManifest(d))
			pings := 0
			for _, r := range f.requests() {
				if strings.HasPrefix(r, "GET /v2/ ") {
					pings++
				}
			}
			assert.Check(t, is.Equal(pings, 2), "one scheme ping, one auth ping")
		})
	}
}
