package main

import (
	"bytes"
	"context"
	"io"
	"strings"
	"testing"

	"github.com/docker/cli/cli/streams"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"

	"github.com/docker-werf/docker-werf/internal/ci"
	"github.com/docker-werf/docker-werf/internal/registry"
)

// complete sends cobra's completion request as docker's completion scripts
// do (`docker __complete werf ARGS...`, which the plugin gets as is) to the
// plugin under a root like docker's, which turns file completion off unless
// a flag asks for it, and returns the values offered and the directive line
// (":4" is no file completion).
func complete(t *testing.T, args ...string) (values []string, directive string) {
	t.Helper()
	p := newPluginTest(t)
	var stdout, stderr bytes.Buffer
	cli := &fakeCLI{in: streams.NewIn(io.NopCloser(strings.NewReader(""))), out: streams.NewOut(&stdout),
		err: streams.NewOut(&stderr), configDir: p.ConfigDir}
	docker := &cobra.Command{Use: "docker", SilenceErrors: true, SilenceUsage: true}
	docker.CompletionOptions.SetDefaultShellCompDirective(cobra.ShellCompDirectiveNoFileComp)
	docker.AddCommand(newRootCommand(cli))
	docker.SetArgs(append([]string{cobra.ShellCompRequestCmd, "werf"}, args...))
	docker.SetOut(&stdout)
	docker.SetErr(&stderr)
	assert.NilError(t, docker.ExecuteContext(context.Background()))
	lines := strings.Split(strings.TrimSuffix(stdout.String(), "\n"), "\n")
	assert.Assert(t, len(lines) > 0 && strings.HasPrefix(lines[len(lines)-1], ":"), "no directive: %q", stdout.String())
	for _, l := range lines[:len(lines)-1] {
		name, _, _ := strings.Cut(l, "\t")
		values = append(values, name)
	}
	return values, lines[len(lines)-1]
}

// TestCompleteValues: the arguments and flags with a fixed set of values
// offer them, and no file names.
func TestCompleteValues(t *testing.T) {
	kinds := []string{"auto"}
	for _, k := range registry.Kinds() {
		kinds = append(kinds, string(k))
	}
	for _, tc := range []struct {
		name string
		args []string
		want []string
	}{
		{"CI system", []string{"ci-env", ""}, ci.Systems()},
		{"shell", []string{"ci-env", "--shell", ""}, []string{"sh", "bash", "zsh", "fish", "powershell", "cmdexe"}},
		{"cleanup's registry kind", []string{"cleanup", "--repo-container-registry", ""}, kinds},
		{"registry info's registry kind", []string{"registry", "info", "--repo-container-registry", ""}, kinds},
		{"format", []string{"cleanup", "--format", ""}, []string{"json"}},
		{"version's format", []string{"version", "--format", ""}, []string{"json"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			values, directive := complete(t, tc.args...)
			assert.Check(t, is.DeepEqual(values, tc.want))
			assert.Check(t, is.Equal(directive, ":4"))
		})
	}
	values, _ := complete(t, "ci-env", "")
	assert.Check(t, is.Contains(values, "gitlab"))
	assert.Check(t, is.Contains(values, "generic"))
	values, directive := complete(t, "ci-env", "gitlab", "")
	assert.Check(t, is.Len(values, 0), "ci-env takes one CI system")
	assert.Check(t, is.Equal(directive, ":4"))
}

// TestCompleteFiles: the flags that take a file complete file names (werf
// config files: YAML only), those that take a directory directories.
func TestCompleteFiles(t *testing.T) {
	const (
		anyFile    = ":0"
		extensions = ":8"
		dirs       = ":16"
	)
	for _, tc := range []struct {
		args      []string
		values    []string
		directive string
	}{
		{[]string{"cleanup", "--policy", ""}, []string{"yaml", "yml"}, extensions},
		{[]string{"cleanup", "--werf-config", ""}, []string{"yaml", "yml"}, extensions},
		{[]string{"cleanup", "--keep-list", ""}, nil, anyFile},
		{[]string{"cleanup", "--report", ""}, nil, anyFile},
		{[]string{"purge", "--report", ""}, nil, anyFile},
		{[]string{"cleanup", "--kube-config", ""}, nil, anyFile},
		{[]string{"ci-env", "-o", ""}, nil, anyFile},
		{[]string{"ci-env", "--output-file-path", ""}, nil, anyFile},
		{[]string{"cleanup", "--git-dir", ""}, nil, dirs},
		{[]string{"cleanup", "--image-cache-dir", ""}, nil, dirs},
		{[]string{"ci-env", "--docker-config", ""}, nil, dirs},
		{[]string{"ci-env", "--tmp-dir", ""}, nil, dirs},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			values, directive := complete(t, tc.args...)
			assert.Check(t, is.DeepEqual(values, tc.values))
			assert.Check(t, is.Equal(directive, tc.directive))
		})
	}
}

// TestCompletionTableNamesRealFlags: every flag flagCompletions names
// exists, and every flag whose help speaks of a file or a directory has a
// completion, so a new file flag does not go without one.
func TestCompletionTableNamesRealFlags(t *testing.T) {
	names := map[string]bool{}
	visitCommands(newRootCommand(&fakeCLI{}), func(c *cobra.Command) {
		c.LocalFlags().VisitAll(func(f *pflag.Flag) {
			names[f.Name] = true
			if f.Value.Type() != "string" || f.Hidden {
				return
			}
			usage := strings.ToLower(f.Usage)
			if strings.Contains(usage, "file") || strings.Contains(usage, "directory") {
				_, ok := flagCompletions[f.Name]
				assert.Check(t, ok || f.Name == "kube-config-base64",
					"%s --%s takes a file or directory (%q) but completes nothing", c.CommandPath(), f.Name, f.Usage)
			}
		})
	})
	for name := range flagCompletions {
		assert.Check(t, names[name], "flagCompletions names --%s, which no command has", name)
	}
}
