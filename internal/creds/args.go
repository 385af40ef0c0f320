package creds

import (
	"path/filepath"
	"strings"
)

// dockerGlobalValueFlags are the docker CLI's global options that take a
// value as the next argument.
var dockerGlobalValueFlags = map[string]bool{
	"--config": true, "-c": true, "--context": true, "-H": true, "--host": true,
	"-l": true, "--log-level": true, "--tlscacert": true, "--tlscert": true, "--tlskey": true,
}

// configFromArgs returns the value of --config among the global options of
// a docker CLI command line, "" if absent. argv[0] must be the docker CLI or
// a CLI plugin (docker-buildx, docker-compose, ...), which the CLI runs with
// its own global options in front of the plugin's name. Only options before
// the first non-option (the subcommand) count, so a subcommand's own
// --config (e.g. `buildx create --config`) is ignored.
func configFromArgs(argv []string) string {
	if len(argv) == 0 || !isDockerCLI(argv[0]) {
		return ""
	}
	dir := ""
	for i := 1; i < len(argv); i++ {
		a := argv[i]
		switch {
		case a == "--":
			return dir
		case a == "--config":
			if i+1 < len(argv) {
				dir = argv[i+1]
			}
			i++
		case strings.HasPrefix(a, "--config="):
			dir = strings.TrimPrefix(a, "--config=")
		case dockerGlobalValueFlags[a]:
			i++
		case strings.HasPrefix(a, "-"):
			// boolean flag or --flag=value
		default:
			return dir
		}
	}
	return dir
}

func isDockerCLI(arg0 string) bool {
	base := strings.TrimSuffix(filepath.Base(arg0), ".exe")
	switch {
	case base == "docker", base == "com.docker.cli":
		return true
	case strings.HasPrefix(base, "docker-credential-"):
		return false
	}
	return strings.HasPrefix(base, "docker-") && len(base) > len("docker-")
}
