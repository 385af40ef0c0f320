package github

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
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

// ErrRateLimited is wrapped by errors of requests GitHub still rate limited
// when the retrying transport gave up.
var ErrRateLimited = errors.New("GitHub API rate limit exceeded")

// Error is an unexpected answer of the GitHub API. It never contains the
// token; it unwraps to registrytypes.ErrNotFound, registrytypes.ErrUnauthorized
// or ErrRateLimited where the answer was one of those.
type Error = apiclient.Error

// endpoint returns the URL of an escaped API path below the base URL.
func (c *Client) endpoint(escapedPath string, q url.Values) string {
	return apiclient.WithQuery(c.Base.String()+escapedPath, q)
}

// do sends one request with the API headers.
func (c *Client) do(ctx context.Context, method, u string) (*http.Response, error) {
	resp, err := apiclient.Send(ctx, c.hc, method, u, "Authorization", "Bearer "+c.token,
		"Accept", "application/vnd.github+json", "X-GitHub-Api-Version", APIVersion, "User-Agent", c.UA)
	if err != nil {
		return nil, c.redactErr(err)
	}
	return resp, nil
}

// getJSON GETs u and decodes a 200 answer into v.
func (c *Client) getJSON(ctx context.Context, op, u string, write bool, v any) (*http.Response, error) {
	return apiclient.GetJSON(ctx, apiclient.JSONAPI{Vendor: "GitHub", Name: c.name, Limit: maxBody, Send: c.do,
		AnswerError: c.answerError, DecodePath: apiclient.URLPath}, op, u, write, v)
}

// answerError is responseError as an error.
func (c *Client) answerError(op string, write bool, resp *http.Response) error {
	return c.responseError(op, write, resp)
}

// maxBody bounds a decoded answer (a page of 100 versions is far smaller).
const maxBody = 32 << 20

// responseError reads (and closes) an unexpected answer and classifies it.
// write says whether the operation deletes.
func (c *Client) responseError(op string, write bool, resp *http.Response) *Error {
	defer apiclient.Discard(resp)
	e := apiclient.NewError("GitHub", op, c.name, resp)
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	e.Message = apiMessage([]byte(c.redact(string(body))))
	switch {
	case rateLimited(resp) || (resp.StatusCode == http.StatusForbidden && strings.Contains(strings.ToLower(e.Message), "rate limit")):
		e.Kind, e.Hint = ErrRateLimited, rateLimitHint(resp.Header)
	case resp.StatusCode == http.StatusUnauthorized:
		e.Kind = registrytypes.ErrUnauthorized
		e.Hint = "GitHub refused the token in " + tokenCredential() + ": it is invalid, expired or revoked"
	case resp.StatusCode == http.StatusForbidden:
		e.Kind, e.Hint = registrytypes.ErrUnauthorized, permissionHint(write, resp.Header)
	case resp.StatusCode == http.StatusNotFound:
		e.Kind = registrytypes.ErrNotFound
	case resp.StatusCode == http.StatusBadRequest && strings.Contains(strings.ToLower(e.Message), "last tagged version"):
		e.Hint = "GitHub keeps the last tagged version of a package; only deleting the whole package removes it, " +
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
			if d := cmp.Or(e.Message, e.Code); d != "" {
				msg += "; " + d
			}
		}
		return apiclient.Truncate(scrub(strings.Join(strings.Fields(msg), " ")), 300)
	}
	s := strings.TrimSpace(string(body))
	if s == "" || !utf8.ValidString(s) || strings.HasPrefix(s, "<") || strings.HasPrefix(s, "{") {
		return ""
	}
	return apiclient.Truncate(scrub(strings.Join(strings.Fields(s), " ")), 200)
}

// scrubber blanks anything that looks like a credential, GitHub's tokens
// included.
var scrubber = apiclient.NewScrubber([]string{"basic", "bearer", "token"}, apiclient.DefaultKeys,
	`\b(ghp|gho|ghu|ghs|ghr|github_pat)_[A-Za-z0-9_]{10,}`)

// scrub blanks anything that looks like a credential in text from a server.
func scrub(s string) string { return scrubber.Scrub(s) }

// redact removes the token from s.
func (c *Client) redact(s string) string { return apiclient.RedactToken(s, c.token) }

// redactErr returns err with the token removed from its message, keeping
// errors.Is and errors.As working.
func (c *Client) redactErr(err error) error { return apiclient.RedactError(err, c.token) }

// nextLink returns the rel="next" URL of a GitHub answer, or "" if there
// is none. GitHub writes absolute links, often with another path than the
// one requested (/organizations/{id}/... for /orgs/{org}/...); they are
// followed as given, but only on the API's own host, with its scheme.
func (c *Client) nextLink(resp *http.Response) (string, error) {
	return apiclient.NextLink(resp, c.Base)
}
