package acr

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"unicode/utf8"

	"github.com/docker-werf/docker-werf/internal/apiclient"
	"github.com/docker-werf/docker-werf/internal/cleanup"
	"github.com/docker-werf/docker-werf/internal/registryapi"
)

// ErrLocked is matched (errors.Is) by every LockedError. It wraps
// cleanup.ErrProtected, so cleanup keeps a locked tag and reports it as
// protected rather than failed.
var ErrLocked = fmt.Errorf("the tag is locked in ACR: %w", cleanup.ErrProtected)

// ReasonLocked is the SkipReason of a LockedError.
const ReasonLocked = "locked"

// LockedError says ACR protects a tag or manifest on purpose
// (changeableAttributes deleteEnabled=false or writeEnabled=false): it was
// not deleted.
type LockedError struct {
	Repository string // host/path
	Ref        string // the tag, or the digest of a manifest
	Detail     string // which attribute, or ACR's message
}

func (e *LockedError) Error() string {
	s := fmt.Sprintf("acr: skipped %s in %s: it is locked", e.Ref, e.Repository)
	if e.Detail != "" {
		s += " (" + e.Detail + ")"
	}
	return s + "; unlock it with az acr repository update --delete-enabled true --write-enabled true to let cleanup delete it"
}

// Unwrap returns ErrLocked.
func (e *LockedError) Unwrap() error { return ErrLocked }

// SkipReason is ReasonLocked.
func (e *LockedError) SkipReason() string { return ReasonLocked }

// APIError is an unexpected answer of the ACR API.
type APIError struct {
	Op         string   // e.g. "listing tags of"
	Repository string   // host/path
	Method     string   // of the failed request
	Path       string   // URL path and query of the failed request
	StatusCode int      // HTTP status
	Codes      []string // ACR error codes (UNAUTHORIZED, NAME_UNKNOWN, TAG_UNKNOWN, ...)
	Message    string   // ACR's messages, without anything that looks like a credential
	hint       string
	kind       error
}

func (e *APIError) Error() string {
	return apiclient.FormatError("acr", e.Op, e.Repository, e.Method, e.Path, e.StatusCode, e.Message, e.hint)
}

// Unwrap returns registryapi.ErrUnauthorized (401, 403) or
// registryapi.ErrNotFound (404), if the answer was one of those.
func (e *APIError) Unwrap() error { return e.kind }

func (e *APIError) hasCode(code string) bool {
	for _, c := range e.Codes {
		if strings.EqualFold(c, code) {
			return true
		}
	}
	return false
}

// rightsHint says which rights an operation needs.
func rightsHint(write bool) string {
	if write {
		return "deleting needs the AcrDelete role (Container Registry Repository Contributor on ABAC-enabled " +
			"registries; Contributor and Owner also do), or a repository-scoped token whose scope map grants " +
			"content/delete and metadata/read"
	}
	return "listing needs pull and metadata read rights: the AcrPull role (Container Registry Repository Reader " +
		"on ABAC-enabled registries), or a repository-scoped token whose scope map grants content/read and metadata/read"
}

// apiError reads (and closes) the body of an unexpected response. write says
// whether the operation needed delete rights.
func (c *Client) apiError(op string, write bool, resp *http.Response) *APIError {
	defer apiclient.Discard(resp)
	e := &APIError{Op: op, Repository: c.name, Method: resp.Request.Method, Path: resp.Request.URL.RequestURI(),
		StatusCode: resp.StatusCode}
	e.Codes, e.Message = parseErrors(resp)
	e.Message = redact(e.Message, c.auth.secrets...)
	switch resp.StatusCode {
	case http.StatusUnauthorized:
		e.kind = registryapi.ErrUnauthorized
		if c.auth.tokens != nil {
			e.hint = "ACR refused the access token obtained with " + c.auth.who + "; " + rightsHint(write)
		} else {
			e.hint = "ACR refused " + c.auth.who + " (the admin user, a repository-scoped token and one of its " +
				"passwords, or a service principal id and secret)"
		}
	case http.StatusForbidden:
		e.kind = registryapi.ErrUnauthorized
		e.hint = c.auth.who + " may not do this: " + rightsHint(write)
	case http.StatusNotFound:
		e.kind = registryapi.ErrNotFound
	case http.StatusTooManyRequests:
		e.hint = "ACR kept answering 429 Too Many Requests (the registry's SKU limits read and write operations " +
			"per minute); lower the parallelism or try later"
	}
	return e
}

// parseErrors reads an ACR (or registry API) error body.
func parseErrors(resp *http.Response) (codes []string, message string) {
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
			codes = append(codes, d.Code)
			msgs = append(msgs, strings.TrimSuffix(d.Code+": "+apiclient.Truncate(d.Message, 300), ": "))
		}
	} else if s := strings.TrimSpace(string(body)); s != "" && utf8.ValidString(s) && !strings.HasPrefix(s, "<") {
		msgs = append(msgs, apiclient.Truncate(strings.Join(strings.Fields(s), " "), 300))
	}
	return codes, strings.Join(msgs, "; ")
}

// readMessage reads the message of an error answer.
func readMessage(resp *http.Response) string {
	_, msg := parseErrors(resp)
	return msg
}

// scrubber blanks anything that looks like a credential, JWTs included.
var scrubber = apiclient.NewScrubber(apiclient.DefaultSchemes, apiclient.DefaultKeys,
	`\beyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]*`) // a JWT

// minSecret is the shortest secret redact replaces literally: shorter ones
// would mangle ordinary words (and are no real passwords or tokens).
const minSecret = 6

// redact blanks the secrets and anything that looks like a credential in
// text that came from a server.
func redact(s string, secrets ...string) string {
	return scrubber.Scrub(apiclient.ReplaceSecrets(s, minSecret, secrets...))
}
