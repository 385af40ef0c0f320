package harbor

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"sort"
	"strings"
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

var testRepo = registry.Repository{Host: "harbor.example.com", Path: fakeProject + "/" + fakeRepo, Kind: registry.Harbor}

func testTransport(f *fakeHarbor) http.RoundTripper {
	return retry.NewTransport(f.srv.Client().Transport, retry.WithBackoff(time.Millisecond, 5*time.Millisecond))
}

func newClient(t *testing.T, f *fakeHarbor, user, pass string, opts ...Option) *Client {
	t.Helper()
	opts = append([]Option{WithBaseURL(f.srv.URL), WithTransport(testTransport(f))}, opts...)
	c, err := New(testRepo, Credentials{Username: user, Password: pass}, opts...)
	assert.NilError(t, err)
	return c
}

// backend runs the cleanup contract against the fake.
type backend struct {
	t *testing.T
	f *fakeHarbor
}

func (b *backend) Registry() cleanup.Registry {
	return newClient(b.t, b.f, adminUser, adminPass, WithPageSize(b.PageSize()))
}

func (b *backend) Seed(_ *testing.T, tags map[string]string) {
	byImage := map[string][]string{}
	for tag, image := range tags {
		byImage[image] = append(byImage[image], tag)
	}
	images := make([]string, 0, len(byImage))
	for image := range byImage {
		images = append(images, image)
	}
	sort.Strings(images)
	for _, image := range images {
		slices.Sort(byImage[image])
		b.f.add(image, byImage[image]...)
	}
}

func (b *backend) Tags(*testing.T) []string   { return b.f.tagNames() }
func (b *backend) Writes(*testing.T) []string { return b.f.writeLog() }
func (b *backend) RateLimitNext(*testing.T) {
	b.f.mu.Lock()
	b.f.rateLimit = 1
	b.f.mu.Unlock()
}

func (b *backend) Unauthorized(*testing.T) (cleanup.Registry, string) {
	return newClient(b.t, b.f, adminUser, "not-the-password"), "--repo-harbor-password (WERF_REPO_HARBOR_PASSWORD)"
}
func (b *backend) PageSize() int       { return 2 }
func (b *backend) Kind() registry.Kind { return registry.Harbor }

func TestContract(t *testing.T) {
	cleanuptest.Run(t, func(t *testing.T) cleanuptest.Backend {
		return &backend{t: t, f: newFakeHarbor(t)}
	})
}

func TestNewValidates(t *testing.T) {
	for _, tc := range []struct {
		name  string
		repo  registry.Repository
		creds Credentials
		opts  []Option
		want  string
	}{
		{"no username", testRepo, Credentials{Password: "x"}, nil,
			"--repo-harbor-username (WERF_REPO_HARBOR_USERNAME) is not set"},
		{"no password", testRepo, Credentials{Username: "x"}, nil,
			"--repo-harbor-password (WERF_REPO_HARBOR_PASSWORD) is not set"},
		{"neither", testRepo, Credentials{}, nil,
			"--repo-harbor-username (WERF_REPO_HARBOR_USERNAME) and --repo-harbor-password (WERF_REPO_HARBOR_PASSWORD) are not set"},
		{"no project", registry.Repository{Host: "harbor.example.com", Path: "app"}, Credentials{Username: "u", Password: "p"}, nil,
			"has no project"},
		{"bad base URL", testRepo, Credentials{Username: "u", Password: "p"}, []Option{WithBaseURL("ftp://x")}, "invalid base URL"},
		{"page size", testRepo, Credentials{Username: "u", Password: "p"}, []Option{WithPageSize(101)}, "page size 101 out of range"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := New(tc.repo, tc.creds, tc.opts...)
			assert.ErrorContains(t, err, tc.want)
		})
	}
	c, err := New(testRepo, Credentials{Username: "u", Password: "p"})
	assert.NilError(t, err)
	assert.Check(t, is.Equal(c.repoURL("/artifacts", nil),
		"https://harbor.example.com/api/v2.0/projects/proj/repositories/team%252Fapp/artifacts"))
	c, err = New(testRepo, Credentials{Username: "u", Password: "p"}, WithBaseURL("https://h.example/harbor/api/v2.0/"))
	assert.NilError(t, err)
	assert.Check(t, is.Equal(c.repoURL("/artifacts/v1/tags/v1", nil),
		"https://h.example/harbor/api/v2.0/projects/proj/repositories/team%252Fapp/artifacts/v1/tags/v1"))
}

func TestPagination(t *testing.T) {
	for _, tc := range []struct {
		name           string
		noTotal        bool
		noLink         bool
		extraPage      bool
		images         int
		wantRequests   int
		wantTagsMissed int
	}{
		{name: "total count", images: 5, wantRequests: 3},
		{name: "exact multiple", images: 4, wantRequests: 2},
		{name: "link only", noTotal: true, images: 5, wantRequests: 3},
		{name: "neither: one page", noTotal: true, noLink: true, images: 5, wantRequests: 1, wantTagsMissed: 3},
		{name: "total one too high: stops at the empty page", extraPage: true, images: 4, wantRequests: 3},
		{name: "empty repository", images: 0, wantRequests: 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFakeHarbor(t)
			f.noTotal, f.noLink, f.extraPage = tc.noTotal, tc.noLink, tc.extraPage
			var want []string
			for i := range tc.images {
				tag := "t" + string(rune('a'+i))
				f.add("img"+tag, tag)
				want = append(want, tag)
			}
			c := newClient(t, f, readerUser, readerPass, WithPageSize(2))
			tags, err := c.Tags(context.Background())
			assert.NilError(t, err)
			assert.Check(t, is.Len(tags, len(want)-tc.wantTagsMissed))
			if tc.wantTagsMissed == 0 {
				assert.Check(t, is.DeepEqual(tags, append([]string{}, want...)))
			}
			reqs := f.requestLog()
			assert.Check(t, is.Len(reqs, tc.wantRequests), "%v", reqs)
			for i, r := range reqs {
				assert.Check(t, is.Contains(r, "page="+string(rune('1'+i))))
				assert.Check(t, is.Contains(r, "page_size=2"))
				assert.Check(t, is.Contains(r, "with_tag=true"))
				assert.Check(t, is.Contains(r, "with_immutable_status=true"))
			}
		})
	}
}

func TestSharedDigestTagsListedOnce(t *testing.T) {
	f := newFakeHarbor(t)
	f.add("one", "a", "b")
	f.add("two", "c")
	c := newClient(t, f, readerUser, readerPass)
	arts, err := c.Artifacts(context.Background())
	assert.NilError(t, err)
	assert.Check(t, is.Len(arts, 2))
	assert.Check(t, is.Equal(arts[0].Digest, digestOf("two"))) // newest push first
	assert.Check(t, is.Equal(arts[1].PushTime, baseTime.Add(time.Minute)))
	assert.Check(t, arts[1].PullTime.IsZero())
	tags, err := c.Tags(context.Background())
	assert.NilError(t, err)
	assert.Check(t, is.DeepEqual(tags, []string{"a", "b", "c"}))
}

func TestResolveAndInspect(t *testing.T) {
	f := newFakeHarbor(t)
	img := f.add("one", "v1")
	img.annotations = map[string]string{"org.opencontainers.image.created": "x"}
	child := f.add("child")
	child.labels = map[string]string{"ci.werf.io/commit": "abc123"}
	idx := f.add("index", "multi")
	idx.mediaType = registrytypes.MediaTypeOCIIndex
	idx.children = []string{child.digest}
	idx.labels = nil
	sig := f.add("sig", "sha256-one.sig")
	img.accessories = []string{sig.digest}
	c := newClient(t, f, readerUser, readerPass)
	ctx := context.Background()

	tags, err := c.Tags(ctx)
	assert.NilError(t, err)
	assert.Check(t, is.DeepEqual(tags, []string{"multi", "sha256-one.sig", "v1"})) // the untagged child is not listed

	d, err := c.Resolve(ctx, "v1")
	assert.NilError(t, err)
	assert.Check(t, is.DeepEqual(d, registrytypes.Descriptor{Digest: img.digest, MediaType: registrytypes.MediaTypeOCIManifest}))
	got, err := c.Inspect(ctx, d)
	assert.NilError(t, err)
	assert.Check(t, is.Equal(got.Created, img.pushTime))
	assert.Check(t, is.Equal(got.Revision, "rev-one"))
	assert.Check(t, !got.IsIndex)
	assert.Check(t, is.Equal(got.Annotations["org.opencontainers.image.created"], "x"))

	d, err = c.Resolve(ctx, "multi")
	assert.NilError(t, err)
	got, err = c.Inspect(ctx, d)
	assert.NilError(t, err)
	assert.Check(t, got.IsIndex)
	assert.Check(t, is.DeepEqual(got.Children, []registrytypes.Descriptor{{Digest: child.digest, Platform: "linux/amd64"}}))
	assert.Check(t, is.Equal(got.Revision, "abc123"))
	assert.Check(t, is.Equal(got.Created, idx.pushTime))

	d, err = c.Resolve(ctx, "sha256-one.sig")
	assert.NilError(t, err)
	got, err = c.Inspect(ctx, d)
	assert.NilError(t, err)
	assert.Check(t, got.Subject != nil && got.Subject.Digest == img.digest)

	_, err = c.Resolve(ctx, "nope")
	assert.Check(t, errors.Is(err, registrytypes.ErrNotFound), "%v", err)
	_, err = c.Inspect(ctx, registrytypes.Descriptor{Digest: digestOf("nope")})
	assert.Check(t, errors.Is(err, registrytypes.ErrNotFound), "%v", err)
}

func TestInventoryFromTheListing(t *testing.T) {
	ctx := context.Background()
	f := newFakeHarbor(t)
	for i := range 5 {
		f.add("img"+string(rune('a'+i)), "t"+string(rune('a'+i)))
	}
	now := time.Now()
	c := newClient(t, f, readerUser, readerPass, WithPageSize(2), WithClock(func() time.Time { return now }))
	items, err := cleanup.Inventory(ctx, c, 2, nil)
	assert.NilError(t, err)
	assert.Check(t, is.Len(items, 5))
	assert.Check(t, is.Equal(items[0].Commit, "rev-imga"))
	assert.Check(t, is.Len(f.requestLog(), 3), "only the 3 listing pages: %v", f.requestLog())

	// Taken once: a second Resolve asks Harbor.
	_, err = c.Resolve(ctx, "ta")
	assert.NilError(t, err)
	assert.Check(t, is.Len(f.requestLog(), 4))

	// A stale listing is not used.
	_, err = c.Tags(ctx)
	assert.NilError(t, err)
	now = now.Add(DefaultListingMaxAge + time.Second)
	before := len(f.requestLog())
	_, err = c.Resolve(ctx, "tb")
	assert.NilError(t, err)
	assert.Check(t, is.Len(f.requestLog(), before+1))

	// WithListingMaxAge(0): always asks.
	c = newClient(t, f, readerUser, readerPass, WithListingMaxAge(0))
	_, err = c.Tags(ctx)
	assert.NilError(t, err)
	before = len(f.requestLog())
	_, err = c.Resolve(ctx, "tc")
	assert.NilError(t, err)
	assert.Check(t, is.Len(f.requestLog(), before+1))
}

func TestUntag(t *testing.T) {
	ctx := context.Background()
	t.Run("exactly one tag, through the artifact's digest", func(t *testing.T) {
		f := newFakeHarbor(t)
		a := f.add("one", "a", "b")
		c := newClient(t, f, adminUser, adminPass)
		assert.NilError(t, c.Untag(ctx, "a", a.digest))
		assert.Check(t, is.DeepEqual(f.tagNames(), []string{"b"}))
		assert.Check(t, is.DeepEqual(f.writeLog(),
			[]string{"DELETE /api/v2.0/projects/proj/repositories/team%252Fapp/artifacts/" + a.digest + "/tags/a"}))
	})
	t.Run("moved", func(t *testing.T) {
		f := newFakeHarbor(t)
		a := f.add("one", "a")
		b := f.add("two", "b")
		f.moveTag("a", b.digest)
		c := newClient(t, f, adminUser, adminPass)
		err := c.Untag(ctx, "a", a.digest)
		assert.Check(t, errors.Is(err, registrytypes.ErrTagMoved), "%v", err)
		assert.Check(t, is.DeepEqual(f.tagNames(), []string{"a", "b"}))
	})
	t.Run("gone", func(t *testing.T) {
		f := newFakeHarbor(t)
		a := f.add("one", "b")
		c := newClient(t, f, adminUser, adminPass)
		err := c.Untag(ctx, "a", a.digest)
		assert.Check(t, errors.Is(err, registrytypes.ErrNotFound), "%v", err)
		err = c.Untag(ctx, "b", digestOf("deleted meanwhile"))
		assert.Check(t, errors.Is(err, registrytypes.ErrTagMoved), "%v", err)
	})
	t.Run("invalid input sends nothing", func(t *testing.T) {
		f := newFakeHarbor(t)
		c := newClient(t, f, adminUser, adminPass)
		assert.ErrorContains(t, c.Untag(ctx, "../x", digestOf("x")), "invalid tag")
		assert.ErrorContains(t, c.Untag(ctx, "x", "sha256:zz"), "invalid digest")
		assert.Check(t, is.Len(f.requestLog(), 0))
	})
}

func TestImmutableTags(t *testing.T) {
	ctx := context.Background()
	t.Run("listed immutable: skipped without a request", func(t *testing.T) {
		f := newFakeHarbor(t)
		a := f.add("one", "release", "tmp")
		f.setTag("release", func(t *fakeTag) { t.immutable = true })
		c := newClient(t, f, adminUser, adminPass)
		_, err := c.Tags(ctx)
		assert.NilError(t, err)
		assert.Check(t, is.DeepEqual(c.Protected(), map[string]string{"release": ReasonImmutable}))
		err = c.Untag(ctx, "release", a.digest)
		assert.Check(t, errors.Is(err, ErrImmutable), "%v", err)
		assert.Check(t, errors.Is(err, registrytypes.ErrProtected), "%v", err)
		assert.ErrorContains(t, err, "immutable")
		assert.ErrorContains(t, err, "Tag Immutability")
		var pe *ProtectedError
		assert.Assert(t, errors.As(err, &pe))
		assert.Check(t, is.Equal(pe.SkipReason(), ReasonImmutable))
		assert.Check(t, is.Len(f.writeLog(), 0))
		assert.NilError(t, c.Untag(ctx, "tmp", a.digest))
	})
	t.Run("immutable since the listing: Harbor's 412", func(t *testing.T) {
		f := newFakeHarbor(t)
		a := f.add("one", "release")
		c := newClient(t, f, adminUser, adminPass)
		_, err := c.Tags(ctx)
		assert.NilError(t, err)
		f.setTag("release", func(t *fakeTag) { t.immutable = true })
		err = c.Untag(ctx, "release", a.digest)
		assert.Check(t, errors.Is(err, ErrImmutable), "%v", err)
		assert.ErrorContains(t, err, "configured as immutable")
		assert.Check(t, is.DeepEqual(f.tagNames(), []string{"release"}))
		assert.Check(t, is.DeepEqual(c.Protected(), map[string]string{"release": ReasonImmutable}))
		err = c.DeleteManifest(ctx, a.digest)
		assert.Check(t, errors.Is(err, ErrImmutable), "%v", err)
		assert.Check(t, is.DeepEqual(f.tagNames(), []string{"release"}))
	})
	t.Run("signed", func(t *testing.T) {
		f := newFakeHarbor(t)
		a := f.add("one", "v1")
		f.setTag("v1", func(t *fakeTag) { t.signed = true })
		c := newClient(t, f, adminUser, adminPass)
		err := c.Untag(ctx, "v1", a.digest)
		assert.Check(t, errors.Is(err, ErrSigned), "%v", err)
		assert.ErrorContains(t, err, "signed")
	})
	t.Run("403 naming immutability", func(t *testing.T) {
		f := newFakeHarbor(t)
		a := f.add("one", "v1")
		f.hook = func(w http.ResponseWriter, r *http.Request) bool {
			if r.Method != http.MethodDelete {
				return false
			}
			harborError(w, http.StatusForbidden, "DENIED", "The tag v1 is immutable, cannot be deleted")
			return true
		}
		c := newClient(t, f, adminUser, adminPass)
		err := c.Untag(ctx, "v1", a.digest)
		assert.Check(t, errors.Is(err, ErrImmutable), "%v", err)
	})
	t.Run("through cleanup: kept as protected with the reason, the rest deleted", func(t *testing.T) {
		f := newFakeHarbor(t)
		f.add("one", "keep", "release", "old")
		f.setTag("release", func(t *fakeTag) { t.immutable = true })
		c := newClient(t, f, adminUser, adminPass)
		items, err := cleanup.Inventory(ctx, c, 2, nil)
		assert.NilError(t, err)
		var ds []policy.Decision
		for _, it := range items {
			ds = append(ds, policy.Decision{Tag: it.Tag, Keep: it.Tag == "keep", Reason: "test"})
		}
		res, err := cleanup.Execute(ctx, c, cleanup.MakePlan(items, ds, cleanup.PlanOptions{}), cleanup.Options{Parallel: 2})
		assert.NilError(t, err)
		byTag := map[string]cleanup.TagResult{}
		for _, r := range res {
			byTag[r.Tag] = r
		}
		assert.Check(t, is.Equal(byTag["old"].Outcome, cleanup.Deleted))
		assert.Check(t, is.Equal(byTag["release"].Outcome, cleanup.Protected))
		assert.Check(t, byTag["release"].Keep)
		assert.Check(t, is.Contains(byTag["release"].Error, "immutable"))
		assert.Check(t, is.DeepEqual(f.tagNames(), []string{"keep", "release"}))
	})
}

func TestDeleteManifest(t *testing.T) {
	ctx := context.Background()
	f := newFakeHarbor(t)
	a := f.add("one", "a", "b")
	f.add("two", "c")
	c := newClient(t, f, adminUser, adminPass)
	assert.NilError(t, c.DeleteManifest(ctx, a.digest))
	assert.Check(t, is.DeepEqual(f.tagNames(), []string{"c"}))
	err := c.DeleteManifest(ctx, a.digest)
	assert.Check(t, errors.Is(err, registrytypes.ErrNotFound), "%v", err)
}

func TestErrors(t *testing.T) {
	ctx := context.Background()
	t.Run("401 names the credentials and never the password", func(t *testing.T) {
		f := newFakeHarbor(t)
		f.add("one", "a")
		c := newClient(t, f, adminUser, "wrong-Pa55word")
		_, err := c.Tags(ctx)
		assert.Check(t, errors.Is(err, registrytypes.ErrUnauthorized), "%v", err)
		assert.ErrorContains(t, err, "listing artifacts of harbor.example.com/proj/team/app")
		assert.ErrorContains(t, err, "--repo-harbor-username (WERF_REPO_HARBOR_USERNAME) and --repo-harbor-password (WERF_REPO_HARBOR_PASSWORD)")
		assert.Check(t, !strings.Contains(err.Error(), "wrong-Pa55word"))
	})
	t.Run("403 on delete names the permission", func(t *testing.T) {
		f := newFakeHarbor(t)
		a := f.add("one", "a")
		c := newClient(t, f, readerUser, readerPass)
		err := c.Untag(ctx, "a", a.digest)
		assert.Check(t, errors.Is(err, registrytypes.ErrUnauthorized), "%v", err)
		assert.ErrorContains(t, err, "Delete Tag")
		assert.ErrorContains(t, err, `"viewer" may not delete in project proj`)
		err = c.DeleteManifest(ctx, a.digest)
		assert.ErrorContains(t, err, "Maintainer")
	})
	t.Run("403 on read names the read permission", func(t *testing.T) {
		f := newFakeHarbor(t)
		f.hook = func(w http.ResponseWriter, r *http.Request) bool {
			harborError(w, http.StatusForbidden, "FORBIDDEN", "forbidden")
			return true
		}
		_, err := newClient(t, f, readerUser, readerPass).Tags(ctx)
		assert.ErrorContains(t, err, "List Artifact")
	})
	t.Run("secrets echoed by the server are redacted", func(t *testing.T) {
		f := newFakeHarbor(t)
		f.hook = func(w http.ResponseWriter, r *http.Request) bool {
			harborError(w, http.StatusBadRequest, "BAD_REQUEST", "bad credentials "+adminPass+" with Authorization: Basic cm9ib3Q6c2VjcmV0 password=hunter22")
			return true
		}
		_, err := newClient(t, f, adminUser, adminPass).Tags(ctx)
		assert.ErrorContains(t, err, "HTTP 400")
		for _, s := range []string{adminPass, "cm9ib3Q6c2VjcmV0", "hunter22"} {
			assert.Check(t, !strings.Contains(err.Error(), s), "%v", err)
		}
	})
	t.Run("server errors are retried, then reported", func(t *testing.T) {
		f := newFakeHarbor(t)
		f.add("one", "a")
		var calls atomic.Int32
		f.hook = func(w http.ResponseWriter, r *http.Request) bool {
			if calls.Add(1) <= 2 {
				w.WriteHeader(http.StatusBadGateway)
				return true
			}
			return false
		}
		tags, err := newClient(t, f, readerUser, readerPass).Tags(ctx)
		assert.NilError(t, err)
		assert.Check(t, is.DeepEqual(tags, []string{"a"}))
		f.hook = func(w http.ResponseWriter, r *http.Request) bool {
			harborError(w, http.StatusInternalServerError, "UNKNOWN", "db down")
			return true
		}
		_, err = newClient(t, f, readerUser, readerPass).Tags(ctx)
		assert.ErrorContains(t, err, "HTTP 500 Internal Server Error: UNKNOWN: db down")
	})
	t.Run("429 is waited out", func(t *testing.T) {
		f := newFakeHarbor(t)
		f.add("one", "a")
		f.rateLimit = 1
		start := time.Now()
		tags, err := newClient(t, f, readerUser, readerPass).Tags(ctx)
		assert.NilError(t, err)
		assert.Check(t, is.DeepEqual(tags, []string{"a"}))
		assert.Check(t, time.Since(start) >= 900*time.Millisecond, "Retry-After: 1 not honoured")
		assert.Check(t, is.Len(f.requestLog(), 2))
	})
}

func TestConcurrentUse(t *testing.T) {
	f := newFakeHarbor(t)
	var digests []string
	for i := range 20 {
		a := f.add("img"+string(rune('a'+i)), "t"+string(rune('a'+i)))
		digests = append(digests, a.digest)
	}
	c := newClient(t, f, adminUser, adminPass, WithPageSize(3))
	ctx := context.Background()
	_, err := c.Tags(ctx)
	assert.NilError(t, err)
	errs := make(chan error, 20)
	for i := range 20 {
		go func() {
			tag := "t" + string(rune('a'+i))
			if _, err := c.Resolve(ctx, tag); err != nil {
				errs <- err
				return
			}
			errs <- c.Untag(ctx, tag, digests[i])
		}()
	}
	for range 20 {
		assert.Check(t, <-errs)
	}
	assert.Check(t, is.Len(f.tagNames(), 0))
}
