package acr

import (
	"crypto/sha256"
	"encoding/base64"
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

const (
	fakeService = "myreg.azurecr.io" // the login server tokens are asked for
	fakeRepo    = "team/app"
	adminUser   = "myreg"
	adminPass   = "Adm1n+pa55/word="
	readerUser  = "reader-token"
	readerPass  = "Read3r-pa55word"
	fakeTenant  = "72f988bf-86f1-41af-91ab-2d7cd011db47"
)

// jwt makes an unsigned JWT-shaped token with the given claims.
func jwt(claims map[string]any) string {
	enc := func(v any) string {
		b, _ := json.Marshal(v)
		return base64.RawURLEncoding.EncodeToString(b)
	}
	return enc(map[string]string{"alg": "RS256", "typ": "JWT"}) + "." + enc(claims) + ".c2lnbmF0dXJl"
}

func refreshToken(id string) string {
	return jwt(map[string]any{"iss": "Azure Container Registry", "aud": fakeService, "grant_type": "refresh_token",
		"jti": id, "exp": time.Now().Add(3 * time.Hour).Unix()})
}

func entraToken(id string) string {
	return jwt(map[string]any{"iss": "https://sts.windows.net/" + fakeTenant + "/", "aud": "https://management.azure.com/",
		"tid": fakeTenant, "oid": id, "exp": time.Now().Add(time.Hour).Unix()})
}

type fakeTagState struct {
	digest        string
	created       time.Time
	updated       time.Time
	deleteEnabled bool
	writeEnabled  bool
}

type fakeManifest struct {
	body          []byte
	mediaType     string
	created       time.Time
	deleteEnabled bool
	writeEnabled  bool
}

type accessToken struct {
	expires time.Time
	actions []string
}

// fakeACR follows ACR's metadata API (/acr/v1), its token service (/oauth2)
// and the registry API (/v2) for one repository, and fails the test on any
// request it does not expect: unknown paths or methods, unexpected query or
// form parameters, a repository name not encoded as one path segment on
// /acr/v1, a wrong token service, missing authentication.
type fakeACR struct {
	t   *testing.T
	srv *apitest.Server

	mu        sync.Mutex
	tags      map[string]*fakeTagState
	manifests map[string]*fakeManifest
	blobs     map[string][]byte
	clock     time.Time

	refreshTokens map[string]bool        // valid ACR refresh tokens
	entraTokens   map[string]bool        // valid Entra access tokens
	access        map[string]accessToken // issued access tokens
	tokenTTL      time.Duration
	exchanges     int
	tokenRequests []url.Values

	rateLimit int // answer this many next requests with 429
	writes    []string
	requests  []string
	// hook runs first for every request; it returns true if it answered.
	hook func(w http.ResponseWriter, r *http.Request) bool
}

func newFakeACR(t *testing.T) *fakeACR {
	t.Helper()
	f := &fakeACR{t: t, tags: map[string]*fakeTagState{}, manifests: map[string]*fakeManifest{}, blobs: map[string][]byte{},
		clock: time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC), refreshTokens: map[string]bool{}, entraTokens: map[string]bool{},
		access: map[string]accessToken{}, tokenTTL: time.Hour}
	f.srv = apitest.NewServer(t, http.HandlerFunc(f.serve), apitest.WithSpec("acr", nil), apitest.WithTLS())
	return f
}

func digestOf(b []byte) string {
	sum := sha256.Sum256(b)
	return "sha256:" + hex.EncodeToString(sum[:])
}

func (f *fakeACR) tick() time.Time {
	f.clock = f.clock.Add(time.Minute)
	return f.clock
}

// addImage pushes an image (a Docker manifest and its config) and returns
// its digest.
func (f *fakeACR) addImage(image string) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	config := []byte(fmt.Sprintf(`{"architecture":"amd64","os":"linux","created":"2024-01-02T03:04:05Z",`+
		`"config":{"Labels":{"org.opencontainers.image.revision":"rev-%s"}},"rootfs":{"type":"layers","diff_ids":[]}}`, image))
	cd := digestOf(config)
	f.blobs[cd] = config
	body := []byte(fmt.Sprintf(`{"schemaVersion":2,"mediaType":"application/vnd.docker.distribution.manifest.v2+json",`+
		`"config":{"mediaType":"application/vnd.docker.container.image.v1+json","size":%d,"digest":"%s"},"layers":[]}`, len(config), cd))
	d := digestOf(body)
	if f.manifests[d] == nil {
		f.manifests[d] = &fakeManifest{body: body, mediaType: "application/vnd.docker.distribution.manifest.v2+json",
			created: f.tick(), deleteEnabled: true, writeEnabled: true}
	}
	return d
}

// addIndex pushes an OCI index of the given manifests.
func (f *fakeACR) addIndex(children ...string) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var ms []string
	for _, c := range children {
		m := f.manifests[c]
		ms = append(ms, fmt.Sprintf(`{"mediaType":"%s","digest":"%s","size":%d,"platform":{"os":"linux","architecture":"amd64"}}`,
			m.mediaType, c, len(m.body)))
	}
	body := []byte(`{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[` + strings.Join(ms, ",") + `]}`)
	d := digestOf(body)
	f.manifests[d] = &fakeManifest{body: body, mediaType: "application/vnd.oci.image.index.v1+json", created: f.tick(),
		deleteEnabled: true, writeEnabled: true}
	return d
}

func (f *fakeACR) tag(tag, digest string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	now := f.tick()
	if t := f.tags[tag]; t != nil {
		t.digest, t.updated = digest, now
		return
	}
	f.tags[tag] = &fakeTagState{digest: digest, created: now, updated: now, deleteEnabled: true, writeEnabled: true}
}

func (f *fakeACR) tagNames() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	tags := []string{}
	for t := range f.tags {
		tags = append(tags, t)
	}
	slices.Sort(tags)
	return tags
}

func (f *fakeACR) writeLog() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.writes)
}

func (f *fakeACR) requestLog() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.requests)
}

func acrError(w http.ResponseWriter, status int, code, msg string) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{"errors": []map[string]any{{"code": code, "message": msg}}})
}

func (f *fakeACR) unexpected(w http.ResponseWriter, r *http.Request, why string) {
	f.t.Errorf("fake acr: unexpected request %s %s: %s", r.Method, r.URL.RequestURI(), why)
	acrError(w, http.StatusNotFound, "NOT_FOUND", "unexpected request")
}

func (f *fakeACR) checkQuery(w http.ResponseWriter, r *http.Request, allowed ...string) bool {
	return apitest.CheckQuery(r, func(why string) { f.unexpected(w, r, why) }, allowed...)
}

func (f *fakeACR) serve(w http.ResponseWriter, r *http.Request) {
	if f.hook != nil && f.hook(w, r) {
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.requests = append(f.requests, r.Method+" "+r.URL.RequestURI())
	if r.Method != http.MethodGet && r.Method != http.MethodHead && !strings.HasPrefix(r.URL.Path, "/oauth2/") {
		f.writes = append(f.writes, r.Method+" "+r.URL.RequestURI())
	}
	if f.rateLimit > 0 {
		f.rateLimit--
		w.Header().Set("Retry-After", "1")
		acrError(w, http.StatusTooManyRequests, "TOOMANYREQUESTS", "too many requests, please retry after some time")
		return
	}
	p := r.URL.EscapedPath()
	switch {
	case p == "/oauth2/exchange":
		f.exchange(w, r)
	case p == "/oauth2/token":
		f.token(w, r)
	case strings.HasPrefix(p, "/acr/v1/"):
		f.metadata(w, r, strings.TrimPrefix(p, "/acr/v1/"))
	case strings.HasPrefix(p, "/v2/"):
		f.registry(w, r, strings.TrimPrefix(p, "/v2/"))
	default:
		f.unexpected(w, r, "no such endpoint")
	}
}

// form reads a token service form, failing the test on a missing or
// unexpected field.
func (f *fakeACR) form(w http.ResponseWriter, r *http.Request, required []string, optional ...string) (url.Values, bool) {
	if r.Method != http.MethodPost || r.Header.Get("Content-Type") != "application/x-www-form-urlencoded" {
		f.unexpected(w, r, "want a POST of a form")
		return nil, false
	}
	if !f.checkQuery(w, r) {
		return nil, false
	}
	if err := r.ParseForm(); err != nil {
		f.unexpected(w, r, err.Error())
		return nil, false
	}
	for k := range r.PostForm {
		if !slices.Contains(required, k) && !slices.Contains(optional, k) {
			f.unexpected(w, r, "form field "+k)
			return nil, false
		}
	}
	for _, k := range required {
		if r.PostForm.Get(k) == "" {
			f.unexpected(w, r, "no form field "+k)
			return nil, false
		}
	}
	if s := r.PostForm.Get("service"); s != fakeService {
		f.unexpected(w, r, "service "+s)
		return nil, false
	}
	return r.PostForm, true
}

func (f *fakeACR) exchange(w http.ResponseWriter, r *http.Request) {
	form, ok := f.form(w, r, []string{"grant_type", "service", "access_token"}, "tenant")
	if !ok {
		return
	}
	if form.Get("grant_type") != "access_token" {
		f.unexpected(w, r, "grant_type "+form.Get("grant_type"))
		return
	}
	if t := form.Get("tenant"); t != "" && t != fakeTenant {
		acrError(w, http.StatusUnauthorized, "UNAUTHORIZED", "tenant mismatch")
		return
	}
	if !f.entraTokens[form.Get("access_token")] {
		acrError(w, http.StatusUnauthorized, "UNAUTHORIZED", "invalid access token")
		return
	}
	f.exchanges++
	rt := refreshToken(fmt.Sprintf("exchanged-%d", f.exchanges))
	f.refreshTokens[rt] = true
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]string{"refresh_token": rt})
}

func (f *fakeACR) token(w http.ResponseWriter, r *http.Request) {
	form, ok := f.form(w, r, []string{"grant_type", "service", "scope", "refresh_token"})
	if !ok {
		return
	}
	f.tokenRequests = append(f.tokenRequests, form)
	if form.Get("grant_type") != "refresh_token" {
		f.unexpected(w, r, "grant_type "+form.Get("grant_type"))
		return
	}
	if !f.refreshTokens[form.Get("refresh_token")] {
		acrError(w, http.StatusUnauthorized, "UNAUTHORIZED", "invalid refresh token")
		return
	}
	scope := form.Get("scope")
	prefix := "repository:" + fakeRepo + ":"
	if !strings.HasPrefix(scope, prefix) {
		f.unexpected(w, r, "scope "+scope)
		return
	}
	tok := jwt(map[string]any{"iss": "Azure Container Registry", "aud": fakeService, "jti": strconv.Itoa(len(f.access)),
		"exp": time.Now().Add(f.tokenTTL).Unix(), "access": []map[string]any{{"type": "repository", "name": fakeRepo}}})
	f.access[tok] = accessToken{expires: time.Now().Add(f.tokenTTL), actions: strings.Split(strings.TrimPrefix(scope, prefix), ",")}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]string{"access_token": tok})
}

// authorized checks the request's credentials for action; it answers the
// request if they fail.
func (f *fakeACR) authorized(w http.ResponseWriter, r *http.Request, action string) bool {
	h := r.Header.Get("Authorization")
	ok := false
	switch {
	case strings.HasPrefix(h, "Basic "):
		user, pass, _ := r.BasicAuth()
		ok = (user == adminUser && pass == adminPass) || (user == readerUser && pass == readerPass)
		if ok && user == readerUser && action == "delete" {
			acrError(w, http.StatusForbidden, "DENIED", "requested access to the resource is denied")
			return false
		}
	case strings.HasPrefix(h, "Bearer "):
		tok, found := f.access[strings.TrimPrefix(h, "Bearer ")]
		ok = found && time.Now().Before(tok.expires)
		if ok && action != "" && !slices.Contains(tok.actions, action) {
			acrError(w, http.StatusUnauthorized, "UNAUTHORIZED", "insufficient scope")
			return false
		}
	}
	if !ok {
		w.Header().Set("WWW-Authenticate", fmt.Sprintf(`Bearer realm="https://%s/oauth2/token",service="%s"`, fakeService, fakeService))
		acrError(w, http.StatusUnauthorized, "UNAUTHORIZED", "authentication required, visit https://aka.ms/acr/authorization for more information.")
	}
	return ok
}

func acrTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.0000000Z") }

func changeableJSON(deleteEnabled, writeEnabled bool) map[string]bool {
	return map[string]bool{"deleteEnabled": deleteEnabled, "writeEnabled": writeEnabled, "readEnabled": true, "listEnabled": true}
}

func (f *fakeACR) tagJSON(name string, t *fakeTagState) map[string]any {
	return map[string]any{"name": name, "digest": t.digest, "createdTime": acrTime(t.created),
		"lastUpdateTime": acrTime(t.updated), "signed": false, "changeableAttributes": changeableJSON(t.deleteEnabled, t.writeEnabled)}
}

func (f *fakeACR) metadata(w http.ResponseWriter, r *http.Request, rest string) {
	repo, sub, _ := strings.Cut(rest, "/")
	if repo != url.PathEscape(fakeRepo) {
		f.unexpected(w, r, "repository segment "+repo+" (want "+url.PathEscape(fakeRepo)+")")
		return
	}
	kind, ref, _ := strings.Cut(sub, "/")
	ref, _ = url.PathUnescape(ref)
	action := "metadata_read"
	if r.Method == http.MethodDelete {
		action = "delete"
	}
	switch {
	case kind == "_tags" && ref == "" && r.Method == http.MethodGet:
		if f.checkQuery(w, r, "n", "last", "orderby", "digest") && f.authorized(w, r, action) {
			f.listTags(w, r)
		}
	case kind == "_tags" && ref != "" && r.Method == http.MethodGet:
		if !f.checkQuery(w, r) || !f.authorized(w, r, action) {
			return
		}
		t := f.tags[ref]
		if t == nil {
			acrError(w, http.StatusNotFound, "TAG_UNKNOWN", "the specified tag does not exist")
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{"registry": fakeService, "imageName": fakeRepo, "tag": f.tagJSON(ref, t)})
	case kind == "_tags" && ref != "" && r.Method == http.MethodDelete:
		if !f.checkQuery(w, r) || !f.authorized(w, r, action) {
			return
		}
		t := f.tags[ref]
		switch {
		case t == nil:
			acrError(w, http.StatusNotFound, "TAG_UNKNOWN", "the specified tag does not exist")
		case !t.deleteEnabled || !t.writeEnabled:
			acrError(w, http.StatusMethodNotAllowed, "DENIED", "The operation is disallowed on this registry, repository or image.")
		default:
			delete(f.tags, ref)
			w.WriteHeader(http.StatusAccepted)
		}
	case kind == "_manifests" && ref != "" && r.Method == http.MethodGet:
		if !f.checkQuery(w, r) || !f.authorized(w, r, action) {
			return
		}
		m := f.manifests[ref]
		if m == nil {
			acrError(w, http.StatusNotFound, "MANIFEST_UNKNOWN", "manifest sha256 is not found")
			return
		}
		var tags []string
		for name, t := range f.tags {
			if t.digest == ref {
				tags = append(tags, name)
			}
		}
		slices.Sort(tags)
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{"registry": fakeService, "imageName": fakeRepo, "manifest": map[string]any{
			"digest": ref, "imageSize": len(m.body), "createdTime": acrTime(m.created), "lastUpdateTime": acrTime(m.created),
			"architecture": "amd64", "os": "linux", "mediaType": m.mediaType, "tags": tags,
			"changeableAttributes": changeableJSON(m.deleteEnabled, m.writeEnabled)}})
	default:
		f.unexpected(w, r, "no such endpoint")
	}
}

// listTags answers GET /acr/v1/{repo}/_tags: ordered by orderby (names by
// default), n per page, starting after last, with a Link to the next page.
func (f *fakeACR) listTags(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	n := 100
	if v := q.Get("n"); v != "" {
		n, _ = strconv.Atoi(v)
	}
	if n < 1 || n > 1000 {
		acrError(w, http.StatusBadRequest, "PAGINATION_NUMBER_INVALID", "invalid number of results requested")
		return
	}
	orderby := q.Get("orderby")
	names := make([]string, 0, len(f.tags))
	for t := range f.tags {
		names = append(names, t)
	}
	slices.SortFunc(names, func(a, b string) int {
		ta, tb := f.tags[a], f.tags[b]
		switch orderby {
		case "timedesc":
			if c := tb.updated.Compare(ta.updated); c != 0 {
				return c
			}
		case "timeasc":
			if c := ta.updated.Compare(tb.updated); c != 0 {
				return c
			}
		case "", "none":
		default:
			f.t.Errorf("fake acr: orderby %q", orderby)
		}
		return strings.Compare(a, b)
	})
	start := 0
	if last := q.Get("last"); last != "" {
		i := slices.Index(names, last)
		if i < 0 {
			acrError(w, http.StatusBadRequest, "TAG_INVALID", "last tag not found")
			return
		}
		start = i + 1
	}
	end := min(start+n, len(names))
	var page []map[string]any
	for _, name := range names[start:end] {
		page = append(page, f.tagJSON(name, f.tags[name]))
	}
	if end < len(names) {
		next := url.Values{"last": {names[end-1]}, "n": {strconv.Itoa(n)}}
		if orderby != "" {
			next.Set("orderby", orderby)
		}
		w.Header().Set("Link", fmt.Sprintf(`<%s?%s>; rel="next"`, r.URL.EscapedPath(), next.Encode()))
	}
	if len(names) == 0 && len(f.manifests) == 0 {
		acrError(w, http.StatusNotFound, "NAME_UNKNOWN", "repository name not known to registry")
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]any{"registry": fakeService, "imageName": fakeRepo, "tags": page})
}

func (f *fakeACR) registry(w http.ResponseWriter, r *http.Request, rest string) {
	if rest == "" && r.Method == http.MethodGet {
		if f.checkQuery(w, r) && f.authorized(w, r, "") {
			w.Header().Set("Docker-Distribution-Api-Version", "registry/2.0")
			_, _ = w.Write([]byte("{}"))
		}
		return
	}
	if !strings.HasPrefix(rest, fakeRepo+"/") {
		f.unexpected(w, r, "repository")
		return
	}
	kind, ref, _ := strings.Cut(strings.TrimPrefix(rest, fakeRepo+"/"), "/")
	switch {
	case kind == "manifests" && (r.Method == http.MethodGet || r.Method == http.MethodHead):
		if !f.checkQuery(w, r) || !f.authorized(w, r, "pull") {
			return
		}
		if !strings.Contains(r.Header.Get("Accept"), "application/vnd.oci.image.index.v1+json") {
			f.unexpected(w, r, "Accept without the OCI index type")
			return
		}
		d := ref
		if t := f.tags[ref]; t != nil {
			d = t.digest
		}
		m := f.manifests[d]
		if m == nil {
			acrError(w, http.StatusNotFound, "MANIFEST_UNKNOWN", "manifest unknown")
			return
		}
		w.Header().Set("Content-Type", m.mediaType)
		w.Header().Set("Docker-Content-Digest", d)
		w.Header().Set("Content-Length", strconv.Itoa(len(m.body)))
		if r.Method == http.MethodGet {
			_, _ = w.Write(m.body)
		}
	case kind == "manifests" && r.Method == http.MethodDelete:
		if !f.checkQuery(w, r) || !f.authorized(w, r, "delete") {
			return
		}
		m := f.manifests[ref]
		if m == nil {
			acrError(w, http.StatusNotFound, "MANIFEST_UNKNOWN", "manifest unknown")
			return
		}
		if !m.deleteEnabled || !m.writeEnabled {
			acrError(w, http.StatusMethodNotAllowed, "DENIED", "The operation is disallowed on this registry, repository or image.")
			return
		}
		for _, t := range f.tags {
			if t.digest == ref && (!t.deleteEnabled || !t.writeEnabled) {
				acrError(w, http.StatusMethodNotAllowed, "DENIED", "The operation is disallowed on this registry, repository or image.")
				return
			}
		}
		delete(f.manifests, ref)
		for name, t := range f.tags {
			if t.digest == ref {
				delete(f.tags, name)
			}
		}
		w.WriteHeader(http.StatusAccepted)
	case kind == "blobs" && r.Method == http.MethodGet:
		if !f.checkQuery(w, r) || !f.authorized(w, r, "pull") {
			return
		}
		b, ok := f.blobs[ref]
		if !ok {
			acrError(w, http.StatusNotFound, "BLOB_UNKNOWN", "blob unknown")
			return
		}
		w.Header().Set("Content-Type", "application/octet-stream")
		w.Header().Set("Docker-Content-Digest", ref)
		_, _ = w.Write(b)
	default:
		f.unexpected(w, r, "no such endpoint")
	}
}
