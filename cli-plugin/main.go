// docker-werf is the `docker werf` CLI plugin: CI job environments and safe
// registry cleanup.
package main

import (
	"github.com/docker/cli/cli-plugins/metadata"
	"github.com/docker/cli/cli-plugins/plugin"

	"github.com/docker-werf/docker-werf/internal/version"
)

func main() {
	plugin.Run(newRootCommand, metadata.Metadata{
		SchemaVersion:    "0.1.0",
		Vendor:           "docker-werf",
		Version:          version.Version,
		ShortDescription: "werf's CI environment and registry cleanup for any CI system",
		URL:              "https://github.com/docker-werf/docker-werf",
	})
}
