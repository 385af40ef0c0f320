package main

import (
	"errors"
	"strings"
	"testing"

	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"
)

// TestCIEnvUnknownFlag: ci-env answers an unknown flag as every other command
// does (docker's "unknown flag", where its help is, its usage line) and still
// writes the failure statement that stops a job evaluating its output.
func TestCIEnvUnknownFlag(t *testing.T) {
	p := newPluginTest(t)
	r := p.Run("ci-env", "--bogus")
	assert.Assert(t, r.Err != nil)
	assert.Check(t, is.Contains(r.Err.Error(),
		"unknown flag: --bogus\nSee 'werf ci-env --help'.\n\nUsage:  werf ci-env [OPTIONS] [CI_SYSTEM]\n"))
	var u *usageErr
	assert.Check(t, errors.As(r.Err, &u), "%T is not a usage error", r.Err)
	assert.Check(t, is.Contains(r.Stdout, "docker werf ci-env failed (the error is on stderr)"))
	assert.Check(t, !strings.Contains(r.Err.Error(), "--help'\n"), r.Err.Error())
}
