package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/docker/cli/cli/command"
	"github.com/spf13/cobra"

	"github.com/docker-werf/docker-werf/internal/creds"
	"github.com/docker-werf/docker-werf/internal/ecr"
	"github.com/docker-werf/docker-werf/internal/registry"
)

func newECRLoginCommand(dockerCLI command.Cli) *cobra.Command {
	return &cobra.Command{
		Use:   "ecr-login REGISTRY",
		Short: "Log in to an Amazon ECR registry for this job, with the AWS credential chain",
		Long: `Log in to an Amazon ECR registry for this job: ask GetAuthorizationToken with the AWS
default credential chain (environment, shared config, SSO, IRSA, instance roles) and
keep the token in this job's docker-credential-werf scope until half its life.

docker-credential-werf runs it by itself for ECR hosts it has no fresh token for,
so a job needs no "aws ecr get-login-password | docker login".`,
		Example: "  docker werf ecr-login 123456789012.dkr.ecr.eu-west-1.amazonaws.com",
		Args:    exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runECRLogin(cmd.Context(), dockerCLI, args[0])
		},
	}
}

func runECRLogin(ctx context.Context, dockerCLI command.Cli, addr string) error {
	host, err := registry.HostKey(addr)
	if err != nil {
		return err
	}
	repo, err := registry.ParseRepository(host+"/docker-werf-login", registry.ECR, nil)
	if err != nil || repo.ECR == nil {
		return fmt.Errorf("%s is not an Amazon ECR registry: expected <account>.dkr.ecr.<region>.amazonaws.com",
			registry.RedactAddress(addr))
	}
	client, err := ecr.New(repo, ecr.Credentials{})
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	user, pass, refreshAt, err := client.RegistryLogin(ctx)
	if err != nil {
		return err
	}
	dir := filepath.Dir(dockerCLI.ConfigFile().Filename)
	r, err := creds.New(creds.Options{Env: os.Getenv, ConfigDir: dir})
	if err != nil {
		return err
	}
	if err := r.StoreExpiring(host, user, pass, refreshAt); err != nil {
		return err
	}
	fmt.Fprintf(dockerCLI.Err(), "Logged in to %s for this job; renewed after %s\n", host, refreshAt.Format(time.RFC3339))
	return nil
}
