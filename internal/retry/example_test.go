package retry_test

import (
	"log"
	"net/http"
	"time"

	"github.com/docker-werf/docker-werf/internal/retry"
)

func ExampleNewTransport() {
	rt := retry.NewTransport(http.DefaultTransport,
		retry.WithAttemptTimeout(time.Minute),
		retry.WithObserver(func(ev retry.Event) {
			log.Printf("%s %s: attempt %d failed (status %d, error %v), retrying in %v",
				ev.Method, ev.Host, ev.Attempt, ev.Status, ev.Err, ev.Wait.Round(time.Millisecond))
		}),
	)
	// Give rt to go-containerregistry with remote.WithTransport(rt), with its
	// own status retries off, or use it in a native API client:
	client := &http.Client{Transport: rt}
	_ = client
}
