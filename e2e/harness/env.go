package harness

import (
	"encoding/json"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"gotest.tools/v3/icmd"
)

// Env is an isolated job environment: its own HOME, TMPDIR, docker config
// dir and credential store dir, the binaries under test first on PATH, the
// test CA as SSL_CERT_FILE, and nothing inherited from the developer's
// environment except PATH (and DOCKER_HOST, to reach the engine).
//
// Environ's result is meant for icmd.Cmd.Env, which *replaces* the process
// environment when non-empty.
type Env struct {
	Root           string // temp dir holding all of the below
	Home           string // HOME
	DockerConfig   string // DOCKER_CONFIG, 0700, with config.json
	CredentialsDir string // WERF_CREDENTIALS_DIR, 0700
	TmpDir         string // TMPDIR, 0700: what a job makes there goes with the test
	RegctlConfig   string // REGCTL_CONFIG (inside HOME)
	CAFile         string // SSL_CERT_FILE
	Bins           Bins

	vars map[string]string
}

// inheritedVars are the only variables taken from the test process.
var inheritedVars = []string{"DOCKER_HOST"}

// NewEnv creates an isolated environment in a new temp dir. Its
// config.json is {"auths":{}, "cliPluginsExtraDirs":[<plugin dir>]}; change it
// with WriteConfig. It builds (or finds) the binaries under test.
func NewEnv(t testing.TB) *Env {
	t.Helper()
	bins := Binaries(t)
	root := t.TempDir()
	e := &Env{
		Root:           root,
		Home:           filepath.Join(root, "home"),
		DockerConfig:   filepath.Join(root, "docker-config"),
		CredentialsDir: filepath.Join(root, "werf-credentials"),
		TmpDir:         filepath.Join(root, "tmp"),
		CAFile:         CAFile(t),
		Bins:           bins,
	}
	e.RegctlConfig = filepath.Join(e.Home, ".regctl", "config.json")
	for _, d := range []string{e.Home, e.DockerConfig, e.CredentialsDir, e.TmpDir} {
		if err := os.Mkdir(d, 0o700); err != nil {
			t.Fatalf("harness: %v", err)
		}
	}
	sysPath := os.Getenv("PATH")
	if sysPath == "" {
		sysPath = "/usr/local/bin:/usr/bin:/bin"
	}
	path := append([]string{bins.Dir}, toolDirs()...)
	for _, d := range filepath.SplitList(sysPath) {
		path = appendUnique(path, d)
	}
	e.vars = map[string]string{
		"PATH":                 strings.Join(path, string(os.PathListSeparator)),
		"HOME":                 e.Home,
		"DOCKER_CONFIG":        e.DockerConfig,
		"WERF_CREDENTIALS_DIR": e.CredentialsDir,
		"TMPDIR":               e.TmpDir,
		"SSL_CERT_FILE":        e.CAFile,
		"REGCTL_CONFIG":        e.RegctlConfig,
		"LANG":                 "C.UTF-8",
	}
	for _, k := range inheritedVars {
		if v, ok := os.LookupEnv(k); ok {
			e.vars[k] = v
		}
	}
	e.WriteConfig(t, map[string]any{"auths": map[string]any{}, "cliPluginsExtraDirs": []string{bins.PluginDir}})
	return e
}

// Set sets (or, with an empty value, keeps as empty) a variable and returns e.
func (e *Env) Set(key, value string) *Env {
	e.vars[key] = value
	return e
}

// Unset removes a variable and returns e.
func (e *Env) Unset(key string) *Env {
	delete(e.vars, key)
	return e
}

// With returns a copy of e with the given KEY, VALUE pairs set; the
// directories are shared (use it for several jobs on one machine).
func (e *Env) With(kv ...string) *Env {
	if len(kv)%2 != 0 {
		panic("harness: Env.With needs key/value pairs")
	}
	c := *e
	c.vars = maps.Clone(e.vars)
	for i := 0; i < len(kv); i += 2 {
		c.vars[kv[i]] = kv[i+1]
	}
	return &c
}

// Get returns a variable's value.
func (e *Env) Get(key string) string { return e.vars[key] }

// Environ returns the environment as sorted KEY=VALUE strings.
func (e *Env) Environ() []string {
	keys := slices.Sorted(maps.Keys(e.vars))
	out := make([]string, 0, len(keys))
	for _, k := range keys {
		out = append(out, k+"="+e.vars[k])
	}
	return out
}

// Cmd returns an icmd.Cmd running name in this environment.
func (e *Env) Cmd(name string, args ...string) icmd.Cmd {
	c := icmd.Command(name, args...)
	c.Env = e.Environ()
	c.Dir = e.Home
	return c
}

// ConfigFile is DockerConfig/config.json.
func (e *Env) ConfigFile() string { return filepath.Join(e.DockerConfig, "config.json") }

// WriteConfig replaces config.json (mode 0600) with v encoded as JSON.
func (e *Env) WriteConfig(t testing.TB, v any) {
	t.Helper()
	b, err := json.MarshalIndent(v, "", "\t")
	if err != nil {
		t.Fatalf("harness: %v", err)
	}
	if err := os.WriteFile(e.ConfigFile(), append(b, '\n'), 0o600); err != nil {
		t.Fatalf("harness: %v", err)
	}
}

// UseHelperFor writes a config.json naming the werf helper in credHelpers for
// the given hosts (and the plugin dir in cliPluginsExtraDirs).
func (e *Env) UseHelperFor(t testing.TB, hosts ...string) {
	t.Helper()
	helpers := map[string]string{}
	for _, h := range hosts {
		helpers[h] = "werf"
	}
	e.WriteConfig(t, map[string]any{"credHelpers": helpers, "cliPluginsExtraDirs": []string{e.Bins.PluginDir}})
}

// ReadConfig decodes config.json.
func (e *Env) ReadConfig(t testing.TB) map[string]any {
	t.Helper()
	b, err := os.ReadFile(e.ConfigFile())
	if err != nil {
		t.Fatalf("harness: %v", err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("harness: config.json: %v\n%s", err, b)
	}
	return m
}
