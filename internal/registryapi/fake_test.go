package registryapi

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
)

// Delete behaviours of the fake registry.
const (
	modeV3       = "v3"        // distribution 3: tag DELETE untags (202), unknown tag 404
	modeV2       = "v2"        // distribution 2.x: tag DELETE -> 400 DIGEST_INVALID
	modeDisabled = "disabled"  // storage.delete.enabled=false: every DELETE -> 405 UNSUPPORTED
	modeLookup   = "lookup"    // looks a tag up first: unknown 404, known 400 UNSUPPORTED
	repoName     = "team/app"  // the one repository the fake serves
	fakeUser     = "cleaner"   // the fake's only user
	fakePass     = "s3cr3t-pw" // and its password
)

type fakeManifest struct {
	body      []byte
	mediaType string
}

// fakeRegistry follows the distribution API for one repository and fails
// the test on any request it does not expect: unknown paths, unexpected
// query parameters, missing or wrong Accept, Content-Type or Authorization.
type fakeRegistry struct {
	t   *testing.T
	srv *httptest.Server

	mu          sync.Mutex
	mode        string
	bearer      bool                // token auth instead of Basic
	tokens      map[string][]string // token -> actions it grants
	issued      int
	tokenScopes []string          // scope parameters of token requests, in order
	tags        map[string]string // tag -> digest
	manifests   map[string]fakeManifest
	blobs       map[string][]byte
	uploads     map[string]bool
	repoUnknown bool   // tags/list -> 404 NAME_UNKNOWN
	pages       string // tags/list: "v3" (relative Link), "abs" (absolute Link), "all" (2.8: ignore n), "null"
	referrers   bool   // serve the referrers API
	noDigest    bool   // HEAD without Docker-Content-Digest
	log         []string
	// hook runs first for every request; it returns true if it answered.
	hook func(w http.ResponseWriter, r *http.Request) bool
}

func newFake(t *testing.T, mode string) *fakeRegistry {
	t.Helper()
	f := &fakeRegistry{
		t: t, mode: mode, pages: "v3",
		tokens: map[string][]string{}, tags: map[string]string{},
		manifests: map[string]fakeManifest{}, blobs: map[string][]byte{}, uploads: map[string]bool{},
	}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.srv.Close)
	return f
}

// host is the fake's host:port.
func (f *fakeRegistry) host() string { return strings.TrimPrefix(f.srv.URL, "http://") }

// client returns a Client for the fake's repository with the right
// credentials and a retrying transport that does not wait.
func (f *fakeRegistry) client(opts ...Option) *Client {
	f.t.Helper()
	return f.clientAs(fakeUser, fakePass, opts...)
}

func (f *fakeRegistry) clientAs(user, pass string, opts ...Option) *Client {
	f.t.Helper()
	kc := staticKeychain{authn.FromConfig(authn.AuthConfig{Username: user, Password: pass})}
	opts = append([]Option{WithTransport(fastRetry())}, opts...)
	c, err := New(f.host()+"/"+repoName, kc, opts...)
	if err != nil {
		f.t.Fatal(err)
	}
	return c
}

type staticKeychain struct{ a authn.Authenticator }

func (k staticKeychain) Resolve(authn.Resource) (authn.Authenticator, error) { return k.a, nil }

// requests returns the log ("METHOD path[?query] -> status") and clears it.
func (f *fakeRegistry) requests() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	l := f.log
	f.log = nil
	return l
}

func digestOf(b []byte) string {
	sum := sha256.Sum256(b)
	return "sha256:" + hex.EncodeToString(sum[:])
}

// putBlob stores a blob and returns its digest.
func (f *fakeRegistry) putBlob(b []byte) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	d := digestOf(b)
	f.blobs[d] = b
	return d
}

// putManifest stores a manifest (and tags it, if tag != "") and returns its
// digest.
func (f *fakeRegistry) putManifest(tag, mediaType string, body []byte) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	d := digestOf(body)
	f.manifests[d] = fakeManifest{body: body, mediaType: mediaType}
	if tag != "" {
		f.tags[tag] = d
	}
	return d
}

// putImage stores an OCI image (config with created and labels, one
// layer) with manifest annotations and returns its manifest digest.
func (f *fakeRegistry) putImage(tag string, created time.Time, labels, annotations map[string]string) string {
	cfg, _ := json.Marshal(map[string]any{"created": created.Format(time.RFC3339Nano), "architecture": "amd64", "os": "linux",
		"config": map[string]any{"Labels": labels}, "rootfs": map[string]any{"type": "layers", "diff_ids": []string{}}})
	cd := f.putBlob(cfg)
	layer := []byte("layer of " + tag + created.String())
	ld := f.putBlob(layer)
	m, _ := json.Marshal(map[string]any{
		"schemaVersion": 2, "mediaType": MediaTypeOCIManifest,
		"config":      map[string]any{"mediaType": MediaTypeOCIConfig, "digest": cd, "size": len(cfg)},
		"layers":      []any{map[string]any{"mediaType": "application/vnd.oci.image.layer.v1.tar", "digest": ld, "size": len(layer)}},
		"annotations": annotations,
	})
	return f.putManifest(tag, MediaTypeOCIManifest, m)
}

func (f *fakeRegistry) tagDigest(tag string) (string, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	d, ok := f.tags[tag]
	return d, ok
}

func (f *fakeRegistry) tagNames() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var names []string
	for t := range f.tags {
		names = append(names, t)
	}
	slices.Sort(names)
	return names
}

func (f *fakeRegistry) hasManifest(d string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	_, ok := f.manifests[d]
	return ok
}

// errorJSON writes a distribution error body.
func errorJSON(w http.ResponseWriter, status int, code, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	fmt.Fprintf(w, `{"errors":[{"code":%q,"message":%q}]}`, code, msg)
}

type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (s *statusRecorder) WriteHeader(code int) {
	if s.status == 0 {
		s.status = code
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusRecorder) Write(b []byte) (int, error) {
	if s.status == 0 {
		s.status = http.StatusOK
	}
	return s.ResponseWriter.Write(b)
}

func (f *fakeRegistry) serve(w http.ResponseWriter, r *http.Request) {
	sr := &statusRecorder{ResponseWriter: w}
	defer func() {
		line := r.Method + " " + r.URL.Path
		if r.URL.RawQuery != "" {
			line += "?" + r.URL.RawQuery
		}
		f.mu.Lock()
		f.log = append(f.log, fmt.Sprintf("%s -> %d", line, sr.status))
		f.mu.Unlock()
	}()
	if h := f.hook; h != nil && h(sr, r) {
		return
	}
	f.route(sr, r)
}

var (
	reTags      = regexp.MustCompile(`^/v2/(.+)/tags/list$`)
	reManifest  = regexp.MustCompile(`^/v2/(.+)/manifests/([^/]+)$`)
	reBlob      = regexp.MustCompile(`^/v2/(.+)/blobs/(sha256:[0-9a-f]{64})$`)
	reUploads   = regexp.MustCompile(`^/v2/(.+)/blobs/uploads/$`)
	reUpload    = regexp.MustCompile(`^/v2/(.+)/blobs/uploads/([0-9a-z-]+)$`)
	reReferrers = regexp.MustCompile(`^/v2/(.+)/referrers/(sha256:[0-9a-f]{64})$`)
)

func (f *fakeRegistry) unexpected(w http.ResponseWriter, r *http.Request, why string) {
	f.t.Errorf("fake registry: unexpected request %s %s (%s)", r.Method, r.URL.RequestURI(), why)
	errorJSON(w, http.StatusBadRequest, "UNEXPECTED", why)
}

func (f *fakeRegistry) route(w http.ResponseWriter, r *http.Request) {
	p := r.URL.Path
	if p == "/token" {
		f.serveToken(w, r)
		return
	}
	if p == "/v2/" {
		if r.Method != http.MethodGet || r.URL.RawQuery != "" {
			f.unexpected(w, r, "ping")
			return
		}
		if !f.authorized(r, "") {
			f.challenge(w, "")
			return
		}
		w.WriteHeader(http.StatusOK)
		return
	}
	var m []string
	for _, re := range []*regexp.Regexp{reTags, reManifest, reUploads, reUpload, reBlob, reReferrers} {
		if m = re.FindStringSubmatch(p); m != nil {
			if m[1] != repoName {
				f.unexpected(w, r, "unknown repository")
				return
			}
			action := map[string]string{http.MethodGet: "pull", http.MethodHead: "pull", http.MethodPut: "push",
				http.MethodPost: "push", http.MethodDelete: "delete"}[r.Method]
			if !f.authorized(r, action) {
				f.challenge(w, action)
				return
			}
			f.mu.Lock()
			defer f.mu.Unlock()
			switch re {
			case reTags:
				f.serveTags(w, r)
			case reManifest:
				f.serveManifest(w, r, m[2])
			case reUploads, reUpload:
				f.serveUpload(w, r, m)
			case reBlob:
				f.serveBlob(w, r, m[2])
			case reReferrers:
				f.serveReferrers(w, r, m[2])
			}
			return
		}
	}
	f.unexpected(w, r, "unknown path")
}

// authorized checks the Authorization header: Basic with the user's
// password, or (bearer mode) a token granting action.
func (f *fakeRegistry) authorized(r *http.Request, action string) bool {
	h := r.Header.Get("Authorization")
	if !f.bearer {
		return h == "Basic "+base64.StdEncoding.EncodeToString([]byte(fakeUser+":"+fakePass))
	}
	tok, ok := strings.CutPrefix(h, "Bearer ")
	if !ok {
		return false
	}
	f.mu.Lock()
	scope, ok := f.tokens[tok]
	f.mu.Unlock()
	if !ok {
		return false
	}
	if action == "" {
		return true
	}
	return slices.Contains(scope, action)
}

func (f *fakeRegistry) challenge(w http.ResponseWriter, action string) {
	if f.bearer {
		v := fmt.Sprintf(`Bearer realm="%s/token",service="fake"`, f.srv.URL)
		if action != "" {
			v += fmt.Sprintf(`,scope="repository:%s:%s"`, repoName, action)
		}
		w.Header().Set("WWW-Authenticate", v)
	} else {
		w.Header().Set("WWW-Authenticate", `Basic realm="fake"`)
	}
	errorJSON(w, http.StatusUnauthorized, "UNAUTHORIZED", "authentication required")
}

// serveToken is the token server: GET with Basic credentials, one scope.
func (f *fakeRegistry) serveToken(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	if r.Method != http.MethodGet || q.Get("service") != "fake" || len(q["scope"]) == 0 || len(q) != 2 {
		f.unexpected(w, r, "token request")
		return
	}
	if r.Header.Get("Authorization") != "Basic "+base64.StdEncoding.EncodeToString([]byte(fakeUser+":"+fakePass)) {
		errorJSON(w, http.StatusUnauthorized, "UNAUTHORIZED", "bad credentials")
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	var actions []string
	for _, scope := range q["scope"] {
		f.tokenScopes = append(f.tokenScopes, scope)
		a, ok := strings.CutPrefix(scope, "repository:"+repoName+":")
		if !ok {
			f.unexpected(w, r, "scope "+scope)
			return
		}
		actions = append(actions, strings.Split(a, ",")...)
	}
	f.issued++
	tok := "tok-" + strconv.Itoa(f.issued)
	f.tokens[tok] = actions
	w.Header().Set("Content-Type", "application/json")
	fmt.Fprintf(w, `{"token":%q,"expires_in":300}`, tok)
}

// expireTokens invalidates every token issued so far.
func (f *fakeRegistry) expireTokens() {
	f.mu.Lock()
	defer f.mu.Unlock()
	clear(f.tokens)
}

func (f *fakeRegistry) serveTags(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	for k := range q {
		if k != "n" && k != "last" {
			f.unexpected(w, r, "tags/list parameter "+k)
			return
		}
	}
	if r.Method != http.MethodGet {
		f.unexpected(w, r, "tags/list method")
		return
	}
	if f.repoUnknown {
		errorJSON(w, http.StatusNotFound, "NAME_UNKNOWN", "repository name not known to registry")
		return
	}
	w.Header().Set("Content-Type", "application/json")
	var names []string
	for t := range f.tags {
		names = append(names, t)
	}
	switch f.pages {
	case "null":
		fmt.Fprintf(w, `{"name":%q,"tags":null}`, repoName)
		return
	case "all": // 2.8: everything, unsorted, n ignored
		slices.Reverse(names)
		_ = json.NewEncoder(w).Encode(map[string]any{"name": repoName, "tags": names})
		return
	}
	slices.Sort(names)
	if last := q.Get("last"); last != "" {
		i, _ := slices.BinarySearch(names, last)
		for i < len(names) && names[i] <= last {
			i++
		}
		names = names[i:]
	}
	if n, err := strconv.Atoi(q.Get("n")); err == nil && n < len(names) {
		names = names[:n]
		link := fmt.Sprintf("</v2/%s/tags/list?last=%s&n=%d>; rel=\"next\"", repoName, url.QueryEscape(names[n-1]), n)
		if f.pages == "abs" {
			link = "<" + f.srv.URL + link[1:]
		}
		w.Header().Set("Link", link)
	}
	_ = json.NewEncoder(w).Encode(map[string]any{"name": repoName, "tags": names})
}

func isDigest(ref string) bool { return strings.HasPrefix(ref, "sha256:") }

func (f *fakeRegistry) serveManifest(w http.ResponseWriter, r *http.Request, ref string) {
	if r.URL.RawQuery != "" {
		f.unexpected(w, r, "manifest query")
		return
	}
	switch r.Method {
	case http.MethodHead, http.MethodGet:
		if r.Header.Get("Accept") != acceptManifests {
			f.unexpected(w, r, "Accept "+r.Header.Get("Accept"))
			return
		}
		d := ref
		if !isDigest(ref) {
			var ok bool
			if d, ok = f.tags[ref]; !ok {
				errorJSON(w, http.StatusNotFound, "MANIFEST_UNKNOWN", "manifest unknown")
				return
			}
		}
		m, ok := f.manifests[d]
		if !ok {
			errorJSON(w, http.StatusNotFound, "MANIFEST_UNKNOWN", "manifest unknown")
			return
		}
		w.Header().Set("Content-Type", m.mediaType)
		w.Header().Set("Content-Length", strconv.Itoa(len(m.body)))
		if !f.noDigest {
			w.Header().Set("Docker-Content-Digest", d)
		}
		w.WriteHeader(http.StatusOK)
		if r.Method == http.MethodGet {
			_, _ = w.Write(m.body)
		}
	case http.MethodPut:
		f.putManifestHTTP(w, r, ref)
	case http.MethodDelete:
		f.deleteManifestHTTP(w, r, ref)
	default:
		f.unexpected(w, r, "manifest method")
	}
}

func (f *fakeRegistry) putManifestHTTP(w http.ResponseWriter, r *http.Request, ref string) {
	body, _ := io.ReadAll(r.Body)
	var m struct {
		MediaType string          `json:"mediaType"`
		Config    rawDescriptor   `json:"config"`
		Layers    []rawDescriptor `json:"layers"`
	}
	if err := json.Unmarshal(body, &m); err != nil || m.MediaType != r.Header.Get("Content-Type") || m.MediaType != MediaTypeOCIManifest {
		f.unexpected(w, r, "manifest body or Content-Type")
		return
	}
	for _, d := range append([]rawDescriptor{m.Config}, m.Layers...) {
		if _, ok := f.blobs[d.Digest]; !ok {
			errorJSON(w, http.StatusBadRequest, "MANIFEST_BLOB_UNKNOWN", "blob unknown to registry")
			return
		}
	}
	d := digestOf(body)
	if isDigest(ref) && ref != d {
		errorJSON(w, http.StatusBadRequest, "DIGEST_INVALID", "provided digest did not match uploaded content")
		return
	}
	f.manifests[d] = fakeManifest{body: body, mediaType: m.MediaType}
	if !isDigest(ref) {
		f.tags[ref] = d
	}
	w.Header().Set("Docker-Content-Digest", d)
	w.Header().Set("Location", "/v2/"+repoName+"/manifests/"+d)
	w.WriteHeader(http.StatusCreated)
}

func (f *fakeRegistry) deleteManifestHTTP(w http.ResponseWriter, r *http.Request, ref string) {
	if f.mode == modeDisabled {
		errorJSON(w, http.StatusMethodNotAllowed, "UNSUPPORTED", "The operation is unsupported.")
		return
	}
	if !isDigest(ref) {
		_, known := f.tags[ref]
		switch {
		case f.mode == modeV2:
			errorJSON(w, http.StatusBadRequest, "DIGEST_INVALID", "provided digest did not match uploaded content")
		case f.mode == modeLookup && known:
			errorJSON(w, http.StatusBadRequest, "UNSUPPORTED", "deleting tags is not supported")
		case !known:
			errorJSON(w, http.StatusNotFound, "MANIFEST_UNKNOWN", "manifest unknown")
		default:
			delete(f.tags, ref)
			w.WriteHeader(http.StatusAccepted)
		}
		return
	}
	if _, ok := f.manifests[ref]; !ok {
		errorJSON(w, http.StatusNotFound, "MANIFEST_UNKNOWN", "manifest unknown")
		return
	}
	delete(f.manifests, ref)
	for t, d := range f.tags {
		if d == ref {
			delete(f.tags, t)
		}
	}
	w.WriteHeader(http.StatusAccepted)
}

func (f *fakeRegistry) serveBlob(w http.ResponseWriter, r *http.Request, d string) {
	if r.URL.RawQuery != "" || (r.Method != http.MethodHead && r.Method != http.MethodGet) {
		f.unexpected(w, r, "blob request")
		return
	}
	b, ok := f.blobs[d]
	if !ok {
		errorJSON(w, http.StatusNotFound, "BLOB_UNKNOWN", "blob unknown to registry")
		return
	}
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	w.Header().Set("Docker-Content-Digest", d)
	w.WriteHeader(http.StatusOK)
	if r.Method == http.MethodGet {
		_, _ = w.Write(b)
	}
}

func (f *fakeRegistry) serveUpload(w http.ResponseWriter, r *http.Request, m []string) {
	if len(m) == 2 { // POST .../uploads/
		if r.Method != http.MethodPost || r.URL.RawQuery != "" {
			f.unexpected(w, r, "upload start")
			return
		}
		id := fmt.Sprintf("u-%d", len(f.uploads)+1)
		f.uploads[id] = true
		w.Header().Set("Location", "/v2/"+repoName+"/blobs/uploads/"+id)
		w.WriteHeader(http.StatusAccepted)
		return
	}
	id := m[2]
	q := r.URL.Query()
	if r.Method != http.MethodPut || !f.uploads[id] || len(q) != 1 || q.Get("digest") == "" ||
		r.Header.Get("Content-Type") != "application/octet-stream" {
		f.unexpected(w, r, "upload finish")
		return
	}
	body, _ := io.ReadAll(r.Body)
	if digestOf(body) != q.Get("digest") {
		errorJSON(w, http.StatusBadRequest, "DIGEST_INVALID", "digest mismatch")
		return
	}
	delete(f.uploads, id)
	f.blobs[q.Get("digest")] = body
	w.Header().Set("Docker-Content-Digest", q.Get("digest"))
	w.WriteHeader(http.StatusCreated)
}

func (f *fakeRegistry) serveReferrers(w http.ResponseWriter, r *http.Request, d string) {
	if r.Method != http.MethodGet || r.URL.RawQuery != "" || r.Header.Get("Accept") != MediaTypeOCIIndex {
		f.unexpected(w, r, "referrers request")
		return
	}
	if !f.referrers {
		w.WriteHeader(http.StatusNotFound)
		return
	}
	var refs []any
	for md, m := range f.manifests {
		var mm struct {
			ArtifactType string         `json:"artifactType"`
			Subject      *rawDescriptor `json:"subject"`
		}
		if json.Unmarshal(m.body, &mm) == nil && mm.Subject != nil && mm.Subject.Digest == d {
			refs = append(refs, map[string]any{"mediaType": m.mediaType, "digest": md, "size": len(m.body), "artifactType": mm.ArtifactType})
		}
	}
	w.Header().Set("Content-Type", MediaTypeOCIIndex)
	_ = json.NewEncoder(w).Encode(map[string]any{"schemaVersion": 2, "mediaType": MediaTypeOCIIndex, "manifests": refs})
}
