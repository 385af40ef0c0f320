package credstore

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"
)

// A store killed before its rename leaves a temp file with the secret in
// it; every later write to the scope, an erase included, and gc of a scope
// it keeps remove those older than staleTempAge, and leave a live writer's.
func TestStaleTempsRemoved(t *testing.T) {
	entry := Entry{ServerURL: "registry.example.com", Username: "u", Secret: "s"}
	for _, tc := range []struct {
		name string
		run  func(s *Store, sc *Scope) error
	}{
		{"erase", func(_ *Store, sc *Scope) error { _, err := sc.Delete("registry.example.com"); return err }},
		{"erase of another host", func(_ *Store, sc *Scope) error { _, err := sc.Delete("other.example.com"); return err }},
		{"store", func(_ *Store, sc *Scope) error { return sc.Put("other.example.com", entry) }},
		{"gc of a kept scope", func(s *Store, _ *Scope) error {
			removed, err := s.GC(GCOptions{OlderThan: 24 * time.Hour})
			assert.Check(t, is.Len(removed, 0))
			return err
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := New(filepath.Join(t.TempDir(), "store"))
			sc := s.Scope("ci:gitlab:1", "gitlab")
			assert.NilError(t, sc.Put("registry.example.com", entry))
			old := time.Now().Add(-staleTempAge - time.Second)
			file := func(name string, mtime time.Time) string {
				p := filepath.Join(sc.Dir(), name)
				assert.NilError(t, os.WriteFile(p, []byte(`{"secret"}`), 0o600))
				assert.NilError(t, os.Chtimes(p, mtime, mtime))
				return p
			}
			stale := []string{file(".credentials.json.123.tmp", old), file(".scope.json.456.tmp", old)}
			kept := []string{
				file(".credentials.json.789.tmp", time.Now()), // a live writer's
				file(".credentials.json.tmp", old),            // not a temp name
				file(".other.json.1.tmp", old),
			}
			assert.NilError(t, tc.run(s, sc))
			for _, p := range stale {
				assert.Check(t, !exists(t, p), "%s is left", filepath.Base(p))
			}
			for _, p := range kept {
				assert.Check(t, exists(t, p), "%s was removed", filepath.Base(p))
			}
		})
	}
}

// gc --dry-run removes no temp file either.
func TestStaleTempsKeptByDryRun(t *testing.T) {
	s := New(filepath.Join(t.TempDir(), "store"))
	sc := s.Scope("ci:gitlab:1", "gitlab")
	assert.NilError(t, sc.Put("registry.example.com", Entry{ServerURL: "registry.example.com", Username: "u", Secret: "s"}))
	p := filepath.Join(sc.Dir(), ".credentials.json.1.tmp")
	assert.NilError(t, os.WriteFile(p, nil, 0o600))
	old := time.Now().Add(-time.Hour)
	assert.NilError(t, os.Chtimes(p, old, old))
	_, err := s.GC(GCOptions{OlderThan: 24 * time.Hour, DryRun: true})
	assert.NilError(t, err)
	assert.Check(t, exists(t, p))
}
