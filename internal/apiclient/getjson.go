package apiclient

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
)

// JSONAPI is what GetJSON needs of a client: how it sends a request (with
// its authentication and headers) and what its errors say.
type JSONAPI struct {
	Vendor string // display name in messages: "Harbor", "GitHub"
	Name   string // the repository, in messages
	Limit  int64  // bound of a decoded answer
	Send   func(ctx context.Context, method, u string) (*http.Response, error)
	// SendError wraps an error of Send; nil: "<op> <Name> on <Vendor>: <err>".
	SendError func(op string, err error) error
	// AnswerError reads (and closes) an answer other than 200 OK and
	// classifies it; write says whether the operation deletes.
	AnswerError func(op string, write bool, resp *http.Response) error
	// DecodePath is how a decoding error names what it decoded (default
	// the request's RequestURI).
	DecodePath func(*url.URL) string
}

// GetJSON GETs u and decodes a 200 answer into v, returning the answer (its
// body closed) for its headers.
func GetJSON(ctx context.Context, a JSONAPI, op, u string, write bool, v any) (*http.Response, error) {
	resp, err := a.Send(ctx, http.MethodGet, u)
	if err != nil {
		if a.SendError != nil {
			return nil, a.SendError(op, err)
		}
		return nil, fmt.Errorf("%s %s on %s: %w", op, a.Name, a.Vendor, err)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, a.AnswerError(op, write, resp)
	}
	if err := DecodeJSON(resp, a.Limit, v); err != nil {
		path := resp.Request.URL.RequestURI()
		if a.DecodePath != nil {
			path = a.DecodePath(resp.Request.URL)
		}
		return nil, fmt.Errorf("%s %s on %s: decoding %s: %w", op, a.Name, a.Vendor, path, err)
	}
	return resp, nil
}

// URLPath is a JSONAPI.DecodePath naming the request by its path only.
func URLPath(u *url.URL) string { return u.Path }

// AnswerOfGET is a JSONAPI.DecodePath naming "the answer of GET <path>".
func AnswerOfGET(u *url.URL) string { return "the answer of GET " + u.Path }

// AsSent is a JSONAPI.SendError for a Send whose errors say all already.
func AsSent(_ string, err error) error { return err }
