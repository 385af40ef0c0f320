package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/docker/cli/cli/command"
	"github.com/spf13/cobra"

	"github.com/docker-werf/docker-werf/internal/cleanup"
	"github.com/docker-werf/docker-werf/internal/flagenv"
	"github.com/docker-werf/docker-werf/internal/policy"
)

type purgeOptions struct {
	repo       string
	registry   repoOptions
	connection connectionOptions
	native     nativeCredentials
	yes        bool
	dryRun     bool
	format     string
	report     string
}

func newPurgeCommand(dockerCLI command.Cli) *cobra.Command {
	var opts purgeOptions
	cmd := &cobra.Command{
		Use:   "purge [OPTIONS]",
		Short: "Delete every tag of a repository",
		Long:  "Delete every tag of --repo, after confirmation on a terminal, or with --yes.",
		Example: `  docker werf purge --repo registry.example.com/app-review-42 --dry-run
  docker werf purge --repo registry.example.com/app-review-42 --yes --report purge.json`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runPurge(cmd.Context(), dockerCLI, opts)
		},
	}
	fs := cmd.Flags()
	addRepoArg(fs, &opts.repo)
	addRepoFlags(fs, &opts.registry)
	addConnectionFlags(fs, &opts.connection, "WERF_PURGE")
	opts.native = addNativeCredentialFlags(fs)
	fs.BoolVarP(&opts.yes, "yes", "y", false, "Do not ask for confirmation")
	flagenv.Bind(fs, "yes", "WERF_YES")
	fs.BoolVar(&opts.dryRun, "dry-run", false, "Show what would be deleted; send no write request")
	flagenv.Bind(fs, "dry-run", "WERF_DRY_RUN")
	fs.StringVar(&opts.report, "report", "", "Also write every tag and its outcome as JSON to this file")
	flagenv.Bind(fs, "report", "WERF_PURGE_REPORT")
	addFormatFlag(cmd, &opts.format, "WERF_PURGE_FORMAT")
	return cmd
}

func runPurge(ctx context.Context, dockerCLI command.Cli, opts purgeOptions) error {
	reg, repo, err := openRegistry(dockerCLI, opts.repo, opts.registry, opts.connection, opts.native)
	if err != nil {
		return err
	}
	ctx, stop := runContext(ctx, opts.connection)
	defer stop()
	out, err := newCleanupOutput(dockerCLI, repo, opts.format, opts.report, opts.dryRun)
	if err != nil {
		return err
	}
	items, err := cleanup.Inventory(ctx, reg.Registry, opts.connection.parallel, out.progress)
	if err != nil {
		return readError(ctx, repo, err)
	}
	if !opts.yes && !opts.dryRun {
		if err := confirmPurge(dockerCLI, repo, len(items)); err != nil {
			return err
		}
	}
	decisions := make([]policy.Decision, len(items))
	for i, it := range items {
		decisions[i] = policy.Decision{Tag: it.Tag, Reason: "purge"}
	}
	// Everything goes: deleting each manifest whole is one request for all
	// its tags.
	plan := cleanup.MakePlan(items, decisions, cleanup.PlanOptions{DeleteManifests: true, CannotUntag: reg.cannotUntag,
		UntagDeletesImage: reg.untagDeletesImage})
	return carryOutPlan(ctx, reg.Registry, plan, opts.dryRun, opts.connection.parallel, out)
}

func confirmPurge(dockerCLI command.Cli, repo string, n int) error {
	if !dockerCLI.In().IsTerminal() {
		return errors.New("docker werf purge deletes every tag: confirm with --yes (no terminal to ask on)")
	}
	fmt.Fprintf(dockerCLI.Err(), "Delete all %d tags of %s? Type the repository name to confirm: ", n, repo)
	answer, _ := bufio.NewReader(dockerCLI.In()).ReadString('\n')
	if strings.TrimSpace(answer) != repo {
		return errors.New("not confirmed; nothing was deleted")
	}
	return nil
}
