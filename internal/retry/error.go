package retry

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// Error is returned by RoundTrip when it gives up without a response to
// return. Its message names the method and the URL without userinfo, query
// or fragment, and never includes credentials.
type Error struct {
	Method     string
	URL        string        // scheme://host/path, without userinfo, query or fragment
	Attempts   int           // attempts sent
	StatusCode int           // last HTTP status received, 0 if none
	Wait       time.Duration // when non-zero: the server asked to wait this long, more than Limit
	Limit      time.Duration // the WithMaxWait limit Wait exceeded
	Err        error         // the last transport error, or the context's error; nil if none

	reason  string   // what happened, for the message
	source  string   // the header Wait came from
	secrets []string // strings scrubbed from Err's message
}

func newError(req *http.Request, attempts, code int, reason string, err error) *Error {
	return &Error{
		Method:     method(req),
		URL:        redactURL(req.URL),
		Attempts:   attempts,
		StatusCode: code,
		Err:        err,
		reason:     reason,
		secrets:    secrets(req),
	}
}

func (e *Error) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s: ", e.Method, e.URL)
	b.WriteString(e.reason)
	switch e.Attempts {
	case 0:
	case 1:
		b.WriteString(" after 1 attempt")
	default:
		fmt.Fprintf(&b, " after %d attempts", e.Attempts)
	}
	if e.Wait > 0 {
		fmt.Fprintf(&b, ": server asked to wait %v (%s), more than the %v limit", e.Wait, e.source, e.Limit)
	}
	if e.StatusCode != 0 {
		fmt.Fprintf(&b, "; last status %d %s", e.StatusCode, http.StatusText(e.StatusCode))
	}
	if e.Err != nil {
		msg := e.Err.Error()
		for _, s := range e.secrets {
			msg = strings.ReplaceAll(msg, s, "xxxxx")
		}
		fmt.Fprintf(&b, "; last error: %s", msg)
	}
	return b.String()
}

// Unwrap returns the last transport error or the context's error.
func (e *Error) Unwrap() error { return e.Err }

func method(req *http.Request) string {
	if req.Method == "" {
		return http.MethodGet
	}
	return req.Method
}

func redactURL(u *url.URL) string {
	if u == nil {
		return ""
	}
	c := *u
	c.User = nil
	c.RawQuery, c.ForceQuery = "", false
	c.Fragment, c.RawFragment = "", ""
	return c.String()
}

// secrets lists what must not appear in an error message: the URL's
// password and query, and the credentials of the Authorization headers.
// Transport errors seldom contain any of them; an inner RoundTripper that
// wraps its errors in *url.Error would.
func secrets(req *http.Request) []string {
	var s []string
	add := func(v string, min int) {
		if len(v) >= min {
			s = append(s, v)
		}
	}
	if req.URL != nil {
		if p, ok := req.URL.User.Password(); ok {
			add(p, 1)
			add(url.QueryEscape(p), 1)
		}
		add(req.URL.RawQuery, 1)
		// Short values (page sizes, "last" tags) are not secrets and would
		// garble the message; tokens and signatures are long.
		for _, vs := range req.URL.Query() {
			for _, v := range vs {
				add(v, 8)
			}
		}
	}
	for _, key := range []string{"Authorization", "Proxy-Authorization"} {
		for _, v := range req.Header.Values(key) {
			v = strings.TrimSpace(v)
			if _, cred, found := strings.Cut(v, " "); found {
				v = strings.TrimSpace(cred)
			}
			add(v, 1)
		}
	}
	return s
}
