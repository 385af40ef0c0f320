package apispec

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
)

// Option changes how requests are matched.
type Option func(*config)

type config struct {
	prefix string
}

// WithPrefix names a path prefix the fake serves the API under that the
// description does not have, such as GitHub Enterprise Server's /api/v3.
// Requests outside it fail.
func WithPrefix(prefix string) Option {
	return func(c *config) { c.prefix = strings.TrimSuffix(prefix, "/") }
}

func newConfig(opts []Option) config {
	var c config
	for _, o := range opts {
		o(&c)
	}
	return c
}

// matched is a request found in the description.
type matched struct {
	method, uri string // as the client sent them
	input       *openapi3filter.RequestValidationInput
	undescribed *Undescribed
}

// CheckRequest validates a request against the operation it names: the
// method and path template, path, query and header parameters (required
// ones present, none the operation does not describe), the credentials a
// security scheme asks for, and the body. It reads and restores req.Body.
func (s *Spec) CheckRequest(req *http.Request, opts ...Option) error {
	body, err := readBody(req)
	if err != nil {
		return err
	}
	_, err = s.checkRequest(req.Context(), req, body, newConfig(opts))
	return err
}

// Check validates a recorded exchange: the request as CheckRequest does, and
// the response against the operation's responses. A status the operation
// does not describe fails below 400; error statuses the vendor leaves out
// (401, 429, 5xx are often missing) pass, described ones must match.
func (s *Spec) Check(req *http.Request, reqBody []byte, status int, header http.Header, respBody []byte, opts ...Option) error {
	m, err := s.checkRequest(req.Context(), req, reqBody, newConfig(opts))
	if err != nil {
		return err
	}
	return s.checkResponse(req.Context(), m, status, header, respBody)
}

func readBody(req *http.Request) ([]byte, error) {
	if req.Body == nil || req.Body == http.NoBody {
		return nil, nil
	}
	body, err := io.ReadAll(req.Body)
	req.Body.Close()
	req.Body = io.NopCloser(bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("%s %s: reading the request body: %w", req.Method, req.URL.RequestURI(), err)
	}
	return body, nil
}

func (s *Spec) checkRequest(ctx context.Context, req *http.Request, body []byte, c config) (*matched, error) {
	fail := func(format string, args ...any) error {
		return fmt.Errorf("%s %s: %s", req.Method, req.URL.RequestURI(), fmt.Sprintf(format, args...))
	}
	escaped := req.URL.EscapedPath()
	if c.prefix != "" {
		rest, ok := strings.CutPrefix(escaped, c.prefix)
		if !ok || (rest != "" && rest[0] != '/') {
			return nil, fail("the path is not below %s", c.prefix)
		}
		escaped = rest
	}
	if s.normalize != nil {
		escaped = s.normalize(escaped)
	}
	path, err := url.PathUnescape(escaped)
	if err != nil {
		return nil, fail("malformed path: %v", err)
	}
	r := req.Clone(ctx)
	u := *req.URL
	u.Path, u.RawPath = path, escaped
	r.URL = &u
	r.Body = io.NopCloser(bytes.NewReader(body))
	r.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(body)), nil }

	route, params, err := s.router.FindRoute(r)
	if err != nil {
		if und, ok := s.undescribedRoute(req.Method, escaped); ok {
			return &matched{undescribed: &und}, nil
		}
		switch {
		case errors.Is(err, routers.ErrMethodNotAllowed):
			return nil, fail("the %s description has this path but no %s operation on it", s.Vendor, req.Method)
		case errors.Is(err, routers.ErrPathNotFound):
			return nil, fail("no operation in the %s description has this path", s.Vendor)
		}
		return nil, fail("%v", err)
	}
	input := &openapi3filter.RequestValidationInput{
		Request:    r,
		PathParams: params,
		Route:      route,
		Options:    requestOptions(),
	}
	var problems []string
	if err := openapi3filter.ValidateRequest(ctx, input); err != nil {
		problems = append(problems, flatten(err)...)
	}
	problems = append(problems, undescribedQuery(route, r.URL.Query())...)
	if len(problems) > 0 {
		return nil, fail("%s %s%s: %s", route.Method, route.Server.URL, route.Path, strings.Join(problems, "; "))
	}
	return &matched{input: input, method: req.Method, uri: req.URL.RequestURI()}, nil
}

// undescribedQuery names the query parameters the operation does not
// describe: OpenAPI lets servers ignore them, so a misspelled one would
// otherwise pass.
func undescribedQuery(route *routers.Route, q url.Values) []string {
	known := map[string]bool{}
	for _, ps := range []openapi3.Parameters{route.PathItem.Parameters, route.Operation.Parameters} {
		for _, p := range ps {
			if p.Value != nil && p.Value.In == openapi3.ParameterInQuery {
				known[p.Value.Name] = true
			}
		}
	}
	var out []string
	for name := range q {
		if !known[name] {
			out = append(out, fmt.Sprintf("query parameter %q is not described", name))
		}
	}
	slices.Sort(out)
	return out
}

// authenticate checks that the credential a security scheme names is
// there; whether it is right is the fake's business.
func authenticate(_ context.Context, in *openapi3filter.AuthenticationInput) error {
	r := in.RequestValidationInput.Request
	sc := in.SecurityScheme
	switch sc.Type {
	case "http", "oauth2", "openIdConnect":
		if r.Header.Get("Authorization") == "" {
			return fmt.Errorf("no Authorization header (security scheme %q, %s %s)", in.SecuritySchemeName, sc.Type, sc.Scheme)
		}
	case "apiKey":
		var v string
		switch sc.In {
		case "header":
			v = r.Header.Get(sc.Name)
		case "query":
			v = r.URL.Query().Get(sc.Name)
		case "cookie":
			if c, err := r.Cookie(sc.Name); err == nil {
				v = c.Value
			}
		}
		if v == "" {
			return fmt.Errorf("no %s %s (security scheme %q)", sc.In, sc.Name, in.SecuritySchemeName)
		}
	}
	return nil
}

func (s *Spec) checkResponse(ctx context.Context, m *matched, status int, header http.Header, body []byte) error {
	if m.undescribed != nil {
		return nil
	}
	in := m.input
	op := in.Route.Operation
	fail := func(format string, args ...any) error {
		return fmt.Errorf("%s %s: response %d: %s", m.method, m.uri, status,
			fmt.Sprintf(format, args...))
	}
	if op.Responses.Status(status) == nil && op.Responses.Default() == nil {
		if status < 400 {
			return fail("the %s description of %s %s%s has no such status (it has %s)", s.Vendor, in.Route.Method,
				in.Route.Server.URL, in.Route.Path, strings.Join(statuses(op), ", "))
		}
		return nil
	}
	if header == nil {
		header = http.Header{}
	}
	err := openapi3filter.ValidateResponse(ctx, &openapi3filter.ResponseValidationInput{
		RequestValidationInput: in,
		Status:                 status,
		Header:                 header,
		Body:                   io.NopCloser(bytes.NewReader(body)),
		Options:                responseOptions(),
	})
	if err != nil {
		return fail("%s", strings.Join(flatten(err), "; "))
	}
	return nil
}

func statuses(op *openapi3.Operation) []string {
	var out []string
	for code := range op.Responses.Map() {
		out = append(out, code)
	}
	slices.SortFunc(out, func(a, b string) int {
		x, _ := strconv.Atoi(a)
		y, _ := strconv.Atoi(b)
		return x - y
	})
	return out
}

// flatten turns kin-openapi's (multi-)errors into one line each.
func flatten(err error) []string {
	var me openapi3.MultiError
	if errors.As(err, &me) {
		var out []string
		for _, e := range me {
			out = append(out, flatten(e)...)
		}
		return out
	}
	return []string{strings.Join(strings.Fields(err.Error()), " ")}
}

func requestOptions() *openapi3filter.Options {
	o := &openapi3filter.Options{
		MultiError:         true,
		AuthenticationFunc: authenticate,
		// The request is the client's: defaults are not written into it.
		SkipSettingDefaults: true,
	}
	o.WithCustomSchemaErrorFunc(schemaError)
	return o
}

func responseOptions() *openapi3filter.Options {
	o := &openapi3filter.Options{MultiError: true}
	o.WithCustomSchemaErrorFunc(schemaError)
	return o
}

// schemaError says where and why, without kin-openapi's dump of the whole
// schema and value.
func schemaError(err *openapi3.SchemaError) string {
	if p := err.JSONPointer(); len(p) > 0 {
		return "at /" + strings.Join(p, "/") + ": " + err.Reason
	}
	return err.Reason
}
