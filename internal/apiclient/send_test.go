package apiclient

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"
)

func TestSend(t *testing.T) {
	var got *http.Request
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { got = r }))
	defer srv.Close()
	resp, err := Send(context.Background(), srv.Client(), http.MethodDelete, WithQuery(srv.URL+"/x", url.Values{"a": {"1"}}),
		"Authorization", BasicAuth("u", "p:w"), "Accept", "application/json")
	if err != nil {
		t.Fatal(err)
	}
	Discard(resp)
	want, _ := http.NewRequest(http.MethodGet, "http://h/", nil)
	want.SetBasicAuth("u", "p:w")
	if got.Method != http.MethodDelete || got.URL.RequestURI() != "/x?a=1" ||
		got.Header.Get("Authorization") != want.Header.Get("Authorization") || got.Header.Get("Accept") != "application/json" {
		t.Errorf("sent %s %s %v", got.Method, got.URL.RequestURI(), got.Header)
	}
	if u := WithQuery("http://h/x", nil); u != "http://h/x" {
		t.Errorf("WithQuery(no query) = %q", u)
	}
	if _, err := Send(context.Background(), srv.Client(), "GET", "http://[::1"); err == nil {
		t.Error("Send of a bad URL gave no error")
	}
}
