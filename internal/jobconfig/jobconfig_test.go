package jobconfig

import (
	"encoding/json"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"
	"gotest.tools/v3/fs"
)

const sourceConfig = `{
	"auths": {"inline.example.com": {"auth": "dXNlcjpwYXNz"}},
	"credHelpers": {"gcr.io": "gcloud"},
	"credsStore": "secretservice",
	"proxies": {"default": {"httpProxy": "http://proxy:3128"}},
	"currentContext": "remote",
	"detachKeys": "ctrl-x"
}`

func sourceDir(t *testing.T) string {
	t.Helper()
	src := fs.NewDir(t, "source",
		fs.WithFile("config.json", sourceConfig, fs.WithMode(0o600)),
		fs.WithDir("cli-plugins", fs.WithFile("docker-werf", "#!/bin/sh\n", fs.WithMode(0o755))),
		fs.WithDir("buildx", fs.WithFile("current", "x")),
		fs.WithDir("contexts", fs.WithDir("meta", fs.WithFile("meta.json", `{"Name":"remote"}`))),
		fs.WithDir("run"))
	// A socket, as Docker Desktop keeps in run/, must never be copied.
	l, err := net.Listen("unix", filepath.Join(src.Path(), "run", "docker-cli-api.sock"))
	assert.NilError(t, err)
	t.Cleanup(func() { l.Close() })
	return src.Path()
}

func readConfig(t *testing.T, dir string) map[string]any {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(dir, "config.json"))
	assert.NilError(t, err)
	var m map[string]any
	assert.NilError(t, json.Unmarshal(data, &m))
	return m
}

func mode(t *testing.T, path string) os.FileMode {
	t.Helper()
	fi, err := os.Stat(path)
	assert.NilError(t, err)
	return fi.Mode().Perm()
}

func TestCreateCopiesWhatTheJobNeeds(t *testing.T) {
	src := sourceDir(t)
	root := t.TempDir()
	var stored []Auth
	dir, err := Create(Options{SourceDir: src, TempRoot: root, Job: "ci:gitlab:1",
		HelperHosts: []string{"registry.example.com:5050", "docker.io"},
		StoreAuth: func(d string, a Auth) error {
			assert.Check(t, is.Equal(filepath.Dir(d), root))
			stored = append(stored, a)
			return nil
		}})
	assert.NilError(t, err)
	assert.Check(t, is.DeepEqual(stored, []Auth{{Server: "inline.example.com", Username: "user", Secret: "pass"}}))

	assert.Check(t, strings.HasPrefix(dir, filepath.Join(root, DirPrefix)))
	assert.Check(t, is.Equal(mode(t, dir), os.FileMode(0o700)))
	assert.Check(t, is.Equal(mode(t, filepath.Join(dir, "config.json")), os.FileMode(0o600)))
	cfg := readConfig(t, dir)
	assert.Check(t, is.DeepEqual(cfg["auths"], map[string]any{"inline.example.com": map[string]any{}}),
		"the inline credential moves to the helper")
	assert.Check(t, is.DeepEqual(cfg["credHelpers"], map[string]any{
		"gcr.io": "gcloud", "registry.example.com:5050": "werf", "https://index.docker.io/v1/": "werf",
	}))
	assert.Check(t, is.Equal(cfg["credsStore"], "werf"), "the host's credsStore is shared by every job; logins go to the helper")
	assert.Check(t, is.DeepEqual(cfg["proxies"], map[string]any{"default": map[string]any{"httpProxy": "http://proxy:3128"}}))
	assert.Check(t, is.Equal(cfg["detachKeys"], "ctrl-x"))
	assert.Check(t, is.DeepEqual(cfg["cliPluginsExtraDirs"], []any{filepath.Join(src, "cli-plugins")}))
	_, err = os.Stat(filepath.Join(dir, "contexts", "meta", "meta.json"))
	assert.Check(t, err, "the current context's metadata must come along")
	for _, skipped := range []string{"buildx", "run", "cli-plugins"} {
		_, err := os.Lstat(filepath.Join(dir, skipped))
		assert.Check(t, os.IsNotExist(err), "%s was copied", skipped)
	}
}

func TestCreateModes(t *testing.T) {
	tests := []struct {
		name          string
		opts          Options
		wantAuths     any
		wantStore     any
		wantHelpers   any
		wantNoPlugins bool
	}{
		{name: "keep creds store", opts: Options{KeepCredsStore: true},
			wantAuths: map[string]any{"inline.example.com": map[string]any{"auth": "dXNlcjpwYXNz"}}, wantStore: "secretservice",
			wantHelpers: map[string]any{"gcr.io": "gcloud"}},
		{name: "empty", opts: Options{Mode: Empty},
			wantStore: "werf", wantAuths: nil},
		{name: "empty with helper hosts", opts: Options{Mode: Empty, HelperHosts: []string{"ghcr.io"}},
			wantHelpers: map[string]any{"ghcr.io": "werf"}, wantStore: "werf"},
		{name: "docker auth config", opts: Options{Mode: FromAuthConfig, AuthConfig: `{"auths":{"r.example.com":{"auth":"eDp5"}}}`},
			wantAuths: map[string]any{"r.example.com": map[string]any{}}, wantStore: "werf"},
		{name: "docker auth config, token and password", opts: Options{Mode: FromAuthConfig,
			AuthConfig: `{"auths":{"a.example.com":{"identitytoken":"tok"},"b.example.com":{"username":"u","password":"p"}}}`},
			wantAuths: map[string]any{"a.example.com": map[string]any{}, "b.example.com": map[string]any{}}, wantStore: "werf"},
		{name: "keep creds store without one", opts: Options{Mode: Empty, KeepCredsStore: true}, wantStore: "werf"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.opts.SourceDir, tc.opts.TempRoot = sourceDir(t), t.TempDir()
			tc.opts.StoreAuth = func(string, Auth) error { return nil }
			dir, err := Create(tc.opts)
			assert.NilError(t, err)
			cfg := readConfig(t, dir)
			assert.Check(t, is.DeepEqual(cfg["auths"], tc.wantAuths))
			assert.Check(t, is.DeepEqual(cfg["credsStore"], tc.wantStore))
			assert.Check(t, is.DeepEqual(cfg["credHelpers"], tc.wantHelpers))
			assert.Check(t, is.DeepEqual(cfg["cliPluginsExtraDirs"], []any{filepath.Join(tc.opts.SourceDir, "cli-plugins")}))
		})
	}
}

func TestCreateMissingSourceIsEmpty(t *testing.T) {
	dir, err := Create(Options{SourceDir: filepath.Join(t.TempDir(), "nothing"), TempRoot: t.TempDir()})
	assert.NilError(t, err)
	assert.Check(t, is.DeepEqual(readConfig(t, dir), map[string]any{"credsStore": "werf"}))
}

func TestCreateErrors(t *testing.T) {
	const secret = "c3VwZXItc2VjcmV0LXZhbHVl"
	corrupt := fs.NewDir(t, "corrupt", fs.WithFile("config.json", `{"auths": {`))
	tests := []struct {
		name    string
		opts    Options
		wantErr string
	}{
		{name: "corrupt source", opts: Options{SourceDir: corrupt.Path()},
			wantErr: "the source docker config " + corrupt.Join("config.json") + " is not a valid JSON object"},
		{name: "auth config empty", opts: Options{Mode: FromAuthConfig},
			wantErr: "DOCKER_AUTH_CONFIG is empty or not set (needed by --docker-auth-config)"},
		{name: "auth config not JSON", opts: Options{Mode: FromAuthConfig, AuthConfig: `{"auths": "` + secret},
			wantErr: "DOCKER_AUTH_CONFIG is not valid JSON (error at byte"},
		{name: "auth config not an object", opts: Options{Mode: FromAuthConfig, AuthConfig: `"` + secret + `"`},
			wantErr: "DOCKER_AUTH_CONFIG is not a JSON object"},
		{name: "auth config without auths", opts: Options{Mode: FromAuthConfig, AuthConfig: `{"x":"` + secret + `"}`},
			wantErr: `DOCKER_AUTH_CONFIG has neither "auths" nor "credHelpers"`},
		{name: "bad helper host", opts: Options{Mode: Empty, HelperHosts: []string{"bad host"}}, wantErr: "registry "},
		{name: "unwritable temp root", opts: Options{Mode: Empty, TempRoot: "/proc/docker-werf"},
			wantErr: "cannot create the job's docker config directory in /proc/docker-werf"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if tc.opts.TempRoot == "" {
				tc.opts.TempRoot = t.TempDir()
			}
			_, err := Create(tc.opts)
			assert.ErrorContains(t, err, tc.wantErr)
			assert.Check(t, !strings.Contains(err.Error(), secret), "error quotes DOCKER_AUTH_CONFIG: %v", err)
			if entries, err := os.ReadDir(tc.opts.TempRoot); err == nil {
				assert.Check(t, is.Len(entries, 0), "something was left behind")
			}
		})
	}
}

func TestRemove(t *testing.T) {
	root := t.TempDir()
	dir, err := Create(Options{Mode: Empty, TempRoot: root})
	assert.NilError(t, err)
	assert.NilError(t, Remove(dir))
	_, err = os.Stat(dir)
	assert.Check(t, os.IsNotExist(err))

	stranger := filepath.Join(root, DirPrefix+"stranger")
	assert.NilError(t, os.Mkdir(stranger, 0o700))
	assert.ErrorContains(t, Remove(stranger), "not a docker werf job config (no readable")
	assert.ErrorContains(t, Remove(t.TempDir()), "its name does not start with "+DirPrefix)

	real, err := Create(Options{Mode: Empty, TempRoot: root})
	assert.NilError(t, err)
	link := filepath.Join(root, DirPrefix+"link")
	assert.NilError(t, os.Symlink(real, link))
	assert.ErrorContains(t, Remove(link), "not a directory")
	_, err = os.Stat(real)
	assert.NilError(t, err, "removing a symlink took its target")
}

func TestGC(t *testing.T) {
	root := t.TempDir()
	now := time.Now()
	old, err := Create(Options{Mode: Empty, TempRoot: root})
	assert.NilError(t, err)
	fresh, err := Create(Options{Mode: Empty, TempRoot: root})
	assert.NilError(t, err)
	mine, err := Create(Options{Mode: Empty, TempRoot: root})
	assert.NilError(t, err)
	unrelated := filepath.Join(root, "something-else")
	assert.NilError(t, os.Mkdir(unrelated, 0o700))
	for _, d := range []string{old, mine, unrelated} {
		ageDir(t, d, now.Add(-48*time.Hour))
	}

	removed, err := GC(root, 24*time.Hour, mine, now)
	assert.NilError(t, err)
	assert.Check(t, is.DeepEqual(removed, []string{old}))
	for _, d := range []string{fresh, mine, unrelated} {
		_, err := os.Stat(d)
		assert.Check(t, err, "%s was removed", d)
	}
}

func ageDir(t *testing.T, dir string, when time.Time) {
	t.Helper()
	entries, err := os.ReadDir(dir)
	assert.NilError(t, err)
	for _, e := range entries {
		assert.NilError(t, os.Chtimes(filepath.Join(dir, e.Name()), when, when))
	}
}

func TestFindByJob(t *testing.T) {
	root := t.TempDir()
	a, err := Create(Options{Mode: Empty, TempRoot: root, Job: "ci:gitlab:1"})
	assert.NilError(t, err)
	_, err = Create(Options{Mode: Empty, TempRoot: root, Job: "ci:gitlab:2"})
	assert.NilError(t, err)
	assert.Check(t, is.DeepEqual(FindByJob(root, "ci:gitlab:1"), []string{a}))
	assert.Check(t, is.Len(FindByJob(root, "ci:gitlab:3"), 0))
	assert.Check(t, is.Len(FindByJob(filepath.Join(root, "missing"), "ci:gitlab:1"), 0))
}

func TestTakeInlineAuths(t *testing.T) {
	cfg := map[string]json.RawMessage{"auths": json.RawMessage(
		`{"a.example.com":{"identitytoken":"tok"},"b.example.com":{"auth":"dTpwOnE="},"c.example.com":{}}`)}
	auths, err := takeInlineAuths(cfg)
	assert.NilError(t, err)
	assert.Check(t, is.DeepEqual(auths, []Auth{
		{Server: "a.example.com", Username: "<token>", Secret: "tok"},
		{Server: "b.example.com", Username: "u", Secret: "p:q"},
	}))
	assert.Check(t, is.Equal(string(cfg["auths"]), `{"a.example.com":{},"b.example.com":{},"c.example.com":{}}`))

	const secret = "c2VjcmV0LXZhbHVl" // not user:password
	for _, bad := range []string{`{"x.example.com":{"auth":"` + secret + `"}}`, `{"x.example.com":{"auth":"%%%"}}`, `[1]`} {
		_, err := takeInlineAuths(map[string]json.RawMessage{"auths": json.RawMessage(bad)})
		assert.Check(t, err != nil, bad)
		if err != nil {
			assert.Check(t, !strings.Contains(err.Error(), secret), "the error quotes the value")
		}
	}
	_, err = Create(Options{Mode: FromAuthConfig, AuthConfig: `{"auths":{"r.example.com":{"auth":"eDp5"}}}`, TempRoot: t.TempDir()})
	assert.ErrorContains(t, err, "StoreAuth is nil")
}
