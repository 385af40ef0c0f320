// Package retry provides an http.RoundTripper that retries registry requests
// that failed for transient reasons: rate limits (429, and GitHub's 403 with
// x-ratelimit-remaining: 0), server errors (500, 502, 503, 504), request
// timeouts (408), reset or refused connections, truncated responses, HTTP/2
// GOAWAY and answers slower than an optional per-attempt deadline.
//
// With WithBufferedReads a GET's body is read as part of the attempt, so a
// body cut short or, with WithAttemptTimeout, one that stalls is retried too.
//
// A broken or rate-limiting server changes how long a request takes, not its
// result: the caller sees the same final response it would have seen from a
// healthy server, or, when the retries run out on a transport error, an
// *Error naming the method, the URL (without userinfo or query), the number
// of attempts and the last status and error.
//
// Only requests that are safe to repeat are retried: GET, HEAD, OPTIONS, PUT
// and DELETE (manifest PUTs and DELETEs are idempotent in the registry API),
// and only when their body, if any, can be replayed with Request.GetBody.
// POST and PATCH (blob upload sessions, token exchanges) are sent once.
//
// Waits honour what the server asked for (Retry-After as delta-seconds or an
// HTTP date, X-Retry-After, RateLimit-Reset and X-RateLimit-Reset as a Unix
// time or delta-seconds) and grow exponentially with full jitter otherwise.
// A server asking for longer than the configured maximum fails the request
// at once with an error saying how long it asked for. When a host rate-limits
// one request, every other request to that host through the same Transport
// waits until the host's "not before" time, so parallel workers back off
// together instead of hammering a limited registry.
//
// Use it beneath go-containerregistry's own transports (remote.WithTransport)
// and native registry API clients. go-containerregistry retries 408, 429 and
// 5xx itself by default; disable that (remote.WithRetryStatusCodes() and a
// one-step remote.WithRetryBackoff) so attempts do not multiply.
package retry
