package registryapi

import (
	"encoding/json"
	"fmt"
	"github.com/google/go-containerregistry/pkg/authn"
	"io"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"unicode/utf8"
)

// ResponseError is an unexpected answer of the registry.
type ResponseError struct {
	Op         string   // what the client was doing, e.g. "untag v1.2"
	Repository string   // host[:port]/path
	Method     string   // HTTP method of the failed request
	Path       string   // URL path (and query) of the failed request
	StatusCode int      // HTTP status
	Codes      []string // registry error codes (UNSUPPORTED, DIGEST_INVALID, ...)
	Message    string   // the registry's messages, without anything that looks like a credential
	hint       string
	kind       error
}

func (e *ResponseError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s: %s %s: HTTP %d %s", e.Op, e.Repository, e.Method, e.Path,
		e.StatusCode, http.StatusText(e.StatusCode))
	if e.Message != "" {
		b.WriteString(": ")
		b.WriteString(e.Message)
	}
	if e.hint != "" {
		b.WriteString("; ")
		b.WriteString(e.hint)
	}
	return b.String()
}

// Unwrap returns the sentinel error matching the answer, if any.
func (e *ResponseError) Unwrap() error { return e.kind }

// hasCode reports whether the registry gave this error code.
func (e *ResponseError) hasCode(code string) bool {
	for _, c := range e.Codes {
		if c == code {
			return true
		}
	}
	return false
}

// unsupported reports whether the answer says the request is not supported:
// 405, 501, or an UNSUPPORTED code.
func (e *ResponseError) unsupported() bool {
	return e.StatusCode == http.StatusMethodNotAllowed || e.StatusCode == http.StatusNotImplemented ||
		e.hasCode("UNSUPPORTED")
}

// responseError reads (and closes) the body of an unexpected response and
// classifies it. write says whether the operation needed write access.
func (c *Client) responseError(op string, write bool, resp *http.Response) *ResponseError {
	defer discard(resp)
	e := &ResponseError{
		Op:         op,
		Repository: c.repo.Name(),
		Method:     resp.Request.Method,
		Path:       resp.Request.URL.RequestURI(),
		StatusCode: resp.StatusCode,
	}
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	var errs struct {
		Errors []struct {
			Code    string `json:"code"`
			Message string `json:"message"`
		} `json:"errors"`
	}
	var msgs []string
	if json.Unmarshal(body, &errs) == nil && len(errs.Errors) > 0 {
		for _, d := range errs.Errors {
			e.Codes = append(e.Codes, d.Code)
			msgs = append(msgs, strings.TrimSuffix(d.Code+": "+truncate(d.Message, 200), ": "))
		}
	} else if s := strings.TrimSpace(string(body)); s != "" && utf8.ValidString(s) && !strings.HasPrefix(s, "<") {
		msgs = append(msgs, truncate(strings.Join(strings.Fields(s), " "), 200))
	}
	e.Message = scrub(strings.Join(msgs, "; "))
	switch {
	case resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden:
		e.kind, e.hint = ErrUnauthorized, c.unauthorizedHint(write)
	case resp.StatusCode == http.StatusNotFound:
		e.kind = ErrNotFound
	case resp.Request.Method == http.MethodDelete && e.unsupported():
		e.kind = ErrDeleteDisabled
	}
	return e
}

// unauthorizedHint says whose credentials were refused and which rights
// may be missing.
func (c *Client) unauthorizedHint(write bool) string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.unauthorizedHintLocked(write)
}

// unauthorizedHintLocked is unauthorizedHint with c.mu held.
func (c *Client) unauthorizedHintLocked(write bool) string {
	who := c.who
	if who == "" {
		who = "no credentials were sent"
	}
	if write {
		return who + "; the credentials for " + c.host + " may be wrong or lack delete rights " +
			"(deleting tags needs pull, push and delete access to the repository)"
	}
	return who + "; the credentials for " + c.host + " may be wrong or lack pull rights"
}

// CredentialSource is implemented by keychains that can say where the
// credentials they resolved for a registry came from ("the docker config
// /home/ci/.docker/config.json"), for error messages; never the secret.
type CredentialSource interface {
	CredentialSource(r authn.Resource) string
}

// describeCredentials says which user was tried and where the credentials
// came from.
func describeCredentials(cfg authn.AuthConfig, kc authn.Keychain, r authn.Resource) string {
	var who string
	switch {
	case cfg.Username != "":
		who = fmt.Sprintf("tried user %q", cfg.Username)
	case cfg.IdentityToken != "" || cfg.RegistryToken != "":
		who = "tried a token"
	default:
		return "no credentials were found for " + r.RegistryStr() + ", so none were sent"
	}
	if s, ok := kc.(CredentialSource); ok {
		if src := s.CredentialSource(r); src != "" {
			who += " from " + src
		}
	}
	return who
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "..."
}

// secretLike is compiled on first use, not at start-up (see refs.go).
var secretLike = sync.OnceValue(func() [2]*regexp.Regexp {
	return [2]*regexp.Regexp{
		regexp.MustCompile(`(?i)\b(basic|bearer)\s+[A-Za-z0-9._~+/=-]{6,}`),
		regexp.MustCompile(`(?i)\b(password|passwd|secret|token|access_token|refresh_token)(["']?\s*[=:]\s*["']?)[^&\s"',;]+`),
	}
})

// scrub blanks anything that looks like a credential (an Authorization value,
// a password=... pair) in text that came from a server.
func scrub(s string) string {
	re := secretLike()
	s = re[0].ReplaceAllString(s, "$1 [redacted]")
	return re[1].ReplaceAllString(s, "$1$2[redacted]")
}
