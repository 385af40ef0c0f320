package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"
	"gotest.tools/v3/icmd"

	"github.com/docker-werf/docker-werf/e2e/harness"
)

// sharedDir returns a world-writable sticky directory like /tmp inside the
// test's temp dir.
func sharedDir(t *testing.T) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "shared")
	assert.NilError(t, os.Mkdir(dir, 0o700))
	assert.NilError(t, os.Chmod(dir, 0o1777))
	return dir
}

// TestCIEnvOutputFileRefusesOthersFiles: `ci-env --as-file -o PATH` never
// writes through what another user may have put at PATH in a shared
// directory: a symlink (to a file of root's, say), a file another user owns
// (who could append to the script the job sources) or one others may write.
// It creates a new file exclusively with mode 0600 and replaces a file of
// its own by rename, so a hard link to the old one keeps the old content.
func TestCIEnvOutputFileRefusesOthersFiles(t *testing.T) {
	h := harness.New(t)
	const victimContent = "# not ci-env's\n"
	tests := []struct {
		name  string
		setup func(t *testing.T, path, victim string)
		want  string // "" means success
	}{
		{name: "new file"},
		{name: "symlink to another file", want: "is a symbolic link", setup: func(t *testing.T, path, victim string) {
			assert.NilError(t, os.Symlink(victim, path))
		}},
		{name: "dangling symlink", want: "is a symbolic link", setup: func(t *testing.T, path, victim string) {
			assert.NilError(t, os.Remove(victim))
			assert.NilError(t, os.Symlink(victim, path))
		}},
		{name: "file others may write", want: "lets group or others write it", setup: func(t *testing.T, path, _ string) {
			assert.NilError(t, os.WriteFile(path, []byte(victimContent), 0o600))
			assert.NilError(t, os.Chmod(path, 0o666))
		}},
		{name: "file of another user", want: "belongs to uid 65534", setup: func(t *testing.T, path, _ string) {
			if os.Geteuid() != 0 {
				t.Skip("a file of another user needs root to make (os.Chown to uid 65534)")
			}
			assert.NilError(t, os.WriteFile(path, []byte(victimContent), 0o600))
			assert.NilError(t, os.Chown(path, 65534, 65534))
		}},
		{name: "directory", want: "is not a regular file", setup: func(t *testing.T, path, _ string) {
			assert.NilError(t, os.Mkdir(path, 0o700))
		}},
		{name: "own file with a hard link elsewhere", setup: func(t *testing.T, path, victim string) {
			assert.NilError(t, os.Link(victim, path))
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			env := ciEnvFormsJob(t)
			shared := sharedDir(t)
			victim := filepath.Join(t.TempDir(), "victim")
			assert.NilError(t, os.WriteFile(victim, []byte(victimContent), 0o644))
			path := filepath.Join(shared, "ci-env.sh")
			if tc.setup != nil {
				tc.setup(t, path, victim)
			}
			res := h.Plugin(env, "ci-env", "--as-file", "-o", path)
			if tc.want != "" {
				res.Assert(t, icmd.Expected{ExitCode: 1, Err: tc.want})
				assert.Check(t, is.Contains(res.Stderr(), path))
				if fi, err := os.Lstat(path); err == nil && fi.Mode().IsRegular() {
					data, err := os.ReadFile(path)
					assert.NilError(t, err)
					assert.Check(t, is.Equal(string(data), victimContent), "the refused file was written")
				}
			} else {
				res.Assert(t, icmd.Expected{ExitCode: 0, Out: path})
				fi, err := os.Lstat(path)
				assert.NilError(t, err)
				assert.Check(t, fi.Mode().IsRegular())
				assert.Check(t, is.Equal(fi.Mode().Perm(), os.FileMode(0o600)))
				data, err := os.ReadFile(path)
				assert.NilError(t, err)
				assert.Check(t, strings.HasPrefix(string(data), "# docker werf ci-env: gitlab job\n"), "%s", data)
			}
			if data, err := os.ReadFile(victim); err == nil {
				assert.Check(t, is.Equal(string(data), victimContent), "wrote through to another file")
				fi, err := os.Stat(victim)
				assert.NilError(t, err)
				assert.Check(t, is.Equal(fi.Mode().Perm(), os.FileMode(0o644)), "changed another file's mode")
			} else {
				assert.Check(t, os.IsNotExist(err), "%v", err)
			}
			entries, err := os.ReadDir(shared)
			assert.NilError(t, err)
			for _, e := range entries {
				assert.Check(t, e.Name() == "ci-env.sh", "left %s in the shared directory", e.Name())
			}
		})
	}
}
