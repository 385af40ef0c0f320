package main

import (
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/docker-werf/docker-werf/internal/ci"
	"github.com/docker-werf/docker-werf/internal/registry"
	"github.com/docker-werf/docker-werf/internal/shellenv"
)

// Shell completion: docker's own completion script (docker completion bash,
// zsh, fish or powershell) asks a plugin through `docker __complete werf
// ...`, which cobra answers from what is registered here. Docker turns file
// completion off for plugins by default, so the flags that take a file or a
// directory say so here.

// flagCompletions says how each flag's value completes, by flag name, for
// every command that has the flag.
var flagCompletions = map[string]cobra.CompletionFunc{
	// values
	"shell":                   fixedValues(shells),
	"repo-container-registry": fixedValues(registryKinds),
	"repo-implementation":     fixedValues(registryKinds),
	"format":                  fixedValues(func() []string { return []string{formatJSON + "\tone JSON document"} }),

	// files
	"policy":           fileExtensions("yaml", "yml"),
	"werf-config":      fileExtensions("yaml", "yml"),
	"keep-list":        anyFile,
	"report":           anyFile,
	"output-file-path": anyFile,
	"kube-config":      anyFile,

	// directories
	"git-dir":         directories,
	"docker-config":   directories,
	"tmp-dir":         directories,
	"image-cache-dir": directories,
}

// registerCompletions registers the completions of every command below
// root: the values of flagCompletions' flags, and ci-env's CI_SYSTEM.
func registerCompletions(root *cobra.Command) {
	visitCommands(root, func(c *cobra.Command) {
		c.Flags().VisitAll(func(f *pflag.Flag) {
			if fn, ok := flagCompletions[f.Name]; ok {
				_ = c.RegisterFlagCompletionFunc(f.Name, fn)
			}
		})
		if c.Name() == "ci-env" && c.HasParent() && c.Parent() == root {
			c.ValidArgsFunction = ciSystems
		}
	})
}

// ciSystems completes ci-env's one argument with the names internal/ci
// knows.
func ciSystems(_ *cobra.Command, args []string, _ string) ([]cobra.Completion, cobra.ShellCompDirective) {
	if len(args) > 0 {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	return ci.Systems(), cobra.ShellCompDirectiveNoFileComp
}

// shells are the --shell values: the formats that are scripts for a shell
// (the data formats have flags of their own).
func shells() []string {
	var names []string
	for _, f := range shellenv.Formats() {
		if canCopyVariables(f) {
			names = append(names, string(f))
		}
	}
	return names
}

// registryKinds are the --repo-container-registry values, each with the
// product it names.
func registryKinds() []string {
	names := []string{"auto\tdetect from the address"}
	for _, k := range registry.Kinds() {
		names = append(names, string(k)+"\t"+registry.SpecFor(k).Name)
	}
	return names
}

func fixedValues(values func() []string) cobra.CompletionFunc {
	return func(*cobra.Command, []string, string) ([]cobra.Completion, cobra.ShellCompDirective) {
		return values(), cobra.ShellCompDirectiveNoFileComp
	}
}

func fileExtensions(ext ...string) cobra.CompletionFunc {
	return func(*cobra.Command, []string, string) ([]cobra.Completion, cobra.ShellCompDirective) {
		return ext, cobra.ShellCompDirectiveFilterFileExt
	}
}

func anyFile(*cobra.Command, []string, string) ([]cobra.Completion, cobra.ShellCompDirective) {
	return nil, cobra.ShellCompDirectiveDefault
}

func directories(*cobra.Command, []string, string) ([]cobra.Completion, cobra.ShellCompDirective) {
	return nil, cobra.ShellCompDirectiveFilterDirs
}
