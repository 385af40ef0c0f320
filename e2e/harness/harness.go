// Package harness runs docker-werf's end-to-end tests against real parts: the
// freshly built binaries, real registries (CNCF distribution 2.8 and 3.x) with
// TLS and htpasswd auth, the docker CLI and engine, crane, regctl and skopeo.
//
// Every command a test runs goes through an [H] (see [New]), which records its
// stdout and stderr and fails the test at cleanup if a registered secret shows
// up in any of them.
package harness

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// Main runs the tests in a private TMPDIR, removes the harness's
// per-process files (built binaries, the test CA), and fails the run when
// it left files or processes behind (see leftovers.go). Call it from
// TestMain: func TestMain(m *testing.M) { harness.Main(m) }.
func Main(m *testing.M) {
	run, err := newTempRun()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	code := m.Run()
	procMu.Lock()
	if procDir != "" {
		_ = os.RemoveAll(procDir)
	}
	procMu.Unlock()
	if left := run.finish(); len(left) > 0 {
		fmt.Fprintf(os.Stderr, "FAIL: the tests left behind:\n  %s\n", strings.Join(left, "\n  "))
		code = 1
	}
	os.Exit(code)
}

var (
	procMu  sync.Mutex
	procDir string
)

// processDir is a temporary directory shared by all tests of this process,
// removed by [Main].
func processDir(t testing.TB) string {
	t.Helper()
	procMu.Lock()
	defer procMu.Unlock()
	if procDir == "" {
		d, err := os.MkdirTemp("", "docker-werf-e2e-")
		if err != nil {
			t.Fatalf("harness: %v", err)
		}
		procDir = d
	}
	return procDir
}

// InCI reports whether the tests run in CI (env CI=true). There, missing
// tools and a missing engine fail the test instead of skipping it.
func InCI() bool { return os.Getenv("CI") == "true" }

// unavailable skips the test outside CI and fails it in CI.
func unavailable(t testing.TB, format string, args ...any) {
	t.Helper()
	if InCI() {
		t.Fatalf(format, args...)
	}
	t.Skipf(format, args...)
}

// ModuleRoot returns the directory holding go.mod, found by walking up from
// the working directory.
func ModuleRoot(t testing.TB) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatalf("harness: %v", err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatalf("harness: no go.mod above the working directory")
		}
		dir = parent
	}
}
