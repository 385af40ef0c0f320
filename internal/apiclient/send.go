package apiclient

import (
	"context"
	"encoding/base64"
	"net/http"
	"net/url"
)

// Send runs one request without a body through hc, with the header pairs
// given (name, value, name, value...). The caller closes the response.
func Send(ctx context.Context, hc *http.Client, method, u string, header ...string) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, method, u, nil)
	if err != nil {
		return nil, err
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	return hc.Do(req)
}

// BasicAuth is the Authorization value of HTTP Basic authentication, as
// http.Request.SetBasicAuth makes it.
func BasicAuth(username, password string) string {
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(username+":"+password))
}

// WithQuery returns u with q appended after "?" when q holds anything.
func WithQuery(u string, q url.Values) string {
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	return u
}
