package apitest

import (
	"context"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/docker-werf/docker-werf/internal/retry"
)

// Clock is a virtual clock for the retrying transport: sleeping advances it
// at once, and the waits are recorded. The zero value starts at time.Now.
type Clock struct {
	mu     sync.Mutex
	offset time.Duration
	waits  []time.Duration
}

// Now is the real time plus every wait slept so far.
func (v *Clock) Now() time.Time {
	v.mu.Lock()
	defer v.mu.Unlock()
	return time.Now().Add(v.offset)
}

// Sleep advances the clock by d at once (unless ctx is done) and records d.
func (v *Clock) Sleep(ctx context.Context, d time.Duration) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	v.offset += d
	v.waits = append(v.waits, d)
	return nil
}

// Waited returns the waits slept, in order.
func (v *Clock) Waited() []time.Duration {
	v.mu.Lock()
	defer v.mu.Unlock()
	return slices.Clone(v.waits)
}

// Transport is a retry.Transport over a clone of http.DefaultTransport that
// waits on this clock.
func (v *Clock) Transport(opts ...retry.Option) http.RoundTripper {
	inner := http.DefaultTransport.(*http.Transport).Clone()
	return retry.NewTransport(inner, append([]retry.Option{retry.WithClock(v.Now, v.Sleep)}, opts...)...)
}
