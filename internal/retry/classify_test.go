package retry

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"gotest.tools/v3/assert"
)

func TestParseWait(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	epoch := func(d time.Duration) string { return fmt.Sprint(now.Add(d).Unix()) }
	tests := []struct {
		in   string
		want time.Duration
		ok   bool
	}{
		{in: "3", want: 3 * time.Second, ok: true},
		{in: " 120 ", want: 2 * time.Minute, ok: true},
		{in: "0", want: 0, ok: true},
		{in: "1.5", want: 1500 * time.Millisecond, ok: true},
		{in: "20;w=21600", want: 20 * time.Second, ok: true},
		{in: "7, 9", want: 7 * time.Second, ok: true},
		{in: "Sun, 01 Mar 2026 12:00:10 GMT", want: 10 * time.Second, ok: true}, // IMF-fixdate
		{in: "Sunday, 01-Mar-26 12:01:00 GMT", want: time.Minute, ok: true},     // RFC 850
		{in: "Sun Mar  1 12:00:30 2026", want: 30 * time.Second, ok: true},      // asctime
		{in: "Sun, 01 Mar 2026 11:00:00 GMT", want: 0, ok: true},                // past
		{in: epoch(42 * time.Second), want: 42 * time.Second, ok: true},         // Unix time
		{in: epoch(-time.Hour), want: 0, ok: true},                              // Unix time in the past
		{in: epoch(6 * time.Hour), want: 6 * time.Hour, ok: true},               // Docker Hub's window
		{in: "999999999", want: 999999999 * time.Second, ok: true},              // below the epoch threshold
		{in: "", ok: false},
		{in: "soon", ok: false},
		{in: "-1", ok: false},
		{in: "+5", ok: false},
		{in: "NaN", ok: false},
		{in: "Inf", ok: false},
		{in: "99999999999999999999", ok: false},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			got, ok := parseWait(tc.in, now)
			assert.Equal(t, ok, tc.ok)
			assert.Equal(t, got, tc.want)
		})
	}
}

func TestServerWait(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	reset := fmt.Sprint(now.Add(time.Minute).Unix())
	tests := []struct {
		name    string
		header  http.Header
		limited bool
		want    time.Duration
		source  string
	}{
		{name: "nothing", header: http.Header{}, limited: true},
		{name: "Retry-After", header: http.Header{"Retry-After": {"4"}}, want: 4 * time.Second, source: "Retry-After"},
		{name: "X-Retry-After", header: http.Header{"X-Retry-After": {reset}}, want: time.Minute, source: "X-Retry-After"},
		{
			name:   "reset only when rate limited",
			header: http.Header{"X-Ratelimit-Reset": {reset}, "X-Ratelimit-Remaining": {"0"}},
		},
		{
			name:    "reset when rate limited",
			header:  http.Header{"X-Ratelimit-Reset": {reset}, "X-Ratelimit-Remaining": {"0"}},
			limited: true, want: time.Minute, source: "X-Ratelimit-Reset",
		},
		{
			name:    "reset ignored while quota remains",
			header:  http.Header{"Ratelimit-Reset": {"30"}, "Ratelimit-Remaining": {"5;w=60"}},
			limited: true,
		},
		{
			name:    "unparsable Retry-After falls through",
			header:  http.Header{"Retry-After": {"later"}, "Ratelimit-Reset": {"30"}},
			limited: true, want: 30 * time.Second, source: "Ratelimit-Reset",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, source, ok := serverWait(tc.header, tc.limited, now)
			assert.Equal(t, got, tc.want)
			assert.Equal(t, source, tc.source)
			assert.Equal(t, ok, tc.source != "")
		})
	}
}

func TestRateLimited(t *testing.T) {
	tests := []struct {
		code   int
		header http.Header
		want   bool
	}{
		{code: 429, want: true},
		{code: 403, want: false},
		{code: 403, header: http.Header{"X-Ratelimit-Remaining": {"0"}}, want: true},
		{code: 403, header: http.Header{"X-Ratelimit-Remaining": {"1"}}, want: false},
		{code: 403, header: http.Header{"Ratelimit-Remaining": {"0;w=60"}}, want: true},
		{code: 403, header: http.Header{"Retry-After": {"60"}}, want: true},
		{code: 401, header: http.Header{"X-Ratelimit-Remaining": {"0"}}, want: false},
		{code: 503, header: http.Header{"Retry-After": {"60"}}, want: false},
	}
	for _, tc := range tests {
		t.Run(fmt.Sprint(tc.code, tc.header), func(t *testing.T) {
			if tc.header == nil {
				tc.header = http.Header{}
			}
			assert.Equal(t, rateLimited(tc.code, tc.header), tc.want)
		})
	}
}

type timeoutErr struct{}

func (timeoutErr) Error() string   { return "i/o timeout" }
func (timeoutErr) Timeout() bool   { return true }
func (timeoutErr) Temporary() bool { return true }

func TestTransient(t *testing.T) {
	opErr := func(errno syscall.Errno) error {
		return &net.OpError{Op: "read", Net: "tcp", Err: os.NewSyscallError("read", errno)}
	}
	tests := []struct {
		name string
		err  error
		want bool
	}{
		{"EOF", io.EOF, true},
		{"unexpected EOF", fmt.Errorf("reading: %w", io.ErrUnexpectedEOF), true},
		{"reset", opErr(syscall.ECONNRESET), true},
		{"refused", &net.OpError{Op: "dial", Net: "tcp", Err: os.NewSyscallError("connect", syscall.ECONNREFUSED)}, true},
		{"broken pipe", opErr(syscall.EPIPE), true},
		{"reset inside url.Error", &url.Error{Op: "Get", URL: "https://r/v2/", Err: opErr(syscall.ECONNRESET)}, true},
		{"i/o timeout", &net.OpError{Op: "read", Net: "tcp", Err: timeoutErr{}}, true},
		{"attempt timeout", fmt.Errorf("%w (1s)", ErrAttemptTimeout), true},
		{"inner deadline", context.DeadlineExceeded, true},
		{"cancelled", context.Canceled, false},
		{"GOAWAY", errors.New(`http2: server sent GOAWAY and closed the connection; LastStreamID=1, ErrCode=NO_ERROR, debug=""`), true},
		{"refused stream", errors.New("stream error: stream ID 3; REFUSED_STREAM"), true},
		{"HTTP/1 broken", errors.New("net/http: HTTP/1.x transport connection broken: malformed HTTP response"), true},
		{"Windows reset", errors.New("wsarecv: An existing connection was forcibly closed by the remote host."), true},
		{"DNS timeout", &net.DNSError{Err: "timeout", Name: "r", IsTimeout: true}, true},
		{"DNS temporary", &net.DNSError{Err: "server misbehaving", Name: "r", IsTemporary: true}, true},
		{"no such host", &net.DNSError{Err: "no such host", Name: "r", IsNotFound: true}, false},
		{"bad certificate", x509.UnknownAuthorityError{}, false},
		{"TLS to a plain-HTTP port", errors.New("http: server gave HTTP response to HTTPS client"), false},
		{"unsupported scheme", errors.New(`unsupported protocol scheme "ftp"`), false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, transient(tc.err), tc.want, "%v", tc.err)
		})
	}
}

func TestHostKey(t *testing.T) {
	for in, want := range map[string]string{
		"https://ghcr.io/v2/":          "ghcr.io:443",
		"https://GHCR.io:443/v2/":      "ghcr.io:443",
		"http://localhost:5000/v2/":    "localhost:5000",
		"http://registry.local/v2/":    "registry.local:80",
		"https://[::1]/v2/":            "[::1]:443",
		"https://u:p@quay.io/v2/?n=10": "quay.io:443",
	} {
		u, err := url.Parse(in)
		assert.NilError(t, err)
		assert.Equal(t, hostKey(u), want, in)
	}
}

func TestBackoffCeiling(t *testing.T) {
	tr := NewTransport(nil, WithBackoff(100*time.Millisecond, time.Second), WithMaxWait(700*time.Millisecond))
	tr.jitter = func(n int64) int64 { return n - 1 } // the ceiling itself
	for attempt, want := range []time.Duration{100, 200, 400, 700, 700, 700} {
		assert.Equal(t, tr.backoff(attempt+1), want*time.Millisecond, "attempt %d", attempt+1)
	}
	assert.Equal(t, tr.backoff(1000), 700*time.Millisecond) // no overflow

	tr = NewTransport(nil, WithBackoff(0, 0))
	assert.Equal(t, tr.backoff(3), time.Duration(0))
}

func TestErrorHidesSecrets(t *testing.T) {
	u, err := url.Parse("https://robot:p%40ss-hunter2@registry.example.com/v2/app/manifests/v1?X-Amz-Signature=0123456789abcdef&n=100")
	assert.NilError(t, err)
	req := &http.Request{Method: http.MethodGet, URL: u, Header: http.Header{
		"Authorization": {"Bearer eyJhbGciOi.secret-jwt"},
	}}
	// An inner RoundTripper that wraps its errors the way http.Client does.
	inner := &url.Error{Op: "Get", URL: u.String(), Err: errors.New("EOF after sending Bearer eyJhbGciOi.secret-jwt")}
	e := newError(req, 6, 503, "giving up", inner)
	msg := e.Error()
	t.Log(msg)
	for _, secret := range []string{"hunter2", "p@ss", "p%40ss", "X-Amz-Signature", "0123456789abcdef", "secret-jwt", "eyJhbGciOi"} {
		assert.Assert(t, !strings.Contains(msg, secret), "%q leaks %q", msg, secret)
	}
	assert.Assert(t, strings.Contains(msg, "GET https://registry.example.com/v2/app/manifests/v1: giving up after 6 attempts; last status 503 Service Unavailable; last error: "))
	assert.Assert(t, errors.Is(e, inner.Err))
}
