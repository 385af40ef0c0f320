package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/docker/cli/cli/command"
	"github.com/spf13/cobra"

	"github.com/docker-werf/docker-werf/internal/creds"
	"github.com/docker-werf/docker-werf/internal/dockerconfig/dockerauth"
	"github.com/docker-werf/docker-werf/internal/duration"
	"github.com/docker-werf/docker-werf/internal/flagenv"
	"github.com/docker-werf/docker-werf/internal/jsonout"
	"github.com/docker-werf/docker-werf/internal/registry"
	"github.com/docker-werf/docker-werf/internal/registryapi"
)

type registryInfoOptions struct {
	repo    repoOptions
	format  string
	check   bool
	timeout time.Duration
}

func newRegistryInfoCommand(dockerCLI command.Cli) *cobra.Command {
	var opts registryInfoOptions
	cmd := &cobra.Command{
		Use:   "info [OPTIONS] REPO",
		Short: "Show which registry stands behind REPO, how cleanup deletes there and which credentials it needs",
		Long: "Show which registry stands behind REPO, how cleanup deletes there and which credentials it needs.\n\n" +
			"REPO is a repository address such as registry.example.com/group/app or ns/app (Docker Hub). " +
			"With --check (the default) it also authenticates to the registry with the credentials of the " +
			"docker config and reports as whom.",
		Example: "  docker werf registry info ghcr.io/acme/app\n" +
			"  docker werf registry info --format json --check=false 123456789012.dkr.ecr.eu-west-1.amazonaws.com/app",
		Args: maxArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			repo := os.Getenv("WERF_REPO")
			if len(args) == 1 {
				repo = args[0]
			}
			if repo == "" {
				return errors.New("docker werf registry info needs a repository: give REPO or set WERF_REPO")
			}
			return runRegistryInfo(cmd.Context(), dockerCLI, repo, opts)
		},
	}
	fs := cmd.Flags()
	addRepoFlags(fs, &opts.repo)
	addFormatFlag(cmd, &opts.format, "WERF_REGISTRY_INFO_FORMAT")
	fs.BoolVar(&opts.check, "check", true, "Authenticate to the registry and report the result")
	flagenv.Bind(fs, "check", "WERF_REGISTRY_CHECK")
	fs.Var(duration.NewValue(&opts.timeout, 30*time.Second), "timeout", "Time limit for the access check")
	flagenv.Bind(fs, "timeout", "WERF_REGISTRY_TIMEOUT")
	return cmd
}

// registryInfo is the --format json document; its field names are an
// interface that scripts read, so they only ever gain fields.
type registryInfo struct {
	Repository  string                `json:"repository"`
	Host        string                `json:"host"`
	Path        string                `json:"path"`
	Kind        registry.Kind         `json:"kind"`
	KindSource  string                `json:"kindSource"`
	Name        string                `json:"name"`
	ECR         *registry.ECRInfo     `json:"ecr,omitempty"`
	Deletion    registry.Deletion     `json:"deletion"`
	Credentials []registry.Credential `json:"credentials"`
	Notes       string                `json:"notes,omitempty"`
	Access      access                `json:"access"`
}

type access struct {
	Checked       bool   `json:"checked"`
	Authenticated bool   `json:"authenticated"`
	Username      string `json:"username,omitempty"`
	Source        string `json:"source,omitempty"`
	Error         string `json:"error,omitempty"`
}

func runRegistryInfo(ctx context.Context, dockerCLI command.Cli, repoAddr string, opts registryInfoOptions) error {
	override, err := opts.repo.kind(dockerCLI.Err(), repoAddr, os.Getenv)
	if err != nil {
		return err
	}
	repo, err := registry.ParseRepository(repoAddr, override, os.Getenv)
	if err != nil {
		return err
	}
	spec := registry.SpecFor(repo.Kind)
	info := registryInfo{
		Repository: repo.Host + "/" + repo.Path, Host: repo.Host, Path: repo.Path,
		Kind: repo.Kind, KindSource: repo.KindSource, Name: spec.Name, ECR: repo.ECR,
		Deletion: spec.Deletion, Credentials: spec.Credentials, Notes: spec.Notes,
	}
	if opts.check {
		ctx, cancel := context.WithTimeout(ctx, opts.timeout)
		defer cancel()
		info.Access = checkAccess(ctx, dockerCLI, repo)
	}
	if opts.format == formatJSON {
		err = jsonout.Write(dockerCLI.Out(), info)
	} else {
		err = printRegistryInfo(dockerCLI.Out(), info)
	}
	if err == nil && info.Access.Error != "" {
		// Scripts use the check as a login test, so a refusal must fail.
		err = fmt.Errorf("access check failed: %s", info.Access.Error)
	}
	return err
}

func checkAccess(ctx context.Context, dockerCLI command.Cli, repo registry.Repository) access {
	cfg := dockerCLI.ConfigFile()
	kc := dockerauth.New(cfg, filepath.Dir(cfg.Filename), creds.Cleanup)
	found, err := kc.Lookup(repo.Host)
	if err != nil {
		return access{Checked: true, Error: err.Error()}
	}
	a := access{Checked: true, Username: found.Username, Source: found.Source}
	if err := registryapi.CheckAccess(ctx, repo.Host, repo.Path, kc); err != nil {
		a.Error = err.Error()
		if found.Empty() {
			a.Error = fmt.Sprintf("no credentials for %s (looked in %s): %v", repo.Host, found.Source, err)
		}
		return a
	}
	a.Authenticated = !found.Empty()
	return a
}

func printRegistryInfo(out io.Writer, info registryInfo) error {
	w := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	fmt.Fprintf(w, "Repository:\t%s\n", info.Repository)
	fmt.Fprintf(w, "Registry:\t%s (%s, %s)\n", info.Name, info.Kind, info.KindSource)
	if info.ECR != nil {
		fmt.Fprintf(w, "AWS account:\t%s, region %s\n", info.ECR.Account, info.ECR.Region)
	}
	safety := "untags exactly one tag"
	if !info.Deletion.UntagSafe {
		safety = "cannot untag: an image goes only when all its tags go"
	}
	fmt.Fprintf(w, "Tag deletion:\t%s (%s)\n", info.Deletion.Method, safety)
	fmt.Fprintf(w, "\t%s\n", info.Deletion.Description)
	fmt.Fprintln(w, "Cleanup credentials:")
	for _, c := range info.Credentials {
		fmt.Fprintf(w, "  %s\t%s\t%s\n", c.Name, strings.Trim(c.Flag+" "+envName(c.Env), " "), c.Description)
	}
	if info.Notes != "" {
		fmt.Fprintf(w, "Notes:\t%s\n", info.Notes)
	}
	if info.Access.Checked {
		fmt.Fprintf(w, "Access:\t%s\n", describeAccess(info.Access))
	}
	return w.Flush()
}

func envName(env string) string {
	if env == "" {
		return ""
	}
	return "(" + env + ")"
}

func describeAccess(a access) string {
	switch {
	case a.Error != "":
		return "failed: " + a.Error
	case a.Authenticated:
		return fmt.Sprintf("authenticated as %s (%s)", a.Username, a.Source)
	default:
		return "anonymous access works (no credentials found)"
	}
}
