package ghcr

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/docker-werf/docker-werf/internal/registryapi"
)

// ErrRateLimited is wrapped by errors of requests GitHub still rate limited
// when the retrying transport gave up.
var ErrRateLimited = errors.New("GitHub API rate limit exceeded")

// Error is an unexpected answer of the GitHub API. It never contains the
// token.
type Error struct {
	Op         string // what the client was doing, e.g. "list versions of"
	Repository string // host/path
	Method     string
	Path       string // URL path and query
	StatusCode int
	Message    string // GitHub's message, without anything that looks like a credential
	hint       string
	kind       error
}

func (e *Error) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "ghcr: %s %s: %s %s: HTTP %d %s", e.Op, e.Repository, e.Method, e.Path, e.StatusCode,
		http.StatusText(e.StatusCode))
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

// Unwrap returns the sentinel matching the answer: registryapi.ErrNotFound,
// registryapi.ErrUnauthorized or ErrRateLimited.
func (e *Error) Unwrap() error { return e.kind }

// endpoint returns the URL of an escaped API path below the base URL.
func (c *Client) endpoint(escapedPath string, q url.Values) string {
	u := c.base.String() + escapedPath
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	return u
}

// do sends one request with the API headers.
func (c *Client) do(ctx context.Context, method, u string) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, method, u, nil)
	if err != nil {
		return nil, c.redactErr(err)
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	req.Header.Set("Accept", "application/vnd.github+json")
	req.Header.Set("X-GitHub-Api-Version", APIVersion)
	req.Header.Set("User-Agent", c.ua)
	resp, err := c.hc.Do(req)
	if err != nil {
		return nil, c.redactErr(err)
	}
	return resp, nil
}

// getJSON GETs u and decodes a 200 answer into v.
func (c *Client) getJSON(ctx context.Context, op, u string, write bool, v any) (*http.Response, error) {
	resp, err := c.do(ctx, http.MethodGet, u)
	if err != nil {
		return nil, fmt.Errorf("ghcr: %s %s: %w", op, c.name, err)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, c.responseError(op, write, resp)
	}
	defer discard(resp)
	if err := json.NewDecoder(io.LimitReader(resp.Body, maxBody)).Decode(v); err != nil {
		return nil, fmt.Errorf("ghcr: %s %s: decoding %s: %w", op, c.name, resp.Request.URL.Path, err)
	}
	return resp, nil
}

// maxBody bounds a decoded answer (a page of 100 versions is far smaller).
const maxBody = 32 << 20

// responseError reads (and closes) an unexpected answer and classifies it.
// write says whether the operation deletes.
func (c *Client) responseError(op string, write bool, resp *http.Response) *Error {
	defer discard(resp)
	e := &Error{
		Op:         op,
		Repository: c.name,
		Method:     resp.Request.Method,
		Path:       resp.Request.URL.RequestURI(),
		StatusCode: resp.StatusCode,
	}
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	e.Message = apiMessage([]byte(c.redact(string(body))))
	switch {
	case rateLimited(resp) || (resp.StatusCode == http.StatusForbidden && strings.Contains(strings.ToLower(e.Message), "rate limit")):
		e.kind, e.hint = ErrRateLimited, rateLimitHint(resp.Header)
	case resp.StatusCode == http.StatusUnauthorized:
		e.kind = registryapi.ErrUnauthorized
		e.hint = "GitHub refused the token in " + tokenCredential() + ": it is invalid, expired or revoked"
	case resp.StatusCode == http.StatusForbidden:
		e.kind, e.hint = registryapi.ErrUnauthorized, permissionHint(write, resp.Header)
	case resp.StatusCode == http.StatusNotFound:
		e.kind = registryapi.ErrNotFound
	case resp.StatusCode == http.StatusBadRequest && strings.Contains(strings.ToLower(e.Message), "last tagged version"):
		e.hint = "GitHub keeps the last tagged version of a package; only deleting the whole package removes it, " +
			"which cleanup does not do"
	}
	return e
}

// rateLimited reports whether an answer is GitHub's rate limit: 429, or 403
// with an exhausted quota or a Retry-After (secondary limits).
func rateLimited(resp *http.Response) bool {
	switch resp.StatusCode {
	case http.StatusTooManyRequests:
		return true
	case http.StatusForbidden:
		return strings.TrimSpace(resp.Header.Get("X-Ratelimit-Remaining")) == "0" || resp.Header.Get("Retry-After") != ""
	}
	return false
}

func rateLimitHint(h http.Header) string {
	hint := "GitHub rate-limited the request"
	reset, err := strconv.ParseInt(strings.TrimSpace(h.Get("X-Ratelimit-Reset")), 10, 64)
	switch ra := strings.TrimSpace(h.Get("Retry-After")); {
	case strings.TrimSpace(h.Get("X-Ratelimit-Remaining")) == "0" && err == nil && reset > 0:
		hint += " (API quota used up); the quota resets at " + time.Unix(reset, 0).UTC().Format(time.RFC3339)
	case ra != "":
		hint += " (secondary rate limit); GitHub asked to wait " + ra + "s"
	default:
		hint += " (secondary rate limit); GitHub asks to wait at least a minute"
	}
	return hint + "; run cleanup later or with less parallelism"
}

// permissionHint says which rights a 403 may be about.
func permissionHint(write bool, h http.Header) string {
	var hint string
	if write {
		hint = "deleting package versions needs a classic personal access token with the read:packages and " +
			"delete:packages scopes in " + tokenCredential() + "; the GITHUB_TOKEN of GitHub Actions cannot delete " +
			"unless the workflow's repository has the Admin role on the package (package settings, " +
			"Manage Actions access)"
	} else {
		hint = "listing package versions needs the read:packages scope in " + tokenCredential() +
			"; a GITHUB_TOKEN of GitHub Actions needs the workflow's repository to have access to the package"
	}
	if scopes, ok := h["X-Oauth-Scopes"]; ok {
		s := strings.TrimSpace(strings.Join(scopes, ","))
		if s == "" {
			s = "none"
		}
		hint += "; the token's scopes are: " + s
	}
	return hint
}

// apiMessage extracts GitHub's {"message": ...} from an error body, or a
// short plain-text body.
func apiMessage(body []byte) string {
	var m struct {
		Message string `json:"message"`
		Errors  []struct {
			Message string `json:"message"`
			Code    string `json:"code"`
		} `json:"errors"`
	}
	if json.Unmarshal(body, &m) == nil && m.Message != "" {
		msg := m.Message
		for _, e := range m.Errors {
			if d := firstNonEmpty(e.Message, e.Code); d != "" {
				msg += "; " + d
			}
		}
		return truncate(scrub(strings.Join(strings.Fields(msg), " ")), 300)
	}
	s := strings.TrimSpace(string(body))
	if s == "" || !utf8.ValidString(s) || strings.HasPrefix(s, "<") || strings.HasPrefix(s, "{") {
		return ""
	}
	return truncate(scrub(strings.Join(strings.Fields(s), " ")), 200)
}

func firstNonEmpty(ss ...string) string {
	for _, s := range ss {
		if s != "" {
			return s
		}
	}
	return ""
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

var secretLike = []*regexp.Regexp{
	regexp.MustCompile(`(?i)\b(basic|bearer|token)\s+[A-Za-z0-9._~+/=-]{6,}`),
	regexp.MustCompile(`(?i)\b(password|passwd|secret|token|access_token|refresh_token)(["']?\s*[=:]\s*["']?)[^&\s"',;]+`),
	regexp.MustCompile(`\b(ghp|gho|ghu|ghs|ghr|github_pat)_[A-Za-z0-9_]{10,}`),
}

// scrub blanks anything that looks like a credential in text from a server.
func scrub(s string) string {
	s = secretLike[0].ReplaceAllString(s, "$1 [redacted]")
	s = secretLike[1].ReplaceAllString(s, "$1$2[redacted]")
	return secretLike[2].ReplaceAllString(s, "[redacted]")
}

// redact removes the token from s.
func (c *Client) redact(s string) string {
	if c.token == "" {
		return s
	}
	s = strings.ReplaceAll(s, c.token, "[redacted]")
	return strings.ReplaceAll(s, url.QueryEscape(c.token), "[redacted]")
}

// redactErr returns err with the token removed from its message, keeping
// errors.Is and errors.As working.
func (c *Client) redactErr(err error) error {
	if err == nil || c.token == "" || !strings.Contains(err.Error(), c.token) {
		return err
	}
	return &redactedError{msg: c.redact(err.Error()), err: err}
}

type redactedError struct {
	msg string
	err error
}

func (e *redactedError) Error() string { return e.msg }
func (e *redactedError) Unwrap() error { return e.err }

// discard drains (a little of) and closes a body so the connection can be
// reused.
func discard(resp *http.Response) {
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	_ = resp.Body.Close()
}

// nextLink returns the rel="next" URL of a GitHub answer, or "" if there
// is none. GitHub writes absolute links, often with another path than the
// one requested (/organizations/{id}/... for /orgs/{org}/...); they are
// followed as given, but only on the API's own host, with its scheme.
func (c *Client) nextLink(resp *http.Response) (string, error) {
	req := resp.Request.URL
	for _, v := range resp.Header.Values("Link") {
		for _, link := range splitLinks(v) {
			target, params, ok := strings.Cut(link, ";")
			target = strings.TrimSpace(target)
			if !ok || !strings.HasPrefix(target, "<") || !strings.HasSuffix(target, ">") || !relNext(params) {
				continue
			}
			u, err := req.Parse(target[1 : len(target)-1])
			if err != nil {
				return "", fmt.Errorf("invalid Link %q: %w", target, err)
			}
			if !sameHost(c.base, u) {
				return "", fmt.Errorf("refusing Link to another host: %s", u.Redacted())
			}
			next := *c.base
			next.Path, next.RawPath, next.RawQuery, next.Fragment = u.Path, u.RawPath, u.RawQuery, ""
			return next.String(), nil
		}
	}
	return "", nil
}

// splitLinks splits a Link header value at the commas between links (not
// inside <...>).
func splitLinks(v string) []string {
	var out []string
	depth, start := 0, 0
	for i := 0; i < len(v); i++ {
		switch v[i] {
		case '<':
			depth++
		case '>':
			if depth > 0 {
				depth--
			}
		case ',':
			if depth == 0 {
				out = append(out, v[start:i])
				start = i + 1
			}
		}
	}
	return append(out, v[start:])
}

func relNext(params string) bool {
	for _, p := range strings.Split(params, ";") {
		k, v, ok := strings.Cut(strings.TrimSpace(p), "=")
		if ok && strings.EqualFold(strings.TrimSpace(k), "rel") {
			for _, r := range strings.Fields(strings.Trim(strings.TrimSpace(v), `"`)) {
				if strings.EqualFold(r, "next") {
					return true
				}
			}
		}
	}
	return false
}

// sameHost reports whether link names base's host (and port, if it has one).
func sameHost(base, link *url.URL) bool {
	return strings.EqualFold(base.Hostname(), link.Hostname()) && (link.Port() == "" || port(base) == port(link))
}

func port(u *url.URL) string {
	if p := u.Port(); p != "" {
		return p
	}
	if strings.EqualFold(u.Scheme, "http") {
		return "80"
	}
	return "443"
}
