// Package apiclient is the HTTP plumbing of the registries' own APIs (Docker
// Hub, Quay, GitHub, GitLab, Harbor, ACR, ECR, Selectel): the default
// transport, option checks, bounded JSON decoding and draining of answers,
// the text of API errors with secrets scrubbed from it, and Link header
// parsing. What a registry's API means (authentication, error bodies,
// pagination schemes) stays in its package.
package apiclient

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sync"

	"github.com/docker-werf/docker-werf/internal/retry"
)

// SharedTransport returns a function that makes, on its first call, a
// retry.Transport over a clone of http.DefaultTransport keeping
// maxIdlePerHost idle connections per host, and returns that same transport
// on every call. A package keeps one such function for the clients built
// without their own transport, so that they share connections and the
// per-host rate-limit gates.
func SharedTransport(maxIdlePerHost int) func() http.RoundTripper {
	return sync.OnceValue(func() http.RoundTripper {
		t := http.DefaultTransport.(*http.Transport).Clone()
		t.MaxIdleConnsPerHost = maxIdlePerHost
		return retry.NewTransport(t)
	})
}

// CheckTransport returns an error for a nil transport given as an option.
func CheckTransport(rt http.RoundTripper) error {
	if rt == nil {
		return errors.New("nil transport")
	}
	return nil
}

// CheckPageSize returns an error for a page size given as an option outside
// 1..max.
func CheckPageSize(n, max int) error {
	if n < 1 || n > max {
		return fmt.Errorf("page size %d out of range 1..%d", n, max)
	}
	return nil
}

// IsBaseURL reports whether u is an http or https URL with a host and no
// user info, query or fragment: something API paths can be appended to.
func IsBaseURL(u *url.URL) bool {
	return (u.Scheme == "https" || u.Scheme == "http") && u.Host != "" && u.User == nil && u.RawQuery == "" &&
		u.Fragment == ""
}

// DecodeJSON decodes at most limit bytes of resp's body into v, then drains
// and closes the body (see Discard). Its error is the decoder's.
func DecodeJSON(resp *http.Response, limit int64, v any) error {
	err := json.NewDecoder(io.LimitReader(resp.Body, limit)).Decode(v)
	Discard(resp)
	return err
}

// Discard drains (a little of) and closes a body so that the connection can
// be reused.
func Discard(resp *http.Response) {
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	_ = resp.Body.Close()
}
