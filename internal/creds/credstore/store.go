// Package credstore keeps credentials saved by `docker login` (the helper's
// `store` action) on disk, one directory per scope, so that jobs sharing a
// machine, a HOME and a docker config never see each other's logins.
//
// Layout under the root directory (0700):
//
//	<root>/<first 32 hex chars of sha256(scope key)>/   0700
//	    credentials.json  0600  {"<host key>": {"ServerURL","Username","Secret"}}
//	    scope.json        0600  {"scope","ci","created"}; no secret
//	    lock                    flock(2) target serialising writers
//
// The root directory itself is flocked too: shared by writers, exclusive
// while a scope is removed.
//
// Writers hold an exclusive flock on the scope's lock file and replace
// credentials.json atomically (temp file in the same directory, fsync,
// rename), so readers need no lock and never see a torn file. A temp file
// a killed writer left (it holds secrets) is removed by the next write to
// the scope, an erase included, or by gc, once it is a minute old. Every
// directory and file is checked before use: a symlink, a non-directory,
// another owner or group/other permission bits are refused with an error that
// names the path and the fix. Files are opened with O_NOFOLLOW.
//
// Locking, O_NOFOLLOW and the owner and mode checks are Unix features; on
// other systems (Windows) reads work without the checks and writes fail.
package credstore

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/docker-werf/docker-werf/internal/privatefile"
	"github.com/docker-werf/docker-werf/internal/registry"
)

// Environment variables that choose the root directory.
const (
	EnvDir = "WERF_CREDENTIALS_DIR"
	// DirName is the root's name under XDG_RUNTIME_DIR and ~/.local/state.
	DirName = "docker-credential-werf"
)

// File names inside a scope directory.
const (
	credentialsFile = "credentials.json"
	scopeFile       = "scope.json"
	lockFile        = "lock"
)

// touchInterval bounds how often a read refreshes scope.json's mtime.
const touchInterval = time.Minute

// maxFileSize bounds what a read of credentials.json or scope.json accepts.
const maxFileSize = 16 << 20

// Entry is one stored credential. ServerURL is the address `store` was
// given; Username may be "<token>" (Secret is then an identity token).
type Entry struct {
	ServerURL string
	Username  string
	Secret    string
	// RefreshAt, when set, is when the entry should be fetched again: a
	// registry token (ECR) past half its life.
	RefreshAt time.Time `json:",omitzero"`
}

// Root returns the store's root directory for env: $WERF_CREDENTIALS_DIR,
// else $XDG_RUNTIME_DIR/docker-credential-werf, else
// $HOME/.local/state/docker-credential-werf. It does no I/O.
func Root(env registry.Env) (string, error) {
	get := func(k string) string {
		if env == nil {
			return ""
		}
		return env(k)
	}
	if d := get(EnvDir); d != "" {
		abs, err := filepath.Abs(d)
		if err != nil {
			return "", fmt.Errorf("%s=%q: %w", EnvDir, d, err)
		}
		return abs, nil
	}
	if x := get("XDG_RUNTIME_DIR"); x != "" && filepath.IsAbs(x) {
		return filepath.Join(x, DirName), nil
	}
	if h := get("HOME"); h != "" && filepath.IsAbs(h) {
		return filepath.Join(h, ".local", "state", DirName), nil
	}
	return "", fmt.Errorf("cannot locate the credential store: none of %s, XDG_RUNTIME_DIR, HOME is set "+
		"(to an absolute path); set %s", EnvDir, EnvDir)
}

// Store is a credential store rooted at one directory. Creating one does no
// I/O; directories are created by the first write.
type Store struct {
	root string
	uid  int
}

// New returns the store rooted at root, which should be absolute.
func New(root string) *Store {
	return &Store{root: filepath.Clean(root), uid: os.Geteuid()}
}

// RootDir returns the store's root directory.
func (s *Store) RootDir() string { return s.root }

// ScopeDirName returns the directory name of a scope key: the first 32 hex
// characters of its SHA-256.
func ScopeDirName(key string) string {
	sum := sha256.Sum256([]byte(key))
	return hex.EncodeToString(sum[:16])
}

// Scope returns the scope with the given key (e.g. "ci:gitlab:123" or
// "config:/home/u/.docker"); system is the CI system name recorded in
// scope.json ("" outside CI). No I/O.
func (s *Store) Scope(key, system string) *Scope {
	return &Scope{store: s, key: key, system: system, dir: filepath.Join(s.root, ScopeDirName(key))}
}

// Scope is one job's (or one docker config's) set of stored credentials.
type Scope struct {
	store  *Store
	key    string
	system string
	dir    string
}

// Key returns the scope key.
func (sc *Scope) Key() string { return sc.key }

// Dir returns the scope's directory.
func (sc *Scope) Dir() string { return sc.dir }

// Get returns the entry stored for a host key. A missing root, scope or
// entry is (Entry{}, false, nil); an unsafe directory or file is an error.
// A hit refreshes scope.json's mtime (the last-use time gc looks at) at most
// once a minute. Get takes no lock and creates nothing.
func (sc *Scope) Get(host string) (Entry, bool, error) {
	m, err := sc.read()
	if err != nil || m == nil {
		return Entry{}, false, err
	}
	e, ok := m[host]
	if ok {
		sc.touch()
	}
	return e, ok, nil
}

// List returns every stored entry by host key; nil when nothing is stored.
func (sc *Scope) List() (map[string]Entry, error) {
	return sc.read()
}

// Put stores e under a host key, replacing what was there.
func (sc *Scope) Put(host string, e Entry) error {
	return sc.update(true, func(m map[string]Entry) bool {
		if old, ok := m[host]; ok && old == e {
			return false
		}
		m[host] = e
		return true
	})
}

// Delete removes a host key's entry and reports whether there was one.
// Deleting from a scope that does not exist creates nothing.
func (sc *Scope) Delete(host string) (bool, error) {
	found := false
	err := sc.update(false, func(m map[string]Entry) bool {
		_, found = m[host]
		delete(m, host)
		return found
	})
	return found, err
}

// read loads credentials.json after checking the root and scope directory.
func (sc *Scope) read() (map[string]Entry, error) {
	if ok, err := sc.store.checkExisting(sc.store.root, "credential store directory"); !ok || err != nil {
		return nil, err
	}
	if ok, err := sc.store.checkExisting(sc.dir, "credential scope directory"); !ok || err != nil {
		return nil, err
	}
	return sc.store.readCredentials(filepath.Join(sc.dir, credentialsFile))
}

func (sc *Scope) touch() {
	p := filepath.Join(sc.dir, scopeFile)
	fi, err := os.Lstat(p)
	if err != nil || !fi.Mode().IsRegular() {
		return
	}
	now := time.Now()
	if now.Sub(fi.ModTime()) < touchInterval {
		return
	}
	_ = os.Chtimes(p, now, now)
}

// update runs fn on the stored map under the scope lock and writes the
// result back atomically when fn reports a change. It first removes the
// temp files killed writers left (removeStaleTemps), so an erase leaves no
// secret of an earlier store behind. With create false, a
// missing root or scope directory means there is nothing to update.
func (sc *Scope) update(create bool, fn func(map[string]Entry) bool) error {
	s := sc.store
	if create {
		if err := s.ensureDir(s.root, true, "credential store directory"); err != nil {
			return err
		}
	} else if ok, err := s.checkExisting(s.root, "credential store directory"); !ok || err != nil {
		return err
	}
	root, err := s.rootLock(lockSh)
	if err != nil {
		return err
	}
	defer root.unlock()
	if create {
		if err := s.ensureDir(sc.dir, false, "credential scope directory"); err != nil {
			return err
		}
	} else if ok, err := s.checkExisting(sc.dir, "credential scope directory"); !ok || err != nil {
		return err
	}
	l, err := s.lock(sc.dir, true)
	if err != nil {
		return err
	}
	defer l.unlock()
	return sc.updateLocked(fn)
}

func (sc *Scope) updateLocked(fn func(map[string]Entry) bool) error {
	s := sc.store
	if err := removeStaleTemps(sc.dir, time.Now()); err != nil {
		return err
	}
	credPath := filepath.Join(sc.dir, credentialsFile)
	m, err := s.readCredentials(credPath)
	if err != nil {
		return err
	}
	if m == nil {
		m = map[string]Entry{}
	}
	if !fn(m) {
		return nil
	}
	if err := sc.writeMeta(); err != nil {
		return err
	}
	if len(m) == 0 {
		if err := os.Remove(credPath); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("removing %s: %w", credPath, err)
		}
		return privatefile.SyncDir(sc.dir)
	}
	data, err := marshal(m)
	if err != nil {
		return err
	}
	return privatefile.WriteAtomic(sc.dir, credentialsFile, data)
}

// writeMeta writes scope.json if it is missing; it is also what a write
// refreshes as the last-use time.
func (sc *Scope) writeMeta() error {
	p := filepath.Join(sc.dir, scopeFile)
	if fi, err := os.Lstat(p); err == nil && fi.Mode().IsRegular() {
		now := time.Now()
		_ = os.Chtimes(p, now, now)
		return nil
	}
	data, err := marshal(scopeMeta{Scope: sc.key, CI: sc.system, Created: time.Now().UTC().Format(time.RFC3339)})
	if err != nil {
		return err
	}
	return privatefile.WriteAtomic(sc.dir, scopeFile, data)
}

// scopeMeta is scope.json.
type scopeMeta struct {
	Scope   string `json:"scope"`
	CI      string `json:"ci,omitempty"`
	Created string `json:"created"`
}

// ConfigDirOfScope returns the docker config directory a "config:" scope key
// names, and false for other keys.
func ConfigDirOfScope(key string) (string, bool) {
	return strings.CutPrefix(key, "config:")
}

// Remove deletes the scope and everything stored in it, under its lock so a
// concurrent store cannot leave a torn directory behind. A missing scope is
// not an error.
func (sc *Scope) Remove() error {
	s := sc.store
	if ok, err := s.checkExisting(s.root, "credential store directory"); !ok || err != nil {
		return err
	}
	if ok, err := s.checkExisting(sc.dir, "credential scope directory"); !ok || err != nil {
		return err
	}
	root, err := s.rootLock(lockEx)
	if err != nil {
		return err
	}
	defer root.unlock()
	l, err := s.lock(sc.dir, true)
	if errors.Is(err, errScopeGone) {
		return nil
	}
	if err != nil {
		return err
	}
	defer l.unlock()
	if err := os.RemoveAll(sc.dir); err != nil {
		return fmt.Errorf("removing %s: %w", sc.dir, err)
	}
	return nil
}
