package credstore

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// GCOptions selects what GC removes.
type GCOptions struct {
	// OlderThan is the minimum time since a scope's last use.
	OlderThan time.Duration
	// Now is the reference time; zero means time.Now().
	Now time.Time
	// DryRun reports what would be removed without removing it.
	DryRun bool
}

// Removed describes a scope GC removed (or would remove). Nothing in it is
// secret.
type Removed struct {
	Key      string // scope key; empty for a scope directory without scope.json
	System   string // CI system, if any
	Dir      string
	LastUsed time.Time
	Reason   string
}

// GC removes scope directories unused for at least opts.OlderThan: CI job
// scopes (the job is over) and docker-config scopes whose config directory
// no longer exists. Scopes of existing docker config directories are kept
// however old, as are directories GC does not recognise; from the scopes it
// keeps it removes the temp files killed writers left. Each removal holds
// the scope lock; a scope locked by a running writer is skipped. Problems
// with single scopes are joined into the returned error after the others
// were processed; an unsafe root is refused outright.
func (s *Store) GC(opts GCOptions) ([]Removed, error) {
	if opts.OlderThan < 0 {
		return nil, fmt.Errorf("gc: negative age %s", opts.OlderThan)
	}
	now := opts.Now
	if now.IsZero() {
		now = time.Now()
	}
	ok, err := s.checkExisting(s.root, "credential store directory")
	if !ok || err != nil {
		return nil, err
	}
	entries, err := os.ReadDir(s.root)
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", s.root, err)
	}
	var removed []Removed
	var errs []error
	for _, de := range entries {
		if !isScopeDirName(de.Name()) {
			continue
		}
		dir := filepath.Join(s.root, de.Name())
		r, ok, err := s.gcScope(dir, now, opts)
		if err == nil && !ok && !opts.DryRun {
			err = s.sweepScope(dir, now)
		}
		if err != nil {
			errs = append(errs, err)
		}
		if ok {
			removed = append(removed, r)
		}
	}
	slices.SortFunc(removed, func(a, b Removed) int { return strings.Compare(a.Dir, b.Dir) })
	return removed, errors.Join(errs...)
}

func isScopeDirName(n string) bool {
	if len(n) != 32 {
		return false
	}
	for i := 0; i < len(n); i++ {
		c := n[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}

// gcScope decides about one scope directory and removes it if due.
func (s *Store) gcScope(dir string, now time.Time, opts GCOptions) (Removed, bool, error) {
	fi, err := os.Lstat(dir)
	if err != nil {
		return Removed{}, false, nil
	}
	if err := s.checkDir(dir, "credential scope directory", fi); err != nil {
		return Removed{}, false, err
	}
	r, due, err := s.due(dir, fi, now, opts.OlderThan)
	if !due || err != nil {
		return Removed{}, false, err
	}
	if opts.DryRun {
		return r, true, nil
	}
	root, err := s.rootLock(lockEx)
	if err != nil {
		return Removed{}, false, err
	}
	defer root.unlock()
	l, err := s.lock(dir, false)
	if errors.Is(err, errBusy) || errors.Is(err, errScopeGone) {
		return Removed{}, false, nil
	}
	if err != nil {
		return Removed{}, false, err
	}
	defer l.unlock()
	// Look again under the lock: a writer may have used the scope since.
	if r, due, err = s.due(dir, fi, now, opts.OlderThan); !due || err != nil {
		return Removed{}, false, err
	}
	if err := os.RemoveAll(dir); err != nil {
		return Removed{}, false, fmt.Errorf("removing %s: %w", dir, err)
	}
	return r, true, nil
}

// sweepScope removes the stale temp files of a scope GC keeps, under its
// lock; a scope a writer holds is left for the next run.
func (s *Store) sweepScope(dir string, now time.Time) error {
	fi, err := os.Lstat(dir)
	if err != nil || s.checkDir(dir, "credential scope directory", fi) != nil {
		return nil // gone, or reported by gcScope
	}
	// Lock only when there is something to remove: taking the lock may
	// create the lock file, which would make a half-created scope look used.
	if stale, err := staleTemps(dir, now); len(stale) == 0 || err != nil {
		return err
	}
	l, err := s.lock(dir, false)
	if errors.Is(err, errBusy) || errors.Is(err, errScopeGone) {
		return nil
	}
	if err != nil {
		return err
	}
	defer l.unlock()
	return removeStaleTemps(dir, now)
}

// due reports whether a scope directory is old enough and of a kind GC may
// remove.
func (s *Store) due(dir string, dirInfo os.FileInfo, now time.Time, olderThan time.Duration) (Removed, bool, error) {
	// Last use: the newer of the two files' mtimes; the directory's own
	// mtime only when neither exists (a scope abandoned half-created).
	r := Removed{Dir: dir}
	var hasMeta, hasCreds bool
	for _, name := range []string{scopeFile, credentialsFile} {
		fi, err := os.Lstat(filepath.Join(dir, name))
		if err != nil {
			continue
		}
		hasMeta = hasMeta || name == scopeFile
		hasCreds = hasCreds || name == credentialsFile
		if fi.ModTime().After(r.LastUsed) {
			r.LastUsed = fi.ModTime()
		}
	}
	if !hasMeta && !hasCreds {
		r.LastUsed = dirInfo.ModTime()
	}
	if now.Sub(r.LastUsed) < olderThan {
		return r, false, nil
	}
	if !hasMeta {
		if hasCreds {
			return r, false, nil // not ours to judge without scope.json
		}
		r.Reason = "empty scope directory"
		return r, true, nil
	}
	data, _, err := s.readFile(filepath.Join(dir, scopeFile))
	if err != nil {
		return r, false, err
	}
	var meta scopeMeta
	if data == nil || json.Unmarshal(data, &meta) != nil || meta.Scope == "" {
		return r, false, nil
	}
	r.Key, r.System = meta.Scope, meta.CI
	switch {
	case strings.HasPrefix(meta.Scope, "ci:"):
		r.Reason = "CI job scope unused for " + age(now.Sub(r.LastUsed))
		return r, true, nil
	case strings.HasPrefix(meta.Scope, "config:"):
		cfg, _ := ConfigDirOfScope(meta.Scope)
		if _, err := os.Lstat(cfg); errors.Is(err, os.ErrNotExist) {
			r.Reason = "docker config directory " + cfg + " no longer exists"
			return r, true, nil
		}
	}
	return r, false, nil
}

func age(d time.Duration) string {
	if d >= 48*time.Hour {
		return fmt.Sprintf("%dd", int(d/(24*time.Hour)))
	}
	return d.Truncate(time.Second).String()
}
