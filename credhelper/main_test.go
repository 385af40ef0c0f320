package main

import (
	"bytes"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"

	"github.com/docker-werf/docker-werf/internal/version"
)

const (
	jobToken    = "glcbt-JOBTOKEN-5f0e9a7c"
	storeSecret = "stored-SECRET-8d1c2b3a"
)

var secrets = []string{jobToken, storeSecret}

type env map[string]string

func (e env) get(k string) string { return e[k] }

// testEnv is a GitLab job with its own HOME and credential store.
func testEnv(t testing.TB) env {
	t.Helper()
	return env{
		"HOME":                 t.TempDir(),
		"WERF_CREDENTIALS_DIR": filepath.Join(t.TempDir(), "store"),
		"GITLAB_CI":            "true", "CI_JOB_ID": "4242",
		"CI_REGISTRY": "registry.example.com", "CI_JOB_TOKEN": jobToken,
	}
}

type result struct {
	code           int
	stdout, stderr string
}

func runWith(t testing.TB, e env, stdin string, args ...string) result {
	t.Helper()
	var out, errb bytes.Buffer
	var in io.Reader = strings.NewReader(stdin)
	code := run(args, in, &out, &errb, e.get)
	r := result{code, out.String(), errb.String()}
	return r
}

func noSecrets(t *testing.T, r result) {
	t.Helper()
	for _, s := range secrets {
		assert.Assert(t, !strings.Contains(r.stdout, s), "secret in stdout: %q", r.stdout)
		assert.Assert(t, !strings.Contains(r.stderr, s), "secret in stderr: %q", r.stderr)
	}
}

func TestProtocolErrors(t *testing.T) {
	huge := "https://" + strings.Repeat("a", 1<<20)
	tests := []struct {
		name   string
		args   []string
		stdin  string
		code   int
		stdout string // exact, or a prefix ending in "..."
	}{
		{name: "get empty stdin", args: []string{"get"}, code: 1, stdout: "no credentials server URL\n"},
		{name: "get blank stdin", args: []string{"get"}, stdin: " \n\t", code: 1, stdout: "no credentials server URL\n"},
		{name: "get foreign host", args: []string{"get"}, stdin: "quay.io", code: 1, stdout: "credentials not found in native keychain\n"},
		{name: "get garbage", args: []string{"get"}, stdin: "::not a host::", code: 1, stdout: "credentials not found in native keychain\n"},
		{name: "get 60 KiB address", args: []string{"get"}, stdin: strings.Repeat("a", 60<<10), code: 1, stdout: "credentials not found in native keychain\n"},
		{name: "get 1 MiB address", args: []string{"get"}, stdin: huge, code: 1,
			stdout: "docker-credential-werf: input too large: more than 65535 bytes on stdin\n"},
		{name: "get with argument", args: []string{"get", "registry.example.com"}, code: 1,
			stdout: "docker-credential-werf: get takes no arguments: docker passes its input on stdin\n"},
		{name: "store empty stdin", args: []string{"store"}, code: 1,
			stdout: "docker-credential-werf: store: stdin is not a JSON object {\"ServerURL\",\"Username\",\"Secret\"} of strings\n"},
		{name: "store malformed JSON", args: []string{"store"}, stdin: `{"ServerURL":"registry.example.com","Username":"u","Secret":"` + storeSecret,
			code: 1, stdout: "docker-credential-werf: store: stdin is not a JSON object {\"ServerURL\",\"Username\",\"Secret\"} of strings\n"},
		{name: "store wrong types", args: []string{"store"}, stdin: `{"ServerURL":"h","Username":"u","Secret":12345}`,
			code: 1, stdout: "docker-credential-werf: store: stdin is not a JSON object {\"ServerURL\",\"Username\",\"Secret\"} of strings\n"},
		{name: "store 1 MiB", args: []string{"store"}, stdin: `{"ServerURL":"h","Username":"u","Secret":"` + storeSecret + strings.Repeat("x", 1<<20) + `"}`,
			code: 1, stdout: "docker-credential-werf: input too large: more than 65535 bytes on stdin\n"},
		{name: "store no server", args: []string{"store"}, stdin: `{"Username":"u","Secret":"` + storeSecret + `"}`, code: 1, stdout: "no credentials server URL\n"},
		{name: "store no username", args: []string{"store"}, stdin: `{"ServerURL":"h","Secret":"` + storeSecret + `"}`, code: 1, stdout: "no credentials username\n"},
		{name: "store bad address", args: []string{"store"}, stdin: `{"ServerURL":"ftp://h","Username":"u","Secret":"` + storeSecret + `"}`, code: 1,
			stdout: "docker-credential-werf: invalid registry address \"ftp://h\": unsupported scheme..."},
		{name: "erase empty", args: []string{"erase"}, code: 1, stdout: "no credentials server URL\n"},
		{name: "unknown action", args: []string{"frobnicate"}, code: 1,
			stdout: "docker-credential-werf: unknown action: frobnicate (valid actions: get, store, erase, list, version, gc, configure; see docker-credential-werf --help)\n"},
		{name: "unknown action with control chars", args: []string{"x\x1b[31m"}, code: 1,
			stdout: "docker-credential-werf: unknown action: \"x\\x1b[31m\" (valid actions: get, store, erase, list, version, gc, configure; see docker-credential-werf --help)\n"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := runWith(t, testEnv(t), tc.stdin, tc.args...)
			assert.Equal(t, r.code, tc.code)
			if prefix, ok := strings.CutSuffix(tc.stdout, "..."); ok {
				assert.Assert(t, strings.HasPrefix(r.stdout, prefix), "stdout %q", r.stdout)
				assert.Assert(t, strings.Count(r.stdout, "\n") == 1 && strings.HasSuffix(r.stdout, "\n"), "one line: %q", r.stdout)
			} else {
				assert.Equal(t, r.stdout, tc.stdout)
			}
			assert.Equal(t, r.stderr, "")
			noSecrets(t, r)
		})
	}
}

func TestNoArgs(t *testing.T) {
	r := runWith(t, testEnv(t), "")
	assert.Equal(t, r.code, 1)
	assert.Equal(t, r.stdout, "")
	assert.Assert(t, is.Contains(r.stderr, "Usage:"))
}

func TestHelpAndVersion(t *testing.T) {
	for _, a := range []string{"--help", "-h", "help"} {
		r := runWith(t, testEnv(t), "", a)
		assert.Equal(t, r.code, 0)
		assert.Assert(t, is.Contains(r.stdout, "docker-credential-werf get|store|erase|list|version"))
		assert.Assert(t, is.Contains(r.stdout, "WERF_REGISTRY_AUTH_<KEY>_USERNAME"))
	}
	want := "docker-credential-werf (github.com/docker-werf/docker-werf) " + version.Version + "\n"
	for _, a := range []string{"version", "--version", "-v"} {
		r := runWith(t, testEnv(t), "", a)
		assert.Equal(t, r.code, 0)
		assert.Equal(t, r.stdout, want)
	}
}

func TestStoreGetListErase(t *testing.T) {
	e := testEnv(t)
	// CI-provided credentials, with every address form.
	for _, in := range []string{"registry.example.com", "https://registry.example.com", "https://registry.example.com/v2/", "registry.example.com/group/project\n"} {
		r := runWith(t, e, in, "get")
		assert.Equal(t, r.code, 0, r.stdout)
		var c map[string]string
		assert.NilError(t, json.Unmarshal([]byte(r.stdout), &c))
		assert.DeepEqual(t, c, map[string]string{"ServerURL": strings.TrimSpace(in), "Username": "gitlab-ci-token", "Secret": jobToken})
		assert.Assert(t, strings.HasSuffix(r.stdout, "}\n"))
	}

	r := runWith(t, e, `{"ServerURL":"https://index.docker.io/v1/","Username":"hubuser","Secret":"`+storeSecret+`"}`, "store")
	assert.Equal(t, r.code, 0, r.stdout)
	assert.Equal(t, r.stdout, "")

	r = runWith(t, e, "registry-1.docker.io", "get")
	assert.Equal(t, r.code, 0, r.stdout)
	assert.Equal(t, r.stdout, `{"ServerURL":"registry-1.docker.io","Username":"hubuser","Secret":"`+storeSecret+`"}`+"\n")

	r = runWith(t, e, "unused", "list")
	assert.Equal(t, r.code, 0)
	var list map[string]string
	assert.NilError(t, json.Unmarshal([]byte(r.stdout), &list))
	assert.DeepEqual(t, list, map[string]string{"https://index.docker.io/v1/": "hubuser", "registry.example.com": "gitlab-ci-token"})

	// Another job sharing HOME does not see it.
	other := env{}
	for k, v := range e {
		other[k] = v
	}
	other["CI_JOB_ID"] = "4243"
	r = runWith(t, other, "docker.io", "get")
	assert.Equal(t, r.stdout, "credentials not found in native keychain\n")

	r = runWith(t, e, "https://index.docker.io/v1/", "erase")
	assert.Equal(t, r.code, 0, r.stdout)
	r = runWith(t, e, "https://index.docker.io/v1/", "get")
	assert.Equal(t, r.code, 1)
	assert.Equal(t, r.stdout, "credentials not found in native keychain\n")
}

func TestListNeverFails(t *testing.T) {
	e := testEnv(t)
	assert.NilError(t, os.Mkdir(e["WERF_CREDENTIALS_DIR"], 0o777))
	assert.NilError(t, os.Chmod(e["WERF_CREDENTIALS_DIR"], 0o777))
	delete(e, "CI_REGISTRY")
	r := runWith(t, e, "unused", "list")
	assert.Equal(t, r.code, 0)
	assert.Equal(t, r.stdout, "{}\n")

	r = runWith(t, env{}, "", "list")
	assert.Equal(t, r.code, 0)
	assert.Equal(t, r.stdout, "{}\n")
	r = runWith(t, testEnv(t), strings.Repeat("x", 1<<20), "list", "extra")
	assert.Equal(t, r.code, 0)
}

func TestHostileStoreDir(t *testing.T) {
	for _, mode := range []os.FileMode{0o777, 0o755} {
		e := testEnv(t)
		store := e["WERF_CREDENTIALS_DIR"]
		assert.NilError(t, os.Mkdir(store, 0o700))
		assert.NilError(t, os.Chmod(store, mode))
		for _, tc := range []struct{ action, stdin string }{
			{"get", "registry.example.com"},
			{"store", `{"ServerURL":"registry.example.com","Username":"u","Secret":"` + storeSecret + `"}`},
		} {
			r := runWith(t, e, tc.stdin, tc.action)
			assert.Equal(t, r.code, 1, "%s %o", tc.action, mode)
			assert.Assert(t, is.Contains(r.stdout, "docker-credential-werf: refusing to use "+store))
			assert.Assert(t, is.Contains(r.stdout, `chmod 700 `+store))
			assert.Equal(t, r.stderr, "")
			noSecrets(t, r)
		}
	}
	e := testEnv(t)
	real := filepath.Join(t.TempDir(), "real")
	assert.NilError(t, os.Mkdir(real, 0o700))
	assert.NilError(t, os.Symlink(real, e["WERF_CREDENTIALS_DIR"]))
	r := runWith(t, e, "registry.example.com", "get")
	assert.Equal(t, r.code, 1)
	assert.Assert(t, is.Contains(r.stdout, "is a symbolic link"))
	noSecrets(t, r)
}

// storeAgedScope stores one login through the helper and makes its scope
// look unused for ten days; it returns the scope's directory and the time
// it was last used.
func storeAgedScope(t *testing.T, e env) (string, time.Time) {
	t.Helper()
	r := runWith(t, e, `{"ServerURL":"registry.example.com","Username":"u","Secret":"`+storeSecret+`"}`, "store")
	assert.Equal(t, r.code, 0, r.stdout)
	dirs, err := filepath.Glob(filepath.Join(e["WERF_CREDENTIALS_DIR"], "*"))
	assert.NilError(t, err)
	assert.Equal(t, len(dirs), 1)
	old := time.Now().Add(-10 * 24 * time.Hour)
	for _, f := range []string{"credentials.json", "scope.json"} {
		assert.NilError(t, os.Chtimes(filepath.Join(dirs[0], f), old, old))
	}
	return dirs[0], old
}

func TestGCCommand(t *testing.T) {
	e := testEnv(t)
	dir, _ := storeAgedScope(t, e)

	tests := []struct {
		name   string
		args   []string
		env    map[string]string
		code   int
		stdout string
		stderr string
	}{
		{name: "missing age", args: []string{"gc"}, code: 2, stderr: "docker-credential-werf gc: --older-than is required (or set WERF_CREDENTIALS_GC_OLDER_THAN), e.g. --older-than 7d\nRun 'docker-credential-werf gc --help' for usage; nothing was changed.\n"},
		{name: "bad flag", args: []string{"gc", "--older"}, code: 2, stderr: "docker-credential-werf gc: flag provided but not defined: -older\n"},
		{name: "bad duration", args: []string{"gc", "--older-than", "soon"}, code: 2, stderr: "docker-credential-werf gc: invalid value \"soon\" for flag -older-than: invalid duration \"soon\": want a number with a unit s, m, h, d or w, e.g. 30s, 12h, 7d, 2w, 1w2d\n"},
		{name: "negative", args: []string{"gc", "--older-than=-5h"}, code: 2, stderr: `invalid duration "-5h": must not be negative`},
		{name: "bad env", args: []string{"gc"}, env: map[string]string{"WERF_CREDENTIALS_GC_OLDER_THAN": "x"}, code: 2, stderr: `WERF_CREDENTIALS_GC_OLDER_THAN: invalid duration "x": want a number with a unit s, m, h, d or w, e.g. 30s, 12h, 7d, 2w, 1w2d`},
		{name: "positional", args: []string{"gc", "--older-than", "7d", "now"}, code: 2, stderr: "unexpected argument now"},
		{name: "help", args: []string{"gc", "--help"}, code: 0, stdout: "Usage: docker-credential-werf gc --older-than DURATION [--dry-run]"},
		{name: "too young", args: []string{"gc", "--older-than", "11d"}, code: 0, stdout: "removed 0 credential scope(s)"},
		{name: "too young in weeks", args: []string{"gc", "--older-than", "1w4d"}, code: 0, stdout: "removed 0 credential scope(s)"},
		{name: "too young", args: []string{"gc", "--older-than", "2w"}, code: 0, stdout: "removed 0 credential scope(s)"},
		{name: "dry run", args: []string{"gc", "--older-than", "7d", "--dry-run"}, code: 0, stdout: "would remove ci:gitlab:4242: CI job scope unused for 10d"},
		{name: "env age", args: []string{"gc"}, env: map[string]string{"WERF_CREDENTIALS_GC_OLDER_THAN": "1d12h"}, code: 0, stdout: "removed ci:gitlab:4242: CI job scope unused for 10d"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			te := env{}
			for k, v := range e {
				te[k] = v
			}
			for k, v := range tc.env {
				te[k] = v
			}
			r := runWith(t, te, "", tc.args...)
			assert.Equal(t, r.code, tc.code, "stdout %q stderr %q", r.stdout, r.stderr)
			if tc.stdout != "" {
				assert.Assert(t, is.Contains(r.stdout, tc.stdout))
			}
			if tc.stderr != "" {
				assert.Assert(t, is.Contains(r.stderr, tc.stderr))
			} else {
				assert.Equal(t, r.stderr, "")
			}
			if tc.code != 0 {
				assert.Equal(t, r.stdout, "")
			}
		})
	}
	_, err := os.Stat(dir)
	assert.Assert(t, os.IsNotExist(err))
}

func TestConfigureCommand(t *testing.T) {
	e := testEnv(t)
	dockerDir := filepath.Join(e["HOME"], ".docker")
	tests := []struct {
		name   string
		args   []string
		code   int
		stderr string
	}{
		{name: "no registry", args: []string{"configure"}, code: 2, stderr: "docker-credential-werf configure: at least one --registry HOST is required\n"},
		{name: "bad registry", args: []string{"configure", "--registry", "ftp://x"}, code: 2, stderr: "docker-credential-werf configure: --registry: invalid registry address \"ftp://x\": unsupported scheme"},
		{name: "positional", args: []string{"configure", "--registry", "a.example.com", "b.example.com"}, code: 2, stderr: "unexpected argument b.example.com (use --registry HOST)"},
		{name: "unknown flag", args: []string{"configure", "--registries", "x"}, code: 2, stderr: "flag provided but not defined: -registries"},
		{name: "missing value", args: []string{"configure", "--registry"}, code: 2, stderr: "flag needs an argument: -registry"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := runWith(t, e, "", tc.args...)
			assert.Equal(t, r.code, tc.code)
			assert.Assert(t, is.Contains(r.stderr, tc.stderr))
			assert.Assert(t, is.Contains(r.stderr, "nothing was changed"))
			assert.Equal(t, r.stdout, "")
			_, err := os.Stat(dockerDir)
			assert.Assert(t, os.IsNotExist(err), "nothing written")
		})
	}

	r := runWith(t, e, "", "configure", "--registry", "docker.io", "--registry=https://Registry.Example.com:5000/v2/,ghcr.io")
	assert.Equal(t, r.code, 0, r.stderr)
	assert.Assert(t, is.Contains(r.stdout, filepath.Join(dockerDir, "config.json")+" now uses docker-credential-werf for https://index.docker.io/v1/, registry.example.com:5000, ghcr.io"))
	data, err := os.ReadFile(filepath.Join(dockerDir, "config.json"))
	assert.NilError(t, err)
	var cfg map[string]map[string]string
	assert.NilError(t, json.Unmarshal(data, &cfg))
	assert.DeepEqual(t, cfg["credHelpers"], map[string]string{
		"https://index.docker.io/v1/": "werf", "registry.example.com:5000": "werf", "ghcr.io": "werf",
	})

	other := filepath.Join(t.TempDir(), "cfg")
	e["DOCKER_CONFIG"] = filepath.Join(t.TempDir(), "ignored")
	r = runWith(t, e, "", "configure", "--config", other, "--registry", "quay.io")
	assert.Equal(t, r.code, 0, r.stderr)
	_, err = os.Stat(filepath.Join(other, "config.json"))
	assert.NilError(t, err)

	corrupt := t.TempDir()
	assert.NilError(t, os.WriteFile(filepath.Join(corrupt, "config.json"), []byte("{oops"), 0o600))
	r = runWith(t, e, "", "configure", "--config", corrupt, "--registry", "quay.io")
	assert.Equal(t, r.code, 1)
	assert.Assert(t, is.Contains(r.stderr, filepath.Join(corrupt, "config.json")+" is not valid JSON"))

	r = runWith(t, e, "", "configure", "-h")
	assert.Equal(t, r.code, 0)
	assert.Assert(t, is.Contains(r.stdout, "Usage: docker-credential-werf configure --registry HOST"))
}

// BenchmarkGet measures the in-process get path: dispatch, stdin, scope,
// store lookup, CI variables and JSON output.
func BenchmarkGet(b *testing.B) {
	e := testEnv(b)
	stdin := strings.NewReader("")
	var out, errb bytes.Buffer
	for b.Loop() {
		stdin.Reset("registry.example.com")
		out.Reset()
		if code := run([]string{"get"}, stdin, &out, &errb, e.get); code != 0 {
			b.Fatalf("exit %d: %s", code, out.String())
		}
	}
}

// BenchmarkGetStored is the same for credentials saved by store.
func BenchmarkGetStored(b *testing.B) {
	e := testEnv(b)
	var out, errb bytes.Buffer
	if code := run([]string{"store"}, strings.NewReader(`{"ServerURL":"quay.io","Username":"u","Secret":"s"}`), &out, &errb, e.get); code != 0 {
		b.Fatalf("store: %s", out.String())
	}
	stdin := strings.NewReader("")
	for b.Loop() {
		stdin.Reset("quay.io")
		out.Reset()
		if code := run([]string{"get"}, stdin, &out, &errb, e.get); code != 0 {
			b.Fatalf("exit %d: %s", code, out.String())
		}
	}
}
