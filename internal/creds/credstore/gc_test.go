package credstore

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"gotest.tools/v3/assert"
)

// age sets every file of a scope, and the scope directory, to mtime t.
func setAge(t *testing.T, sc *Scope, when time.Time) {
	t.Helper()
	for _, name := range []string{credentialsFile, scopeFile, lockFile} {
		p := filepath.Join(sc.Dir(), name)
		if _, err := os.Lstat(p); err == nil {
			assert.NilError(t, os.Chtimes(p, when, when))
		}
	}
	assert.NilError(t, os.Chtimes(sc.Dir(), when, when))
}

func exists(t *testing.T, p string) bool {
	t.Helper()
	_, err := os.Lstat(p)
	if errors.Is(err, os.ErrNotExist) {
		return false
	}
	assert.NilError(t, err)
	return true
}

func TestGC(t *testing.T) {
	now := time.Now()
	day := 24 * time.Hour
	tmp := t.TempDir()
	liveConfig := filepath.Join(tmp, "live-docker")
	assert.NilError(t, os.Mkdir(liveConfig, 0o700))
	goneConfig := filepath.Join(tmp, "gone-docker")

	s := New(filepath.Join(tmp, "store"))
	put := func(key, system string, age time.Duration) *Scope {
		sc := s.Scope(key, system)
		assert.NilError(t, sc.Put("registry.example.com", Entry{ServerURL: "registry.example.com", Username: "u", Secret: "s"}))
		setAge(t, sc, now.Add(-age))
		return sc
	}
	oldJob := put("ci:gitlab:1", "gitlab", 10*day)
	newJob := put("ci:gitlab:2", "gitlab", time.Hour)
	oldLiveConfig := put("config:"+liveConfig, "", 30*day)
	oldGoneConfig := put("config:"+goneConfig, "", 10*day)
	newGoneConfig := put("config:"+goneConfig+"2", "", time.Hour)

	// A half-created scope: directory and lock only.
	empty := filepath.Join(s.RootDir(), ScopeDirName("ci:gitlab:3"))
	assert.NilError(t, os.Mkdir(empty, 0o700))
	assert.NilError(t, os.WriteFile(filepath.Join(empty, lockFile), nil, 0o600))
	assert.NilError(t, os.Chtimes(empty, now.Add(-10*day), now.Add(-10*day)))
	// Credentials without scope.json: not GC's to judge.
	orphan := s.Scope("ci:gitlab:4", "gitlab")
	assert.NilError(t, orphan.Put("h", Entry{ServerURL: "h", Username: "u", Secret: "s"}))
	assert.NilError(t, os.Remove(filepath.Join(orphan.Dir(), scopeFile)))
	setAge(t, orphan, now.Add(-10*day))
	// Something that is not a scope directory.
	foreign := filepath.Join(s.RootDir(), "README")
	assert.NilError(t, os.WriteFile(foreign, nil, 0o600))

	t.Run("dry run removes nothing", func(t *testing.T) {
		removed, err := s.GC(GCOptions{OlderThan: 7 * day, Now: now, DryRun: true})
		assert.NilError(t, err)
		assert.Equal(t, len(removed), 3)
		assert.Assert(t, exists(t, oldJob.Dir()))
	})

	removed, err := s.GC(GCOptions{OlderThan: 7 * day, Now: now})
	assert.NilError(t, err)
	got := map[string]Removed{}
	for _, r := range removed {
		got[r.Dir] = r
	}
	assert.Equal(t, len(got), 3, "%+v", removed)
	assert.Equal(t, got[oldJob.Dir()].Key, "ci:gitlab:1")
	assert.Equal(t, got[oldJob.Dir()].System, "gitlab")
	assert.Assert(t, got[oldJob.Dir()].LastUsed.Before(now.Add(-9*day)))
	assert.Equal(t, got[oldGoneConfig.Dir()].Key, "config:"+goneConfig)
	assert.Equal(t, got[empty].Key, "")

	assert.Assert(t, !exists(t, oldJob.Dir()))
	assert.Assert(t, !exists(t, oldGoneConfig.Dir()))
	assert.Assert(t, !exists(t, empty))
	assert.Assert(t, exists(t, newJob.Dir()), "recent CI scope kept")
	assert.Assert(t, exists(t, oldLiveConfig.Dir()), "scope of an existing docker config kept however old")
	assert.Assert(t, exists(t, newGoneConfig.Dir()), "recent config scope kept")
	assert.Assert(t, exists(t, orphan.Dir()), "credentials without scope.json kept")
	assert.Assert(t, exists(t, foreign))
}

func TestGCRecentUseByGetKeepsScope(t *testing.T) {
	now := time.Now()
	s := newStore(t)
	sc := s.Scope("ci:github:9", "github")
	assert.NilError(t, sc.Put("ghcr.io", Entry{ServerURL: "ghcr.io", Username: "u", Secret: "s"}))
	setAge(t, sc, now.Add(-48*time.Hour))
	_, ok, err := sc.Get("ghcr.io") // refreshes scope.json
	assert.NilError(t, err)
	assert.Assert(t, ok)
	removed, err := s.GC(GCOptions{OlderThan: 24 * time.Hour, Now: now})
	assert.NilError(t, err)
	assert.Equal(t, len(removed), 0)
}

func TestGCSkipsLockedScope(t *testing.T) {
	now := time.Now()
	s := newStore(t)
	sc := s.Scope("ci:gitlab:5", "gitlab")
	assert.NilError(t, sc.Put("h", Entry{ServerURL: "h", Username: "u", Secret: "s"}))
	setAge(t, sc, now.Add(-48*time.Hour))
	l, err := s.lock(sc.Dir(), true)
	assert.NilError(t, err)
	removed, err := s.GC(GCOptions{OlderThan: time.Hour, Now: now})
	assert.NilError(t, err)
	assert.Equal(t, len(removed), 0)
	l.unlock()
	removed, err = s.GC(GCOptions{OlderThan: time.Hour, Now: now})
	assert.NilError(t, err)
	assert.Equal(t, len(removed), 1)
}

func TestGCMissingRootAndUnsafeRoot(t *testing.T) {
	s := newStore(t)
	removed, err := s.GC(GCOptions{OlderThan: time.Hour})
	assert.NilError(t, err)
	assert.Equal(t, len(removed), 0)

	assert.NilError(t, os.Mkdir(s.RootDir(), 0o755))
	_, err = s.GC(GCOptions{OlderThan: time.Hour})
	assert.ErrorContains(t, err, "chmod 700 "+s.RootDir())
}

func TestWriterRecreatesScopeRemovedByGC(t *testing.T) {
	s := newStore(t)
	sc := s.Scope("ci:gitlab:6", "gitlab")
	assert.NilError(t, sc.Put("a", Entry{ServerURL: "a", Username: "u", Secret: "s"}))
	assert.NilError(t, os.RemoveAll(sc.Dir()))
	assert.NilError(t, sc.Put("b", Entry{ServerURL: "b", Username: "u", Secret: "s"}))
	m, err := sc.List()
	assert.NilError(t, err)
	assert.Equal(t, len(m), 1)
}

// TestStoreWaitsForScopeRemoval plays gc's side by hand: with the locks gc
// holds while it removes a scope, half of the scope's files already gone, a
// store to that scope must wait for the removal to finish and then write a
// whole new scope. A store that went ahead wrote into the directory being
// removed, and the login it reported as saved was gone.
func TestStoreWaitsForScopeRemoval(t *testing.T) {
	s := newStore(t)
	sc := s.Scope("ci:gitlab:7", "gitlab")
	assert.NilError(t, sc.Put("a", Entry{ServerURL: "a", Username: "u", Secret: "s"}))

	rootLock := flockFile(t, s.RootDir())
	scopeLock := flockFile(t, filepath.Join(sc.Dir(), lockFile))
	for _, name := range []string{lockFile, credentialsFile} {
		assert.NilError(t, os.Remove(filepath.Join(sc.Dir(), name)))
	}
	done := make(chan error, 1)
	go func() { done <- sc.Put("b", Entry{ServerURL: "b", Username: "u", Secret: "s"}) }()
	select {
	case err := <-done:
		done <- err // finished inside the removal: the check below fails
	case <-time.After(500 * time.Millisecond):
	}
	assert.NilError(t, os.RemoveAll(sc.Dir()))
	scopeLock.unlock()
	rootLock.unlock()

	assert.NilError(t, <-done)
	_, found, err := sc.Get("b")
	assert.NilError(t, err)
	assert.Check(t, found, "the store reported success but its login went with the removed scope")
}

// flockFile takes an exclusive flock on path (a directory, or a file it
// creates).
func flockFile(t *testing.T, path string) scopeLock {
	t.Helper()
	flag := os.O_RDWR | os.O_CREATE
	if fi, err := os.Stat(path); err == nil && fi.IsDir() {
		flag = os.O_RDONLY
	}
	f, err := os.OpenFile(path, flag, 0o600)
	assert.NilError(t, err)
	assert.NilError(t, flock(f, lockEx))
	return scopeLock{f}
}
