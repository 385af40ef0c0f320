package e2e

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"
	"gotest.tools/v3/icmd"

	"github.com/docker-werf/docker-werf/e2e/harness"
)

// snapshot is every tag of a repository with its digest.
func (s *cleanupScene) snapshot(t *testing.T) map[string]string {
	t.Helper()
	snap := map[string]string{}
	for _, tag := range s.pusher.Tags(s.repo) {
		snap[tag] = s.pusher.Digest(s.repo + ":" + tag)
	}
	return snap
}

func (s *cleanupScene) cleanupArgs(repo string, extra ...string) []string {
	return append([]string{"cleanup", "--repo", repo, "--git-dir", s.gitDir, "--no-keep-policies"}, extra...)
}

func isWrite(r *http.Request) bool { return r.Method != http.MethodGet && r.Method != http.MethodHead }

// TestCleanupDryRun: a dry run sends no write request (the proxy's log says
// so), leaves the registry as it was, and plans exactly what the real run
// then does.
func TestCleanupDryRun(t *testing.T) {
	for _, version := range harness.RegistryVersions {
		t.Run(version, func(t *testing.T) {
			h := harness.New(t)
			s := newCleanupScene(t, h, version)
			proxy := harness.StartProxy(t, s.reg)
			viaProxy := proxy.Addr + "/shop/app"
			env := s.env(t)
			before := s.snapshot(t)

			dry := h.Plugin(env, s.cleanupArgs(viaProxy, "--dry-run", "--format", "json")...)
			dry.Assert(t, icmd.Success)
			assert.Check(t, len(proxy.Requests()) > 0, "the dry run went around the proxy")
			assert.Check(t, is.Len(proxy.Writes(), 0), "a dry run sent writes")
			assert.Check(t, is.DeepEqual(s.snapshot(t), before))

			real := h.Plugin(env, s.cleanupArgs(viaProxy, "--format", "json")...)
			real.Assert(t, icmd.Success)
			assert.Check(t, is.DeepEqual(plannedDeletions(t, dry.Stdout(), "would-delete"), plannedDeletions(t, real.Stdout(), "deleted")))
			assert.Check(t, is.DeepEqual(sorted(s.pusher.Tags(s.repo)), s.survivors()))
		})
	}
}

func plannedDeletions(t *testing.T, out, outcome string) []string {
	t.Helper()
	var r cleanupReport
	assert.NilError(t, json.Unmarshal([]byte(out), &r))
	var tags []string
	for _, tr := range r.Tags {
		if tr.Outcome == outcome {
			tags = append(tags, tr.Tag)
		}
	}
	return sorted(tags)
}

// TestCleanupThroughFaults: through a proxy answering 429 (with each
// retry-after form), 503, resets and slow answers, the result is the same as
// without it.
func TestCleanupThroughFaults(t *testing.T) {
	for _, version := range harness.RegistryVersions {
		t.Run(version, func(t *testing.T) {
			h := harness.New(t)
			s := newCleanupScene(t, h, version)
			proxy := harness.StartProxy(t, s.reg)
			var n atomic.Int64
			proxy.SetFault(func(r *http.Request) harness.Fault {
				switch i := n.Add(1); {
				case i%23 == 3:
					return harness.Fault{Status: http.StatusTooManyRequests, Header: map[string]string{"Retry-After": "1"}}
				case i%23 == 7:
					return harness.Fault{Status: http.StatusTooManyRequests,
						Header: map[string]string{"Retry-After": time.Now().Add(time.Second).UTC().Format(http.TimeFormat)}}
				case i%23 == 11:
					return harness.Fault{Status: http.StatusTooManyRequests,
						Header: map[string]string{"X-Retry-After": fmt.Sprint(time.Now().Add(time.Second).Unix())}}
				case i%5 == 1:
					return harness.Fault{Status: http.StatusServiceUnavailable}
				case i%7 == 2:
					return harness.Fault{Reset: true}
				case i%6 == 4:
					return harness.Fault{Forward: func() { time.Sleep(300 * time.Millisecond) }}
				}
				return harness.Fault{}
			})
			env := s.env(t)
			h.Plugin(env, s.cleanupArgs(proxy.Addr+"/shop/app")...).Assert(t, icmd.Success)
			assert.Check(t, n.Load() > 20, "too few requests went through the proxy: %d", n.Load())
			assert.Check(t, is.DeepEqual(sorted(s.pusher.Tags(s.repo)), s.survivors()))
			for _, d := range s.mustExist {
				assert.Check(t, s.pusher.Exists(s.repo+"@"+d), "manifest %s is gone", d)
			}
		})
	}
}

// TestCleanupInterruptedAndPushedDuringRun: a run stopped with SIGINT in the
// middle of its deletions exits non-zero and says how to finish; a tag pushed
// onto a digest the run deletes, while it runs, survives; the rerun ends in
// the same state as an uninterrupted run.
func TestCleanupInterruptedAndPushedDuringRun(t *testing.T) {
	for _, version := range harness.RegistryVersions {
		t.Run(version, func(t *testing.T) {
			h := harness.New(t)
			s := newCleanupScene(t, h, version)
			deadDigest := s.pusher.Digest(s.repo + ":dead")
			proxy := harness.StartProxy(t, s.reg)
			env := s.env(t)

			var writes atomic.Int64
			interrupt := make(chan struct{})
			var once sync.Once
			proxy.SetFault(func(r *http.Request) harness.Fault {
				if !isWrite(r) {
					return harness.Fault{}
				}
				if writes.Add(1) == 1 {
					// Someone pushes "latest" while the cleanup deletes,
					// and its content is that of "dead": same digest.
					s.pusher.Tag(s.repo+":dead", "latest")
				}
				if writes.Load() == 3 {
					once.Do(func() { close(interrupt) })
				}
				return harness.Fault{Forward: func() { time.Sleep(150 * time.Millisecond) }}
			})
			cmd := env.Cmd(env.Bins.Plugin, append([]string{"werf"}, s.cleanupArgs(proxy.Addr+"/shop/app", "--parallel", "1")...)...)
			run := icmd.StartCmd(cmd)
			assert.NilError(t, run.Error)
			select {
			case <-interrupt:
				assert.NilError(t, run.Cmd.Process.Signal(syscall.SIGINT))
			case <-time.After(60 * time.Second):
				t.Fatal("the cleanup never reached its third write")
			}
			res := icmd.WaitOnCmd(60*time.Second, run)
			assert.Check(t, res.ExitCode != 0, "an interrupted run must fail: %s", res.Combined())
			assert.Check(t, is.Contains(res.Stderr(), "run the same command again to finish"))
			assert.Check(t, len(s.pusher.Tags(s.repo)) > len(s.survivors())+1, "the run was not interrupted mid-way")
			assert.Check(t, is.Equal(s.pusher.Digest(s.repo+":latest"), deadDigest), "the tag pushed during the run is lost")

			proxy.SetFault(nil)
			h.Plugin(env, s.cleanupArgs(s.repo)...).Assert(t, icmd.Success)
			// dead's signature was planned to go with dead before "latest"
			// was pushed onto dead's digest: whether it went depends on
			// which write came first, and either is right.
			deadSig := "sha256-" + strings.TrimPrefix(deadDigest, "sha256:") + ".sig"
			got := slices.DeleteFunc(s.pusher.Tags(s.repo), func(tag string) bool { return tag == deadSig })
			assert.Check(t, is.DeepEqual(sorted(got), sorted(append(s.survivors(), "latest"))))
			assert.Check(t, is.Equal(s.pusher.Digest(s.repo+":latest"), deadDigest))
		})
	}
}

// TestCleanupKilledMidUntag: distribution 2.8 has no tag DELETE, so
// cleanup overwrites a group of tags with a throw-away manifest and then
// deletes it. A run killed (SIGKILL: nothing finishes) between the two
// leaves tags on the throw-away; the rerun deletes them as interrupted-untag
// and ends where an uninterrupted run ends, and a third run deletes nothing.
func TestCleanupKilledMidUntag(t *testing.T) {
	h := harness.New(t)
	s := newCleanupScene(t, h, harness.Registry28)
	proxy := harness.StartProxy(t, s.reg)
	env := s.env(t)
	var tagPuts atomic.Int64
	kill, dead := make(chan struct{}), make(chan struct{})
	proxy.SetFault(func(r *http.Request) harness.Fault {
		_, ref, _ := strings.Cut(r.URL.Path, "/manifests/")
		if r.Method != http.MethodPut || ref == "" || strings.HasPrefix(ref, "sha256:") {
			return harness.Fault{}
		}
		// Groups grow 1, 4, ...: the third overwrite is the second of
		// the second group, whose throw-away is not deleted yet.
		if tagPuts.Add(1) == 3 {
			close(kill)
			<-dead
		}
		return harness.Fault{}
	})
	cmd := env.Cmd(env.Bins.Plugin, append([]string{"werf"}, s.cleanupArgs(proxy.Addr+"/shop/app", "--parallel", "1")...)...)
	run := icmd.StartCmd(cmd)
	assert.NilError(t, run.Error)
	select {
	case <-kill:
		assert.NilError(t, run.Cmd.Process.Kill())
	case <-time.After(60 * time.Second):
		t.Fatal("the cleanup never overwrote a third tag")
	}
	res := icmd.WaitOnCmd(60*time.Second, run)
	close(dead)
	assert.Check(t, res.ExitCode != 0)

	report := filepath.Join(t.TempDir(), "report.json")
	h.Plugin(env, s.cleanupArgs(s.repo, "--report", report)...).Assert(t, icmd.Success)
	var leftovers []string
	for _, tr := range readReport(t, report).Tags {
		if tr.Reason == "interrupted-untag" {
			assert.Check(t, is.Equal(tr.Outcome, "deleted"), tr.Tag)
			leftovers = append(leftovers, tr.Tag)
		}
	}
	assert.Check(t, len(leftovers) >= 1, "the killed run left no tag on a throw-away manifest")
	assert.Check(t, is.DeepEqual(sorted(s.pusher.Tags(s.repo)), s.survivors()))
	for _, d := range s.mustExist {
		assert.Check(t, s.pusher.Exists(s.repo+"@"+d), "manifest %s is gone", d)
	}
	h.Plugin(env, s.cleanupArgs(s.repo, "--report", report)...).Assert(t, icmd.Success)
	assert.Check(t, is.Equal(readReport(t, report).Summary.Deleted, 0), "a third run deleted something")
}

// TestCleanupBadInput: each error names the input, exits non-zero, and
// nothing is deleted.
func TestCleanupBadInput(t *testing.T) {
	for _, version := range harness.RegistryVersions {
		t.Run(version, func(t *testing.T) {
			h := harness.New(t)
			s := newCleanupScene(t, h, version)
			before := s.snapshot(t)
			dir := t.TempDir()
			brokenPolicy := filepath.Join(dir, "policy.yaml")
			assert.NilError(t, os.WriteFile(brokenPolicy, []byte("keepPolicies:\n- references:\n    branch: main\n  imagesPerRefernce:\n    last: 1\n"), 0o600))
			shallow := filepath.Join(dir, "shallow")
			icmd.RunCommand("git", "clone", "-q", "--depth", "1", "file://"+s.gitDir, shallow).Assert(t, icmd.Success)
			proxy := harness.StartProxy(t, s.reg)
			proxy.SetFault(func(r *http.Request) harness.Fault {
				if r.Method == http.MethodDelete {
					return harness.Fault{Status: http.StatusMethodNotAllowed}
				}
				return harness.Fault{}
			})
			wrong := h.RandomSecret("wrong-")

			tests := []struct {
				name    string
				args    []string
				env     []string
				wantErr string
			}{
				{name: "malformed repo", args: []string{"cleanup", "--repo", "Registry.Example.com/App"},
					wantErr: `invalid repository "Registry.Example.com/App"`},
				{name: "missing repo", args: []string{"cleanup"}, wantErr: "--repo is required"},
				{name: "invalid regex", args: s.cleanupArgs(s.repo, "--keep-tag", "release-(")[1:], wantErr: `invalid --keep-tag pattern "release-("`},
				{name: "invalid duration", args: s.cleanupArgs(s.repo, "--older-than", "7x")[1:], wantErr: `invalid argument "7x" for "--older-than" flag: invalid duration "7x": want a number with a unit s, m, h, d or w`},
				{name: "broken policy file", args: s.cleanupArgs(s.repo, "--policy", brokenPolicy)[1:],
					wantErr: brokenPolicy + `:4: unknown key "imagesPerRefernce"`},
				{name: "endless keep list", args: s.cleanupArgs(s.repo, "--keep-list", "/dev/zero")[1:],
					wantErr: "reading keep list /dev/zero: larger than 16 MiB"},
				{name: "missing git repository", args: []string{"cleanup", "--repo", s.repo, "--git-dir", filepath.Join(dir, "nope")},
					wantErr: "not a git repository"},
				{name: "shallow git repository", args: []string{"cleanup", "--repo", s.repo, "--git-dir", shallow},
					wantErr: "fetch --unshallow"},
				{name: "wrong credentials", args: s.cleanupArgs(s.repo)[1:], env: []string{"WERF_REGISTRY_PASSWORD", wrong},
					wantErr: "401"},
				{name: "registry refuses deletes", args: s.cleanupArgs(proxy.Addr + "/shop/app")[1:], wantErr: "delet"},
			}
			for _, tc := range tests {
				t.Run(tc.name, func(t *testing.T) {
					args := tc.args
					if args[0] != "cleanup" {
						args = append([]string{"cleanup"}, args...)
					}
					res := h.Plugin(s.env(t).With(tc.env...), args...)
					res.Assert(t, icmd.Expected{ExitCode: 1, Err: tc.wantErr})
					assert.Check(t, is.DeepEqual(s.snapshot(t), before), "something was deleted")
					assert.Check(t, !strings.Contains(res.Combined(), s.password))
				})
			}
		})
	}
}
