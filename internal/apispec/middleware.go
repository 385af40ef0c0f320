package apispec

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"net"
	"net/http"
)

// Reporter is the part of testing.TB the middleware uses.
type Reporter interface {
	Helper()
	Errorf(format string, args ...any)
}

// Middleware wraps a fake's handler: each request must match an operation of
// the description and pass CheckRequest, and the fake's answer must pass
// Check. On a mismatch it reports t.Errorf (method, path, reason) and answers
// 501 Not Implemented instead of the fake's answer, so the client fails too
// and does not retry. The fake's answer is buffered until it returns;
// a handler that hijacks the connection answers unchecked.
func (s *Spec) Middleware(t Reporter, next http.Handler, opts ...Option) http.Handler {
	c := newConfig(opts)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := readBody(r)
		if err != nil {
			s.refuse(t, w, err)
			return
		}
		m, err := s.checkRequest(r.Context(), r, body, c)
		if err != nil {
			s.refuse(t, w, err)
			return
		}
		rec := &recorder{w: w, header: http.Header{}}
		next.ServeHTTP(rec, r)
		if rec.hijacked {
			return
		}
		if rec.status == 0 {
			rec.status = http.StatusOK
		}
		if err := s.checkResponse(r.Context(), m, rec.status, rec.header, rec.body.Bytes()); err != nil {
			s.refuse(t, w, err)
			return
		}
		for k, v := range rec.header {
			w.Header()[k] = v
		}
		w.WriteHeader(rec.status)
		_, _ = w.Write(rec.body.Bytes())
	})
}

func (s *Spec) refuse(t Reporter, w http.ResponseWriter, err error) {
	t.Helper()
	t.Errorf("apispec %s: %v", s.Vendor, err)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusNotImplemented)
	_ = json.NewEncoder(w).Encode(map[string]any{
		"errors":  []map[string]string{{"code": "APISPEC", "message": err.Error()}},
		"message": "apispec: " + err.Error(),
	})
}

// recorder buffers a handler's answer so that it can be checked before the
// client sees it.
type recorder struct {
	w        http.ResponseWriter
	header   http.Header
	status   int
	body     bytes.Buffer
	hijacked bool
}

func (r *recorder) Header() http.Header { return r.header }

func (r *recorder) WriteHeader(status int) {
	if r.status == 0 {
		r.status = status
	}
}

func (r *recorder) Write(p []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	return r.body.Write(p)
}

// Flush does nothing: the answer goes out once it is checked.
func (r *recorder) Flush() {}

func (r *recorder) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	h, ok := r.w.(http.Hijacker)
	if !ok {
		return nil, nil, errors.New("apispec: the response writer cannot be hijacked")
	}
	r.hijacked = true
	return h.Hijack()
}
