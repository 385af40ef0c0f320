package main

import (
	"fmt"
	"os"

	"github.com/docker/cli/cli-plugins/plugin"
	"github.com/docker/cli/cli/command"
	"github.com/spf13/cobra"

	"github.com/docker-werf/docker-werf/internal/flagenv"
)

func newRootCommand(dockerCLI command.Cli) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "werf",
		Short: "werf's CI environment and registry cleanup for any CI system",
		// Without Args and RunE cobra prints help and exits 0 for an unknown
		// subcommand, which would hide typos in CI scripts.
		Args: cobra.NoArgs,
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
	cmd.SetFlagErrorFunc(func(c *cobra.Command, err error) error {
		return fmt.Errorf("%w\nSee '%s --help'", err, c.CommandPath())
	})
	cmd.AddCommand(
		newVersionCommand(dockerCLI),
		newRegistryCommand(dockerCLI),
		newCIEnvCommand(dockerCLI),
		newCleanupCommand(dockerCLI),
		newPurgeCommand(dockerCLI),
		newECRLoginCommand(dockerCLI),
	)
	return cmd
}
