package apiclient

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
)

func TestSharedTransport(t *testing.T) {
	get := SharedTransport(16)
	if get() == nil || get() != get() {
		t.Fatal("SharedTransport does not return one transport")
	}
	if other := SharedTransport(16); other() == get() {
		t.Fatal("two SharedTransport functions share a transport")
	}
}

func TestCheckTransport(t *testing.T) {
	if err := CheckTransport(nil); err == nil || err.Error() != "nil transport" {
		t.Errorf("CheckTransport(nil) = %v", err)
	}
	if err := CheckTransport(http.DefaultTransport); err != nil {
		t.Errorf("CheckTransport(http.DefaultTransport) = %v", err)
	}
}

func TestCheckPageSize(t *testing.T) {
	tests := []struct {
		n, max int
		want   string
	}{
		{1, 100, ""},
		{100, 100, ""},
		{0, 100, "page size 0 out of range 1..100"},
		{101, 100, "page size 101 out of range 1..100"},
		{-5, 1000, "page size -5 out of range 1..1000"},
	}
	for _, tt := range tests {
		err := CheckPageSize(tt.n, tt.max)
		if got := fmt.Sprint(err); (tt.want == "" && err != nil) || (tt.want != "" && got != tt.want) {
			t.Errorf("CheckPageSize(%d, %d) = %v, want %q", tt.n, tt.max, err, tt.want)
		}
	}
}

func TestIsBaseURL(t *testing.T) {
	for raw, want := range map[string]bool{
		"https://hub.docker.com":        true,
		"http://127.0.0.1:8080/api/v4":  true,
		"ftp://example.com":             false,
		"https://":                      false,
		"/api":                          false,
		"https://user:pw@example.com":   false,
		"https://example.com/?page=2":   false,
		"https://example.com/#fragment": false,
	} {
		u, err := url.Parse(raw)
		if err != nil {
			t.Fatal(err)
		}
		if got := IsBaseURL(u); got != want {
			t.Errorf("IsBaseURL(%q) = %v, want %v", raw, got, want)
		}
	}
}

func TestDecodeJSON(t *testing.T) {
	tests := []struct {
		body    string
		limit   int64
		want    string
		wantErr bool
	}{
		{`{"name":"v1"}`, 1 << 10, "v1", false},
		{`{"name":"v1"}  trailing`, 1 << 10, "v1", false},
		{`{"name":"v1"}`, 5, "", true},
		{`<html>`, 1 << 10, "", true},
		{``, 1 << 10, "", true},
	}
	for _, tt := range tests {
		body := &closeRecorder{Reader: strings.NewReader(tt.body)}
		var v struct{ Name string }
		err := DecodeJSON(&http.Response{Body: body}, tt.limit, &v)
		if (err != nil) != tt.wantErr || v.Name != tt.want {
			t.Errorf("DecodeJSON(%q, %d) = %q, %v; want %q, error %v", tt.body, tt.limit, v.Name, err, tt.want, tt.wantErr)
		}
		if !body.closed {
			t.Errorf("DecodeJSON(%q, %d) left the body open", tt.body, tt.limit)
		}
	}
}

type closeRecorder struct {
	io.Reader
	closed bool
}

func (c *closeRecorder) Close() error {
	c.closed = true
	return nil
}

func TestDiscard(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		_, _ = w.Write([]byte("body"))
	}))
	defer srv.Close()
	resp, err := http.Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	Discard(resp)
	if _, err := resp.Body.Read(make([]byte, 1)); err == nil {
		t.Error("the body is still open")
	}
}
