package main

import (
	"testing"

	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"
)

// TestCleanupUsesTheJobTokenOnTheJobRegistry: in a GitLab job, cleanup of
// a repository on the job's own registry goes through the GitLab API with
// CI_JOB_TOKEN, whichever way CI_REGISTRY writes the host: GitLab's
// registry answers on 443 whether or not the address names the port. A flag
// wins over its variable.
func TestCleanupUsesTheJobTokenOnTheJobRegistry(t *testing.T) {
	for _, ciRegistry := range []string{
		"registry.example.test",
		"registry.example.test:443",
		"REGISTRY.example.test:443",
	} {
		t.Run(ciRegistry, func(t *testing.T) {
			p := newPluginTest(t)
			token := p.Secret("glcbt-")
			api := newFakeGitLab(t, token, "42", "registry.example.test", "group/app")
			p.Setenv("GITLAB_CI", "true")
			p.Setenv("CI_REGISTRY", ciRegistry)
			p.Setenv("CI_JOB_TOKEN", token)
			p.Setenv("CI_API_V4_URL", api.APIURL())
			p.Setenv("CI_PROJECT_ID", "42")
			p.Setenv("CI_PROJECT_PATH", "group/app")
			p.Setenv("WERF_CLEANUP_PARALLEL", "0") // the flag below wins
			p.Setenv("WERF_PARALLEL", "true")      // werf's boolean, not cleanup's

			r := p.Run("cleanup", "--repo", "registry.example.test/group/app", "--dry-run", "--parallel", "4",
				"--request-timeout", "5s", "--timeout", "30s")
			assert.NilError(t, r.Err, "stderr:\n%s", r.Stderr)
			assert.Check(t, is.DeepEqual(api.tokenHeaders(), []string{"JOB-TOKEN", "JOB-TOKEN"}))
		})
	}
}
