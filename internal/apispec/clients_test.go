package apispec

import (
	"net/http/httptest"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"gotest.tools/v3/assert"
)

// clientRequests are the requests the native clients send (read from
// internal/{acr,dockerhub,ghcr,gitlabapi,harbor}), each checked against its vendor's
// description. The backends' own fakes check the same through Middleware;
// this table shows in one place that every operation a client names exists.
var clientRequests = []struct {
	vendor, method, target, body string
	header                       map[string]string
}{
	// ghcr: owner detection, then the package's versions (org, the token's user, another user).
	{vendor: "github", method: "GET", target: "/users/octo"},
	{vendor: "github", method: "GET", target: "/user"},
	{vendor: "github", method: "GET", target: "/orgs/octo/packages/container/app/versions?per_page=100"},
	{vendor: "github", method: "GET", target: "/orgs/octo/packages/container/app/versions?per_page=100&page=2"},
	{vendor: "github", method: "GET", target: "/orgs/octo/packages/container/app/versions/42"},
	{vendor: "github", method: "DELETE", target: "/orgs/octo/packages/container/app/versions/42"},
	{vendor: "github", method: "GET", target: "/user/packages/container/app%2Fsub/versions?per_page=100"},
	{vendor: "github", method: "GET", target: "/user/packages/container/app/versions/42"},
	{vendor: "github", method: "DELETE", target: "/user/packages/container/app/versions/42"},
	{vendor: "github", method: "GET", target: "/users/octo/packages/container/app/versions?per_page=100&page=3"},
	{vendor: "github", method: "GET", target: "/users/octo/packages/container/app/versions/42"},
	{vendor: "github", method: "DELETE", target: "/users/octo/packages/container/app/versions/42"},

	// harbor: artifacts with tags, one artifact, untag, delete.
	{vendor: "harbor", method: "GET", target: harborRepo + "/artifacts?page=1&page_size=100&with_tag=true&with_immutable_status=true&with_accessory=true"},
	{vendor: "harbor", method: "GET", target: harborRepo + "/artifacts/sha256:0123?with_tag=true&with_immutable_status=true"},
	{vendor: "harbor", method: "GET", target: harborRepo + "/artifacts/v1?with_tag=false"},
	{vendor: "harbor", method: "DELETE", target: harborRepo + "/artifacts/sha256:0123/tags/v1"},
	{vendor: "harbor", method: "DELETE", target: harborRepo + "/artifacts/sha256:0123"},

	// dockerhub: a token, tags, one tag, delete (the undescribed route).
	{vendor: "dockerhub", method: "POST", target: "/v2/auth/token", body: `{"identifier":"me","secret":"s"}`,
		header: map[string]string{"Content-Type": "application/json"}},
	{vendor: "dockerhub", method: "GET", target: "/v2/namespaces/ns/repositories/app/tags?page=1&page_size=100",
		header: map[string]string{"Authorization": "Bearer t"}},
	{vendor: "dockerhub", method: "GET", target: "/v2/namespaces/ns/repositories/app/tags/v1",
		header: map[string]string{"Authorization": "Bearer t"}},
	{vendor: "dockerhub", method: "DELETE", target: "/v2/repositories/ns/app/tags/v1/",
		header: map[string]string{"Authorization": "Bearer t"}},

	// gitlabapi: the project's registry repositories, their tags, one tag, delete, the protection rules.
	{vendor: "gitlab", method: "GET", target: "/api/v4/projects/group%2Fproject/registry/repositories?tags=false&per_page=100",
		header: map[string]string{"PRIVATE-TOKEN": "t"}},
	{vendor: "gitlab", method: "GET", target: "/api/v4/projects/42/registry/repositories/7/tags?per_page=100&page=2",
		header: map[string]string{"JOB-TOKEN": "t"}},
	{vendor: "gitlab", method: "GET", target: "/api/v4/projects/42/registry/repositories/7/tags/v1"},
	{vendor: "gitlab", method: "DELETE", target: "/api/v4/projects/42/registry/repositories/7/tags/v1"},
	{vendor: "gitlab", method: "GET", target: "/api/v4/projects/42/registry/protection/tag/rules"},

	// acr: token exchange, tags (paged by last=), one tag, a manifest, untag, delete.
	{vendor: "acr", method: "POST", target: "/oauth2/exchange",
		body:   "access_token=entra&grant_type=access_token&service=r.azurecr.io&tenant=t",
		header: map[string]string{"Content-Type": "application/x-www-form-urlencoded"}},
	{vendor: "acr", method: "POST", target: "/oauth2/token",
		body:   "grant_type=refresh_token&refresh_token=r&scope=repository%3Ateam%2Fapp%3Apull%2Cdelete&service=r.azurecr.io",
		header: map[string]string{"Content-Type": "application/x-www-form-urlencoded"}},
	{vendor: "acr", method: "GET", target: "/acr/v1/team%2Fapp/_tags?n=100&orderby=timedesc",
		header: map[string]string{"Authorization": "Bearer a"}},
	{vendor: "acr", method: "GET", target: "/acr/v1/team%2Fapp/_tags?last=v1&n=100&orderby=timedesc",
		header: map[string]string{"Authorization": "Bearer a"}},
	{vendor: "acr", method: "GET", target: "/acr/v1/team%2Fapp/_tags/v1", header: map[string]string{"Authorization": "Bearer a"}},
	{vendor: "acr", method: "GET", target: "/acr/v1/team%2Fapp/_manifests/sha256:0123", header: map[string]string{"Authorization": "Bearer a"}},
	{vendor: "acr", method: "DELETE", target: "/acr/v1/team%2Fapp/_tags/v1", header: map[string]string{"Authorization": "Bearer a"}},
	{vendor: "acr", method: "DELETE", target: "/v2/team/app/manifests/sha256:0123", header: map[string]string{"Authorization": "Bearer a"}},
}

func TestClientOperationsAreDescribed(t *testing.T) {
	for _, tc := range clientRequests {
		t.Run(tc.vendor+" "+tc.method+" "+tc.target, func(t *testing.T) {
			req := httptest.NewRequest(tc.method, tc.target, strings.NewReader(tc.body))
			for k, v := range tc.header {
				req.Header.Set(k, v)
			}
			assert.NilError(t, mustLoad(t, tc.vendor).CheckRequest(req))
		})
	}
}

// TestNotLinkedIntoBinaries: the validator is for tests only; neither binary
// may carry it.
func TestNotLinkedIntoBinaries(t *testing.T) {
	gobin := filepath.Join(runtime.GOROOT(), "bin", "go")
	cmd := exec.Command(gobin, "list", "-deps", "./cli-plugin", "./credhelper")
	cmd.Dir = filepath.Join("..", "..")
	out, err := cmd.CombinedOutput()
	assert.NilError(t, err, string(out))
	for _, dep := range strings.Fields(string(out)) {
		if strings.HasSuffix(dep, "/internal/apispec") || strings.HasPrefix(dep, "github.com/getkin/kin-openapi") {
			t.Errorf("%s is linked into the binaries", dep)
		}
	}
}
