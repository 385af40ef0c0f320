package retry_test

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"

	"github.com/docker-werf/docker-werf/internal/retry"
)

// clock is a fake clock whose Sleep advances time at once.
type clock struct {
	mu     sync.Mutex
	now    time.Time
	sleeps []time.Duration
}

func newClock() *clock { return &clock{now: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Sleep(ctx context.Context, d time.Duration) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
	c.sleeps = append(c.sleeps, d)
	return nil
}

func (c *clock) Sleeps() []time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]time.Duration(nil), c.sleeps...)
}

func (c *clock) Option() retry.Option { return retry.WithClock(c.Now, c.Sleep) }

// events collects what the observer saw.
type events struct {
	mu   sync.Mutex
	list []retry.Event
}

func (e *events) Observe(ev retry.Event) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.list = append(e.list, ev)
}

func (e *events) List() []retry.Event {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]retry.Event(nil), e.list...)
}

// step answers one request; the server answers its n-th request with the
// n-th step, and repeats the last one.
type step func(w http.ResponseWriter, r *http.Request)

func reply(code int, header ...string) step {
	return func(w http.ResponseWriter, r *http.Request) {
		for i := 0; i+1 < len(header); i += 2 {
			w.Header().Set(header[i], header[i+1])
		}
		w.WriteHeader(code)
		io.WriteString(w, http.StatusText(code))
	}
}

// hijack takes the connection from the server and breaks it with write.
func hijack(t *testing.T, w http.ResponseWriter, write func(net.Conn, *bufio.ReadWriter)) {
	conn, rw, err := w.(http.Hijacker).Hijack()
	if err != nil {
		t.Errorf("hijack: %v", err)
		return
	}
	write(conn, rw)
	conn.Close()
}

// Broken connections.
func resetConn(t *testing.T) step {
	return func(w http.ResponseWriter, r *http.Request) {
		hijack(t, w, func(c net.Conn, _ *bufio.ReadWriter) { c.(*net.TCPConn).SetLinger(0) }) // RST
	}
}

func hangUp(t *testing.T) step {
	return func(w http.ResponseWriter, r *http.Request) {
		hijack(t, w, func(net.Conn, *bufio.ReadWriter) {})
	}
}

func truncate(t *testing.T) step {
	return func(w http.ResponseWriter, r *http.Request) {
		hijack(t, w, func(_ net.Conn, rw *bufio.ReadWriter) {
			rw.WriteString("HTTP/1.1 200 OK\r\nContent-Le")
			rw.Flush()
		})
	}
}

type server struct {
	*httptest.Server
	hits  atomic.Int32
	conns atomic.Int32 // connections accepted
}

func newServer(t *testing.T, steps ...step) *server {
	t.Helper()
	s := &server{}
	s.Server = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := int(s.hits.Add(1))
		steps[min(n, len(steps))-1](w, r)
	}))
	s.Config.ConnState = func(_ net.Conn, st http.ConnState) {
		if st == http.StateNew {
			s.conns.Add(1)
		}
	}
	s.Start()
	t.Cleanup(s.Close)
	return s
}

func get(t *testing.T, rt http.RoundTripper, url string) (*http.Response, error) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	assert.NilError(t, err)
	return rt.RoundTrip(req)
}

func readBody(t *testing.T, resp *http.Response) string {
	t.Helper()
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	assert.NilError(t, err)
	return string(b)
}

func TestRetryAfterForms(t *testing.T) {
	now := newClock().Now()
	unix := func(d time.Duration) string { return strconv.FormatInt(now.Add(d).Unix(), 10) }
	tests := []struct {
		name   string
		first  step
		want   time.Duration // exact wait; 0: only the backoff, at most the base
		source string
	}{
		{name: "Retry-After delta-seconds", first: reply(429, "Retry-After", "3"), want: 3 * time.Second},
		{name: "Retry-After on 503", first: reply(503, "Retry-After", "2"), want: 2 * time.Second},
		{
			name:  "Retry-After HTTP date",
			first: reply(429, "Retry-After", now.Add(10*time.Second).Format(http.TimeFormat)),
			want:  10 * time.Second,
		},
		{name: "Retry-After date in the past", first: reply(503, "Retry-After", now.Add(-time.Hour).Format(http.TimeFormat))},
		{name: "Retry-After zero", first: reply(429, "Retry-After", "0")},
		{name: "Retry-After garbage", first: reply(429, "Retry-After", "soon")},
		{name: "X-Retry-After Unix time (Docker Hub API)", first: reply(429, "X-Retry-After", unix(7*time.Second)), want: 7 * time.Second},
		{
			name: "X-RateLimit-Reset Unix time",
			first: reply(429, "X-RateLimit-Limit", "180", "X-RateLimit-Remaining", "0",
				"X-RateLimit-Reset", unix(4*time.Second)),
			want: 4 * time.Second,
		},
		{name: "RateLimit-Reset delta-seconds", first: reply(429, "RateLimit-Reset", "5"), want: 5 * time.Second},
		{
			name: "GitHub primary limit: 403 with x-ratelimit-remaining 0",
			first: reply(403, "x-ratelimit-limit", "5000", "x-ratelimit-remaining", "0",
				"x-ratelimit-reset", unix(6*time.Second)),
			want: 6 * time.Second,
		},
		{name: "GitHub secondary limit: 403 with Retry-After", first: reply(403, "Retry-After", "8"), want: 8 * time.Second},
		{
			name: "Docker Hub abuse 429 while the pull quota has room",
			first: reply(429, "X-RateLimit-Remaining", "42;w=21600",
				"X-RateLimit-Reset", unix(3*time.Hour)),
		},
		{name: "429 without any header", first: reply(429)},
		{
			name:  "Retry-After wins over the reset headers",
			first: reply(429, "Retry-After", "1", "X-RateLimit-Reset", unix(9*time.Second)),
			want:  time.Second,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv := newServer(t, tc.first, reply(200))
			clk := newClock()
			var ev events
			rt := retry.NewTransport(srv.Client().Transport, clk.Option(), retry.WithObserver(ev.Observe))

			resp, err := get(t, rt, srv.URL+"/v2/app/manifests/latest")
			assert.NilError(t, err)
			assert.Equal(t, resp.StatusCode, 200)
			assert.Equal(t, readBody(t, resp), "OK")
			assert.Equal(t, srv.hits.Load(), int32(2))

			sleeps := clk.Sleeps()
			assert.Assert(t, is.Len(sleeps, 1))
			if tc.want > 0 {
				assert.Equal(t, sleeps[0], tc.want)
			} else {
				assert.Assert(t, sleeps[0] <= retry.DefaultBackoffBase, "waited %v", sleeps[0])
			}
			got := ev.List()
			assert.Assert(t, is.Len(got, 1))
			assert.Equal(t, got[0].Attempt, 1)
			assert.Equal(t, got[0].Method, "GET")
			assert.Equal(t, got[0].Host, srv.Listener.Addr().String())
			assert.Equal(t, got[0].Wait, sleeps[0])
			assert.Assert(t, got[0].Status == 429 || got[0].Status == 403 || got[0].Status == 503)
			assert.NilError(t, got[0].Err)
		})
	}
}

func TestRetryableStatuses(t *testing.T) {
	for _, code := range []int{408, 429, 500, 502, 503, 504} {
		t.Run(strconv.Itoa(code), func(t *testing.T) {
			srv := newServer(t, reply(code), reply(code), reply(200))
			clk := newClock()
			rt := retry.NewTransport(srv.Client().Transport, clk.Option())

			resp, err := get(t, rt, srv.URL+"/v2/")
			assert.NilError(t, err)
			assert.Equal(t, resp.StatusCode, 200)
			assert.Equal(t, readBody(t, resp), "OK")
			assert.Equal(t, srv.hits.Load(), int32(3))
			sleeps := clk.Sleeps()
			assert.Assert(t, is.Len(sleeps, 2))
			assert.Assert(t, sleeps[0] <= 200*time.Millisecond)
			assert.Assert(t, sleeps[1] <= 400*time.Millisecond)
		})
	}
}

func TestNotRetriedStatuses(t *testing.T) {
	for _, tc := range []struct {
		code   int
		header []string
	}{
		{code: 200}, {code: 202}, {code: 301, header: []string{"Location", "/elsewhere"}},
		{code: 400}, {code: 401, header: []string{"WWW-Authenticate", `Bearer realm="x"`}},
		{code: 403}, {code: 403, header: []string{"X-RateLimit-Remaining", "12"}},
		{code: 404, header: []string{"Retry-After", "1"}}, {code: 405}, {code: 412}, {code: 501}, {code: 505},
	} {
		t.Run(strconv.Itoa(tc.code)+strings.Join(tc.header, " "), func(t *testing.T) {
			srv := newServer(t, reply(tc.code, tc.header...), reply(299))
			clk := newClock()
			var ev events
			rt := retry.NewTransport(srv.Client().Transport, clk.Option(), retry.WithObserver(ev.Observe))

			req, err := http.NewRequest(http.MethodDelete, srv.URL+"/v2/app/manifests/sha256:abc", nil)
			assert.NilError(t, err)
			resp, err := rt.RoundTrip(req)
			assert.NilError(t, err)
			assert.Equal(t, resp.StatusCode, tc.code)
			assert.Equal(t, readBody(t, resp), http.StatusText(tc.code))
			assert.Equal(t, srv.hits.Load(), int32(1))
			assert.Assert(t, is.Len(clk.Sleeps(), 0))
			assert.Assert(t, is.Len(ev.List(), 0))
		})
	}
}

func TestTransportErrors(t *testing.T) {
	for _, tc := range []struct {
		name  string
		first func(*testing.T) step
	}{
		{name: "connection reset", first: resetConn},
		{name: "closed before the response", first: hangUp},
		{name: "closed in the middle of the headers", first: truncate},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := newServer(t, tc.first(t), reply(200))
			clk := newClock()
			var ev events
			rt := retry.NewTransport(srv.Client().Transport, clk.Option(), retry.WithObserver(ev.Observe))

			resp, err := get(t, rt, srv.URL+"/v2/app/tags/list")
			assert.NilError(t, err)
			assert.Equal(t, resp.StatusCode, 200)
			assert.Equal(t, readBody(t, resp), "OK")
			assert.Equal(t, srv.hits.Load(), int32(2))
			got := ev.List()
			assert.Assert(t, is.Len(got, 1))
			assert.Equal(t, got[0].Status, 0)
			assert.Assert(t, got[0].Err != nil)
			t.Logf("attempt 1: %v", got[0].Err)
		})
	}
}

func TestConnectionRefusedThenUp(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	assert.NilError(t, err)
	addr := ln.Addr().String()
	assert.NilError(t, ln.Close())

	var srv *httptest.Server
	t.Cleanup(func() {
		if srv != nil {
			srv.Close()
		}
	})
	clk := newClock()
	// The registry comes up while the client waits.
	sleep := func(ctx context.Context, d time.Duration) error {
		if srv == nil {
			l, err := net.Listen("tcp", addr)
			if err != nil {
				t.Skipf("cannot listen again on %s: %v", addr, err)
			}
			srv = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				io.WriteString(w, "up")
			}))
			srv.Listener = l
			srv.Start()
		}
		return clk.Sleep(ctx, d)
	}
	rt := retry.NewTransport(http.DefaultTransport.(*http.Transport).Clone(), retry.WithClock(clk.Now, sleep))
	resp, err := get(t, rt, "http://"+addr+"/v2/")
	assert.NilError(t, err)
	assert.Equal(t, readBody(t, resp), "up")
	assert.Assert(t, is.Len(clk.Sleeps(), 1))
}

func TestAttemptTimeout(t *testing.T) {
	const timeout = 30 * time.Millisecond
	release := make(chan struct{})
	t.Cleanup(func() { close(release) })
	srv := newServer(t,
		func(w http.ResponseWriter, r *http.Request) { // never answers in time
			select {
			case <-r.Context().Done():
			case <-release:
			}
		},
		func(w http.ResponseWriter, r *http.Request) { // headers fast, body slower than the timeout
			w.WriteHeader(200)
			io.WriteString(w, "slow ")
			w.(http.Flusher).Flush()
			time.Sleep(3 * timeout)
			io.WriteString(w, "body")
		},
	)
	clk := newClock()
	var ev events
	rt := retry.NewTransport(srv.Client().Transport, clk.Option(), retry.WithObserver(ev.Observe),
		retry.WithAttemptTimeout(timeout))

	start := time.Now()
	resp, err := get(t, rt, srv.URL+"/v2/app/manifests/latest")
	assert.NilError(t, err)
	assert.Equal(t, resp.StatusCode, 200)
	assert.Equal(t, readBody(t, resp), "slow body") // the deadline covers the headers only
	assert.Assert(t, time.Since(start) < 5*time.Second)
	assert.Equal(t, srv.hits.Load(), int32(2))
	got := ev.List()
	assert.Assert(t, is.Len(got, 1))
	assert.Assert(t, errors.Is(got[0].Err, retry.ErrAttemptTimeout), "%v", got[0].Err)
}

func TestAttemptsExhausted(t *testing.T) {
	refused := func(t *testing.T) string {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		assert.NilError(t, err)
		addr := ln.Addr().String()
		assert.NilError(t, ln.Close())
		return addr
	}
	for _, tc := range []struct {
		name string
		addr func(*testing.T) (addr string, hits func() int32)
	}{
		{name: "server hangs up", addr: func(t *testing.T) (string, func() int32) {
			srv := newServer(t, hangUp(t))
			return srv.Listener.Addr().String(), srv.hits.Load
		}},
		{name: "server resets", addr: func(t *testing.T) (string, func() int32) {
			srv := newServer(t, resetConn(t))
			return srv.Listener.Addr().String(), srv.hits.Load
		}},
		{name: "connection refused", addr: func(t *testing.T) (string, func() int32) {
			return refused(t), func() int32 { return 3 }
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			addr, hits := tc.addr(t)
			clk := newClock()
			rt := retry.NewTransport(http.DefaultTransport.(*http.Transport).Clone(), clk.Option(),
				retry.WithMaxAttempts(3))

			req, err := http.NewRequest(http.MethodGet,
				"http://robot:hunter2-pass@"+addr+"/v2/team/app/manifests/latest?token=query-secret-42&n=100", nil)
			assert.NilError(t, err)
			req.Header.Set("Authorization", "Bearer header-secret-token")
			resp, err := rt.RoundTrip(req)
			assert.Assert(t, resp == nil)
			assert.Assert(t, err != nil)
			msg := err.Error()
			t.Log(msg)

			var rerr *retry.Error
			assert.Assert(t, errors.As(err, &rerr))
			assert.Equal(t, rerr.Attempts, 3)
			assert.Equal(t, rerr.Method, "GET")
			assert.Equal(t, rerr.URL, "http://"+addr+"/v2/team/app/manifests/latest")
			assert.Assert(t, rerr.Err != nil)
			assert.Assert(t, is.Contains(msg, "GET http://"+addr+"/v2/team/app/manifests/latest: giving up after 3 attempts; last error: "))
			for _, secret := range []string{"hunter2", "robot", "query-secret", "token=", "header-secret", "Bearer", "?"} {
				assert.Assert(t, !strings.Contains(msg, secret), "%q leaks %q", msg, secret)
			}
			assert.Equal(t, hits(), int32(3))
			assert.Assert(t, is.Len(clk.Sleeps(), 2))
		})
	}
}

func TestStatusExhaustedReturnsLastResponse(t *testing.T) {
	srv := newServer(t, reply(503, "Retry-After", "1"))
	clk := newClock()
	rt := retry.NewTransport(srv.Client().Transport, clk.Option())

	resp, err := get(t, rt, srv.URL+"/v2/")
	assert.NilError(t, err)
	assert.Equal(t, resp.StatusCode, 503)
	assert.Equal(t, resp.Header.Get("Retry-After"), "1")
	assert.Equal(t, readBody(t, resp), "Service Unavailable")
	assert.Equal(t, srv.hits.Load(), int32(retry.DefaultMaxAttempts))
	assert.Assert(t, is.Len(clk.Sleeps(), retry.DefaultMaxAttempts-1))
}

func TestBackoffGrowsAndIsCapped(t *testing.T) {
	srv := newServer(t, reply(500))
	clk := newClock()
	rt := retry.NewTransport(srv.Client().Transport, clk.Option(), retry.WithMaxAttempts(12),
		retry.WithBackoff(100*time.Millisecond, time.Second))

	resp, err := get(t, rt, srv.URL+"/v2/")
	assert.NilError(t, err)
	assert.Equal(t, resp.StatusCode, 500)
	resp.Body.Close()
	sleeps := clk.Sleeps()
	assert.Assert(t, is.Len(sleeps, 11))
	for i, d := range sleeps {
		ceiling := min(100*time.Millisecond<<i, time.Second)
		assert.Assert(t, d >= 0 && d <= ceiling, "wait %d: %v > %v", i+1, d, ceiling)
	}
}

func TestRetryAfterBeyondMaxWait(t *testing.T) {
	for _, tc := range []struct {
		name   string
		code   int
		header []string
		want   time.Duration
	}{
		{name: "Retry-After", code: 429, header: []string{"Retry-After", "3600"}, want: time.Hour},
		{name: "Docker Hub pull limit", code: 429, header: []string{"X-Retry-After", "unix+21600"}, want: 6 * time.Hour},
		{
			name: "GitHub primary limit", code: 403,
			header: []string{"X-RateLimit-Remaining", "0", "X-RateLimit-Reset", "unix+2400"}, want: 40 * time.Minute,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			clk := newClock()
			header := append([]string(nil), tc.header...)
			for i, v := range header {
				if rest, ok := strings.CutPrefix(v, "unix+"); ok {
					n, _ := strconv.Atoi(rest)
					header[i] = strconv.FormatInt(clk.Now().Unix()+int64(n), 10)
				}
			}
			srv := newServer(t, reply(tc.code, header...), reply(200))
			tr := &tracker{inner: srv.Client().Transport}
			rt := retry.NewTransport(tr, clk.Option(), retry.WithMaxWait(2*time.Minute))

			resp, err := get(t, rt, srv.URL+"/v2/library/alpine/manifests/3?x=1")
			assert.Assert(t, resp == nil)
			var rerr *retry.Error
			assert.Assert(t, errors.As(err, &rerr), "%v", err)
			assert.Equal(t, rerr.Wait, tc.want)
			assert.Equal(t, rerr.StatusCode, tc.code)
			assert.Equal(t, err.Error(), "GET "+srv.URL+"/v2/library/alpine/manifests/3: giving up after 1 attempt: "+
				"server asked to wait "+tc.want.String()+" ("+http.CanonicalHeaderKey(header[len(header)-2])+
				"), more than the 2m0s limit; last status "+strconv.Itoa(tc.code)+" "+http.StatusText(tc.code))
			assert.Equal(t, srv.hits.Load(), int32(1))
			assert.Assert(t, is.Len(clk.Sleeps(), 0))
			assert.Equal(t, tr.open(), 0)
		})
	}
}

func TestUnsafeRequestsNotRetried(t *testing.T) {
	for _, tc := range []struct {
		name string
		req  func(url string) *http.Request
	}{
		{name: "POST", req: func(url string) *http.Request {
			r, _ := http.NewRequest(http.MethodPost, url+"/v2/app/blobs/uploads/", strings.NewReader("x"))
			return r
		}},
		{name: "POST without body", req: func(url string) *http.Request {
			r, _ := http.NewRequest(http.MethodPost, url+"/v2/app/blobs/uploads/", nil)
			return r
		}},
		{name: "PATCH", req: func(url string) *http.Request {
			r, _ := http.NewRequest(http.MethodPatch, url+"/v2/app/blobs/uploads/1", strings.NewReader("chunk"))
			return r
		}},
		{name: "PUT with a body that cannot be replayed", req: func(url string) *http.Request {
			r, _ := http.NewRequest(http.MethodPut, url+"/v2/app/manifests/v1", io.NopCloser(strings.NewReader("{}")))
			return r
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := newServer(t, reply(503, "Retry-After", "1"), reply(201))
			clk := newClock()
			rt := retry.NewTransport(srv.Client().Transport, clk.Option())
			req := tc.req(srv.URL)
			if tc.name != "PUT with a body that cannot be replayed" {
				assert.Assert(t, req.Body == http.NoBody || req.Body == nil || req.GetBody != nil)
			}
			resp, err := rt.RoundTrip(req)
			assert.NilError(t, err)
			assert.Equal(t, resp.StatusCode, 503)
			assert.Equal(t, readBody(t, resp), "Service Unavailable")
			assert.Equal(t, srv.hits.Load(), int32(1))
			assert.Assert(t, is.Len(clk.Sleeps(), 0))
		})
	}
}

func TestBodyReplayedOnPut(t *testing.T) {
	const manifest = `{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json"}`
	var bodies []string
	check := func(next step) step {
		return func(w http.ResponseWriter, r *http.Request) {
			b, err := io.ReadAll(r.Body)
			if err != nil {
				t.Errorf("read body: %v", err)
			}
			bodies = append(bodies, string(b))
			if string(b) != manifest || r.ContentLength != int64(len(manifest)) {
				w.WriteHeader(http.StatusBadRequest)
				return
			}
			next(w, r)
		}
	}
	srv := newServer(t, check(reply(503)), check(hangUp(t)), check(reply(201)))
	clk := newClock()
	rt := retry.NewTransport(srv.Client().Transport, clk.Option())

	req, err := http.NewRequest(http.MethodPut, srv.URL+"/v2/app/manifests/v1", strings.NewReader(manifest))
	assert.NilError(t, err)
	req.Header.Set("Content-Type", "application/vnd.oci.image.manifest.v1+json")
	resp, err := rt.RoundTrip(req)
	assert.NilError(t, err)
	assert.Equal(t, resp.StatusCode, 201)
	resp.Body.Close()
	assert.DeepEqual(t, bodies, []string{manifest, manifest, manifest})
}

func TestContextCancelledWhileWaiting(t *testing.T) {
	srv := newServer(t, reply(429, "Retry-After", "60"), reply(200))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	// The real clock: cancelling must end the real wait.
	rt := retry.NewTransport(srv.Client().Transport, retry.WithObserver(func(retry.Event) { cancel() }))

	req, err := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL+"/v2/", nil)
	assert.NilError(t, err)
	start := time.Now()
	resp, err := rt.RoundTrip(req)
	assert.Assert(t, resp == nil)
	assert.Assert(t, errors.Is(err, context.Canceled), "%v", err)
	assert.Assert(t, time.Since(start) < 5*time.Second)
	assert.Equal(t, srv.hits.Load(), int32(1))
	t.Log(err)
}

func TestContextEndsDuringAttempt(t *testing.T) {
	for _, tc := range []struct {
		name string
		ctx  func(started <-chan struct{}) (context.Context, context.CancelFunc)
		want error
	}{
		{name: "cancelled", want: context.Canceled, ctx: func(started <-chan struct{}) (context.Context, context.CancelFunc) {
			ctx, cancel := context.WithCancel(context.Background())
			go func() {
				<-started
				cancel()
			}()
			return ctx, cancel
		}},
		{name: "deadline", want: context.DeadlineExceeded, ctx: func(<-chan struct{}) (context.Context, context.CancelFunc) {
			return context.WithTimeout(context.Background(), 30*time.Millisecond)
		}},
	} {
		for _, timeout := range []time.Duration{0, time.Minute} {
			t.Run(tc.name+" attempt timeout "+timeout.String(), func(t *testing.T) {
				started := make(chan struct{})
				srv := newServer(t, func(w http.ResponseWriter, r *http.Request) {
					close(started)
					<-r.Context().Done()
				}, reply(200))
				ctx, cancel := tc.ctx(started)
				defer cancel()
				clk := newClock()
				var ev events
				rt := retry.NewTransport(srv.Client().Transport, clk.Option(), retry.WithObserver(ev.Observe),
					retry.WithAttemptTimeout(timeout))

				req, err := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL+"/v2/", nil)
				assert.NilError(t, err)
				resp, err := rt.RoundTrip(req)
				assert.Assert(t, resp == nil)
				assert.Assert(t, errors.Is(err, tc.want), "%v", err)
				var rerr *retry.Error
				assert.Assert(t, !errors.As(err, &rerr), "the caller's own cancellation is returned as is: %v", err)
				assert.Equal(t, srv.hits.Load(), int32(1))
				assert.Assert(t, is.Len(clk.Sleeps(), 0))
				assert.Assert(t, is.Len(ev.List(), 0))
			})
		}
	}
}

func TestHostGate(t *testing.T) {
	limited := newServer(t, reply(429, "Retry-After", "5"), reply(200))
	other := newServer(t, reply(200))

	// A clock whose sleeps block until the test moves time on.
	var (
		mu      sync.Mutex
		now     = newClock().Now()
		sleeps  = make(chan time.Duration, 4)
		release = make(chan struct{})
	)
	clockNow := func() time.Time {
		mu.Lock()
		defer mu.Unlock()
		return now
	}
	sleep := func(ctx context.Context, d time.Duration) error {
		sleeps <- d
		select {
		case <-release:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	var ev events
	// Both servers share one client transport: only the host may matter.
	rt := retry.NewTransport(limited.Client().Transport, retry.WithClock(clockNow, sleep),
		retry.WithObserver(ev.Observe))

	type result struct {
		code int
		err  error
	}
	do := func(url string) <-chan result {
		ch := make(chan result, 1)
		go func() {
			req, _ := http.NewRequest(http.MethodHead, url, nil)
			resp, err := rt.RoundTrip(req)
			if err != nil {
				ch <- result{err: err}
				return
			}
			resp.Body.Close()
			ch <- result{code: resp.StatusCode}
		}()
		return ch
	}
	recv := func(what string) time.Duration {
		t.Helper()
		select {
		case d := <-sleeps:
			return d
		case <-time.After(10 * time.Second):
			t.Fatalf("%s: no wait", what)
			return 0
		}
	}

	first := do(limited.URL + "/v2/app/manifests/a")
	assert.Equal(t, recv("first request"), 5*time.Second) // got the 429 and waits

	second := do(limited.URL + "/v2/app/manifests/b")
	d := recv("second request")
	assert.Assert(t, d >= 5*time.Second && d <= 5*time.Second+retry.DefaultBackoffBase, "second waits %v", d)
	assert.Equal(t, limited.hits.Load(), int32(1), "the second request was sent to a rate-limited host")

	select { // another host is not held back
	case r := <-do(other.URL + "/v2/app/manifests/c"):
		assert.NilError(t, r.err)
		assert.Equal(t, r.code, 200)
	case <-time.After(10 * time.Second):
		t.Fatal("a request to another host was held back")
	}
	assert.Equal(t, other.hits.Load(), int32(1))

	mu.Lock()
	now = now.Add(5 * time.Second)
	mu.Unlock()
	close(release)
	for _, ch := range []<-chan result{first, second} {
		r := <-ch
		assert.NilError(t, r.err)
		assert.Equal(t, r.code, 200)
	}
	assert.Equal(t, limited.hits.Load(), int32(3))

	got := ev.List()
	assert.Assert(t, is.Len(got, 2))
	assert.Equal(t, got[0].Status, 429)
	assert.Equal(t, got[0].Attempt, 1)
	assert.Equal(t, got[1].Err, retry.ErrHostBackoff)
	assert.Equal(t, got[1].Attempt, 1)
	assert.Equal(t, got[1].Method, "HEAD")
	assert.Equal(t, got[1].Host, limited.Listener.Addr().String())
}

// tracker wraps response bodies to see which are closed.
type tracker struct {
	inner  http.RoundTripper
	mu     sync.Mutex
	bodies []*trackedBody
}

type trackedBody struct {
	io.ReadCloser
	closed atomic.Bool
}

func (b *trackedBody) Close() error {
	b.closed.Store(true)
	return b.ReadCloser.Close()
}

func (tr *tracker) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := tr.inner.RoundTrip(req)
	if err != nil {
		return nil, err
	}
	b := &trackedBody{ReadCloser: resp.Body}
	resp.Body = b
	tr.mu.Lock()
	tr.bodies = append(tr.bodies, b)
	tr.mu.Unlock()
	return resp, nil
}

func (tr *tracker) open() int {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	n := 0
	for _, b := range tr.bodies {
		if !b.closed.Load() {
			n++
		}
	}
	return n
}

func TestRetriedBodiesClosed(t *testing.T) {
	for _, timeout := range []time.Duration{0, time.Minute} {
		t.Run("attempt timeout "+timeout.String(), func(t *testing.T) {
			big := strings.Repeat("x", 8<<10)
			srv := newServer(t,
				func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(503); io.WriteString(w, big) },
				reply(429, "Retry-After", "1"),
				reply(502),
				reply(200),
			)
			tr := &tracker{inner: srv.Client().Transport}
			rt := retry.NewTransport(tr, newClock().Option(), retry.WithAttemptTimeout(timeout))

			resp, err := get(t, rt, srv.URL+"/v2/")
			assert.NilError(t, err)
			assert.Equal(t, len(tr.bodies), 4)
			assert.Equal(t, tr.open(), 1, "only the returned body is open")
			assert.Assert(t, !tr.bodies[3].closed.Load())
			assert.Equal(t, readBody(t, resp), "OK")
			assert.Equal(t, tr.open(), 0)
			assert.Equal(t, srv.conns.Load(), int32(1), "drained connections are reused")
		})
	}
}

func TestRequestBodyClosedWhenNeverSent(t *testing.T) {
	srv := newServer(t, reply(429, "Retry-After", "30"), reply(200))
	clk := newClock()
	rt := retry.NewTransport(srv.Client().Transport, clk.Option(), retry.WithMaxAttempts(1))

	resp, err := get(t, rt, srv.URL+"/v2/") // not retried, but it holds the host for 30s
	assert.NilError(t, err)
	assert.Equal(t, resp.StatusCode, 429)
	resp.Body.Close()

	// The gate holds the next request; its context has ended.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	body := &closeRecorder{Reader: strings.NewReader("{}")}
	req, err := http.NewRequestWithContext(ctx, http.MethodPut, srv.URL+"/v2/app/manifests/v1", body)
	assert.NilError(t, err)
	resp, err = rt.RoundTrip(req)
	assert.Assert(t, resp == nil)
	assert.Assert(t, errors.Is(err, context.Canceled), "%v", err)
	assert.Assert(t, body.closed, "the request body must be closed even though it was never sent")
	assert.Equal(t, srv.hits.Load(), int32(1))
	t.Log(err)
}

type closeRecorder struct {
	io.Reader
	closed bool
}

func (c *closeRecorder) Close() error { c.closed = true; return nil }

func TestDefaultsAndOptions(t *testing.T) {
	srv := newServer(t, reply(503))
	clk := newClock()
	rt := retry.NewTransport(srv.Client().Transport, clk.Option(), retry.WithMaxAttempts(0))
	resp, err := get(t, rt, srv.URL+"/")
	assert.NilError(t, err)
	resp.Body.Close()
	assert.Equal(t, srv.hits.Load(), int32(1), "WithMaxAttempts(0) sends once")

	srv = newServer(t, reply(503), reply(200))
	clk = newClock()
	rt = retry.NewTransport(srv.Client().Transport, clk.Option(), retry.WithBackoff(0, 0))
	resp, err = get(t, rt, srv.URL+"/")
	assert.NilError(t, err)
	resp.Body.Close()
	assert.DeepEqual(t, clk.Sleeps(), []time.Duration{0})
}

// stub answers at once without a network.
type stub struct{}

func (stub) RoundTrip(*http.Request) (*http.Response, error) {
	return &http.Response{StatusCode: 200, Body: http.NoBody, Header: http.Header{}}, nil
}

// BenchmarkFastPath measures what the Transport adds to a request that
// succeeds at once.
func BenchmarkFastPath(b *testing.B) {
	req, err := http.NewRequest(http.MethodGet, "https://registry.example.com/v2/app/manifests/latest", nil)
	if err != nil {
		b.Fatal(err)
	}
	for _, bc := range []struct {
		name string
		rt   http.RoundTripper
	}{
		{"direct", stub{}},
		{"retry", retry.NewTransport(stub{})},
		{"retry with attempt timeout", retry.NewTransport(stub{}, retry.WithAttemptTimeout(time.Minute))},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				resp, err := bc.rt.RoundTrip(req)
				if err != nil {
					b.Fatal(err)
				}
				resp.Body.Close()
			}
		})
	}
}

func BenchmarkLoopback(b *testing.B) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "{}")
	}))
	defer srv.Close()
	req, err := http.NewRequest(http.MethodGet, srv.URL+"/v2/app/manifests/latest", nil)
	if err != nil {
		b.Fatal(err)
	}
	for _, bc := range []struct {
		name string
		rt   http.RoundTripper
	}{
		{"direct", srv.Client().Transport},
		{"retry", retry.NewTransport(srv.Client().Transport)},
	} {
		b.Run(bc.name, func(b *testing.B) {
			for b.Loop() {
				resp, err := bc.rt.RoundTrip(req)
				if err != nil {
					b.Fatal(err)
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
			}
		})
	}
}

func TestIdempotentPostIsRetried(t *testing.T) {
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if calls.Add(1) == 1 {
			w.WriteHeader(http.StatusTooManyRequests)
			return
		}
		w.WriteHeader(http.StatusAccepted)
	}))
	defer srv.Close()
	tr := retry.NewTransport(nil, retry.WithBackoff(time.Millisecond, time.Millisecond))
	for _, tc := range []struct {
		ctx   context.Context
		want  int
		calls int32
	}{
		{context.Background(), http.StatusTooManyRequests, 1},
		{retry.Idempotent(context.Background()), http.StatusAccepted, 2},
	} {
		calls.Store(0)
		req, err := http.NewRequestWithContext(tc.ctx, http.MethodPost, srv.URL+"/v2/r/blobs/uploads/", nil)
		assert.NilError(t, err)
		resp, err := tr.RoundTrip(req)
		assert.NilError(t, err)
		resp.Body.Close()
		assert.Check(t, is.Equal(resp.StatusCode, tc.want))
		assert.Check(t, is.Equal(calls.Load(), tc.calls))
	}
}

// truncate answers with the whole Content-Length but half the body, then
// drops the connection.
func truncateBody(body string) step {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", strconv.Itoa(len(body)))
		w.WriteHeader(200)
		io.WriteString(w, body[:len(body)/2])
		w.(http.Flusher).Flush()
		conn, _, err := w.(http.Hijacker).Hijack()
		if err == nil {
			conn.Close()
		}
	}
}

func answer(body string) step {
	return func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, body) }
}

// TestBufferedReadsRetryTruncatedBodies: with WithBufferedReads a GET whose
// body is cut short is sent again, and the caller reads the whole body of
// the attempt that succeeded; without it the caller gets the broken body.
func TestBufferedReadsRetryTruncatedBodies(t *testing.T) {
	const body = `{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json"}`
	srv := newServer(t, truncateBody(body), truncateBody(body), answer(body))
	var ev events
	rt := retry.NewTransport(srv.Client().Transport, newClock().Option(), retry.WithObserver(ev.Observe),
		retry.WithBufferedReads(1<<20))
	resp, err := get(t, rt, srv.URL+"/v2/app/manifests/latest")
	assert.NilError(t, err)
	assert.Equal(t, readBody(t, resp), body)
	assert.Equal(t, srv.hits.Load(), int32(3))
	assert.Assert(t, is.Len(ev.List(), 2))
	assert.Assert(t, errors.Is(ev.List()[0].Err, io.ErrUnexpectedEOF), "%v", ev.List()[0].Err)

	plain := newServer(t, truncateBody(body), answer(body))
	resp, err = get(t, retry.NewTransport(plain.Client().Transport, newClock().Option()), plain.URL+"/v2/app/manifests/latest")
	assert.NilError(t, err)
	_, err = io.ReadAll(resp.Body)
	resp.Body.Close()
	assert.Assert(t, errors.Is(err, io.ErrUnexpectedEOF), "%v", err)
}

// TestBufferedReadsGiveUp: a body that is truncated every time ends in an
// *Error naming the attempts and the truncation.
func TestBufferedReadsGiveUp(t *testing.T) {
	srv := newServer(t, truncateBody("0123456789"))
	rt := retry.NewTransport(srv.Client().Transport, newClock().Option(), retry.WithMaxAttempts(3), retry.WithBufferedReads(1<<20))
	_, err := get(t, rt, srv.URL+"/v2/app/tags/list")
	var re *retry.Error
	assert.Assert(t, errors.As(err, &re), "%v", err)
	assert.Equal(t, re.Attempts, 3)
	assert.Check(t, is.ErrorContains(err, "reading the response body: unexpected EOF"))
	assert.Equal(t, srv.hits.Load(), int32(3))
}

// TestAttemptTimeoutCoversBufferedBody: with WithBufferedReads the attempt
// deadline covers the body, so a body that stalls is retried.
func TestAttemptTimeoutCoversBufferedBody(t *testing.T) {
	const timeout = 50 * time.Millisecond
	release := make(chan struct{})
	t.Cleanup(func() { close(release) })
	srv := newServer(t,
		func(w http.ResponseWriter, r *http.Request) { // headers, then the body stalls
			w.Header().Set("Content-Length", "9")
			w.WriteHeader(200)
			io.WriteString(w, "slow ")
			w.(http.Flusher).Flush()
			select {
			case <-r.Context().Done():
			case <-release:
			}
		},
		answer("fast body"),
	)
	var ev events
	rt := retry.NewTransport(srv.Client().Transport, newClock().Option(), retry.WithObserver(ev.Observe),
		retry.WithAttemptTimeout(timeout), retry.WithBufferedReads(1<<20))
	resp, err := get(t, rt, srv.URL+"/v2/app/manifests/latest")
	assert.NilError(t, err)
	assert.Equal(t, readBody(t, resp), "fast body")
	assert.Equal(t, srv.hits.Load(), int32(2))
	assert.Assert(t, is.Len(ev.List(), 1))
	assert.Assert(t, errors.Is(ev.List()[0].Err, retry.ErrAttemptTimeout), "%v", ev.List()[0].Err)
}

// TestBufferedReadsLargeBodyStreams: a body above the limit is passed on
// whole, the part read first included.
func TestBufferedReadsLargeBodyStreams(t *testing.T) {
	big := strings.Repeat("x", 5000)
	srv := newServer(t, func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, big[:2000])
		w.(http.Flusher).Flush() // chunked: the length is not announced
		io.WriteString(w, big[2000:])
	})
	rt := retry.NewTransport(srv.Client().Transport, retry.WithBufferedReads(1000))
	resp, err := get(t, rt, srv.URL+"/v2/app/blobs/sha256:1")
	assert.NilError(t, err)
	assert.Equal(t, readBody(t, resp), big)
}

// TestRecheckBeforeResend: the check runs before each attempt after a wait
// (a retry, a rate-limited host's hold), not before the first one; its
// error ends the request unsent, and requests it sends are not rechecked.
func TestRecheckBeforeResend(t *testing.T) {
	var deletes atomic.Int32
	var log []string
	var mu sync.Mutex
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		log = append(log, r.Method)
		mu.Unlock()
		if r.Method == http.MethodDelete && deletes.Add(1) < 3 {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		w.WriteHeader(http.StatusAccepted)
	}))
	t.Cleanup(srv.Close)
	rt := retry.NewTransport(srv.Client().Transport, newClock().Option())
	del := func(ctx context.Context) (*http.Response, error) {
		req, err := http.NewRequestWithContext(ctx, http.MethodDelete, srv.URL+"/v2/app/manifests/old", nil)
		assert.NilError(t, err)
		return rt.RoundTrip(req)
	}

	t.Run("checked before every resend", func(t *testing.T) {
		ctx := retry.RecheckBeforeResend(context.Background(), func(ctx context.Context) error {
			// A request of the check itself is not checked again.
			req, err := http.NewRequestWithContext(ctx, http.MethodHead, srv.URL+"/v2/app/manifests/old", nil)
			assert.NilError(t, err)
			resp, err := rt.RoundTrip(req)
			if err == nil {
				resp.Body.Close()
			}
			return err
		})
		resp, err := del(ctx)
		assert.NilError(t, err)
		resp.Body.Close()
		assert.Check(t, is.Equal(resp.StatusCode, http.StatusAccepted))
		assert.Check(t, is.DeepEqual(log, []string{"DELETE", "HEAD", "DELETE", "HEAD", "DELETE"}))
	})

	t.Run("a failing check ends the request unsent", func(t *testing.T) {
		deletes.Store(0)
		log = nil
		moved := errors.New("the tag moved")
		ctx := retry.RecheckBeforeResend(context.Background(), func(context.Context) error { return moved })
		_, err := del(ctx)
		assert.Check(t, is.ErrorIs(err, moved))
		assert.Check(t, is.DeepEqual(log, []string{"DELETE"}))
	})

	t.Run("after a rate-limited host's hold", func(t *testing.T) {
		limited := newServer(t, reply(429, "Retry-After", "3"), reply(202))
		// One attempt: the 429 holds the host and is returned as it is.
		rt := retry.NewTransport(limited.Client().Transport, newClock().Option(), retry.WithMaxAttempts(1))
		resp, err := get(t, rt, limited.URL+"/v2/app/tags/list")
		assert.NilError(t, err)
		resp.Body.Close()
		var checks []int32
		ctx := retry.RecheckBeforeResend(context.Background(), func(context.Context) error {
			checks = append(checks, limited.hits.Load())
			return nil
		})
		req, err := http.NewRequestWithContext(ctx, http.MethodDelete, limited.URL+"/v2/app/manifests/old", nil)
		assert.NilError(t, err)
		resp, err = rt.RoundTrip(req)
		assert.NilError(t, err)
		resp.Body.Close()
		assert.Check(t, is.Equal(resp.StatusCode, http.StatusAccepted))
		assert.Check(t, is.DeepEqual(checks, []int32{1}), "checked once, after the hold, before the DELETE went")
	})
}
