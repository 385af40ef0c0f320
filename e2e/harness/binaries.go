package harness

import (
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
)

// Names of the binaries under test.
const (
	PluginBinary = "docker-werf"
	HelperBinary = "docker-credential-werf"
)

// Bins holds the paths of the binaries under test.
type Bins struct {
	Dir string // holds both; goes first on an Env's PATH
	// PluginDir holds only the plugin, for cliPluginsExtraDirs: docker takes
	// every docker-* file there for a plugin and would list the credential
	// helper under "Invalid Plugins".
	PluginDir string
	Plugin    string // docker-werf
	Helper    string // docker-credential-werf
}

var (
	pluginDirMu sync.Mutex
	buildOnce   sync.Once
	buildBins   Bins
	buildErr    string
)

// Binaries returns the binaries under test. With DOCKER_WERF_BIN_DIR set it
// uses the ones there; otherwise it builds both once per test process with
// go build -trimpath from the module root.
func Binaries(t testing.TB) Bins {
	t.Helper()
	if dir := os.Getenv("DOCKER_WERF_BIN_DIR"); dir != "" {
		abs, err := filepath.Abs(dir)
		if err != nil {
			t.Fatalf("harness: DOCKER_WERF_BIN_DIR: %v", err)
		}
		b := Bins{Dir: abs, Plugin: filepath.Join(abs, PluginBinary), Helper: filepath.Join(abs, HelperBinary)}
		for _, p := range []string{b.Plugin, b.Helper} {
			if _, err := os.Stat(p); err != nil {
				t.Fatalf("harness: DOCKER_WERF_BIN_DIR=%s: %v", dir, err)
			}
		}
		return withPluginDir(t, b)
	}
	root := ModuleRoot(t)
	pdir := processDir(t)
	buildOnce.Do(func() {
		dir := filepath.Join(pdir, "bin")
		if err := os.MkdirAll(dir, 0o755); err != nil {
			buildErr = err.Error()
			return
		}
		b := Bins{Dir: dir, Plugin: filepath.Join(dir, PluginBinary), Helper: filepath.Join(dir, HelperBinary)}
		type job struct{ out, pkg string }
		jobs := []job{{b.Helper, "./credhelper"}, {b.Plugin, "./cli-plugin"}}
		errs := make([]string, len(jobs))
		var wg sync.WaitGroup
		for i, j := range jobs {
			wg.Add(1)
			go func() {
				defer wg.Done()
				cmd := exec.Command("go", "build", "-trimpath", "-buildvcs=false", "-o", j.out, j.pkg)
				cmd.Dir = root
				if out, err := cmd.CombinedOutput(); err != nil {
					errs[i] = "go build " + j.pkg + ": " + err.Error() + "\n" + string(out)
				}
			}()
		}
		wg.Wait()
		for _, e := range errs {
			buildErr += e
		}
		buildBins = b
	})
	if buildErr != "" {
		t.Fatalf("harness: building the binaries under test failed:\n%s", buildErr)
	}
	return withPluginDir(t, buildBins)
}

// withPluginDir links the plugin into a directory of its own, once per
// test process.
func withPluginDir(t testing.TB, b Bins) Bins {
	t.Helper()
	pluginDirMu.Lock()
	defer pluginDirMu.Unlock()
	b.PluginDir = filepath.Join(processDir(t), "cli-plugins")
	link := filepath.Join(b.PluginDir, PluginBinary)
	if target, err := os.Readlink(link); err == nil && target == b.Plugin {
		return b
	}
	if err := os.MkdirAll(b.PluginDir, 0o755); err != nil {
		t.Fatalf("harness: %v", err)
	}
	_ = os.Remove(link)
	if err := os.Symlink(b.Plugin, link); err != nil {
		t.Fatalf("harness: %v", err)
	}
	return b
}
