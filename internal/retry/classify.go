package retry

import (
	"context"
	"errors"
	"io"
	"math"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// retryableStatus reports whether a response with this status is worth
// sending again. Other 4xx are the client's fault, 501 and 505 are permanent.
func retryableStatus(code int) bool {
	switch code {
	case http.StatusRequestTimeout, http.StatusTooManyRequests,
		http.StatusInternalServerError, http.StatusBadGateway,
		http.StatusServiceUnavailable, http.StatusGatewayTimeout:
		return true
	}
	return false
}

// rateLimited reports whether a response says the client is over a rate
// limit: a 429, or a 403 that GitHub (and others) send with
// x-ratelimit-remaining: 0 for the primary limit and with Retry-After for
// secondary limits.
func rateLimited(code int, h http.Header) bool {
	switch code {
	case http.StatusTooManyRequests:
		return true
	case http.StatusForbidden:
		return exhausted(h, "X-Ratelimit-Remaining") || exhausted(h, "Ratelimit-Remaining") ||
			h.Get("Retry-After") != ""
	}
	return false
}

// exhausted reports whether the remaining-quota header key is present and 0.
func exhausted(h http.Header, key string) bool {
	v, ok := headerNumber(h, key)
	return ok && v <= 0
}

// remains reports whether the remaining-quota header key is present and > 0.
func remains(h http.Header, key string) bool {
	v, ok := headerNumber(h, key)
	return ok && v > 0
}

// epochThreshold separates Unix times (2001-09-09 onwards) from
// delta-seconds in headers whose form varies between servers.
const epochThreshold = 1_000_000_000

// serverWait returns how long the response asks the client to wait and the
// header that said so; ok is false if it does not ask. Retry-After (seconds
// or HTTP date) and X-Retry-After (Docker Hub: a Unix time) count on every
// retryable response; the rate-limit reset headers only on rate-limited ones
// and not while their remaining quota is above zero (Docker Hub's abuse
// limit answers 429 while the pull quota still has room). A time in the
// past asks for no wait.
func serverWait(h http.Header, limited bool, now time.Time) (d time.Duration, source string, ok bool) {
	keys := [...]struct{ name, remaining string }{
		{"Retry-After", ""},
		{"X-Retry-After", ""},
		{"Ratelimit-Reset", "Ratelimit-Remaining"},
		{"X-Ratelimit-Reset", "X-Ratelimit-Remaining"},
	}
	for _, k := range keys {
		if k.remaining != "" && (!limited || remains(h, k.remaining)) {
			continue
		}
		v := h.Get(k.name)
		if v == "" {
			continue
		}
		if d, ok := parseWait(v, now); ok {
			return d, k.name, true
		}
	}
	return 0, "", false
}

// parseWait reads a wait as delta-seconds, a Unix time in seconds, or an
// HTTP date, relative to now. It never returns a negative duration.
func parseWait(v string, now time.Time) (time.Duration, bool) {
	v = strings.TrimSpace(v)
	if n, ok := parseNumber(v); ok {
		var d time.Duration
		if n >= epochThreshold {
			sec, frac := math.Modf(n)
			d = time.Unix(int64(sec), int64(frac*1e9)).Sub(now)
		} else {
			d = time.Duration(n * float64(time.Second))
		}
		return max(d, 0), true
	}
	if t, err := http.ParseTime(v); err == nil {
		return max(t.Sub(now), 0), true
	}
	return 0, false
}

// parseNumber reads a non-negative number, ignoring parameters after ';'
// ("20;w=21600") and anything after a ',' (a repeated header).
func parseNumber(v string) (float64, bool) {
	if i := strings.IndexAny(v, ";,"); i >= 0 {
		v = v[:i]
	}
	v = strings.TrimSpace(v)
	if v == "" || v[0] < '0' || v[0] > '9' { // no sign, no "Inf", no "NaN"
		return 0, false
	}
	n, err := strconv.ParseFloat(v, 64)
	if err != nil || math.IsInf(n, 0) || n > math.MaxInt64/1e9 {
		return 0, false
	}
	return n, true
}

func headerNumber(h http.Header, key string) (float64, bool) {
	v := h.Get(key)
	if v == "" {
		return 0, false
	}
	return parseNumber(v)
}

// transientMessages catch transient errors that have no type to test,
// HTTP/2's among them, and Windows' wording of a reset.
var transientMessages = []string{
	"server sent GOAWAY",
	"REFUSED_STREAM",
	"http2: client connection lost",
	"server closed idle connection",
	"transport connection broken",
	"connection reset by peer",
	"forcibly closed by the remote host",
	"broken pipe",
	"connection refused",
}

// transient reports whether an attempt that failed with err (and not because
// the caller's context ended) may succeed if sent again.
func transient(err error) bool {
	switch {
	case errors.Is(err, ErrAttemptTimeout), errors.Is(err, context.DeadlineExceeded):
		return true
	case errors.Is(err, context.Canceled):
		return false
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, net.ErrClosed),
		errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.ECONNREFUSED),
		errors.Is(err, syscall.ECONNABORTED), errors.Is(err, syscall.EPIPE),
		errors.Is(err, syscall.ETIMEDOUT), errors.Is(err, syscall.EHOSTUNREACH),
		errors.Is(err, syscall.ENETUNREACH):
		return true
	}
	var dnsErr *net.DNSError
	if errors.As(err, &dnsErr) {
		return dnsErr.IsTimeout || dnsErr.IsTemporary // not "no such host"
	}
	var netErr net.Error
	if errors.As(err, &netErr) && netErr.Timeout() {
		return true
	}
	msg := err.Error()
	for _, s := range transientMessages {
		if strings.Contains(msg, s) {
			return true
		}
	}
	return false
}

// hostKey names a host for the per-host gate: lower case, with the scheme's
// default port made explicit so that "ghcr.io" and "ghcr.io:443" match.
func hostKey(u *url.URL) string {
	h := strings.ToLower(u.Host)
	if u.Port() == "" {
		switch strings.ToLower(u.Scheme) {
		case "https":
			h += ":443"
		case "http":
			h += ":80"
		}
	}
	return h
}
