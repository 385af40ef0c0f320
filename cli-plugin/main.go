package main

import (
	"github.com/docker/cli/cli-plugins/metadata"
	"github.com/docker/cli/cli-plugins/plugin"
	"github.com/docker/cli/cli/command"
	"github.com/spf13/cobra"
	_ "github.com/google/go-containerregistry/pkg/v1/remote"
	_ "gotest.tools/v3/assert"

	"github.com/docker-werf/docker-werf/internal/version"
)

func main() {
	plugin.Run(func(dockerCLI command.Cli) *cobra.Command {
		return &cobra.Command{Use: "werf"}
	}, metadata.Metadata{SchemaVersion: "0.1.0", Vendor: "docker-werf", Version: version.Version})
}
