package main

import (
	"errors"
	"fmt"
	"os"

	"github.com/docker/cli/cli/command"

	"github.com/docker-werf/docker-werf/internal/ci"
	"github.com/docker-werf/docker-werf/internal/creds"
	"github.com/docker-werf/docker-werf/internal/jobconfig"
	"github.com/docker-werf/docker-werf/internal/shellenv"
)

// runCIEnvCleanup is the job's last step: it removes the job's private
// config and the credentials stored for the job, and prints the script that
// unsets DOCKER_CONFIG, so that docker (and its plugins) work as before in
// the same shell. Running it twice is fine. Outside a job it touches
// nothing: the user's own docker config and logins are not a job's to remove.
func runCIEnvCleanup(dockerCLI command.Cli, opts ciEnvOptions, getenv func(string) string) error {
	shell, err := shellenv.ParseFormat(opts.shell)
	if err != nil {
		return fmt.Errorf("--shell: %w", err)
	}
	if err := removeJobConfig(dockerCLI, getenv); err != nil {
		return err
	}
	if !canCopyVariables(shell) {
		return nil
	}
	return shellenv.Render(dockerCLI.Out(), shell, []shellenv.Entry{
		{Name: "DOCKER_CONFIG", Unset: true}, {Name: "WERF_DOCKER_CONFIG", Unset: true},
	})
}

func removeJobConfig(dockerCLI command.Cli, getenv func(string) string) error {
	dir := getenv("DOCKER_CONFIG")
	if dir == "" {
		dir = getenv("WERF_DOCKER_CONFIG")
	}
	exists := false
	if dir != "" {
		if _, err := os.Lstat(dir); err == nil {
			if err := jobconfig.Check(dir); err != nil {
				return fmt.Errorf("refusing to clean up DOCKER_CONFIG=%s: %w", dir, err)
			}
			exists = true
		} else if !errors.Is(err, os.ErrNotExist) {
			return err
		}
	}
	sys, inCI := ci.Detect(getenv)
	if dir == "" && !(inCI && sys.JobKey != "") {
		fmt.Fprintln(dockerCLI.Err(), "Nothing to clean up: DOCKER_CONFIG and WERF_DOCKER_CONFIG are not set and this is no CI job")
		return nil
	}
	r, err := creds.New(creds.Options{Env: getenv, ConfigDir: dir})
	if err != nil {
		return err
	}
	if err := r.RemoveScope(); err != nil {
		return fmt.Errorf("removing the job's credentials: %w", err)
	}
	if !exists {
		fmt.Fprintln(dockerCLI.Err(), "Removed the job's credentials; its docker config is already gone")
		return nil
	}
	if err := jobconfig.Remove(dir); err != nil {
		return err
	}
	fmt.Fprintf(dockerCLI.Err(), "Removed the job's docker config %s and its credentials\n", dir)
	return nil
}
