package acr

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"sort"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"

	"github.com/docker-werf/docker-werf/internal/apiclient"
	"github.com/docker-werf/docker-werf/internal/cleanup"
	"github.com/docker-werf/docker-werf/internal/cleanup/cleanuptest"
	"github.com/docker-werf/docker-werf/internal/policy"
	"github.com/docker-werf/docker-werf/internal/registry"
	"github.com/docker-werf/docker-werf/internal/registryapi"
	"github.com/docker-werf/docker-werf/internal/retry"
)

var testRepo = registry.Repository{Host: fakeService, Path: fakeRepo, Kind: registry.ACR}

func newClient(t *testing.T, f *fakeACR, creds Credentials, opts ...Option) *Client {
	t.Helper()
	rt := retry.NewTransport(f.srv.Client().Transport, retry.WithBackoff(time.Millisecond, 5*time.Millisecond))
	opts = append([]Option{WithBaseURL(f.srv.URL), WithTransport(rt)}, opts...)
	c, err := New(testRepo, creds, opts...)
	assert.NilError(t, err)
	return c
}

func adminCreds() Credentials { return Credentials{Username: adminUser, Password: adminPass} }

// validRefresh registers and returns a refresh token the fake accepts.
func (f *fakeACR) validRefresh(id string) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	rt := refreshToken(id)
	f.refreshTokens[rt] = true
	return rt
}

func (f *fakeACR) validEntra(id string) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	tok := entraToken(id)
	f.entraTokens[tok] = true
	return tok
}

func (f *fakeACR) tokenReqs() []url.Values {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.tokenRequests)
}

func (f *fakeACR) exchangeCount() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.exchanges
}

func (f *fakeACR) setTag(tag string, fn func(*fakeTagState)) {
	f.mu.Lock()
	defer f.mu.Unlock()
	fn(f.tags[tag])
}

// backend runs the cleanup contract against the fake with one kind of
// credentials.
type backend struct {
	t    *testing.T
	f    *fakeACR
	mode string // "basic", "refresh" or "entra"
}

func (b *backend) creds() Credentials {
	switch b.mode {
	case "refresh":
		return Credentials{Token: b.f.validRefresh("contract")}
	case "entra":
		return Credentials{Token: b.f.validEntra("contract")}
	}
	return adminCreds()
}

func (b *backend) Registry() cleanup.Registry {
	return newClient(b.t, b.f, b.creds(), WithPageSize(b.PageSize()))
}

func (b *backend) Seed(_ *testing.T, tags map[string]string) {
	names := make([]string, 0, len(tags))
	for tag := range tags {
		names = append(names, tag)
	}
	sort.Strings(names)
	for _, tag := range names {
		b.f.tag(tag, b.f.addImage(tags[tag]))
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
	switch b.mode {
	case "refresh":
		return newClient(b.t, b.f, Credentials{Token: refreshToken("revoked")}), "--repo-acr-token (WERF_REPO_ACR_TOKEN)"
	case "entra":
		return newClient(b.t, b.f, Credentials{Token: entraToken("stranger")}), "--repo-acr-token (WERF_REPO_ACR_TOKEN)"
	}
	return newClient(b.t, b.f, Credentials{Username: adminUser, Password: "wrong"}), "--repo-acr-password (WERF_REPO_ACR_PASSWORD)"
}

func (b *backend) PageSize() int       { return 2 }
func (b *backend) Kind() registry.Kind { return registry.ACR }

func TestContract(t *testing.T) {
	for _, mode := range []string{"basic", "refresh", "entra"} {
		t.Run(mode, func(t *testing.T) {
			cleanuptest.Run(t, func(t *testing.T) cleanuptest.Backend {
				return &backend{t: t, f: newFakeACR(t), mode: mode}
			})
		})
	}
}

func TestNewValidates(t *testing.T) {
	for _, tc := range []struct {
		name  string
		creds Credentials
		opts  []Option
		want  string
	}{
		{"nothing", Credentials{}, nil, "neither --repo-acr-username (WERF_REPO_ACR_USERNAME) and --repo-acr-password " +
			"(WERF_REPO_ACR_PASSWORD) nor --repo-acr-token (WERF_REPO_ACR_TOKEN) is set"},
		{"no password", Credentials{Username: "u"}, nil, "--repo-acr-password (WERF_REPO_ACR_PASSWORD) is not set"},
		{"no username", Credentials{Password: "p"}, nil, "--repo-acr-username (WERF_REPO_ACR_USERNAME) is not set"},
		{"base URL with a path", adminCreds(), []Option{WithBaseURL("https://x.azurecr.io/acr")}, "invalid base URL"},
		{"page size", adminCreds(), []Option{WithPageSize(0)}, "page size 0 out of range"},
		{"page size above acr-cli's", adminCreds(), []Option{WithPageSize(101)}, "page size 101 out of range"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := New(testRepo, tc.creds, tc.opts...)
			assert.ErrorContains(t, err, tc.want)
		})
	}
	c, err := New(testRepo, Credentials{Username: RefreshTokenUser, Password: refreshToken("x")})
	assert.NilError(t, err)
	assert.Check(t, c.auth.tokens != nil && c.auth.tokens.refresh != "")
	assert.Check(t, is.Equal(c.auth.tokens.cred.Flag, "--repo-acr-password"))
	c, err = New(testRepo, Credentials{Token: entraToken("x")})
	assert.NilError(t, err)
	assert.Check(t, is.Equal(c.auth.tokens.entra != "", true))
	assert.Check(t, is.Equal(c.auth.tokens.tenant, fakeTenant))
	assert.Check(t, is.Equal(c.acrURL("/_tags", url.Values{"n": {"2"}}), "https://myreg.azurecr.io/acr/v1/team%2Fapp/_tags?n=2"))
	assert.Check(t, is.Equal(c.v2URL("/manifests/x"), "https://myreg.azurecr.io/v2/team/app/manifests/x"))
}

func TestListing(t *testing.T) {
	ctx := context.Background()
	t.Run("pages in time order, newest first, with last from the Link", func(t *testing.T) {
		f := newFakeACR(t)
		for _, tag := range []string{"c", "a", "e", "b", "d"} {
			f.tag(tag, f.addImage("img-"+tag))
		}
		f.setTag("a", func(s *fakeTagState) { s.deleteEnabled = false })
		c := newClient(t, f, adminCreds(), WithPageSize(2))
		details, err := c.TagDetails(ctx)
		assert.NilError(t, err)
		var names []string
		for _, d := range details {
			names = append(names, d.Name)
		}
		assert.Check(t, is.DeepEqual(names, []string{"d", "b", "e", "a", "c"}))
		assert.Check(t, !details[3].DeleteEnabled && details[3].WriteEnabled)
		assert.Check(t, details[0].LastUpdateTime.After(details[1].LastUpdateTime))
		assert.Check(t, is.DeepEqual(c.Protected(), map[string]string{"a": "deleteEnabled=false"}))
		assert.Check(t, is.DeepEqual(f.requestLog(), []string{
			"GET /acr/v1/team%2Fapp/_tags?n=2&orderby=timedesc",
			"GET /acr/v1/team%2Fapp/_tags?last=b&n=2&orderby=timedesc",
			"GET /acr/v1/team%2Fapp/_tags?last=a&n=2&orderby=timedesc",
		}))
		tags, err := c.Tags(ctx)
		assert.NilError(t, err)
		assert.Check(t, is.DeepEqual(tags, []string{"a", "b", "c", "d", "e"}))
	})
	t.Run("unknown repository has no tags", func(t *testing.T) {
		f := newFakeACR(t)
		tags, err := newClient(t, f, adminCreds()).Tags(ctx)
		assert.NilError(t, err)
		assert.Check(t, is.DeepEqual(tags, []string{}))
	})
	for _, tc := range []struct {
		name, link, want string
		endless          bool
	}{
		{"Link without last", `</acr/v1/team%2Fapp/_tags?n=2>; rel="next"`, "has no last= parameter", false},
		{"malformed Link", `/acr/v1/x; rel="next"`, "malformed Link header", false},
		{"Link that never ends", `</acr/v1/team%2Fapp/_tags?last=a&n=2>; rel="next"`,
			"listing tags of " + fakeService + "/" + fakeRepo + " on ACR: pagination does not end", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFakeACR(t)
			f.tag("a", f.addImage("a"))
			f.hook = func(w http.ResponseWriter, r *http.Request) bool {
				w.Header().Set("Link", tc.link)
				w.Header().Set("Content-Type", "application/json")
				_ = json.NewEncoder(w).Encode(map[string]any{"registry": fakeService, "imageName": fakeRepo,
					"tags": []any{f.tagJSON("a", f.tags["a"])}})
				return true
			}
			_, err := newClient(t, f, adminCreds()).Tags(ctx)
			assert.ErrorContains(t, err, tc.want)
			assert.Check(t, is.Equal(errors.Is(err, apiclient.ErrEndlessPagination), tc.endless), "%v", err)
		})
	}
}

func TestInventoryReusesTheListing(t *testing.T) {
	ctx := context.Background()
	f := newFakeACR(t)
	for _, tag := range []string{"a", "b", "c"} {
		f.tag(tag, f.addImage("img-"+tag))
	}
	now := time.Now()
	c := newClient(t, f, adminCreds(), WithClock(func() time.Time { return now }))
	_, err := c.Tags(ctx)
	assert.NilError(t, err)
	before := len(f.requestLog())
	for _, tag := range []string{"a", "b", "c"} {
		d, err := c.Resolve(ctx, tag)
		assert.NilError(t, err)
		assert.Check(t, is.Equal(d.Digest, f.tags[tag].digest))
	}
	assert.Check(t, is.Len(f.requestLog(), before), "resolved from the listing")
	_, err = c.Resolve(ctx, "a")
	assert.NilError(t, err)
	assert.Check(t, is.Len(f.requestLog(), before+1), "taken once")
	_, err = c.Tags(ctx)
	assert.NilError(t, err)
	now = now.Add(DefaultListingMaxAge + time.Second)
	before = len(f.requestLog())
	_, err = c.Resolve(ctx, "b")
	assert.NilError(t, err)
	assert.Check(t, is.Len(f.requestLog(), before+1), "a stale listing is not used")
}

// fakeAPI stands in for the Docker Registry API client.
type fakeAPI struct{ calls int }

func (a *fakeAPI) Inspect(_ context.Context, d registryapi.Descriptor) (registryapi.Image, error) {
	a.calls++
	return registryapi.Image{Descriptor: d, Revision: "from-api"}, nil
}

func TestWithRegistryAPI(t *testing.T) {
	f := newFakeACR(t)
	d := f.addImage("one")
	f.tag("a", d)
	api := &fakeAPI{}
	c := newClient(t, f, adminCreds(), WithRegistryAPI(api))
	img, err := c.Inspect(context.Background(), registryapi.Descriptor{Digest: d})
	assert.NilError(t, err)
	assert.Check(t, is.Equal(img.Revision, "from-api"))
	assert.Check(t, is.Equal(img.Created, f.manifests[d].created))
	assert.Check(t, is.Equal(api.calls, 1))
	for _, r := range f.requestLog() {
		assert.Check(t, !strings.HasPrefix(r, "GET /v2/"), "%s", r)
	}
}

func TestResolveAndInspect(t *testing.T) {
	ctx := context.Background()
	f := newFakeACR(t)
	img := f.addImage("one")
	f.tag("v1", img)
	idx := f.addIndex(img)
	f.tag("multi", idx)
	c := newClient(t, f, adminCreds())

	d, err := c.Resolve(ctx, "v1")
	assert.NilError(t, err)
	assert.Check(t, is.Equal(d.Digest, img))
	got, err := c.Inspect(ctx, d)
	assert.NilError(t, err)
	assert.Check(t, is.Equal(got.Revision, "rev-one"))
	assert.Check(t, is.Equal(got.Created, f.manifests[img].created), "Created must be ACR's createdTime, not the config's")
	assert.Check(t, !got.IsIndex)

	d, err = c.Resolve(ctx, "multi")
	assert.NilError(t, err)
	got, err = c.Inspect(ctx, d)
	assert.NilError(t, err)
	assert.Check(t, got.IsIndex)
	assert.Check(t, is.Len(got.Children, 1))
	assert.Check(t, is.Equal(got.Children[0].Digest, img))
	assert.Check(t, is.Equal(got.Revision, "rev-one"))
	assert.Check(t, is.Equal(got.Created, f.manifests[idx].created))

	_, err = c.Resolve(ctx, "nope")
	assert.Check(t, errors.Is(err, registryapi.ErrNotFound), "%v", err)
	_, err = c.Inspect(ctx, registryapi.Descriptor{Digest: digestOf([]byte("nope"))})
	assert.Check(t, errors.Is(err, registryapi.ErrNotFound), "%v", err)
}

func TestUntag(t *testing.T) {
	ctx := context.Background()
	t.Run("exactly one tag", func(t *testing.T) {
		f := newFakeACR(t)
		d := f.addImage("one")
		f.tag("a", d)
		f.tag("b", d)
		c := newClient(t, f, adminCreds())
		assert.NilError(t, c.Untag(ctx, "a", d))
		assert.Check(t, is.DeepEqual(f.tagNames(), []string{"b"}))
		assert.Check(t, is.DeepEqual(f.writeLog(), []string{"DELETE /acr/v1/team%2Fapp/_tags/a"}))
		assert.Check(t, f.manifests[d] != nil)
	})
	t.Run("moved", func(t *testing.T) {
		f := newFakeACR(t)
		d1, d2 := f.addImage("one"), f.addImage("two")
		f.tag("a", d2)
		c := newClient(t, f, adminCreds())
		err := c.Untag(ctx, "a", d1)
		assert.Check(t, errors.Is(err, registryapi.ErrTagMoved), "%v", err)
		assert.Check(t, is.Len(f.writeLog(), 0))
	})
	t.Run("gone", func(t *testing.T) {
		f := newFakeACR(t)
		d := f.addImage("one")
		f.tag("b", d)
		err := newClient(t, f, adminCreds()).Untag(ctx, "a", d)
		assert.Check(t, errors.Is(err, registryapi.ErrNotFound), "%v", err)
	})
	t.Run("locked: skipped with the reason, nothing sent", func(t *testing.T) {
		f := newFakeACR(t)
		d := f.addImage("one")
		f.tag("a", d)
		f.setTag("a", func(s *fakeTagState) { s.writeEnabled = false })
		c := newClient(t, f, adminCreds())
		err := c.Untag(ctx, "a", d)
		assert.Check(t, errors.Is(err, ErrLocked), "%v", err)
		assert.Check(t, errors.Is(err, cleanup.ErrProtected), "%v", err)
		assert.ErrorContains(t, err, "locked (writeEnabled=false)")
		assert.ErrorContains(t, err, "az acr repository update")
		var le *LockedError
		assert.Assert(t, errors.As(err, &le))
		assert.Check(t, is.Equal(le.SkipReason(), ReasonLocked))
		assert.Check(t, is.Len(f.writeLog(), 0))
		assert.Check(t, is.DeepEqual(c.Protected(), map[string]string{"a": "writeEnabled=false"}))
	})
	t.Run("ACR's 405 is a lock", func(t *testing.T) {
		f := newFakeACR(t)
		d := f.addImage("one")
		f.tag("a", d)
		f.hook = func(w http.ResponseWriter, r *http.Request) bool {
			if r.Method != http.MethodDelete {
				return false
			}
			acrError(w, http.StatusMethodNotAllowed, "DENIED", "The operation is disallowed on this registry, repository or image.")
			return true
		}
		err := newClient(t, f, adminCreds()).Untag(ctx, "a", d)
		assert.Check(t, errors.Is(err, ErrLocked), "%v", err)
		assert.ErrorContains(t, err, "disallowed")
	})
	t.Run("through cleanup: kept as protected with the reason, the rest deleted", func(t *testing.T) {
		f := newFakeACR(t)
		d := f.addImage("one")
		for _, tag := range []string{"keep", "locked", "old"} {
			f.tag(tag, d)
		}
		f.setTag("locked", func(s *fakeTagState) { s.deleteEnabled = false })
		c := newClient(t, f, adminCreds())
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
		assert.Check(t, is.Equal(byTag["locked"].Outcome, cleanup.Protected))
		assert.Check(t, byTag["locked"].Keep)
		assert.Check(t, is.Contains(byTag["locked"].Error, "locked"))
		assert.Check(t, is.DeepEqual(f.tagNames(), []string{"keep", "locked"}))
	})
}

func TestDeleteManifest(t *testing.T) {
	ctx := context.Background()
	t.Run("with all its tags", func(t *testing.T) {
		f := newFakeACR(t)
		d := f.addImage("one")
		f.tag("a", d)
		f.tag("b", d)
		f.tag("c", f.addImage("two"))
		c := newClient(t, f, adminCreds())
		assert.NilError(t, c.DeleteManifest(ctx, d))
		assert.Check(t, is.DeepEqual(f.tagNames(), []string{"c"}))
		assert.Check(t, is.DeepEqual(f.writeLog(), []string{"DELETE /v2/team/app/manifests/" + d}))
		err := c.DeleteManifest(ctx, d)
		assert.Check(t, errors.Is(err, registryapi.ErrNotFound), "%v", err)
	})
	t.Run("locked manifest", func(t *testing.T) {
		f := newFakeACR(t)
		d := f.addImage("one")
		f.tag("a", d)
		f.manifests[d].deleteEnabled = false
		err := newClient(t, f, adminCreds()).DeleteManifest(ctx, d)
		assert.Check(t, errors.Is(err, ErrLocked), "%v", err)
		assert.Check(t, is.Len(f.writeLog(), 0))
	})
	t.Run("a locked tag on it", func(t *testing.T) {
		f := newFakeACR(t)
		d := f.addImage("one")
		f.tag("a", d)
		f.tag("b", d)
		f.setTag("b", func(s *fakeTagState) { s.deleteEnabled = false })
		c := newClient(t, f, adminCreds())
		_, err := c.Tags(ctx)
		assert.NilError(t, err)
		err = c.DeleteManifest(ctx, d)
		assert.Check(t, errors.Is(err, ErrLocked), "%v", err)
		assert.ErrorContains(t, err, "its tag b has deleteEnabled=false")
		assert.Check(t, is.Len(f.writeLog(), 0))
	})
}

func TestTokens(t *testing.T) {
	ctx := context.Background()
	seed := func(f *fakeACR) string {
		d := f.addImage("one")
		f.tag("a", d)
		return d
	}
	t.Run("a refresh token buys one access token for the repository", func(t *testing.T) {
		f := newFakeACR(t)
		d := seed(f)
		c := newClient(t, f, Credentials{Token: f.validRefresh("r1")})
		_, err := c.Tags(ctx)
		assert.NilError(t, err)
		_, err = c.Inspect(ctx, registryapi.Descriptor{Digest: d})
		assert.NilError(t, err)
		assert.NilError(t, c.Untag(ctx, "a", d))
		assert.Check(t, is.Len(f.tokenReqs(), 1))
		assert.Check(t, is.Equal(f.tokenReqs()[0].Get("scope"), "repository:team/app:pull,delete,metadata_read,metadata_write"))
		assert.Check(t, is.Equal(f.tokenReqs()[0].Get("service"), fakeService))
		assert.Check(t, is.Equal(f.exchangeCount(), 0))
	})
	t.Run("renewed before it expires", func(t *testing.T) {
		f := newFakeACR(t)
		seed(f)
		now := time.Now()
		c := newClient(t, f, Credentials{Token: f.validRefresh("r1")}, WithClock(func() time.Time { return now }))
		_, err := c.Tags(ctx)
		assert.NilError(t, err)
		now = now.Add(f.tokenTTL - 30*time.Second)
		_, err = c.Tags(ctx)
		assert.NilError(t, err)
		assert.Check(t, is.Len(f.tokenReqs(), 2))
	})
	t.Run("renewed after a 401, the request sent again", func(t *testing.T) {
		f := newFakeACR(t)
		seed(f)
		c := newClient(t, f, Credentials{Token: f.validRefresh("r1")})
		_, err := c.Tags(ctx)
		assert.NilError(t, err)
		f.mu.Lock()
		clear(f.access) // revoked
		f.mu.Unlock()
		tags, err := c.Tags(ctx)
		assert.NilError(t, err)
		assert.Check(t, is.DeepEqual(tags, []string{"a"}))
		assert.Check(t, is.Len(f.tokenReqs(), 2))
	})
	t.Run("an Entra token is exchanged once, with its tenant", func(t *testing.T) {
		f := newFakeACR(t)
		d := seed(f)
		var tenant atomic.Value
		f.hook = func(w http.ResponseWriter, r *http.Request) bool {
			if r.URL.Path == "/oauth2/exchange" {
				_ = r.ParseForm()
				tenant.Store(r.PostForm.Get("tenant"))
			}
			return false
		}
		c := newClient(t, f, Credentials{Token: f.validEntra("me")})
		_, err := c.Tags(ctx)
		assert.NilError(t, err)
		assert.NilError(t, c.Untag(ctx, "a", d))
		assert.Check(t, is.Equal(f.exchangeCount(), 1))
		assert.Check(t, is.Equal(tenant.Load(), fakeTenant))
	})
	t.Run("an expired exchanged refresh token is exchanged again", func(t *testing.T) {
		f := newFakeACR(t)
		seed(f)
		c := newClient(t, f, Credentials{Token: f.validEntra("me")})
		_, err := c.Tags(ctx)
		assert.NilError(t, err)
		f.mu.Lock()
		clear(f.access)
		clear(f.refreshTokens)
		f.mu.Unlock()
		_, err = c.Tags(ctx)
		assert.NilError(t, err)
		assert.Check(t, is.Equal(f.exchangeCount(), 2))
	})
	t.Run("refusals name the token and never show it", func(t *testing.T) {
		f := newFakeACR(t)
		seed(f)
		for _, tok := range []string{refreshToken("revoked"), entraToken("stranger")} {
			_, err := newClient(t, f, Credentials{Token: tok}).Tags(ctx)
			assert.Check(t, errors.Is(err, registryapi.ErrUnauthorized), "%v", err)
			assert.ErrorContains(t, err, "--repo-acr-token (WERF_REPO_ACR_TOKEN)")
			assert.Check(t, !strings.Contains(err.Error(), tok), "%v", err)
			assert.Check(t, !strings.Contains(err.Error(), strings.Split(tok, ".")[1]), "%v", err)
		}
	})
	t.Run("token requests honour 429", func(t *testing.T) {
		f := newFakeACR(t)
		seed(f)
		f.rateLimit = 1
		_, err := newClient(t, f, Credentials{Token: f.validRefresh("r1")}).Tags(ctx)
		assert.NilError(t, err)
		assert.Check(t, is.Len(f.tokenReqs(), 1))
		assert.Check(t, is.Equal(f.requestLog()[0], "POST /oauth2/token"))
	})
}

func TestErrors(t *testing.T) {
	ctx := context.Background()
	t.Run("401 names the credentials and never the password", func(t *testing.T) {
		f := newFakeACR(t)
		f.tag("a", f.addImage("one"))
		_, err := newClient(t, f, Credentials{Username: adminUser, Password: "wr0ng-Passw0rd"}).Tags(ctx)
		assert.Check(t, errors.Is(err, registryapi.ErrUnauthorized), "%v", err)
		assert.ErrorContains(t, err, "listing tags of myreg.azurecr.io/team/app on ACR: GET /acr/v1/team%2Fapp/_tags")
		assert.ErrorContains(t, err, "--repo-acr-username (WERF_REPO_ACR_USERNAME) and --repo-acr-password (WERF_REPO_ACR_PASSWORD)")
		assert.Check(t, !strings.Contains(err.Error(), "wr0ng-Passw0rd"))
	})
	t.Run("403 on delete names the role", func(t *testing.T) {
		f := newFakeACR(t)
		d := f.addImage("one")
		f.tag("a", d)
		c := newClient(t, f, Credentials{Username: readerUser, Password: readerPass})
		err := c.Untag(ctx, "a", d)
		assert.Check(t, errors.Is(err, registryapi.ErrUnauthorized), "%v", err)
		assert.ErrorContains(t, err, "AcrDelete")
		assert.ErrorContains(t, err, "content/delete")
		assert.Check(t, is.DeepEqual(f.tagNames(), []string{"a"}))
	})
	t.Run("secrets echoed by the server are redacted", func(t *testing.T) {
		f := newFakeACR(t)
		f.hook = func(w http.ResponseWriter, r *http.Request) bool {
			acrError(w, http.StatusBadRequest, "BAD", "bad "+adminPass+" Authorization: Basic bXlyZWc6c2VjcmV0 "+refreshToken("leak"))
			return true
		}
		_, err := newClient(t, f, adminCreds()).Tags(ctx)
		assert.ErrorContains(t, err, "HTTP 400")
		for _, s := range []string{adminPass, "bXlyZWc6c2VjcmV0", "eyJ"} {
			assert.Check(t, !strings.Contains(err.Error(), s), "%v", err)
		}
	})
	t.Run("429 is waited out", func(t *testing.T) {
		f := newFakeACR(t)
		d := f.addImage("one")
		f.tag("a", d)
		f.rateLimit = 1
		start := time.Now()
		c := newClient(t, f, adminCreds())
		assert.NilError(t, c.Untag(ctx, "a", d))
		assert.Check(t, time.Since(start) >= 900*time.Millisecond, "Retry-After: 1 not honoured")
	})
}

func TestCredentialsStayOnTheRegistryHost(t *testing.T) {
	got := make(chan string, 1)
	other := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got <- r.Header.Get("Authorization")
	}))
	defer other.Close()
	f := newFakeACR(t)
	// Both servers run on 127.0.0.1 with the same test certificate; only the
	// port differs.
	c := newClient(t, f, adminCreds())
	hc := &http.Client{Transport: c.auth}
	resp, err := hc.Get(other.URL + "/blob")
	assert.NilError(t, err)
	_ = resp.Body.Close()
	assert.Check(t, is.Equal(<-got, ""))
	assert.Check(t, !slices.Contains(f.requestLog(), "GET /blob"))
}

func TestEntraDetection(t *testing.T) {
	assert.Check(t, isEntraToken(jwtClaims(entraToken("x"))))
	assert.Check(t, !isEntraToken(jwtClaims(refreshToken("x"))))
	assert.Check(t, !isEntraToken(jwtClaims("opaque-token")))
	assert.Check(t, isEntraToken(jwtClaims(jwt(map[string]any{"iss": "https://login.microsoftonline.com/t/v2.0"}))))
	assert.Check(t, !expiry(refreshToken("x")).IsZero())
	assert.Check(t, expiry("opaque").IsZero())
}
