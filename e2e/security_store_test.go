package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"
	"gotest.tools/v3/icmd"

	"github.com/docker-werf/docker-werf/e2e/harness"
)

// hangLimit only catches a hang: every command here answers at once, and a
// command still running after it fails the test as hung (and is killed).
const hangLimit = time.Minute

// runHelper runs the helper with stdin, failing the test if it hangs.
func runHelper(t *testing.T, h *harness.H, env *harness.Env, stdin string, args ...string) *icmd.Result {
	t.Helper()
	cmd := env.Cmd(env.Bins.Helper, args...)
	cmd.Timeout = hangLimit
	res := h.RunCmd(cmd, icmd.WithStdin(strings.NewReader(stdin)))
	if res.Timeout {
		t.Fatalf("docker-credential-werf %s hung (killed after %s)", strings.Join(args, " "), hangLimit)
	}
	return res
}

// onlyScopeDir returns the one scope directory under the store's root.
func onlyScopeDir(t *testing.T, env *harness.Env) string {
	t.Helper()
	entries, err := os.ReadDir(env.CredentialsDir)
	assert.NilError(t, err)
	var dirs []string
	for _, e := range entries {
		if e.IsDir() {
			dirs = append(dirs, e.Name())
		}
	}
	assert.Assert(t, is.Len(dirs, 1), "scope directories: %v", dirs)
	return filepath.Join(env.CredentialsDir, dirs[0])
}

// TestCredHelperRefusesNonRegularStoreFiles: a FIFO (or another non-regular
// file) where the store keeps credentials.json or scope.json makes no action
// wait for a writer that never comes: each answers at once, the actions
// that read it with an error naming the file and what it should be.
func TestCredHelperRefusesNonRegularStoreFiles(t *testing.T) {
	h := harness.New(t)
	pass := h.RandomSecret("pw-")
	store := `{"ServerURL":"registry.example.com","Username":"alice","Secret":"` + pass + `"}`
	for _, file := range []string{"credentials.json", "scope.json"} {
		t.Run(file, func(t *testing.T) {
			env := harness.NewEnv(t)
			runHelper(t, h, env, store, "store").Assert(t, icmd.Success)
			path := filepath.Join(onlyScopeDir(t, env), file)
			assert.NilError(t, os.Remove(path))
			assert.NilError(t, syscall.Mkfifo(path, 0o600))

			if file == "credentials.json" {
				for _, action := range []string{"get", "store", "erase"} {
					stdin := "registry.example.com"
					if action == "store" {
						stdin = store
					}
					res := runHelper(t, h, env, stdin, action)
					res.Assert(t, icmd.Expected{ExitCode: 1, Out: path})
					assert.Check(t, is.Contains(res.Stdout(), "is not a regular file (a FIFO)"), action)
				}
				// list never fails (docker's builder treats an error as fatal).
				runHelper(t, h, env, "", "list").Assert(t, icmd.Expected{ExitCode: 0, Out: "{}"})
			}
			res := runHelper(t, h, env, "", "gc", "--older-than", "0s")
			if file == "scope.json" {
				res.Assert(t, icmd.Expected{ExitCode: 1, Err: path})
				assert.Check(t, is.Contains(res.Stderr(), "is not a regular file (a FIFO)"))
			}
			fi, err := os.Lstat(path)
			assert.NilError(t, err)
			assert.Check(t, fi.Mode()&os.ModeNamedPipe != 0, "the FIFO was replaced")
		})
	}
}

// TestCredHelperRemovesKilledStoresTemps: a store killed before its rename
// leaves .credentials.json.*.tmp holding the secret. erase, and gc of a
// scope it keeps, remove every such file older than a minute (a killed
// writer's) and leave a younger one (a live writer's).
func TestCredHelperRemovesKilledStoresTemps(t *testing.T) {
	h := harness.New(t)
	pass := h.RandomSecret("pw-")
	store := `{"ServerURL":"registry.example.com","Username":"alice","Secret":"` + pass + `"}`
	for _, args := range [][]string{{"erase"}, {"gc", "--older-than", "7d"}} {
		t.Run(args[0], func(t *testing.T) {
			env := harness.NewEnv(t)
			runHelper(t, h, env, store, "store").Assert(t, icmd.Success)
			dir := onlyScopeDir(t, env)
			write := func(name string, age time.Duration) string {
				p := filepath.Join(dir, name)
				assert.NilError(t, os.WriteFile(p, []byte(store), 0o600))
				mtime := time.Now().Add(-age)
				assert.NilError(t, os.Chtimes(p, mtime, mtime))
				return p
			}
			stale := []string{write(".credentials.json.1111.tmp", 2*time.Minute), write(".credentials.json.2222.tmp", 48*time.Hour)}
			fresh := write(".credentials.json.3333.tmp", 0)

			runHelper(t, h, env, "registry.example.com", args...).Assert(t, icmd.Success)
			for _, p := range stale {
				_, err := os.Lstat(p)
				assert.Check(t, os.IsNotExist(err), "%s is left: %v", filepath.Base(p), err)
			}
			_, err := os.Lstat(fresh)
			assert.Check(t, err, "a live writer's temp file was removed")
		})
	}
}
