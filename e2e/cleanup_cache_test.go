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

// configReads counts the blob GETs (image configs) among requests, and
// clears nothing.
func configReads(requests []string) int {
	n := 0
	for _, r := range requests {
		if strings.HasPrefix(r, "GET ") && strings.Contains(r, "/blobs/sha256:") {
			n++
		}
	}
	return n
}

// TestCleanupImageCache: the first run reads every image config and
// remembers what it read (a 0600 file in a 0700 directory of the user's
// cache); a dry run then reads no config and plans the same; the real run
// reads none either and ends exactly where a run without the cache ends.
// --no-image-cache reads them all again; a cache directory others may write
// is refused with a warning and the run still succeeds.
func TestCleanupImageCache(t *testing.T) {
	for _, version := range harness.RegistryVersions {
		t.Run(version, func(t *testing.T) {
			h := harness.New(t)
			s := newCleanupScene(t, h, version)
			proxy := harness.StartProxy(t, s.reg)
			viaProxy := proxy.Addr + "/shop/app"
			env := s.env(t)

			first := h.Plugin(env, s.cleanupArgs(viaProxy, "--dry-run", "--format", "json", "--keep-younger-than", "0")...)
			first.Assert(t, icmd.Success)
			reads := configReads(proxy.Requests())
			assert.Check(t, reads > 5, "the first run read %d configs", reads)
			cacheDir := filepath.Join(env.Home, ".cache", "docker-werf", "images")
			_, err := os.Stat(cacheDir)
			assert.Check(t, err != nil, "a dry run wrote the image cache")

			h.Plugin(env, s.cleanupArgs(viaProxy, "--dry-run", "--no-image-cache")...).Assert(t, icmd.Success)
			real := h.Plugin(env, s.cleanupArgs(viaProxy, "--format", "json")...)
			real.Assert(t, icmd.Success)
			files, err := filepath.Glob(filepath.Join(cacheDir, "*.json"))
			assert.NilError(t, err)
			assert.Assert(t, is.Len(files, 1))
			fi, err := os.Stat(files[0])
			assert.NilError(t, err)
			assert.Check(t, is.Equal(fi.Mode().Perm(), os.FileMode(0o600)))
			di, err := os.Stat(cacheDir)
			assert.NilError(t, err)
			assert.Check(t, is.Equal(di.Mode().Perm(), os.FileMode(0o700)))
			assert.Check(t, is.DeepEqual(sorted(s.pusher.Tags(s.repo)), s.survivors()))

			before := len(proxy.Requests())
			again := h.Plugin(env, s.cleanupArgs(viaProxy, "--format", "json")...)
			again.Assert(t, icmd.Success)
			assert.Check(t, is.Equal(configReads(proxy.Requests()[before:]), 0), "a run with a warm cache read image configs")
			assert.Check(t, is.Contains(again.Stderr(), "images known from earlier runs ("+files[0]+")"))
			assert.Check(t, is.Len(plannedDeletions(t, again.Stdout(), "deleted"), 0), "a second run deleted something")

			before = len(proxy.Requests())
			h.Plugin(env, s.cleanupArgs(viaProxy, "--no-image-cache")...).Assert(t, icmd.Success)
			assert.Check(t, configReads(proxy.Requests()[before:]) > 0, "--no-image-cache read no config")

			hostile := filepath.Join(t.TempDir(), "shared")
			assert.NilError(t, os.Mkdir(hostile, 0o777))
			assert.NilError(t, os.Chmod(hostile, 0o777))
			res := h.Plugin(env, s.cleanupArgs(viaProxy, "--image-cache-dir", hostile)...)
			res.Assert(t, icmd.Success)
			assert.Check(t, is.Contains(res.Stderr(), "refusing the image cache "+hostile))
			entries, _ := os.ReadDir(hostile)
			assert.Check(t, is.Len(entries, 0), "wrote into a directory others may write")
		})
	}
}
