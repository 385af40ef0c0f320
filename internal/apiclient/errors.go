package apiclient

import (
	"fmt"
	"net/http"
	"strings"
)

// FormatError is the message of an unexpected answer of an API:
// "<op> <repo> on <api>: <method> <path>: HTTP <status> <status text>", then
// ": <message>" and "; <hint>" when they are not empty. message must already
// be scrubbed of secrets.
func FormatError(api, op, repo, method, path string, status int, message, hint string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s on %s: %s %s: HTTP %d %s", op, repo, api, method, path, status, http.StatusText(status))
	if message != "" {
		b.WriteString(": ")
		b.WriteString(message)
	}
	if hint != "" {
		b.WriteString("; ")
		b.WriteString(hint)
	}
	return b.String()
}

// Error is an unexpected answer of a registry's own API (Docker Hub, Quay,
// GitHub, GitLab, Harbor, ACR). Its message never contains a credential:
// Message must be scrubbed before it is set.
type Error struct {
	API        string   // the vendor's name in the message: "Quay", "Harbor"
	Op         string   // what the client was doing, e.g. "untag v1 of"
	Repository string   // host/path
	Method     string   // of the failed request
	Path       string   // URL path and query of the failed request
	StatusCode int      // HTTP status
	Codes      []string // the API's error codes, where it sends any (Harbor's, ACR's, Quay's error_type)
	Message    string   // the API's message, with anything like a credential removed
	Hint       string   // what to do about it
	Kind       error    // the sentinel Unwrap returns: registrytypes.ErrNotFound, ErrUnauthorized, ...
}

// NewError starts the Error of an unexpected answer, without reading it.
func NewError(api, op, repository string, resp *http.Response) *Error {
	return &Error{API: api, Op: op, Repository: repository, Method: resp.Request.Method,
		Path: resp.Request.URL.RequestURI(), StatusCode: resp.StatusCode}
}

func (e *Error) Error() string {
	return FormatError(e.API, e.Op, e.Repository, e.Method, e.Path, e.StatusCode, e.Message, e.Hint)
}

// Unwrap returns Kind.
func (e *Error) Unwrap() error { return e.Kind }

// HasCode reports whether the answer carried this error code (any case).
func (e *Error) HasCode(code string) bool {
	for _, c := range e.Codes {
		if strings.EqualFold(c, code) {
			return true
		}
	}
	return false
}
