package harness

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"gotest.tools/v3/icmd"
)

// How each client is made to trust the TLS registry: by nothing but
// SSL_CERT_FILE=<test CA> in the Env (Go's crypto/x509 reads it on Linux).
// Verified: without it crane, regctl and skopeo fail with "certificate signed
// by unknown authority", so they really verify. docker CLI ≤ 28.3 and the
// engine treat 127.0.0.0/8 as insecure and skip verification; newer CLIs use
// SSL_CERT_FILE too. No --insecure, --tls-verify=false, --cert-dir or regctl
// "registry set" is needed.

// Docker runs `docker --config <env.DockerConfig> args...`.
func (h *H) Docker(env *Env, args ...string) *icmd.Result {
	h.T.Helper()
	return h.Run(env, Tool(h.T, ToolDocker), append([]string{"--config", env.DockerConfig}, args...)...)
}

// DockerLogin runs `docker --config D login HOST -u USER --password-stdin`
// with the password on stdin (never on the command line).
func (h *H) DockerLogin(env *Env, host, user, pass string) *icmd.Result {
	h.T.Helper()
	cmd := env.Cmd(Tool(h.T, ToolDocker), "--config", env.DockerConfig, "login", host, "-u", user, "--password-stdin")
	return h.RunCmd(cmd, icmd.WithStdin(strings.NewReader(pass+"\n")))
}

// Plugin runs the plugin through the docker CLI: `docker --config D werf args...`
// (found through cliPluginsExtraDirs in config.json).
func (h *H) Plugin(env *Env, args ...string) *icmd.Result {
	h.T.Helper()
	return h.Docker(env, append([]string{"werf"}, args...)...)
}

// Helper runs `docker-credential-werf args...` (the binary under test) with
// stdin as its input.
func (h *H) Helper(env *Env, stdin string, args ...string) *icmd.Result {
	h.T.Helper()
	return h.RunCmd(env.Cmd(env.Bins.Helper, args...), icmd.WithStdin(strings.NewReader(stdin)))
}

// Crane runs crane; credentials come from DOCKER_CONFIG.
func (h *H) Crane(env *Env, args ...string) *icmd.Result {
	h.T.Helper()
	return h.Run(env, Tool(h.T, ToolCrane), args...)
}

// CraneLogin runs `crane auth login HOST -u USER --password-stdin`, which
// writes a plain "auths" entry into DOCKER_CONFIG/config.json.
func (h *H) CraneLogin(env *Env, host, user, pass string) *icmd.Result {
	h.T.Helper()
	cmd := env.Cmd(Tool(h.T, ToolCrane), "auth", "login", host, "-u", user, "--password-stdin")
	return h.RunCmd(cmd, icmd.WithStdin(strings.NewReader(pass)))
}

// Regctl runs regctl; credentials come from DOCKER_CONFIG, its own config is
// REGCTL_CONFIG inside HOME.
func (h *H) Regctl(env *Env, args ...string) *icmd.Result {
	h.T.Helper()
	return h.Run(env, Tool(h.T, ToolRegctl), args...)
}

// Skopeo runs `skopeo SUBCOMMAND --authfile D/config.json args...`.
func (h *H) Skopeo(env *Env, subcommand string, args ...string) *icmd.Result {
	h.T.Helper()
	return h.Run(env, Tool(h.T, ToolSkopeo), append([]string{subcommand, "--authfile", env.ConfigFile()}, args...)...)
}

var digestRe = regexp.MustCompile(`sha256:[0-9a-f]{64}`)

// PushRandomImage pushes a one-layer image with random content to ref using
// `crane append -f layer.tar -t ref` (credentials from env's DOCKER_CONFIG)
// and returns its digest. It fails the test on error.
func (h *H) PushRandomImage(env *Env, ref string) string {
	h.T.Helper()
	layer := filepath.Join(h.T.TempDir(), "layer.tar")
	if err := os.WriteFile(layer, tarOf(h.T, "random.bin", randomBytes(1024)), 0o600); err != nil {
		h.T.Fatalf("harness: %v", err)
	}
	res := h.Crane(env, "append", "-f", layer, "-t", ref)
	res.Assert(h.T, icmd.Success)
	d := digestRe.FindString(res.Stdout())
	if d == "" {
		h.T.Fatalf("harness: no digest in crane append output: %q", res.Stdout())
	}
	return d
}

// DockerImportImage creates the image ref in the docker engine from a small
// tar of one file (`tar c file | docker import - ref`) and removes it at
// cleanup. It needs an engine (see RequireEngine).
func (h *H) DockerImportImage(env *Env, ref string) {
	h.T.Helper()
	RequireEngine(h.T)
	cmd := env.Cmd(Tool(h.T, ToolDocker), "--config", env.DockerConfig, "import", "-", ref)
	h.RunCmd(cmd, icmd.WithStdin(bytes.NewReader(tarOf(h.T, "hello.txt", []byte("hello from "+ref+"\n"))))).
		Assert(h.T, icmd.Success)
	h.RemoveImageAtCleanup(env, ref)
}

// RemoveImageAtCleanup runs `docker rmi -f ref` at test cleanup.
func (h *H) RemoveImageAtCleanup(env *Env, ref string) {
	h.T.Cleanup(func() { h.Docker(env, "rmi", "-f", ref) })
}

func tarOf(t testing.TB, name string, content []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	if err := tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: int64(len(content)), ModTime: time.Now()}); err != nil {
		t.Fatalf("harness: tar: %v", err)
	}
	if _, err := tw.Write(content); err != nil {
		t.Fatalf("harness: tar: %v", err)
	}
	if err := tw.Close(); err != nil {
		t.Fatalf("harness: tar: %v", err)
	}
	return buf.Bytes()
}

func randomBytes(n int) []byte {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	return b
}

var (
	engineOnce sync.Once
	engineErr  string
)

// RequireEngine checks (once per process) that a docker engine answers
// `docker version`. Without one the test fails in CI (CI=true) and is skipped
// elsewhere, with the reason.
func RequireEngine(t testing.TB) {
	t.Helper()
	docker := Tool(t, ToolDocker)
	engineOnce.Do(func() {
		home, err := os.MkdirTemp("", "docker-werf-engine-probe-")
		if err != nil {
			engineErr = err.Error()
			return
		}
		defer func() { _ = os.RemoveAll(home) }()
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		cmd := exec.CommandContext(ctx, docker, "--config", home, "version", "--format", "{{.Server.Version}}")
		cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + home}
		if v, ok := os.LookupEnv("DOCKER_HOST"); ok {
			cmd.Env = append(cmd.Env, "DOCKER_HOST="+v)
		}
		out, err := cmd.CombinedOutput()
		if err != nil {
			engineErr = strings.TrimSpace(string(out)) + " (" + err.Error() + ")"
		}
	})
	if engineErr != "" {
		unavailable(t, "harness: test needs a docker engine, none reachable: %s", engineErr)
	}
}

// HelperCredentials is the answer of a credential helper's get.
type HelperCredentials struct {
	ServerURL string
	Username  string
	Secret    string
}

// HelperGet runs `docker-credential-werf get` with server on stdin. On exit
// 0 it decodes the answer (failing the test if stdout is not the protocol's
// JSON). The protocol puts the secret on stdout, so the recorder scans a copy
// of stdout with the value of the Secret field blanked out: the secret is
// allowed there and nowhere else (not in other fields, not on stderr).
func (h *H) HelperGet(env *Env, server string) (HelperCredentials, *icmd.Result) {
	h.T.Helper()
	cmd := env.Cmd(env.Bins.Helper, "get")
	res := h.runCmd(cmd, blankProtocolSecret, icmd.WithStdin(strings.NewReader(server)))
	var c HelperCredentials
	if res.ExitCode == 0 {
		dec := json.NewDecoder(strings.NewReader(res.Stdout()))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&c); err != nil {
			h.T.Errorf("harness: get %s: stdout is not {\"ServerURL\",\"Username\",\"Secret\"}: %v", server, err)
			c = HelperCredentials{}
		}
	}
	return c, res
}

// blankProtocolSecret returns stdout with the Secret field blanked if stdout
// is exactly one JSON object (plus white space); otherwise stdout unchanged.
func blankProtocolSecret(stdout string) string {
	var m map[string]any
	dec := json.NewDecoder(strings.NewReader(stdout))
	if err := dec.Decode(&m); err != nil || dec.More() {
		return stdout
	}
	if _, err := dec.Token(); err != io.EOF {
		return stdout
	}
	if _, ok := m["Secret"].(string); !ok {
		return stdout
	}
	m["Secret"] = "<blanked protocol secret>"
	b, err := json.Marshal(m)
	if err != nil {
		return stdout
	}
	return string(b)
}
