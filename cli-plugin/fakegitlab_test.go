package main

import (
	"encoding/json"
	"net/http"
	"strconv"
	"sync"
	"testing"

	"github.com/docker-werf/docker-werf/internal/apiclient/apitest"
)

// fakeGitLab is the part of the GitLab REST API (under /api/v4) a cleanup of
// an empty container repository reads: the registry repositories of one
// project and the (no) tags of its one repository, with GitLab's offset
// pagination headers, answering only the job token it was given (sent as
// JOB-TOKEN). Requests and answers are checked against GitLab's OpenAPI
// description (internal/apispec); any other request fails the test.
type fakeGitLab struct {
	t        *testing.T
	srv      *apitest.Server
	jobToken string
	project  string // numeric id
	host     string // the registry's host
	path     string // repository path, e.g. group/app

	mu      sync.Mutex
	headers []string // the token header of every request: "JOB-TOKEN", "PRIVATE-TOKEN" or ""
}

func newFakeGitLab(t *testing.T, jobToken, project, host, path string) *fakeGitLab {
	f := &fakeGitLab{t: t, jobToken: jobToken, project: project, host: host, path: path}
	f.srv = apitest.NewServer(t, http.HandlerFunc(f.serve), apitest.WithSpec("gitlab", nil))
	return f
}

// APIURL is the value of CI_API_V4_URL.
func (f *fakeGitLab) APIURL() string { return f.srv.URL + "/api/v4" }

func (f *fakeGitLab) tokenHeaders() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.headers...)
}

func (f *fakeGitLab) serve(w http.ResponseWriter, r *http.Request) {
	job, pat := r.Header.Get("JOB-TOKEN"), r.Header.Get("PRIVATE-TOKEN")
	f.mu.Lock()
	switch {
	case job != "":
		f.headers = append(f.headers, "JOB-TOKEN")
	case pat != "":
		f.headers = append(f.headers, "PRIVATE-TOKEN")
	default:
		f.headers = append(f.headers, "")
	}
	f.mu.Unlock()
	if job != f.jobToken || pat != "" {
		apitest.WriteJSON(w, http.StatusUnauthorized, map[string]string{"message": "401 Unauthorized"})
		return
	}
	base := "/api/v4/projects/" + f.project + "/registry/repositories"
	switch p := r.URL.EscapedPath(); {
	case r.Method == http.MethodGet && p == base && r.URL.Query().Get("tags") == "false":
		f.page(w, []any{map[string]any{"id": 7, "name": "",
			"path": f.path, "project_id": json.Number(f.project), "location": f.host + "/" + f.path,
			"created_at": "2024-01-10T13:38:57.391Z", "cleanup_policy_started_at": nil, "status": nil}})
	case r.Method == http.MethodGet && p == base+"/7/tags":
		f.page(w, []any{})
	default:
		apitest.Unexpected(f.t, w, r, "fake GitLab", "not a request of this fake", http.StatusNotFound,
			map[string]string{"message": "404 Not Found"})
	}
}

// page answers one page holding every item, with GitLab's headers.
func (f *fakeGitLab) page(w http.ResponseWriter, items []any) {
	h := w.Header()
	h.Set("X-Page", "1")
	h.Set("X-Per-Page", "100")
	h["X-Next-Page"] = []string{""}
	h["X-Prev-Page"] = []string{""}
	h.Set("X-Total", strconv.Itoa(len(items)))
	h.Set("X-Total-Pages", "1")
	apitest.WriteJSON(w, http.StatusOK, items)
}
