package bench

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/docker-werf/docker-werf/e2e/harness"
)

// scaleLimitRSS is the peak memory cleanup may use at the largest size.
const scaleLimitRSS = 300 << 20

// scaleRow is one cleanup run at one repository size.
type scaleRow struct {
	registry    string
	tags        int // in the repository
	deleted     int
	elapsed     time.Duration
	peakRSS     int64
	registryCPU time.Duration
	clientCPU   time.Duration
	phases      string
	failed      bool
}

// TestCleanupScale runs cleanup (first run, empty image cache) on one
// repository of 500, 5,000 and 50,000 tags (BENCH_SCALE_SIZES), half of them
// to delete, on each registry (BENCH_REGISTRY), and records time, peak
// memory and the cost per deleted tag in scale-results.md. It fails when a
// run does not delete exactly the old tags, or when the largest run's peak
// memory is above 300 MB.
//
//	DOCKER_WERF_BENCH=1 go test -run TestCleanupScale -v -timeout 120m ./e2e/bench/
func TestCleanupScale(t *testing.T) {
	if os.Getenv("DOCKER_WERF_BENCH") != "1" {
		t.Skip("cleanup scale benchmark: set DOCKER_WERF_BENCH=1 (make bench does)")
	}
	versions := harness.RegistryVersions
	if v := os.Getenv("BENCH_REGISTRY"); v != "" {
		versions = strings.Split(v, ",")
	}
	sizes := []int{500, 5000, 50000}
	if v := os.Getenv("BENCH_SCALE_SIZES"); v != "" {
		sizes = nil
		for _, f := range strings.Split(v, ",") {
			n, err := strconv.Atoi(strings.TrimSpace(f))
			if err != nil || n < 2 || n%2 != 0 {
				t.Fatalf("BENCH_SCALE_SIZES=%q: want even sizes of at least 2, comma separated", v)
			}
			sizes = append(sizes, n)
		}
	}
	tools := benchTools{plugin: harness.Binaries(t).Plugin}
	plugin := pluginVersion(tools.plugin) + ", binary sha256 " + fileSum(tools.plugin)
	var rows []scaleRow
	largest := sizes[0]
	for _, n := range sizes {
		largest = max(largest, n)
	}
	for _, n := range sizes {
		start := time.Now()
		ds := buildDataset(n/2, n/2)
		t.Logf("data set of %d tags: %d files, built in %s", n, len(ds.files), time.Since(start).Round(time.Millisecond))
		for _, v := range versions {
			t.Run(fmt.Sprintf("registry-%s/tags-%d", v, n), func(t *testing.T) {
				s := newScene(t, v, ds, tools)
				t.Logf("registry %s seeded with %d tags in %s (+ sync %s)", s.reg.Addr, n,
					s.seeding.Round(time.Millisecond), s.syncing.Round(time.Millisecond))
				info := runCleanup(false, false)(t, s, n/2)
				row := scaleRow{registry: v, tags: n, deleted: n / 2, elapsed: info.elapsed, peakRSS: info.peakRSS,
					registryCPU: info.registryCPU, clientCPU: info.clientCPU, phases: phaseText(info.phases, info.elapsed)}
				if err := s.verify(t.Context(), n/2); err != nil {
					row.failed = true
					t.Errorf("cleanup of %d tags on %s did not do what it should: %v\noutput tail:\n%s", n, v, err, tail(info.output, 30))
				}
				if n == largest && info.peakRSS > scaleLimitRSS {
					t.Errorf("cleanup of %d tags on %s peaked at %d MB, above the %d MB limit", n, v, info.peakRSS>>20, scaleLimitRSS>>20)
				}
				t.Logf("%d tags on %s: %s, %.2f ms per deleted tag, peak %d MB; CPU registry %s, client %s%s", n, v,
					info.elapsed.Round(time.Millisecond), perTag(info.elapsed, n/2), info.peakRSS>>20,
					cpuText(info.registryCPU), cpuText(info.clientCPU), row.phases)
				rows = append(rows, row)
			})
		}
	}
	if len(rows) == 0 {
		return
	}
	report := renderScale(rows, plugin)
	fmt.Println()
	fmt.Println(report)
	file := "scale-results.md"
	if os.Getenv("BENCH_SCALE_SIZES") != "" || os.Getenv("BENCH_REGISTRY") != "" {
		file = "scale-results-partial.md"
	}
	if err := os.WriteFile(file, []byte(report), 0o644); err != nil {
		t.Errorf("writing %s: %v", file, err)
	}
}

func perTag(d time.Duration, n int) float64 { return float64(d.Microseconds()) / 1000 / float64(n) }

func renderScale(rows []scaleRow, plugin string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "# docker werf cleanup at scale\n\n%s; %s; one repository, half of its tags deleted "+
		"(`--tag-filter '^old-.*' --older-than 1h`, empty image cache, --parallel %d), every tag on an image of its own; "+
		"one run each, client and registry on the same machine.\n\n", plugin, time.Now().UTC().Format("2006-01-02 15:04 UTC"), parallel)
	b.WriteString("| registry | tags | deleted | wall s | ms per deleted tag | peak memory MB | registry CPU s | client CPU s | phases |\n")
	b.WriteString("|---|---:|---:|---:|---:|---:|---:|---:|---|\n")
	for _, r := range rows {
		mark := ""
		if r.failed {
			mark = " INVALID"
		}
		fmt.Fprintf(&b, "| %s | %d | %d | %.1f%s | %.2f | %d | %s | %s | %s |\n", r.registry, r.tags, r.deleted,
			r.elapsed.Seconds(), mark, perTag(r.elapsed, r.deleted), r.peakRSS>>20, cpuText(r.registryCPU),
			cpuText(r.clientCPU), strings.TrimPrefix(r.phases, " — "))
	}
	return b.String()
}
