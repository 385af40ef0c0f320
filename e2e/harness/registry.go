package harness

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"
	"gotest.tools/v3/poll"
)

// Registry versions accepted by [StartRegistry].
const (
	Registry28 = "2.8" // Debian docker-registry (distribution 2.8.2)
	Registry3  = "3"   // distribution v3 (registry, go-installed)
)

// RegistryVersions lists both supported registry versions, for table tests.
var RegistryVersions = []string{Registry28, Registry3}

// Registry is a running CNCF distribution registry on 127.0.0.1 with TLS
// (signed by the test CA) and htpasswd auth.
type Registry struct {
	Addr    string // 127.0.0.1:PORT
	Version string // Registry28 or Registry3
	CAFile  string // PEM of the CA that signed the registry's certificate
	Dir     string // config, certificate, htpasswd, data and log
	logFile string
}

// Repo returns the reference of a repository in this registry: ADDR/name.
func (r *Registry) Repo(name string) string { return r.Addr + "/" + name }

// LogText returns what the registry has logged so far.
func (r *Registry) LogText() string {
	b, _ := os.ReadFile(r.logFile)
	return string(b)
}

const registryConfig = `version: 0.1
log:
  level: error
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: %[1]s/data
  delete:
    enabled: true
http:
  addr: %[2]s
  secret: docker-werf-e2e-http-secret
  tls:
    certificate: %[3]s
    key: %[4]s
auth:
  htpasswd:
    realm: docker-werf-e2e
    path: %[1]s/htpasswd
`

// StartRegistry starts a registry of the given version ("2.8" or "3") with
// the given users (name → password), as a child process stopped at test
// cleanup. A missing registry binary fails the test in CI and skips it
// elsewhere.
func StartRegistry(t testing.TB, version string, users map[string]string) *Registry {
	t.Helper()
	var bin string
	switch version {
	case Registry28:
		bin = Tool(t, ToolDockerRegistry)
	case Registry3:
		bin = Tool(t, ToolRegistry)
	default:
		t.Fatalf("harness: unknown registry version %q (want %q or %q)", version, Registry28, Registry3)
	}
	c := getCA(t)
	dir := t.TempDir()
	certFile, keyFile, err := c.issue(dir)
	if err != nil {
		t.Fatalf("harness: registry certificate: %v", err)
	}
	if err := writeHtpasswd(filepath.Join(dir, "htpasswd"), users); err != nil {
		t.Fatalf("harness: htpasswd: %v", err)
	}
	r := &Registry{Version: version, CAFile: c.file, Dir: dir, logFile: filepath.Join(dir, "registry.log")}

	// A port picked by listening on :0 may be taken again before the registry
	// binds it; retry with a fresh port when the registry exits early.
	var lastErr string
	for attempt := 0; attempt < 3; attempt++ {
		addr, err := freeAddr()
		if err != nil {
			t.Fatalf("harness: free port: %v", err)
		}
		cfg := filepath.Join(dir, "config.yml")
		if err := os.WriteFile(cfg, fmt.Appendf(nil, registryConfig, dir, addr, certFile, keyFile), 0o600); err != nil {
			t.Fatalf("harness: %v", err)
		}
		ok, msg := r.start(t, bin, cfg, addr, c)
		if ok {
			r.Addr = addr
			t.Cleanup(func() {
				if t.Failed() && strings.TrimSpace(r.LogText()) != "" {
					t.Logf("registry %s (%s) log tail:\n%s", addr, version, tail(r.LogText(), 40))
				}
			})
			return r
		}
		lastErr = msg
		if !strings.Contains(msg, "address already in use") {
			break
		}
	}
	t.Fatalf("harness: registry %s did not start: %s", version, lastErr)
	return nil
}

// start runs the registry and waits (poll, 10 s) until /v2/ answers 401. It
// returns false with a message when the registry exits early; a timeout
// fails the test with the log tail.
func (r *Registry) start(t testing.TB, bin, cfg, addr string, c *testCA) (bool, string) {
	t.Helper()
	logf, err := os.OpenFile(r.logFile, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o600)
	if err != nil {
		t.Fatalf("harness: %v", err)
	}
	cmd := exec.Command(bin, "serve", cfg)
	cmd.Dir = r.Dir
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.Env = []string{
		"PATH=/usr/local/bin:/usr/bin:/bin",
		"HOME=" + r.Dir,
		"OTEL_TRACES_EXPORTER=none",
		"OTEL_METRICS_EXPORTER=none",
		"OTEL_LOGS_EXPORTER=none",
	}
	cmd.SysProcAttr = childProcAttr()
	if err := cmd.Start(); err != nil {
		_ = logf.Close()
		t.Fatalf("harness: start %s: %v", bin, err)
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); _ = logf.Close(); close(exited) }()
	stopped := false
	t.Cleanup(func() {
		if stopped {
			return
		}
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(5 * time.Second):
			_ = cmd.Process.Kill()
			<-exited
		}
	})

	client := &http.Client{
		Timeout:   2 * time.Second,
		Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: c.pool()}},
	}
	defer client.CloseIdleConnections()
	exitedEarly := false
	poll.WaitOn(t, func(poll.LogT) poll.Result {
		select {
		case <-exited:
			exitedEarly = true
			return poll.Success()
		default:
		}
		resp, err := client.Get("https://" + addr + "/v2/")
		if err != nil {
			return poll.Continue("registry %s at https://%s/v2/: %v; log:\n%s", r.Version, addr, err, tail(r.LogText(), 40))
		}
		_ = resp.Body.Close()
		if resp.StatusCode == http.StatusUnauthorized {
			return poll.Success()
		}
		return poll.Continue("registry %s at https://%s/v2/ answered %s, not 401; log:\n%s", r.Version, addr, resp.Status, tail(r.LogText(), 40))
	}, poll.WithDelay(20*time.Millisecond), poll.WithTimeout(10*time.Second))
	if exitedEarly {
		stopped = true
		return false, fmt.Sprintf("exited early (%v); log:\n%s", cmd.ProcessState, tail(r.LogText(), 40))
	}
	return true, ""
}

func writeHtpasswd(path string, users map[string]string) error {
	names := make([]string, 0, len(users))
	for u := range users {
		names = append(names, u)
	}
	sort.Strings(names)
	var b strings.Builder
	for _, u := range names {
		if strings.ContainsAny(u, ":\n") {
			return fmt.Errorf("invalid user name %q", u)
		}
		h, err := bcrypt.GenerateFromPassword([]byte(users[u]), bcrypt.MinCost)
		if err != nil {
			return err
		}
		fmt.Fprintf(&b, "%s:%s\n", u, h)
	}
	return os.WriteFile(path, []byte(b.String()), 0o600)
}

func freeAddr() (string, error) {
	var lc net.ListenConfig
	l, err := lc.Listen(context.Background(), "tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	addr := l.Addr().String()
	return addr, l.Close()
}

// FreeAddr returns a 127.0.0.1:PORT nothing listens on (at the time of the
// call), for "some other registry" cases.
func FreeAddr(t testing.TB) string {
	t.Helper()
	a, err := freeAddr()
	if err != nil {
		t.Fatalf("harness: %v", err)
	}
	return a
}

func tail(s string, lines int) string {
	s = strings.TrimRight(s, "\n")
	parts := strings.Split(s, "\n")
	if len(parts) > lines {
		parts = parts[len(parts)-lines:]
	}
	return strings.Join(parts, "\n")
}
