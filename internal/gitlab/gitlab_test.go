package gitlab

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

func envOf(m map[string]string) registry.Env { return func(k string) string { return m[k] } }

func TestNewErrors(t *testing.T) {
	for _, tc := range []struct {
		name  string
		repo  registry.Repository
		creds Credentials
		opts  []Option
		want  []string
	}{
		{"no token", repoOf("g/p"), Credentials{}, nil,
			[]string{"--repo-gitlab-token (WERF_REPO_GITLAB_TOKEN) is not set", "api scope", "CI_JOB_TOKEN"}},
		{"job token of another instance", repoOf("g/p"), Credentials{},
			[]Option{WithCIEnv(envOf(map[string]string{"CI_REGISTRY": "registry.example.com", "CI_JOB_TOKEN": "x"}))},
			[]string{"is not set"}},
		{"no project", repoOf("app"), Credentials{Token: "x"}, nil, []string{"belongs to a project"}},
		{"page size", repoOf("g/p"), Credentials{Token: "x"}, []Option{WithPageSize(0)}, []string{"out of range 1..100"}},
		{"base URL", repoOf("g/p"), Credentials{Token: "x"}, []Option{WithBaseURL("gitlab.com")}, []string{"invalid GitLab API URL"}},
		{"bad CI_API_V4_URL", repoOf("g/p"), Credentials{Token: "x"},
			[]Option{WithCIEnv(envOf(map[string]string{"CI_REGISTRY": "registry.gitlab.com", "CI_API_V4_URL": "nonsense"}))},
			[]string{"CI_API_V4_URL"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := New(tc.repo, tc.creds, tc.opts...)
			for _, w := range tc.want {
				assert.Check(t, is.ErrorContains(err, w))
			}
		})
	}
}

func TestAPIURL(t *testing.T) {
	for _, tc := range []struct {
		host string
		env  map[string]string
		opts []Option
		want string
	}{
		{host: "registry.gitlab.com", want: "https://gitlab.com/api/v4"},
		{host: "gitlab.com", want: "https://gitlab.com/api/v4"},
		{host: "registry.example.com", want: "https://example.com/api/v4"},
		{host: "registry.example.com:5050", want: "https://example.com/api/v4"},
		{host: "gitlab.example.com:5050", want: "https://gitlab.example.com/api/v4"},
		{host: "registry.local", want: "https://registry.local/api/v4"},
		{host: "gitlab.example.com:5050",
			env:  map[string]string{"CI_REGISTRY": "gitlab.example.com:5050", "CI_API_V4_URL": "https://gitlab.example.com/gl/api/v4"},
			want: "https://gitlab.example.com/gl/api/v4"},
		{host: "registry.example.com",
			env:  map[string]string{"CI_REGISTRY": "registry.example.com:443", "CI_SERVER_URL": "https://code.example.com/"},
			want: "https://code.example.com/api/v4"},
		{host: "registry.example.com",
			env:  map[string]string{"CI_REGISTRY": "registry.other.com", "CI_API_V4_URL": "https://other.com/api/v4"},
			want: "https://example.com/api/v4"},
		{host: "registry.example.com",
			env:  map[string]string{"CI_REGISTRY": "registry.example.com", "CI_API_V4_URL": "https://ci.example.com/api/v4"},
			opts: []Option{WithBaseURL("https://given.example.com/api/v4/")},
			want: "https://given.example.com/api/v4"},
	} {
		t.Run(tc.host+fmt.Sprint(tc.env), func(t *testing.T) {
			opts := tc.opts
			if tc.env != nil {
				opts = append(opts, WithCIEnv(envOf(tc.env)))
			}
			repo := registry.Repository{Host: tc.host, Path: "g/p", Kind: registry.GitLab}
			c, err := New(repo, Credentials{Token: "x"}, opts...)
			assert.NilError(t, err)
			assert.Check(t, is.Equal(c.Base.String(), tc.want))
		})
	}
}

func TestJobTokenFromCIEnv(t *testing.T) {
	f := newFakeGitLab(t)
	f.addProject(7, "group/project", "")
	f.jobProject = 7
	f.tag("group/project", "a", "one", time.Now())
	u := f.srv.URL
	env := envOf(map[string]string{"CI_REGISTRY": "registry.gitlab.com", "CI_JOB_TOKEN": f.jobToken,
		"CI_API_V4_URL": u + "/api/v4", "CI_PROJECT_PATH": "group/project", "CI_PROJECT_ID": "7"})
	c, err := New(repoOf("group/project"), Credentials{}, WithCIEnv(env), WithTransport(f.clk.Transport()))
	assert.NilError(t, err)
	assert.Check(t, c.UsesJobToken())
	tags, err := c.Tags(ctx)
	assert.NilError(t, err)
	assert.Check(t, is.DeepEqual(tags, []string{"a"}))
	// CI_PROJECT_ID is asked first.
	assert.Check(t, is.Equal(f.requestLog()[0], "GET /api/v4/projects/7/registry/repositories?per_page=100&tags=false"))

	// A token wins over the job token.
	c, err = New(repoOf("group/project"), Credentials{Token: f.token}, WithCIEnv(env))
	assert.NilError(t, err)
	assert.Check(t, !c.UsesJobToken())
}

func TestLocate(t *testing.T) {
	t.Run("longest project path first, encoded", func(t *testing.T) {
		f := newFakeGitLab(t)
		f.addProject(3, "other/project", "")
		f.addProject(7, "group/sub/project", "", "app", "tools/cli")
		f.tag("group/sub/project/tools/cli", "v1", "one", time.Now())
		tags, err := f.client("group/sub/project/tools/cli", Credentials{Token: f.token}).Tags(ctx)
		assert.NilError(t, err)
		assert.Check(t, is.DeepEqual(tags, []string{"v1"}))
		assert.Check(t, is.DeepEqual(f.requestLog(), []string{
			"GET /api/v4/projects/group%2Fsub%2Fproject%2Ftools%2Fcli/registry/repositories?per_page=100&tags=false",
			"GET /api/v4/projects/group%2Fsub%2Fproject%2Ftools/registry/repositories?per_page=100&tags=false",
			"GET /api/v4/projects/group%2Fsub%2Fproject/registry/repositories?per_page=100&tags=false",
			"GET /api/v4/projects/7/registry/repositories/14/tags?per_page=100",
		}))
	})
	t.Run("root repository, case-insensitive", func(t *testing.T) {
		f := newFakeGitLab(t)
		f.addProject(7, "group/project", "a", "b", "")
		f.tag("group/project", "v1", "one", time.Now())
		tags, err := f.client("Group/Project", Credentials{Token: f.token}).Tags(ctx)
		assert.NilError(t, err)
		assert.Check(t, is.DeepEqual(tags, []string{"v1"}))
	})
	t.Run("repositories listed over several pages", func(t *testing.T) {
		f := newFakeGitLab(t)
		f.addProject(7, "group/project", "a", "b", "c", "d", "e")
		f.tag("group/project/e", "v1", "one", time.Now())
		tags, err := f.client("group/project/e", Credentials{Token: f.token}, WithPageSize(2)).Tags(ctx)
		assert.NilError(t, err)
		assert.Check(t, is.DeepEqual(tags, []string{"v1"}))
	})
	t.Run("given project", func(t *testing.T) {
		f := newFakeGitLab(t)
		f.addProject(7, "group/project", "app")
		f.tag("group/project/app", "v1", "one", time.Now())
		_, err := f.client("group/project/app", Credentials{Token: f.token}, WithProject("7")).Tags(ctx)
		assert.NilError(t, err)
		assert.Check(t, is.Equal(f.requestLog()[0], "GET /api/v4/projects/7/registry/repositories?per_page=100&tags=false"))
	})
	t.Run("no such repository", func(t *testing.T) {
		f := newFakeGitLab(t)
		f.addProject(7, "group/project", "")
		_, err := f.client("group/project/app", Credentials{Token: f.token}).Tags(ctx)
		assert.Check(t, errors.Is(err, registrytypes.ErrNotFound))
		assert.Check(t, is.ErrorContains(err, "project group/project has no container repository group/project/app"))
	})
	t.Run("no such project", func(t *testing.T) {
		f := newFakeGitLab(t)
		f.addProject(7, "group/project", "")
		f.jobProject = 7
		_, err := f.client("nobody/app", Credentials{JobToken: f.jobToken}).Tags(ctx)
		assert.Check(t, errors.Is(err, registrytypes.ErrNotFound))
		assert.Check(t, is.ErrorContains(err, "tried nobody/app"))
		assert.Check(t, is.ErrorContains(err, "CI_JOB_TOKEN reaches only the registry of the project"))
	})
	t.Run("repository being deleted", func(t *testing.T) {
		f := newFakeGitLab(t)
		p := f.addProject(7, "group/project", "")
		status := "delete_ongoing"
		p.repos[0].status = &status
		_, err := f.client("group/project", Credentials{Token: f.token}).Tags(ctx)
		assert.Check(t, is.ErrorContains(err, "GitLab is deleting this container repository (status delete_ongoing)"))
	})
}

func TestPagination(t *testing.T) {
	for _, tc := range []struct {
		name                     string
		noLink, noNext, noTotals bool
	}{
		{name: "all headers"},
		{name: "X-Next-Page only", noLink: true, noTotals: true},
		{name: "Link only", noNext: true, noTotals: true},
		{name: "X-Page and X-Total-Pages only", noLink: true, noNext: true},
		{name: "Link and X-Next-Page without totals (over 10,000)", noTotals: true},
	} {
		for _, n := range []int{0, 1, 2, 3, 7} {
			t.Run(fmt.Sprintf("%s/%d tags", tc.name, n), func(t *testing.T) {
				f := newFakeGitLab(t)
				f.addProject(7, "group/project", "")
				f.noLink, f.noNextPage, f.noTotals = tc.noLink, tc.noNext, tc.noTotals
				want := []string{}
				for i := range n {
					tag := fmt.Sprintf("t%02d", i)
					f.tag("group/project", tag, tag, time.Now())
					want = append(want, tag)
				}
				got, err := f.client("group/project", Credentials{Token: f.token}, WithPageSize(3)).Tags(ctx)
				assert.NilError(t, err)
				assert.Check(t, is.DeepEqual(got, want))
				pages := 0
				for _, r := range f.requestLog() {
					if strings.Contains(r, "/tags?") {
						pages++
					}
				}
				assert.Check(t, is.Equal(pages, max(1, (n+2)/3)))
			})
		}
	}
	t.Run("Link to another host", func(t *testing.T) {
		f := newFakeGitLab(t)
		f.addProject(7, "group/project", "")
		for i := range 4 {
			f.tag("group/project", fmt.Sprint(i), "x", time.Now())
		}
		f.noNextPage, f.linkHost = true, "https://evil.example.com"
		_, err := f.client("group/project", Credentials{Token: f.token}, WithPageSize(3), WithProject("7")).Tags(ctx)
		assert.Check(t, is.ErrorContains(err, "refusing Link to another host"))
	})
	t.Run("bad X-Next-Page", func(t *testing.T) {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("X-Next-Page", "soon")
			if strings.HasSuffix(r.URL.Path, "/repositories") {
				fmt.Fprint(w, `[{"id":1,"path":"g/p","project_id":2}]`)
				return
			}
			fmt.Fprint(w, `[]`)
		}))
		defer srv.Close()
		c, err := New(repoOf("g/p"), Credentials{Token: "x"}, WithBaseURL(srv.URL), WithTransport(http.DefaultTransport))
		assert.NilError(t, err)
		_, err = c.Tags(ctx)
		assert.Check(t, is.ErrorContains(err, `invalid X-Next-Page "soon"`))
	})
	t.Run("pagination that never ends", func(t *testing.T) {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("X-Next-Page", "2")
			fmt.Fprint(w, `[{"id":1,"path":"g/q","project_id":2}]`)
		}))
		defer srv.Close()
		c, err := New(repoOf("g/p"), Credentials{Token: "x"}, WithBaseURL(srv.URL), WithTransport(http.DefaultTransport))
		assert.NilError(t, err)
		_, err = c.Tags(ctx)
		assert.Check(t, is.ErrorContains(err, "pagination does not end"))
	})
}

func TestResolveAndInspect(t *testing.T) {
	f := newFakeGitLab(t)
	f.addProject(7, "group/project", "")
	created := time.Date(2026, 2, 3, 4, 5, 6, 789_000_000, time.UTC)
	d := f.tag("group/project", "a", "one", created)
	f.tag("group/project", "b", "one", created)
	f.tag("group/project", "broken", "two", created)
	f.setTag("group/project", "broken", func(t *fakeTag) { t.broken = true })
	c := f.client("group/project", Credentials{Token: f.token})

	got, err := c.Resolve(ctx, "a")
	assert.NilError(t, err)
	assert.Check(t, is.Equal(got.Digest, d))
	_, err = c.Resolve(ctx, "missing")
	assert.Check(t, errors.Is(err, registrytypes.ErrNotFound))
	_, err = c.Resolve(ctx, "broken")
	assert.Check(t, errors.Is(err, registrytypes.ErrNotFound))
	assert.Check(t, is.ErrorContains(err, "no manifest"))
	_, err = c.Resolve(ctx, "a/../../x")
	assert.Check(t, is.ErrorContains(err, "invalid tag"))

	img, err := c.Inspect(ctx, got)
	assert.NilError(t, err)
	assert.Check(t, img.Created.Equal(created), "%v", img.Created)

	reg := fakeRegistryAPI{d: {Revision: "abc", Created: created.Add(-time.Hour)}}
	c = f.client("group/project", Credentials{Token: f.token}, WithRegistryAPI(reg))
	_, err = c.Resolve(ctx, "a")
	assert.NilError(t, err)
	img, err = c.Inspect(ctx, got)
	assert.NilError(t, err)
	assert.Check(t, is.Equal(img.Revision, "abc"))
	assert.Check(t, img.Created.Equal(created))
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

func TestUntag(t *testing.T) {
	setup := func(t *testing.T) (*fakeGitLab, string) {
		f := newFakeGitLab(t)
		f.addProject(7, "group/project", "")
		f.jobProject = 7
		d := f.tag("group/project", "a", "one", time.Now())
		f.tag("group/project", "b", "one", time.Now())
		f.tag("group/project", "c", "two", time.Now())
		return f, d
	}
	t.Run("removes exactly that tag", func(t *testing.T) {
		f, d := setup(t)
		assert.NilError(t, f.client("group/project", Credentials{Token: f.token}).Untag(ctx, "a", d))
		assert.Check(t, is.DeepEqual(f.tagList("group/project"), []string{"b", "c"}))
		assert.Check(t, is.DeepEqual(f.writeLog(), []string{"DELETE /api/v4/projects/7/registry/repositories/11/tags/a"}))
	})
	t.Run("moved", func(t *testing.T) {
		f, _ := setup(t)
		err := f.client("group/project", Credentials{Token: f.token}).Untag(ctx, "c", digestOf("one"))
		assert.Check(t, errors.Is(err, registrytypes.ErrTagMoved))
		assert.Check(t, is.Len(f.writeLog(), 0))
	})
	t.Run("gone", func(t *testing.T) {
		f, d := setup(t)
		err := f.client("group/project", Credentials{Token: f.token}).Untag(ctx, "zzz", d)
		assert.Check(t, errors.Is(err, registrytypes.ErrNotFound))
		assert.Check(t, is.Len(f.writeLog(), 0))
	})
	t.Run("protected", func(t *testing.T) {
		// GitLab answers a plain 403 (it authorizes before it looks at
		// protection); the protection rules say the tag is protected.
		f, d := setup(t)
		f.projects[0].rules = []string{"^release-", "^a$"}
		err := f.client("group/project", Credentials{Token: f.token}).Untag(ctx, "a", d)
		assert.Check(t, errors.Is(err, ErrProtectedTag))
		assert.Check(t, errors.Is(err, registrytypes.ErrProtected))
		assert.Check(t, !errors.Is(err, registrytypes.ErrUnauthorized))
		assert.Check(t, is.ErrorContains(err, `matches the protection rule "^a$"`))
		assert.Check(t, is.DeepEqual(f.tagList("group/project"), []string{"a", "b", "c"}))
	})
	t.Run("forbidden, no rule matches", func(t *testing.T) {
		f, d := setup(t)
		f.projects[0].rules = []string{"^release-"}
		f.roleTooLow = true
		err := f.client("group/project", Credentials{Token: f.token}).Untag(ctx, "a", d)
		assert.Check(t, errors.Is(err, registrytypes.ErrUnauthorized))
		assert.Check(t, !errors.Is(err, registrytypes.ErrProtected))
	})
	t.Run("forbidden, rules unreadable", func(t *testing.T) {
		f, d := setup(t)
		f.projects[0].rules = []string{"^a$"}
		err := f.client("group/project", Credentials{JobToken: f.jobToken}).Untag(ctx, "a", d)
		assert.Check(t, errors.Is(err, registrytypes.ErrUnauthorized), "a job token cannot read the rules: %v", err)
	})
	t.Run("read_api token", func(t *testing.T) {
		f, d := setup(t)
		err := f.client("group/project", Credentials{Token: f.readToken}).Untag(ctx, "a", d)
		assert.Check(t, errors.Is(err, registrytypes.ErrUnauthorized))
		assert.Check(t, is.ErrorContains(err, "--repo-gitlab-token (WERF_REPO_GITLAB_TOKEN) lacks the api scope"))
		assert.Check(t, !strings.Contains(err.Error(), f.readToken))
	})
	t.Run("job token without the right to delete", func(t *testing.T) {
		f, d := setup(t)
		f.jobCanDelete = false
		err := f.client("group/project", Credentials{JobToken: f.jobToken}).Untag(ctx, "a", d)
		assert.Check(t, errors.Is(err, registrytypes.ErrUnauthorized))
		for _, w := range []string{"CI_JOB_TOKEN may not delete here", "Developer role",
			"--repo-gitlab-token (WERF_REPO_GITLAB_TOKEN)", "api scope"} {
			assert.Check(t, is.ErrorContains(err, w))
		}
	})
	t.Run("invalid digest", func(t *testing.T) {
		f, _ := setup(t)
		err := f.client("group/project", Credentials{Token: f.token}).Untag(ctx, "a", "one")
		assert.Check(t, is.ErrorContains(err, "invalid digest"))
		assert.Check(t, is.Len(f.requestLog(), 0))
	})
}

func TestDeleteManifest(t *testing.T) {
	f := newFakeGitLab(t)
	f.addProject(7, "group/project", "")
	d := f.tag("group/project", "a", "one", time.Now())
	f.tag("group/project", "b", "one", time.Now())
	f.tag("group/project", "c", "two", time.Now())
	c := f.client("group/project", Credentials{Token: f.token})
	assert.NilError(t, c.DeleteManifest(ctx, d))
	assert.Check(t, is.DeepEqual(f.tagList("group/project"), []string{"c"}))
	err := c.DeleteManifest(ctx, d)
	assert.Check(t, errors.Is(err, registrytypes.ErrNotFound))
}

func TestRateLimit(t *testing.T) {
	f := newFakeGitLab(t)
	f.addProject(7, "group/project", "")
	f.tag("group/project", "a", "one", time.Now())
	f.limitNext = true
	tags, err := f.client("group/project", Credentials{Token: f.token}).Tags(ctx)
	assert.NilError(t, err)
	assert.Check(t, is.DeepEqual(tags, []string{"a"}))
	var total time.Duration
	for _, w := range f.clk.Waited() {
		total += w
	}
	assert.Check(t, total >= 2*time.Second && total < 4*time.Second, "waited %v", total)

	f.limitAll = true
	c := f.client("group/project", Credentials{Token: f.token}, WithTransport(f.clk.Transport(retry.WithMaxAttempts(2))))
	_, err = c.Tags(ctx)
	assert.Check(t, errors.Is(err, ErrRateLimited))
	assert.Check(t, is.ErrorContains(err, "it resets at"))
}

func TestSecretsNeverInErrors(t *testing.T) {
	f := newFakeGitLab(t)
	f.addProject(7, "group/project", "")
	f.jobProject = 7
	d := f.tag("group/project", "a", "one", time.Now())
	f.echoToken = true
	wrongPAT, wrongJob := "glpat-"+strings.Repeat("Qq1", 7), "glcbt-"+strings.Repeat("Ww2", 7)
	var errs []error

	_, err := f.client("group/project", Credentials{Token: wrongPAT}).Tags(ctx)
	assert.Check(t, is.ErrorContains(err, "GitLab refused the token in --repo-gitlab-token (WERF_REPO_GITLAB_TOKEN)"))
	errs = append(errs, err)
	_, err = f.client("group/project", Credentials{JobToken: wrongJob}).Tags(ctx)
	assert.Check(t, is.ErrorContains(err, "GitLab refused CI_JOB_TOKEN"))
	errs = append(errs, err)
	errs = append(errs, f.client("group/project", Credentials{Token: f.readToken}).Untag(ctx, "a", d))
	f.jobCanDelete = false
	errs = append(errs, f.client("group/project", Credentials{JobToken: f.jobToken}).Untag(ctx, "a", d))

	dead := httptest.NewServer(http.NotFoundHandler())
	dead.Close()
	c, err := New(repoOf("group/project"), Credentials{Token: f.token}, WithBaseURL(dead.URL), WithTransport(http.DefaultTransport))
	assert.NilError(t, err)
	_, err = c.Tags(ctx)
	errs = append(errs, err)

	for _, err := range errs {
		assert.Assert(t, err != nil)
		for _, s := range []string{f.token, f.readToken, f.jobToken, wrongPAT, wrongJob} {
			assert.Check(t, !strings.Contains(err.Error(), s), "%v", err)
		}
	}
}

// TestCleanupFixtures runs a whole cleanup over a repository with a
// multi-arch index, a cosign signature tag, two tags on one digest and a
// protected tag: every deletion untags, a kept tag's digest keeps its other
// tags only where they are kept, and the protected tag stays with an error
// that says so.
func TestCleanupFixtures(t *testing.T) {
	f := newFakeGitLab(t)
	f.addProject(7, "group/project", "")
	old := time.Now().Add(-30 * 24 * time.Hour)
	const p = "group/project"
	index := f.tag(p, "v1", "index", old)
	sigTag := "sha256-" + strings.TrimPrefix(index, "sha256:") + ".sig"
	sig := f.tag(p, sigTag, "sig", old)
	shared := f.tag(p, "keep-me", "shared", old)
	f.tag(p, "drop-me", "shared", old)
	stale := f.tag(p, "stale", "stale", old)
	prot := f.tag(p, "release-1", "prot", old)
	f.projects[0].rules = []string{"^release-"}
	reg := fakeRegistryAPI{
		index:  {IsIndex: true, Children: []registrytypes.Descriptor{{Digest: digestOf("amd64")}}},
		sig:    {Subject: &registrytypes.Descriptor{Digest: index}},
		shared: {}, stale: {}, prot: {},
	}
	c := f.client(p, Credentials{Token: f.token}, WithRegistryAPI(reg), WithPageSize(2))
	items, err := cleanup.Inventory(ctx, c, 2, nil)
	assert.NilError(t, err)
	var ds []policy.Decision
	for _, it := range items {
		assert.Check(t, !it.Created.IsZero(), it.Tag)
		ds = append(ds, policy.Decision{Tag: it.Tag, Keep: it.Tag == "v1" || it.Tag == "keep-me", Reason: "test"})
	}
	plan := cleanup.MakePlan(items, ds, cleanup.PlanOptions{})
	res, err := cleanup.Execute(ctx, c, plan, cleanup.Options{Parallel: 2})
	assert.NilError(t, err)
	byTag := map[string]cleanup.TagResult{}
	for _, r := range res {
		byTag[r.Tag] = r
	}
	assert.Check(t, is.Equal(byTag["drop-me"].Outcome, cleanup.Deleted))
	assert.Check(t, is.Equal(byTag["stale"].Outcome, cleanup.Deleted))
	assert.Check(t, is.Equal(byTag[sigTag].Outcome, cleanup.Kept))
	assert.Check(t, is.Equal(byTag["release-1"].Outcome, cleanup.Protected))
	assert.Check(t, byTag["release-1"].Keep, "a protected tag is kept")
	assert.Check(t, is.Contains(byTag["release-1"].Error, "protected"))
	want := []string{"keep-me", "release-1", sigTag, "v1"}
	slices.Sort(want)
	assert.Check(t, is.DeepEqual(f.tagList(p), want))
	for _, w := range f.writeLog() {
		assert.Check(t, strings.HasPrefix(w, "DELETE /api/v4/projects/7/registry/repositories/11/tags/"), w)
	}
}
