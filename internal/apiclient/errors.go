package apiclient

import (
	"fmt"
	"net/http"
	"strings"
)

// FormatError is the message of an unexpected answer of an API:
// "<pkg>: <op> <repo>: <method> <path>: HTTP <status> <status text>", then
// ": <message>" and "; <hint>" when they are not empty. message must already
// be scrubbed of secrets.
func FormatError(pkg, op, repo, method, path string, status int, message, hint string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s: %s %s: %s %s: HTTP %d %s", pkg, op, repo, method, path, status, http.StatusText(status))
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
