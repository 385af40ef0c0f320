package gitlab

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/docker-werf/docker-werf/internal/apiclient"
	"github.com/docker-werf/docker-werf/internal/registrytypes"
)

// Error is an unexpected answer of the GitLab API. It never contains the
// token; it unwraps to registrytypes.ErrNotFound or registrytypes.ErrUnauthorized
// where the answer was one of those.
type Error = apiclient.Error

// endpoint returns the URL of an escaped API path below the base URL.
func (c *Client) endpoint(escapedPath string, q url.Values) string {
	return apiclient.WithQuery(c.Base.String()+escapedPath, q)
}

// do sends one request with the token.
func (c *Client) do(ctx context.Context, method, u string) (*http.Response, error) {
	resp, err := apiclient.Send(ctx, c.hc, method, u, c.header, c.token, "Accept", "application/json", "User-Agent", c.UA)
	if err != nil {
		return nil, c.redactErr(err)
	}
	return resp, nil
}

// maxBody bounds a decoded answer.
const maxBody = 32 << 20

// getJSON GETs u and decodes a 200 answer into v.
func (c *Client) getJSON(ctx context.Context, op, u string, write bool, v any) (*http.Response, error) {
	return apiclient.GetJSON(ctx, apiclient.JSONAPI{Vendor: "GitLab", Name: c.name, Limit: maxBody, Send: c.do,
		AnswerError: c.answerError, DecodePath: apiclient.URLPath}, op, u, write, v)
}

// answerError is responseError as an error.
func (c *Client) answerError(op string, write bool, resp *http.Response) error {
	return c.responseError(op, write, resp)
}

// paginate GETs first and every following page, decoding each into a
// fresh *T and handing it to each.
func paginate[T any](ctx context.Context, c *Client, op, first string, each func(T)) error {
	err := apiclient.Pages(first, func(_ int, u string) (string, error) {
		var v T
		resp, err := c.getJSON(ctx, op, u, false, &v)
		if err != nil {
			return "", err
		}
		each(v)
		next, err := c.nextPage(resp)
		if err != nil {
			return "", fmt.Errorf("%s %s on GitLab: %w", op, c.name, err)
		}
		return next, nil
	})
	if errors.Is(err, apiclient.ErrEndlessPagination) {
		return fmt.Errorf("%s %s on GitLab: %w", op, c.name, err)
	}
	return err
}

// nextPage returns the URL of the page after resp, or "" after the last.
// GitLab's offset pagination says it three ways: X-Next-Page (empty on the
// last page), a Link rel="next", and X-Page with X-Total-Pages (left out
// above 10,000 records). X-Next-Page is read first: it is a bare number, so
// a proxy that rewrites scheme or host cannot break it as it breaks Link
// URLs. A Link is followed only on the API's host, with its scheme.
func (c *Client) nextPage(resp *http.Response) (string, error) {
	h := resp.Header
	if v := strings.TrimSpace(h.Get("X-Next-Page")); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			return "", fmt.Errorf("invalid X-Next-Page %q", v)
		}
		return withPage(resp.Request.URL, n), nil
	}
	if next, err := c.nextLink(resp); next != "" || err != nil {
		return next, err
	}
	if _, present := h["X-Next-Page"]; present {
		return "", nil
	}
	page, err1 := strconv.Atoi(strings.TrimSpace(h.Get("X-Page")))
	total, err2 := strconv.Atoi(strings.TrimSpace(h.Get("X-Total-Pages")))
	if err1 == nil && err2 == nil && page >= 1 && page < total {
		return withPage(resp.Request.URL, page+1), nil
	}
	return "", nil
}

func withPage(u *url.URL, page int) string {
	next := *u
	q := next.Query()
	q.Set("page", strconv.Itoa(page))
	next.RawQuery = q.Encode()
	return next.String()
}

// nextLink returns the rel="next" URL of resp's Link header, or "".
func (c *Client) nextLink(resp *http.Response) (string, error) {
	return apiclient.NextLink(resp, c.Base)
}

// apiError is GitLab's error body: {"message": "404 Project Not Found"},
// {"message": {"field": ["..."]}} or {"error": "insufficient_scope", ...}.
type apiError struct {
	Message          json.RawMessage `json:"message"`
	Error            string          `json:"error"`
	ErrorDescription string          `json:"error_description"`
	Scope            string          `json:"scope"`
}

func (a apiError) text() string {
	var parts []string
	var s string
	if json.Unmarshal(a.Message, &s) == nil && s != "" {
		parts = append(parts, s)
	} else if len(a.Message) > 0 && string(a.Message) != "null" {
		parts = append(parts, string(a.Message))
	}
	if a.Error != "" {
		parts = append(parts, a.Error)
	}
	if a.ErrorDescription != "" {
		parts = append(parts, a.ErrorDescription)
	}
	return strings.Join(parts, ": ")
}

// codeInsufficientScope is the error of a 403 for a token without the scope.
const codeInsufficientScope = "insufficient_scope"

// responseError reads (and closes) an unexpected answer and classifies it.
// write says whether the operation deletes.
func (c *Client) responseError(op string, write bool, resp *http.Response) *Error {
	defer apiclient.Discard(resp)
	e := apiclient.NewError("GitLab", op, c.name, resp)
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	var ae apiError
	if json.Unmarshal(body, &ae) == nil {
		e.Message = ae.text()
	} else if s := strings.TrimSpace(string(body)); s != "" && utf8.ValidString(s) && !strings.HasPrefix(s, "<") {
		e.Message = s
	}
	e.Message = apiclient.Truncate(scrub(c.redact(strings.Join(strings.Fields(e.Message), " "))), 300)
	lower := strings.ToLower(e.Message)
	switch {
	case resp.StatusCode == http.StatusTooManyRequests:
		e.Kind, e.Hint = ErrRateLimited, rateLimitHint(resp.Header)
	case resp.StatusCode == http.StatusUnauthorized:
		e.Kind, e.Hint = registrytypes.ErrUnauthorized, c.refusedHint()
	case resp.StatusCode == http.StatusForbidden && ae.Error == codeInsufficientScope:
		e.Codes = []string{codeInsufficientScope}
		e.Kind, e.Hint = registrytypes.ErrUnauthorized, c.scopeHint(write, ae.Scope)
	case resp.StatusCode == http.StatusForbidden && write && (strings.Contains(lower, "protected") || strings.Contains(lower, "immutable")):
		e.Kind = ErrProtectedTag
		e.Hint = "the tag matches a protection rule of the project (Settings > Packages and registries > " +
			"Protected container tags) that this token's role may not override; it is left alone"
	case resp.StatusCode == http.StatusForbidden:
		e.Kind, e.Hint = registrytypes.ErrUnauthorized, c.roleHint(write)
	case resp.StatusCode == http.StatusNotFound:
		e.Kind = registrytypes.ErrNotFound
	}
	return e
}

func rateLimitHint(h http.Header) string {
	hint := "GitLab's API rate limit is exhausted and the retries gave up"
	if reset, err := strconv.ParseInt(strings.TrimSpace(h.Get("RateLimit-Reset")), 10, 64); err == nil && reset > 1_000_000_000 {
		hint += "; it resets at " + time.Unix(reset, 0).UTC().Format(time.RFC3339)
	} else if ra := strings.TrimSpace(h.Get("Retry-After")); ra != "" {
		hint += "; GitLab asked to wait " + ra + "s"
	}
	return hint + "; run cleanup later or with less parallelism"
}

// patHint says what token deletes.
const patHint = "a project, group or personal access token with the api scope whose user has at least the " +
	"Developer role in the project"

// refusedHint explains a 401.
func (c *Client) refusedHint() string {
	if c.UsesJobToken() {
		return "GitLab refused CI_JOB_TOKEN: a job token is valid only while its job runs and only on the GitLab " +
			"instance that issued it; set " + tokenCredential() + " to " + patHint
	}
	return "GitLab refused the token in " + tokenCredential() + ": it is invalid, expired or revoked"
}

// scopeHint explains a 403 insufficient_scope.
func (c *Client) scopeHint(write bool, scope string) string {
	if scope == "" {
		scope = "api"
	}
	if write {
		return "the token in " + tokenCredential() + " lacks the " + scope + " scope: deleting tags needs a token " +
			"with the api scope (read_api and read_registry only read)"
	}
	return "the token in " + tokenCredential() + " lacks the " + scope + " scope: listing the registry needs " +
		"read_api or api"
}

// roleHint explains any other 403.
func (c *Client) roleHint(write bool) string {
	switch {
	case c.UsesJobToken() && write:
		return "CI_JOB_TOKEN may not delete here: a job token deletes only in the registry of the project whose " +
			"pipeline runs the job, and only if the job's user has at least the Developer role there; otherwise " +
			"set " + tokenCredential() + " to " + patHint
	case c.UsesJobToken():
		return "CI_JOB_TOKEN may not read this registry: a job token reaches only the registry of the project " +
			"whose pipeline runs the job; set " + tokenCredential() + " to " + patHint
	case write:
		return "the user of the token in " + tokenCredential() + " may not delete container images in this " +
			"project: that needs " + patHint
	}
	return "the user of the token in " + tokenCredential() + " may not read this container registry " +
		"(a private registry needs at least the Reporter role and the read_api or api scope)"
}

// scrubber blanks anything that looks like a credential, GitLab's tokens and
// token headers included.
var scrubber = apiclient.NewScrubber(apiclient.DefaultSchemes,
	[]string{"password", "passwd", "secret", "token", "private-token", "job-token", "access_token", "refresh_token"},
	`\b(glpat|gldt|glcbt|glptt|glrt|gloas|glimt|glagent|glsoat|glffct)-[A-Za-z0-9_.-]{10,}`)

// scrub blanks anything that looks like a credential in text from a server.
func scrub(s string) string { return scrubber.Scrub(s) }

// redact removes the token from s.
func (c *Client) redact(s string) string { return apiclient.RedactToken(s, c.token) }

// redactErr returns err with the token removed from its message, keeping
// errors.Is and errors.As working.
func (c *Client) redactErr(err error) error { return apiclient.RedactError(err, c.token) }
