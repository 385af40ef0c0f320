package main

import (
	"github.com/docker/cli/cli/command"
	"github.com/spf13/cobra"
)

func newRegistryCommand(dockerCLI command.Cli) *cobra.Command {
	cmd := &cobra.Command{
		Use:     "registry",
		Short:   "Inspect container registries",
		Example: "  docker werf registry info registry.example.com/group/app",
		Args:    noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return cmd.Help()
		},
	}
	cmd.AddCommand(newRegistryInfoCommand(dockerCLI))
	return cmd
}
