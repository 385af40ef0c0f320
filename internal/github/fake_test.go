package github

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"github.com/docker-werf/docker-werf/internal/apiclient/apitest"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/docker-werf/docker-werf/internal/registry"
)

// fakeGitHub is the part of the GitHub REST API the client uses, as
// documented: the owner lookups, the package version listing with Link
// pagination (links to the numeric /organizations/{id} and /user/{id} forms,
// as GitHub writes them), one version, and version deletion (204; the
// version goes with all its tags; the last tagged version of a package
// cannot be deleted). It checks the API headers and answers every other
// request with t.Errorf and 404.
type fakeGitHub struct {
	t   *testing.T
	srv *apitest.Server
	clk *apitest.Clock

	mu         sync.Mutex
	token      string
	owner      string
	ownerID    int64
	ownerIsOrg bool
	tokenLogin string // the token's user; "" = an integration token (GET /user is 403)
	pkg        string
	versions   []*fakeVersion
	nextID     int64
	scopes     *string // X-OAuth-Scopes; nil = no header
	canDelete  bool
	deny       string // message of a 403 on DELETE
	limitNext  string // "primary", "secondary", "429": rate limit the next request
	limitAll   string // rate limit every request
	echoToken  bool   // error messages quote the token (a misbehaving server)
	cannotRead bool   // the token lacks read:packages
	noLink     bool   // leave out the Link header
	writes     []string
	quota      int
}

type fakeVersion struct {
	id      int64
	digest  string
	tags    []string
	created time.Time
	updated time.Time
}

func newFakeGitHub(t *testing.T, owner string, isOrg bool, pkg string) *fakeGitHub {
	t.Helper()
	f := &fakeGitHub{t: t, clk: &apitest.Clock{}, token: "ghp_" + strings.Repeat("A1b2", 9), owner: owner, ownerID: 4242,
		ownerIsOrg: isOrg, tokenLogin: "someone", pkg: pkg, nextID: 1000, canDelete: true, quota: 5000,
		deny: "Resource not accessible by personal access token"}
	if !isOrg {
		f.tokenLogin = owner
	}
	f.srv = apitest.NewServer(t, http.HandlerFunc(f.serve), apitest.WithSpec("github", nil))
	return f
}

// digestOf makes a digest from an image name.
func digestOf(image string) string {
	sum := sha256.Sum256([]byte(image))
	return "sha256:" + hex.EncodeToString(sum[:])
}

// add creates a version of image with tags and returns its digest.
func (f *fakeGitHub) add(image string, created time.Time, tags ...string) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	d := digestOf(image)
	for _, v := range f.versions {
		if v.digest == d {
			v.tags = append(v.tags, tags...)
			v.updated = created
			return d
		}
	}
	f.nextID++
	f.versions = append(f.versions, &fakeVersion{id: f.nextID, digest: d, tags: slices.Clone(tags), created: created, updated: created})
	return d
}

// retag moves tag to the version of image (a push during the run).
func (f *fakeGitHub) retag(tag, image string) {
	f.mu.Lock()
	for _, v := range f.versions {
		v.tags = slices.DeleteFunc(v.tags, func(s string) bool { return s == tag })
	}
	f.mu.Unlock()
	f.add(image, f.clk.Now(), tag)
}

func (f *fakeGitHub) tagList() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var tags []string
	for _, v := range f.versions {
		tags = append(tags, v.tags...)
	}
	slices.Sort(tags)
	if tags == nil {
		tags = []string{}
	}
	return tags
}

func (f *fakeGitHub) writeLog() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.writes)
}

func (f *fakeGitHub) requestLog() []string { return f.srv.Requests() }

func (f *fakeGitHub) repo() registry.Repository {
	return registry.Repository{Raw: "ghcr.io/" + f.owner + "/" + f.pkg, Host: "ghcr.io", Path: f.owner + "/" + f.pkg,
		Kind: registry.GitHub}
}

// client returns a Client of the fake's package with token, on a retrying
// transport whose waits run on the virtual clock.
func (f *fakeGitHub) client(token string, opts ...Option) *Client {
	f.t.Helper()
	all := append([]Option{WithBaseURL(f.srv.URL), WithTransport(f.clk.Transport())}, opts...)
	c, err := New(f.repo(), Credentials{Token: token}, all...)
	if err != nil {
		f.t.Fatal(err)
	}
	return c
}

func (f *fakeGitHub) jsonAnswer(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func (f *fakeGitHub) message(w http.ResponseWriter, status int, msg string) {
	f.jsonAnswer(w, status, map[string]string{"message": msg, "documentation_url": "https://docs.github.com/rest"})
}

func (f *fakeGitHub) unexpected(w http.ResponseWriter, r *http.Request, why string) {
	f.t.Errorf("fake GitHub: unexpected request %s %s: %s", r.Method, r.URL.RequestURI(), why)
	f.message(w, http.StatusNotFound, "Not Found")
}

func (f *fakeGitHub) serve(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if r.Method == http.MethodDelete {
		f.writes = append(f.writes, r.Method+" "+r.URL.RequestURI())
	}
	if got := r.Header.Get("Accept"); got != "application/vnd.github+json" {
		f.unexpected(w, r, "Accept is "+strconv.Quote(got))
		return
	}
	if got := r.Header.Get("X-GitHub-Api-Version"); got != APIVersion {
		f.unexpected(w, r, "X-GitHub-Api-Version is "+strconv.Quote(got))
		return
	}
	if r.Header.Get("User-Agent") == "" {
		f.unexpected(w, r, "no User-Agent (GitHub refuses those)")
		return
	}
	if f.rateLimited(w) {
		return
	}
	auth := r.Header.Get("Authorization")
	scheme, tok, _ := strings.Cut(auth, " ")
	if (scheme != "Bearer" && scheme != "token") || tok != f.token {
		msg := "Bad credentials"
		if f.echoToken {
			msg += ": " + auth
		}
		f.message(w, http.StatusUnauthorized, msg)
		return
	}
	if f.scopes != nil {
		w.Header().Set("X-OAuth-Scopes", *f.scopes)
	}
	f.route(w, r)
}

// rateLimited answers with GitHub's rate limit if one is due. Every answer
// carries the x-ratelimit headers.
func (f *fakeGitHub) rateLimited(w http.ResponseWriter) bool {
	kind := f.limitAll
	if f.limitNext != "" {
		kind, f.limitNext = f.limitNext, ""
	}
	reset := f.clk.Now().Add(3 * time.Second).Unix()
	h := w.Header()
	h.Set("X-RateLimit-Limit", "5000")
	h.Set("X-RateLimit-Reset", strconv.FormatInt(reset, 10))
	h.Set("X-RateLimit-Resource", "core")
	remaining := f.quota
	if kind == "primary" {
		remaining = 0
	}
	h.Set("X-RateLimit-Remaining", strconv.Itoa(remaining))
	h.Set("X-RateLimit-Used", strconv.Itoa(5000-remaining))
	switch kind {
	case "primary":
		f.message(w, http.StatusForbidden, "API rate limit exceeded for user ID 1.")
	case "secondary":
		h.Set("Retry-After", "2")
		f.message(w, http.StatusForbidden, "You have exceeded a secondary rate limit. Please wait a few minutes before you try again.")
	case "secondary-bare": // no Retry-After, quota left: GitHub says wait a minute
		f.message(w, http.StatusForbidden, "You have exceeded a secondary rate limit. Please wait a few minutes before you try again.")
	case "429":
		h.Set("Retry-After", "2")
		f.message(w, http.StatusTooManyRequests, "You have exceeded a secondary rate limit.")
	default:
		return false
	}
	return true
}

// route serves the API paths, read from the escaped path so that a package
// name whose "/" was not encoded does not match.
func (f *fakeGitHub) route(w http.ResponseWriter, r *http.Request) {
	segs := strings.Split(strings.TrimPrefix(r.URL.EscapedPath(), "/"), "/")
	for i, s := range segs {
		u, err := url.PathUnescape(s)
		if err != nil {
			f.unexpected(w, r, "bad escaping")
			return
		}
		segs[i] = u
	}
	if r.URL.RawQuery != "" && !(len(segs) > 0 && segs[len(segs)-1] == "versions") {
		f.unexpected(w, r, "query parameters on an endpoint without any")
		return
	}
	switch {
	case len(segs) == 2 && segs[0] == "users" && r.Method == http.MethodGet:
		if !strings.EqualFold(segs[1], f.owner) {
			f.message(w, http.StatusNotFound, "Not Found")
			return
		}
		typ := "User"
		if f.ownerIsOrg {
			typ = "Organization"
		}
		f.jsonAnswer(w, http.StatusOK, map[string]any{"login": f.owner, "id": f.ownerID, "type": typ})
		return
	case len(segs) == 1 && segs[0] == "user" && r.Method == http.MethodGet:
		if f.tokenLogin == "" {
			f.message(w, http.StatusForbidden, "Resource not accessible by integration")
			return
		}
		f.jsonAnswer(w, http.StatusOK, map[string]any{"login": f.tokenLogin, "id": 7, "type": "User"})
		return
	}
	rest, ok := f.packageRoute(segs)
	if !ok {
		f.unexpected(w, r, "no such endpoint")
		return
	}
	switch {
	case len(rest) == 1 && rest[0] == "versions" && r.Method == http.MethodGet:
		f.listVersions(w, r, segs[:len(segs)-1])
	case len(rest) == 2 && rest[0] == "versions" && (r.Method == http.MethodGet || r.Method == http.MethodDelete):
		if segs[0] == "organizations" || (segs[0] == "user" && len(segs) == 7) {
			f.unexpected(w, r, "the numeric form is only in pagination links")
			return
		}
		id, err := strconv.ParseInt(rest[1], 10, 64)
		if err != nil {
			f.unexpected(w, r, "version id is not a number")
			return
		}
		f.version(w, r, id)
	default:
		f.unexpected(w, r, "no such endpoint")
	}
}

// packageRoute matches the package's prefixes and returns what follows. The
// canonical ones depend on the owner's type; the numeric ones appear in Link
// headers only.
func (f *fakeGitHub) packageRoute(segs []string) ([]string, bool) {
	match := func(prefix ...string) ([]string, bool) {
		if len(segs) < len(prefix) {
			return nil, false
		}
		for i, p := range prefix {
			if !strings.EqualFold(segs[i], p) {
				return nil, false
			}
		}
		return segs[len(prefix):], true
	}
	id := strconv.FormatInt(f.ownerID, 10)
	if f.ownerIsOrg {
		if rest, ok := match("orgs", f.owner, "packages", "container", f.pkg); ok {
			return rest, true
		}
		return match("organizations", id, "packages", "container", f.pkg)
	}
	if rest, ok := match("users", f.owner, "packages", "container", f.pkg); ok {
		return rest, true
	}
	if rest, ok := match("user", id, "packages", "container", f.pkg); ok {
		return rest, true
	}
	if strings.EqualFold(f.tokenLogin, f.owner) {
		return match("user", "packages", "container", f.pkg)
	}
	return nil, false
}

func (f *fakeGitHub) versionJSON(v *fakeVersion) map[string]any {
	tags := v.tags
	if tags == nil {
		tags = []string{}
	}
	return map[string]any{
		"id": v.id, "name": v.digest,
		"url":              fmt.Sprintf("%s/orgs/%s/packages/container/%s/versions/%d", f.srv.URL, f.owner, url.PathEscape(f.pkg), v.id),
		"package_html_url": "https://github.com/orgs/" + f.owner + "/packages/container/package/" + f.pkg,
		"created_at":       v.created.UTC().Format(time.RFC3339), "updated_at": v.updated.UTC().Format(time.RFC3339),
		"html_url": fmt.Sprintf("https://github.com/orgs/%s/packages/container/%s/%d", f.owner, f.pkg, v.id),
		"metadata": map[string]any{"package_type": "container", "container": map[string]any{"tags": tags}},
	}
}

// listVersions serves one page, newest first, with GitHub's Link header.
func (f *fakeGitHub) listVersions(w http.ResponseWriter, r *http.Request, prefix []string) {
	if f.cannotRead {
		f.message(w, http.StatusForbidden, "You need at least read:packages scope to get a package's versions.")
		return
	}
	q := r.URL.Query()
	for k := range q {
		if k != "per_page" && k != "page" && k != "state" {
			f.unexpected(w, r, "unknown parameter "+k)
			return
		}
	}
	if s := q.Get("state"); s != "" && s != "active" && s != "deleted" {
		f.unexpected(w, r, "bad state")
		return
	}
	perPage, page := 30, 1
	if v := q.Get("per_page"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			f.unexpected(w, r, "bad per_page")
			return
		}
		perPage = min(n, 100)
	}
	if v := q.Get("page"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			f.unexpected(w, r, "bad page")
			return
		}
		page = n
	}
	all := slices.Clone(f.versions)
	slices.SortFunc(all, func(a, b *fakeVersion) int { return int(b.id - a.id) })
	if len(all) == 0 {
		f.message(w, http.StatusNotFound, "Package not found.")
		return
	}
	last := (len(all) + perPage - 1) / perPage
	start := min((page-1)*perPage, len(all))
	end := min(start+perPage, len(all))
	// GitHub's links use the numeric owner form.
	linkPath := "/organizations/" + strconv.FormatInt(f.ownerID, 10)
	if !f.ownerIsOrg {
		linkPath = "/user/" + strconv.FormatInt(f.ownerID, 10)
		if prefix[0] == "user" && len(prefix) == 4 {
			linkPath = "/user"
		}
	}
	linkPath += "/packages/container/" + url.PathEscape(f.pkg) + "/versions"
	link := func(p int, rel string) string {
		return fmt.Sprintf(`<%s%s?per_page=%d&page=%d>; rel="%s"`, f.srv.URL, linkPath, perPage, p, rel)
	}
	var links []string
	if page > 1 {
		links = append(links, link(page-1, "prev"))
	}
	if page < last {
		links = append(links, link(page+1, "next"), link(last, "last"))
	}
	if page > 1 {
		links = append(links, link(1, "first"))
	}
	if len(links) > 0 && !f.noLink {
		w.Header().Set("Link", strings.Join(links, ", "))
	}
	out := []map[string]any{}
	for _, v := range all[start:end] {
		out = append(out, f.versionJSON(v))
	}
	f.jsonAnswer(w, http.StatusOK, out)
}

// version serves GET and DELETE of one version.
func (f *fakeGitHub) version(w http.ResponseWriter, r *http.Request, id int64) {
	i := slices.IndexFunc(f.versions, func(v *fakeVersion) bool { return v.id == id })
	if i < 0 {
		f.message(w, http.StatusNotFound, "Not Found")
		return
	}
	v := f.versions[i]
	if r.Method == http.MethodGet {
		f.jsonAnswer(w, http.StatusOK, f.versionJSON(v))
		return
	}
	if !f.canDelete {
		f.message(w, http.StatusForbidden, f.deny)
		return
	}
	if len(v.tags) > 0 {
		tagged := 0
		for _, o := range f.versions {
			if len(o.tags) > 0 {
				tagged++
			}
		}
		if tagged == 1 {
			f.message(w, http.StatusBadRequest, "You cannot delete the last tagged version of a package. You must delete the package instead.")
			return
		}
	}
	f.versions = slices.Delete(f.versions, i, i+1)
	w.WriteHeader(http.StatusNoContent)
}
