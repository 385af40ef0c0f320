package main

import (
	"errors"
	"io"
	"os"
	"strings"
	"time"

	"github.com/docker/cli/cli/command"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/docker-werf/docker-werf/internal/ci"
	"github.com/docker-werf/docker-werf/internal/duration"
	"github.com/docker-werf/docker-werf/internal/flagenv"
	"github.com/docker-werf/docker-werf/internal/shellenv"
)

type ciEnvOptions struct {
	dockerConfig      string
	dockerAuthConfig  bool
	emptyDockerConfig bool
	keepCredsStore    bool
	loginToRegistry   bool
	registryUsername  string
	registryPassword  string
	job               ci.Options

	shell      string
	format     string
	asFile     bool
	asEnvFile  bool
	outputFile string
	githubEnv  bool
	tmpDir     string

	cleanup          bool
	cleanupOlderThan time.Duration
}

func newCIEnvCommand(dockerCLI command.Cli) *cobra.Command {
	var opts ciEnvOptions
	cmd := &cobra.Command{
		Use:   "ci-env [OPTIONS] [CI_SYSTEM]",
		Short: "Prepare a CI job: a private docker config with registry credentials, and werf's variables",
		Long: `Prepare a CI job: a private docker config wired to docker-credential-werf, and every
WERF_* variable werf expects, printed as a script for the job to load.

CI_SYSTEM is one of ` + strings.Join(ci.Systems(), ", ") + `; without it the
system is detected from the environment. "generic" takes everything from flags
and WERF_* variables, for CI systems not in the list.

The source of the private config is --docker-config, else WERF_DOCKER_CONFIG,
else docker's own (--config, DOCKER_CONFIG, ~/.docker). The job's last step
runs eval "$(docker werf ci-env --cleanup)", which removes the job's config
and credentials and unsets DOCKER_CONFIG again.`,
		Example: `  eval "$(docker werf ci-env || echo exit 1)"          # a job in sh, bash or zsh
  eval "$(docker werf ci-env)"                        # the same, at a prompt
  eval (docker werf ci-env --shell fish; or echo exit 1)  # a job in fish
  docker werf ci-env --shell fish | source            # fish, at a prompt
  docker werf ci-env github --github-env              # a GitHub Actions step
  docker werf ci-env --shell powershell | Invoke-Expression; if ($LASTEXITCODE) { exit $LASTEXITCODE }
  eval "$(docker werf ci-env --cleanup)"              # the job's last step`,
		Args: maxArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			system := ""
			if len(args) == 1 {
				system = args[0]
			}
			if opts.cleanup {
				return runCIEnvCleanup(dockerCLI, opts, os.Getenv)
			}
			return runCIEnv(dockerCLI, system, opts, os.Getenv)
		},
	}
	addCIEnvFlags(cmd.Flags(), &opts)
	addFormatFlag(cmd, &opts.format, "WERF_CI_ENV_FORMAT")
	cmd.PreRunE = chainPreRun(cmd.PreRunE, func() error { return opts.validate() })
	stopJobOnError(cmd, dockerCLI, &opts)
	return cmd
}

// stopJobOnError makes every failure of ci-env, from a bad flag to the last
// write, print on stdout the statement that stops the shell evaluating the
// output (eval "$(cmd)" would otherwise go on, with the machine's shared
// docker config). The reason goes to stderr as for any error.
func stopJobOnError(cmd *cobra.Command, dockerCLI command.Cli, opts *ciEnvOptions) {
	stop := func(err error) error {
		if err != nil {
			opts.printFailure(dockerCLI.Out())
		}
		return err
	}
	args, runE, preRunE := cmd.Args, cmd.RunE, cmd.PreRunE
	cmd.Args = func(c *cobra.Command, a []string) error { return stop(args(c, a)) }
	// cobra runs only the nearest PersistentPreRunE: run the parents'
	// nearest one (the root's, which initialises the plugin), as before.
	cmd.PersistentPreRunE = func(c *cobra.Command, a []string) error {
		for p := c.Parent(); p != nil; p = p.Parent() {
			if p.PersistentPreRunE != nil {
				return stop(p.PersistentPreRunE(c, a))
			}
		}
		return nil
	}
	cmd.PreRunE = func(c *cobra.Command, a []string) error { return stop(preRunE(c, a)) }
	cmd.RunE = func(c *cobra.Command, a []string) error { return stop(runE(c, a)) }
	cmd.SetFlagErrorFunc(func(c *cobra.Command, err error) error {
		opts.printFailure(dockerCLI.Out())
		return flagError(c, err)
	})
}

// printFailure writes the failure statement when the output is a script on
// stdout. A --shell that does not parse (or was not parsed yet) gets the
// POSIX one: sh is the default, and the likeliest shell to eval it.
func (o *ciEnvOptions) printFailure(stdout io.Writer) {
	if o.asFile || o.asEnvFile || o.githubEnv || o.format == formatJSON {
		return
	}
	name := o.shell
	if name == "" {
		name = os.Getenv("WERF_SHELL")
	}
	shell, err := shellenv.ParseFormat(name)
	if err != nil || !canCopyVariables(shell) {
		shell = shellenv.SH
	}
	_ = shellenv.RenderFailure(stdout, shell, "docker werf ci-env failed (the error is on stderr): this stops the job")
}

func addCIEnvFlags(fs *pflag.FlagSet, o *ciEnvOptions) {
	str := func(p *string, name, env, usage string) {
		fs.StringVar(p, name, "", usage)
		flagenv.Bind(fs, name, env)
	}
	boolean := func(p *bool, name, env string, def bool, usage string) {
		fs.BoolVar(p, name, def, usage)
		flagenv.Bind(fs, name, env)
	}
	str(&o.dockerConfig, "docker-config", "WERF_DOCKER_CONFIG", "Docker config directory to start the job's private config from")
	boolean(&o.dockerAuthConfig, "docker-auth-config", "WERF_USE_DOCKER_AUTH_CONFIG", false, "Start the private config from $DOCKER_AUTH_CONFIG")
	boolean(&o.emptyDockerConfig, "empty-docker-config", "WERF_EMPTY_DOCKER_CONFIG", false, "Start the private config empty")
	boolean(&o.keepCredsStore, "keep-creds-store", "WERF_KEEP_CREDS_STORE", false, "Keep the source config's credsStore (shared by every job on the machine)")
	boolean(&o.loginToRegistry, "login-to-registry", "WERF_LOGIN_TO_REGISTRY", true, "Send the CI registry to docker-credential-werf, which answers from the job's environment")
	str(&o.registryUsername, "registry-username", "WERF_REGISTRY_USERNAME", "Log in to the repository's registry as this user, for this job only")
	str(&o.registryPassword, "registry-password", "WERF_REGISTRY_PASSWORD", "Password or token for --registry-username (prefer the variable: arguments are visible to other users)")
	str(&o.job.Repo, "repo", "WERF_REPO", "Container repository of the project (overrides the CI system's)")
	str(&o.job.Env, "env", "WERF_ENV", "Deployment environment")
	str(&o.job.Branch, "branch", "WERF_CI_ENV_BRANCH", "Git branch built (generic)")
	str(&o.job.Tag, "tag", "WERF_CI_ENV_TAG", "Git tag built (generic)")
	str(&o.job.Commit, "commit", "WERF_CI_ENV_COMMIT", "Git commit built (generic)")
	str(&o.job.ProjectURL, "project-url", "WERF_CI_ENV_PROJECT_URL", "Web page of the project (generic)")
	str(&o.shell, "shell", "WERF_SHELL", "Script syntax: sh (default), bash, zsh, fish, powershell or cmdexe")
	boolean(&o.asFile, "as-file", "WERF_AS_FILE", false, "Write the script to a file and print its path")
	boolean(&o.asEnvFile, "as-env-file", "WERF_AS_ENV_FILE", false, "Write a dotenv file and print its path")
	fs.StringVarP(&o.outputFile, "output-file-path", "o", "", "File for --as-file or --as-env-file, instead of one in the job's config directory")
	flagenv.Bind(fs, "output-file-path", "WERF_OUTPUT_FILE_PATH")
	boolean(&o.githubEnv, "github-env", "WERF_GITHUB_ENV", false, "Append the variables to $GITHUB_ENV (GitHub, Gitea and Forgejo Actions)")
	str(&o.tmpDir, "tmp-dir", "WERF_TMP_DIR", "Where the private config goes (default: the CI job's temp dir, else the system's)")
	boolean(&o.cleanup, "cleanup", "WERF_CI_ENV_CLEANUP", false, "Remove this job's private config and credentials (the job's last step)")
	fs.Var(duration.NewValue(&o.cleanupOlderThan, 24*time.Hour), "cleanup-older-than", "Remove private configs that other jobs left behind longer ago than this (e.g. 12h, 7d)")
	flagenv.Bind(fs, "cleanup-older-than", "WERF_CI_ENV_CLEANUP_OLDER_THAN")
}

func (o ciEnvOptions) validate() error {
	exclusive := 0
	for _, set := range []bool{o.asFile, o.asEnvFile, o.githubEnv, o.format == formatJSON} {
		if set {
			exclusive++
		}
	}
	switch {
	case exclusive > 1:
		return errors.New("choose one of --as-file, --as-env-file, --github-env and --format json")
	case o.dockerAuthConfig && o.emptyDockerConfig:
		return errors.New("choose one of --docker-auth-config and --empty-docker-config")
	case o.outputFile != "" && !o.asFile && !o.asEnvFile:
		return errors.New("--output-file-path goes with --as-file or --as-env-file")
	case (o.registryUsername == "") != (o.registryPassword == ""):
		return errors.New("--registry-username and --registry-password (WERF_REGISTRY_USERNAME, WERF_REGISTRY_PASSWORD) go together")
	case o.cleanupOlderThan <= 0:
		return errors.New("--cleanup-older-than must be positive")
	}
	return nil
}

// chainPreRun runs next after prev (which addFormatFlag installed).
func chainPreRun(prev func(*cobra.Command, []string) error, next func() error) func(*cobra.Command, []string) error {
	return func(c *cobra.Command, args []string) error {
		if prev != nil {
			if err := prev(c, args); err != nil {
				return err
			}
		}
		return next()
	}
}
