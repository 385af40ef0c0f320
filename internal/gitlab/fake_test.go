package gitlab

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"github.com/docker-werf/docker-werf/internal/apiclient/apitest"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/docker-werf/docker-werf/internal/registry"
)

// fakeGitLab is the part of the GitLab REST API (under /api/v4) the client
// uses, as documented: the registry repositories of a project (":id" a
// number or a URL-encoded path), the tags of a repository, one tag's
// details and deleting one tag (200; a plain 403 for a tag a protection rule
// keeps from the caller's role, since GitLab authorizes first; 403
// insufficient_scope for a read_api token), the project's protection tag
// rules (lib/api/project_container_registry_protection_tag_rules.rb: a
// maintainer's, not a job token's), with GitLab's offset pagination
// headers (X-Page, X-Per-Page, X-Next-Page, X-Prev-Page, X-Total,
// X-Total-Pages, Link), PRIVATE-TOKEN and JOB-TOKEN authentication (a job
// token sees only its own project) and GitLab's 429 answer. Any other
// request fails the test.
type fakeGitLab struct {
	t   *testing.T
	srv *apitest.Server
	clk *apitest.Clock

	mu           sync.Mutex
	token        string // api scope
	readToken    string // read_api scope
	jobToken     string
	jobProject   int64
	jobCanDelete bool
	roleTooLow   bool // every caller's role is below Developer: deletes answer 403
	projects     []*fakeProject
	writes       []string
	limitNext    bool
	limitAll     bool
	noLink       bool // leave out Link
	noNextPage   bool // leave out X-Next-Page (and X-Prev-Page)
	noTotals     bool // leave out X-Total and X-Total-Pages (GitLab does above 10,000 records)
	linkHost     string
	echoToken    bool
	nextID       int64
}

type fakeProject struct {
	id    int64
	path  string
	repos []*fakeRepo
	// rules are the tag_name_pattern of the project's protection tag rules;
	// every caller of the fake is below their minimum role for delete.
	rules []string
}

type fakeRepo struct {
	id     int64
	name   string
	path   string
	status *string
	tags   map[string]*fakeTag
}

type fakeTag struct {
	digest  string
	created time.Time
	broken  bool // no manifest: digest and created_at are null
}

func newFakeGitLab(t *testing.T) *fakeGitLab {
	t.Helper()
	f := &fakeGitLab{t: t, clk: &apitest.Clock{}, token: "glpat-" + strings.Repeat("Xy7", 7),
		readToken: "glpat-" + strings.Repeat("Rd4", 7), jobToken: "glcbt-" + strings.Repeat("Jb9", 7),
		jobCanDelete: true, nextID: 10}
	// Every request and answer is checked against GitLab's
	// doc/api/openapi/openapi_v2.yaml (internal/apispec).
	f.srv = apitest.NewServer(t, http.HandlerFunc(f.serve), apitest.WithSpec("gitlab", nil))
	return f
}

func digestOf(image string) string {
	sum := sha256.Sum256([]byte(image))
	return "sha256:" + hex.EncodeToString(sum[:])
}

// addProject creates a project with registry repositories at the given
// names ("" is the project's root repository).
func (f *fakeGitLab) addProject(id int64, path string, names ...string) *fakeProject {
	f.mu.Lock()
	defer f.mu.Unlock()
	p := &fakeProject{id: id, path: path}
	for _, n := range names {
		f.nextID++
		rp := path
		if n != "" {
			rp += "/" + n
		}
		p.repos = append(p.repos, &fakeRepo{id: f.nextID, name: n, path: rp, tags: map[string]*fakeTag{}})
	}
	f.projects = append(f.projects, p)
	return p
}

func (f *fakeGitLab) repoAt(path string) *fakeRepo {
	for _, p := range f.projects {
		for _, r := range p.repos {
			if r.path == path {
				return r
			}
		}
	}
	f.t.Fatalf("no repository %s", path)
	return nil
}

// tag points tag of the repository at path to the image.
func (f *fakeGitLab) tag(path, tag, image string, created time.Time) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	d := digestOf(image)
	f.repoAt(path).tags[tag] = &fakeTag{digest: d, created: created}
	return d
}

func (f *fakeGitLab) setTag(path, tag string, mod func(*fakeTag)) {
	f.mu.Lock()
	defer f.mu.Unlock()
	mod(f.repoAt(path).tags[tag])
}

func (f *fakeGitLab) tagList(path string) []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	tags := []string{}
	for t := range f.repoAt(path).tags {
		tags = append(tags, t)
	}
	slices.Sort(tags)
	return tags
}

func (f *fakeGitLab) writeLog() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.writes)
}

func (f *fakeGitLab) requestLog() []string { return f.srv.Requests() }

func repoOf(path string) registry.Repository {
	return registry.Repository{Raw: "registry.gitlab.com/" + path, Host: "registry.gitlab.com", Path: path, Kind: registry.GitLab}
}

// client returns a Client of the repository at path on a retrying transport
// whose waits run on the virtual clock.
func (f *fakeGitLab) client(path string, creds Credentials, opts ...Option) *Client {
	f.t.Helper()
	all := append([]Option{WithBaseURL(f.srv.URL + "/api/v4"), WithTransport(f.clk.Transport())}, opts...)
	c, err := New(repoOf(path), creds, all...)
	if err != nil {
		f.t.Fatal(err)
	}
	return c
}

func (f *fakeGitLab) message(w http.ResponseWriter, status int, msg string) {
	apitest.WriteJSON(w, status, map[string]string{"message": msg})
}

func (f *fakeGitLab) unexpected(w http.ResponseWriter, r *http.Request, why string) {
	f.t.Errorf("fake GitLab: unexpected request %s %s: %s", r.Method, r.URL.RequestURI(), why)
	f.message(w, http.StatusNotFound, "404 Not Found")
}

// caller is who a request authenticates as.
type caller struct {
	job      bool
	readOnly bool
}

func (f *fakeGitLab) serve(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if r.Method == http.MethodDelete || r.Method == http.MethodPost || r.Method == http.MethodPut {
		f.writes = append(f.writes, r.Method+" "+r.URL.RequestURI())
	}
	if r.Header.Get("User-Agent") == "" {
		f.unexpected(w, r, "no User-Agent")
		return
	}
	if f.limitNext || f.limitAll {
		f.limitNext = false
		f.rateLimit(w)
		return
	}
	pat, job := r.Header.Get("PRIVATE-TOKEN"), r.Header.Get("JOB-TOKEN")
	if r.Header.Get("Authorization") != "" || (pat != "" && job != "") {
		f.unexpected(w, r, "the client sends one token, in PRIVATE-TOKEN or JOB-TOKEN")
		return
	}
	var who caller
	switch {
	case pat != "" && pat == f.token:
	case pat != "" && pat == f.readToken:
		who.readOnly = true
	case job != "" && job == f.jobToken:
		who.job = true
	default:
		msg := "401 Unauthorized"
		if f.echoToken {
			msg += " (token " + pat + job + ")"
		}
		f.message(w, http.StatusUnauthorized, msg)
		return
	}
	f.route(w, r, who)
}

// rateLimit is GitLab's 429 (Rack::Attack): plain-text body and the
// RateLimit-* headers.
func (f *fakeGitLab) rateLimit(w http.ResponseWriter) {
	now := f.clk.Now()
	h := w.Header()
	h.Set("RateLimit-Name", "throttle_authenticated_api")
	h.Set("RateLimit-Limit", "600")
	h.Set("RateLimit-Observed", "601")
	h.Set("RateLimit-Remaining", "0")
	h.Set("RateLimit-Reset", strconv.FormatInt(now.Add(2*time.Second).Unix(), 10))
	h.Set("RateLimit-ResetTime", now.Add(2*time.Second).UTC().Format(http.TimeFormat))
	h.Set("Retry-After", "2")
	h.Set("Content-Type", "text/plain")
	w.WriteHeader(http.StatusTooManyRequests)
	fmt.Fprintln(w, "Retry later")
}

// route serves the API, read from the escaped path so that a project path
// whose "/" was not encoded does not match (GitLab answers 404 to that).
func (f *fakeGitLab) route(w http.ResponseWriter, r *http.Request, who caller) {
	esc := r.URL.EscapedPath()
	if !strings.HasPrefix(esc, "/api/v4/") {
		f.unexpected(w, r, "not below /api/v4")
		return
	}
	segs := strings.Split(strings.TrimPrefix(esc, "/api/v4/"), "/")
	for i, s := range segs {
		u, err := url.PathUnescape(s)
		if err != nil {
			f.unexpected(w, r, "bad escaping")
			return
		}
		segs[i] = u
	}
	if len(segs) == 6 && segs[0] == "projects" && strings.Join(segs[2:], "/") == "registry/protection/tag/rules" &&
		r.Method == http.MethodGet {
		f.protectionRules(w, r, who, segs[1])
		return
	}
	if len(segs) < 4 || segs[0] != "projects" || segs[2] != "registry" || segs[3] != "repositories" {
		f.unexpected(w, r, "no such endpoint")
		return
	}
	p := f.project(segs[1])
	if p == nil || (who.job && p.id != f.jobProject) {
		f.message(w, http.StatusNotFound, "404 Project Not Found")
		return
	}
	rest := segs[4:]
	switch {
	case len(rest) == 0 && r.Method == http.MethodGet:
		q, ok := f.query(w, r, "tags", "tags_count", "per_page", "page")
		if !ok {
			return
		}
		if q.Get("tags") != "false" {
			f.unexpected(w, r, "repositories are listed with tags=false")
			return
		}
		items := make([]any, len(p.repos))
		for i, rp := range p.repos {
			items[i] = map[string]any{"id": rp.id, "name": rp.name, "path": rp.path, "project_id": p.id,
				"location": "registry.gitlab.com/" + rp.path, "created_at": "2024-01-10T13:38:57.391Z",
				"cleanup_policy_started_at": nil, "status": rp.status}
		}
		f.page(w, r, q, items)
		return
	case len(rest) >= 1:
		rid, err := strconv.ParseInt(rest[0], 10, 64)
		if err != nil {
			f.unexpected(w, r, "repository id is not a number")
			return
		}
		i := slices.IndexFunc(p.repos, func(rp *fakeRepo) bool { return rp.id == rid })
		if i < 0 {
			f.message(w, http.StatusNotFound, "404 Repository Not Found")
			return
		}
		f.repoRoute(w, r, who, p, p.repos[i], rest[1:])
		return
	}
	f.unexpected(w, r, "no such endpoint")
}

// protectionRules is GET /projects/:id/registry/protection/tag/rules, which
// needs admin_container_image (a maintainer): a job token gets 403.
func (f *fakeGitLab) protectionRules(w http.ResponseWriter, r *http.Request, who caller, id string) {
	if _, ok := f.query(w, r); !ok {
		return
	}
	p := f.project(id)
	switch {
	case p == nil:
		f.message(w, http.StatusNotFound, "404 Project Not Found")
		return
	case who.job:
		f.message(w, http.StatusForbidden, "403 Forbidden")
		return
	}
	out := make([]any, len(p.rules))
	for i, pat := range p.rules {
		out[i] = map[string]any{"id": i + 1, "project_id": p.id, "tag_name_pattern": pat,
			"minimum_access_level_for_push": "maintainer", "minimum_access_level_for_delete": "owner"}
	}
	apitest.WriteJSON(w, http.StatusOK, out)
}

func (p *fakeProject) protects(tag string) bool {
	return slices.ContainsFunc(p.rules, func(pat string) bool { return regexp.MustCompile(pat).MatchString(tag) })
}

func (f *fakeGitLab) project(id string) *fakeProject {
	for _, p := range f.projects {
		if strconv.FormatInt(p.id, 10) == id || strings.EqualFold(p.path, id) {
			return p
		}
	}
	return nil
}

// query checks the parameters against the endpoint's.
func (f *fakeGitLab) query(w http.ResponseWriter, r *http.Request, allowed ...string) (url.Values, bool) {
	q := r.URL.Query()
	for k := range q {
		if !slices.Contains(allowed, k) {
			f.unexpected(w, r, "unknown parameter "+k)
			return nil, false
		}
	}
	return q, true
}

func (f *fakeGitLab) repoRoute(w http.ResponseWriter, r *http.Request, who caller, p *fakeProject, rp *fakeRepo, rest []string) {
	switch {
	case len(rest) == 1 && rest[0] == "tags" && r.Method == http.MethodGet:
		q, ok := f.query(w, r, "per_page", "page")
		if !ok {
			return
		}
		names := make([]string, 0, len(rp.tags))
		for n := range rp.tags {
			names = append(names, n)
		}
		slices.Sort(names)
		items := make([]any, len(names))
		for i, n := range names {
			items[i] = map[string]any{"name": n, "path": rp.path + ":" + n, "location": "registry.gitlab.com/" + rp.path + ":" + n}
		}
		f.page(w, r, q, items)
	case len(rest) == 2 && rest[0] == "tags" && r.Method == http.MethodGet:
		if _, ok := f.query(w, r); !ok {
			return
		}
		tg := rp.tags[rest[1]]
		if tg == nil {
			f.message(w, http.StatusNotFound, "404 Tag Not Found")
			return
		}
		out := map[string]any{"name": rest[1], "path": rp.path + ":" + rest[1],
			"location": "registry.gitlab.com/" + rp.path + ":" + rest[1],
			"revision": nil, "short_revision": nil, "digest": nil, "created_at": nil, "total_size": nil}
		if !tg.broken {
			rev := strings.Repeat("e9", 32)
			out["revision"], out["short_revision"] = rev, rev[:9]
			out["digest"] = tg.digest
			out["created_at"] = tg.created.UTC().Format("2006-01-02T15:04:05.000-07:00")
			out["total_size"] = 350224384
		}
		apitest.WriteJSON(w, http.StatusOK, out)
	case len(rest) == 2 && rest[0] == "tags" && r.Method == http.MethodDelete:
		if _, ok := f.query(w, r); !ok {
			return
		}
		tg := rp.tags[rest[1]]
		switch {
		case who.readOnly:
			apitest.WriteJSON(w, http.StatusForbidden, map[string]string{"error": "insufficient_scope",
				"error_description": "The request requires higher privileges than provided by the access token.", "scope": "api"})
		case who.job && !f.jobCanDelete, f.roleTooLow:
			f.message(w, http.StatusForbidden, "403 Forbidden")
		case tg == nil:
			f.message(w, http.StatusNotFound, "404 Tag Not Found")
		case p.protects(rest[1]):
			f.message(w, http.StatusForbidden, "403 Forbidden")
		default:
			delete(rp.tags, rest[1])
			// 204 as the OpenAPI description says (older GitLab: 200,
			// which the client takes as well).
			w.WriteHeader(http.StatusNoContent)
		}
	default:
		f.unexpected(w, r, "no such endpoint")
	}
}

// page serves one page of items with GitLab's offset pagination headers.
func (f *fakeGitLab) page(w http.ResponseWriter, r *http.Request, q url.Values, items []any) {
	perPage, page := 20, 1
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
	total := len(items)
	pages := max(1, (total+perPage-1)/perPage)
	start := min((page-1)*perPage, total)
	end := min(start+perPage, total)
	h := w.Header()
	h.Set("X-Page", strconv.Itoa(page))
	h.Set("X-Per-Page", strconv.Itoa(perPage))
	if !f.noNextPage {
		next, prev := "", ""
		if page < pages {
			next = strconv.Itoa(page + 1)
		}
		if page > 1 {
			prev = strconv.Itoa(page - 1)
		}
		h["X-Next-Page"] = []string{next}
		h["X-Prev-Page"] = []string{prev}
	}
	if !f.noTotals {
		h.Set("X-Total", strconv.Itoa(total))
		h.Set("X-Total-Pages", strconv.Itoa(pages))
	}
	if !f.noLink {
		base := f.srv.URL
		if f.linkHost != "" {
			base = f.linkHost
		}
		link := func(p int, rel string) string {
			lq := url.Values{}
			for k, v := range q {
				lq[k] = v
			}
			lq.Set("page", strconv.Itoa(p))
			lq.Set("per_page", strconv.Itoa(perPage))
			return fmt.Sprintf(`<%s%s?%s>; rel="%s"`, base, r.URL.EscapedPath(), lq.Encode(), rel)
		}
		var links []string
		if page > 1 {
			links = append(links, link(page-1, "prev"))
		}
		if page < pages {
			links = append(links, link(page+1, "next"))
		}
		links = append(links, link(1, "first"), link(pages, "last"))
		h.Set("Link", strings.Join(links, ", "))
	}
	apitest.WriteJSON(w, http.StatusOK, items[start:end])
}
