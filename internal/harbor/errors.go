package harbor

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"unicode/utf8"

	"github.com/docker-werf/docker-werf/internal/apiclient"
	"github.com/docker-werf/docker-werf/internal/registrytypes"
)

// Sentinels of ProtectedError; test with errors.Is. Both wrap
// cleanup.ErrProtected, so cleanup keeps such a tag and reports it as
// protected rather than failed.
var (
	// ErrImmutable: a tag immutability rule of the project matches the tag
	// (or a tag of the artifact), so Harbor refuses to delete it.
	ErrImmutable = fmt.Errorf("the tag is immutable in Harbor: %w", registrytypes.ErrProtected)
	// ErrSigned: Harbor refuses to delete a tag signed with Notary.
	ErrSigned = fmt.Errorf("the tag is signed in Harbor: %w", registrytypes.ErrProtected)
)

// Reasons of ProtectedError and Protected.
const (
	ReasonImmutable = "immutable"
	ReasonSigned    = "signed"
)

// ProtectedError says Harbor protects a tag or an artifact on purpose: it
// was not deleted, and deleting it again will not help until the rule goes.
type ProtectedError struct {
	Repository string // host/path
	Ref        string // the tag, or the digest for an artifact
	Reason     string // ReasonImmutable or ReasonSigned
	Detail     string // Harbor's message, or how the listing said so
}

func (e *ProtectedError) Error() string {
	var what string
	switch e.Reason {
	case ReasonSigned:
		what = "it is signed (Harbor does not delete signed tags)"
	default:
		what = "it is immutable: a tag immutability rule of the Harbor project matches it " +
			"(Project > Policy > Tag Immutability); remove or narrow the rule to let cleanup delete it"
	}
	s := fmt.Sprintf("skipped %s in %s on Harbor: %s", e.Ref, e.Repository, what)
	if e.Detail != "" {
		s += " (" + e.Detail + ")"
	}
	return s
}

// Unwrap returns ErrImmutable or ErrSigned (both wrap cleanup.ErrProtected).
func (e *ProtectedError) Unwrap() error {
	if e.Reason == ReasonSigned {
		return ErrSigned
	}
	return ErrImmutable
}

// SkipReason names why the tag was skipped: ReasonImmutable or
// ReasonSigned.
func (e *ProtectedError) SkipReason() string { return e.Reason }

// APIError is an unexpected answer of the Harbor API (Codes: UNAUTHORIZED,
// NOT_FOUND, PRECONDITION, ...); it unwraps to registrytypes.ErrUnauthorized
// (401, 403) or registrytypes.ErrNotFound (404).
type APIError = apiclient.Error

// apiError reads (and closes) the body of an unexpected response. write says
// whether the operation needed delete rights.
func (c *Client) apiError(op string, write bool, resp *http.Response) *APIError {
	defer apiclient.Discard(resp)
	e := apiclient.NewError("Harbor", op, c.name, resp)
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
			msgs = append(msgs, strings.TrimSuffix(d.Code+": "+apiclient.Truncate(d.Message, 300), ": "))
		}
	} else if s := strings.TrimSpace(string(body)); s != "" && utf8.ValidString(s) && !strings.HasPrefix(s, "<") {
		msgs = append(msgs, apiclient.Truncate(strings.Join(strings.Fields(s), " "), 300))
	}
	e.Message = c.redact(strings.Join(msgs, "; "))
	switch resp.StatusCode {
	case http.StatusUnauthorized:
		e.Kind = registrytypes.ErrUnauthorized
		e.Hint = "Harbor refused the credentials: check " + names(credUsername, credPassword) +
			` (a robot account is named "robot$<name>" or "robot$<project>+<name>")`
	case http.StatusForbidden:
		e.Kind = registrytypes.ErrUnauthorized
		if write {
			e.Hint = fmt.Sprintf("the Harbor account %q may not delete in project %s: it needs the Maintainer or "+
				"Project Admin role, or a robot account with the Delete Tag and Delete Artifact permissions "+
				"(set with %s)", c.creds.Username, c.project, names(credUsername, credPassword))
		} else {
			e.Hint = fmt.Sprintf("project %s does not exist or the Harbor account %q may not read it: it needs at "+
				"least the Limited Guest role, or a robot account with the List Artifact and Read Artifact "+
				"permissions (set with %s)", c.project, c.creds.Username, names(credUsername, credPassword))
		}
	case http.StatusNotFound:
		e.Kind = registrytypes.ErrNotFound
	case http.StatusTooManyRequests:
		e.Hint = "Harbor kept answering 429 Too Many Requests; lower the parallelism or try later"
	}
	return e
}

// protection recognises Harbor's refusal to delete a protected tag or
// artifact: 412 PRECONDITION "... configured as immutable ..." or "... with
// signature ...", and a 403 naming immutability (older Harbor and the
// immutability middleware). Other 412s (an artifact an index still
// references, say) are not protections.
func protection(e *APIError) string {
	msg := strings.ToLower(e.Message)
	switch {
	case e.StatusCode != http.StatusPreconditionFailed && e.StatusCode != http.StatusForbidden:
	case strings.Contains(msg, "immutable"):
		return ReasonImmutable
	case e.StatusCode == http.StatusPreconditionFailed && strings.Contains(msg, "signature"):
		return ReasonSigned
	}
	return ""
}

// scrubber blanks anything that looks like a credential.
var scrubber = apiclient.NewScrubber(apiclient.DefaultSchemes, apiclient.DefaultKeys)

// minSecret is the shortest password redact replaces literally: a shorter
// one would mangle ordinary words (and is no real password).
const minSecret = 6

// redact blanks the password and anything that looks like a credential in
// text that came from the server.
func (c *Client) redact(s string) string {
	return scrubber.Scrub(apiclient.ReplaceSecrets(s, minSecret, c.creds.Password))
}
