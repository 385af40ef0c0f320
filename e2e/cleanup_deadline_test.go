package e2e

import (
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"
	"gotest.tools/v3/icmd"

	"github.com/docker-werf/docker-werf/e2e/harness"
)

// isRead says whether r reads a manifest, a config or the tag list.
func isRead(r *http.Request) bool {
	return r.Method == http.MethodGet &&
		(strings.Contains(r.URL.Path, "/manifests/") || strings.Contains(r.URL.Path, "/blobs/") || strings.HasSuffix(r.URL.Path, "/tags/list"))
}

// TestCleanupTruncatedReads: a third of the manifest, config and tag list
// answers are cut short half way; each is read again, and the run ends as a
// run without faults does.
func TestCleanupTruncatedReads(t *testing.T) {
	for _, version := range harness.RegistryVersions {
		t.Run(version, func(t *testing.T) {
			h := harness.New(t)
			s := newCleanupScene(t, h, version)
			proxy := harness.StartProxy(t, s.reg)
			var reads, truncated atomic.Int64
			proxy.SetFault(func(r *http.Request) harness.Fault {
				if isRead(r) && reads.Add(1)%3 == 1 {
					truncated.Add(1)
					return harness.Fault{Truncate: true}
				}
				return harness.Fault{}
			})
			h.Plugin(s.env(t), s.cleanupArgs(proxy.Addr+"/shop/app")...).Assert(t, icmd.Success)
			assert.Check(t, truncated.Load() > 5, "too few answers truncated: %d", truncated.Load())
			assert.Check(t, is.DeepEqual(sorted(s.pusher.Tags(s.repo)), s.survivors()))
			for _, d := range s.mustExist {
				assert.Check(t, s.pusher.Exists(s.repo+"@"+d), "manifest %s is gone", d)
			}
		})
	}
}

// TestCleanupHangingRegistry: a registry that never answers some requests.
// A request that hangs once is sent again after --request-timeout and the
// run ends as a run without faults does; writes that hang every time are
// reported as failed after their retries, --timeout stops the run, and the
// registry is as it was.
func TestCleanupHangingRegistry(t *testing.T) {
	for _, version := range harness.RegistryVersions {
		t.Run(version, func(t *testing.T) {
			h := harness.New(t)
			s := newCleanupScene(t, h, version)
			proxy := harness.StartProxy(t, s.reg)
			env := s.env(t)
			before := s.snapshot(t)

			// Every write hangs: nothing reaches the registry.
			proxy.SetFault(func(r *http.Request) harness.Fault {
				if isWrite(r) {
					return harness.Fault{Hang: true}
				}
				return harness.Fault{}
			})
			start := time.Now()
			res := h.Plugin(env, s.cleanupArgs(proxy.Addr+"/shop/app", "--request-timeout", "500ms", "--timeout", "4s")...)
			took := time.Since(start)
			res.Assert(t, icmd.Expected{ExitCode: 1})
			assert.Check(t, is.Contains(res.Stderr(), "stopped by --timeout 4s"))
			assert.Check(t, is.Contains(res.Stderr(), "run the same command again to finish"))
			assert.Check(t, is.Contains(res.Stdout(), "no response within the attempt timeout (500ms)"))
			assert.Check(t, took < 90*time.Second, "the run took %s", took)
			assert.Check(t, is.DeepEqual(s.snapshot(t), before), "something changed although no write got through")

			// Each read hangs on its first attempt.
			var mu sync.Mutex
			seen := map[string]bool{}
			var hung atomic.Int64
			proxy.SetFault(func(r *http.Request) harness.Fault {
				mu.Lock()
				defer mu.Unlock()
				key := r.Method + " " + r.URL.RequestURI()
				if isRead(r) && !seen[key] {
					seen[key] = true
					hung.Add(1)
					return harness.Fault{Hang: true}
				}
				return harness.Fault{}
			})
			h.Plugin(env, s.cleanupArgs(proxy.Addr+"/shop/app", "--request-timeout", "1s")...).Assert(t, icmd.Success)
			assert.Check(t, hung.Load() > 5, "too few requests hung: %d", hung.Load())
			assert.Check(t, is.DeepEqual(sorted(s.pusher.Tags(s.repo)), s.survivors()))
			for _, d := range s.mustExist {
				assert.Check(t, s.pusher.Exists(s.repo+"@"+d), "manifest %s is gone", d)
			}
		})
	}
}
