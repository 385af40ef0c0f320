package main

import (
	"strings"
	"testing"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"
)

// TestArgumentErrors: a wrong number of arguments, an unknown command or an
// unknown flag says which command, where its help is and its usage line, as
// docker's own commands do, never cobra's "accepts 1 arg(s), received 0".
func TestArgumentErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
		want []string
	}{
		{"argument to cleanup", []string{"cleanup", "app"},
			[]string{`"werf cleanup" accepts no arguments.`, "See 'werf cleanup --help'.", "\n\nUsage:  werf cleanup [OPTIONS]\n"}},
		{"no registry for ecr-login", []string{"ecr-login"},
			[]string{`"werf ecr-login" requires exactly 1 argument.`, "See 'werf ecr-login --help'.", "Usage:  werf ecr-login REGISTRY\n"}},
		{"two CI systems", []string{"ci-env", "gitlab", "github"},
			[]string{`"werf ci-env" accepts at most 1 argument.`, "Usage:  werf ci-env [OPTIONS] [CI_SYSTEM]"}},
		{"two repositories", []string{"registry", "info", "a/b", "c/d"},
			[]string{`"werf registry info" accepts at most 1 argument.`, "Usage:  werf registry info [OPTIONS] REPO"}},
		{"argument to version", []string{"version", "now"}, []string{`"werf version" accepts no arguments.`}},
		{"typo of a command", []string{"cleanp"},
			[]string{`unknown command "cleanp" for "werf"`, "\n\nDid you mean this?\n\tcleanup\n", "See 'werf --help'.", "Usage:  werf COMMAND"}},
		{"typo of a registry command", []string{"registry", "inf"},
			[]string{`unknown command "inf" for "werf registry"`, "Did you mean this?\n\tinfo\n", "Usage:  werf registry COMMAND"}},
		{"no near command", []string{"xyzzy"}, []string{`unknown command "xyzzy" for "werf"`, "See 'werf --help'."}},
		{"unknown flag", []string{"version", "--bogus"}, []string{"unknown flag: --bogus", "See 'werf version --help'.", "Usage:  werf version"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := newPluginTest(t)
			r := p.Run(tc.args...)
			assert.Assert(t, r.Err != nil)
			for _, w := range tc.want {
				assert.Check(t, is.Contains(r.Err.Error(), w))
			}
			assert.Check(t, !strings.Contains(r.Err.Error(), "arg(s)"), r.Err.Error())
			if !strings.HasPrefix(tc.name, "typo") {
				assert.Check(t, !strings.Contains(r.Err.Error(), "Did you mean"), r.Err.Error())
			}
		})
	}
}

// TestEveryCommandSaysItsUsage: every command, given arguments it does not
// take, answers with its own help pointer and usage line.
func TestEveryCommandSaysItsUsage(t *testing.T) {
	visitCommands(newRootCommand(&fakeCLI{}), func(c *cobra.Command) {
		path := strings.Fields(c.CommandPath())[1:]
		t.Run(c.CommandPath(), func(t *testing.T) {
			p := newPluginTest(t)
			r := p.Run(append(path, "zz1", "zz2", "zz3")...)
			assert.Assert(t, r.Err != nil)
			assert.Check(t, is.Contains(r.Err.Error(), "See '"+c.CommandPath()+" --help'.\n\nUsage:  "+c.CommandPath()))
		})
	})
}

// TestEveryCommandHasExamples: each command's help shows how to call it.
func TestEveryCommandHasExamples(t *testing.T) {
	visitCommands(newRootCommand(&fakeCLI{}), func(c *cobra.Command) {
		assert.Check(t, strings.HasPrefix(c.Example, "  docker werf ") || strings.HasPrefix(c.Example, "  eval "),
			"%s: no examples, or not indented as docker's: %q", c.CommandPath(), c.Example)
	})
	p := newPluginTest(t)
	for _, cmd := range []string{"purge", "version"} {
		r := p.Run(cmd, "--help")
		assert.NilError(t, r.Err)
		assert.Check(t, is.Contains(r.Stdout, "\nExamples:\n  docker werf "+cmd))
	}
}

// TestGroupedHelpCoversEveryFlag: every flag of cleanup and purge is in one
// of the help's sections, so a new flag cannot land in no section.
func TestGroupedHelpCoversEveryFlag(t *testing.T) {
	root := newRootCommand(&fakeCLI{})
	for _, name := range groupedHelpCommands {
		c, _, err := root.Find([]string{name})
		assert.NilError(t, err)
		c.LocalFlags().VisitAll(func(f *pflag.Flag) {
			assert.Check(t, flagGroup(f.Name) != "", "%s --%s is in no section of flagGroups", name, f.Name)
		})
	}
	for name := range flagGroups {
		found := false
		for _, cmd := range groupedHelpCommands {
			c, _, _ := root.Find([]string{cmd})
			found = found || c.Flags().Lookup(name) != nil
		}
		assert.Check(t, found, "flagGroups names --%s, which no command has", name)
	}
}

// TestCleanupHelpSections: `cleanup --help` is docker's layout with the
// flags in sections, in order, each flag shown once in its own section.
func TestCleanupHelpSections(t *testing.T) {
	p := newPluginTest(t)
	r := p.Run("cleanup", "--help")
	assert.NilError(t, r.Err)
	out := r.Stdout
	assert.Check(t, strings.HasPrefix(out, "Usage:  werf cleanup [OPTIONS]\n\nDelete the tags of --repo that no policy keeps."), out)
	assert.Check(t, is.Contains(out, "\n\nExamples:\n  docker werf cleanup --repo"))
	// Sections in order, and nothing left for a catch-all one.
	last := 0
	sections := map[string]string{}
	for i, title := range flagGroupOrder {
		at := strings.Index(out, "\n\n"+title+":\n")
		assert.Assert(t, at > last, "section %q missing or out of order:\n%s", title, out)
		last = at
		end := len(out)
		if i+1 < len(flagGroupOrder) {
			if next := strings.Index(out, "\n\n"+flagGroupOrder[i+1]+":\n"); next > at {
				end = next
			}
		}
		sections[title] = out[at:end]
	}
	assert.Check(t, !strings.Contains(out, "\nOptions:\n"), out)
	flags := out[strings.Index(out, "\n\n"+groupScope+":\n"):]
	assert.Check(t, !strings.Contains(out, "--help"), "docker hides --help:\n%s", out)
	for flag, title := range map[string]string{
		"--repo string": groupScope, "--keep-last int": groupPolicies, "--without-kube": groupKubernetes,
		"--registry-password string": groupAccess, "--repo-quay-token string": groupCredentials,
		"--dry-run": groupRun, "--report string": groupRun,
	} {
		assert.Check(t, is.Contains(sections[title], flag), "%s not under %s", flag, title)
		assert.Check(t, is.Equal(strings.Count(flags, flag+" "), 1), "%s shown more than once", flag)
	}
	assert.Check(t, !strings.Contains(out, "--repo-implementation"), "a hidden flag is shown")
}

// TestPurgeHelpSections: purge shares cleanup's sections; --yes is in the
// run's.
func TestPurgeHelpSections(t *testing.T) {
	p := newPluginTest(t)
	r := p.Run("purge", "--help")
	assert.NilError(t, r.Err)
	at := strings.Index(r.Stdout, "\n"+groupRun+":\n")
	assert.Assert(t, at >= 0, "no %q section:\n%s", groupRun, r.Stdout)
	run := r.Stdout[at:]
	assert.Check(t, is.Contains(run, "-y, --yes"))
	assert.Check(t, !strings.Contains(r.Stdout, "\n"+groupPolicies+":\n"), "purge has no policies")
}
