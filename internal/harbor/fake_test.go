package harbor

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
)

// The fake's accounts: one that may do everything and one that may only read.
const (
	fakeProject = "proj"
	fakeRepo    = "team/app" // a repository name with a slash: double-encoded in paths
	adminUser   = "robot$proj+cleaner"
	adminPass   = "Adm1n-s3cret-PW"
	readerUser  = "viewer"
	readerPass  = "Read3r-s3cret-PW"
)

type fakeTag struct {
	name      string
	pushTime  time.Time
	immutable bool
	signed    bool
}

type fakeArtifact struct {
	id          int64
	digest      string
	mediaType   string // manifest media type
	size        int64
	pushTime    time.Time
	pullTime    time.Time
	created     time.Time
	labels      map[string]string
	annotations map[string]string
	children    []string // digests of an index's children
	accessories []string // digests of artifacts attached to this one
	tags        []*fakeTag
}

// fakeHarbor follows the Harbor v2.0 API for one repository and fails the
// test on any request it does not expect: unknown paths or methods,
// unexpected query parameters, a repository name not URL-encoded twice,
// missing Basic authentication or Accept.
type fakeHarbor struct {
	t   *testing.T
	srv *apitest.Server

	mu        sync.Mutex
	artifacts []*fakeArtifact
	nextID    int64
	rateLimit int  // answer this many next requests with 429
	noTotal   bool // leave X-Total-Count out (Link only)
	noLink    bool // leave Link out
	extraPage bool // X-Total-Count one higher than the truth (an artifact deleted meanwhile)
	writes    []string
	requests  []string
	// hook runs first for every request; it returns true if it answered.
	hook func(w http.ResponseWriter, r *http.Request) bool
}

func newFakeHarbor(t *testing.T) *fakeHarbor {
	t.Helper()
	f := &fakeHarbor{t: t, nextID: 1}
	// Every request and answer is checked against goharbor/harbor's
	// api/v2.0/swagger.yaml (with internal/apispec's documented corrections).
	f.srv = apitest.NewServer(t, http.HandlerFunc(f.serve), apitest.WithSpec("harbor", nil))
	return f
}

func digestOf(s string) string {
	sum := sha256.Sum256([]byte(s))
	return "sha256:" + hex.EncodeToString(sum[:])
}

var baseTime = time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)

// add creates an artifact for image with the given tags; later artifacts are
// pushed later.
func (f *fakeHarbor) add(image string, tags ...string) *fakeArtifact {
	f.mu.Lock()
	defer f.mu.Unlock()
	a := &fakeArtifact{id: f.nextID, digest: digestOf(image), mediaType: "application/vnd.oci.image.manifest.v1+json",
		size: 1234, pushTime: baseTime.Add(time.Duration(f.nextID) * time.Minute),
		created: baseTime.Add(-time.Hour), labels: map[string]string{"org.opencontainers.image.revision": "rev-" + image}}
	f.nextID++
	for _, t := range tags {
		a.tags = append(a.tags, &fakeTag{name: t, pushTime: a.pushTime})
	}
	f.artifacts = append(f.artifacts, a)
	return a
}

func (f *fakeHarbor) find(digest string) *fakeArtifact {
	for _, a := range f.artifacts {
		if a.digest == digest {
			return a
		}
	}
	return nil
}

// tagNames is the server's own view of the tags, sorted.
func (f *fakeHarbor) tagNames() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	tags := []string{}
	for _, a := range f.artifacts {
		for _, t := range a.tags {
			tags = append(tags, t.name)
		}
	}
	slices.Sort(tags)
	return tags
}

func (f *fakeHarbor) setTag(tag string, fn func(*fakeTag)) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, a := range f.artifacts {
		for _, t := range a.tags {
			if t.name == tag {
				fn(t)
				return
			}
		}
	}
	f.t.Fatalf("fake: no tag %s", tag)
}

// moveTag points tag at the artifact of digest, as a push would.
func (f *fakeHarbor) moveTag(tag, digest string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, a := range f.artifacts {
		a.tags = slices.DeleteFunc(a.tags, func(t *fakeTag) bool { return t.name == tag })
	}
	a := f.find(digest)
	a.tags = append(a.tags, &fakeTag{name: tag, pushTime: baseTime.Add(time.Hour)})
}

func (f *fakeHarbor) writeLog() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.writes)
}

func (f *fakeHarbor) requestLog() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.requests)
}

func harborError(w http.ResponseWriter, status int, code, format string, args ...any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{"errors": []map[string]string{{"code": code, "message": fmt.Sprintf(format, args...)}}})
}

func (f *fakeHarbor) unexpected(w http.ResponseWriter, r *http.Request, why string) {
	f.t.Errorf("fake harbor: unexpected request %s %s: %s", r.Method, r.URL.RequestURI(), why)
	harborError(w, http.StatusNotFound, "NOT_FOUND", "unexpected request")
}

// checkQuery fails the test on a query parameter the endpoint does not take.
func (f *fakeHarbor) checkQuery(w http.ResponseWriter, r *http.Request, allowed ...string) bool {
	return apitest.CheckQuery(r, func(why string) { f.unexpected(w, r, why) }, allowed...)
}

func (f *fakeHarbor) serve(w http.ResponseWriter, r *http.Request) {
	if f.hook != nil && f.hook(w, r) {
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.requests = append(f.requests, r.Method+" "+r.URL.RequestURI())
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		f.writes = append(f.writes, r.Method+" "+r.URL.RequestURI())
	}
	if f.rateLimit > 0 {
		// Harbor has no API rate limit of its own: a 429 comes from the
		// ingress or load balancer in front of it, as an HTML page.
		f.rateLimit--
		w.Header().Set("Retry-After", "1")
		w.Header().Set("Content-Type", "text/html")
		w.WriteHeader(http.StatusTooManyRequests)
		_, _ = w.Write([]byte("<html><body><h1>429 Too Many Requests</h1></body></html>"))
		return
	}
	segs := strings.Split(r.URL.EscapedPath(), "/")
	// "", "api", "v2.0", "projects", P, "repositories", R, "artifacts", ...
	if len(segs) < 8 || segs[1] != "api" || segs[2] != "v2.0" || segs[3] != "projects" || segs[5] != "repositories" ||
		segs[7] != "artifacts" {
		f.unexpected(w, r, "not an artifact path")
		return
	}
	if segs[4] != fakeProject {
		f.unexpected(w, r, "project "+segs[4])
		return
	}
	once, err := url.PathUnescape(segs[6])
	if err != nil || strings.Contains(once, "/") {
		f.unexpected(w, r, "the repository name is not URL-encoded twice")
		return
	}
	if twice, err := url.PathUnescape(once); err != nil || twice != fakeRepo {
		f.unexpected(w, r, "repository "+segs[6])
		return
	}
	if r.Header.Get("Accept") != "application/json" {
		f.unexpected(w, r, "Accept "+r.Header.Get("Accept"))
		return
	}
	user, pass, ok := r.BasicAuth()
	admin := ok && user == adminUser && pass == adminPass
	reader := ok && user == readerUser && pass == readerPass
	if !admin && !reader {
		harborError(w, http.StatusUnauthorized, "UNAUTHORIZED", "unauthorized")
		return
	}
	rest := segs[8:]
	switch {
	case len(rest) == 0 && r.Method == http.MethodGet:
		f.list(w, r)
	case len(rest) == 1 && r.Method == http.MethodGet:
		f.get(w, r, rest[0])
	case len(rest) == 1 && r.Method == http.MethodDelete:
		if !admin {
			harborError(w, http.StatusForbidden, "FORBIDDEN", "forbidden")
			return
		}
		f.deleteArtifact(w, r, rest[0])
	case len(rest) == 3 && rest[1] == "tags" && r.Method == http.MethodDelete:
		if !admin {
			harborError(w, http.StatusForbidden, "FORBIDDEN", "forbidden")
			return
		}
		f.deleteTag(w, r, rest[0], rest[2])
	default:
		f.unexpected(w, r, "no such endpoint")
	}
}

// listed are the artifacts Harbor lists: tagged ones and those no index
// references, newest push first.
func (f *fakeHarbor) listed() []*fakeArtifact {
	child := map[string]bool{}
	for _, a := range f.artifacts {
		for _, c := range a.children {
			child[c] = true
		}
	}
	var out []*fakeArtifact
	for _, a := range f.artifacts {
		if len(a.tags) > 0 || !child[a.digest] {
			out = append(out, a)
		}
	}
	slices.SortStableFunc(out, func(a, b *fakeArtifact) int { return b.pushTime.Compare(a.pushTime) })
	return out
}

func boolParam(q url.Values, key string, def bool) bool {
	if v := q.Get(key); v != "" {
		b, _ := strconv.ParseBool(v)
		return b
	}
	return def
}

func (f *fakeHarbor) list(w http.ResponseWriter, r *http.Request) {
	if !f.checkQuery(w, r, "page", "page_size", "with_tag", "with_immutable_status", "with_accessory") {
		return
	}
	q := r.URL.Query()
	page, size := 1, 10
	if v := q.Get("page"); v != "" {
		page, _ = strconv.Atoi(v)
	}
	if v := q.Get("page_size"); v != "" {
		size, _ = strconv.Atoi(v)
	}
	if size > 100 {
		harborError(w, http.StatusUnprocessableEntity, "UNPROCESSABLE_ENTITY",
			"validation failure list:\npage_size in query should be less than or equal to 100")
		return
	}
	if page < 1 || size < 1 {
		f.unexpected(w, r, "page or page_size below 1")
		return
	}
	all := f.listed()
	total := len(all)
	var batch []map[string]any
	for i := (page - 1) * size; i < min(page*size, total); i++ {
		batch = append(batch, f.render(all[i], boolParam(q, "with_tag", true), boolParam(q, "with_immutable_status", false),
			boolParam(q, "with_accessory", false)))
	}
	if f.extraPage {
		total++
	}
	if !f.noTotal {
		w.Header().Set("X-Total-Count", strconv.Itoa(total))
	}
	if !f.noLink {
		// Harbor's Links: the request URL with page and page_size set and the
		// query unescaped, joined with " , ".
		link := func(p int, rel string) string {
			u := *r.URL
			qq := u.Query()
			qq.Set("page", strconv.Itoa(p))
			qq.Set("page_size", strconv.Itoa(size))
			u.RawQuery, _ = url.QueryUnescape(qq.Encode())
			return fmt.Sprintf(`<%s>; rel="%s"`, u.String(), rel)
		}
		var links []string
		if page > 1 && (page-1)*size < total {
			links = append(links, link(page-1, "prev"))
		}
		if page*size < total {
			links = append(links, link(page+1, "next"))
		}
		if len(links) > 0 {
			w.Header().Set("Link", strings.Join(links, " , "))
		}
	}
	w.Header().Set("Content-Type", "application/json")
	if batch == nil {
		_, _ = w.Write([]byte("[]"))
		return
	}
	_ = json.NewEncoder(w).Encode(batch)
}

func harborTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z") }

// render is Harbor's Artifact model.
func (f *fakeHarbor) render(a *fakeArtifact, withTag, withImmutable, withAccessory bool) map[string]any {
	m := map[string]any{
		"id": a.id, "type": "IMAGE", "media_type": "application/vnd.oci.image.config.v1+json",
		"manifest_media_type": a.mediaType, "project_id": 1, "repository_id": 1,
		"repository_name": fakeProject + "/" + fakeRepo, "digest": a.digest, "size": a.size,
		"push_time": harborTime(a.pushTime), "pull_time": harborTime(a.pullTime), "icon": "sha256:0048",
		"annotations": a.annotations, "labels": nil, "addition_links": map[string]any{},
		"extra_attrs": map[string]any{"architecture": "amd64", "os": "linux", "author": "",
			"created": a.created.Format(time.RFC3339Nano),
			"config":  map[string]any{"Env": []string{"PATH=/bin"}, "Labels": a.labels}},
	}
	if len(a.children) > 0 {
		m["media_type"] = "application/vnd.oci.image.index.v1+json"
		m["extra_attrs"] = map[string]any{}
		var refs []map[string]any
		for _, c := range a.children {
			refs = append(refs, map[string]any{"parent_id": a.id, "child_id": 99, "child_digest": c,
				"platform": map[string]any{"os": "linux", "architecture": "amd64"}})
		}
		m["references"] = refs
	}
	if withTag {
		var tags []map[string]any
		for _, t := range a.tags {
			tm := map[string]any{"id": 7, "repository_id": 1, "artifact_id": a.id, "name": t.name,
				"push_time": harborTime(t.pushTime), "pull_time": harborTime(time.Time{}), "signed": t.signed}
			if withImmutable {
				tm["immutable"] = t.immutable
			} else {
				tm["immutable"] = false
			}
			tags = append(tags, tm)
		}
		m["tags"] = tags
	}
	if withAccessory {
		var accs []map[string]any
		for _, d := range a.accessories {
			accs = append(accs, map[string]any{"id": 3, "artifact_id": 42, "subject_artifact_id": a.id,
				"subject_artifact_digest": a.digest, "size": 100, "digest": d, "type": "signature.cosign",
				"creation_time": harborTime(a.pushTime)})
		}
		m["accessories"] = accs
	}
	return m
}

// lookup finds an artifact by digest or tag, as Harbor's GetByReference.
func (f *fakeHarbor) lookup(ref string) *fakeArtifact {
	if strings.Contains(ref, ":") {
		return f.find(ref)
	}
	for _, a := range f.artifacts {
		for _, t := range a.tags {
			if t.name == ref {
				return a
			}
		}
	}
	return nil
}

func (f *fakeHarbor) notFound(w http.ResponseWriter, ref string) {
	sep := ":"
	if strings.Contains(ref, ":") {
		sep = "@"
	}
	harborError(w, http.StatusNotFound, "NOT_FOUND", "artifact %s/%s%s%s not found", fakeProject, fakeRepo, sep, ref)
}

func (f *fakeHarbor) get(w http.ResponseWriter, r *http.Request, ref string) {
	if !f.checkQuery(w, r, "with_tag", "with_immutable_status") {
		return
	}
	ref, _ = url.PathUnescape(ref)
	a := f.lookup(ref)
	if a == nil {
		f.notFound(w, ref)
		return
	}
	q := r.URL.Query()
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(f.render(a, boolParam(q, "with_tag", true), boolParam(q, "with_immutable_status", false), false))
}

func (f *fakeHarbor) deleteTag(w http.ResponseWriter, r *http.Request, ref, tag string) {
	if !f.checkQuery(w, r) {
		return
	}
	ref, _ = url.PathUnescape(ref)
	tag, _ = url.PathUnescape(tag)
	a := f.lookup(ref)
	if a == nil {
		f.notFound(w, ref)
		return
	}
	i := slices.IndexFunc(a.tags, func(t *fakeTag) bool { return t.name == tag })
	if i < 0 {
		harborError(w, http.StatusNotFound, "NOT_FOUND", "tag %s attached to artifact %d not found", tag, a.id)
		return
	}
	switch t := a.tags[i]; {
	case t.immutable:
		harborError(w, http.StatusPreconditionFailed, "PRECONDITION", "the tag %s configured as immutable, cannot be deleted", tag)
		return
	case t.signed:
		harborError(w, http.StatusPreconditionFailed, "PRECONDITION", "the tag %s with signature cannot be deleted", tag)
		return
	}
	a.tags = slices.Delete(a.tags, i, i+1)
	w.WriteHeader(http.StatusOK)
}

func (f *fakeHarbor) deleteArtifact(w http.ResponseWriter, r *http.Request, ref string) {
	if !f.checkQuery(w, r) {
		return
	}
	ref, _ = url.PathUnescape(ref)
	a := f.lookup(ref)
	if a == nil {
		f.notFound(w, ref)
		return
	}
	for _, t := range a.tags {
		if t.immutable {
			harborError(w, http.StatusPreconditionFailed, "PRECONDITION", "the tag %s configured as immutable, cannot be deleted", t.name)
			return
		}
	}
	// The artifact goes with all its tags, and its children and accessories
	// unless something else still needs them.
	gone := map[string]bool{a.digest: true}
	for _, d := range append(slices.Clone(a.children), a.accessories...) {
		if c := f.find(d); c != nil && len(c.tags) == 0 {
			gone[d] = true
		}
	}
	f.artifacts = slices.DeleteFunc(f.artifacts, func(x *fakeArtifact) bool { return gone[x.digest] })
	w.WriteHeader(http.StatusOK)
}
