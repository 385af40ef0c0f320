package main

import (
	"fmt"
	"runtime"

	"github.com/docker/cli/cli/command"
	"github.com/spf13/cobra"

	"github.com/docker-werf/docker-werf/internal/flagenv"
	"github.com/docker-werf/docker-werf/internal/jsonout"
	"github.com/docker-werf/docker-werf/internal/version"
)

type versionOptions struct {
	format string
}

func newVersionCommand(dockerCLI command.Cli) *cobra.Command {
	var opts versionOptions
	cmd := &cobra.Command{
		Use:   "version",
		Short: "Show the docker-werf version",
		Example: `  docker werf version
  docker werf version --format json`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runVersion(dockerCLI, opts)
		},
	}
	addFormatFlag(cmd, &opts.format, "WERF_VERSION_FORMAT")
	return cmd
}

func runVersion(dockerCLI command.Cli, opts versionOptions) error {
	info := struct {
		Version   string `json:"version"`
		Commit    string `json:"commit"`
		GoVersion string `json:"goVersion"`
		Platform  string `json:"platform"`
	}{version.Version, version.Commit, runtime.Version(), runtime.GOOS + "/" + runtime.GOARCH}
	if opts.format == formatJSON {
		return jsonout.Write(dockerCLI.Out(), info)
	}
	_, err := fmt.Fprintf(dockerCLI.Out(), "docker-werf %s (commit %s, %s, %s)\n",
		info.Version, info.Commit, info.GoVersion, info.Platform)
	return err
}

const formatJSON = "json"

// addFormatFlag adds docker's --format flag; only "json" and the default
// human-readable output exist, and anything else is rejected. Each command
// has its own variable (WERF_<COMMAND>_FORMAT): a job that sets one for
// cleanup's report must not turn ci-env's script into JSON.
func addFormatFlag(cmd *cobra.Command, format *string, env string) {
	cmd.Flags().StringVar(format, "format", "", `Output format: "json" or empty for text`)
	flagenv.Bind(cmd.Flags(), "format", env)
	prev := cmd.PreRunE
	cmd.PreRunE = func(c *cobra.Command, args []string) error {
		if *format != "" && *format != formatJSON {
			return fmt.Errorf("invalid --format %q: expected %q or empty", *format, formatJSON)
		}
		if prev != nil {
			return prev(c, args)
		}
		return nil
	}
}
