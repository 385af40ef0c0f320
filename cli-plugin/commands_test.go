package main

import (
	"encoding/json"
	"testing"

	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"
)

// TestVersionJSON: `version --format json` is one JSON document on stdout.
func TestVersionJSON(t *testing.T) {
	p := newPluginTest(t)
	r := p.Run("version", "--format", "json")
	assert.NilError(t, r.Err)
	var v map[string]string
	assert.NilError(t, json.Unmarshal([]byte(r.Stdout), &v), r.Stdout)
	assert.Check(t, v["version"] != "" && v["goVersion"] != "" && v["platform"] != "", "%v", v)
	assert.Check(t, is.Equal(r.Stderr, ""))
}

// TestRegistryInfoRepoPrecedence: the REPO argument wins over WERF_REPO,
// which serves when there is no argument; without either the error names
// both.
func TestRegistryInfoRepoPrecedence(t *testing.T) {
	p := newPluginTest(t)
	r := p.Run("registry", "info", "--check=false")
	assert.Check(t, is.ErrorContains(r.Err, "give REPO or set WERF_REPO"))

	p.Setenv("WERF_REPO", "ghcr.io/acme/from-variable")
	r = p.Run("registry", "info", "--check=false", "--format", "json")
	assert.NilError(t, r.Err)
	assert.Check(t, is.Contains(r.Stdout, `"repository": "ghcr.io/acme/from-variable"`))

	r = p.Run("registry", "info", "--check=false", "--format", "json", "quay.io/acme/from-argument")
	assert.NilError(t, r.Err)
	assert.Check(t, is.Contains(r.Stdout, `"repository": "quay.io/acme/from-argument"`))
	assert.Check(t, is.Contains(r.Stdout, `"kind": "quay"`))
}

// TestCleanupBadInput: input errors name the flag and its variable and stop
// before any request (there is no registry to reach in this test).
func TestCleanupBadInput(t *testing.T) {
	for _, tc := range []struct {
		name string
		env  map[string]string
		args []string
		want string
	}{
		{"no repo", nil, nil, "--repo is required"},
		{"parallel flag", nil, []string{"--repo", "r.example.test/app", "--parallel", "0"}, "invalid --parallel 0: expected 1 to 256"},
		{"parallel variable", map[string]string{"WERF_CLEANUP_PARALLEL": "300"}, []string{"--repo", "r.example.test/app"}, "invalid --parallel 300"},
		// werf's WERF_PARALLEL is a boolean of its own: not read as --parallel
		{"werf's parallel variable", map[string]string{"WERF_PARALLEL": "true", "WERF_CLEANUP_PARALLEL": "0"},
			[]string{"--repo", "r.example.test/app"}, "invalid --parallel 0"},
		{"user without password", map[string]string{"WERF_REGISTRY_USERNAME": "ci"}, []string{"--repo", "r.example.test/app"},
			"--registry-username and --registry-password (WERF_REGISTRY_USERNAME, WERF_REGISTRY_PASSWORD) go together"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := newPluginTest(t)
			for k, v := range tc.env {
				p.Setenv(k, v)
			}
			r := p.Run(append([]string{"cleanup"}, tc.args...)...)
			assert.Check(t, is.ErrorContains(r.Err, tc.want))
			assert.Check(t, is.Equal(r.Stdout, ""))
		})
	}
}

// TestCIEnvUnknownSystem: a wrong CI_SYSTEM fails with the list of known
// ones, and stdout carries the statement that stops a job evaluating it.
func TestCIEnvUnknownSystem(t *testing.T) {
	p := newPluginTest(t)
	r := p.Run("ci-env", "gitlb")
	assert.Check(t, is.ErrorContains(r.Err, `unknown CI system "gitlb": expected one of`))
	assert.Check(t, is.Contains(r.Stdout, "exit 1"))
}
