package quay

import (
	"context"
	"errors"
	"fmt"
	"github.com/docker-werf/docker-werf/internal/apiclient/apitest"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"

	"github.com/docker-werf/docker-werf/internal/cleanup"
	"github.com/docker-werf/docker-werf/internal/cleanup/cleanuptest"
	"github.com/docker-werf/docker-werf/internal/policy"
	"github.com/docker-werf/docker-werf/internal/registry"
	"github.com/docker-werf/docker-werf/internal/registrytypes"
	"github.com/docker-werf/docker-werf/internal/retry"
)

var _ cleanup.Registry = (*Client)(nil)

var testRepo = registry.Repository{Raw: "quay.io/team/app", Host: "quay.io", Path: fakeNS + "/" + fakeRepo, Kind: registry.Quay}

// testTransport retries like the default one, with its own rate-limit
// gates; fast makes waits instant and allows two attempts.
func testTransport(fast bool) http.RoundTripper {
	inner := http.DefaultTransport.(*http.Transport).Clone()
	if fast {
		return retry.NewTransport(inner, retry.WithMaxAttempts(2),
			retry.WithClock(nil, func(ctx context.Context, _ time.Duration) error { return ctx.Err() }))
	}
	return retry.NewTransport(inner)
}

func newClient(t *testing.T, f *quayFake, token string, opts ...Option) *Client {
	t.Helper()
	opts = append([]Option{WithBaseURL(f.srv.URL), WithTransport(testTransport(false))}, opts...)
	c, err := New(testRepo, Credentials{Token: token}, opts...)
	assert.NilError(t, err)
	return c
}

// backend runs the cleanup contract against the fake.
type backend struct {
	f *quayFake
	t *testing.T
}

func (b *backend) Registry() cleanup.Registry {
	return newClient(b.t, b.f, rwToken, WithPageSize(b.PageSize()))
}
func (b *backend) Seed(_ *testing.T, tags map[string]string) { b.f.seed(tags) }
func (b *backend) Tags(*testing.T) []string                  { return b.f.liveTags() }
func (b *backend) Writes(*testing.T) []string                { return b.f.recordedWrites() }
func (b *backend) RateLimitNext(*testing.T) {
	b.f.mu.Lock()
	defer b.f.mu.Unlock()
	b.f.limited = 1
}
func (b *backend) Unauthorized(t *testing.T) (cleanup.Registry, string) {
	return newClient(t, b.f, "not-a-valid-token"), "--repo-quay-token (WERF_REPO_QUAY_TOKEN)"
}
func (b *backend) PageSize() int       { return 2 }
func (b *backend) Kind() registry.Kind { return registry.Quay }

func TestContract(t *testing.T) {
	cleanuptest.Run(t, func(t *testing.T) cleanuptest.Backend {
		return &backend{f: newQuayFake(t), t: t}
	})
}

func TestNew(t *testing.T) {
	_, err := New(testRepo, Credentials{})
	assert.ErrorContains(t, err, "--repo-quay-token (WERF_REPO_QUAY_TOKEN) is not set")
	for _, p := range []string{"app", "team/", "team//app", "team/app/"} {
		_, err := New(registry.Repository{Host: "quay.io", Path: p}, Credentials{Token: rwToken})
		assert.Check(t, err != nil, p)
	}
	_, err = New(testRepo, Credentials{Token: rwToken}, WithPageSize(0))
	assert.ErrorContains(t, err, "page size 0")
	_, err = New(testRepo, Credentials{Token: rwToken}, WithBaseURL("quay.io"))
	assert.ErrorContains(t, err, "invalid Quay API URL")

	c, err := New(registry.Repository{Host: "quay.example.com:8443", Path: "org/group/app"}, Credentials{Token: rwToken})
	assert.NilError(t, err)
	assert.Check(t, is.Equal(c.repoPath("/tag/"), "https://quay.example.com:8443/api/v1/repository/org/group/app/tag/"))
}

func TestExpiredAndHistoryAreNotLiveTags(t *testing.T) {
	ctx := context.Background()
	f := newQuayFake(t)
	f.seed(map[string]string{"a": "one", "b": "two"})
	now := time.Now()
	f.mu.Lock()
	// Scheduled to expire tomorrow: live. Expired a second ago: not.
	f.history = append(f.history,
		&entry{name: "soon", digest: digestOf("three"), start: seedStartTS + 600, end: ptr(now.Add(24 * time.Hour).Unix())},
		&entry{name: "just-expired", digest: digestOf("four"), start: seedStartTS + 700, end: ptr(now.Add(-time.Second).Unix())})
	f.allActive = true // a server listing history despite onlyActiveTags
	f.mu.Unlock()
	c := newClient(t, f, rwToken, WithPageSize(2))
	tags, err := c.Tags(ctx)
	assert.NilError(t, err)
	slices.Sort(tags)
	assert.Check(t, is.DeepEqual(tags, []string{"a", "b", "soon"}))

	d, err := c.Resolve(ctx, "a")
	assert.NilError(t, err)
	assert.Check(t, is.Equal(d.Digest, digestOf("one")), "the live entry, not the history")

	_, err = c.Resolve(ctx, "just-expired")
	assert.Check(t, errors.Is(err, registrytypes.ErrNotFound))

	err = c.Untag(ctx, "just-expired", digestOf("four"))
	assert.Check(t, errors.Is(err, registrytypes.ErrNotFound))
	assert.Check(t, is.Len(f.recordedWrites(), 0))
}

func TestTagExpiringAfterTheListing(t *testing.T) {
	ctx := context.Background()
	f := newQuayFake(t)
	f.seed(map[string]string{"a": "one"})
	end := time.Now().Add(time.Minute)
	f.mu.Lock()
	f.history = append(f.history, &entry{name: "soon", digest: digestOf("two"), start: seedStartTS + 600, end: ptr(end.Unix())})
	f.mu.Unlock()
	now := time.Now()
	c := newClient(t, f, rwToken, WithClock(func() time.Time { return now }), WithListingMaxAge(time.Hour))
	tags, err := c.Tags(ctx)
	assert.NilError(t, err)
	assert.Check(t, slices.Contains(tags, "soon"))
	now = end.Add(time.Second) // it expired since: not answered from the listing
	f.mu.Lock()
	f.now = func() time.Time { return now }
	f.mu.Unlock()
	_, err = c.Resolve(ctx, "soon")
	assert.Check(t, errors.Is(err, registrytypes.ErrNotFound))
}

func TestPaginationEdges(t *testing.T) {
	for _, n := range []int{0, 1, 2, 3, 4, 5, 7} {
		f := newQuayFake(t)
		tags := map[string]string{}
		want := []string{}
		for i := range n {
			name := fmt.Sprintf("t%02d", i)
			tags[name], want = name, append(want, name)
		}
		f.seed(tags)
		c := newClient(t, f, rwToken, WithPageSize(2))
		got, err := c.Tags(context.Background())
		assert.NilError(t, err)
		slices.Sort(got)
		assert.Check(t, is.DeepEqual(got, want), "%d tags", n)
		pages := 0
		for _, r := range f.requests() {
			if strings.HasPrefix(r, "GET "+listPrefix+"?") {
				pages++
			}
		}
		assert.Check(t, is.Equal(pages, max(1, (n+1)/2)), "%d tags", n)
	}
}

func TestPaginationGuards(t *testing.T) {
	f := newQuayFake(t)
	f.hook = func(w http.ResponseWriter, r *http.Request) bool {
		apitest.WriteJSON(w, http.StatusOK, map[string]any{"tags": []any{}, "page": 1, "has_additional": true})
		return true
	}
	c := newClient(t, f, rwToken)
	_, err := c.Tags(context.Background())
	assert.ErrorContains(t, err, "page 1 is empty but says more follow")

	f.hook = func(w http.ResponseWriter, r *http.Request) bool {
		apitest.WriteJSON(w, http.StatusOK, map[string]any{"tags": []any{tagJSON(&entry{name: "a", digest: digestOf("a"), start: 1})},
			"page": 7, "has_additional": true})
		return true
	}
	_, err = c.Tags(context.Background())
	assert.ErrorContains(t, err, "asked for page 1, got page 7")
}

func TestErrorClasses(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name   string
		status int
		body   any
		is     error
		want   []string
	}{
		{"unauthorized", 401, map[string]any{"error_type": "invalid_token", "error_message": "bad token " + rwToken},
			registrytypes.ErrUnauthorized, []string{"HTTP 401", "--repo-quay-token (WERF_REPO_QUAY_TOKEN)"}},
		{"forbidden", 403, map[string]any{"error_type": "insufficient_scope", "error_message": "Unauthorized"},
			registrytypes.ErrUnauthorized, []string{"HTTP 403", "repo:read"}},
		{"no repo", 404, map[string]any{"error_type": "not_found", "error_message": "Not Found"},
			registrytypes.ErrNotFound, []string{"does not exist, or the token cannot see it"}},
		{"server", 500, map[string]any{"error_message": "Internal Server Error"}, nil, []string{"HTTP 500"}},
		{"rate limited", 429, "<html>429</html>", nil, []string{"HTTP 429", "rate limit"}},
		{"garbage", 200, "not json", nil, []string{"decoding the answer"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newQuayFake(t)
			f.hook = func(w http.ResponseWriter, r *http.Request) bool {
				if s, ok := tc.body.(string); ok {
					w.WriteHeader(tc.status)
					_, _ = w.Write([]byte(s))
				} else {
					apitest.WriteJSON(w, tc.status, tc.body)
				}
				return true
			}
			c := newClient(t, f, rwToken, WithTransport(testTransport(true)))
			_, err := c.Tags(ctx)
			assert.Assert(t, err != nil)
			assert.ErrorContains(t, err, "listing tags of quay.io/team/app")
			if tc.is != nil {
				assert.Check(t, errors.Is(err, tc.is), err.Error())
			}
			for _, w := range tc.want {
				assert.ErrorContains(t, err, w)
			}
			assert.Check(t, !strings.Contains(err.Error(), rwToken), err.Error())
		})
	}
}

func TestSecretsNeverInErrors(t *testing.T) {
	f := newQuayFake(t)
	// The fake echoes the refused token back.
	c := newClient(t, f, "quay-secret-token-value-42")
	_, err := c.Tags(context.Background())
	assert.Check(t, errors.Is(err, registrytypes.ErrUnauthorized))
	assert.Check(t, !strings.Contains(err.Error(), "quay-secret-token-value-42"), err.Error())
	assert.ErrorContains(t, err, "[redacted]")

	f.hook = func(w http.ResponseWriter, r *http.Request) bool {
		apiError(w, 400, "invalid_request", "header was Authorization: "+r.Header.Get("Authorization"))
		return true
	}
	c = newClient(t, f, rwToken)
	_, err = c.Tags(context.Background())
	assert.Check(t, !strings.Contains(err.Error(), rwToken), err.Error())
}

func TestRateLimit(t *testing.T) {
	for _, withHeader := range []bool{false, true} {
		t.Run(fmt.Sprint("Retry-After=", withHeader), func(t *testing.T) {
			f := newQuayFake(t)
			f.seed(map[string]string{"a": "one"})
			f.limited, f.retryHdr = 2, withHeader
			var (
				mu    sync.Mutex
				waits []time.Duration
				slept time.Duration
			)
			now := func() time.Time {
				mu.Lock()
				defer mu.Unlock()
				return time.Now().Add(slept)
			}
			sleep := func(_ context.Context, d time.Duration) error {
				mu.Lock()
				defer mu.Unlock()
				waits, slept = append(waits, d), slept+d
				return nil
			}
			c := newClient(t, f, rwToken, WithTransport(retry.NewTransport(nil, retry.WithClock(now, sleep))))
			tags, err := c.Tags(context.Background())
			assert.NilError(t, err)
			assert.Check(t, is.DeepEqual(tags, []string{"a"}))
			assert.Assert(t, is.Len(waits, 2))
			if withHeader {
				assert.Check(t, waits[0] >= time.Second, "Retry-After honoured: %v", waits)
			}
		})
	}
}

func TestResolveUsesTheListingOnce(t *testing.T) {
	ctx := context.Background()
	f := newQuayFake(t)
	f.seed(map[string]string{"a": "one", "b": "one", "c": "two"})
	c := newClient(t, f, rwToken)
	_, err := c.Tags(ctx)
	assert.NilError(t, err)
	before := len(f.requests())
	for _, tag := range []string{"a", "b", "c"} {
		_, err := c.Resolve(ctx, tag)
		assert.NilError(t, err)
	}
	assert.Check(t, is.Len(f.requests()[before:], 0))
	d, err := c.Resolve(ctx, "a")
	assert.NilError(t, err)
	assert.Check(t, is.Equal(d.Digest, digestOf("one")))
	assert.Check(t, is.DeepEqual(f.requests()[before:], []string{"GET " + listPrefix + "?onlyActiveTags=true&specificTag=a"}))
	_, err = c.Resolve(ctx, "nope")
	assert.Check(t, errors.Is(err, registrytypes.ErrNotFound))
}

func TestInspect(t *testing.T) {
	ctx := context.Background()
	f := newQuayFake(t)
	f.seed(map[string]string{"a": "one", "b": "one", "list": "index"})
	f.mu.Lock()
	f.liveEntry("b").start = seedStartTS - 600 // b came first
	f.liveEntry("list").isList = true
	f.mu.Unlock()
	c := newClient(t, f, rwToken)
	items, err := cleanup.Inventory(ctx, c, 2, nil)
	assert.NilError(t, err)
	byTag := map[string]cleanup.Item{}
	for _, it := range items {
		byTag[it.Tag] = it
	}
	want := time.Unix(seedStartTS-600, 0).UTC()
	assert.Check(t, byTag["a"].Created.Equal(want), "earliest start_ts of the image's tags: %v", byTag["a"].Created)
	assert.Check(t, byTag["list"].IsIndex)
	assert.Check(t, !byTag["a"].IsIndex)

	api := &fakeAPI{}
	c = newClient(t, f, rwToken, WithRegistryAPI(api))
	items, err = cleanup.Inventory(ctx, c, 2, nil)
	assert.NilError(t, err)
	for _, it := range items {
		assert.Check(t, is.Equal(it.Commit, "abc123"))
		assert.Check(t, it.Created.Year() == 2025 || it.Created.Year() == 2026, "Quay's time wins: %v", it.Created)
	}
}

type fakeAPI struct{}

func (fakeAPI) Inspect(_ context.Context, d registrytypes.Descriptor) (registrytypes.Image, error) {
	return registrytypes.Image{Descriptor: d, Revision: "abc123", Created: time.Unix(1, 0)}, nil
}

func TestUntag(t *testing.T) {
	ctx := context.Background()
	t.Run("keeps the history and other tags", func(t *testing.T) {
		f := newQuayFake(t)
		f.seed(map[string]string{"a": "one", "b": "one"})
		c := newClient(t, f, rwToken)
		assert.NilError(t, c.Untag(ctx, "a", digestOf("one")))
		assert.Check(t, is.DeepEqual(f.liveTags(), []string{"b"}))
		assert.Check(t, is.DeepEqual(f.recordedWrites(), []string{"DELETE " + listPrefix + "a"}))
		f.mu.Lock()
		var ended int
		for _, e := range f.history {
			if e.name == "a" && e.end != nil {
				ended++
			}
		}
		f.mu.Unlock()
		assert.Check(t, is.Equal(ended, 2), "the deleted tag stays in the history (time machine)")
	})
	t.Run("moved", func(t *testing.T) {
		f := newQuayFake(t)
		f.seed(map[string]string{"a": "one"})
		c := newClient(t, f, rwToken)
		err := c.Untag(ctx, "a", digestOf("before-a"))
		assert.Check(t, errors.Is(err, registrytypes.ErrTagMoved), "the history entry is not the tag")
		assert.Check(t, is.Len(f.recordedWrites(), 0))
	})
	t.Run("immutable in the listing", func(t *testing.T) {
		f := newQuayFake(t)
		f.seed(map[string]string{"a": "one"})
		f.liveEntry("a").immutable = true
		c := newClient(t, f, rwToken)
		err := c.Untag(ctx, "a", digestOf("one"))
		assert.Check(t, errors.Is(err, ErrTagImmutable))
		assert.ErrorContains(t, err, "skipped")
		assert.Check(t, is.Len(f.recordedWrites(), 0), "no DELETE for a tag known to be immutable")
	})
	t.Run("immutable by the answer", func(t *testing.T) {
		f := newQuayFake(t)
		f.seed(map[string]string{"a": "one"})
		f.hook = func(w http.ResponseWriter, r *http.Request) bool {
			if r.Method == http.MethodDelete {
				f.liveEntry("a").immutable = true // made immutable meanwhile
			}
			return false
		}
		c := newClient(t, f, rwToken)
		err := c.Untag(ctx, "a", digestOf("one"))
		assert.Check(t, errors.Is(err, ErrTagImmutable))
		assert.ErrorContains(t, err, "HTTP 409")
		assert.Check(t, is.DeepEqual(f.liveTags(), []string{"a"}))
	})
	t.Run("read-only token", func(t *testing.T) {
		f := newQuayFake(t)
		f.seed(map[string]string{"a": "one"})
		c := newClient(t, f, roToken)
		err := c.Untag(ctx, "a", digestOf("one"))
		assert.Check(t, errors.Is(err, registrytypes.ErrUnauthorized))
		assert.ErrorContains(t, err, "untag a of quay.io/team/app")
		assert.ErrorContains(t, err, "repo:write")
		assert.Check(t, !strings.Contains(err.Error(), roToken))
	})
	t.Run("gone between check and delete", func(t *testing.T) {
		f := newQuayFake(t)
		f.seed(map[string]string{"a": "one"})
		f.hook = func(w http.ResponseWriter, r *http.Request) bool {
			if r.Method == http.MethodDelete {
				f.liveEntry("a").end = ptr(f.now().Unix() - 1)
			}
			return false
		}
		c := newClient(t, f, rwToken)
		err := c.Untag(ctx, "a", digestOf("one"))
		assert.Check(t, errors.Is(err, registrytypes.ErrNotFound))
	})
	t.Run("invalid input sends nothing", func(t *testing.T) {
		f := newQuayFake(t)
		c := newClient(t, f, rwToken)
		assert.Check(t, c.Untag(ctx, "a/b", digestOf("one")) != nil)
		assert.Check(t, c.Untag(ctx, "a", "latest") != nil)
		assert.Check(t, is.Len(f.requests(), 0))
	})
}

func TestDeleteManifest(t *testing.T) {
	ctx := context.Background()
	f := newQuayFake(t)
	f.seed(map[string]string{"a": "one", "b": "one", "c": "two", "d": "three", "e": "three"})
	f.liveEntry("e").immutable = true
	c := newClient(t, f, rwToken)
	assert.NilError(t, c.DeleteManifest(ctx, digestOf("one")))
	assert.Check(t, is.DeepEqual(f.liveTags(), []string{"c", "d", "e"}))

	err := c.DeleteManifest(ctx, digestOf("one"))
	assert.Check(t, errors.Is(err, registrytypes.ErrNotFound))

	before := len(f.recordedWrites())
	err = c.DeleteManifest(ctx, digestOf("three"))
	assert.Check(t, errors.Is(err, ErrTagImmutable))
	assert.Check(t, is.Len(f.recordedWrites()[before:], 0), "nothing deleted when a tag is immutable")
}

func TestCleanupSkipsImmutableTagsWithAReason(t *testing.T) {
	ctx := context.Background()
	f := newQuayFake(t)
	f.seed(map[string]string{"keep": "one", "old": "two", "locked": "three"})
	f.liveEntry("locked").immutable = true
	c := newClient(t, f, rwToken)
	items, err := cleanup.Inventory(ctx, c, 2, nil)
	assert.NilError(t, err)
	var ds []policy.Decision
	for _, it := range items {
		ds = append(ds, policy.Decision{Tag: it.Tag, Keep: it.Tag == "keep", Reason: "test"})
	}
	res, err := cleanup.Execute(ctx, c, cleanup.MakePlan(items, ds, cleanup.PlanOptions{}), cleanup.Options{Parallel: 2})
	assert.NilError(t, err)
	for _, r := range res {
		switch r.Tag {
		case "old":
			assert.Check(t, is.Equal(r.Outcome, cleanup.Deleted))
		case "locked":
			assert.Check(t, is.Equal(r.Outcome, cleanup.Protected))
			assert.Check(t, r.Keep, "a tag the registry protects is kept")
			assert.Check(t, is.Contains(r.Error, "immutable"))
		}
	}
	assert.Check(t, is.DeepEqual(f.liveTags(), []string{"keep", "locked"}))
}
