package main

import (
	"strings"
	"testing"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"

	"github.com/docker-werf/docker-werf/internal/duration"
)

const durationGrammar = "want a number with a unit s, m, h, d or w, e.g. 30s, 12h, 7d, 2w, 1w2d"

// TestEveryDurationFlagTakesTheGrammar: each duration flag of each command
// (by type, or by a name that says it is one) is a duration.Value, so it
// takes days and weeks and names the grammar when a value is wrong.
func TestEveryDurationFlagTakesTheGrammar(t *testing.T) {
	root := newRootCommand(&fakeCLI{})
	var found []string
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		c.Flags().VisitAll(func(f *pflag.Flag) {
			if f.Value.Type() != "duration" && !strings.Contains(f.Name, "timeout") &&
				!strings.HasSuffix(f.Name, "-than") {
				return
			}
			name := c.CommandPath() + " --" + f.Name
			found = append(found, name)
			_, ok := f.Value.(*duration.Value)
			assert.Check(t, ok, "%s is a %T, not a duration.Value", name, f.Value)
			for _, v := range []string{"7d", "2w", "1w2d12h", "30s"} {
				assert.Check(t, f.Value.Set(v), "%s %s", name, v)
			}
			assert.Check(t, is.ErrorContains(f.Value.Set("7x"), durationGrammar), name)
		})
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	walk(root)
	for _, want := range []string{"ci-env --cleanup-older-than", "cleanup --older-than", "cleanup --keep-younger-than",
		"cleanup --timeout", "cleanup --request-timeout", "purge --timeout", "purge --request-timeout", "registry info --timeout"} {
		assert.Check(t, is.Contains(strings.Join(found, "\n"), want))
	}
}

// TestDurationFlagErrors: a wrong duration, given as a flag or as its
// variable, names the grammar.
func TestDurationFlagErrors(t *testing.T) {
	p := newPluginTest(t)
	r := p.Run("ci-env", "--cleanup-older-than", "7x", "generic")
	assert.Check(t, is.ErrorContains(r.Err, `invalid argument "7x" for "--cleanup-older-than" flag: invalid duration "7x": `+durationGrammar))

	p.Setenv("WERF_OLDER_THAN", "7x")
	r = p.Run("cleanup", "--repo", "r.example.test/app")
	assert.Check(t, is.ErrorContains(r.Err, "invalid value in WERF_OLDER_THAN (for --older-than): expected a duration: a number with a unit s, m, h, d or w"))
	assert.Check(t, !strings.Contains(r.Err.Error(), "7x"), "a variable's value is not repeated: %v", r.Err)
}

// TestCIEnvCleanupOlderThanDays: ci-env takes --cleanup-older-than in days
// and weeks, from the flag and from its variable.
func TestCIEnvCleanupOlderThanDays(t *testing.T) {
	p := newPluginTest(t)
	r := p.Run("ci-env", "--keep-creds-store", "--cleanup-older-than", "7d", "generic")
	assert.NilError(t, r.Err)
	assert.Check(t, is.Contains(r.Stdout, "DOCKER_CONFIG="))
	p.Setenv("WERF_CI_ENV_CLEANUP_OLDER_THAN", "1w2d")
	r = p.Run("ci-env", "--keep-creds-store", "generic")
	assert.NilError(t, r.Err)
	assert.Check(t, is.ErrorContains(p.Run("ci-env", "--keep-creds-store", "--cleanup-older-than", "0", "generic").Err,
		"--cleanup-older-than must be positive"))
}
