package e2e

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"
	"gotest.tools/v3/icmd"

	"github.com/docker-werf/docker-werf/e2e/harness"
)

// TestCleanupReportNeverWritesThroughAnotherFile: --report may name a path
// in a shared directory, where another user can have put a symlink or a
// file of their own first. Cleanup refuses such a path before it deletes
// anything, leaves what is there untouched, and writes a new report as a
// 0600 file of the user's.
func TestCleanupReportNeverWritesThroughAnotherFile(t *testing.T) {
	h := harness.New(t)
	s := newCleanupScene(t, h, harness.Registry3)
	before := s.snapshot(t)
	shared := t.TempDir()
	assert.NilError(t, os.Chmod(shared, 0o1777))
	victim := filepath.Join(t.TempDir(), "victim")
	assert.NilError(t, os.WriteFile(victim, []byte("victim\n"), 0o644))

	tests := []struct {
		name    string
		setup   func(t *testing.T, path string)
		wantErr string
	}{
		{name: "symlink", setup: func(t *testing.T, p string) { assert.NilError(t, os.Symlink(victim, p)) },
			wantErr: "is a symbolic link"},
		{name: "writable by others", setup: func(t *testing.T, p string) {
			assert.NilError(t, os.WriteFile(p, nil, 0o600))
			assert.NilError(t, os.Chmod(p, 0o666))
		}, wantErr: "which lets group or others write it"},
		{name: "another user's file", setup: func(t *testing.T, p string) {
			if os.Geteuid() != 0 {
				t.Skip("only root can make a file of another user's")
			}
			assert.NilError(t, os.WriteFile(p, nil, 0o600))
			assert.NilError(t, os.Chown(p, 65534, 65534))
		}, wantErr: "belongs to uid 65534"},
		{name: "missing directory", setup: func(*testing.T, string) {}, wantErr: "is not a directory"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(shared, "report-"+filepath.Base(t.Name())+".json")
			if tc.name == "missing directory" {
				path = filepath.Join(shared, "nope", "report.json")
			}
			tc.setup(t, path)
			var beforeFile os.FileInfo
			if fi, err := os.Lstat(path); err == nil {
				beforeFile = fi
			}
			res := h.Plugin(s.env(t), s.cleanupArgs(s.repo, "--report", path)...)
			res.Assert(t, icmd.Expected{ExitCode: 1, Err: tc.wantErr})
			assert.Check(t, is.Contains(res.Stderr(), "--report"), "the error names the flag")
			assert.Check(t, is.DeepEqual(s.snapshot(t), before), "tags were deleted although the report could not be written")
			if beforeFile != nil {
				after, err := os.Lstat(path)
				assert.NilError(t, err)
				assert.Check(t, os.SameFile(beforeFile, after) && after.Size() == beforeFile.Size(), "the file at --report was replaced")
			}
			data, err := os.ReadFile(victim)
			assert.NilError(t, err)
			assert.Check(t, is.Equal(string(data), "victim\n"), "the report was written through the symlink")
		})
	}

	t.Run("new file", func(t *testing.T) {
		path := filepath.Join(shared, "report.json")
		h.Plugin(s.env(t), s.cleanupArgs(s.repo, "--dry-run", "--report", path)...).Assert(t, icmd.Success)
		fi, err := os.Lstat(path)
		assert.NilError(t, err)
		assert.Check(t, is.Equal(fi.Mode(), os.FileMode(0o600)))
		data, err := os.ReadFile(path)
		assert.NilError(t, err)
		var report struct{ Tags []json.RawMessage }
		assert.NilError(t, json.Unmarshal(data, &report))
		assert.Check(t, len(report.Tags) > 0)
	})
}
