package dockerhub

import (
	"context"
	"errors"
	"fmt"
	"github.com/docker-werf/docker-werf/internal/apiclient/apitest"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
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

var testRepo = registry.Repository{Raw: fakeNS + "/" + fakeRepo, Host: "docker.io", Path: fakeNS + "/" + fakeRepo,
	Kind: registry.DockerHub}

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

func newClient(t *testing.T, f *hubFake, creds Credentials, opts ...Option) *Client {
	t.Helper()
	opts = append([]Option{WithBaseURL(f.srv.URL), WithTransport(testTransport(false))}, opts...)
	c, err := New(testRepo, creds, opts...)
	assert.NilError(t, err)
	return c
}

var login = Credentials{Username: fakeUser, Password: fakePassword}

// backend runs the cleanup contract against the fake.
type backend struct {
	f *hubFake
	t *testing.T
}

func (b *backend) Registry() cleanup.Registry {
	return newClient(b.t, b.f, login, WithPageSize(b.PageSize()))
}
func (b *backend) Seed(_ *testing.T, tags map[string]string) { b.f.seed(tags) }
func (b *backend) Tags(*testing.T) []string                  { return b.f.liveTags() }
func (b *backend) Writes(*testing.T) []string                { return b.f.recordedWrites() }
func (b *backend) RateLimitNext(*testing.T)                  { b.f.rateLimitNext(1, "x-retry-after") }
func (b *backend) Unauthorized(t *testing.T) (cleanup.Registry, string) {
	return newClient(t, b.f, Credentials{Token: "not-a-valid-token"}), "--repo-docker-hub-token (WERF_REPO_DOCKER_HUB_TOKEN)"
}
func (b *backend) PageSize() int       { return 2 }
func (b *backend) Kind() registry.Kind { return registry.DockerHub }

func TestContract(t *testing.T) {
	cleanuptest.Run(t, func(t *testing.T) cleanuptest.Backend {
		return &backend{f: newHubFake(t), t: t}
	})
}

func TestNewCredentials(t *testing.T) {
	for _, tc := range []struct {
		name  string
		creds Credentials
		want  string
	}{
		{"none", Credentials{}, "--repo-docker-hub-token (WERF_REPO_DOCKER_HUB_TOKEN), or --repo-docker-hub-username " +
			"(WERF_REPO_DOCKER_HUB_USERNAME) and --repo-docker-hub-password (WERF_REPO_DOCKER_HUB_PASSWORD)"},
		{"no password", Credentials{Username: "u"}, "--repo-docker-hub-password (WERF_REPO_DOCKER_HUB_PASSWORD) is not set"},
		{"no username", Credentials{Password: "secret-pw"}, "--repo-docker-hub-username (WERF_REPO_DOCKER_HUB_USERNAME) is not set"},
		{"PAT as token without username", Credentials{Token: fakePAT}, "only with the account name"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := New(testRepo, tc.creds)
			assert.ErrorContains(t, err, tc.want)
			if tc.creds.Password != "" {
				assert.Check(t, !strings.Contains(err.Error(), tc.creds.Password))
			}
			if tc.creds.Token != "" {
				assert.Check(t, !strings.Contains(err.Error(), tc.creds.Token))
			}
		})
	}
}

func TestNewRepository(t *testing.T) {
	for _, repo := range []registry.Repository{
		{Host: "quay.io", Path: "team/app"},
		{Host: "docker.io", Path: "a/b/c"},
		{Host: "docker.io", Path: "app"},
	} {
		_, err := New(repo, Credentials{Token: fakeToken})
		assert.Check(t, err != nil, "%s", repo.Name())
	}
	_, err := New(testRepo, Credentials{Token: fakeToken}, WithPageSize(101))
	assert.ErrorContains(t, err, "page size 101")
	_, err = New(testRepo, Credentials{Token: fakeToken}, WithBaseURL("ftp://x"))
	assert.ErrorContains(t, err, "invalid Docker Hub API URL")
}

func TestStaticTokenIsSentAsBearer(t *testing.T) {
	f := newHubFake(t)
	f.seed(map[string]string{"a": "one"})
	c := newClient(t, f, Credentials{Token: fakeToken})
	tags, err := c.Tags(context.Background())
	assert.NilError(t, err)
	assert.Check(t, is.DeepEqual(tags, []string{"a"}))
	assert.Check(t, is.Equal(f.issued, 0), "no login with a token")
}

func TestPATInTokenFlagWithUsernameLogsIn(t *testing.T) {
	f := newHubFake(t)
	f.seed(map[string]string{"a": "one"})
	c := newClient(t, f, Credentials{Token: fakePAT, Username: fakeUser})
	_, err := c.Tags(context.Background())
	assert.NilError(t, err)
	assert.Check(t, is.Equal(f.issued, 1))
}

func TestLoginTokenIsReusedAndRenewed(t *testing.T) {
	f := newHubFake(t)
	f.seed(map[string]string{"a": "one", "b": "two"})
	now := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	c := newClient(t, f, login, WithClock(clock))
	ctx := context.Background()
	for range 3 {
		_, err := c.Tags(ctx)
		assert.NilError(t, err)
	}
	assert.Check(t, is.Equal(f.issued, 1), "one token for requests within its lifetime")

	now = now.Add(9 * time.Minute)
	_, err := c.Tags(ctx)
	assert.NilError(t, err)
	assert.Check(t, is.Equal(f.issued, 2), "renewed before Hub's 10-minute expiry")

	// A token that stops working early is made again once.
	f.mu.Lock()
	for k, g := range f.tokens {
		g.expired = true
		f.tokens[k] = g
	}
	f.mu.Unlock()
	_, err = c.Tags(ctx)
	assert.NilError(t, err)
	assert.Check(t, is.Equal(f.issued, 3))
}

func TestBadLoginNamesTheCredentials(t *testing.T) {
	f := newHubFake(t)
	c := newClient(t, f, Credentials{Username: fakeUser, Password: "wrong-password-123"})
	_, err := c.Tags(context.Background())
	assert.Check(t, errors.Is(err, registrytypes.ErrUnauthorized))
	assert.ErrorContains(t, err, "--repo-docker-hub-username (WERF_REPO_DOCKER_HUB_USERNAME)")
	assert.ErrorContains(t, err, "--repo-docker-hub-password (WERF_REPO_DOCKER_HUB_PASSWORD)")
	assert.Check(t, !strings.Contains(err.Error(), "wrong-password-123"))
}

func TestSecretsNeverInErrors(t *testing.T) {
	f := newHubFake(t)
	f.seed(map[string]string{"a": "one"})
	// The fake echoes the refused token back, as some servers do.
	c := newClient(t, f, Credentials{Token: "eyJsecretsecret.token-value.sig"})
	_, err := c.Tags(context.Background())
	assert.Assert(t, err != nil)
	assert.Check(t, !strings.Contains(err.Error(), "secretsecret"), err.Error())
	assert.Check(t, !strings.Contains(err.Error(), "token-value"), err.Error())

	f.hook = func(w http.ResponseWriter, r *http.Request) bool {
		if r.Method == http.MethodGet {
			apitest.WriteJSON(w, http.StatusBadRequest, map[string]any{"message": "bad request from Authorization: " + r.Header.Get("Authorization")})
			return true
		}
		return false
	}
	c = newClient(t, f, login)
	_, err = c.Tags(context.Background())
	assert.Assert(t, err != nil)
	assert.Check(t, !strings.Contains(err.Error(), "made-"), err.Error())
	assert.Check(t, !strings.Contains(err.Error(), fakePassword), err.Error())
	assert.ErrorContains(t, err, "Bearer [redacted]")
}

func TestPaginationFollowsNextToTheEnd(t *testing.T) {
	for _, n := range []int{0, 1, 2, 3, 4, 5, 7} {
		f := newHubFake(t)
		tags := map[string]string{}
		want := []string{}
		for i := range n {
			name := "t" + string(rune('a'+i))
			tags[name] = name
			want = append(want, name)
		}
		f.seed(tags)
		c := newClient(t, f, Credentials{Token: fakeToken}, WithPageSize(2))
		got, err := c.Tags(context.Background())
		assert.NilError(t, err)
		slices.Sort(got)
		assert.Check(t, is.DeepEqual(got, want), "%d tags", n)
		pages := 0
		for _, r := range f.requests() {
			if strings.HasPrefix(r, "GET /v2/namespaces/team/repositories/app/tags?") {
				pages++
			}
		}
		assert.Check(t, is.Equal(pages, max(1, (n+1)/2)), "%d tags", n)
	}
}

func TestPaginationWithTheServersOwnPageSize(t *testing.T) {
	f := newHubFake(t)
	tags := map[string]string{}
	for i := range 7 {
		tags[fmt.Sprintf("t%d", i)] = fmt.Sprintf("i%d", i)
	}
	f.seed(tags)
	f.pageSize = 3 // the API once ignored page_size and chose its own
	c := newClient(t, f, Credentials{Token: fakeToken}, WithPageSize(100))
	got, err := c.Tags(context.Background())
	assert.NilError(t, err)
	assert.Check(t, is.Len(got, 7))
}

func TestPaginationRefusesForeignAndLoopingLinks(t *testing.T) {
	f := newHubFake(t)
	f.seed(map[string]string{"a": "one"})
	next := "https://evil.example/v2/namespaces/team/repositories/app/tags?page=2"
	f.hook = func(w http.ResponseWriter, r *http.Request) bool {
		if r.URL.Path == "/v2/namespaces/team/repositories/app/tags" {
			apitest.WriteJSON(w, http.StatusOK, map[string]any{"count": 2, "next": next, "previous": nil, "results": []any{}})
			return true
		}
		return false
	}
	c := newClient(t, f, Credentials{Token: fakeToken})
	_, err := c.Tags(context.Background())
	assert.ErrorContains(t, err, "refusing to follow the next page link to https://evil.example")

	next = "/v2/namespaces/team/repositories/app/tags?page=1&page_size=100" // relative, back to page 1
	_, err = c.Tags(context.Background())
	assert.ErrorContains(t, err, "pagination does not end")
}

func TestPageVanishingMidListingIsAnError(t *testing.T) {
	f := newHubFake(t)
	f.seed(map[string]string{"a": "1", "b": "2", "c": "3"})
	c := newClient(t, f, Credentials{Token: fakeToken}, WithPageSize(2))
	f.hook = func(w http.ResponseWriter, r *http.Request) bool {
		if r.URL.Query().Get("page") == "2" {
			delete(f.tags, "a") // deleted by someone else: page 2 no longer exists
			delete(f.tags, "b")
		}
		return false
	}
	_, err := c.Tags(context.Background())
	assert.Check(t, errors.Is(err, registrytypes.ErrNotFound))
	assert.ErrorContains(t, err, "vanished")
}

func TestUnknownRepository(t *testing.T) {
	f := newHubFake(t)
	f.hook = func(w http.ResponseWriter, r *http.Request) bool {
		apitest.WriteJSON(w, http.StatusNotFound, map[string]any{"message": "object not found", "errinfo": map[string]any{}})
		return true
	}
	c := newClient(t, f, Credentials{Token: fakeToken})
	_, err := c.Tags(context.Background())
	assert.Check(t, errors.Is(err, registrytypes.ErrNotFound))
	assert.ErrorContains(t, err, "listing tags of docker.io/team/app")
	assert.ErrorContains(t, err, "does not exist, or the credentials cannot see it")
}

func TestRateLimitHeaders(t *testing.T) {
	for _, hdr := range []string{"x-retry-after", "reset", "retry-after"} {
		t.Run(hdr, func(t *testing.T) {
			f := newHubFake(t)
			f.seed(map[string]string{"a": "one"})
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
			sleep := func(ctx context.Context, d time.Duration) error {
				mu.Lock()
				defer mu.Unlock()
				waits = append(waits, d)
				slept += d
				return nil
			}
			rt := retry.NewTransport(nil, retry.WithClock(now, sleep), retry.WithBackoff(0, 0))
			c := newClient(t, f, Credentials{Token: fakeToken}, WithTransport(rt))
			f.rateLimitNext(1, hdr)
			tags, err := c.Tags(context.Background())
			assert.NilError(t, err)
			assert.Check(t, is.DeepEqual(tags, []string{"a"}))
			assert.Assert(t, is.Len(waits, 1))
			assert.Check(t, waits[0] > 0 && waits[0] <= 2*time.Second, "waited %v", waits[0])
		})
	}
}

func TestRateLimitExhausted(t *testing.T) {
	f := newHubFake(t)
	f.seed(map[string]string{"a": "one"})
	c := newClient(t, f, Credentials{Token: fakeToken}, WithTransport(testTransport(true)))
	f.rateLimitNext(5, "x-retry-after")
	_, err := c.Tags(context.Background())
	assert.ErrorContains(t, err, "HTTP 429")
	assert.ErrorContains(t, err, "rate limit")
}

func TestResolveUsesTheListingOnce(t *testing.T) {
	f := newHubFake(t)
	f.seed(map[string]string{"a": "one", "b": "one", "c": "two"})
	c := newClient(t, f, Credentials{Token: fakeToken})
	ctx := context.Background()
	_, err := c.Tags(ctx)
	assert.NilError(t, err)
	before := len(f.requests())
	for _, tag := range []string{"a", "b", "c"} {
		d, err := c.Resolve(ctx, tag)
		assert.NilError(t, err)
		assert.Check(t, is.Equal(d.Digest, digestOf(map[string]string{"a": "one", "b": "one", "c": "two"}[tag])))
	}
	assert.Check(t, is.Len(f.requests()[before:], 0), "answered from the listing")

	// A second Resolve asks the API and sees the tag move.
	f.mu.Lock()
	f.tags["a"].digest = digestOf("three")
	f.mu.Unlock()
	d, err := c.Resolve(ctx, "a")
	assert.NilError(t, err)
	assert.Check(t, is.Equal(d.Digest, digestOf("three")))

	// A missing tag.
	_, err = c.Resolve(ctx, "nope")
	assert.Check(t, errors.Is(err, registrytypes.ErrNotFound))
}

func TestResolveListingExpires(t *testing.T) {
	f := newHubFake(t)
	f.seed(map[string]string{"a": "one"})
	now := time.Now()
	c := newClient(t, f, Credentials{Token: fakeToken}, WithClock(func() time.Time { return now }))
	ctx := context.Background()
	_, err := c.Tags(ctx)
	assert.NilError(t, err)
	now = now.Add(DefaultListingMaxAge + time.Second)
	before := len(f.requests())
	_, err = c.Resolve(ctx, "a")
	assert.NilError(t, err)
	assert.Check(t, is.DeepEqual(f.requests()[before:], []string{"GET /v2/namespaces/team/repositories/app/tags/a"}))
}

func TestInspectTimesAndPlatforms(t *testing.T) {
	f := newHubFake(t)
	f.seed(map[string]string{"a": "one", "b": "one", "multi": "index"})
	v7 := "v7"
	f.mu.Lock()
	f.tags["b"].updated = f.tags["a"].updated.Add(-time.Hour) // b came first
	m := f.tags["multi"]
	m.mediaType = registrytypes.MediaTypeOCIIndex
	m.images = []map[string]any{fakeImage(digestOf("amd"), "amd64", nil), fakeImage(digestOf("arm"), "arm", &v7)}
	f.mu.Unlock()
	c := newClient(t, f, Credentials{Token: fakeToken})
	ctx := context.Background()
	items, err := cleanup.Inventory(ctx, c, 2, nil)
	assert.NilError(t, err)
	byTag := map[string]cleanup.Item{}
	for _, it := range items {
		byTag[it.Tag] = it
	}
	f.mu.Lock()
	wantCreated := f.tags["b"].updated
	f.mu.Unlock()
	assert.Check(t, byTag["a"].Created.Equal(wantCreated), "earliest last_updated of the image's tags: %v", byTag["a"].Created)
	assert.Check(t, byTag["b"].Created.Equal(wantCreated))
	assert.Check(t, !byTag["a"].IsIndex)
	assert.Check(t, byTag["multi"].IsIndex)
	assert.Check(t, is.DeepEqual(byTag["multi"].Children, []string{digestOf("amd"), digestOf("arm")}))
}

// fakeAPI stands in for the registry API client.
type fakeAPI struct{ resolved, inspected atomic.Int32 }

func (a *fakeAPI) Resolve(_ context.Context, tag string) (registrytypes.Descriptor, error) {
	a.resolved.Add(1)
	return registrytypes.Descriptor{Digest: digestOf("index-" + tag), MediaType: registrytypes.MediaTypeOCIIndex}, nil
}

func (a *fakeAPI) Inspect(_ context.Context, d registrytypes.Descriptor) (registrytypes.Image, error) {
	a.inspected.Add(1)
	return registrytypes.Image{Descriptor: d, Revision: "abc123", Created: time.Unix(1, 0)}, nil
}

func TestRegistryAPIFillsWhatHubLacks(t *testing.T) {
	f := newHubFake(t)
	f.seed(map[string]string{"a": "one"})
	f.noDigest = true
	f.mu.Lock()
	f.tags["a"].images = append(f.tags["a"].images, fakeImage(digestOf("arm"), "arm64", nil))
	f.mu.Unlock()
	ctx := context.Background()

	c := newClient(t, f, Credentials{Token: fakeToken})
	_, err := c.Tags(ctx)
	assert.NilError(t, err)
	_, err = c.Resolve(ctx, "a")
	assert.ErrorContains(t, err, "gives no digest")

	api := &fakeAPI{}
	c = newClient(t, f, Credentials{Token: fakeToken}, WithRegistryAPI(api))
	items, err := cleanup.Inventory(ctx, c, 1, nil)
	assert.NilError(t, err)
	assert.Assert(t, is.Len(items, 1))
	assert.Check(t, is.Equal(items[0].Digest, digestOf("index-a")))
	assert.Check(t, is.Equal(items[0].Commit, "abc123"))
	assert.Check(t, items[0].Created.Year() == 2026, "Hub's time wins over the config's: %v", items[0].Created)
	assert.Check(t, is.Equal(api.inspected.Load(), int32(1)))
}

// TestIndexTagKeepsItsOwnDigest: an index with one platform lists one
// image, whose digest is the child's; without a top-level digest the
// client asks the registry instead of taking the child's.
func TestIndexTagKeepsItsOwnDigest(t *testing.T) {
	for _, tc := range []struct {
		mediaType string
		want      string
	}{
		{"application/vnd.oci.image.index.v1+json", digestOf("index-a")},
		{"application/vnd.docker.distribution.manifest.list.v2+json", digestOf("index-a")},
		{"", digestOf("index-a")},
		{"application/vnd.oci.image.manifest.v1+json", digestOf("one")},
	} {
		t.Run(tc.mediaType, func(t *testing.T) {
			f := newHubFake(t)
			f.seed(map[string]string{"a": "one"})
			f.noDigest = true
			f.mu.Lock()
			f.tags["a"].mediaType = tc.mediaType
			f.mu.Unlock()
			ctx := context.Background()
			c := newClient(t, f, Credentials{Token: fakeToken}, WithRegistryAPI(&fakeAPI{}))
			_, err := c.Tags(ctx)
			assert.NilError(t, err)
			d, err := c.Resolve(ctx, "a")
			assert.NilError(t, err)
			assert.Check(t, is.Equal(d.Digest, tc.want))
		})
	}
}

func TestUntag(t *testing.T) {
	ctx := context.Background()
	t.Run("moved", func(t *testing.T) {
		f := newHubFake(t)
		f.seed(map[string]string{"a": "one"})
		c := newClient(t, f, Credentials{Token: fakeToken})
		err := c.Untag(ctx, "a", digestOf("other"))
		assert.Check(t, errors.Is(err, registrytypes.ErrTagMoved))
		assert.Check(t, is.Len(f.recordedWrites(), 0))
		assert.Check(t, is.DeepEqual(f.liveTags(), []string{"a"}))
	})
	t.Run("gone", func(t *testing.T) {
		f := newHubFake(t)
		c := newClient(t, f, Credentials{Token: fakeToken})
		err := c.Untag(ctx, "a", digestOf("one"))
		assert.Check(t, errors.Is(err, registrytypes.ErrNotFound))
		assert.Check(t, is.Len(f.recordedWrites(), 0))
	})
	t.Run("gone between check and delete", func(t *testing.T) {
		f := newHubFake(t)
		f.seed(map[string]string{"a": "one"})
		f.hook = func(w http.ResponseWriter, r *http.Request) bool {
			if r.Method == http.MethodDelete {
				delete(f.tags, "a")
			}
			return false
		}
		c := newClient(t, f, Credentials{Token: fakeToken})
		err := c.Untag(ctx, "a", digestOf("one"))
		assert.Check(t, errors.Is(err, registrytypes.ErrNotFound))
	})
	t.Run("immutable", func(t *testing.T) {
		f := newHubFake(t)
		f.seed(map[string]string{"a": "one"})
		f.tags["a"].immutable = true
		c := newClient(t, f, Credentials{Token: fakeToken})
		err := c.Untag(ctx, "a", digestOf("one"))
		assert.Check(t, errors.Is(err, ErrTagImmutable))
		assert.ErrorContains(t, err, "skipped")
		assert.Check(t, is.DeepEqual(f.liveTags(), []string{"a"}))
	})
	t.Run("no delete permission", func(t *testing.T) {
		f := newHubFake(t)
		f.seed(map[string]string{"a": "one"})
		c := newClient(t, f, Credentials{Username: fakeUser, Password: readOnlyPAT})
		err := c.Untag(ctx, "a", digestOf("one"))
		assert.Check(t, errors.Is(err, registrytypes.ErrUnauthorized))
		assert.ErrorContains(t, err, "untag a of docker.io/team/app")
		assert.ErrorContains(t, err, "Read, Write, Delete")
		assert.ErrorContains(t, err, "--repo-docker-hub-password (WERF_REPO_DOCKER_HUB_PASSWORD)")
		assert.Check(t, !strings.Contains(err.Error(), readOnlyPAT))
	})
	t.Run("server error", func(t *testing.T) {
		f := newHubFake(t)
		f.seed(map[string]string{"a": "one"})
		f.hook = func(w http.ResponseWriter, r *http.Request) bool {
			if r.Method == http.MethodDelete {
				apitest.WriteJSON(w, http.StatusInternalServerError, map[string]any{"message": "boom", "errinfo": map[string]any{}})
				return true
			}
			return false
		}
		c := newClient(t, f, Credentials{Token: fakeToken}, WithTransport(testTransport(true)))
		err := c.Untag(ctx, "a", digestOf("one"))
		assert.ErrorContains(t, err, "HTTP 500")
		assert.ErrorContains(t, err, "boom")
	})
	t.Run("invalid input", func(t *testing.T) {
		f := newHubFake(t)
		c := newClient(t, f, Credentials{Token: fakeToken})
		assert.Check(t, c.Untag(ctx, "../x", digestOf("one")) != nil)
		assert.Check(t, c.Untag(ctx, "a", "sha256:nothex") != nil)
		assert.Check(t, is.Len(f.requests(), 0))
	})
}

func TestDeleteManifestDeletesEveryTagOnTheDigest(t *testing.T) {
	ctx := context.Background()
	f := newHubFake(t)
	f.seed(map[string]string{"a": "one", "b": "one", "c": "two"})
	c := newClient(t, f, Credentials{Token: fakeToken})
	assert.NilError(t, c.DeleteManifest(ctx, digestOf("one")))
	assert.Check(t, is.DeepEqual(f.liveTags(), []string{"c"}))
	writes := f.recordedWrites()
	slices.Sort(writes)
	assert.Check(t, is.DeepEqual(writes, []string{
		"DELETE /v2/repositories/team/app/tags/a/", "DELETE /v2/repositories/team/app/tags/b/"}))

	err := c.DeleteManifest(ctx, digestOf("one"))
	assert.Check(t, errors.Is(err, registrytypes.ErrNotFound))
}

func TestPlanWithManifestDeletes(t *testing.T) {
	ctx := context.Background()
	f := newHubFake(t)
	f.seed(map[string]string{"keep": "one", "x": "two", "y": "two"})
	c := newClient(t, f, Credentials{Token: fakeToken})
	items, err := cleanup.Inventory(ctx, c, 2, nil)
	assert.NilError(t, err)
	var ds []policy.Decision
	for _, it := range items {
		ds = append(ds, policy.Decision{Tag: it.Tag, Keep: it.Tag == "keep", Reason: "test"})
	}
	plan := cleanup.MakePlan(items, ds, cleanup.PlanOptions{DeleteManifests: true})
	res, err := cleanup.Execute(ctx, c, plan, cleanup.Options{Parallel: 2})
	assert.NilError(t, err)
	for _, r := range res {
		if r.Tag != "keep" {
			assert.Check(t, is.Equal(r.Outcome, cleanup.Deleted), "%s: %s", r.Tag, r.Error)
		}
	}
	assert.Check(t, is.DeepEqual(f.liveTags(), []string{"keep"}))
}
