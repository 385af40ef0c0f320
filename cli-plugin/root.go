package main

import (
	"os"

	"github.com/docker/cli/cli-plugins/plugin"
	"github.com/docker/cli/cli/command"
	"github.com/spf13/cobra"

	"github.com/docker-werf/docker-werf/internal/flagenv"
	"github.com/docker-werf/docker-werf/internal/version"
)

func newRootCommand(dockerCLI command.Cli) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "werf",
		Short: "werf's CI environment and registry cleanup for any CI system",
		Example: `  eval "$(docker werf ci-env)"           # at the start of a CI job
  docker werf cleanup --repo registry.example.com/app --dry-run
  docker werf registry info registry.example.com/app`,
		// Without Args and RunE cobra prints help and exits 0 for an unknown
		// subcommand, which would hide typos in CI scripts.
		Args: noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return cmd.Help()
		},
		PersistentPreRunE: func(cmd *cobra.Command, args []string) error {
			// cobra runs only the nearest hook: the plugin's own must run
			// first, or --config and --context are silently ignored.
			if plugin.PersistentPreRunE != nil {
				if err := plugin.PersistentPreRunE(cmd, args); err != nil {
					return err
				}
			}
			return flagenv.Apply(cmd.Flags(), os.LookupEnv)
		},
	}
	cmd.SetFlagErrorFunc(flagError)
	// `docker werf --version`: docker passes the arguments after "werf" to
	// the plugin, where cobra's --version flag prints this line.
	cmd.Version = version.Version
	cmd.SetVersionTemplate("docker-werf {{.Version}}\n")
	cmd.Flags().BoolP("version", "v", false, "Print version information and quit")
	cmd.AddCommand(
		newVersionCommand(dockerCLI),
		newRegistryCommand(dockerCLI),
		newCIEnvCommand(dockerCLI),
		newCleanupCommand(dockerCLI),
		newPurgeCommand(dockerCLI),
		newECRLoginCommand(dockerCLI),
	)
	visitCommands(cmd, func(c *cobra.Command) {
		// As docker does for its plugins: the Use lines say [OPTIONS].
		c.DisableFlagsInUseLine = true
	})
	registerCompletions(cmd)
	setupHelp(cmd, dockerCLI)
	return cmd
}

// visitCommands calls fn for cmd and every command below it.
func visitCommands(cmd *cobra.Command, fn func(*cobra.Command)) {
	fn(cmd)
	for _, c := range cmd.Commands() {
		visitCommands(c, fn)
	}
}
