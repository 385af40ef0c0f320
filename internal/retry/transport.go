package retry

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"time"
)

// Defaults of a Transport built without options.
const (
	DefaultMaxAttempts = 6
	DefaultBackoffBase = 200 * time.Millisecond
	DefaultBackoffMax  = 30 * time.Second
	DefaultMaxWait     = 2 * time.Minute
)

// drainLimit is how much of a retried response body is read to let the
// connection be reused; a longer body is abandoned with its connection.
const drainLimit = 64 << 10

// ErrAttemptTimeout is the error of an attempt cancelled because no response
// arrived within the WithAttemptTimeout deadline. Such attempts are retried.
var ErrAttemptTimeout = errors.New("no response within the attempt timeout")

// ErrHostBackoff is the Event.Err of a request held back before it is sent
// because another request to the same host was rate limited.
var ErrHostBackoff = errors.New("host is rate limited, waiting before sending")

// Event describes one wait: after a failed attempt that will be retried, or
// before an attempt held back by the per-host gate.
type Event struct {
	Host    string        // the request URL's host[:port]
	Method  string        // the request method
	Attempt int           // 1-based: the attempt that failed, or (with ErrHostBackoff) the one about to be sent
	Status  int           // HTTP status of the failed attempt; 0 if there was no response
	Err     error         // transport error of the failed attempt, or ErrHostBackoff; nil for a status
	Wait    time.Duration // how long the transport waits before the next attempt
}

// Transport is an http.RoundTripper that retries transient failures of the
// RoundTripper it wraps. It is safe for concurrent use; requests through the
// same Transport share its per-host rate-limit gates.
type Transport struct {
	inner          http.RoundTripper
	maxAttempts    int
	base, max      time.Duration
	maxWait        time.Duration
	attemptTimeout time.Duration
	readLimit      int64
	now            func() time.Time
	sleep          func(context.Context, time.Duration) error
	observe        func(Event)
	jitter         func(n int64) int64 // uniform in [0, n)
	gates          gates
}

var _ http.RoundTripper = (*Transport)(nil)

// Option configures a Transport.
type Option func(*Transport)

// WithMaxAttempts sets how many times a request is sent at most, the first
// attempt included (default 6). n < 1 is treated as 1: no retries.
func WithMaxAttempts(n int) Option {
	return func(t *Transport) { t.maxAttempts = max(n, 1) }
}

// WithBackoff sets the exponential backoff: the wait before attempt k+1 is
// uniformly random in [0, min(max, base·2^(k-1))] ("full jitter"; defaults
// 200ms and 30s). base <= 0 disables backoff, leaving only the waits servers
// ask for; max < base is raised to base.
func WithBackoff(base, max time.Duration) Option {
	return func(t *Transport) {
		t.base, t.max = base, max
		if t.base < 0 {
			t.base = 0
		}
		if t.max < t.base {
			t.max = t.base
		}
	}
}

// WithMaxWait sets the longest wait a server may ask for (default 2m). A
// request the server asks to wait longer fails at once with an *Error whose
// Wait is the server's ask. It also caps the backoff. d < 0 is treated as 0.
func WithMaxWait(d time.Duration) Option {
	return func(t *Transport) { t.maxWait = max(d, 0) }
}

// WithAttemptTimeout sets how long one attempt may wait for the response
// headers (default 0: no limit beyond the request's context). An attempt
// without headers by then is cancelled and retried. The deadline does not
// cover reading the body of a returned response, unless WithBufferedReads
// reads it within the attempt, and it runs on the real clock, not the one
// set by WithClock.
func WithAttemptTimeout(d time.Duration) Option {
	return func(t *Transport) { t.attemptTimeout = max(d, 0) }
}

// WithBufferedReads makes the Transport read the body of every successful
// (200) GET response of at most limit bytes before returning it, as part of
// the attempt: a body cut short (a reset or a truncated response) or, with
// WithAttemptTimeout, one that stalls is retried like a failed attempt, and
// the attempt deadline then covers the body too. A body announced or found
// to be larger than limit is passed on as it streams, after what was read of
// it. limit <= 0 turns this off (the default).
func WithBufferedReads(limit int64) Option {
	return func(t *Transport) { t.readLimit = max(limit, 0) }
}

// WithClock replaces the clock used to read Retry-After dates and rate-limit
// resets and to wait between attempts. sleep must return early with
// ctx.Err() when ctx is done. A nil function keeps the default.
func WithClock(now func() time.Time, sleep func(ctx context.Context, d time.Duration) error) Option {
	return func(t *Transport) {
		if now != nil {
			t.now = now
		}
		if sleep != nil {
			t.sleep = sleep
		}
	}
}

// WithObserver sets a function called, synchronously, before every wait.
// It may be called from several goroutines at once and must not block.
func WithObserver(f func(Event)) Option {
	return func(t *Transport) { t.observe = f }
}

// NewTransport returns a Transport retrying requests sent through inner, or
// through http.DefaultTransport if inner is nil.
func NewTransport(inner http.RoundTripper, opts ...Option) *Transport {
	if inner == nil {
		inner = http.DefaultTransport
	}
	t := &Transport{
		inner:       inner,
		maxAttempts: DefaultMaxAttempts,
		base:        DefaultBackoffBase,
		max:         DefaultBackoffMax,
		maxWait:     DefaultMaxWait,
		now:         time.Now,
		sleep:       sleepContext,
		jitter:      rand.Int64N,
	}
	for _, opt := range opts {
		opt(t)
	}
	return t
}

// RoundTrip implements http.RoundTripper.
//
// It returns the first response that is not worth retrying, or the last one
// when the attempts run out, with its body unread. Responses it retries are
// drained and closed. It returns an *Error when the attempts run out on a
// transport error, when a server asks to wait longer than the maximum, or
// when the request's context ends during a wait; an error of the first
// attempt that is not retried, or one caused by the request's context ending
// during an attempt, is returned unchanged.
//
// A rate-limited response (429, or 403 with an exhausted quota or a
// Retry-After) and any retryable response carrying a wait of its own hold
// the host: other requests to it through t are not sent until this request's
// wait is over. A wait beyond the WithMaxWait limit fails only this request.
func (t *Transport) RoundTrip(req *http.Request) (*http.Response, error) {
	ctx := req.Context()
	replay := replayable(req)
	var (
		host     string // gate key, computed when first needed
		lastCode int
		waited   bool // an attempt failed, or the host's gate held the request
	)
	for attempt := 1; ; attempt++ {
		if t.gates.active() {
			if host == "" {
				host = hostKey(req.URL)
			}
			held, err := t.awaitHost(ctx, req, host, attempt, lastCode)
			if err != nil {
				if attempt == 1 {
					closeRequestBody(req)
				}
				return nil, err
			}
			waited = waited || held
		}

		r := req
		if attempt > 1 {
			var err error
			if r, err = rewind(req); err != nil {
				return nil, newError(req, attempt-1, lastCode, "cannot replay the request body", err)
			}
		}
		if check := recheck(ctx); waited && check != nil {
			if err := check(ctx); err != nil {
				closeRequestBody(r)
				return nil, err
			}
		}
		waited = true // every later attempt follows a wait (possibly of zero)

		resp, err := t.send(r)
		if err != nil {
			if ctx.Err() != nil {
				return nil, err // the caller gave up; not ours to wrap or retry
			}
			if !replay || !transient(err) || attempt >= t.maxAttempts {
				if attempt == 1 {
					return nil, err
				}
				return nil, newError(req, attempt, lastCode, "giving up", err)
			}
			if err := t.pause(ctx, req, Event{Attempt: attempt, Err: err, Wait: t.backoff(attempt)}); err != nil {
				return nil, newError(req, attempt, lastCode, "interrupted while waiting to retry", err)
			}
			continue
		}

		code := resp.StatusCode
		limited := rateLimited(code, resp.Header)
		if !limited && !retryableStatus(code) {
			return resp, nil
		}
		lastCode = code
		now := t.now()
		ask, source, asked := serverWait(resp.Header, limited, now)
		last := !replay || attempt >= t.maxAttempts
		if asked && ask > t.maxWait {
			if last {
				return resp, nil
			}
			drainClose(resp.Body)
			e := newError(req, attempt, code, "giving up", nil)
			e.Wait, e.Limit, e.source = ask, t.maxWait, source
			return nil, e
		}
		wait := max(ask, t.backoff(attempt))
		if limited || (asked && ask > 0) {
			if host == "" {
				host = hostKey(req.URL)
			}
			t.gates.hold(host, now.Add(wait))
		}
		if last {
			return resp, nil
		}
		drainClose(resp.Body)
		if err := t.pause(ctx, req, Event{Attempt: attempt, Status: code, Wait: wait}); err != nil {
			return nil, newError(req, attempt, code, "interrupted while waiting to retry", err)
		}
	}
}

// send makes one attempt, under the per-attempt deadline if there is one,
// reading the body too where WithBufferedReads says so.
func (t *Transport) send(req *http.Request) (*http.Response, error) {
	if t.attemptTimeout <= 0 && t.readLimit <= 0 {
		return t.inner.RoundTrip(req)
	}
	ctx, cancel := context.WithCancelCause(req.Context())
	var timer *time.Timer
	if t.attemptTimeout > 0 {
		timer = time.AfterFunc(t.attemptTimeout, func() { cancel(ErrAttemptTimeout) })
	}
	resp, err := t.inner.RoundTrip(req.WithContext(ctx))
	buffered := false
	if err == nil && t.buffers(req, resp) {
		if err = bufferBody(resp, t.readLimit); err != nil {
			resp = nil
		}
		buffered = true
	}
	if timer != nil && !timer.Stop() { // fired: the attempt was (or is being) cancelled
		if resp != nil {
			drainClose(resp.Body)
		}
		cancel(nil)
		if perr := req.Context().Err(); perr != nil {
			if err == nil {
				err = perr
			}
			return nil, err
		}
		return nil, fmt.Errorf("%w (%v)", ErrAttemptTimeout, t.attemptTimeout)
	}
	if err != nil || buffered {
		cancel(nil)
		return resp, err
	}
	resp.Body = newCancelBody(resp.Body, func() { cancel(nil) })
	return resp, nil
}

// buffers reports whether send reads resp's body within the attempt.
func (t *Transport) buffers(req *http.Request, resp *http.Response) bool {
	return t.readLimit > 0 && method(req) == http.MethodGet && resp.StatusCode == http.StatusOK &&
		resp.Body != nil && resp.ContentLength <= t.readLimit
}

// bufferBody reads resp's body into memory (at most limit+1 bytes of it). On
// a read error the body is closed and the error returned; a body longer than
// limit goes on streaming after the part read.
func bufferBody(resp *http.Response, limit int64) error {
	data, err := io.ReadAll(io.LimitReader(resp.Body, limit+1))
	if err != nil {
		resp.Body.Close()
		return fmt.Errorf("reading the response body: %w", err)
	}
	if int64(len(data)) > limit {
		resp.Body = &prefixedBody{Reader: io.MultiReader(bytes.NewReader(data), resp.Body), Closer: resp.Body}
		return nil
	}
	resp.Body.Close()
	resp.Body = io.NopCloser(bytes.NewReader(data))
	return nil
}

// prefixedBody is a body whose start was read already.
type prefixedBody struct {
	io.Reader
	io.Closer
}

// awaitHost holds the request while its host is rate limited.
// It reports whether it held the request at all.
func (t *Transport) awaitHost(ctx context.Context, req *http.Request, host string, attempt, lastCode int) (held bool, err error) {
	for {
		now := t.now()
		until, ok := t.gates.until(host, now)
		if !ok {
			return held, nil
		}
		held = true
		// Stagger the requests released together by up to one backoff base.
		wait := min(until.Sub(now), t.maxWait) + t.rand(t.base)
		if err := t.pause(ctx, req, Event{Attempt: attempt, Err: ErrHostBackoff, Wait: wait}); err != nil {
			return held, newError(req, attempt-1, lastCode, "interrupted while waiting for a rate-limited host", err)
		}
	}
}

// pause reports ev and waits ev.Wait.
func (t *Transport) pause(ctx context.Context, req *http.Request, ev Event) error {
	if t.observe != nil {
		ev.Host, ev.Method = req.URL.Host, req.Method
		t.observe(ev)
	}
	return t.sleep(ctx, ev.Wait)
}

// backoff returns the jittered wait after the given failed attempt.
func (t *Transport) backoff(attempt int) time.Duration {
	ceiling := t.base
	for i := 1; i < attempt && ceiling < t.max; i++ {
		ceiling *= 2
	}
	ceiling = min(ceiling, t.max, t.maxWait)
	return t.rand(ceiling + 1)
}

func (t *Transport) rand(n time.Duration) time.Duration {
	if n <= 0 {
		return 0
	}
	return time.Duration(t.jitter(int64(n)))
}

func sleepContext(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-timer.C:
		return nil
	}
}

type idempotentKey struct{}

type recheckKey struct{}

// RecheckBeforeResend makes the requests sent with ctx call check before
// every attempt that follows a wait: a retry after a failed attempt, or the
// first attempt once a rate-limited host's hold is over. A write whose
// precondition the caller checked just before sending it (the tag still
// points to the digest it judged) checks it again there, instead of landing
// seconds or minutes after the check. An error from check ends the request
// with that error, unsent. check gets the request's context, which carries
// no check of its own: requests it sends are not rechecked.
func RecheckBeforeResend(ctx context.Context, check func(ctx context.Context) error) context.Context {
	return context.WithValue(ctx, recheckKey{}, check)
}

func recheck(ctx context.Context) func(context.Context) error {
	check, _ := ctx.Value(recheckKey{}).(func(context.Context) error)
	if check == nil {
		return nil
	}
	return func(ctx context.Context) error { return check(context.WithValue(ctx, recheckKey{}, nil)) }
}

// Idempotent marks the requests made with ctx as safe to send again although
// their method (POST, PATCH) is not in general: starting a blob upload
// session, say, whose abandoned sessions the registry expires.
func Idempotent(ctx context.Context) context.Context {
	return context.WithValue(ctx, idempotentKey{}, true)
}

// replayable reports whether req may be sent again: its method is safe to
// repeat (or its context says it is) and its body, if any, can be recreated.
func replayable(req *http.Request) bool {
	switch req.Method {
	case "", http.MethodGet, http.MethodHead, http.MethodOptions, http.MethodPut, http.MethodDelete:
	default:
		if marked, _ := req.Context().Value(idempotentKey{}).(bool); !marked {
			return false
		}
	}
	return req.Body == nil || req.Body == http.NoBody || req.GetBody != nil
}

// rewind returns a copy of req with a fresh body for another attempt.
func rewind(req *http.Request) (*http.Request, error) {
	r := req.Clone(req.Context())
	if req.Body == nil || req.Body == http.NoBody {
		return r, nil
	}
	body, err := req.GetBody()
	if err != nil {
		return nil, err
	}
	r.Body = body
	return r, nil
}

func closeRequestBody(req *http.Request) {
	if req.Body != nil {
		req.Body.Close()
	}
}

func drainClose(body io.ReadCloser) {
	if body == nil {
		return
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(body, drainLimit))
	body.Close()
}

// cancelBody releases an attempt's context when the body is closed.
type cancelBody struct {
	io.ReadCloser
	cancel func()
}

func (b *cancelBody) Close() error {
	err := b.ReadCloser.Close()
	b.cancel()
	return err
}

// cancelWriteBody keeps the io.Writer of a 101 Switching Protocols body.
type cancelWriteBody struct {
	cancelBody
	io.Writer
}

func newCancelBody(body io.ReadCloser, cancel func()) io.ReadCloser {
	if body == nil {
		cancel()
		return nil
	}
	if w, ok := body.(io.Writer); ok {
		return &cancelWriteBody{cancelBody{body, cancel}, w}
	}
	return &cancelBody{body, cancel}
}
