// Package bench times `docker werf cleanup` against the tools people use to
// delete tags by hand and against the floor: the bare DELETE requests.
//
// It runs only with DOCKER_WERF_BENCH=1 (`make bench` sets it):
//
//	DOCKER_WERF_BENCH=1 go test -run TestCleanupBench -v -timeout 90m ./e2e/bench/
//
// A full run takes about 50 minutes on 2 cores (most of it the crane and
// regctl loops).
//
// Knobs (environment):
//
//	BENCH_REGISTRY     "2.8", "3" or "2.8,3" (default: both)
//	BENCH_CONTENDERS   comma list of contender names to run (default: all)
//	BENCH_REGCTL_TAGS  time the regctl loop on the first N old tags and
//	                   extrapolate linearly to all of them (default: all)
//	BENCH_CRANE_TAGS   the same for both crane loops (default: all)
//	BENCH_REQUEST_COSTS=0  skip measuring what each kind of request costs
//
// BENCH_CONTENDERS names: floor, "floor untag", cleanup, "cleanup
// --delete-manifests", "crane xargs -P8", "crane loop", "regctl loop",
// "request costs".
//
// Every contender runs on a fresh registry seeded with the same data set
// (seed_test.go): 2,500 tags old-NNNN to delete, each on an image of its own,
// and 2,500 tags keep-NNNN on images of their own that must survive. Each run
// is checked afterwards: exactly the old tags it was given are gone and every
// other tag is still there; a run that fails the check fails the test.
// Results go to stdout and to results.md next to this file (to
// results-partial.md when BENCH_CONTENDERS picks some contenders only).
package bench

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/docker-werf/docker-werf/e2e/harness"
)

func TestMain(m *testing.M) { harness.Main(m) }

const (
	benchUser = "bench"
	benchPass = "bench-password-5f3a9c"
	parallel  = 8
)

// contender is one way of deleting the old tags.
type contender struct {
	name  string
	about string
	// subsetEnv names the variable that limits the timed run to the first N
	// old tags ("" = always all of them).
	subsetEnv string
	run       func(t *testing.T, s *scene, n int) runInfo
}

// runInfo is what one timed run reports besides its wall time.
type runInfo struct {
	elapsed   time.Duration
	phases    []phase       // cleanup only
	output    string        // for the log on failure
	clientCPU time.Duration // user+system CPU of the client (its processes), -1 if unknown
	peakRSS   int64         // the client's peak resident memory in bytes (cleanup only), 0 if unknown
	// registryCPU is the registry's CPU time during the timed part, -1 if
	// unknown; set by scene.timed.
	registryCPU time.Duration
}

// timed runs the timed part of a contender and adds the registry's CPU
// time during it.
func (s *scene) timed(f func() runInfo) runInfo {
	before := processCPU(s.regPID)
	info := f()
	after := processCPU(s.regPID)
	info.registryCPU = -1
	if before >= 0 && after >= 0 {
		info.registryCPU = after - before
	}
	return info
}

type phase struct {
	name  string
	count string        // N of "<phase>: N done"
	at    time.Duration // since start, when the phase's "done" line came
}

// scene is one fresh, seeded registry and an isolated client environment.
type scene struct {
	reg     *harness.Registry
	repo    string // ADDR/bench/app
	ds      *dataset
	api     *apiClient
	dir     string // HOME, DOCKER_CONFIG, lists
	env     []string
	tools   benchTools
	seeding time.Duration
	syncing time.Duration // sync(2) after seeding
	regPID  int           // the registry process, for its CPU time
}

type benchTools struct {
	plugin, crane, regctl string
}

type result struct {
	contender    string
	about        string
	registry     string
	deleted      int           // old tags the timed run deleted
	measured     time.Duration // wall time of the timed run
	seconds      float64       // for all 2,500 old tags (extrapolated when deleted < oldCount)
	extrapolated bool
	phases       []phase
	seeding      time.Duration
	registryCPU  time.Duration // -1 if unknown
	clientCPU    time.Duration // -1 if unknown
	failed       bool
}

var (
	resultsMu sync.Mutex
	results   []result
)

func contenders() []contender {
	return []contender{
		{name: "floor", about: "Go: DELETE manifests/<digest>, 8 goroutines, one keep-alive client, basic auth", run: runFloor},
		{name: "floor untag", about: "Go: the writes of cleanup's default mode, 8 goroutines, one client: DELETE manifests/<tag> on 3; " +
			"on 2.8 (no tag DELETE) PUT a throw-away manifest over each tag of a group (1, 4, 16, 64, then 256 tags) and DELETE it by digest once per group", run: runUntagFloor},
		{name: "cleanup", about: "docker werf cleanup --tag-filter '^old-.*' --older-than 1h --keep-younger-than 0 --git-refs=false --no-keep-policies --parallel 8 (default mode: untag each tag), with an empty image cache: a first run", run: runCleanup(false, false)},
		{name: "cleanup (warm cache)", about: "the same after an untimed run that deleted nothing filled the image cache, as a nightly run finds it", run: runCleanup(false, true)},
		{name: "cleanup --delete-manifests", about: "the same as cleanup with --delete-manifests (one DELETE per digest whose tags all go)", run: runCleanup(true, false)},
		{name: "crane xargs -P8", about: "xargs -P8 crane delete R@digest (digests looked up in advance)", subsetEnv: "BENCH_CRANE_TAGS", run: runCrane(true)},
		{name: "crane loop", about: "for d: crane delete R@digest (digests looked up in advance)", subsetEnv: "BENCH_CRANE_TAGS", run: runCrane(false)},
		{name: "regctl loop", about: "for t: regctl tag rm R:t", subsetEnv: "BENCH_REGCTL_TAGS", run: runRegctl},
	}
}

func TestCleanupBench(t *testing.T) {
	if os.Getenv("DOCKER_WERF_BENCH") != "1" {
		t.Skip("cleanup benchmark: set DOCKER_WERF_BENCH=1 (make bench does)")
	}
	versions := harness.RegistryVersions
	if v := os.Getenv("BENCH_REGISTRY"); v != "" {
		versions = strings.Split(v, ",")
	}
	only := map[string]bool{}
	if v := os.Getenv("BENCH_CONTENDERS"); v != "" {
		for _, n := range strings.Split(v, ",") {
			only[strings.TrimSpace(n)] = true
		}
	}
	tools := benchTools{
		plugin: harness.Binaries(t).Plugin,
		crane:  harness.Tool(t, harness.ToolCrane),
		regctl: harness.Tool(t, harness.ToolRegctl),
	}
	// Others may rebuild bin/ while this runs: note what was measured.
	plugin := pluginVersion(tools.plugin) + ", binary sha256 " + fileSum(tools.plugin)
	start := time.Now()
	ds := benchDataset()
	t.Logf("data set: %d old + %d keep tags, %d files, built in %s", len(ds.oldTags), len(ds.keepTags), len(ds.files),
		time.Since(start).Round(time.Millisecond))

	for _, v := range versions {
		t.Run("registry-"+v, func(t *testing.T) {
			for _, c := range contenders() {
				if len(only) > 0 && !only[c.name] {
					continue
				}
				t.Run(strings.ReplaceAll(c.name, " ", "_"), func(t *testing.T) { runContender(t, v, c, ds, tools) })
			}
			if os.Getenv("BENCH_REQUEST_COSTS") != "0" && (len(only) == 0 || only["request costs"]) {
				t.Run("request_costs", func(t *testing.T) { measureRequestCosts(t, v, ds, tools) })
			}
		})
	}

	resultsMu.Lock()
	defer resultsMu.Unlock()
	if len(results) == 0 {
		return
	}
	if now := pluginVersion(tools.plugin) + ", binary sha256 " + fileSum(tools.plugin); now != plugin {
		plugin += " (**the binary changed during the run**, to " + now + ")"
		t.Errorf("the plugin binary %s changed during the benchmark", tools.plugin)
	}
	report := renderReport(results, costs, plugin)
	fmt.Println()
	fmt.Println(report)
	file := "results.md"
	if len(only) > 0 {
		file = "results-partial.md"
	}
	if err := os.WriteFile(file, []byte(report), 0o644); err != nil {
		t.Errorf("writing %s: %v", file, err)
	} else {
		abs, _ := filepath.Abs(file)
		t.Logf("results written to %s", abs)
	}
}

func runContender(t *testing.T, version string, c contender, ds *dataset, tools benchTools) {
	n := oldCount
	if c.subsetEnv != "" {
		if v := os.Getenv(c.subsetEnv); v != "" {
			k, err := strconv.Atoi(v)
			if err != nil || k < 1 || k > oldCount {
				t.Fatalf("%s=%q: want 1..%d", c.subsetEnv, v, oldCount)
			}
			n = k
		}
	}
	s := newScene(t, version, ds, tools)
	t.Logf("%s on %s: registry %s seeded in %s (+ sync %s); deleting %d old tags", c.name, version, s.reg.Addr,
		s.seeding.Round(time.Millisecond), s.syncing.Round(time.Millisecond), n)
	info := c.run(t, s, n)
	regCPU := info.registryCPU
	r := result{registryCPU: regCPU, clientCPU: info.clientCPU, contender: c.name, about: c.about, registry: version, deleted: n, measured: info.elapsed,
		seconds: info.elapsed.Seconds() * float64(oldCount) / float64(n), extrapolated: n < oldCount,
		phases: info.phases, seeding: s.seeding}
	if err := s.verify(t.Context(), n); err != nil {
		r.failed = true
		t.Errorf("%s on %s: the run did not do what it should: %v\noutput tail:\n%s", c.name, version, err, tail(info.output, 30))
	}
	t.Logf("%s on %s: %d tags in %s (%.1f tags/s); CPU: registry %s, client %s%s", c.name, version, n,
		info.elapsed.Round(time.Millisecond), float64(n)/info.elapsed.Seconds(), cpuText(regCPU), cpuText(info.clientCPU),
		phaseText(info.phases, info.elapsed))
	resultsMu.Lock()
	results = append(results, r)
	resultsMu.Unlock()
}

// newScene starts a fresh registry, seeds it and checks the seed.
func newScene(t *testing.T, version string, ds *dataset, tools benchTools) *scene {
	t.Helper()
	reg := harness.StartRegistry(t, version, map[string]string{benchUser: benchPass})
	s := &scene{reg: reg, repo: reg.Repo(benchRepo), ds: ds, dir: t.TempDir(), tools: tools}
	s.seeding = ds.write(t, filepath.Join(reg.Dir, "data"))
	// Write everything back now (and the files of earlier runs' removed
	// registries), so no writeback competes with the timed run.
	syncStart := time.Now()
	syscall.Sync()
	s.syncing = time.Since(syncStart)
	s.regPID = registryPID(filepath.Join(reg.Dir, "config.yml"))
	s.api = newAPIClient(t, reg, benchUser, benchPass, 2*parallel)
	t.Cleanup(s.api.close)
	tags, err := s.api.tags(t.Context())
	if err != nil {
		t.Fatalf("listing the seeded tags: %v", err)
	}
	if len(tags) != len(ds.oldTags)+len(ds.keepTags) {
		t.Fatalf("seeded %d tags, the registry lists %d", len(ds.oldTags)+len(ds.keepTags), len(tags))
	}
	// Spot-check that the registry serves what was written.
	for _, i := range []int{0, len(ds.oldTags) - 1} {
		for _, p := range [][2]string{{ds.oldTags[i], ds.oldDigests[i]}, {ds.keepTags[i], ds.keepDigests[i]}} {
			got, err := s.api.resolve(t.Context(), p[0])
			if err != nil || got != p[1] {
				t.Fatalf("seeded tag %s: got %q (%v), want %s", p[0], got, err, p[1])
			}
		}
	}

	home := filepath.Join(s.dir, "home")
	dockerConfig := filepath.Join(s.dir, "docker-config")
	for _, d := range []string{home, dockerConfig} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(dockerConfig, "config.json"), []byte("{\"auths\":{}}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	path := os.Getenv("PATH")
	if path == "" {
		path = "/usr/local/bin:/usr/bin:/bin"
	}
	s.env = []string{
		"PATH=" + path,
		"HOME=" + home,
		"LANG=C.UTF-8",
		"DOCKER_CONFIG=" + dockerConfig,
		"REGCTL_CONFIG=" + filepath.Join(home, ".regctl", "config.json"),
		"SSL_CERT_FILE=" + reg.CAFile,
	}
	return s
}

// verify checks that exactly the first n old tags are gone and every other
// tag is still listed.
func (s *scene) verify(ctx context.Context, n int) error {
	tags, err := s.api.tags(ctx)
	if err != nil {
		return fmt.Errorf("listing tags: %w", err)
	}
	have := map[string]bool{}
	for _, tg := range tags {
		have[tg] = true
	}
	var leftover, lost []string
	for i, tg := range s.ds.oldTags {
		if i < n && have[tg] {
			leftover = append(leftover, tg)
		}
		if i >= n && !have[tg] {
			lost = append(lost, tg)
		}
	}
	for _, tg := range s.ds.keepTags {
		if !have[tg] {
			lost = append(lost, tg)
		}
	}
	want := len(s.ds.oldTags) + len(s.ds.keepTags) - n
	if len(leftover) == 0 && len(lost) == 0 && len(tags) == want {
		return nil
	}
	return fmt.Errorf("%d tags listed (want %d); %d tags that should be gone are still there %v; %d tags that should stay are gone %v",
		len(tags), want, len(leftover), head(leftover, 5), len(lost), head(lost, 5))
}

// fileSum is the first 12 hex digits of a file's sha256.
func fileSum(path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return "unknown"
	}
	return digestOf(b)[len("sha256:"):][:12]
}

// pluginVersion is what the plugin binary reports as its version.
func pluginVersion(plugin string) string {
	out, err := exec.Command(plugin, "docker-cli-plugin-metadata").Output()
	if err != nil {
		return "unknown"
	}
	var md struct{ Version string }
	if json.Unmarshal(out, &md) != nil || md.Version == "" {
		return "unknown"
	}
	return md.Version
}

func head(s []string, n int) []string { return s[:min(n, len(s))] }

// writeList writes lines to a file in the scene's directory.
func (s *scene) writeList(t *testing.T, name string, lines []string) string {
	t.Helper()
	p := filepath.Join(s.dir, name)
	if err := os.WriteFile(p, []byte(strings.Join(lines, "\n")+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// login stores the credentials in DOCKER_CONFIG with `crane auth login`
// (crane and regctl both read them from there). Not timed.
func (s *scene) login(t *testing.T) {
	t.Helper()
	cmd := exec.CommandContext(t.Context(), s.tools.crane, "auth", "login", s.reg.Addr, "-u", benchUser, "--password-stdin")
	cmd.Env, cmd.Dir = s.env, s.dir
	cmd.Stdin = strings.NewReader(benchPass)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("crane auth login: %v\n%s", err, out)
	}
}

// timeShell runs a shell script with extra environment and times it.
func (s *scene) timeShell(t *testing.T, script string, env ...string) runInfo {
	t.Helper()
	cmd := exec.CommandContext(t.Context(), "/bin/sh", "-c", script)
	cmd.Env, cmd.Dir = append(slices.Clone(s.env), env...), s.dir
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	var err error
	info := s.timed(func() runInfo {
		start := time.Now()
		err = cmd.Run()
		return runInfo{elapsed: time.Since(start), output: out.String(), clientCPU: childCPU(cmd)}
	})
	if err != nil {
		t.Errorf("script failed: %v\n%s", err, tail(out.String(), 30))
	}
	return info
}

func runFloor(t *testing.T, s *scene, n int) runInfo {
	digests := s.ds.oldDigests[:n] // the seed's digests: what a look-up gives (newScene checks a few)
	return s.inProcess(t, func(c *apiClient) error { return c.deleteDigests(t.Context(), digests, parallel) })
}

func runUntagFloor(t *testing.T, s *scene, n int) runInfo {
	tagDelete := s.reg.Version != harness.Registry28
	return s.inProcess(t, func(c *apiClient) error {
		return c.untagTags(t.Context(), s.ds.oldTags[:n], tagDelete, s.ds.spareConfig, s.ds.layer, parallel)
	})
}

// inProcess times f with a new client (its connections and TLS handshakes
// count) and this process's CPU time.
func (s *scene) inProcess(t *testing.T, f func(*apiClient) error) runInfo {
	var err error
	info := s.timed(func() runInfo {
		cpu0, start := selfCPU(), time.Now()
		c := newAPIClient(t, s.reg, benchUser, benchPass, parallel)
		err = f(c)
		elapsed, cpu := time.Since(start), selfCPU()-cpu0
		c.close()
		if n := c.retries.Load(); n > 0 {
			t.Logf("%d DELETEs sent again after a 500 (distribution 2.8's link-file race)", n)
		}
		return runInfo{elapsed: elapsed, clientCPU: cpu}
	})
	if err != nil {
		t.Errorf("%v", err)
		info.output = err.Error()
	}
	return info
}

// childCPU is the user+system CPU time of a finished command and the
// children it waited for.
func childCPU(cmd *exec.Cmd) time.Duration {
	if cmd.ProcessState == nil {
		return -1
	}
	return cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()
}

// peakRSS is the peak resident memory of a finished command (Linux reports
// ru_maxrss in KiB), 0 if unknown.
func peakRSS(cmd *exec.Cmd) int64 {
	if cmd.ProcessState == nil {
		return 0
	}
	if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
		return ru.Maxrss << 10
	}
	return 0
}

func cpuText(d time.Duration) string {
	if d < 0 {
		return "?"
	}
	return fmt.Sprintf("%.1fs", d.Seconds())
}

// runCleanup times docker werf cleanup. Each run has an image cache of its
// own; with warmCache an untimed run that deletes nothing (--older-than
// 100000h) fills it first, as an earlier nightly run would have.
func runCleanup(deleteManifests, warmCache bool) func(t *testing.T, s *scene, n int) runInfo {
	return func(t *testing.T, s *scene, n int) runInfo {
		cacheDir := filepath.Join(t.TempDir(), "image-cache")
		args := func(olderThan string) []string {
			a := []string{"werf", "cleanup", "--repo", s.repo, "--tag-filter", "^old-.*", "--older-than", olderThan,
				"--keep-younger-than", "0", "--git-refs=false", "--no-keep-policies", "--parallel", strconv.Itoa(parallel),
				"--image-cache-dir", cacheDir}
			if deleteManifests {
				a = append(a, "--delete-manifests")
			}
			return a
		}
		command := func(args []string) *exec.Cmd {
			cmd := exec.CommandContext(t.Context(), s.tools.plugin, args...)
			cmd.Env = append(slices.Clone(s.env), "WERF_REGISTRY_USERNAME="+benchUser, "WERF_REGISTRY_PASSWORD="+benchPass)
			cmd.Dir = s.dir // not a git repository
			return cmd
		}
		if warmCache {
			if out, err := command(args("100000h")).CombinedOutput(); err != nil {
				t.Fatalf("warming the image cache: %v\n%s", err, tail(string(out), 20))
			}
		}
		cmd := command(args("1h"))
		var stdout bytes.Buffer
		cmd.Stdout = &stdout
		stamps := &stampWriter{}
		cmd.Stderr = stamps
		var err error
		info := s.timed(func() runInfo {
			stamps.start = time.Now()
			err = cmd.Run()
			return runInfo{elapsed: time.Since(stamps.start), phases: stamps.phases(),
				output: stamps.text() + "\n" + tail(stdout.String(), 5), clientCPU: childCPU(cmd), peakRSS: peakRSS(cmd)}
		})
		if err != nil {
			t.Errorf("cleanup failed: %v\nstderr:\n%s\nstdout tail:\n%s", err, tail(stamps.text(), 30), tail(stdout.String(), 30))
		}
		t.Logf("cleanup summary: %s", strings.TrimSpace(tail(stdout.String(), 1)))
		return info
	}
}

func runCrane(xargs bool) func(t *testing.T, s *scene, n int) runInfo {
	return func(t *testing.T, s *scene, n int) runInfo {
		s.login(t)
		// Looked up in advance, not timed.
		digests, err := s.api.lookUpDigests(t.Context(), s.ds.oldTags[:n], parallel)
		if err != nil {
			t.Fatalf("looking up digests: %v", err)
		}
		list := s.writeList(t, "digests.txt", digests)
		script := `while IFS= read -r d; do "$CRANE" delete "$REPO@$d" || exit 1; done < "$LIST"`
		if xargs {
			script = `xargs -P ` + strconv.Itoa(parallel) + ` -I{} "$CRANE" delete "$REPO@{}" < "$LIST"`
		}
		return s.timeShell(t, script, "CRANE="+s.tools.crane, "REPO="+s.repo, "LIST="+list)
	}
}

func runRegctl(t *testing.T, s *scene, n int) runInfo {
	s.login(t)
	list := s.writeList(t, "tags.txt", s.ds.oldTags[:n])
	script := `while IFS= read -r t; do "$REGCTL" -v error tag rm "$REPO:$t" || exit 1; done < "$LIST"`
	return s.timeShell(t, script, "REGCTL="+s.tools.regctl, "REPO="+s.repo, "LIST="+list)
}

// stampWriter keeps stderr and when each line arrived; cleanup prints
// "<phase>: N done" when a phase ends (stderr not a terminal).
type stampWriter struct {
	start time.Time
	mu    sync.Mutex
	buf   bytes.Buffer
	lines []stampedLine
	part  []byte
}

type stampedLine struct {
	at   time.Duration
	text string
}

func (w *stampWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	now := time.Since(w.start)
	w.buf.Write(p)
	w.part = append(w.part, p...)
	for {
		i := bytes.IndexByte(w.part, '\n')
		if i < 0 {
			break
		}
		w.lines = append(w.lines, stampedLine{at: now, text: string(w.part[:i])})
		w.part = w.part[i+1:]
	}
	return len(p), nil
}

func (w *stampWriter) text() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.String()
}

func (w *stampWriter) phases() []phase {
	w.mu.Lock()
	defer w.mu.Unlock()
	var ps []phase
	for _, l := range w.lines {
		if name, rest, ok := strings.Cut(l.text, ": "); ok && strings.HasSuffix(rest, " done") {
			ps = append(ps, phase{name: name, count: strings.TrimSuffix(rest, " done"), at: l.at})
		}
	}
	return ps
}

// phaseText shows how long each phase took: from the previous phase's end
// (the start for the first) to its own.
func phaseText(ps []phase, total time.Duration) string {
	if len(ps) == 0 {
		return ""
	}
	var b strings.Builder
	b.WriteString(" — ")
	prev := time.Duration(0)
	for i, p := range ps {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "%s (%s) %.2fs", p.name, p.count, (p.at - prev).Seconds())
		prev = p.at
	}
	fmt.Fprintf(&b, ", exit %.2fs", (total - prev).Seconds())
	return b.String()
}

func tail(s string, lines int) string {
	sc := bufio.NewScanner(strings.NewReader(s))
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	var all []string
	for sc.Scan() {
		all = append(all, sc.Text())
	}
	if len(all) > lines {
		all = all[len(all)-lines:]
	}
	return strings.Join(all, "\n")
}

var _ io.Writer = (*stampWriter)(nil)
