package privatefile

import (
	"errors"
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"
)

// TestWriteAndCheckTarget checks that CheckTarget refuses exactly what Write
// refuses, and that a refused Write leaves what was there untouched.
func TestWriteAndCheckTarget(t *testing.T) {
	dir := t.TempDir()
	victim := filepath.Join(dir, "victim")
	assert.NilError(t, os.WriteFile(victim, []byte("victim\n"), 0o600))

	tests := []struct {
		name    string
		setup   func(path string)
		wantErr string // "" for a path Write may write
	}{
		{name: "missing file", setup: func(string) {}},
		{name: "own private file", setup: func(p string) { assert.NilError(t, os.WriteFile(p, []byte("old"), 0o600)) }},
		{name: "symlink", setup: func(p string) { assert.NilError(t, os.Symlink(victim, p)) },
			wantErr: "is a symbolic link"},
		{name: "writable by others", setup: func(p string) {
			assert.NilError(t, os.WriteFile(p, []byte("old"), 0o600))
			assert.NilError(t, os.Chmod(p, 0o666))
		}, wantErr: "has mode 0666, which lets group or others write it"},
		{name: "fifo", setup: func(p string) { assert.NilError(t, syscall.Mkfifo(p, 0o600)) },
			wantErr: "a FIFO"},
		{name: "directory", setup: func(p string) { assert.NilError(t, os.Mkdir(p, 0o700)) },
			wantErr: "directory"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "out.json")
			tc.setup(path)
			before, _ := os.Lstat(path)

			checkErr := CheckTarget(path, WritableByOthers)
			writeErr := Write(path, []byte("new\n"), WritableByOthers)
			if tc.wantErr == "" {
				assert.NilError(t, checkErr)
				assert.NilError(t, writeErr)
				data, err := os.ReadFile(path)
				assert.NilError(t, err)
				assert.Equal(t, string(data), "new\n")
				fi, err := os.Lstat(path)
				assert.NilError(t, err)
				assert.Equal(t, fi.Mode().Perm(), os.FileMode(0o600))
				return
			}
			var refused *RefusedError
			assert.Check(t, errors.As(checkErr, &refused), "CheckTarget: %v", checkErr)
			assert.Check(t, is.ErrorContains(checkErr, tc.wantErr))
			assert.Check(t, is.ErrorContains(writeErr, tc.wantErr))
			after, err := os.Lstat(path)
			assert.NilError(t, err)
			assert.Check(t, os.SameFile(before, after), "a refused write replaced %s", path)
			data, err := os.ReadFile(victim)
			assert.NilError(t, err)
			assert.Check(t, is.Equal(string(data), "victim\n"), "written through the symlink")
		})
	}
}

func TestCheckTargetMissingDirectory(t *testing.T) {
	path := filepath.Join(t.TempDir(), "nope", "out.json")
	assert.Check(t, is.ErrorContains(CheckTarget(path, WritableByOthers), "is not a directory"))
	assert.Check(t, Write(path, []byte("x"), WritableByOthers) != nil)
}
