package apitest

import (
	"net/http/httptest"
	"testing"
)

func TestCheckQuery(t *testing.T) {
	var why string
	r := httptest.NewRequest("GET", "/x?n=1&last=a", nil)
	if !CheckQuery(r, func(w string) { why = w }, "n", "last") || why != "" {
		t.Errorf("CheckQuery refused allowed parameters (%q)", why)
	}
	r = httptest.NewRequest("GET", "/x?n=1&page=2", nil)
	if CheckQuery(r, func(w string) { why = w }, "n") || why != "query parameter page" {
		t.Errorf("CheckQuery took page (%q)", why)
	}
}
