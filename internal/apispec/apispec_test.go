package apispec

import (
	"bufio"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"

	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"
)

// recorder collects what the middleware reports instead of failing the test.
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

func mustLoad(t *testing.T, vendor string) *Spec {
	t.Helper()
	s, err := Load(vendor)
	assert.NilError(t, err)
	return s
}

func TestLoadEveryVendor(t *testing.T) {
	for _, v := range Vendors() {
		t.Run(v, func(t *testing.T) {
			s := mustLoad(t, v)
			assert.Assert(t, len(s.Operations()) > 0)
		})
	}
	_, err := Load("quay")
	assert.ErrorContains(t, err, `no description of "quay"`)
}

type exchange struct {
	name                 string
	vendor               string
	opts                 []Option
	method, target, body string
	header               map[string]string
	status               int
	respType, respBody   string
	want                 string // "" when the exchange must pass
}

const harborRepo = "/api/v2.0/projects/team/repositories/a%252Fb"

var exchanges = []exchange{
	{
		name: "harbor artifact list passes", vendor: "harbor", method: "GET",
		target: harborRepo + "/artifacts?page=1&page_size=10&with_tag=true&with_immutable_status=true&with_accessory=true",
		status: 200, respType: "application/json",
		respBody: `[{"digest":"sha256:0123","tags":[{"name":"v1","immutable":false}]}]`,
	},
	{
		name: "a path no operation has", vendor: "harbor", method: "GET",
		target: "/api/v2.0/projects/team/repository/app/artifacts", status: 200,
		want: "no operation in the harbor description has this path",
	},
	{
		name: "an unescaped slash in Harbor's repository name", vendor: "harbor", method: "GET",
		target: "/api/v2.0/projects/team/repositories/a/b/artifacts", status: 200,
		want: "no operation in the harbor description has this path",
	},
	{
		name: "a method the path does not have", vendor: "harbor", method: "PUT",
		target: harborRepo + "/artifacts/sha256:0123", status: 200,
		want: "no PUT operation",
	},
	{
		name: "a misspelled query parameter", vendor: "harbor", method: "GET",
		target: harborRepo + "/artifacts?page=1&pagesize=10", status: 200, respType: "application/json", respBody: `[]`,
		want: `query parameter "pagesize" is not described`,
	},
	{
		name: "a query parameter of the wrong type", vendor: "harbor", method: "GET",
		target: harborRepo + "/artifacts?page=first", status: 200, respType: "application/json", respBody: `[]`,
		want: `parameter "page" in query`,
	},
	{
		name: "a response body that breaks the schema", vendor: "harbor", method: "GET",
		target: harborRepo + "/artifacts", status: 200, respType: "application/json",
		respBody: `[{"digest":5}]`,
		want:     "response 200: at /0/digest: value must be a string",
	},
	{
		name: "a success status the operation does not have", vendor: "harbor", method: "DELETE",
		target: harborRepo + "/artifacts/sha256:0123/tags/v1", status: 204,
		want: "has no such status (it has 200, 401, 403, 404, 500)",
	},
	{
		name: "a described error must have the described shape", vendor: "harbor", method: "DELETE",
		target: harborRepo + "/artifacts/sha256:0123", status: 404, respType: "text/plain", respBody: "gone",
		want: `response header Content-Type has unexpected value: "text/plain"`,
	},
	{
		name: "an error status the vendor leaves out passes", vendor: "dockerhub", method: "GET",
		header: map[string]string{"Authorization": "Bearer t"},
		target: "/v2/namespaces/ns/repositories/app/tags?page=1&page_size=100", status: 429,
		respType: "text/plain", respBody: "slow down",
	},
	{
		name: "a missing credential header", vendor: "dockerhub", method: "GET",
		target: "/v2/namespaces/ns/repositories/app/tags?page=1&page_size=100", status: 200,
		respType: "application/json", respBody: `{"count":0,"results":[]}`,
		want: "no Authorization header",
	},
	{
		name: "docker hub tag list passes", vendor: "dockerhub", method: "GET",
		header: map[string]string{"Authorization": "Bearer t"},
		target: "/v2/namespaces/ns/repositories/app/tags?page=1&page_size=100", status: 200,
		respType: "application/json",
		respBody: `{"count":1,"next":null,"results":[{"name":"v1","images":[{"digest":"sha256:0123","os":"linux","architecture":"amd64"}]}]}`,
	},
	{
		name: "docker hub's undescribed tag delete is matched exactly", vendor: "dockerhub", method: "DELETE",
		header: map[string]string{"Authorization": "Bearer t"},
		target: "/v2/repositories/ns/app/tags/v1/", status: 204,
	},
	{
		name: "and a near miss of it fails", vendor: "dockerhub", method: "DELETE",
		header: map[string]string{"Authorization": "Bearer t"},
		target: "/v2/repositories/ns/app/tags/v1", status: 204,
		want: "no operation in the dockerhub description has this path",
	},
	{
		name: "a request body without a required field", vendor: "dockerhub", method: "POST",
		header: map[string]string{"Content-Type": "application/json"},
		target: "/v2/auth/token", body: `{"identifier":"me"}`, status: 200,
		respType: "application/json", respBody: `{"access_token":"t"}`,
		want: `property "secret" is missing`,
	},
	{
		name: "an ACR form without a required field", vendor: "acr", method: "POST",
		header: map[string]string{"Content-Type": "application/x-www-form-urlencoded"},
		target: "/oauth2/exchange", body: "grant_type=access_token&access_token=e", status: 200,
		respType: "application/json", respBody: `{"refresh_token":"r"}`,
		want: `property "service" is missing`,
	},
	{
		name: "an ACR grant type the description does not have", vendor: "acr", method: "POST",
		header: map[string]string{"Content-Type": "application/x-www-form-urlencoded"},
		target: "/oauth2/token", body: "grant_type=token&service=r.azurecr.io&scope=s&refresh_token=r", status: 200,
		respType: "application/json", respBody: `{"access_token":"a"}`,
		want: `value is not one of the allowed values`,
	},
	{
		name: "an ACR repository name with a slash", vendor: "acr", method: "GET",
		header: map[string]string{"Authorization": "Bearer a"},
		target: "/acr/v1/team%2Fapp/_tags?n=100&orderby=timedesc", status: 200, respType: "application/json",
		respBody: `{"registry":"r.azurecr.io","imageName":"team/app","tags":[]}`,
	},
	{
		name: "and the same on /v2 with a raw slash", vendor: "acr", method: "DELETE",
		header: map[string]string{"Authorization": "Bearer a"},
		target: "/v2/team/app/manifests/sha256:0123", status: 202,
	},
	{
		name: "a GitHub Enterprise prefix", vendor: "github", opts: []Option{WithPrefix("/api/v3")}, method: "DELETE",
		target: "/api/v3/orgs/o/packages/container/app/versions/7", status: 204,
	},
	{
		name: "outside the prefix", vendor: "github", opts: []Option{WithPrefix("/api/v3")}, method: "DELETE",
		target: "/orgs/o/packages/container/app/versions/7", status: 204,
		want: "the path is not below /api/v3",
	},
	{
		name: "a path parameter of the wrong type", vendor: "github", method: "DELETE",
		target: "/orgs/o/packages/container/app/versions/sha256:0123", status: 204,
		want: `parameter "package_version_id" in path`,
	},
	{
		name: "a package type GitHub does not have", vendor: "github", method: "GET",
		target: "/orgs/o/packages/oci/app/versions?per_page=100", status: 200, respType: "application/json", respBody: `[]`,
		want: `parameter "package_type" in path`,
	},
	{
		name: "a package version without its required fields", vendor: "github", method: "GET",
		target: "/users/u/packages/container/app/versions?per_page=100", status: 200, respType: "application/json",
		respBody: `[{"id":7,"name":"sha256:0123"}]`,
		want:     `property "url" is missing`,
	},
}

func TestMiddleware(t *testing.T) {
	for _, tc := range exchanges {
		t.Run(tc.name, func(t *testing.T) {
			var fakeCalled bool
			fake := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				fakeCalled = true
				if tc.body != "" {
					b, _ := io.ReadAll(r.Body)
					assert.Check(t, is.Equal(string(b), tc.body), "the fake reads the request body whole")
				}
				if tc.respType != "" {
					w.Header().Set("Content-Type", tc.respType)
				}
				w.WriteHeader(tc.status)
				_, _ = io.WriteString(w, tc.respBody)
			})
			rep := &reports{}
			srv := httptest.NewServer(mustLoad(t, tc.vendor).Middleware(rep, fake, tc.opts...))
			defer srv.Close()

			req, err := http.NewRequest(tc.method, srv.URL+tc.target, strings.NewReader(tc.body))
			assert.NilError(t, err)
			for k, v := range tc.header {
				req.Header.Set(k, v)
			}
			resp, err := http.DefaultClient.Do(req)
			assert.NilError(t, err)
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()

			if tc.want == "" {
				assert.Equal(t, rep.all(), "")
				assert.Equal(t, resp.StatusCode, tc.status)
				assert.Equal(t, string(body), tc.respBody)
				return
			}
			assert.Assert(t, is.Contains(rep.all(), tc.want))
			u, _ := url.Parse(srv.URL + tc.target)
			assert.Assert(t, is.Contains(rep.all(), tc.method+" "+u.EscapedPath()), "the report names method and path")
			assert.Equal(t, resp.StatusCode, http.StatusNotImplemented, "the client sees the mismatch too")
			assert.Assert(t, is.Contains(string(body), "APISPEC"))
			_ = fakeCalled
		})
	}
}

// TestMiddlewareHijack: a fake that drops the connection (a fault) is
// not checked and not answered for.
func TestMiddlewareHijack(t *testing.T) {
	fake := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		conn, _, err := w.(http.Hijacker).Hijack()
		assert.Check(t, err)
		conn.Close()
	})
	rep := &reports{}
	srv := httptest.NewServer(mustLoad(t, "github").Middleware(rep, fake))
	defer srv.Close()
	_, err := http.Get(srv.URL + "/users/u")
	assert.Assert(t, err != nil, "the reset reaches the client")
	assert.Equal(t, rep.all(), "")
}

func TestCheckRecordedExchange(t *testing.T) {
	s := mustLoad(t, "github")
	req := httptest.NewRequest("GET", "/orgs/o/packages/container/app/versions/7", nil)
	ok := `{"id":7,"name":"sha256:0123","url":"u","package_html_url":"p","created_at":"2026-01-02T03:04:05Z",` +
		`"updated_at":"2026-01-02T03:04:05Z","metadata":{"package_type":"container","container":{"tags":["v1"]}}}`
	h := http.Header{"Content-Type": {"application/json"}}
	assert.NilError(t, s.Check(req, nil, 200, h, []byte(ok)))

	bad := strings.Replace(ok, `"container":{"tags":["v1"]}`, `"container":{}`, 1)
	assert.ErrorContains(t, s.Check(req, nil, 200, h, []byte(bad)), `property "tags" is missing`)

	wrong := httptest.NewRequest("GET", "/orgs/o/packages/container/app/version/7", nil)
	assert.ErrorContains(t, s.CheckRequest(wrong), "GET /orgs/o/packages/container/app/version/7: no operation")
}

// TestStreamedBodyIsBuffered: a fake that flushes early still gets checked.
func TestStreamedBodyIsBuffered(t *testing.T) {
	fake := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `[{"digest":`)
		w.(http.Flusher).Flush()
		_, _ = io.WriteString(w, `"x"}]`)
	})
	rep := &reports{}
	srv := httptest.NewServer(mustLoad(t, "harbor").Middleware(rep, fake))
	defer srv.Close()
	resp, err := http.Get(srv.URL + harborRepo + "/artifacts")
	assert.NilError(t, err)
	defer resp.Body.Close()
	line, _ := bufio.NewReader(resp.Body).ReadString('\n')
	assert.Equal(t, line, `[{"digest":"x"}]`)
	assert.Equal(t, rep.all(), "")
}
