package e2e

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/docker-werf/docker-werf/e2e/harness"
)

// TestCleanupRace measures the README's promise on tags pushed or moved
// while a cleanup runs. A proxy in front of each registry watches the
// cleanup's requests to a small repository (main, kept; t, older than
// --older-than, deleted) and, at a precise request, has the test push:
//
//   - before the last read: right before the check of t that precedes the
//     write removing it, t is pushed anew (or, with --delete-manifests, a
//     new tag n is pushed onto t's manifest). Guaranteed: nothing is lost.
//   - during the write: the write that removes t (the tag DELETE on 3, the
//     throw-away PUT on 2.8, the manifest DELETE with --delete-manifests) is
//     held for the delay and the push lands meanwhile. No client can see a
//     push that lands after its last request before the write: measured.
//   - between the listing and the manifest read: t is pushed anew, young,
//     right before the inventory reads it. Guaranteed: t is judged on the
//     image it now names, so it is kept as young.
//   - with --delete-manifests, a kept tag moved onto a digest being deleted
//     (measured), or onto an index of images being deleted, at the second
//     listing (guaranteed: the index's images stay).
//
// Each scenario runs DOCKER_WERF_RACE_RUNS times (default 10), each in a
// repository of its own; the writes watched are held DOCKER_WERF_RACE_DELAY
// (default 1s).
func TestCleanupRace(t *testing.T) {
	runs := envInt(t, "DOCKER_WERF_RACE_RUNS", 10)
	delay := time.Second
	if v := os.Getenv("DOCKER_WERF_RACE_DELAY"); v != "" {
		d, err := time.ParseDuration(v)
		assert.NilError(t, err)
		delay = d
	}
	for _, version := range harness.RegistryVersions {
		t.Run(version, func(t *testing.T) {
			h := harness.New(t)
			reg, pusher, pass := startCIRegistry(t, h, version, "race-")
			b := &raceBench{h: h, reg: reg, pusher: pusher, proxy: newRaceProxy(t, reg), delay: delay,
				env:   harness.NewEnv(t).Set("WERF_REGISTRY_USERNAME", "ci").Set("WERF_REGISTRY_PASSWORD", pass),
				slots: make(chan struct{}, 6)}
			for _, sc := range raceScenarios(version) {
				t.Run(sc.name, func(t *testing.T) {
					t.Parallel()
					lost := b.measure(t, sc, runs)
					t.Logf("%s, %s: %d of %d pushes lost", version, sc.name, lost, runs)
					if sc.guaranteed {
						assert.Check(t, is.Equal(lost, 0), "%d of %d pushes lost", lost, runs)
					}
				})
			}
		})
	}
}

func envInt(t *testing.T, name string, def int) int {
	v := os.Getenv(name)
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	assert.NilError(t, err, name)
	return n
}

// raceRun is one run of a scenario in its own repository.
type raceRun struct {
	name   string // the repository, e.g. race/a-untag-3
	ref    string // the repository in the registry, bypassing the proxy
	old    string // t's digest before the run
	pushed string // what the push put on t
	report cleanupReport
	lists  int        // tag listings the cleanup asked for so far
	images []v1.Image // what seed pushed, when the scenario seeds its own
	tImage v1.Image   // t's image before the run
}

func (r *raceRun) tag(tag string) string { return r.ref + ":" + tag }

// raceScenario says at which request of a run the test pushes, what it
// pushes, and when the push counts as lost.
type raceScenario struct {
	name       string
	args       []string
	guaranteed bool
	// at says whether r is the moment to push; it is asked for each request
	// of the run in turn until it says yes.
	at func(r *http.Request, run *raceRun) bool
	// during pushes while r is held (for the delay) instead of before
	// forwarding it.
	during bool
	push   func(b *raceBench, run *raceRun)
	lost   func(b *raceBench, run *raceRun) bool
	// seed, when set, pushes more before the run.
	seed func(b *raceBench, run *raceRun)
}

func manifestRef(r *http.Request) string {
	_, ref, _ := strings.Cut(r.URL.Path, "/manifests/")
	return ref
}

func raceScenarios(version string) []raceScenario {
	pushT := func(b *raceBench, run *raceRun) {
		run.pushed = b.pusher.Push(run.tag("t"), b.pusher.Image(time.Now(), nil))
	}
	tLost := func(b *raceBench, run *raceRun) bool {
		return !b.pusher.Exists(run.tag("t")) || b.pusher.Digest(run.tag("t")) != run.pushed
	}
	tagN := func(b *raceBench, run *raceRun) { b.pusher.Tag(run.tag("t"), "n") }
	nLost := func(b *raceBench, run *raceRun) bool { return !b.pusher.Exists(run.tag("n")) }
	checkOfT := func(r *http.Request, _ *raceRun) bool {
		return r.Method == http.MethodHead && manifestRef(r) == "t"
	}
	removalOfT := func(r *http.Request, _ *raceRun) bool {
		if version == harness.Registry28 {
			return r.Method == http.MethodPut && manifestRef(r) == "t"
		}
		return r.Method == http.MethodDelete && manifestRef(r) == "t"
	}
	dm := []string{"--delete-manifests"}
	scenarios := []raceScenario{
		{name: "pushed before the check", guaranteed: true, at: checkOfT, push: pushT, lost: tLost},
		{name: "pushed onto the digest before the check, delete-manifests", args: dm, guaranteed: true,
			at: checkOfT, push: tagN, lost: nLost},
		{name: "pushed during the write", during: true, at: removalOfT, push: pushT, lost: tLost},
		{name: "pushed onto the digest during the manifest delete, delete-manifests", args: dm, during: true,
			at: func(r *http.Request, run *raceRun) bool {
				return r.Method == http.MethodDelete && manifestRef(r) == run.old
			}, push: tagN, lost: nLost},
		{name: "kept tag moved onto the digest before the check, delete-manifests", args: dm,
			at: checkOfT, push: func(b *raceBench, run *raceRun) { b.pusher.Tag(run.tag("t"), "main") },
			lost: func(b *raceBench, run *raceRun) bool { return !b.pusher.Exists(run.tag("main")) }},
		{name: "kept tag moved onto an index of deleted images, delete-manifests", args: dm, guaranteed: true,
			seed: func(b *raceBench, run *raceRun) {
				old := time.Now().Add(-72 * time.Hour)
				run.images = []v1.Image{b.pusher.Image(old, nil)}
				b.pusher.Push(run.tag("t2"), run.images[0])
			},
			// The second listing: the move lands after the inventory.
			at: func(r *http.Request, run *raceRun) bool {
				if strings.HasSuffix(r.URL.Path, "/tags/list") {
					run.lists++
				}
				return run.lists == 2
			},
			push: func(b *raceBench, run *raceRun) { b.pusher.Index(run.tag("main"), run.tImage, run.images[0]) },
			lost: func(b *raceBench, run *raceRun) bool {
				d, err := run.images[0].Digest()
				return err != nil || !b.pusher.Exists(run.ref+"@"+run.old) || !b.pusher.Exists(run.ref+"@"+d.String())
			}},
		{name: "moved between the listing and the manifest read", guaranteed: true,
			at:   func(r *http.Request, _ *raceRun) bool { return r.Method == http.MethodGet && manifestRef(r) == "t" },
			push: pushT, lost: func(b *raceBench, run *raceRun) bool {
				if tLost(b, run) {
					return true
				}
				for _, tr := range run.report.Tags {
					if tr.Tag == "t" {
						return !tr.Keep || tr.Reason != "young"
					}
				}
				return true
			}},
	}
	if version == harness.Registry28 {
		// The throw-away PUT has landed; the push moves t off the
		// throw-away before its DELETE by digest.
		scenarios = append(scenarios, raceScenario{name: "pushed during the throw-away delete", during: true,
			at: func(r *http.Request, run *raceRun) bool {
				return r.Method == http.MethodDelete && strings.HasPrefix(manifestRef(r), "sha256:")
			}, push: pushT, lost: tLost})
	}
	return scenarios
}

type raceBench struct {
	h      *harness.H
	reg    *harness.Registry
	pusher *harness.Pusher
	proxy  *raceProxy
	env    *harness.Env
	delay  time.Duration
	slots  chan struct{} // runs at once, over all scenarios
}

// measure runs sc runs times, as many at once as b has slots (shared by the
// scenarios, which run in parallel), and counts the runs that lost the push
// (a run that never reached its moment fails the test).
func (b *raceBench) measure(t *testing.T, sc raceScenario, runs int) int {
	slug := strings.NewReplacer(" ", "-", ",", "").Replace(sc.name)
	var (
		mu   sync.Mutex
		lost int
		wg   sync.WaitGroup
	)
	for i := range runs {
		wg.Add(1)
		b.slots <- struct{}{}
		go func() {
			defer func() { <-b.slots; wg.Done() }()
			run := &raceRun{name: fmt.Sprintf("race/%s-%d", slug, i)}
			run.ref = b.reg.Repo(run.name)
			if b.once(t, sc, run) {
				mu.Lock()
				lost++
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	return lost
}

// once seeds run's repository, runs the cleanup through the proxy with the
// push at sc's moment, and says whether the push was lost.
func (b *raceBench) once(t *testing.T, sc raceScenario, run *raceRun) bool {
	old := time.Now().Add(-72 * time.Hour)
	b.pusher.Push(run.tag("main"), b.pusher.Image(old, nil))
	run.tImage = b.pusher.Image(old, nil)
	run.old = b.pusher.Push(run.tag("t"), run.tImage)
	if sc.seed != nil {
		sc.seed(b, run)
	}

	var (
		mu      sync.Mutex
		reached bool
	)
	b.proxy.watch(run.name, func(r *http.Request) harness.Fault {
		mu.Lock()
		hit := !reached && sc.at(r, run)
		reached = reached || hit
		mu.Unlock()
		switch {
		case !hit:
			return harness.Fault{}
		case sc.during:
			done := make(chan struct{})
			go func() { defer close(done); sc.push(b, run) }()
			return harness.Fault{Forward: func() {
				time.Sleep(b.delay)
				<-done
			}}
		default:
			sc.push(b, run)
			return harness.Fault{}
		}
	})
	defer b.proxy.watch(run.name, nil)
	args := append([]string{"werf", "cleanup", "--repo", b.proxy.addr + "/" + run.name, "--git-refs=false",
		"--no-keep-policies", "--older-than", "24h", "--without-kube", "--no-image-cache", "--format", "json",
		"--parallel", "2"}, sc.args...)
	res := b.h.RunCmd(b.env.Cmd(b.env.Bins.Plugin, args...))
	if !assert.Check(t, is.Equal(res.ExitCode, 0), "%s: %s", run.name, res.Combined()) {
		return true
	}
	if !assert.Check(t, json.Unmarshal([]byte(res.Stdout()), &run.report), run.name) {
		return true
	}
	mu.Lock()
	defer mu.Unlock()
	if !assert.Check(t, reached, "%s: the cleanup never sent the request to push at", run.name) {
		return true
	}
	return sc.lost(b, run)
}

// raceProxy is a harness proxy whose faults are chosen per repository, so
// that runs in different repositories go on at once.
type raceProxy struct {
	addr string

	mu      sync.Mutex
	byRepo  map[string]func(r *http.Request) harness.Fault
	visited map[string]bool
}

func newRaceProxy(t *testing.T, reg *harness.Registry) *raceProxy {
	p := harness.StartProxy(t, reg)
	rp := &raceProxy{addr: p.Addr, byRepo: map[string]func(*http.Request) harness.Fault{}, visited: map[string]bool{}}
	p.SetFault(func(r *http.Request) harness.Fault {
		repo, _, ok := strings.Cut(strings.TrimPrefix(r.URL.Path, "/v2/"), "/manifests/")
		if !ok {
			repo, _, _ = strings.Cut(strings.TrimPrefix(r.URL.Path, "/v2/"), "/tags/list")
		}
		rp.mu.Lock()
		f := rp.byRepo[repo]
		rp.mu.Unlock()
		if f == nil {
			return harness.Fault{}
		}
		return f(r)
	})
	return rp
}

// watch installs f for the requests to repo (nil removes it).
func (p *raceProxy) watch(repo string, f func(r *http.Request) harness.Fault) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if f == nil {
		delete(p.byRepo, repo)
		return
	}
	p.byRepo[repo] = f
}
