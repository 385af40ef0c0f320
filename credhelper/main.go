// Command docker-credential-werf is a docker credential helper that keeps
// `docker login` credentials per CI job and answers with the credentials the
// CI job itself provides (see internal/creds). It also has two maintenance
// subcommands, gc and configure.
//
// It runs on every pull and push, so it stays small: no docker/cli, no
// cobra, no work at init time.
package main

import (
	"fmt"
	"io"
	"os"

	"github.com/docker-werf/docker-werf/internal/registry"
	"github.com/docker-werf/docker-werf/internal/version"
)

const (
	name    = "docker-credential-werf"
	pkgPath = "github.com/docker-werf/docker-werf"
)

// Exit codes.
const (
	exitOK    = 0
	exitError = 1
	exitUsage = 2
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr, os.Getenv))
}

// run dispatches a command line (without the program name) and returns the
// exit code. Protocol actions write only protocol output, or an error
// message, to stdout, as docker expects.
func run(args []string, stdin io.Reader, stdout, stderr io.Writer, env registry.Env) int {
	if env == nil {
		env = func(string) string { return "" }
	}
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return exitError
	}
	switch action, rest := args[0], args[1:]; action {
	case "get", "store", "erase", "list", "version":
		return runProtocol(action, rest, stdin, stdout, env)
	case "--version", "-v":
		printVersion(stdout)
		return exitOK
	case "--help", "-h", "help":
		fmt.Fprint(stdout, usage)
		return exitOK
	case "gc":
		return runGC(rest, stdout, stderr, env)
	case "configure":
		return runConfigure(rest, stdout, stderr, env)
	default:
		// Errors of the protocol go to stdout (docker reads them there).
		fmt.Fprintf(stdout, "%s: unknown action: %s (valid actions: get, store, erase, list, version, gc, configure; see %s --help)\n",
			name, printable(action), name)
		return exitError
	}
}

func printVersion(w io.Writer) {
	fmt.Fprintf(w, "%s (%s) %s\n", name, pkgPath, version.Version)
}

// printable shortens and quotes an argument for an error message if it is
// long or contains anything but plain printable ASCII.
func printable(s string) string {
	const max = 64
	plain := len(s) <= max
	for i := 0; plain && i < len(s); i++ {
		plain = s[i] > ' ' && s[i] < 0x7f
	}
	if plain {
		return s
	}
	if len(s) > max {
		return fmt.Sprintf("%q... (%d bytes)", s[:max], len(s))
	}
	return fmt.Sprintf("%q", s)
}

const usage = `Usage:
  docker-credential-werf get|store|erase|list|version     (run by docker; input on stdin)
  docker-credential-werf gc --older-than DURATION [--dry-run] [--format json]
  docker-credential-werf configure --registry HOST [--registry HOST...] [--config DIR]
  docker-credential-werf --help | --version

A docker credential helper that keeps "docker login" credentials per CI job,
so parallel jobs sharing a machine, HOME and ~/.docker/config.json never see
or overwrite each other's logins, and that answers with the credentials the
CI job itself provides.

Protocol actions (docker runs these; errors are printed on stdout, exit 1):
  get      read a registry address on stdin, print {"ServerURL","Username","Secret"}
  store    read {"ServerURL","Username","Secret"} on stdin, save it for this job
  erase    read a registry address on stdin, remove what store saved for this job
  list     print the registries this job has credentials for, with usernames
  version  print the version

Maintenance:
  gc         remove the saved credentials of finished CI jobs and deleted
             docker config directories (run "gc --help")
  configure  make docker use this helper for some registries, by adding
             credHelpers entries to config.json (run "configure --help")

Where get looks, in order:
  1. what "docker login" (store) saved in this job's scope: the CI job
     (GitLab CI_JOB_ID, GitHub GITHUB_RUN_ID/GITHUB_JOB/..., and others) or,
     outside CI, the docker config directory;
  2. what the CI job provides: GitLab CI_REGISTRY_USER/CI_REGISTRY_PASSWORD,
     CI_DEPENDENCY_PROXY_USER/_PASSWORD or CI_JOB_TOKEN for its registries;
     GITHUB_TOKEN for ghcr.io in GitHub Actions; the job token for the
     Gitea or Forgejo server in their Actions. Off with
     WERF_IGNORE_CI_DOCKER_AUTOLOGIN=1; never sent to gcr.io or *-docker.pkg.dev;
  3. WERF_REGISTRY_AUTH_<KEY>_USERNAME and WERF_REGISTRY_AUTH_<KEY>_PASSWORD,
     KEY being the registry host upper-cased with every run of other
     characters than A-Z and 0-9 replaced by "_" (docker.io: DOCKER_IO,
     registry.example.com:5000: REGISTRY_EXAMPLE_COM_5000);
  4. otherwise "credentials not found in native keychain" (anonymous access).

Environment:
  WERF_CREDENTIALS_DIR   where saved credentials live (default
                         $XDG_RUNTIME_DIR/docker-credential-werf, else
                         $HOME/.local/state/docker-credential-werf); must be
                         a directory of the current user with mode 0700
  DOCKER_CONFIG          the docker config directory (scope outside CI)
`
