package bench

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
)

// What one request of each kind costs on a seeded registry, at the
// benchmark's parallelism: the unit prices that explain the contenders'
// times (a run costs about the sum of its requests' prices when the
// registry is the bottleneck, as it is here).

type requestCost struct {
	registry    string
	kind        string
	n           int
	wall        time.Duration
	registryCPU time.Duration
}

var (
	costsMu sync.Mutex
	costs   []requestCost
)

func measureRequestCosts(t *testing.T, version string, ds *dataset, tools benchTools) {
	s := newScene(t, version, ds, tools)
	ctx := t.Context()
	c := newAPIClient(t, s.reg, benchUser, benchPass, parallel)
	defer c.close()
	tags := append(append([]string{}, ds.oldTags...), ds.keepTags...)
	digests := append(append([]string{}, ds.oldDigests...), ds.keepDigests...)
	configs := ds.configDigests()
	accept := http.Header{"Accept": {mediaTypeManifest}}
	read := func(ctx context.Context, method, u string, hdr http.Header) error {
		resp, err := c.do(ctx, method, u, hdr)
		if err != nil {
			return err
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		_ = resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("%s %s: %s", method, u, resp.Status)
		}
		return nil
	}
	step := func(kind string, n int, f func(ctx context.Context, i int) error) {
		r0, start := processCPU(s.regPID), time.Now()
		if err := parallelDo(ctx, n, parallel, f); err != nil {
			t.Fatalf("%s: %v", kind, err)
		}
		rc := requestCost{registry: version, kind: kind, n: n, wall: time.Since(start), registryCPU: -1}
		if r1 := processCPU(s.regPID); r0 >= 0 && r1 >= 0 {
			rc.registryCPU = r1 - r0
		}
		t.Logf("%s: %s × %d: %.2f ms wall, %.2f ms registry CPU per request", version, kind, n,
			perRequest(rc.wall, n), perRequest(rc.registryCPU, n))
		costsMu.Lock()
		costs = append(costs, rc)
		costsMu.Unlock()
	}
	step("GET tags/list (all pages)", 20, func(ctx context.Context, _ int) error { _, err := c.tags(ctx); return err })
	step("HEAD manifests/<tag>", len(tags), func(ctx context.Context, i int) error {
		return read(ctx, http.MethodHead, c.base+"/manifests/"+tags[i], accept)
	})
	step("GET manifests/<digest>", len(digests), func(ctx context.Context, i int) error {
		return read(ctx, http.MethodGet, c.base+"/manifests/"+digests[i], accept)
	})
	step("GET manifests/<tag>", len(tags), func(ctx context.Context, i int) error {
		return read(ctx, http.MethodGet, c.base+"/manifests/"+tags[i], accept)
	})
	step("GET blobs/<config>", len(configs), func(ctx context.Context, i int) error {
		return read(ctx, http.MethodGet, c.base+"/blobs/"+configs[i], nil)
	})
}

func perRequest(d time.Duration, n int) float64 {
	if d < 0 {
		return -1
	}
	return d.Seconds() * 1000 / float64(n)
}

// configDigests lists every image's config digest.
func (d *dataset) configDigests() []string {
	var out []string
	for _, f := range d.files {
		if strings.Contains(f.rel, "/_layers/") && string(f.data) != d.layer.digest {
			out = append(out, string(f.data))
		}
	}
	return out
}

func renderCosts(cs []requestCost) string {
	var b strings.Builder
	b.WriteString("| registry | request | count | ms wall per request (8 in flight) | ms registry CPU per request |\n|---|---|---:|---:|---:|\n")
	for _, c := range cs {
		fmt.Fprintf(&b, "| %s | `%s` | %d | %.2f | %s |\n", c.registry, c.kind, c.n, perRequest(c.wall, c.n), msCell(perRequest(c.registryCPU, c.n)))
	}
	return b.String()
}

func msCell(v float64) string {
	if v < 0 {
		return "?"
	}
	return fmt.Sprintf("%.2f", v)
}
