package harness

import (
	"crypto/tls"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// Proxy is a plain-HTTP reverse proxy on 127.0.0.1 in front of a registry,
// for tests that read the requests a client sent (a dry run must send no
// write) or inject faults (429, 503, resets, slow answers). Clients reach it
// at Addr, which is loopback, so they fall back to plain HTTP.
type Proxy struct {
	Addr string

	mu       sync.Mutex
	requests []string
	fault    func(r *http.Request) Fault
	stop     chan struct{} // closed when the proxy stops: hung requests end
}

// Fault is what the proxy does with one request instead of forwarding it;
// the zero Fault forwards.
type Fault struct {
	Status  int               // answer with this status (and Header) instead
	Header  map[string]string // headers of that answer, e.g. Retry-After
	Reset   bool              // drop the connection without an answer
	Forward func()            // runs before forwarding (e.g. sleep: a slow answer)
	// Hang holds the request without an answer until the client gives up
	// (or the proxy stops).
	Hang bool
	// Truncate forwards the request, then sends the registry's status and
	// headers (Content-Length included) with only the first half of the
	// body, and drops the connection.
	Truncate bool
}

// StartProxy starts a proxy in front of reg.
func StartProxy(t testing.TB, reg *Registry) *Proxy {
	t.Helper()
	target, _ := url.Parse("https://" + reg.Addr)
	rp := httputil.NewSingleHostReverseProxy(target)
	rp.Transport = &http.Transport{TLSClientConfig: &tls.Config{RootCAs: getCA(t).pool()}}
	p := &Proxy{stop: make(chan struct{})}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("harness: proxy: %v", err)
	}
	p.Addr = l.Addr().String()
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p.record(r)
		fault, faulty := p.faultFor(r)
		if faulty && p.serveFault(w, r, fault) {
			return
		}
		// Links and Location headers name the registry; rewrite them so
		// the client keeps talking to the proxy.
		r.Host = reg.Addr
		if fault.Truncate {
			rec := httptest.NewRecorder()
			rp.ServeHTTP(&rewriter{ResponseWriter: rec, from: "https://" + reg.Addr, to: "http://" + p.Addr}, r)
			serveTruncated(w, rec)
			return
		}
		rp.ServeHTTP(&rewriter{ResponseWriter: w, from: "https://" + reg.Addr, to: "http://" + p.Addr}, r)
	})}
	go func() { _ = srv.Serve(l) }()
	t.Cleanup(func() {
		close(p.stop)
		_ = srv.Close()
	})
	return p
}

// SetFault installs a fault function (nil: forward everything).
func (p *Proxy) SetFault(f func(r *http.Request) Fault) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.fault = f
}

func (p *Proxy) record(r *http.Request) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.requests = append(p.requests, r.Method+" "+r.URL.RequestURI())
}

func (p *Proxy) faultFor(r *http.Request) (Fault, bool) {
	p.mu.Lock()
	f := p.fault
	p.mu.Unlock()
	if f == nil {
		return Fault{}, false
	}
	return f(r), true
}

// serveFault answers r as fault says, or reports that it is to be
// forwarded.
func (p *Proxy) serveFault(w http.ResponseWriter, r *http.Request, fault Fault) bool {
	switch {
	case fault.Hang:
		select {
		case <-r.Context().Done():
		case <-p.stop:
		}
		return true
	case fault.Reset:
		if hj, ok := w.(http.Hijacker); ok {
			if conn, _, err := hj.Hijack(); err == nil {
				if tc, ok := conn.(*net.TCPConn); ok {
					_ = tc.SetLinger(0)
				}
				_ = conn.Close()
				return true
			}
		}
		panic(http.ErrAbortHandler)
	case fault.Status != 0:
		for k, v := range fault.Header {
			w.Header().Set(k, v)
		}
		w.WriteHeader(fault.Status)
		return true
	case fault.Forward != nil:
		fault.Forward()
	}
	return false
}

// serveTruncated sends rec's status and headers with half its body, then
// drops the connection.
func serveTruncated(w http.ResponseWriter, rec *httptest.ResponseRecorder) {
	body := rec.Body.Bytes()
	for k, v := range rec.Header() {
		w.Header()[k] = v
	}
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(rec.Code)
	_, _ = w.Write(body[:len(body)/2])
	if f, ok := w.(http.Flusher); ok {
		f.Flush()
	}
	if hj, ok := w.(http.Hijacker); ok {
		if conn, _, err := hj.Hijack(); err == nil {
			_ = conn.Close()
			return
		}
	}
	panic(http.ErrAbortHandler)
}

// Requests returns "METHOD /path?query" for every request so far.
func (p *Proxy) Requests() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.requests...)
}

// Writes returns the requests that could change the registry.
func (p *Proxy) Writes() []string {
	var w []string
	for _, r := range p.Requests() {
		if m, _, _ := strings.Cut(r, " "); m != http.MethodGet && m != http.MethodHead {
			w = append(w, r)
		}
	}
	return w
}

// rewriter replaces the registry's own URL in Location and Link headers.
type rewriter struct {
	http.ResponseWriter
	from, to string
}

func (rw *rewriter) WriteHeader(code int) {
	for _, h := range []string{"Location", "Link"} {
		if v := rw.Header().Get(h); v != "" {
			rw.Header().Set(h, strings.ReplaceAll(v, rw.from, rw.to))
		}
	}
	rw.ResponseWriter.WriteHeader(code)
}
