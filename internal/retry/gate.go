package retry

import (
	"sync"
	"sync/atomic"
	"time"
)

// gates holds, per host, the time before which no request may be sent
// because the host rate limited an earlier one. It is regclient's per-host
// backoff reduced to what a shared RoundTripper needs.
type gates struct {
	n  atomic.Int64 // len(m), read without the lock on the fast path
	mu sync.Mutex
	m  map[string]time.Time
}

// active reports whether any host is, or was recently, held.
func (g *gates) active() bool { return g.n.Load() > 0 }

// hold keeps requests to host from being sent before until. It never
// shortens an existing hold.
func (g *gates) hold(host string, until time.Time) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.m == nil {
		g.m = make(map[string]time.Time)
	}
	if cur, ok := g.m[host]; ok && !until.After(cur) {
		return
	}
	g.m[host] = until
	g.n.Store(int64(len(g.m)))
}

// until returns the time before which host is held, if that is after now.
// An expired hold is forgotten.
func (g *gates) until(host string, now time.Time) (time.Time, bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	t, ok := g.m[host]
	if !ok {
		return time.Time{}, false
	}
	if !t.After(now) {
		delete(g.m, host)
		g.n.Store(int64(len(g.m)))
		return time.Time{}, false
	}
	return t, true
}
