package apitest

import (
	"net/http"
	"strings"
	"sync"
	"testing"

	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"
)

// recorder keeps what the server reports instead of failing the test.
type recorder struct {
	testing.TB
	mu   sync.Mutex
	errs []string
}

func (r *recorder) Helper() {}

func (r *recorder) Errorf(format string, args ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.errs = append(r.errs, strings.TrimSpace(strings.ReplaceAll(format, "%", "")))
	_ = args
}

func (r *recorder) reported() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.errs)
}

func ok(w http.ResponseWriter, _ *http.Request) { WriteJSON(w, http.StatusOK, []any{}) }

// TestWrongRequestsAreReported: a request off the vendor's description (a
// path it does not have, a parameter out of range or unknown) is reported
// and refused, whatever the fake would answer.
func TestWrongRequestsAreReported(t *testing.T) {
	const repo = "/api/v2.0/projects/proj/repositories/team%252Fapp/artifacts"
	for _, tc := range []struct {
		name, target string
		bad          bool
	}{
		{"described", repo + "?page=1&page_size=100&with_tag=true", false},
		{"page_size over Harbor's maximum", repo + "?page=1&page_size=500", true},
		{"unknown parameter", repo + "?page=1&pagesize=10", true},
		{"unknown path", "/api/v2.0/projects/proj/repositories/team%252Fapp/artefacts", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := &recorder{TB: t}
			s := NewServer(rec, http.HandlerFunc(ok), WithSpec("harbor", nil))
			req, err := http.NewRequest(http.MethodGet, s.URL+tc.target, nil)
			assert.NilError(t, err)
			req.SetBasicAuth("u", "p")
			resp, err := s.Client().Do(req)
			assert.NilError(t, err)
			_ = resp.Body.Close()
			assert.Check(t, is.Equal(rec.reported() > 0, tc.bad))
			assert.Check(t, is.Equal(resp.StatusCode == http.StatusOK, !tc.bad))
			assert.Check(t, is.Len(s.Requests(), 1))
		})
	}
}

func TestFaults(t *testing.T) {
	s := NewServer(t, http.HandlerFunc(ok))
	s.AddFault(Fault{Match: "GET /a", Status: http.StatusTooManyRequests, Header: map[string]string{"Retry-After": "1"}})
	for _, want := range []int{http.StatusOK, http.StatusTooManyRequests, http.StatusOK} {
		path := "/a"
		if want == http.StatusOK && s.Count("GET /b") == 0 {
			path = "/b"
		}
		resp, err := s.Client().Get(s.URL + path)
		assert.NilError(t, err)
		_ = resp.Body.Close()
		assert.Check(t, is.Equal(resp.StatusCode, want), path)
	}
	assert.Check(t, is.DeepEqual(s.Requests(), []string{"GET /b", "GET /a", "GET /a"}))
}
