package imagecache

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"

	"github.com/docker-werf/docker-werf/internal/registryapi"
)

func digest(c string) string { return "sha256:" + strings.Repeat(c, 64) }

func TestRoundTrip(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "images")
	c, err := Open(dir, "registry.example.com/app")
	assert.NilError(t, err)
	_, err = os.Stat(dir)
	assert.Check(t, os.IsNotExist(err), "Open created the directory")
	_, ok := c.Image(digest("a"))
	assert.Check(t, !ok)

	created := time.Date(2026, 3, 4, 5, 6, 7, 0, time.FixedZone("x", 3600))
	idx := registryapi.Image{Descriptor: registryapi.Descriptor{Digest: digest("a"), MediaType: registryapi.MediaTypeOCIIndex},
		IsIndex: true, Children: []registryapi.Descriptor{{Digest: digest("b"), Platform: "linux/amd64"}},
		Created: created, Revision: "abc123", Labels: map[string]string{"secret-ish": "not stored"}}
	sig := registryapi.Image{Descriptor: registryapi.Descriptor{Digest: digest("c"), ArtifactType: "application/vnd.dev.cosign"},
		Subject: &registryapi.Descriptor{Digest: digest("a")}}
	c.Remember(idx)
	c.Remember(sig)
	c.Remember(registryapi.Image{Descriptor: registryapi.Descriptor{Digest: "sha256:short"}})
	c.Remember(registryapi.Image{Descriptor: registryapi.Descriptor{Digest: digest("d")}, IsIndex: true, MissingChildren: true})
	assert.NilError(t, c.Save())

	fi, err := os.Stat(dir)
	assert.NilError(t, err)
	assert.Check(t, is.Equal(fi.Mode().Perm(), os.FileMode(0o700)))
	fi, err = os.Stat(c.Path())
	assert.NilError(t, err)
	assert.Check(t, is.Equal(fi.Mode().Perm(), os.FileMode(0o600)))
	data, _ := os.ReadFile(c.Path())
	assert.Check(t, !strings.Contains(string(data), "not stored"), "labels are not cached")

	again, err := Open(dir, "registry.example.com/app")
	assert.NilError(t, err)
	got, ok := again.Image(digest("a"))
	assert.Assert(t, ok)
	assert.Check(t, got.IsIndex)
	assert.Check(t, got.Created.Equal(created))
	assert.Check(t, is.Equal(got.Revision, "abc123"))
	assert.Check(t, is.Equal(got.MediaType, registryapi.MediaTypeOCIIndex))
	assert.Check(t, is.DeepEqual(got.Children, []registryapi.Descriptor{{Digest: digest("b")}}))
	got, ok = again.Image(digest("c"))
	assert.Assert(t, ok)
	assert.Check(t, is.Equal(got.Subject.Digest, digest("a")))
	assert.Check(t, is.Equal(got.ArtifactType, "application/vnd.dev.cosign"))
	assert.Check(t, is.Equal(again.Hits(), 2))
	_, ok = again.Image("sha256:short")
	assert.Check(t, !ok, "invalid digests are not remembered")
	_, ok = again.Image(digest("d"))
	assert.Check(t, !ok, "an index with missing children is not remembered")

	other, err := Open(dir, "registry.example.com/other")
	assert.NilError(t, err)
	_, ok = other.Image(digest("a"))
	assert.Check(t, !ok, "each repository has its own cache")
}

func TestUnusedEntriesExpire(t *testing.T) {
	dir := t.TempDir()
	c, err := Open(dir, "r/app")
	assert.NilError(t, err)
	now := time.Now()
	c.now = func() time.Time { return now.Add(-MaxUnused - time.Hour) }
	c.Remember(registryapi.Image{Descriptor: registryapi.Descriptor{Digest: digest("a")}})
	c.now = func() time.Time { return now }
	c.Remember(registryapi.Image{Descriptor: registryapi.Descriptor{Digest: digest("b")}})
	assert.NilError(t, c.Save())
	c, err = Open(dir, "r/app")
	assert.NilError(t, err)
	_, a := c.Image(digest("a"))
	_, b := c.Image(digest("b"))
	assert.Check(t, !a && b)
}

func TestBrokenFileIsReplaced(t *testing.T) {
	for name, content := range map[string]string{
		"not json":      "{{{",
		"other version": `{"version": 99, "repository": "r/app", "images": {}}`,
		"other repo":    `{"version": 1, "repository": "r/other", "images": {}}`,
	} {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			c, err := Open(dir, "r/app")
			assert.NilError(t, err)
			assert.NilError(t, os.WriteFile(c.Path(), []byte(content), 0o600))
			c, err = Open(dir, "r/app")
			assert.NilError(t, err)
			c.Remember(registryapi.Image{Descriptor: registryapi.Descriptor{Digest: digest("a")}})
			assert.NilError(t, c.Save())
			c, err = Open(dir, "r/app")
			assert.NilError(t, err)
			_, ok := c.Image(digest("a"))
			assert.Check(t, ok)
		})
	}
}

func TestUnsafePlacesAreRefused(t *testing.T) {
	t.Run("writable directory", func(t *testing.T) {
		dir := t.TempDir()
		assert.NilError(t, os.Chmod(dir, 0o777))
		_, err := Open(dir, "r/app")
		assert.Check(t, is.ErrorContains(err, "others may write it"))
		assert.Check(t, is.ErrorContains(err, "--image-cache-dir"))
	})
	t.Run("writable file", func(t *testing.T) {
		dir := t.TempDir()
		c, err := Open(dir, "r/app")
		assert.NilError(t, err)
		assert.NilError(t, os.WriteFile(c.Path(), []byte("{}"), 0o600))
		assert.NilError(t, os.Chmod(c.Path(), 0o666))
		_, err = Open(dir, "r/app")
		assert.Check(t, is.ErrorContains(err, "others may write it"))
	})
	t.Run("symlinked file", func(t *testing.T) {
		dir := t.TempDir()
		c, err := Open(dir, "r/app")
		assert.NilError(t, err)
		assert.NilError(t, os.Symlink("/etc/passwd", c.Path()))
		_, err = Open(dir, "r/app")
		assert.Check(t, is.ErrorContains(err, "not a regular file"))
	})
	t.Run("a file where the directory should be", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "f")
		assert.NilError(t, os.WriteFile(path, nil, 0o600))
		_, err := Open(path, "r/app")
		assert.Check(t, is.ErrorContains(err, "not a directory"))
	})
}
