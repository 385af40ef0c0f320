package main

import (
	"testing"

	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"

	"github.com/docker-werf/docker-werf/internal/jsonout/jsoncheck"
	"github.com/docker-werf/docker-werf/internal/registry"
)

// TestRegistryInfoJSONDialect: registry info --format json, for every kind
// of registry, has lowerCamel keys only (no Go field names such as Method or
// UntagSafe) and no HTML escapes: "/v2/<name>/manifests/<tag>" is printed
// as it is, not as "\u003cname\u003e".
func TestRegistryInfoJSONDialect(t *testing.T) {
	p := newPluginTest(t)
	sawAngle := false
	for _, k := range registry.Kinds() {
		r := p.Run("registry", "info", "--check=false", "--format", "json", "--repo-container-registry", string(k),
			"registry.example.test/acme/app")
		assert.NilError(t, r.Err, k)
		assert.Check(t, is.Len(jsoncheck.Problems([]byte(r.Stdout)), 0), "%s:\n%s", k, r.Stdout)
		sawAngle = sawAngle || is.Contains(r.Stdout, "<")().Success()
	}
	assert.Check(t, sawAngle, "no output had a < to escape")

	r := p.Run("registry", "info", "--check=false", "--format", "json", "123456789012.dkr.ecr.eu-west-1.amazonaws.com/app")
	assert.NilError(t, r.Err)
	assert.Check(t, is.Len(jsoncheck.Problems([]byte(r.Stdout)), 0), r.Stdout)
	for _, key := range []string{`"ecr": {`, `"account": "123456789012"`, `"fips": false`, `"method": "ecr-batch-delete-by-tag"`,
		`"untagSafe": `, `"untagDeletesImage": true`, `"credentials": [`} {
		assert.Check(t, is.Contains(r.Stdout, key))
	}
}

// TestVersionJSONDialect: version --format json is in the same dialect.
func TestVersionJSONDialect(t *testing.T) {
	r := newPluginTest(t).Run("version", "--format", "json")
	assert.NilError(t, r.Err)
	assert.Check(t, is.Len(jsoncheck.Problems([]byte(r.Stdout)), 0), r.Stdout)
}
