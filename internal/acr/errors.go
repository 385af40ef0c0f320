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
	s := fmt.Sprintf("skipped %s in %s on ACR: it is locked", e.Ref, e.Repository)
	if e.Detail != "" {
		s += " (" + e.Detail + ")"
	}
	return s + "; unlock it with az acr repository update --delete-enabled true --write-enabled true to let cleanup delete it"
}

// Unwrap returns ErrLocked.
func (e *LockedError) Unwrap() error { return ErrLocked }

// SkipReason is ReasonLocked.
func (e *LockedError) SkipReason() string { return ReasonLocked }

// APIError is an unexpected answer of the ACR API (Codes: UNAUTHORIZED,
// NAME_UNKNOWN, TAG_UNKNOWN, ...); it unwraps to registryapi.ErrUnauthorized
// (401, 403) or registryapi.ErrNotFound (404).
type APIError = apiclient.Error

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
	e := apiclient.NewError("ACR", op, c.name, resp)
	e.Codes, e.Message = parseErrors(resp)
	e.Message = redact(e.Message, c.auth.secrets...)
	switch resp.StatusCode {
	case http.StatusUnauthorized:
		e.Kind = registryapi.ErrUnauthorized
		if c.auth.tokens != nil {
			e.Hint = "ACR refused the access token obtained with " + c.auth.who + "; " + rightsHint(write)
		} else {
			e.Hint = "ACR refused " + c.auth.who + " (the admin user, a repository-scoped token and one of its " +
				"passwords, or a service principal id and secret)"
		}
	case http.StatusForbidden:
		e.Kind = registryapi.ErrUnauthorized
		e.Hint = c.auth.who + " may not do this: " + rightsHint(write)
	case http.StatusNotFound:
		e.Kind = registryapi.ErrNotFound
	case http.StatusTooManyRequests:
		e.Hint = "ACR kept answering 429 Too Many Requests (the registry's SKU limits read and write operations " +
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
