package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/docker/cli/cli/command"
	"github.com/docker/cli/cli/config"
	"github.com/docker/cli/cli/config/configfile"
	"github.com/docker/cli/cli/streams"
)

// This file is the in-process harness of the plugin's commands, as docker/cli
// tests its own with a fake CLI (docker/cli's internal/test.FakeCli, which
// other modules cannot import): a pluginTest gives each test an environment
// of its own, runs `docker werf ARGS...` through newRootCommand with a fakeCLI
// and returns what the command wrote and the error docker would print.

// fakeCLI is the docker CLI the commands get: the streams and the config
// file, which is all they use of it. Any other method of command.Cli panics
// on the nil embedded interface, so a command that starts to need more
// fails here first instead of reaching a real docker engine.
type fakeCLI struct {
	command.Cli
	in        *streams.In
	out, err  *streams.Out
	configDir string
	cfg       *configfile.ConfigFile
}

var _ command.Cli = (*fakeCLI)(nil)

func (c *fakeCLI) In() *streams.In        { return c.in }
func (c *fakeCLI) Out() *streams.Out      { return c.out }
func (c *fakeCLI) Err() *streams.Out      { return c.err }
func (c *fakeCLI) SetIn(in *streams.In)   { c.in = in }
func (c *fakeCLI) CurrentVersion() string { return "1.47" }

// ConfigFile loads configDir/config.json on first use, as docker does for
// a plugin started with --config configDir.
func (c *fakeCLI) ConfigFile() *configfile.ConfigFile {
	if c.cfg == nil {
		cfg, err := config.Load(c.configDir)
		if err != nil {
			panic("fakeCLI: " + err.Error())
		}
		c.cfg = cfg
	}
	return c.cfg
}

// pluginTest is one test's environment: nothing inherited from the process
// except PATH; HOME, TMPDIR, the XDG directories, the docker config
// directory and the working directory all inside t.TempDir(), so a run
// finds no developer's or CI job's logins and leaves nothing behind.
type pluginTest struct {
	t *testing.T
	// Dir is the test's working directory (no git repository).
	Dir string
	// ConfigDir is the docker config directory the plugin is given.
	ConfigDir string
	secrets   []string
	outputs   []string // every stdout, stderr and error so far
}

// runResult is one command's outcome.
type runResult struct {
	Stdout, Stderr string
	Err            error
}

// newPluginTest isolates the test's environment; the test must not be
// parallel (the commands read the process environment).
func newPluginTest(t *testing.T) *pluginTest {
	t.Helper()
	root := t.TempDir()
	p := &pluginTest{t: t, Dir: filepath.Join(root, "work"), ConfigDir: filepath.Join(root, "home", ".docker")}
	for _, d := range []string{p.Dir, p.ConfigDir, filepath.Join(root, "tmp")} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			t.Fatal(err)
		}
	}
	for _, kv := range os.Environ() {
		name, _, _ := strings.Cut(kv, "=")
		if name == "PATH" || name == "" {
			continue
		}
		t.Setenv(name, "") // restored when the test ends
		os.Unsetenv(name)
	}
	for name, value := range map[string]string{
		"HOME":            filepath.Join(root, "home"),
		"TMPDIR":          filepath.Join(root, "tmp"),
		"XDG_CACHE_HOME":  filepath.Join(root, "home", ".cache"),
		"XDG_CONFIG_HOME": filepath.Join(root, "home", ".config"),
		"XDG_RUNTIME_DIR": filepath.Join(root, "run"),
		"DOCKER_CONFIG":   p.ConfigDir,
	} {
		t.Setenv(name, value)
	}
	t.Chdir(p.Dir)
	t.Cleanup(p.checkSecrets)
	return p
}

// Setenv sets a variable for the rest of the test.
func (p *pluginTest) Setenv(name, value string) { p.t.Setenv(name, value) }

// Secret returns a random value that no output of the test may contain.
func (p *pluginTest) Secret(prefix string) string {
	b := make([]byte, 12)
	_, _ = rand.Read(b)
	s := prefix + hex.EncodeToString(b)
	p.secrets = append(p.secrets, s)
	return s
}

// WriteConfig writes the docker config.json the plugin is given.
func (p *pluginTest) WriteConfig(json string) {
	p.t.Helper()
	if err := os.WriteFile(filepath.Join(p.ConfigDir, "config.json"), []byte(json), 0o600); err != nil {
		p.t.Fatal(err)
	}
}

// WriteFile writes name (relative to Dir) and returns its path.
func (p *pluginTest) WriteFile(name, content string) string {
	p.t.Helper()
	path := filepath.Join(p.Dir, name)
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		p.t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		p.t.Fatal(err)
	}
	return path
}

// Run runs `docker werf args...` in-process with an empty stdin.
func (p *pluginTest) Run(args ...string) runResult {
	p.t.Helper()
	return p.RunWithInput(strings.NewReader(""), args...)
}

// RunWithInput runs `docker werf args...` reading stdin from in.
func (p *pluginTest) RunWithInput(in io.Reader, args ...string) runResult {
	p.t.Helper()
	var stdout, stderr bytes.Buffer
	cli := &fakeCLI{in: streams.NewIn(io.NopCloser(in)), out: streams.NewOut(&stdout), err: streams.NewOut(&stderr),
		configDir: p.ConfigDir}
	cmd := newRootCommand(cli)
	cmd.SetArgs(args)
	cmd.SetIn(cli.In())
	cmd.SetOut(cli.Out())
	cmd.SetErr(cli.Err())
	// As docker prints a plugin's error: once, by the caller.
	cmd.SilenceErrors, cmd.SilenceUsage = true, true
	err := cmd.ExecuteContext(context.Background())
	r := runResult{Stdout: stdout.String(), Stderr: stderr.String(), Err: err}
	p.outputs = append(p.outputs, r.Stdout, r.Stderr)
	if err != nil {
		p.outputs = append(p.outputs, err.Error())
	}
	return r
}

func (p *pluginTest) checkSecrets() {
	for _, s := range p.secrets {
		for _, o := range p.outputs {
			if strings.Contains(o, s) {
				p.t.Errorf("a secret (%.8s…) shows in the output:\n%s", s, o)
			}
		}
	}
}
