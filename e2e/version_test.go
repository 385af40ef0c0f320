package e2e

import (
	"encoding/json"
	"regexp"
	"strings"
	"testing"

	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"
	"gotest.tools/v3/icmd"

	"github.com/docker-werf/docker-werf/e2e/harness"
)

// semverRE is the regular expression of https://semver.org with Go's
// leading "v": what a user pins (v0.1.0) or reports (v0.1.0-dev+4b9850f).
var semverRE = regexp.MustCompile(`^v(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)` +
	`(?:-((?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*)(?:\.(?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*))*))?` +
	`(?:\+([0-9a-zA-Z-]+(?:\.[0-9a-zA-Z-]+)*))?$`)

// Every place that shows the version shows the same semantic version:
// `docker werf --version` and `-v`, `docker werf version` (text and JSON), the
// plugin metadata docker reads, and the credential helper's `version` and
// `--version`.
func TestVersionEverywhere(t *testing.T) {
	h := harness.New(t)
	env := harness.NewEnv(t).Set("DOCKER_HOST", noDaemon)

	meta := h.Run(env, env.Bins.Plugin, "docker-cli-plugin-metadata")
	meta.Assert(t, icmd.Success)
	var m map[string]string
	assert.NilError(t, json.Unmarshal([]byte(meta.Stdout()), &m))
	v := m["Version"]
	assert.Assert(t, semverRE.MatchString(v), "plugin metadata Version %q is not a semantic version", v)

	for _, flag := range []string{"--version", "-v"} {
		res := h.Plugin(env, flag)
		res.Assert(t, icmd.Success)
		assert.Check(t, is.Equal(res.Stdout(), "docker-werf "+v+"\n"), "docker werf %s", flag)
		assert.Check(t, is.Equal(res.Stderr(), ""), "docker werf %s", flag)
	}

	text := h.Plugin(env, "version")
	text.Assert(t, icmd.Success)
	assert.Check(t, strings.HasPrefix(text.Stdout(), "docker-werf "+v+" (commit "), "docker werf version: %q", text.Stdout())

	js := h.Plugin(env, "version", "--format", "json")
	js.Assert(t, icmd.Success)
	var info map[string]string
	assert.NilError(t, json.Unmarshal([]byte(js.Stdout()), &info))
	assert.Check(t, is.Equal(info["version"], v))

	for _, arg := range []string{"version", "--version"} {
		res := h.Helper(env, "", arg)
		res.Assert(t, icmd.Success)
		assert.Check(t, is.Equal(res.Stdout(), "docker-credential-werf (github.com/docker-werf/docker-werf) "+v+"\n"),
			"docker-credential-werf %s", arg)
	}

	// `docker werf version` takes no arguments and says so as docker does.
	extra := h.Plugin(env, "version", "extra")
	extra.Assert(t, icmd.Expected{ExitCode: 1, Err: "docker werf version"})
}
