package registryapi

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"

	"github.com/docker-werf/docker-werf/internal/retry"
)

func fastRetry() http.RoundTripper {
	return retry.NewTransport(http.DefaultTransport.(*http.Transport).Clone(),
		retry.WithBackoff(0, 0), retry.WithMaxAttempts(3))
}

func (f *fakeRegistry) tagAll(names ...string) string {
	d := f.putImage(names[0], time.Unix(0, 0), nil, nil)
	for _, n := range names[1:] {
		f.mu.Lock()
		f.tags[n] = d
		f.mu.Unlock()
	}
	return d
}

func TestTags(t *testing.T) {
	five := []string{"a", "b", "c", "d", "e"}
	for _, tc := range []struct {
		name     string
		pages    string
		pageSize int
		unknown  bool
		tags     []string
		want     []string
		requests []string
	}{
		{
			name: "v3 relative links", pages: "v3", pageSize: 2, tags: five, want: five,
			requests: []string{
				"GET /v2/team/app/tags/list?n=2 -> 200",
				"GET /v2/team/app/tags/list?last=b&n=2 -> 200",
				"GET /v2/team/app/tags/list?last=d&n=2 -> 200",
			},
		},
		{
			name: "absolute links", pages: "abs", pageSize: 3, tags: five, want: five,
			requests: []string{
				"GET /v2/team/app/tags/list?n=3 -> 200",
				"GET /v2/team/app/tags/list?last=c&n=3 -> 200",
			},
		},
		{
			name: "2.8 ignores n and sends everything unsorted", pages: "all", pageSize: 2, tags: five, want: five,
			requests: []string{"GET /v2/team/app/tags/list?n=2 -> 200"},
		},
		{
			name: "no n= when the page size is 0", pages: "v3", pageSize: 0, tags: five, want: five,
			requests: []string{"GET /v2/team/app/tags/list -> 200"},
		},
		{
			name: "2.8 null tags", pages: "null", pageSize: 1000, tags: []string{"x"}, want: []string{},
			requests: []string{"GET /v2/team/app/tags/list?n=1000 -> 200"},
		},
		{
			name: "unknown repository", pages: "v3", pageSize: 1000, unknown: true, want: []string{},
			requests: []string{"GET /v2/team/app/tags/list?n=1000 -> 404"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFake(t, modeV3)
			f.pages, f.repoUnknown = tc.pages, tc.unknown
			if len(tc.tags) > 0 {
				f.tagAll(tc.tags...)
			}
			c := f.client(WithPageSize(tc.pageSize))
			ctx := context.Background()
			_, err := c.client(ctx, false)
			assert.NilError(t, err)
			f.requests()
			got, err := c.Tags(ctx)
			assert.NilError(t, err)
			assert.DeepEqual(t, got, tc.want)
			assert.Check(t, got != nil)
			assert.DeepEqual(t, f.requests(), tc.requests)
		})
	}
}

// TestTagsTLSLoopback: a TLS registry on 127.0.0.1 whose Links are absolute
// https URLs (where go-containerregistry guesses http and gives up).
func TestTagsTLSLoopback(t *testing.T) {
	var srvURL string
	pages := map[string]string{
		"n=2":        `{"tags":["a","b"]}`,
		"last=b&n=2": `{"tags":["c","d"]}`,
		"last=d&n=2": `{"tags":["e"]}`,
	}
	next := map[string]string{"n=2": "last=b&n=2", "last=b&n=2": "last=d&n=2"}
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.URL.Path == "/v2/" && r.Method == http.MethodGet:
			w.WriteHeader(http.StatusOK)
		case r.URL.Path == "/v2/team/app/tags/list" && r.Method == http.MethodGet && pages[r.URL.RawQuery] != "":
			if n := next[r.URL.RawQuery]; n != "" {
				w.Header().Set("Link", fmt.Sprintf(`<%s/v2/team/app/tags/list?%s>; rel="next"`, srvURL, n))
			}
			fmt.Fprint(w, pages[r.URL.RawQuery])
		default:
			t.Errorf("unexpected request %s %s", r.Method, r.URL)
			w.WriteHeader(http.StatusBadRequest)
		}
	}))
	defer srv.Close()
	srvURL = srv.URL
	host := strings.TrimPrefix(srv.URL, "https://")
	assert.Check(t, strings.HasPrefix(host, "127.0.0.1:"))
	c, err := New(host+"/team/app", authn.NewMultiKeychain(), WithTransport(srv.Client().Transport), WithPageSize(2))
	assert.NilError(t, err)
	tags, err := c.Tags(context.Background())
	assert.NilError(t, err)
	assert.DeepEqual(t, tags, []string{"a", "b", "c", "d", "e"})
	assert.Check(t, is.Equal(c.scheme, "https"))
}

// TestPlainHTTPNeedsLoopbackOrInsecure: https is tried first; plain http is
// used for loopback hosts only when the server answered https with HTTP.
func TestPlainHTTPNeedsLoopbackOrInsecure(t *testing.T) {
	f := newFake(t, modeV3)
	f.tagAll("a")
	c := f.client()
	_, err := c.Tags(context.Background())
	assert.NilError(t, err)
	assert.Check(t, is.Equal(c.scheme, "http"))

	for host, want := range map[string]bool{
		"127.0.0.1:5000": true, "127.1.2.3": true, "[::1]:5000": true, "localhost:5000": true, "reg.localhost": true,
		"10.0.0.1:5000": false, "192.168.1.1": false, "registry.example.com": false, "localhost.example.com": false,
	} {
		assert.Check(t, is.Equal(isLoopback(host), want), host)
	}
}

func TestTagsPaginationErrors(t *testing.T) {
	for name, link := range map[string]string{
		"other host": `<http://evil.example.com/v2/team/app/tags/list?last=a&n=1>; rel="next"`,
		"other port": `<http://127.0.0.1:1/v2/team/app/tags/list?last=a&n=1>; rel="next"`,
		"loop":       `</v2/team/app/tags/list?n=1>; rel="next"`,
	} {
		t.Run(name, func(t *testing.T) {
			f := newFake(t, modeV3)
			f.tagAll("a", "b")
			f.hook = func(w http.ResponseWriter, r *http.Request) bool {
				if strings.HasSuffix(r.URL.Path, "/tags/list") {
					w.Header().Set("Link", link)
					fmt.Fprint(w, `{"tags":["a"]}`)
					return true
				}
				return false
			}
			_, err := f.client(WithPageSize(1)).Tags(context.Background())
			assert.Check(t, err != nil)
		})
	}
}

func TestNextLink(t *testing.T) {
	req, _ := url.Parse("https://reg.example:5000/v2/r/tags/list?n=2")
	for _, tc := range []struct {
		links []string
		want  string
		err   bool
	}{
		{links: nil, want: ""},
		{links: []string{`</v2/r/tags/list?last=b&n=2>; rel="next"`}, want: "https://reg.example:5000/v2/r/tags/list?last=b&n=2"},
		{links: []string{`<https://reg.example:5000/v2/r/tags/list?last=b&n=2>; rel=next`}, want: "https://reg.example:5000/v2/r/tags/list?last=b&n=2"},
		// A proxy writing http:// without the port: the path is taken, the scheme and port kept.
		{links: []string{`<http://REG.example/v2/r/tags/list?last=b>; rel="next"`}, want: "https://reg.example:5000/v2/r/tags/list?last=b"},
		{links: []string{`<tags/list?last=b>; rel="prev"`, `<?last=c>; rel="next"`}, want: "https://reg.example:5000/v2/r/tags/list?last=c"},
		{links: []string{`</a>; rel="prev", </v2/r/tags/list?last=d>; rel="next"`}, want: "https://reg.example:5000/v2/r/tags/list?last=d"},
		{links: []string{`<https://other.example/v2/r/tags/list>; rel="next"`}, err: true},
		{links: []string{`<https://reg.example:5001/v2/r/tags/list>; rel="next"`}, err: true},
	} {
		got, err := nextLink(req, tc.links)
		if tc.err {
			assert.Check(t, err != nil, "%q", tc.links)
			continue
		}
		assert.Check(t, err, "%q", tc.links)
		assert.Check(t, is.Equal(got, tc.want), "%q", tc.links)
	}
}

func TestNewValidates(t *testing.T) {
	for _, repo := range []string{"", "app", "https://reg.example/app", "reg.example/", "/app", "reg.example/UPPER"} {
		_, err := New(repo, nil)
		assert.Check(t, err != nil, repo)
	}
	_, err := New("reg.example/app", nil, WithPageSize(-1))
	assert.Check(t, err != nil)
	_, err = New("reg.example/app", nil, WithTransport(nil))
	assert.Check(t, err != nil)
	c, err := New("reg.example:5000/team/app", nil)
	assert.NilError(t, err)
	assert.Check(t, is.Equal(c.Repository(), "reg.example:5000/team/app"))
}

func TestContextCancelled(t *testing.T) {
	f := newFake(t, modeV3)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := f.client().Tags(ctx)
	assert.Check(t, errors.Is(err, context.Canceled), "%v", err)
}
