package credstore

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"
)

func newStore(t *testing.T) *Store {
	t.Helper()
	return New(filepath.Join(t.TempDir(), "store"))
}

func TestRoot(t *testing.T) {
	tests := []struct {
		name string
		env  map[string]string
		want string
		err  string
	}{
		{name: "explicit", env: map[string]string{"WERF_CREDENTIALS_DIR": "/srv/creds", "XDG_RUNTIME_DIR": "/run/user/1", "HOME": "/home/u"}, want: "/srv/creds"},
		{name: "xdg", env: map[string]string{"XDG_RUNTIME_DIR": "/run/user/1000", "HOME": "/home/u"}, want: "/run/user/1000/docker-credential-werf"},
		{name: "relative xdg ignored", env: map[string]string{"XDG_RUNTIME_DIR": "run", "HOME": "/home/u"}, want: "/home/u/.local/state/docker-credential-werf"},
		{name: "home", env: map[string]string{"HOME": "/home/u"}, want: "/home/u/.local/state/docker-credential-werf"},
		{name: "nothing", env: map[string]string{}, err: "set WERF_CREDENTIALS_DIR"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Root(func(k string) string { return tc.env[k] })
			if tc.err != "" {
				assert.ErrorContains(t, err, tc.err)
				return
			}
			assert.NilError(t, err)
			assert.Equal(t, got, tc.want)
		})
	}
}

func TestRoundTrip(t *testing.T) {
	s := newStore(t)
	sc := s.Scope("ci:gitlab:1", "gitlab")

	_, ok, err := sc.Get("registry.example.com")
	assert.NilError(t, err)
	assert.Assert(t, !ok)
	_, err = os.Lstat(s.RootDir())
	assert.Assert(t, errors.Is(err, os.ErrNotExist), "get must not create the store")

	e := Entry{ServerURL: "https://registry.example.com/v2/", Username: "<token>", Secret: "s3cr3t-token"}
	assert.NilError(t, sc.Put("registry.example.com", e))
	got, ok, err := sc.Get("registry.example.com")
	assert.NilError(t, err)
	assert.Assert(t, ok)
	assert.Equal(t, got, e)

	for path, mode := range map[string]os.FileMode{
		s.RootDir():                              0o700,
		sc.Dir():                                 0o700,
		filepath.Join(sc.Dir(), credentialsFile): 0o600,
		filepath.Join(sc.Dir(), scopeFile):       0o600,
		filepath.Join(sc.Dir(), lockFile):        0o600,
	} {
		fi, err := os.Stat(path)
		assert.NilError(t, err)
		assert.Equal(t, fi.Mode().Perm(), mode, path)
	}
	assert.Equal(t, filepath.Base(sc.Dir()), ScopeDirName("ci:gitlab:1"))
	assert.Equal(t, len(filepath.Base(sc.Dir())), 32)

	var meta scopeMeta
	data, err := os.ReadFile(filepath.Join(sc.Dir(), scopeFile))
	assert.NilError(t, err)
	assert.NilError(t, json.Unmarshal(data, &meta))
	assert.Equal(t, meta.Scope, "ci:gitlab:1")
	assert.Equal(t, meta.CI, "gitlab")
	assert.Assert(t, !strings.Contains(string(data), "s3cr3t"))

	list, err := sc.List()
	assert.NilError(t, err)
	assert.DeepEqual(t, list, map[string]Entry{"registry.example.com": e})

	found, err := sc.Delete("registry.example.com")
	assert.NilError(t, err)
	assert.Assert(t, found)
	found, err = sc.Delete("registry.example.com")
	assert.NilError(t, err)
	assert.Assert(t, !found)
	_, ok, err = sc.Get("registry.example.com")
	assert.NilError(t, err)
	assert.Assert(t, !ok)
	_, err = os.Lstat(filepath.Join(sc.Dir(), credentialsFile))
	assert.Assert(t, errors.Is(err, os.ErrNotExist), "an empty credentials file is removed")
}

func TestDeleteCreatesNothing(t *testing.T) {
	s := newStore(t)
	found, err := s.Scope("ci:github:1", "github").Delete("ghcr.io")
	assert.NilError(t, err)
	assert.Assert(t, !found)
	_, err = os.Lstat(s.RootDir())
	assert.Assert(t, errors.Is(err, os.ErrNotExist))
}

func TestScopesAreIsolated(t *testing.T) {
	s := newStore(t)
	a := s.Scope("ci:gitlab:100", "gitlab")
	b := s.Scope("ci:gitlab:101", "gitlab")
	assert.NilError(t, a.Put("registry.example.com", Entry{ServerURL: "registry.example.com", Username: "a", Secret: "secret-a"}))
	assert.NilError(t, b.Put("registry.example.com", Entry{ServerURL: "registry.example.com", Username: "b", Secret: "secret-b"}))

	got, _, err := a.Get("registry.example.com")
	assert.NilError(t, err)
	assert.Equal(t, got.Username, "a")
	got, _, err = b.Get("registry.example.com")
	assert.NilError(t, err)
	assert.Equal(t, got.Username, "b")

	_, err = b.Delete("registry.example.com")
	assert.NilError(t, err)
	got, ok, err := a.Get("registry.example.com")
	assert.NilError(t, err)
	assert.Assert(t, ok, "erase in one scope must not touch another")
	assert.Equal(t, got.Secret, "secret-a")
}

func TestConcurrentWritersNeverTear(t *testing.T) {
	s := newStore(t)
	const n = 50
	var wg sync.WaitGroup
	errs := make(chan error, 4*n)
	stop := make(chan struct{})
	// A reader checks that the file always parses while writers run.
	var rwg sync.WaitGroup
	rwg.Add(1)
	go func() {
		defer rwg.Done()
		sc := s.Scope("ci:gitlab:7", "gitlab")
		for {
			select {
			case <-stop:
				return
			default:
			}
			if _, err := sc.List(); err != nil {
				errs <- err
				return
			}
		}
	}()
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			// Each goroutine has its own Scope value, as separate
			// processes would.
			sc := s.Scope("ci:gitlab:7", "gitlab")
			host := fmt.Sprintf("r%d.example.com", i)
			e := Entry{ServerURL: host, Username: "u", Secret: fmt.Sprintf("secret-%d", i)}
			if err := sc.Put(host, e); err != nil {
				errs <- err
				return
			}
			if i%2 == 1 {
				if _, err := sc.Delete(host); err != nil {
					errs <- err
				}
			}
		}()
	}
	wg.Wait()
	close(stop)
	rwg.Wait()
	close(errs)
	for err := range errs {
		assert.NilError(t, err)
	}
	m, err := s.Scope("ci:gitlab:7", "gitlab").List()
	assert.NilError(t, err)
	assert.Equal(t, len(m), n/2)
	for i := 0; i < n; i += 2 {
		host := fmt.Sprintf("r%d.example.com", i)
		assert.Equal(t, m[host].Secret, fmt.Sprintf("secret-%d", i))
	}
	entries, err := os.ReadDir(s.Scope("ci:gitlab:7", "").Dir())
	assert.NilError(t, err)
	for _, e := range entries {
		assert.Assert(t, !strings.HasSuffix(e.Name(), ".tmp"), "leftover temp file %s", e.Name())
	}
}

func TestHostileDirectories(t *testing.T) {
	type setup func(t *testing.T, root string) (path string)
	tests := []struct {
		name  string
		setup setup
		want  []string
	}{
		{
			name: "root is a symlink",
			setup: func(t *testing.T, root string) string {
				real := root + "-real"
				assert.NilError(t, os.Mkdir(real, 0o700))
				assert.NilError(t, os.Symlink(real, root))
				return root
			},
			want: []string{"is a symbolic link"},
		},
		{
			name: "root is a file",
			setup: func(t *testing.T, root string) string {
				assert.NilError(t, os.WriteFile(root, nil, 0o600))
				return root
			},
			want: []string{"is not a directory"},
		},
		{
			name: "root is 0777",
			setup: func(t *testing.T, root string) string {
				assert.NilError(t, os.Mkdir(root, 0o700))
				assert.NilError(t, os.Chmod(root, 0o777))
				return root
			},
			want: []string{"mode 0777", `chmod 700 `},
		},
		{
			name: "root is 0755",
			setup: func(t *testing.T, root string) string {
				assert.NilError(t, os.Mkdir(root, 0o700))
				assert.NilError(t, os.Chmod(root, 0o755))
				return root
			},
			want: []string{"mode 0755", `chmod 700 `},
		},
		{
			name: "scope dir is 0750",
			setup: func(t *testing.T, root string) string {
				dir := filepath.Join(root, ScopeDirName("ci:gitlab:1"))
				assert.NilError(t, os.MkdirAll(dir, 0o700))
				assert.NilError(t, os.Chmod(dir, 0o750))
				return dir
			},
			want: []string{"credential scope directory has mode 0750", "chmod 700 "},
		},
		{
			name: "scope dir is a symlink",
			setup: func(t *testing.T, root string) string {
				assert.NilError(t, os.MkdirAll(root, 0o700))
				other := filepath.Join(root, "elsewhere")
				assert.NilError(t, os.Mkdir(other, 0o700))
				dir := filepath.Join(root, ScopeDirName("ci:gitlab:1"))
				assert.NilError(t, os.Symlink(other, dir))
				return dir
			},
			want: []string{"is a symbolic link"},
		},
		{
			name: "credentials file is 0644",
			setup: func(t *testing.T, root string) string {
				dir := filepath.Join(root, ScopeDirName("ci:gitlab:1"))
				assert.NilError(t, os.MkdirAll(dir, 0o700))
				p := filepath.Join(dir, credentialsFile)
				assert.NilError(t, os.WriteFile(p, []byte(`{}`), 0o600))
				assert.NilError(t, os.Chmod(p, 0o644))
				return p
			},
			want: []string{"file has mode 0644", "chmod 600 "},
		},
		{
			name: "credentials file is a symlink",
			setup: func(t *testing.T, root string) string {
				dir := filepath.Join(root, ScopeDirName("ci:gitlab:1"))
				assert.NilError(t, os.MkdirAll(dir, 0o700))
				target := filepath.Join(root, "target.json")
				assert.NilError(t, os.WriteFile(target, []byte(`{}`), 0o600))
				p := filepath.Join(dir, credentialsFile)
				assert.NilError(t, os.Symlink(target, p))
				return p
			},
			want: []string{"is a symbolic link"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			root := filepath.Join(t.TempDir(), "store")
			path := tc.setup(t, root)
			sc := New(root).Scope("ci:gitlab:1", "gitlab")
			check := func(op string, err error) {
				t.Helper()
				assert.Assert(t, err != nil, "%s: expected an error", op)
				var u *UnsafeError
				assert.Assert(t, errors.As(err, &u), "%s: %v", op, err)
				assert.Assert(t, is.Contains(err.Error(), path), op)
				for _, w := range tc.want {
					assert.Assert(t, is.Contains(err.Error(), w), op)
				}
			}
			_, _, err := sc.Get("registry.example.com")
			check("get", err)
			check("put", sc.Put("registry.example.com", Entry{ServerURL: "x", Username: "u", Secret: "topsecret"}))
		})
	}
}

func TestOtherOwner(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("simulating another owner needs root (os.Chown to uid 65534)")
	}
	t.Run("root dir", func(t *testing.T) {
		root := filepath.Join(t.TempDir(), "store")
		assert.NilError(t, os.Mkdir(root, 0o700))
		assert.NilError(t, os.Chown(root, 65534, 65534))
		_, _, err := New(root).Scope("k", "").Get("h")
		assert.ErrorContains(t, err, "belongs to uid 65534")
		assert.ErrorContains(t, err, root)
	})
	t.Run("credentials file", func(t *testing.T) {
		root := filepath.Join(t.TempDir(), "store")
		sc := New(root).Scope("k", "")
		assert.NilError(t, sc.Put("h", Entry{ServerURL: "h", Username: "u", Secret: "s"}))
		p := filepath.Join(sc.Dir(), credentialsFile)
		assert.NilError(t, os.Chown(p, 65534, 65534))
		_, _, err := sc.Get("h")
		assert.ErrorContains(t, err, "belongs to uid 65534")
		assert.ErrorContains(t, err, p)
	})
}

func TestCorruptFileNamesPathNotContent(t *testing.T) {
	root := filepath.Join(t.TempDir(), "store")
	sc := New(root).Scope("k", "")
	assert.NilError(t, sc.Put("h", Entry{ServerURL: "h", Username: "u", Secret: "s"}))
	p := filepath.Join(sc.Dir(), credentialsFile)
	assert.NilError(t, os.WriteFile(p, []byte(`{"h":{"Secret":"hunter2`), 0o600))
	_, _, err := sc.Get("h")
	assert.ErrorContains(t, err, p)
	assert.ErrorContains(t, err, "corrupt")
	assert.Assert(t, !strings.Contains(err.Error(), "hunter2"))
}

func TestGetTouchesScopeAtMostOnceAMinute(t *testing.T) {
	sc := newStore(t).Scope("ci:gitlab:1", "gitlab")
	assert.NilError(t, sc.Put("h", Entry{ServerURL: "h", Username: "u", Secret: "s"}))
	p := filepath.Join(sc.Dir(), scopeFile)
	old := time.Now().Add(-time.Hour)
	assert.NilError(t, os.Chtimes(p, old, old))
	_, _, err := sc.Get("h")
	assert.NilError(t, err)
	fi, err := os.Stat(p)
	assert.NilError(t, err)
	assert.Assert(t, time.Since(fi.ModTime()) < time.Minute, "get refreshes an old mtime")

	recent := time.Now().Add(-10 * time.Second).Truncate(time.Second)
	assert.NilError(t, os.Chtimes(p, recent, recent))
	_, _, err = sc.Get("h")
	assert.NilError(t, err)
	fi, err = os.Stat(p)
	assert.NilError(t, err)
	assert.Assert(t, fi.ModTime().Equal(recent), "get leaves a recent mtime alone")
}

func TestScopeRemove(t *testing.T) {
	root := filepath.Join(t.TempDir(), "store")
	s := New(root)
	a, b := s.Scope("ci:gitlab:1", "gitlab"), s.Scope("ci:gitlab:2", "gitlab")
	assert.NilError(t, a.Remove(), "removing a scope that was never created")
	for _, sc := range []*Scope{a, b} {
		assert.NilError(t, sc.Put("registry.example.com", Entry{ServerURL: "registry.example.com", Username: "u", Secret: "s3cret-value"}))
	}
	assert.NilError(t, a.Remove())
	_, err := os.Stat(a.Dir())
	assert.Check(t, os.IsNotExist(err), "scope directory still there: %v", err)
	_, ok, err := b.Get("registry.example.com")
	assert.NilError(t, err)
	assert.Check(t, ok, "removing one scope touched another")
	assert.NilError(t, a.Remove(), "second removal")
}
