package dockerhub

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"github.com/docker-werf/docker-werf/internal/apiclient/apitest"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// Fake accounts and namespaces.
const (
	fakeNS       = "team"
	fakeRepo     = "app"
	fakeUser     = "cleaner"
	fakePassword = "hub-Passw0rd-xyz"
	fakePAT      = "dckr_pat_fakeAccessToken123"
	fakeToken    = "eyJhbGciOiJIUzI1NiJ9.static-hub-token.sig" // a Hub API token given as such
	readOnlyPAT  = "dckr_pat_readOnlyToken456"                 // its tokens may read, not delete
)

// fakeTag is one tag of the fake repository.
type fakeTag struct {
	digest    string
	mediaType string
	images    []map[string]any
	updated   time.Time
	immutable bool
}

// hubFake follows the Docker Hub API for one repository (team/app): the
// token endpoint, the namespaces tag listing with page/page_size and an
// absolute "next", one tag, and the legacy tag DELETE with its trailing
// slash. It fails the test on any request it does not expect: unknown
// paths, methods or query parameters, a missing bearer token, a DELETE
// without the trailing slash, a page_size above 100.
type hubFake struct {
	t   *testing.T
	srv *apitest.Server

	mu       sync.Mutex
	secrets  map[string]bool // identifier secrets that make tokens: password and PATs
	tokens   map[string]tokenGrant
	issued   int
	tags     map[string]*fakeTag
	writes   []string
	limited  int    // answer this many next requests with 429
	limitHdr string // "x-retry-after" (Hub's), "retry-after", "reset"
	noDigest bool   // omit the top-level digest
	pageSize int    // when set, the page size the fake uses whatever was asked (hub-feedback #2343)
	hook     func(w http.ResponseWriter, r *http.Request) bool
}

type tokenGrant struct{ canDelete, expired bool }

func newHubFake(t *testing.T) *hubFake {
	t.Helper()
	f := &hubFake{
		t:        t,
		secrets:  map[string]bool{fakePassword: true, fakePAT: true, readOnlyPAT: true},
		tokens:   map[string]tokenGrant{fakeToken: {canDelete: true}},
		tags:     map[string]*fakeTag{},
		limitHdr: "x-retry-after",
	}
	f.srv = apitest.NewServer(t, http.HandlerFunc(f.serve), apitest.WithSpec("dockerhub", nil))
	return f
}

func digestOf(s string) string {
	sum := sha256.Sum256([]byte(s))
	return "sha256:" + hex.EncodeToString(sum[:])
}

// seed adds tags (tag -> image name; tags of one image share its digest),
// each updated one minute after the previous in tag order.
func (f *hubFake) seed(tags map[string]string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	names := make([]string, 0, len(tags))
	for n := range tags {
		names = append(names, n)
	}
	slices.Sort(names)
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for i, n := range names {
		d := digestOf(tags[n])
		f.tags[n] = &fakeTag{
			digest:    d,
			mediaType: "application/vnd.oci.image.manifest.v1+json",
			images:    []map[string]any{fakeImage(d, "amd64", nil)},
			updated:   start.Add(time.Duration(i) * time.Minute),
		}
	}
}

// fakeImage is one platform of a tag; variant is left out when nil (the
// description has no null there).
func fakeImage(digest, arch string, variant *string) map[string]any {
	m := map[string]any{
		"architecture": arch, "features": "", "digest": digest, "os": "linux",
		"os_features": "", "size": 1234, "status": "active",
		"last_pulled": "2026-02-01T00:00:00.000000Z", "last_pushed": "2026-01-01T00:00:00.000000Z",
	}
	if variant != nil {
		m["variant"] = *variant
	}
	return m
}

func (f *hubFake) liveTags() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []string
	for n := range f.tags {
		out = append(out, n)
	}
	slices.Sort(out)
	return out
}

func (f *hubFake) recordedWrites() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.writes)
}

func (f *hubFake) requests() []string { return f.srv.Requests() }

func (f *hubFake) rateLimitNext(n int, hdr string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.limited, f.limitHdr = n, hdr
}

// unexpected fails the test and answers 400.
func (f *hubFake) unexpected(w http.ResponseWriter, r *http.Request, why string) {
	f.t.Errorf("hub fake: unexpected request %s %s: %s", r.Method, r.URL.RequestURI(), why)
	apitest.WriteJSON(w, http.StatusBadRequest, map[string]any{"message": "unexpected request: " + why, "errinfo": map[string]any{}})
}

func (f *hubFake) serve(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.hook != nil && f.hook(w, r) {
		return
	}
	if f.limited > 0 {
		f.limited--
		f.rateLimit(w)
		return
	}
	if r.URL.Path == "/v2/auth/token" {
		f.createToken(w, r)
		return
	}
	grant, ok := f.authorize(w, r)
	if !ok {
		return
	}
	listPath := "/v2/namespaces/" + fakeNS + "/repositories/" + fakeRepo + "/tags"
	deletePrefix := "/v2/repositories/" + fakeNS + "/" + fakeRepo + "/tags/"
	switch {
	case r.URL.Path == listPath:
		if r.Method != http.MethodGet {
			f.unexpected(w, r, "method")
			return
		}
		f.list(w, r)
	case strings.HasPrefix(r.URL.Path, listPath+"/"):
		if r.Method != http.MethodGet || r.URL.RawQuery != "" {
			f.unexpected(w, r, "method or query")
			return
		}
		name := strings.TrimPrefix(r.URL.Path, listPath+"/")
		t, ok := f.tags[name]
		if !ok || strings.Contains(name, "/") {
			apitest.WriteJSON(w, http.StatusNotFound, map[string]any{"message": "httperror 404: tag '" + name + "' not found", "errinfo": map[string]any{}})
			return
		}
		apitest.WriteJSON(w, http.StatusOK, f.tagJSON(name, t))
	case strings.HasPrefix(r.URL.Path, deletePrefix):
		if r.Method != http.MethodDelete || r.URL.RawQuery != "" {
			f.unexpected(w, r, "method or query")
			return
		}
		if !strings.HasSuffix(r.URL.Path, "/") {
			f.unexpected(w, r, "tag DELETE without the trailing slash")
			return
		}
		f.writes = append(f.writes, r.Method+" "+r.URL.Path)
		if !grant.canDelete {
			apitest.WriteJSON(w, http.StatusForbidden, map[string]any{"detail": "access is forbidden with a JWT issued from a personal access token"})
			return
		}
		name := strings.TrimSuffix(strings.TrimPrefix(r.URL.Path, deletePrefix), "/")
		t, ok := f.tags[name]
		if !ok {
			apitest.WriteJSON(w, http.StatusNotFound, map[string]any{"message": "httperror 404: tag not found", "errinfo": map[string]any{}})
			return
		}
		if t.immutable {
			apitest.WriteJSON(w, http.StatusConflict, map[string]any{"message": "tag " + name + " is immutable", "errinfo": map[string]any{}})
			return
		}
		delete(f.tags, name)
		w.WriteHeader(http.StatusNoContent)
	default:
		f.unexpected(w, r, "unknown path")
	}
}

// rateLimit answers as Hub's API limiter does: 429 with X-RateLimit-* and
// X-Retry-After (a Unix time).
func (f *hubFake) rateLimit(w http.ResponseWriter) {
	reset := strconv.FormatInt(time.Now().Add(time.Second).Unix(), 10)
	w.Header().Set("X-RateLimit-Limit", "180")
	w.Header().Set("X-RateLimit-Remaining", "0")
	switch f.limitHdr {
	case "x-retry-after":
		w.Header().Set("X-RateLimit-Reset", reset)
		w.Header().Set("X-Retry-After", reset)
	case "reset":
		w.Header().Set("X-RateLimit-Reset", reset)
	case "retry-after":
		w.Header().Set("Retry-After", "1")
	}
	apitest.WriteJSON(w, http.StatusTooManyRequests, map[string]any{"message": "Too Many Requests", "errinfo": map[string]any{}})
}

func (f *hubFake) createToken(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost || r.URL.RawQuery != "" {
		f.unexpected(w, r, "method or query")
		return
	}
	if r.Header.Get("Authorization") != "" {
		f.unexpected(w, r, "Authorization on the token endpoint")
		return
	}
	if ct := r.Header.Get("Content-Type"); ct != "application/json" {
		f.unexpected(w, r, "Content-Type "+ct)
		return
	}
	var body map[string]string
	dec := json.NewDecoder(io.LimitReader(r.Body, 1<<16))
	if err := dec.Decode(&body); err != nil || len(body) != 2 || body["identifier"] == "" || body["secret"] == "" {
		f.unexpected(w, r, "body must be {identifier, secret}")
		return
	}
	if body["identifier"] != fakeUser || !f.secrets[body["secret"]] {
		apitest.WriteJSON(w, http.StatusUnauthorized, map[string]any{"detail": "Incorrect authentication credentials",
			"message": "Incorrect authentication credentials"})
		return
	}
	f.issued++
	tok := fmt.Sprintf("eyJhbGciOiJIUzI1NiJ9.made-%d.sig", f.issued)
	f.tokens[tok] = tokenGrant{canDelete: body["secret"] != readOnlyPAT}
	apitest.WriteJSON(w, http.StatusOK, map[string]any{"access_token": tok})
}

// authorize checks the bearer token; false means it answered.
func (f *hubFake) authorize(w http.ResponseWriter, r *http.Request) (tokenGrant, bool) {
	h := r.Header.Get("Authorization")
	tok, ok := strings.CutPrefix(h, "Bearer ")
	if !ok {
		f.unexpected(w, r, "no bearer token")
		return tokenGrant{}, false
	}
	g, ok := f.tokens[tok]
	if !ok || g.expired {
		apitest.WriteJSON(w, http.StatusUnauthorized, map[string]any{"message": "Token is invalid or expired (" + tok + ")", "errinfo": map[string]any{}})
		return tokenGrant{}, false
	}
	return g, true
}

func (f *hubFake) list(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	for k := range q {
		if k != "page" && k != "page_size" {
			f.unexpected(w, r, "query parameter "+k)
			return
		}
	}
	page, size := 1, 10
	if v := q.Get("page"); v != "" {
		page, _ = strconv.Atoi(v)
	}
	if v := q.Get("page_size"); v != "" {
		size, _ = strconv.Atoi(v)
	}
	if page < 1 || size < 1 || size > 100 {
		f.unexpected(w, r, "page or page_size out of range")
		return
	}
	if f.pageSize > 0 {
		size = f.pageSize
	}
	// Hub lists the newest first.
	names := make([]string, 0, len(f.tags))
	for n := range f.tags {
		names = append(names, n)
	}
	slices.SortFunc(names, func(a, b string) int {
		if c := f.tags[b].updated.Compare(f.tags[a].updated); c != 0 {
			return c
		}
		return strings.Compare(a, b)
	})
	from := (page - 1) * size
	if from > 0 && from >= len(names) {
		apitest.WriteJSON(w, http.StatusNotFound, map[string]any{"detail": "Invalid page."})
		return
	}
	to := min(from+size, len(names))
	results := []any{}
	for _, n := range names[from:to] {
		results = append(results, f.tagJSON(n, f.tags[n]))
	}
	var next, prev any
	link := func(p int) string {
		v := url.Values{"page": {strconv.Itoa(p)}, "page_size": {strconv.Itoa(size)}}
		return "http://" + r.Host + r.URL.Path + "?" + v.Encode()
	}
	if to < len(names) {
		next = link(page + 1)
	}
	if page > 1 {
		prev = link(page - 1)
	}
	apitest.WriteJSON(w, http.StatusOK, map[string]any{"count": len(names), "next": next, "previous": prev, "results": results})
}

func (f *hubFake) tagJSON(name string, t *fakeTag) map[string]any {
	ts := t.updated.Format("2006-01-02T15:04:05.000000Z")
	m := map[string]any{
		"creator": 1, "id": 1, "images": t.images, "last_updated": ts, "last_updater": 1,
		"last_updater_username": fakeUser, "name": name, "repository": 1, "full_size": 1234,
		"tag_status": "active", "tag_last_pulled": ts, "tag_last_pushed": ts, "media_type": t.mediaType,
		"content_type": "image", "digest": t.digest,
	}
	if f.noDigest {
		delete(m, "digest")
	}
	return m
}
