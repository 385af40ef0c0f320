// Package apitest is the test kit of the native API clients' fakes: an
// httptest server that logs every request, answers injected faults, checks
// each request and answer against the vendor's published API description
// (internal/apispec) where one exists, and fails the test on any request the
// fake does not expect.
//
// Import it only from _test.go files: it links kin-openapi, which the
// binaries must not carry.
package apitest

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/docker-werf/docker-werf/internal/apispec"
)

// Server is a fake API's server.
type Server struct {
	*httptest.Server
	t testing.TB

	mu       sync.Mutex
	requests []string // "METHOD /path?query", every request in order
	faults   []Fault
}

// Fault is an answer the server gives instead of the fake's to the next
// request that matches.
type Fault struct {
	// Match is a prefix of "METHOD /escaped/path?query"; "" matches any
	// request.
	Match  string
	Status int
	Header map[string]string
	Body   string // sent as application/json
	// Reset closes the connection without an answer.
	Reset bool
}

// Option configures a Server.
type Option func(*config)

type config struct {
	vendor  string
	specOpt []apispec.Option
	tls     bool
	scope   func(*http.Request) Check
}

// Check says how much of an exchange is checked against the description.
type Check int

const (
	// CheckAll checks the request and the fake's answer.
	CheckAll Check = iota
	// CheckRequest checks the request only: where the vendor's description
	// is known to be wrong about the answer (each use says why).
	CheckRequest
	// CheckNone checks nothing: a request to an API the description does
	// not cover (the Docker Registry API next to the vendor's own).
	CheckNone
)

// WithSpec checks every request and answer against vendor's description
// (apispec.Load); scope, when not nil, says how much of each exchange.
func WithSpec(vendor string, scope func(*http.Request) Check, opts ...apispec.Option) Option {
	return func(c *config) { c.vendor, c.scope, c.specOpt = vendor, scope, opts }
}

// WithTLS serves HTTPS (httptest.NewTLSServer).
func WithTLS() Option { return func(c *config) { c.tls = true } }

// NewServer serves fake (and closes the server when the test ends).
func NewServer(t testing.TB, fake http.Handler, opts ...Option) *Server {
	t.Helper()
	var c config
	for _, o := range opts {
		o(&c)
	}
	s := &Server{t: t}
	h := http.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if s.fault(w, r) {
			return
		}
		fake.ServeHTTP(w, r)
	}))
	if c.vendor != "" {
		spec, err := apispec.Load(c.vendor)
		if err != nil {
			t.Fatalf("apitest: %v", err)
		}
		checked := spec.Middleware(t, h, c.specOpt...)
		plain := h
		h = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			check := CheckAll
			if c.scope != nil {
				check = c.scope(r)
			}
			switch check {
			case CheckAll:
				checked.ServeHTTP(w, r)
				return
			case CheckRequest:
				if err := spec.CheckRequest(r, c.specOpt...); err != nil {
					t.Errorf("apispec %s: %s %s: %v", c.vendor, r.Method, r.URL.RequestURI(), err)
					WriteJSON(w, http.StatusNotImplemented, map[string]any{"errors": []any{
						map[string]string{"code": "APISPEC", "message": err.Error()}}})
					return
				}
			}
			plain.ServeHTTP(w, r)
		})
	}
	logged := h
	h = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		s.requests = append(s.requests, r.Method+" "+r.URL.RequestURI())
		s.mu.Unlock()
		logged.ServeHTTP(w, r)
	})
	if c.tls {
		s.Server = httptest.NewTLSServer(h)
	} else {
		s.Server = httptest.NewServer(h)
	}
	t.Cleanup(s.Close)
	return s
}

// Host is the server's host:port.
func (s *Server) Host() string {
	return strings.TrimPrefix(strings.TrimPrefix(s.URL, "https://"), "http://")
}

// Requests returns every request so far, "METHOD /path?query".
func (s *Server) Requests() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.requests)
}

// Count returns how many requests so far start with prefix.
func (s *Server) Count(prefix string) int {
	n := 0
	for _, r := range s.Requests() {
		if strings.HasPrefix(r, prefix) {
			n++
		}
	}
	return n
}

// AddFault queues f; each fault answers one request.
func (s *Server) AddFault(f Fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = append(s.faults, f)
}

func (s *Server) fault(w http.ResponseWriter, r *http.Request) bool {
	key := r.Method + " " + r.URL.RequestURI()
	s.mu.Lock()
	i := slices.IndexFunc(s.faults, func(f Fault) bool { return strings.HasPrefix(key, f.Match) })
	if i < 0 {
		s.mu.Unlock()
		return false
	}
	f := s.faults[i]
	s.faults = slices.Delete(s.faults, i, i+1)
	s.mu.Unlock()
	if f.Reset {
		if hj, ok := w.(http.Hijacker); ok {
			if conn, _, err := hj.Hijack(); err == nil {
				_ = conn.Close()
				return true
			}
		}
		s.t.Errorf("apitest: cannot reset the connection of %s", key)
	}
	for k, v := range f.Header {
		w.Header().Set(k, v)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(f.Status)
	_, _ = w.Write([]byte(f.Body))
	return true
}

// Unexpected fails the test for a request the fake does not serve and
// answers it with status and a JSON body of the form the vendor uses.
func Unexpected(t testing.TB, w http.ResponseWriter, r *http.Request, fake, why string, status int, body any) {
	t.Helper()
	t.Errorf("%s: unexpected request %s %s: %s", fake, r.Method, r.URL.RequestURI(), why)
	WriteJSON(w, status, body)
}

// WriteJSON answers v as application/json with status.
func WriteJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// CheckQuery reports whether r carries only the query parameters allowed;
// on another it calls unexpected with "query parameter <name>" and reports
// false.
func CheckQuery(r *http.Request, unexpected func(why string), allowed ...string) bool {
	for k := range r.URL.Query() {
		if !slices.Contains(allowed, k) {
			unexpected("query parameter " + k)
			return false
		}
	}
	return true
}
