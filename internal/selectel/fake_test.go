package selectel

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// fakeSelectel serves the Keystone token endpoint, the CRaaS API with the
// routes of the official SDK (selectel/craas-go pkg/v1), and a read-only Docker Registry API
// for Resolve and Inspect. It fails the test on any request it does not
// expect.
type fakeSelectel struct {
	t   *testing.T
	srv *httptest.Server

	user, pass, account, vpc, vpcID string
	regName, regID, repo            string

	mu         sync.Mutex
	tokens     map[string]bool // live tokens
	tokenLife  time.Duration
	registries []map[string]any
	wrapped    bool              // GET /registries answers {"registries": [...]}
	noRepo     bool              // the registry has no repository f.repo
	images     map[string][]byte // manifests by digest
	blobs      map[string][]byte
	tags       map[string]string // tag -> digest
	writes     []string
	calls      map[string]int
	faults     []sfault
	scopes     []map[string]any // the scope of every token request
}

type sfault struct {
	match  string // "METHOD /path" prefix; "" matches any CRaaS request
	status int
	header map[string]string
	body   string
}

const (
	fUser    = "cleanup-bot"
	fPass    = "s3cr3t-Passw0rd-xyz"
	fAccount = "123456"
	fVPC     = "my-project"
	fVPCID   = "0f1e2d3c4b5a69788796a5b4c3d2e1f0"
	fReg     = "myreg"
	fRegID   = "b7e3c1a2-0000-4000-8000-000000000001"
	fRepo    = "team/app"
)

func newFakeSelectel(t *testing.T) *fakeSelectel {
	f := &fakeSelectel{
		t: t, user: fUser, pass: fPass, account: fAccount, vpc: fVPC, vpcID: fVPCID,
		regName: fReg, regID: fRegID, repo: fRepo,
		tokens: map[string]bool{}, tokenLife: 24 * time.Hour,
		images: map[string][]byte{}, blobs: map[string][]byte{}, tags: map[string]string{}, calls: map[string]int{},
		registries: []map[string]any{
			{"createdAt": "2025-01-02T03:04:05Z", "id": "a0000000-0000-4000-8000-000000000000", "name": "other",
				"size": 0, "sizeLimit": 21474836480, "status": "ACTIVE", "used": 0},
			{"createdAt": "2025-01-02T03:04:05Z", "id": fRegID, "name": fReg,
				"size": 5368709120, "sizeLimit": 21474836480, "status": "ACTIVE", "used": 25},
		},
	}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeSelectel) host() string { return strings.TrimPrefix(f.srv.URL, "http://") }

func sum(b []byte) string {
	s := sha256.Sum256(b)
	return "sha256:" + hex.EncodeToString(s[:])
}

func (f *fakeSelectel) addImage(name string, created time.Time, tags ...string) string {
	cfg := fmt.Appendf(nil, `{"created":%q,"architecture":"amd64","os":"linux","config":{"Labels":{"org.opencontainers.image.revision":"rev-%s"}},"rootfs":{"type":"layers","diff_ids":[]}}`,
		created.Format(time.RFC3339Nano), name)
	m := fmt.Appendf(nil, `{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json",`+
		`"config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":%q,"size":%d},"layers":[]}`, sum(cfg), len(cfg))
	d := sum(m)
	f.mu.Lock()
	defer f.mu.Unlock()
	f.blobs[sum(cfg)] = cfg
	f.images[d] = m
	for _, t := range tags {
		f.tags[t] = d
	}
	return d
}

func (f *fakeSelectel) tagList() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := []string{}
	for t := range f.tags {
		out = append(out, t)
	}
	sort.Strings(out)
	return out
}

func (f *fakeSelectel) count(key string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls[key]
}

func (f *fakeSelectel) addFault(match string, status int, header map[string]string, body string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.faults = append(f.faults, sfault{match: match, status: status, header: header, body: body})
}

func (f *fakeSelectel) writeList() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.writes)
}

func (f *fakeSelectel) revokeTokens() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.tokens = map[string]bool{}
}

func (f *fakeSelectel) serve(w http.ResponseWriter, r *http.Request) {
	switch {
	case r.URL.Path == "/identity/v3/auth/tokens":
		f.serveToken(w, r)
	case strings.HasPrefix(r.URL.Path, "/api/v1/"):
		f.serveAPI(w, r)
	case r.URL.Path == "/v2/" || strings.HasPrefix(r.URL.Path, "/v2/"+f.regName+"/"+f.repo+"/"):
		f.serveRegistry(w, r)
	default:
		f.t.Errorf("fake Selectel: unexpected request %s %s", r.Method, r.URL)
		http.NotFound(w, r)
	}
}

func keystoneError(w http.ResponseWriter, code int, title, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(map[string]any{"error": map[string]any{"code": code, "title": title, "message": msg}})
}

// serveToken is Keystone v3 POST /auth/tokens with the password method.
func (f *fakeSelectel) serveToken(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost || r.Header.Get("Content-Type") != "application/json" {
		f.t.Errorf("fake Keystone: %s %s with Content-Type %q", r.Method, r.URL, r.Header.Get("Content-Type"))
		keystoneError(w, http.StatusBadRequest, "Bad Request", "")
		return
	}
	var req struct {
		Auth struct {
			Identity struct {
				Methods  []string `json:"methods"`
				Password struct {
					User struct {
						Name     string `json:"name"`
						Password string `json:"password"`
						Domain   struct {
							Name string `json:"name"`
						} `json:"domain"`
					} `json:"user"`
				} `json:"password"`
			} `json:"identity"`
			Scope map[string]any `json:"scope"`
		} `json:"auth"`
	}
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		f.t.Errorf("fake Keystone: body: %v", err)
		keystoneError(w, http.StatusBadRequest, "Bad Request", "Expecting to find auth in request body.")
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls["token"]++
	f.scopes = append(f.scopes, req.Auth.Scope)
	id := req.Auth.Identity
	if !slices.Equal(id.Methods, []string{"password"}) {
		f.t.Errorf("fake Keystone: methods %v", id.Methods)
	}
	u := id.Password.User
	project, _ := req.Auth.Scope["project"].(map[string]any)
	scopeOK := false
	switch {
	case project["id"] != nil:
		scopeOK = len(project) == 1 && project["id"] == f.vpcID
	case project["name"] != nil:
		dom, _ := project["domain"].(map[string]any)
		scopeOK = project["name"] == f.vpc && dom["name"] == f.account
	default:
		f.t.Errorf("fake Keystone: scope %v", req.Auth.Scope)
	}
	if u.Name != f.user || u.Password != f.pass || u.Domain.Name != f.account || !scopeOK {
		keystoneError(w, http.StatusUnauthorized, "Unauthorized", "The request you have made requires authentication.")
		return
	}
	b := make([]byte, 24)
	_, _ = rand.Read(b)
	token := "gAAAAA" + hex.EncodeToString(b)
	f.tokens[token] = true
	now := time.Now().UTC()
	w.Header().Set("X-Subject-Token", token)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusCreated)
	_ = json.NewEncoder(w).Encode(map[string]any{"token": map[string]any{
		"methods": []string{"password"}, "issued_at": now.Format("2006-01-02T15:04:05.000000Z"),
		"expires_at": now.Add(f.tokenLife).Format("2006-01-02T15:04:05.000000Z"),
		"user":       map[string]any{"name": f.user, "domain": map[string]any{"name": f.account}},
		"project":    map[string]any{"id": f.vpcID, "name": f.vpc, "domain": map[string]any{"name": f.account}},
	}})
}

func apiError(w http.ResponseWriter, code int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(map[string]string{"error": msg})
}

// serveAPI is the CRaaS API as selectel/craas-go pkg/v1 calls it.
func (f *fakeSelectel) serveAPI(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	key := r.Method + " " + r.URL.Path
	f.calls[key]++
	if r.Header.Get("Accept") != "application/json" {
		f.t.Errorf("fake CRaaS: %s with Accept %q", key, r.Header.Get("Accept"))
	}
	if !f.tokens[r.Header.Get("X-Auth-Token")] {
		apiError(w, http.StatusUnauthorized, "unauthorized: invalid token")
		return
	}
	for i, ft := range f.faults {
		if strings.HasPrefix(key, ft.match) {
			f.faults = slices.Delete(f.faults, i, i+1)
			for k, v := range ft.header {
				w.Header().Set(k, v)
			}
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(ft.status)
			_, _ = io.WriteString(w, ft.body)
			return
		}
	}
	rest := strings.TrimPrefix(r.URL.Path, "/api/v1")
	q := r.URL.Query()
	if rest == "/registries" && r.Method == http.MethodGet {
		f.serveRegistries(w, r)
		return
	}
	// The routes of selectel/craas-go pkg/v1/repository.
	prefix := "/registries/" + f.regID + "/repositories/"
	repoPath, ok := strings.CutPrefix(rest, prefix)
	if !ok || len(q) != 0 {
		f.t.Errorf("fake CRaaS: unexpected %s %s", r.Method, r.URL)
		apiError(w, http.StatusNotFound, "not found")
		return
	}
	switch {
	case r.Method == http.MethodGet && repoPath == f.repo:
		if f.noRepo {
			apiError(w, http.StatusNotFound, "repository not found")
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{"name": f.repo, "updatedAt": "2025-01-02T03:04:05Z", "size": 0})
	case r.Method == http.MethodGet && repoPath == f.repo+"/tags":
		if f.noRepo || len(f.tags) == 0 {
			apiError(w, http.StatusNotFound, "repository not found")
			return
		}
		tags := []string{}
		for t := range f.tags {
			tags = append(tags, t)
		}
		sort.Strings(tags)
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(tags)
	case r.Method == http.MethodDelete:
		i := strings.LastIndexByte(repoPath, '/')
		repo, ref := repoPath[:max(i, 0)], repoPath[i+1:]
		f.writes = append(f.writes, "DELETE "+r.URL.RequestURI())
		if repo != f.repo || f.images[ref] == nil {
			apiError(w, http.StatusNotFound, "manifest unknown")
			return
		}
		delete(f.images, ref)
		for t, d := range f.tags {
			if d == ref {
				delete(f.tags, t)
			}
		}
		w.WriteHeader(http.StatusNoContent)
	default:
		f.t.Errorf("fake CRaaS: unexpected %s %s", r.Method, r.URL)
		apiError(w, http.StatusNotFound, "not found")
	}
}

// serveRegistries is GET /registries with limit (default 10) and offset.
func (f *fakeSelectel) serveRegistries(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	limit, offset := 10, 0
	for k := range q {
		n, err := strconv.Atoi(q.Get(k))
		switch {
		case err != nil || n < 0:
			f.t.Errorf("fake CRaaS: GET /registries with %s=%q", k, q.Get(k))
		case k == "limit":
			limit = n
		case k == "offset":
			offset = n
		default:
			f.t.Errorf("fake CRaaS: GET /registries with query %q", r.URL.RawQuery)
		}
	}
	page := f.registries[min(offset, len(f.registries)):min(offset+limit, len(f.registries))]
	w.Header().Set("Content-Type", "application/json")
	if f.wrapped {
		_ = json.NewEncoder(w).Encode(map[string]any{"registries": page, "totalCount": len(f.registries)})
		return
	}
	_ = json.NewEncoder(w).Encode(page)
}

// serveRegistry is a read-only Docker Registry API.
func (f *fakeSelectel) serveRegistry(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		f.t.Errorf("fake registry: unexpected %s %s", r.Method, r.URL)
		w.WriteHeader(http.StatusMethodNotAllowed)
		return
	}
	if r.URL.Path == "/v2/" {
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	rest := strings.TrimPrefix(r.URL.Path, "/v2/"+f.regName+"/"+f.repo+"/")
	if ref, ok := strings.CutPrefix(rest, "manifests/"); ok {
		if d, ok := f.tags[ref]; ok {
			ref = d
		}
		m := f.images[ref]
		if m == nil {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusNotFound)
			_, _ = io.WriteString(w, `{"errors":[{"code":"MANIFEST_UNKNOWN","message":"manifest unknown"}]}`)
			return
		}
		w.Header().Set("Content-Type", "application/vnd.oci.image.manifest.v1+json")
		w.Header().Set("Docker-Content-Digest", ref)
		w.Header().Set("Content-Length", strconv.Itoa(len(m)))
		if r.Method == http.MethodGet {
			_, _ = w.Write(m)
		}
		return
	}
	if d, ok := strings.CutPrefix(rest, "blobs/"); ok && f.blobs[d] != nil {
		_, _ = w.Write(f.blobs[d])
		return
	}
	f.t.Errorf("fake registry: unexpected %s %s", r.Method, r.URL)
	w.WriteHeader(http.StatusNotFound)
}
