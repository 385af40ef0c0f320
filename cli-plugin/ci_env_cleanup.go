package main

import (
	"errors"
	"fmt"
	"os"
	"slices"

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
	if err := removeJobConfig(dockerCLI, opts, getenv); err != nil {
		return err
	}
	if !canCopyVariables(shell) {
		return nil
	}
	return shellenv.Render(dockerCLI.Out(), shell, []shellenv.Entry{
		{Name: "DOCKER_CONFIG", Unset: true}, {Name: "WERF_DOCKER_CONFIG", Unset: true},
	})
}

// removeJobConfig removes the job's credential scope and its config
// directories: the one DOCKER_CONFIG (or WERF_DOCKER_CONFIG) names, and in a
// CI job every one made for the job, which is how a cleanup step in a fresh
// shell (GitLab's after_script) finds them.
func removeJobConfig(dockerCLI command.Cli, opts ciEnvOptions, getenv func(string) string) error {
	named := getenv("DOCKER_CONFIG")
	if named == "" {
		named = getenv("WERF_DOCKER_CONFIG")
	}
	sys, _ := ci.Detect(getenv)
	inJob := sys.JobKey != ""
	var dirs []string
	if named != "" {
		switch _, err := os.Lstat(named); {
		case errors.Is(err, os.ErrNotExist):
		case err != nil:
			return err
		case jobconfig.Check(named) == nil:
			dirs = append(dirs, named)
		case inJob:
			fmt.Fprintf(dockerCLI.Err(), "DOCKER_CONFIG=%s is not a docker werf job config; left alone\n", named)
			named = ""
		default:
			return fmt.Errorf("refusing to clean up DOCKER_CONFIG=%s: %w", named, jobconfig.Check(named))
		}
	}
	if inJob {
		for _, root := range jobTempRoots(opts, getenv) {
			for _, d := range jobconfig.FindByJob(root, jobName(getenv)) {
				if !slices.Contains(dirs, d) {
					dirs = append(dirs, d)
				}
			}
		}
	}
	if named == "" && !inJob {
		fmt.Fprintln(dockerCLI.Err(), "Nothing to clean up: DOCKER_CONFIG and WERF_DOCKER_CONFIG are not set and this is no CI job")
		return nil
	}
	r, err := creds.New(creds.Options{Env: getenv, ConfigDir: named})
	if err != nil {
		return err
	}
	if err := r.RemoveScope(); err != nil {
		return fmt.Errorf("removing the job's credentials: %w", err)
	}
	for _, d := range dirs {
		if err := jobconfig.Remove(d); err != nil {
			return err
		}
		fmt.Fprintf(dockerCLI.Err(), "Removed the job's docker config %s\n", d)
	}
	fmt.Fprintln(dockerCLI.Err(), "Removed the job's credentials")
	return nil
}

// jobTempRoots are the places ci-env may have put the job's config.
func jobTempRoots(opts ciEnvOptions, getenv func(string) string) []string {
	var roots []string
	job, _ := ci.ReadJob(cienvSystem(getenv), getenv)
	for _, r := range []string{opts.tmpDir, job.TempDir, os.TempDir()} {
		if r != "" && !slices.Contains(roots, r) {
			roots = append(roots, r)
		}
	}
	return roots
}

func cienvSystem(getenv func(string) string) string {
	if sys, ok := ci.Detect(getenv); ok {
		return sys.Name
	}
	return ci.Generic
}
