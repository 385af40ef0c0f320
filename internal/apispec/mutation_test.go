package apispec_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"

	"github.com/docker-werf/docker-werf/internal/apispec"
	"github.com/docker-werf/docker-werf/internal/dockerhub"
	"github.com/docker-werf/docker-werf/internal/github"
	"github.com/docker-werf/docker-werf/internal/harbor"
	"github.com/docker-werf/docker-werf/internal/registry"
)

// These tests run real clients against a small fake that follows the
// vendor's description, behind the middleware, and then break one thing the
// client sends (a path segment, a query parameter's name) on its way out:
// the middleware must turn each mistake into a failed call and a report.

type reports struct {
	mu   sync.Mutex
	msgs []string
}

func (r *reports) Helper() {}

func (r *reports) Errorf(format string, args ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.msgs = append(r.msgs, fmt.Sprintf(format, args...))
}

func (r *reports) all() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return strings.Join(r.msgs, "\n")
}

// mutate rewrites each request's URL before it leaves the client.
type mutate struct {
	next http.RoundTripper
	edit func(rawURL string) string
}

func (m mutate) RoundTrip(r *http.Request) (*http.Response, error) {
	if m.edit == nil {
		return m.next.RoundTrip(r)
	}
	r = r.Clone(r.Context())
	u, err := r.URL.Parse(m.edit(r.URL.String()))
	if err != nil {
		return nil, err
	}
	r.URL = u
	return m.next.RoundTrip(r)
}

type mistake struct {
	name string
	edit func(string) string
	want string
}

// mistakes breaks a path segment and a query parameter's name.
func mistakes(segment, param string) []mistake {
	return []mistake{
		{"none", nil, ""},
		{"a wrong path segment", func(u string) string { return strings.Replace(u, "/"+segment, "/"+segment[:len(segment)-1], 1) },
			"no operation in the"},
		{"a misspelled query parameter",
			func(u string) string { return strings.Replace(u, param+"=", strings.ReplaceAll(param, "_", "")+"=", 1) },
			fmt.Sprintf("query parameter %q is not described", strings.ReplaceAll(param, "_", ""))},
	}
}

func TestGitHubClientMistakesFail(t *testing.T) {
	spec, err := apispec.Load("github")
	assert.NilError(t, err)
	fake := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `[{"id":7,"name":"sha256:`+strings.Repeat("a", 64)+`","url":"u","package_html_url":"p",`+
			`"created_at":"2026-01-02T03:04:05Z","updated_at":"2026-01-02T03:04:05Z",`+
			`"metadata":{"package_type":"container","container":{"tags":["v1"]}}}]`)
	})
	for _, m := range mistakes("versions", "per_page") {
		t.Run(m.name, func(t *testing.T) {
			rep := &reports{}
			srv := httptest.NewServer(spec.Middleware(rep, fake))
			defer srv.Close()
			c, err := github.New(registry.Repository{Host: "github.io", Path: "acme/app", Kind: registry.GitHub},
				github.Credentials{Token: "t"}, github.WithBaseURL(srv.URL), github.WithOwnerType(github.OwnerOrganization),
				github.WithTransport(mutate{next: srv.Client().Transport, edit: m.edit}))
			assert.NilError(t, err)
			tags, err := c.Tags(context.Background())
			check(t, m.want, rep, err)
			if m.want == "" {
				assert.DeepEqual(t, tags, []string{"v1"})
			}
		})
	}
}

func TestHarborClientMistakesFail(t *testing.T) {
	spec, err := apispec.Load("harbor")
	assert.NilError(t, err)
	fake := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `[{"digest":"sha256:`+strings.Repeat("a", 64)+`",`+
			`"manifest_media_type":"application/vnd.oci.image.manifest.v1+json","tags":[{"name":"v1"}]}]`)
	})
	for _, m := range mistakes("artifacts", "page_size") {
		t.Run(m.name, func(t *testing.T) {
			edit, want := m.edit, m.want
			rep := &reports{}
			srv := httptest.NewServer(spec.Middleware(rep, fake))
			defer srv.Close()
			c, err := harbor.New(registry.Repository{Host: "harbor.example.com", Path: "proj/team/app", Kind: registry.Harbor},
				harbor.Credentials{Username: "u", Password: "p"}, harbor.WithBaseURL(srv.URL),
				harbor.WithTransport(mutate{next: srv.Client().Transport, edit: edit}))
			assert.NilError(t, err)
			tags, err := c.Tags(context.Background())
			check(t, want, rep, err)
			if want == "" {
				assert.DeepEqual(t, tags, []string{"v1"})
			}
		})
	}
}

func check(t *testing.T, want string, rep *reports, err error) {
	t.Helper()
	if want == "" {
		assert.NilError(t, err)
		assert.Equal(t, rep.all(), "", "the unbroken client's traffic follows the description")
		return
	}
	assert.Assert(t, err != nil, "the broken request fails the client")
	assert.Assert(t, is.Contains(err.Error(), "501"))
	assert.Assert(t, is.Contains(rep.all(), want))
}

func TestDockerHubClientMistakesFail(t *testing.T) {
	spec, err := apispec.Load("dockerhub")
	assert.NilError(t, err)
	fake := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		if r.URL.Path == "/v2/auth/token" {
			_, _ = io.WriteString(w, `{"access_token":"jwt"}`)
			return
		}
		_, _ = io.WriteString(w, `{"count":1,"next":null,"previous":null,"results":[{"name":"v1",`+
			`"digest":"sha256:`+strings.Repeat("a", 64)+`","media_type":"application/vnd.oci.image.manifest.v1+json",`+
			`"images":[{"architecture":"amd64","os":"linux","digest":"sha256:`+strings.Repeat("a", 64)+`"}]}]}`)
	})
	for _, m := range mistakes("tags", "page_size") {
		t.Run(m.name, func(t *testing.T) {
			rep := &reports{}
			srv := httptest.NewServer(spec.Middleware(rep, fake))
			defer srv.Close()
			c, err := dockerhub.New(registry.Repository{Host: "docker.io", Path: "team/app", Kind: registry.DockerHub},
				dockerhub.Credentials{Username: "me", Password: "pat"}, dockerhub.WithBaseURL(srv.URL),
				dockerhub.WithTransport(mutate{next: srv.Client().Transport, edit: m.edit}))
			assert.NilError(t, err)
			tags, err := c.Tags(context.Background())
			check(t, m.want, rep, err)
			if m.want == "" {
				assert.DeepEqual(t, tags, []string{"v1"})
			}
		})
	}
}
