package quay

import (
	"crypto/sha256"
	"encoding/hex"
	"github.com/docker-werf/docker-werf/internal/apiclient/apitest"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// Fake namespace, repository and tokens.
const (
	fakeNS      = "team"
	fakeRepo    = "app"
	rwToken     = "quayOAuthReadWrite0123456789"
	roToken     = "quayOAuthReadOnly0123456789"
	listPrefix  = "/api/v1/repository/" + fakeNS + "/" + fakeRepo + "/tag/"
	seedStartTS = int64(1767225600) // 2026-01-01T00:00:00Z
)

// entry is one row of Quay's tag history: a tag's life on one manifest.
type entry struct {
	name      string
	digest    string
	isList    bool
	start     int64
	end       *int64
	immutable bool
	reversion bool
}

// quayFake follows the Quay API for one repository (team/app): the tag
// history listing (onlyActiveTags, specificTag, limit clamped to 100, page,
// has_additional) and the tag DELETE, which ends the tag's life (time
// machine) rather than forgetting it. It fails the test on any request it
// does not expect: unknown paths, methods or query parameters, a missing
// bearer token, a listing without onlyActiveTags.
type quayFake struct {
	t   *testing.T
	srv *apitest.Server

	mu        sync.Mutex
	now       func() time.Time
	history   []*entry
	tokens    map[string]bool // token -> may write
	writes    []string
	limited   int  // answer this many next requests with 429
	retryHdr  bool // send Retry-After with the 429
	allActive bool // ignore onlyActiveTags (list history too)
	hook      func(w http.ResponseWriter, r *http.Request) bool
}

func newQuayFake(t *testing.T) *quayFake {
	t.Helper()
	f := &quayFake{t: t, now: time.Now, tokens: map[string]bool{rwToken: true, roToken: false}}
	// Quay publishes no API description: the kit logs and is strict only.
	f.srv = apitest.NewServer(t, http.HandlerFunc(f.serve))
	return f
}

func digestOf(s string) string {
	sum := sha256.Sum256([]byte(s))
	return "sha256:" + hex.EncodeToString(sum[:])
}

func ptr[T any](v T) *T { return &v }

// seed adds live tags (tag -> image name; tags of one image share its
// digest), each started one minute after the previous in tag order. Every
// tag also gets a dead history entry (it pointed to another manifest
// before), and the repository a tag that expired.
func (f *quayFake) seed(tags map[string]string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	names := make([]string, 0, len(tags))
	for n := range tags {
		names = append(names, n)
	}
	slices.Sort(names)
	for i, n := range names {
		start := seedStartTS + int64(i)*60
		f.history = append(f.history,
			&entry{name: n, digest: digestOf("before-" + n), start: start - 3600, end: ptr(start)},
			&entry{name: n, digest: digestOf(tags[n]), start: start})
	}
	f.history = append(f.history, &entry{name: "expired-long-ago", digest: digestOf("x"), start: seedStartTS - 7200,
		end: ptr(seedStartTS - 3600)})
}

func (f *quayFake) liveLocked(e *entry) bool {
	return e.end == nil || *e.end > f.now().Unix()
}

func (f *quayFake) liveTags() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []string
	for _, e := range f.history {
		if f.liveLocked(e) {
			out = append(out, e.name)
		}
	}
	slices.Sort(out)
	return out
}

func (f *quayFake) liveEntry(name string) *entry {
	for _, e := range f.history {
		if e.name == name && f.liveLocked(e) {
			return e
		}
	}
	return nil
}

func (f *quayFake) recordedWrites() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.writes)
}

func (f *quayFake) requests() []string { return f.srv.Requests() }

// apiError answers in Quay's API error format.
func apiError(w http.ResponseWriter, code int, errType, msg string) {
	apitest.WriteJSON(w, code, map[string]any{"status": code, "error_message": msg, "title": errType, "error_type": errType,
		"detail": msg, "type": "https://quay.io/api/v1/error/" + errType})
}

func (f *quayFake) unexpected(w http.ResponseWriter, r *http.Request, why string) {
	f.t.Errorf("quay fake: unexpected request %s %s: %s", r.Method, r.URL.RequestURI(), why)
	apiError(w, http.StatusBadRequest, "invalid_request", "unexpected request: "+why)
}

func (f *quayFake) serve(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.hook != nil && f.hook(w, r) {
		return
	}
	if f.limited > 0 {
		f.limited--
		// quay.io's front proxy limits requests per second: a bare 429.
		if f.retryHdr {
			w.Header().Set("Retry-After", "1")
		}
		w.Header().Set("Content-Type", "text/html")
		w.WriteHeader(http.StatusTooManyRequests)
		_, _ = w.Write([]byte("<html><body><h1>429 Too Many Requests</h1></body></html>\n"))
		return
	}
	tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok {
		f.unexpected(w, r, "no bearer token")
		return
	}
	canWrite, known := f.tokens[tok]
	if !known {
		apiError(w, http.StatusUnauthorized, "invalid_token", "The access token provided is invalid: "+tok)
		return
	}
	switch {
	case r.URL.Path == listPrefix:
		if r.Method != http.MethodGet {
			f.unexpected(w, r, "method")
			return
		}
		f.list(w, r)
	case strings.HasPrefix(r.URL.Path, listPrefix):
		name := strings.TrimPrefix(r.URL.Path, listPrefix)
		if r.Method != http.MethodDelete || r.URL.RawQuery != "" || strings.Contains(name, "/") {
			f.unexpected(w, r, "method, query or path")
			return
		}
		f.writes = append(f.writes, r.Method+" "+r.URL.Path)
		if !canWrite {
			apiError(w, http.StatusForbidden, "insufficient_scope", "Unauthorized")
			return
		}
		e := f.liveEntry(name)
		switch {
		case e == nil:
			apiError(w, http.StatusNotFound, "not_found", "Not Found")
		case e.immutable:
			apiError(w, http.StatusConflict, "tag_immutable", "Tag "+name+" is immutable")
		default:
			e.end = ptr(f.now().Unix())
			w.WriteHeader(http.StatusNoContent)
		}
	default:
		f.unexpected(w, r, "unknown path")
	}
}

func (f *quayFake) list(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	for k := range q {
		switch k {
		case "onlyActiveTags", "limit", "page", "specificTag":
		default:
			f.unexpected(w, r, "query parameter "+k)
			return
		}
	}
	if q.Get("onlyActiveTags") != "true" {
		f.unexpected(w, r, "listing without onlyActiveTags=true includes the tag history")
		return
	}
	limit, page := 50, 1
	if v := q.Get("limit"); v != "" {
		limit, _ = strconv.Atoi(v)
	}
	if v := q.Get("page"); v != "" {
		page, _ = strconv.Atoi(v)
	}
	limit, page = min(100, max(1, limit)), max(1, page)
	var rows []*entry
	for _, e := range f.history {
		if (f.allActive || f.liveLocked(e)) && (q.Get("specificTag") == "" || e.name == q.Get("specificTag")) {
			rows = append(rows, e)
		}
	}
	slices.SortStableFunc(rows, func(a, b *entry) int {
		if a.start != b.start {
			return int(b.start - a.start)
		}
		return strings.Compare(a.name, b.name)
	})
	from := min((page-1)*limit, len(rows))
	to := min(from+limit, len(rows))
	out := []any{}
	for _, e := range rows[from:to] {
		out = append(out, tagJSON(e))
	}
	apitest.WriteJSON(w, http.StatusOK, map[string]any{"tags": out, "page": page, "has_additional": to < len(rows)})
}

func tagJSON(e *entry) map[string]any {
	m := map[string]any{
		"name": e.name, "reversion": e.reversion, "start_ts": e.start, "manifest_digest": e.digest,
		"is_manifest_list": e.isList, "size": 1234, "immutable": e.immutable,
		"last_modified": time.Unix(e.start, 0).UTC().Format("Mon, 02 Jan 2006 15:04:05 -0000"),
	}
	if e.end != nil {
		m["end_ts"] = *e.end
		m["expiration"] = time.Unix(*e.end, 0).UTC().Format("Mon, 02 Jan 2006 15:04:05 -0000")
	}
	return m
}
