package harness

import (
	"encoding/base64"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"gotest.tools/v3/icmd"
)

// DefaultTimeout bounds every command run through an H that sets no timeout.
const DefaultTimeout = 2 * time.Minute

// H runs a test's commands and checks that none of them leaked a secret.
// Create it with [New]; it is safe for concurrent use.
type H struct {
	T testing.TB

	mu      sync.Mutex
	secrets []secret
	runs    []record
	files   []string
}

type secret struct {
	label string // safe to print
	forms []string
}

type record struct {
	cmd            string
	stdout, stderr string
}

// New returns a recorder whose cleanup fails the test when a registered
// secret (in any registered form) appears in the stdout or stderr of any
// command run through it, or in a file given to AssertNoSecretInFile.
func New(t testing.TB) *H {
	t.Helper()
	h := &H{T: t}
	t.Cleanup(h.check)
	return h
}

// Secret registers s as a secret. Very short strings are refused, as they
// would match by chance.
func (h *H) Secret(s string) {
	h.T.Helper()
	if len(s) < 8 {
		h.T.Fatalf("harness: secret too short (%d bytes) to scan for reliably; use RandomSecret", len(s))
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	h.secrets = append(h.secrets, secret{label: fmt.Sprintf("secret #%d", len(h.secrets)+1), forms: []string{s}})
}

// Credential registers pass as a secret and also the base64 forms of
// "user:pass" (the "auth" field of a docker config and the HTTP Basic
// header).
func (h *H) Credential(user, pass string) {
	h.T.Helper()
	h.Secret(pass)
	up := []byte(user + ":" + pass)
	h.mu.Lock()
	defer h.mu.Unlock()
	h.secrets = append(h.secrets, secret{
		label: fmt.Sprintf("base64(%s:<password>)", user),
		forms: []string{
			base64.StdEncoding.EncodeToString(up),
			base64.RawStdEncoding.EncodeToString(up),
			base64.URLEncoding.EncodeToString(up),
			base64.RawURLEncoding.EncodeToString(up),
		},
	})
}

// RandomSecret returns a new random secret (prefix + 24 random characters)
// and registers it.
func (h *H) RandomSecret(prefix string) string {
	h.T.Helper()
	s := prefix + randomString(24)
	h.Secret(s)
	return s
}

// Run runs name with args in env, recording its output. It never fails the
// test by itself: assert on the returned result.
func (h *H) Run(env *Env, name string, args ...string) *icmd.Result {
	h.T.Helper()
	return h.RunCmd(env.Cmd(name, args...))
}

// RunCmd runs cmd (whose Env must be set, e.g. from Env.Cmd or Env.Environ,
// so nothing leaks in from the test process), recording its output.
func (h *H) RunCmd(cmd icmd.Cmd, ops ...icmd.CmdOp) *icmd.Result {
	h.T.Helper()
	return h.runCmd(cmd, nil, ops...)
}

// runCmd runs cmd and records its output; recordStdout, when not nil,
// transforms stdout before it is recorded (see HelperGet).
func (h *H) runCmd(cmd icmd.Cmd, recordStdout func(string) string, ops ...icmd.CmdOp) *icmd.Result {
	h.T.Helper()
	for _, op := range ops {
		op(&cmd)
	}
	if len(cmd.Env) == 0 {
		h.T.Fatalf("harness: RunCmd %v without an environment: use Env.Cmd or set Cmd.Env (an empty Env inherits the test process's)", cmd.Command)
	}
	if cmd.Timeout == 0 {
		cmd.Timeout = DefaultTimeout
	}
	res := icmd.RunCmd(cmd)
	stdout := res.Stdout()
	if recordStdout != nil {
		stdout = recordStdout(stdout)
	}
	h.mu.Lock()
	h.runs = append(h.runs, record{cmd: commandString(cmd.Command), stdout: stdout, stderr: res.Stderr()})
	h.mu.Unlock()
	return res
}

// AssertNoSecretInFile checks the file now and again at cleanup, failing the
// test if it contains a registered secret.
func (h *H) AssertNoSecretInFile(path string) {
	h.T.Helper()
	h.mu.Lock()
	h.files = append(h.files, path)
	h.mu.Unlock()
	h.checkFile(path)
}

func (h *H) checkFile(path string) {
	h.T.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		if os.IsNotExist(err) {
			return
		}
		h.T.Errorf("harness: scan %s: %v", path, err)
		return
	}
	if found := h.findSecret(string(b)); found != "" {
		h.T.Errorf("harness: %s found in file %s", found, path)
	}
}

// Outputs returns how many commands were recorded (for tests of the harness).
func (h *H) Outputs() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.runs)
}

func (h *H) findSecret(text string) string {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, s := range h.secrets {
		for _, f := range s.forms {
			if f != "" && strings.Contains(text, f) {
				return s.label
			}
		}
	}
	return ""
}

// check is the cleanup scan. It reports where a secret appeared without
// printing the secret.
func (h *H) check() {
	h.mu.Lock()
	runs := append([]record(nil), h.runs...)
	files := append([]string(nil), h.files...)
	h.mu.Unlock()
	for _, r := range runs {
		for _, stream := range []struct{ name, text string }{{"stdout", r.stdout}, {"stderr", r.stderr}} {
			if found := h.findSecret(stream.text); found != "" {
				h.T.Errorf("harness: %s leaked on the %s of: %s", found, stream.name, h.redact(r.cmd))
			}
		}
	}
	for _, f := range files {
		h.checkFile(f)
	}
}

// redact replaces every registered secret form in s.
func (h *H) redact(s string) string {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, sec := range h.secrets {
		for _, f := range sec.forms {
			if f != "" {
				s = strings.ReplaceAll(s, f, "<"+sec.label+">")
			}
		}
	}
	return s
}

func commandString(argv []string) string {
	const max = 200
	s := strings.Join(argv, " ")
	if len(s) > max {
		s = s[:max] + "…"
	}
	return s
}
