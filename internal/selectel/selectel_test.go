package selectel

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"

	"github.com/docker-werf/docker-werf/internal/cleanup"
	"github.com/docker-werf/docker-werf/internal/cleanup/cleanuptest"
	"github.com/docker-werf/docker-werf/internal/registry"
	"github.com/docker-werf/docker-werf/internal/registryapi"
	"github.com/docker-werf/docker-werf/internal/retry"
)

func noEnv(string) string { return "" }

func selectelRepo(t *testing.T, path string) registry.Repository {
	t.Helper()
	repo, err := registry.ParseRepository("cr.selcloud.ru/"+path, "", noEnv)
	assert.NilError(t, err)
	assert.Equal(t, repo.Kind, registry.Selectel)
	return repo
}

func goodCreds() Credentials {
	return Credentials{Username: fUser, Password: fPass, Account: fAccount, VPC: fVPC}
}

// sleeps records the waits of the retry transport instead of sleeping, on
// a clock that moves by what was slept.
type sleeps struct {
	mu      sync.Mutex
	d       []time.Duration
	elapsed time.Duration
}

func (s *sleeps) now() time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	return time.Now().Add(s.elapsed)
}

func (s *sleeps) sleep(_ context.Context, d time.Duration) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.d = append(s.d, d)
	s.elapsed += d
	return nil
}

func (s *sleeps) list() []time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]time.Duration(nil), s.d...)
}

func (f *fakeSelectel) client(t *testing.T, creds Credentials, opts ...Option) (*Client, *sleeps) {
	t.Helper()
	sl := &sleeps{}
	rc, err := registryapi.New(f.host()+"/"+fReg+"/"+fRepo, nil)
	assert.NilError(t, err)
	all := append([]Option{
		WithBaseURL(f.srv.URL + "/api/v1"), WithIdentityURL(f.srv.URL + "/identity/v3"),
		WithTransport(retry.NewTransport(http.DefaultTransport.(*http.Transport).Clone(), retry.WithClock(sl.now, sl.sleep))),
		WithRegistryAPI(rc),
	}, opts...)
	c, err := New(selectelRepo(t, fReg+"/"+fRepo), creds, all...)
	assert.NilError(t, err)
	return c, sl
}

type backend struct {
	t *testing.T
	f *fakeSelectel
}

func (b *backend) Registry() cleanup.Registry {
	c, _ := b.f.client(b.t, goodCreds())
	return c
}

func (b *backend) Seed(_ *testing.T, tags map[string]string) {
	byImage := map[string][]string{}
	for tag, img := range tags {
		byImage[img] = append(byImage[img], tag)
	}
	for img, ts := range byImage {
		b.f.addImage(img, time.Now().Add(-time.Hour), ts...)
	}
}

func (b *backend) Tags(*testing.T) []string   { return b.f.tagList() }
func (b *backend) Writes(*testing.T) []string { return b.f.writeList() }
func (b *backend) RateLimitNext(*testing.T) {
	b.f.addFault("", http.StatusTooManyRequests, map[string]string{"Retry-After": "1"}, `{"error":"too many requests"}`)
}

func (b *backend) Unauthorized(*testing.T) (cleanup.Registry, string) {
	creds := goodCreds()
	creds.Password = "not-the-password"
	c, _ := b.f.client(b.t, creds)
	return c, "--repo-selectel-password (WERF_REPO_SELECTEL_PASSWORD)"
}
func (b *backend) PageSize() int       { return 2 }
func (b *backend) Kind() registry.Kind { return registry.Selectel }

func TestContract(t *testing.T) {
	cleanuptest.Run(t, func(t *testing.T) cleanuptest.Backend {
		return &backend{t: t, f: newFakeSelectel(t)}
	})
}

func TestNew(t *testing.T) {
	repo := selectelRepo(t, "myreg/app")
	_, err := New(repo, Credentials{})
	assert.Error(t, err, "cr.selcloud.ru/myreg/app on Selectel: --repo-selectel-username (WERF_REPO_SELECTEL_USERNAME), "+
		"--repo-selectel-password (WERF_REPO_SELECTEL_PASSWORD), --repo-selectel-account (WERF_REPO_SELECTEL_ACCOUNT), "+
		"--repo-selectel-vpc (WERF_REPO_SELECTEL_VPC) or --repo-selectel-vpc-id (WERF_REPO_SELECTEL_VPC_ID) not set")
	creds := goodCreds()
	creds.Password = ""
	_, err = New(repo, creds)
	assert.Error(t, err, "cr.selcloud.ru/myreg/app on Selectel: --repo-selectel-password (WERF_REPO_SELECTEL_PASSWORD) not set")

	_, err = New(selectelRepo(t, "myreg"), goodCreds())
	assert.ErrorContains(t, err, "expected cr.selcloud.ru/<registry>/<repository>")

	for _, opt := range []Option{WithBaseURL("cr.selcloud.ru"), WithIdentityURL("https://u:p@x/"), WithTransport(nil),
		WithRegistryAPI(nil), WithRegistryAPI((*registryapi.Client)(nil))} {
		_, err := New(repo, goodCreds(), opt)
		assert.ErrorContains(t, err, "cr.selcloud.ru/myreg/app on Selectel: ")
	}
	c, err := New(selectelRepo(t, "myreg/group/app"), goodCreds())
	assert.NilError(t, err)
	assert.Check(t, is.Equal(c.registry, "myreg"))
	assert.Check(t, is.Equal(c.repository, "group/app"))
	assert.Check(t, is.Equal(c.base, DefaultBaseURL))
}

func TestDefaultEndpoints(t *testing.T) {
	// The identity endpoint of Selectel's current documentation
	// (https://docs.selectel.ru/en/api/authorization/).
	assert.Equal(t, DefaultIdentityURL, "https://cloud.api.selcloud.ru/identity/v3")
	assert.Equal(t, DefaultBaseURL, "https://cr.selcloud.ru/api/v1")
}

func TestKeystoneScope(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name  string
		creds func(*Credentials)
		want  map[string]any
	}{
		{"by project name", func(*Credentials) {},
			map[string]any{"project": map[string]any{"name": fVPC, "domain": map[string]any{"name": fAccount}}}},
		{"by project id", func(c *Credentials) { c.VPC, c.VPCID = "", fVPCID },
			map[string]any{"project": map[string]any{"id": fVPCID}}},
		{"the id wins over the name", func(c *Credentials) { c.VPCID = fVPCID },
			map[string]any{"project": map[string]any{"id": fVPCID}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFakeSelectel(t)
			f.addImage("one", time.Now(), "a")
			creds := goodCreds()
			tc.creds(&creds)
			c, _ := f.client(t, creds)
			tags, err := c.Tags(ctx)
			assert.NilError(t, err)
			assert.Check(t, is.DeepEqual(tags, []string{"a"}))
			assert.Check(t, is.DeepEqual(f.scopes, []map[string]any{tc.want}))
		})
	}
	t.Run("a wrong project", func(t *testing.T) {
		f := newFakeSelectel(t)
		creds := goodCreds()
		creds.VPC = "nope"
		c, _ := f.client(t, creds)
		_, err := c.Tags(ctx)
		assert.Check(t, errors.Is(err, registryapi.ErrUnauthorized))
		assert.ErrorContains(t, err, "the Selectel identity API refused the credentials (HTTP 401: "+
			"The request you have made requires authentication.)")
		assert.ErrorContains(t, err, "--repo-selectel-vpc (WERF_REPO_SELECTEL_VPC) / --repo-selectel-vpc-id")
	})
}

func TestToken(t *testing.T) {
	ctx := context.Background()
	t.Run("reused, renewed after half its life", func(t *testing.T) {
		f := newFakeSelectel(t)
		f.addImage("one", time.Now(), "a")
		now := time.Now()
		var mu sync.Mutex
		c, _ := f.client(t, goodCreds(), withClock(func() time.Time { mu.Lock(); defer mu.Unlock(); return now }))
		for range 3 {
			_, err := c.Tags(ctx)
			assert.NilError(t, err)
		}
		assert.Check(t, is.Equal(f.count("token"), 1))
		assert.Check(t, is.Equal(f.count("GET /api/v1/registries"), 1), "the registry id is looked up once")
		mu.Lock()
		now = now.Add(13 * time.Hour)
		mu.Unlock()
		_, err := c.Tags(ctx)
		assert.NilError(t, err)
		assert.Check(t, is.Equal(f.count("token"), 2))
	})
	t.Run("a revoked token is renewed once", func(t *testing.T) {
		f := newFakeSelectel(t)
		f.addImage("one", time.Now(), "a")
		c, _ := f.client(t, goodCreds())
		_, err := c.Tags(ctx)
		assert.NilError(t, err)
		f.revokeTokens()
		tags, err := c.Tags(ctx)
		assert.NilError(t, err)
		assert.Check(t, is.DeepEqual(tags, []string{"a"}))
		assert.Check(t, is.Equal(f.count("token"), 2))
	})
	t.Run("a token refused twice", func(t *testing.T) {
		f := newFakeSelectel(t)
		f.addImage("one", time.Now(), "a")
		c, _ := f.client(t, goodCreds())
		_, err := c.Tags(ctx) // learns the registry id
		assert.NilError(t, err)
		f.addFault("GET /api/v1/registries/"+fRegID+"/repositories/", http.StatusUnauthorized, nil, `{"error":"unauthorized"}`)
		f.addFault("GET /api/v1/registries/"+fRegID+"/repositories/", http.StatusUnauthorized, nil, `{"error":"unauthorized"}`)
		_, err = c.Tags(ctx)
		assert.Check(t, errors.Is(err, registryapi.ErrUnauthorized))
		assert.ErrorContains(t, err, "Selectel refused a fresh token; check --repo-selectel-username")
	})
}

func TestRegistryID(t *testing.T) {
	ctx := context.Background()
	t.Run("wrapped list", func(t *testing.T) {
		f := newFakeSelectel(t)
		f.wrapped = true
		f.addImage("one", time.Now(), "a")
		c, _ := f.client(t, goodCreds())
		tags, err := c.Tags(ctx)
		assert.NilError(t, err)
		assert.Check(t, is.DeepEqual(tags, []string{"a"}))
	})
	t.Run("every page of /registries", func(t *testing.T) {
		f := newFakeSelectel(t)
		mine := f.registries[1]
		f.registries = f.registries[:1]
		for i := range 2 * registriesPageSize {
			f.registries = append(f.registries, map[string]any{"id": fmt.Sprintf("id-%d", i), "name": fmt.Sprintf("reg-%d", i),
				"createdAt": "2025-01-02T03:04:05Z", "status": "ACTIVE"})
		}
		f.registries = append(f.registries, mine)
		f.addImage("one", time.Now(), "a")
		c, _ := f.client(t, goodCreds())
		tags, err := c.Tags(ctx)
		assert.NilError(t, err)
		assert.Check(t, is.DeepEqual(tags, []string{"a"}))
		assert.Check(t, is.Equal(f.count("GET /api/v1/registries"), 3))
	})
	t.Run("no such registry", func(t *testing.T) {
		f := newFakeSelectel(t)
		f.registries = f.registries[:1]
		c, _ := f.client(t, goodCreds())
		_, err := c.Tags(ctx)
		assert.Check(t, errors.Is(err, registryapi.ErrNotFound))
		assert.ErrorContains(t, err, `the project has no registry "myreg" (it has: other)`)
	})
	t.Run("forbidden", func(t *testing.T) {
		f := newFakeSelectel(t)
		f.addFault("GET /api/v1/registries", http.StatusForbidden, nil, `{"error":"access denied"}`)
		c, _ := f.client(t, goodCreds())
		_, err := c.Tags(ctx)
		assert.Check(t, errors.Is(err, registryapi.ErrUnauthorized))
		assert.ErrorContains(t, err, "HTTP 403: access denied")
		assert.ErrorContains(t, err, "the user of --repo-selectel-username (WERF_REPO_SELECTEL_USERNAME) may not read")
	})
}

func TestTags(t *testing.T) {
	ctx := context.Background()
	t.Run("a repository without tags", func(t *testing.T) {
		f := newFakeSelectel(t)
		c, _ := f.client(t, goodCreds())
		tags, err := c.Tags(ctx)
		assert.NilError(t, err)
		assert.Check(t, is.DeepEqual(tags, []string{}))
	})
	t.Run("sorted", func(t *testing.T) {
		f := newFakeSelectel(t)
		f.addImage("one", time.Now(), "b", "a")
		f.addImage("two", time.Now(), "c")
		c, _ := f.client(t, goodCreds())
		tags, err := c.Tags(ctx)
		assert.NilError(t, err)
		assert.Check(t, is.DeepEqual(tags, []string{"a", "b", "c"}))
		assert.Check(t, is.Equal(f.count("GET /api/v1/registries/"+fRegID+"/repositories/team/app/tags"), 1))
	})
	t.Run("a repository the registry does not have", func(t *testing.T) {
		f := newFakeSelectel(t)
		f.noRepo = true
		c, _ := f.client(t, goodCreds())
		_, err := c.Tags(ctx)
		assert.Check(t, errors.Is(err, registryapi.ErrNotFound))
		assert.ErrorContains(t, err, `registry "myreg" has no repository "team/app"`)
	})
	t.Run("a server error", func(t *testing.T) {
		f := newFakeSelectel(t)
		for range 6 {
			f.addFault("GET /api/v1/registries/"+fRegID+"/repositories/", http.StatusBadGateway, nil, `<html>bad gateway</html>`)
		}
		c, sl := f.client(t, goodCreds())
		_, err := c.Tags(ctx)
		assert.ErrorContains(t, err, "listing tags of cr.selcloud.ru/myreg/team/app on Selectel: GET /api/v1/registries/"+fRegID+"/repositories/team/app/tags: HTTP 502")
		assert.Check(t, is.Len(sl.list(), retry.DefaultMaxAttempts-1))
	})
}

func TestRateLimit(t *testing.T) {
	f := newFakeSelectel(t)
	d := f.addImage("one", time.Now(), "a")
	c, sl := f.client(t, goodCreds())
	f.addFault("DELETE", http.StatusTooManyRequests, map[string]string{"Retry-After": "7"}, `{"error":"rate limit"}`)
	assert.NilError(t, c.DeleteManifest(context.Background(), d))
	assert.Check(t, is.DeepEqual(sl.list(), []time.Duration{7 * time.Second}))
	assert.Check(t, is.DeepEqual(f.tagList(), []string{}))
}

func TestDelete(t *testing.T) {
	ctx := context.Background()
	t.Run("the image and all its tags", func(t *testing.T) {
		f := newFakeSelectel(t)
		one := f.addImage("one", time.Now(), "a", "b")
		f.addImage("two", time.Now(), "c")
		c, _ := f.client(t, goodCreds())
		assert.NilError(t, c.DeleteManifest(ctx, one))
		assert.Check(t, is.DeepEqual(f.tagList(), []string{"c"}))
		assert.Check(t, is.DeepEqual(f.writeList(),
			[]string{"DELETE /api/v1/registries/" + fRegID + "/repositories/team/app/" + one}))
	})
	t.Run("gone already", func(t *testing.T) {
		f := newFakeSelectel(t)
		c, _ := f.client(t, goodCreds())
		err := c.DeleteManifest(ctx, sum([]byte("x")))
		assert.Check(t, errors.Is(err, registryapi.ErrNotFound), "%v", err)
	})
	t.Run("forbidden", func(t *testing.T) {
		f := newFakeSelectel(t)
		d := f.addImage("one", time.Now(), "a")
		f.addFault("DELETE", http.StatusForbidden, nil, `{"error":"forbidden"}`)
		c, _ := f.client(t, goodCreds())
		err := c.DeleteManifest(ctx, d)
		assert.Check(t, errors.Is(err, registryapi.ErrUnauthorized))
		assert.ErrorContains(t, err, "may not delete images from the Container Registry in this project")
	})
	t.Run("untag is refused without a request", func(t *testing.T) {
		f := newFakeSelectel(t)
		d := f.addImage("one", time.Now(), "a", "b")
		c, _ := f.client(t, goodCreds())
		err := c.Untag(ctx, "a", d)
		assert.Check(t, errors.Is(err, ErrCannotUntag))
		assert.Check(t, is.Len(f.writeList(), 0))
		assert.ErrorContains(t, c.DeleteManifest(ctx, "latest"), "invalid digest")
	})
	t.Run("resolve and inspect use the registry API", func(t *testing.T) {
		f := newFakeSelectel(t)
		created := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
		d := f.addImage("one", created, "a")
		c, _ := f.client(t, goodCreds())
		desc, err := c.Resolve(ctx, "a")
		assert.NilError(t, err)
		assert.Check(t, is.Equal(desc.Digest, d))
		img, err := c.Inspect(ctx, desc)
		assert.NilError(t, err)
		assert.Check(t, img.Created.Equal(created))
		assert.Check(t, is.Equal(img.Revision, "rev-one"))
		_, err = c.Resolve(ctx, "missing")
		assert.Check(t, errors.Is(err, registryapi.ErrNotFound))
	})
}

func TestSecretsNeverInErrors(t *testing.T) {
	ctx := context.Background()
	f := newFakeSelectel(t)
	f.addImage("one", time.Now(), "a")
	// A refused login never shows the password.
	f.mu.Lock()
	f.pass = "other"
	f.mu.Unlock()
	c, _ := f.client(t, goodCreds())
	_, err := c.Tags(ctx)
	assert.Assert(t, err != nil)
	assert.Check(t, !strings.Contains(err.Error(), fPass), err.Error())

	f2 := newFakeSelectel(t)
	c2, _ := f2.client(t, goodCreds())
	_, err = c2.Tags(ctx)
	assert.NilError(t, err)
	tok := c2.currentToken()
	f2.addFault("DELETE", http.StatusBadRequest, nil, `{"error":"bad request with token `+tok+` and password `+fPass+`"}`)
	err = c2.DeleteManifest(ctx, sum([]byte("x")))
	assert.Assert(t, err != nil)
	assert.Check(t, !strings.Contains(err.Error(), tok), err.Error())
	assert.Check(t, !strings.Contains(err.Error(), fPass), err.Error())
	assert.ErrorContains(t, err, "[redacted]")
}
