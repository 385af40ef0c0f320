package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/docker-werf/docker-werf/internal/dockerconfig"
	"github.com/docker-werf/docker-werf/internal/registry"
)

// helperSuffix is the credHelpers value that selects this helper.
const helperSuffix = "werf"

const configureUsage = `Usage: docker-credential-werf configure --registry HOST [--registry HOST...] [--config DIR]

Make docker use docker-credential-werf for the given registries by adding
"credHelpers": {"HOST": "werf"} entries to DIR/config.json. Other entries and
keys are kept; the file is replaced atomically and keeps its mode (a new one
is created with mode 0600).

Options:
  --registry HOST   registry address (host[:port] or URL; repeatable, or
                    comma-separated); Docker Hub is written as docker's key
                    https://index.docker.io/v1/
  --config DIR      docker config directory (default $DOCKER_CONFIG, else
                    $HOME/.docker)
  -h, --help        show this help
`

func runConfigure(args []string, stdout, stderr io.Writer, env registry.Env) int {
	fs := newFlagSet("configure")
	var hosts []string
	fs.Func("registry", "", func(v string) error {
		for _, h := range strings.Split(v, ",") {
			if h = strings.TrimSpace(h); h != "" {
				hosts = append(hosts, h)
			}
		}
		return nil
	})
	dir := fs.String("config", "", "")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fmt.Fprint(stdout, configureUsage)
			return exitOK
		}
		return usageError(stderr, "configure", err.Error())
	}
	if fs.NArg() > 0 {
		return usageError(stderr, "configure", "unexpected argument "+printable(fs.Arg(0))+" (use --registry HOST)")
	}
	if len(hosts) == 0 {
		return usageError(stderr, "configure", "at least one --registry HOST is required")
	}
	keys := make([]string, 0, len(hosts))
	for _, h := range hosts {
		k, err := dockerconfig.CredHelperKey(h)
		if err != nil {
			return usageError(stderr, "configure", "--registry: "+err.Error())
		}
		keys = append(keys, k)
	}
	configDir := *dir
	if configDir == "" {
		configDir = env("DOCKER_CONFIG")
	}
	if configDir == "" {
		home := env("HOME")
		if home == "" {
			fmt.Fprintf(stderr, "%s configure: cannot find the docker config directory: HOME is not set; use --config DIR\n", name)
			return exitError
		}
		configDir = filepath.Join(home, ".docker")
	}
	if err := dockerconfig.AddCredHelpers(configDir, hosts, helperSuffix); err != nil {
		fmt.Fprintf(stderr, "%s configure: %v\n", name, err)
		return exitError
	}
	fmt.Fprintf(stdout, "%s now uses docker-credential-%s for %s\n",
		filepath.Join(configDir, dockerconfig.FileName), helperSuffix, strings.Join(keys, ", "))
	if env("DOCKER_AUTH_CONFIG") != "" {
		fmt.Fprintf(stderr, "warning: DOCKER_AUTH_CONFIG is set; docker CLI 28.3 and later use it before credHelpers\n")
	}
	if _, err := exec.LookPath(name); err != nil {
		fmt.Fprintf(stderr, "warning: %s is not on PATH; docker will fail to run it until it is\n", name)
	}
	return exitOK
}
