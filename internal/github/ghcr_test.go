package github

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"

	"github.com/docker-werf/docker-werf/internal/cleanup"
	"github.com/docker-werf/docker-werf/internal/policy"
	"github.com/docker-werf/docker-werf/internal/registry"
	"github.com/docker-werf/docker-werf/internal/registrytypes"
	"github.com/docker-werf/docker-werf/internal/retry"
)

var ctx = context.Background()

func TestNewErrors(t *testing.T) {
	repo := registry.Repository{Host: "ghcr.io", Path: "acme/app", Kind: registry.GitHub}
	for _, tc := range []struct {
		name  string
		repo  registry.Repository
		creds Credentials
		opts  []Option
		want  string
	}{
		{"no token", repo, Credentials{}, nil,
			"--repo-github-token (WERF_REPO_GITHUB_TOKEN) is not set"},
		{"blank token", repo, Credentials{Token: "  "}, nil, "read:packages and delete:packages"},
		{"no package", registry.Repository{Host: "ghcr.io", Path: "acme"}, Credentials{Token: "x"}, nil,
			"want <host>/<owner>/<package>"},
		{"unknown host", registry.Repository{Host: "registry.example.com", Path: "acme/app"}, Credentials{Token: "x"}, nil,
			"WithBaseURL"},
		{"page size", repo, Credentials{Token: "x"}, []Option{WithPageSize(101)}, "out of range 1..100"},
		{"bad base URL", repo, Credentials{Token: "x"}, []Option{WithBaseURL("ftp://x")}, "invalid GitHub API URL"},
		{"owner type", repo, Credentials{Token: "x"}, []Option{WithOwnerType("team")}, "unknown owner type"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := New(tc.repo, tc.creds, tc.opts...)
			assert.ErrorContains(t, err, tc.want)
		})
	}
}

func TestDefaultBaseURL(t *testing.T) {
	for host, want := range map[string]string{
		"ghcr.io":                    "https://api.github.com",
		"GHCR.io:443":                "https://api.github.com",
		"containers.ghe.example.com": "https://ghe.example.com/api/v3",
	} {
		u, err := defaultBaseURL(host)
		assert.NilError(t, err, host)
		assert.Check(t, is.Equal(u.String(), want), host)
	}
	_, err := defaultBaseURL("docker.pkg.github.com")
	assert.ErrorContains(t, err, "old GitHub Packages Docker registry")
}

// TestOwnerPaths checks which API paths each kind of owner gets, and that
// the package name's "/" is sent encoded.
func TestOwnerPaths(t *testing.T) {
	for _, tc := range []struct {
		name       string
		isOrg      bool
		tokenLogin string
		opts       []Option
		want       string // prefix of the listing request
		lookups    []string
	}{
		{"organisation", true, "someone", nil, "GET /orgs/acme/packages/container/tools%2Fapp/versions?per_page=100",
			[]string{"GET /users/acme"}},
		{"token's user", false, "acme", nil, "GET /user/packages/container/tools%2Fapp/versions?per_page=100",
			[]string{"GET /users/acme", "GET /user"}},
		{"another user", false, "someone-else", nil, "GET /users/acme/packages/container/tools%2Fapp/versions?per_page=100",
			[]string{"GET /users/acme", "GET /user"}},
		{"integration token", false, "", nil, "GET /users/acme/packages/container/tools%2Fapp/versions?per_page=100",
			[]string{"GET /users/acme", "GET /user"}},
		{"given owner type", true, "someone", []Option{WithOwnerType(OwnerOrganization)},
			"GET /orgs/acme/packages/container/tools%2Fapp/versions?per_page=100", []string{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFakeGitHub(t, "acme", tc.isOrg, "tools/app")
			f.tokenLogin = tc.tokenLogin
			f.add("one", time.Now(), "v1")
			tags, err := f.client(f.token, tc.opts...).Tags(ctx)
			assert.NilError(t, err)
			assert.Check(t, is.DeepEqual(tags, []string{"v1"}))
			reqs := f.requestLog()
			assert.Check(t, is.DeepEqual(reqs[:len(reqs)-1], tc.lookups))
			assert.Check(t, is.Equal(reqs[len(reqs)-1], tc.want))
		})
	}
}

func TestUnknownOwnerAndPackage(t *testing.T) {
	f := newFakeGitHub(t, "acme", true, "app")
	f.add("one", time.Now(), "v1")
	repo := f.repo()
	repo.Path = "nobody/app"
	c, err := New(repo, Credentials{Token: f.token}, WithBaseURL(f.srv.URL), WithTransport(f.clk.Transport()))
	assert.NilError(t, err)
	_, err = c.Tags(ctx)
	assert.Check(t, errors.Is(err, registrytypes.ErrNotFound))
	assert.Check(t, is.ErrorContains(err, `GitHub has no user or organisation named "nobody"`))

	repo.Path = "acme/other"
	c, err = New(repo, Credentials{Token: f.token}, WithBaseURL(f.srv.URL), WithTransport(f.clk.Transport()))
	assert.NilError(t, err)
	// The fake does not know that package path: it flags the request, so
	// look at the error only through a lenient fake.
	f.pkg = "other"
	f.versions = nil
	_, err = c.Tags(ctx)
	assert.Check(t, errors.Is(err, registrytypes.ErrNotFound))
	assert.Check(t, is.ErrorContains(err, "does not exist, or the token cannot see it"))
}

func TestPagination(t *testing.T) {
	for _, n := range []int{0, 1, 2, 3, 5, 6, 7} {
		for _, isOrg := range []bool{true, false} {
			for _, noLink := range []bool{false, true} {
				t.Run(fmt.Sprintf("%d versions org=%v no Link=%v", n, isOrg, noLink), func(t *testing.T) {
					f := newFakeGitHub(t, "acme", isOrg, "app")
					f.tokenLogin = "other" // /users/acme: links to /user/{id}/...
					f.noLink = noLink
					var want []string
					for i := range n {
						tag := fmt.Sprintf("t%02d", i)
						f.add(fmt.Sprintf("img%d", i), time.Now(), tag, tag+"-alias")
						want = append(want, tag, tag+"-alias")
					}
					f.add("untagged-child", time.Now())
					slices.Sort(want)
					got, err := f.client(f.token, WithPageSize(3)).Tags(ctx)
					assert.NilError(t, err)
					if want == nil {
						want = []string{}
					}
					assert.Check(t, is.DeepEqual(got, want))
					pages := 0
					for _, r := range f.requestLog() {
						if strings.Contains(r, "/versions") {
							pages++
						}
					}
					wantPages := max(1, (n+1+2)/3)
					if (n+1)%3 == 0 && (noLink || n+1 == 3) {
						// A full last page without a Link header (GitHub
						// sends none when there is one page): only the
						// empty page after it says it was the last.
						wantPages++
					}
					assert.Check(t, is.Equal(pages, wantPages))
				})
			}
		}
	}
}

// linkServer answers the listing with a fixed Link header.
func linkServer(t *testing.T, link func(self string) string) *Client {
	var srv *httptest.Server
	srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Link", link(srv.URL))
		fmt.Fprint(w, `[{"id":1,"name":"sha256:`+strings.Repeat("a", 64)+`","metadata":{"container":{"tags":["x"]}}}]`)
	}))
	t.Cleanup(srv.Close)
	c, err := New(registry.Repository{Host: "ghcr.io", Path: "acme/app"}, Credentials{Token: "tok"},
		WithBaseURL(srv.URL), WithOwnerType(OwnerOrganization), WithTransport(http.DefaultTransport))
	assert.NilError(t, err)
	return c
}

func TestPaginationEdgeCases(t *testing.T) {
	t.Run("link to another host", func(t *testing.T) {
		c := linkServer(t, func(string) string { return `<https://evil.example.com/x?page=2>; rel="next"` })
		_, err := c.Tags(ctx)
		assert.ErrorContains(t, err, "refusing Link to another host")
	})
	t.Run("link that never ends", func(t *testing.T) {
		c := linkServer(t, func(self string) string {
			return `<` + self + `/orgs/acme/packages/container/app/versions?page=2>; rel="next"`
		})
		_, err := c.Tags(ctx)
		assert.ErrorContains(t, err, "pagination does not end")
	})
	t.Run("rel next among others, comma in URL", func(t *testing.T) {
		calls := 0
		var srv *httptest.Server
		srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			calls++
			if r.URL.Query().Get("page") == "" {
				w.Header().Set("Link", `<`+srv.URL+`/a?x=1,2&page=1>; rel="first", <`+srv.URL+`/organizations/9/packages/container/app/versions?page=2&per_page=100>; rel="next last"`)
				fmt.Fprint(w, `[{"id":1,"name":"sha256:`+strings.Repeat("a", 64)+`","metadata":{"container":{"tags":["x"]}}}]`)
				return
			}
			assert.Check(t, is.Equal(r.URL.Path, "/organizations/9/packages/container/app/versions"))
			fmt.Fprint(w, `[{"id":2,"name":"sha256:`+strings.Repeat("b", 64)+`","metadata":{"container":{"tags":["y"]}}}]`)
		}))
		defer srv.Close()
		c, err := New(registry.Repository{Host: "ghcr.io", Path: "acme/app"}, Credentials{Token: "tok"},
			WithBaseURL(srv.URL), WithOwnerType(OwnerOrganization), WithTransport(http.DefaultTransport))
		assert.NilError(t, err)
		tags, err := c.Tags(ctx)
		assert.NilError(t, err)
		assert.Check(t, is.DeepEqual(tags, []string{"x", "y"}))
		assert.Check(t, is.Equal(calls, 2))
	})
	t.Run("empty page ends the listing without a link", func(t *testing.T) {
		c := linkServer(t, func(string) string { return "" })
		tags, err := c.Tags(ctx)
		assert.NilError(t, err)
		assert.Check(t, is.DeepEqual(tags, []string{"x"}))
	})
}

func TestResolveAndInspect(t *testing.T) {
	f := newFakeGitHub(t, "acme", true, "app")
	created := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	d := f.add("one", created, "a", "b")
	c := f.client(f.token)

	got, err := c.Resolve(ctx, "b")
	assert.NilError(t, err)
	assert.Check(t, is.Equal(got.Digest, d))
	_, err = c.Resolve(ctx, "missing")
	assert.Check(t, errors.Is(err, registrytypes.ErrNotFound))

	img, err := c.Inspect(ctx, got)
	assert.NilError(t, err)
	assert.Check(t, img.Created.Equal(created))

	// With the registry API: its answer, with the API's created time.
	child := registrytypes.Descriptor{Digest: digestOf("child")}
	fake := fakeRegistryAPI{d: {IsIndex: true, Children: []registrytypes.Descriptor{child}, Revision: "abc",
		Created: created.Add(-time.Hour)}}
	c = f.client(f.token, WithRegistryAPI(fake))
	img, err = c.Inspect(ctx, got)
	assert.NilError(t, err)
	assert.Check(t, img.IsIndex)
	assert.Check(t, is.Equal(img.Revision, "abc"))
	assert.Check(t, img.Created.Equal(created))

	_, err = c.Inspect(ctx, registrytypes.Descriptor{Digest: digestOf("gone")})
	assert.Check(t, errors.Is(err, registrytypes.ErrNotFound))
}

// fakeRegistryAPI answers Inspect from a map.
type fakeRegistryAPI map[string]registrytypes.Image

func (f fakeRegistryAPI) Inspect(_ context.Context, d registrytypes.Descriptor) (registrytypes.Image, error) {
	img, ok := f[d.Digest]
	if !ok {
		return registrytypes.Image{}, registrytypes.ErrNotFound
	}
	img.Descriptor = d
	return img, nil
}

func TestUntagIsRefused(t *testing.T) {
	f := newFakeGitHub(t, "acme", true, "app")
	d := f.add("one", time.Now(), "a", "b")
	err := f.client(f.token).Untag(ctx, "a", d)
	assert.Check(t, errors.Is(err, ErrCannotUntag))
	assert.Check(t, is.Len(f.requestLog(), 0))
	assert.Check(t, !registry.SpecFor(registry.GitHub).Deletion.UntagSafe)
}

func TestDeleteManifest(t *testing.T) {
	t.Run("deletes the version named by the digest", func(t *testing.T) {
		f := newFakeGitHub(t, "acme", true, "tools/app")
		f.add("keep", time.Now(), "keep")
		d := f.add("one", time.Now(), "a", "b")
		c := f.client(f.token)
		assert.NilError(t, c.DeleteManifest(ctx, d))
		assert.Check(t, is.DeepEqual(f.tagList(), []string{"keep"}))
		assert.Check(t, is.DeepEqual(f.writeLog(), []string{"DELETE /orgs/acme/packages/container/tools%2Fapp/versions/1002"}))
		_, err := c.Resolve(ctx, "a")
		assert.Check(t, errors.Is(err, registrytypes.ErrNotFound), "the client forgets a deleted version")
		err = c.DeleteManifest(ctx, d)
		assert.Check(t, errors.Is(err, registrytypes.ErrNotFound))
	})
	t.Run("a tag added after the listing keeps the version", func(t *testing.T) {
		f := newFakeGitHub(t, "acme", true, "app")
		f.add("keep", time.Now(), "keep")
		d := f.add("one", time.Now(), "old")
		c := f.client(f.token)
		_, err := c.Tags(ctx)
		assert.NilError(t, err)
		f.retag("new", "one")
		_, err = c.Tags(ctx) // a second listing sees it: still not in the baseline
		assert.NilError(t, err)
		err = c.DeleteManifest(ctx, d)
		assert.Check(t, errors.Is(err, registrytypes.ErrTagMoved))
		assert.Check(t, is.ErrorContains(err, "new"))
		assert.Check(t, is.Len(f.writeLog(), 0))
	})
	t.Run("a tag that moved away does not stop the delete", func(t *testing.T) {
		f := newFakeGitHub(t, "acme", true, "app")
		f.add("keep", time.Now(), "keep")
		d := f.add("one", time.Now(), "old", "moving")
		c := f.client(f.token)
		_, err := c.Tags(ctx)
		assert.NilError(t, err)
		f.retag("moving", "two")
		assert.NilError(t, c.DeleteManifest(ctx, d))
		assert.Check(t, is.DeepEqual(f.tagList(), []string{"keep", "moving"}))
	})
	t.Run("the version vanished", func(t *testing.T) {
		f := newFakeGitHub(t, "acme", true, "app")
		f.add("keep", time.Now(), "keep")
		d := f.add("one", time.Now(), "old")
		c := f.client(f.token)
		_, err := c.Tags(ctx)
		assert.NilError(t, err)
		f.versions = f.versions[:1]
		err = c.DeleteManifest(ctx, d)
		assert.Check(t, errors.Is(err, registrytypes.ErrNotFound))
		assert.Check(t, is.Len(f.writeLog(), 0))
	})
	t.Run("the last tagged version", func(t *testing.T) {
		f := newFakeGitHub(t, "acme", true, "app")
		d := f.add("one", time.Now(), "only")
		err := f.client(f.token).DeleteManifest(ctx, d)
		assert.Check(t, is.ErrorContains(err, "last tagged version"))
		assert.Check(t, is.ErrorContains(err, "only deleting the whole package removes it"))
	})
	t.Run("invalid digest", func(t *testing.T) {
		f := newFakeGitHub(t, "acme", true, "app")
		err := f.client(f.token).DeleteManifest(ctx, "latest")
		assert.Check(t, is.ErrorContains(err, "invalid digest"))
		assert.Check(t, is.Len(f.requestLog(), 0))
	})
}

func TestPermissionErrors(t *testing.T) {
	scopes := "read:packages, repo"
	for _, tc := range []struct {
		name   string
		scopes *string
		want   []string
	}{
		{"classic PAT without delete:packages", &scopes,
			[]string{"read:packages and delete:packages", "GITHUB_TOKEN", "Admin role", "--repo-github-token (WERF_REPO_GITHUB_TOKEN)",
				"the token's scopes are: read:packages, repo", "HTTP 403"}},
		{"GITHUB_TOKEN", nil, []string{"delete:packages", "GITHUB_TOKEN of GitHub Actions cannot delete"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFakeGitHub(t, "acme", true, "app")
			f.add("keep", time.Now(), "keep")
			d := f.add("one", time.Now(), "old")
			f.canDelete, f.scopes = false, tc.scopes
			err := f.client(f.token).DeleteManifest(ctx, d)
			assert.Check(t, errors.Is(err, registrytypes.ErrUnauthorized))
			for _, w := range tc.want {
				assert.Check(t, is.ErrorContains(err, w))
			}
			assert.Check(t, !strings.Contains(err.Error(), f.token))
		})
	}
}

func TestReadPermission(t *testing.T) {
	f := newFakeGitHub(t, "acme", true, "app")
	f.add("one", time.Now(), "a")
	f.cannotRead = true
	scopes := ""
	f.scopes = &scopes
	_, err := f.client(f.token).Tags(ctx)
	assert.Check(t, errors.Is(err, registrytypes.ErrUnauthorized))
	for _, w := range []string{"You need at least read:packages scope", "listing package versions needs the read:packages scope",
		"--repo-github-token (WERF_REPO_GITHUB_TOKEN)", "the token's scopes are: none"} {
		assert.Check(t, is.ErrorContains(err, w))
	}
}

func TestDeleteConcurrency(t *testing.T) {
	f := newFakeGitHub(t, "acme", true, "app")
	f.add("keep", time.Now(), "keep")
	var digests []string
	for i := range 6 {
		digests = append(digests, f.add(fmt.Sprint("img", i), time.Now(), fmt.Sprint("t", i)))
	}
	c := f.client(f.token)
	_, err := c.Tags(ctx)
	assert.NilError(t, err)
	errs := make(chan error, len(digests))
	for _, d := range digests {
		go func() { errs <- c.DeleteManifest(ctx, d) }()
	}
	for range digests {
		assert.Check(t, <-errs)
	}
	assert.Check(t, is.DeepEqual(f.tagList(), []string{"keep"}))
	// Serial: every DELETE comes right after the GET of its own version.
	reqs := f.requestLog()
	for i, r := range reqs {
		if strings.HasPrefix(r, "DELETE ") {
			assert.Check(t, is.Equal(reqs[i-1], "GET "+strings.TrimPrefix(r, "DELETE ")))
		}
	}
	_, err = New(f.repo(), Credentials{Token: "x"}, WithDeleteConcurrency(0))
	assert.Check(t, is.ErrorContains(err, "delete concurrency"))
}

func TestRateLimits(t *testing.T) {
	for _, kind := range []string{"primary", "secondary", "429"} {
		t.Run(kind, func(t *testing.T) {
			f := newFakeGitHub(t, "acme", true, "app")
			f.add("one", time.Now(), "a")
			f.limitNext = kind
			tags, err := f.client(f.token).Tags(ctx)
			assert.NilError(t, err)
			assert.Check(t, is.DeepEqual(tags, []string{"a"}))
			var total time.Duration
			for _, w := range f.clk.Waited() {
				total += w
			}
			// The server asked for 2 s (Retry-After) or 3 s (the reset).
			assert.Check(t, total >= 2*time.Second-time.Second/10 && total < 5*time.Second, "waited %v", total)
		})
	}
	t.Run("secondary limit without headers", func(t *testing.T) {
		f := newFakeGitHub(t, "acme", true, "app")
		f.add("one", time.Now(), "a")
		f.limitNext = "secondary-bare"
		_, err := f.client(f.token).Tags(ctx)
		assert.Check(t, errors.Is(err, ErrRateLimited))
		assert.Check(t, !errors.Is(err, registrytypes.ErrUnauthorized))
		assert.Check(t, is.ErrorContains(err, "wait at least a minute"))
	})
	t.Run("retries run out", func(t *testing.T) {
		f := newFakeGitHub(t, "acme", true, "app")
		f.add("one", time.Now(), "a")
		f.limitAll = "primary"
		c := f.client(f.token, WithTransport(f.clk.Transport(retry.WithMaxAttempts(2))))
		_, err := c.Tags(ctx)
		assert.Check(t, errors.Is(err, ErrRateLimited))
		assert.Check(t, is.ErrorContains(err, "the quota resets at"))
		assert.Check(t, !errors.Is(err, registrytypes.ErrUnauthorized), "a rate limit is no permission problem")
	})
}

// TestSecretsNeverInErrors provokes every error class and looks for the
// token in the messages.
func TestSecretsNeverInErrors(t *testing.T) {
	f := newFakeGitHub(t, "acme", true, "app")
	f.add("keep", time.Now(), "keep")
	d := f.add("one", time.Now(), "old")
	f.echoToken = true
	var errs []error

	wrong := "ghp_" + strings.Repeat("Z9y8", 9)
	_, err := f.client(wrong).Tags(ctx)
	errs = append(errs, err)
	assert.Check(t, is.ErrorContains(err, "GitHub refused the token in --repo-github-token (WERF_REPO_GITHUB_TOKEN)"))

	c := f.client(f.token)
	f.canDelete = false
	errs = append(errs, c.DeleteManifest(ctx, d))
	f.limitAll = "secondary"
	_, err = f.client(f.token, WithTransport(f.clk.Transport(retry.WithMaxAttempts(1)))).Tags(ctx)
	errs = append(errs, err)
	f.limitAll = ""

	dead := httptest.NewServer(http.NotFoundHandler())
	dead.Close()
	c, err = New(f.repo(), Credentials{Token: f.token}, WithBaseURL(dead.URL), WithTransport(http.DefaultTransport))
	assert.NilError(t, err)
	_, err = c.Tags(ctx)
	errs = append(errs, err)

	for _, err := range errs {
		assert.Assert(t, err != nil)
		for _, secret := range []string{f.token, wrong} {
			assert.Check(t, !strings.Contains(err.Error(), secret), "%v", err)
		}
	}
}

// TestCleanupFixtures runs a whole cleanup over a package with a multi-arch
// index and its untagged children, a cosign signature tag, and two tags on
// one digest: only whole versions whose every tag goes are deleted, and
// untagged versions are never touched.
func TestCleanupFixtures(t *testing.T) {
	f := newFakeGitHub(t, "acme", true, "app")
	old := time.Now().Add(-30 * 24 * time.Hour)
	child1 := f.add("amd64", old)
	child2 := f.add("arm64", old)
	index := f.add("index", old, "v1", "latest")
	sig := f.add("sig", old, "sha256-"+strings.TrimPrefix(index, "sha256:")+".sig")
	stale := f.add("stale", old, "stale-1", "stale-2")
	shared := f.add("shared", old, "keep-me", "drop-me")
	reg := fakeRegistryAPI{
		index:  {IsIndex: true, Children: []registrytypes.Descriptor{{Digest: child1}, {Digest: child2}}},
		sig:    {Subject: &registrytypes.Descriptor{Digest: index}},
		stale:  {},
		shared: {},
	}
	c := f.client(f.token, WithRegistryAPI(reg), WithPageSize(2))

	items, err := cleanup.Inventory(ctx, c, 2, nil)
	assert.NilError(t, err)
	keep := map[string]bool{"v1": true, "keep-me": true}
	var ds []policy.Decision
	for _, it := range items {
		ds = append(ds, policy.Decision{Tag: it.Tag, Keep: keep[it.Tag], Reason: "test"})
	}
	plan := cleanup.MakePlan(items, ds, cleanup.PlanOptions{CannotUntag: !registry.SpecFor(registry.GitHub).Deletion.UntagSafe})
	res, err := cleanup.Execute(ctx, c, plan, cleanup.Options{Parallel: 2})
	assert.NilError(t, err)
	outcome := map[string]cleanup.Outcome{}
	for _, r := range res {
		outcome[r.Tag] = r.Outcome
	}
	assert.Check(t, is.Equal(outcome["stale-1"], cleanup.Deleted))
	assert.Check(t, is.Equal(outcome["drop-me"], cleanup.Kept), "its version keeps keep-me")
	assert.Check(t, is.Equal(outcome["latest"], cleanup.Kept))
	assert.Check(t, is.DeepEqual(f.tagList(), []string{"drop-me", "keep-me", "latest",
		"sha256-" + strings.TrimPrefix(index, "sha256:") + ".sig", "v1"}))
	assert.Check(t, is.DeepEqual(f.writeLog(), []string{"DELETE /orgs/acme/packages/container/app/versions/1005"}))
	f.mu.Lock()
	defer f.mu.Unlock()
	assert.Check(t, is.Len(f.versions, 5), "untagged children survive")
}

// TestPushDuringRun: a tag pushed onto a version the plan deletes, after the
// inventory, keeps the version.
func TestPushDuringRun(t *testing.T) {
	f := newFakeGitHub(t, "acme", true, "app")
	f.add("keep", time.Now(), "keep")
	f.add("one", time.Now(), "old")
	c := f.client(f.token)
	items, err := cleanup.Inventory(ctx, c, 2, nil)
	assert.NilError(t, err)
	ds := []policy.Decision{{Tag: "keep", Keep: true, Reason: "test"}, {Tag: "old", Reason: "test"}}
	plan := cleanup.MakePlan(items, ds, cleanup.PlanOptions{CannotUntag: true})
	f.retag("fresh", "one")
	res, err := cleanup.Execute(ctx, c, plan, cleanup.Options{Parallel: 2})
	assert.NilError(t, err)
	assert.Check(t, is.Len(f.writeLog(), 0))
	assert.Check(t, is.DeepEqual(f.tagList(), []string{"fresh", "keep", "old"}))
	for _, r := range res {
		assert.Check(t, r.Outcome != cleanup.Deleted, "%+v", r)
	}
}
