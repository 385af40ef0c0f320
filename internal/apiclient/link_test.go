package apiclient

import (
	"net/http"
	"net/url"
	"slices"
	"testing"
)

func TestSplitLinks(t *testing.T) {
	tests := []struct {
		in   string
		want []string
	}{
		{`<a>; rel="next"`, []string{`<a>; rel="next"`}},
		{`<a?x=1,2>; rel="next", <b>; rel="last"`, []string{`<a?x=1,2>; rel="next"`, ` <b>; rel="last"`}},
		{``, []string{``}},
	}
	for _, tt := range tests {
		if got := SplitLinks(tt.in); !slices.Equal(got, tt.want) {
			t.Errorf("SplitLinks(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestRelNext(t *testing.T) {
	for params, want := range map[string]bool{
		` rel="next"`:            true,
		`rel=next`:               true,
		` REL="Next"`:            true,
		` rel="prev next"`:       true,
		` rel="last"`:            false,
		` title="next"`:          false,
		` type="x"; rel="next"`:  true,
		``:                       false,
		` rel="nextpage"`:        false,
		` rel="next"; rel="foo"`: true,
	} {
		if got := RelNext(params); got != want {
			t.Errorf("RelNext(%q) = %v, want %v", params, got, want)
		}
	}
}

func TestSameHost(t *testing.T) {
	tests := []struct {
		base, link string
		want       bool
	}{
		{"https://api.github.com", "https://API.github.com/x", true},
		{"https://api.github.com", "https://api.github.com:443/x", true},
		{"https://api.github.com", "https://api.github.com:8443/x", false},
		{"http://gitlab.local", "http://gitlab.local:80/x", true},
		{"https://api.github.com", "https://evil.example/x", false},
		{"http://127.0.0.1:8080", "http://127.0.0.1/x", true},
	}
	for _, tt := range tests {
		b, _ := url.Parse(tt.base)
		l, _ := url.Parse(tt.link)
		if got := SameHost(b, l); got != tt.want {
			t.Errorf("SameHost(%s, %s) = %v, want %v", tt.base, tt.link, got, tt.want)
		}
	}
}

func TestNextLink(t *testing.T) {
	base, _ := url.Parse("https://api.example.com/api/v4")
	req, _ := url.Parse("https://api.example.com/api/v4/projects/1/tags?page=1")
	tests := []struct {
		links   []string
		want    string
		wantErr string
	}{
		{nil, "", ""},
		{[]string{`<https://api.example.com/api/v4/projects/1/tags?page=2>; rel="next", <x>; rel="last"`},
			"https://api.example.com/api/v4/projects/1/tags?page=2", ""},
		{[]string{`<x>; rel="first"`, `</api/v4/projects/1/tags?page=3#f>; rel="next"`},
			"https://api.example.com/api/v4/projects/1/tags?page=3", ""},
		{[]string{`<http://api.example.com:443/p?page=2>; rel="next"`}, "https://api.example.com/p?page=2", ""},
		{[]string{`<https://evil.example/p?page=2>; rel="next"`}, "", "refusing Link to another host: https://evil.example/p?page=2"},
		{[]string{`<%zz>; rel="next"`}, "", `invalid Link "<%zz>"`},
		{[]string{`https://api.example.com/x; rel="next"`}, "", ""},
	}
	for _, tt := range tests {
		resp := &http.Response{Header: http.Header{"Link": tt.links}, Request: &http.Request{URL: req}}
		got, err := NextLink(resp, base)
		if got != tt.want {
			t.Errorf("NextLink(%q) = %q, want %q", tt.links, got, tt.want)
		}
		switch {
		case tt.wantErr == "" && err != nil:
			t.Errorf("NextLink(%q): %v", tt.links, err)
		case tt.wantErr != "" && (err == nil || len(err.Error()) < len(tt.wantErr) || err.Error()[:len(tt.wantErr)] != tt.wantErr):
			t.Errorf("NextLink(%q) error = %v, want %q...", tt.links, err, tt.wantErr)
		}
	}
}
