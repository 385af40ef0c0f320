package harness

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"
)

// A run of the tests leaves nothing behind: no files in the temp dir and no
// processes. [Main] gives the test process a private TMPDIR (so that
// t.TempDir and every tool started without its own TMPDIR write there),
// every [Env] has a TMPDIR of its own inside its test's temp dir, and after
// the run Main fails it for what is left: anything in the private TMPDIR,
// new docker-werf-* entries of this run in the system's temp dir (a program
// that ignored TMPDIR), and processes still running in or from the run's
// temp dirs.

// leftoverPrefix starts the names of everything docker-werf and this
// harness create in a temp dir (docker-werf-config-, docker-werf-e2e-, ...).
const leftoverPrefix = "docker-werf-"

// tempRun is one run's private TMPDIR and what the system's temp dir held
// before the run.
type tempRun struct {
	sysTmp string
	before []string
	dir    string
}

// newTempRun makes the private TMPDIR in the system's temp dir and points
// the process at it.
func newTempRun() (*tempRun, error) {
	r := &tempRun{sysTmp: os.TempDir()}
	r.before = dirNames(r.sysTmp)
	dir, err := os.MkdirTemp(r.sysTmp, leftoverPrefix+"e2e-run-")
	if err != nil {
		return nil, fmt.Errorf("harness: the run's TMPDIR: %w", err)
	}
	r.dir = dir
	return r, os.Setenv("TMPDIR", dir)
}

// finish waits a little for processes to exit, ends those that stay (the
// run started them), removes the private TMPDIR and returns what was left.
func (r *tempRun) finish() []string {
	var left []string
	procs := runProcesses(r.dir)
	for deadline := time.Now().Add(10 * time.Second); len(procs) > 0 && time.Now().Before(deadline); {
		time.Sleep(100 * time.Millisecond)
		procs = runProcesses(r.dir)
	}
	for _, p := range procs {
		left = append(left, "process "+p.String()+" is still running (ended now)")
		if proc, err := os.FindProcess(p.pid); err == nil {
			_ = proc.Kill()
		}
	}
	for _, name := range dirNames(r.dir) {
		left = append(left, filepath.Join(r.dir, name))
	}
	_ = os.Setenv("TMPDIR", r.sysTmp)
	_ = os.RemoveAll(r.dir)
	for _, name := range dirNames(r.sysTmp) {
		p := filepath.Join(r.sysTmp, name)
		if !strings.HasPrefix(name, leftoverPrefix) || p == r.dir || slices.Contains(r.before, name) {
			continue
		}
		// Other programs on the machine (another test run) may make such
		// entries meanwhile: those of this run name its TMPDIR (a job's
		// config names the plugin dir in it).
		if mentions(p, r.dir) {
			left = append(left, p)
		} else {
			fmt.Fprintf(os.Stderr, "harness: %s appeared in %s during the run; it names nothing of this run, so it is left to its owner\n", p, r.sysTmp)
		}
	}
	return left
}

// mentions reports whether path, or a small file in it (one level down),
// contains s.
func mentions(path, s string) bool {
	files := []string{path}
	if fi, err := os.Stat(path); err == nil && fi.IsDir() {
		files = files[:0]
		for _, name := range dirNames(path) {
			files = append(files, filepath.Join(path, name))
		}
	}
	for _, f := range files {
		if fi, err := os.Stat(f); err != nil || !fi.Mode().IsRegular() || fi.Size() > 1<<20 {
			continue
		}
		if b, err := os.ReadFile(f); err == nil && strings.Contains(string(b), s) {
			return true
		}
	}
	return false
}

func dirNames(dir string) []string {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil
	}
	names := make([]string, 0, len(entries))
	for _, e := range entries {
		names = append(names, e.Name())
	}
	return names
}

type process struct {
	pid     int
	cmdline string
}

func (p process) String() string { return strconv.Itoa(p.pid) + " (" + p.cmdline + ")" }

// runProcesses lists the processes (other than this one) whose command
// line, working directory or environment names dir: every process a test
// starts runs with a HOME, a config or a directory in its temp dir.
func runProcesses(dir string) []process {
	var found []process
	for _, name := range dirNames("/proc") {
		pid, err := strconv.Atoi(name)
		if err != nil || pid == os.Getpid() {
			continue
		}
		base := filepath.Join("/proc", name)
		cmdline, _ := os.ReadFile(filepath.Join(base, "cmdline"))
		environ, _ := os.ReadFile(filepath.Join(base, "environ"))
		cwd, _ := os.Readlink(filepath.Join(base, "cwd"))
		if len(cmdline) == 0 { // a kernel thread, or gone
			continue
		}
		if strings.Contains(string(cmdline), dir) || strings.Contains(string(environ), dir) ||
			cwd == dir || strings.HasPrefix(cwd, dir+"/") {
			found = append(found, process{pid: pid, cmdline: strings.TrimSpace(strings.ReplaceAll(string(cmdline), "\x00", " "))})
		}
	}
	return found
}
