package creds

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/docker-werf/docker-werf/internal/creds/credstore"
	"github.com/docker-werf/docker-werf/internal/registry"
)

// ECRLoginFunc fetches an ECR token for host into the job scope.
type ECRLoginFunc func(host, configDir string) error

// ecrLogin serves an ECR host the helper has no fresh token for: it runs
// `docker werf ecr-login HOST`, which asks GetAuthorizationToken through the
// AWS SDK and stores the token in this job's scope until half its life.
// The SDK stays out of this binary (it would double the start-up of every
// get); the plugin pays for it once per token half-life.
func (r *Resolver) ecrLogin(sc *credstore.Scope, host string) (answer, bool, error) {
	name, _, _ := strings.Cut(host, ":")
	if !strings.Contains(name, ".ecr") && !strings.Contains(name, "-ecr.") {
		return answer{}, false, nil
	}
	if _, ok := registry.ParseECR(name); !ok {
		return answer{}, false, nil
	}
	login := r.opts.ECRLogin
	if login == nil {
		login = r.execECRLogin
	}
	configDir := ""
	if dir, ok := credstore.ConfigDirOfScope(sc.Key()); ok {
		configDir = dir
	}
	if err := login(host, configDir); err != nil {
		return answer{}, false, err
	}
	return r.stored(sc, host)
}

// execECRLogin runs the plugin found where docker looks for it. Without
// the plugin the host is simply not served.
func (r *Resolver) execECRLogin(host, configDir string) error {
	plugin := findPlugin(r.env)
	if plugin == "" {
		return nil
	}
	cmd := exec.Command(plugin, "werf", "ecr-login", host)
	cmd.Env = os.Environ()
	if configDir != "" {
		cmd.Env = append(cmd.Env, "DOCKER_CONFIG="+configDir)
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		msg, _, _ := strings.Cut(strings.TrimSpace(stderr.String()), "\n")
		return fmt.Errorf("logging in to %s with docker werf ecr-login: %s (%v)", host, msg, err)
	}
	return nil
}

// findPlugin looks for docker-werf where docker finds CLI plugins, then on
// PATH.
func findPlugin(env func(string) string) string {
	var dirs []string
	if d := env("DOCKER_CONFIG"); d != "" {
		dirs = append(dirs, filepath.Join(d, "cli-plugins"))
	}
	if h := env("HOME"); h != "" {
		dirs = append(dirs, filepath.Join(h, ".docker", "cli-plugins"))
	}
	dirs = append(dirs, "/usr/local/lib/docker/cli-plugins", "/usr/local/libexec/docker/cli-plugins",
		"/usr/lib/docker/cli-plugins", "/usr/libexec/docker/cli-plugins")
	for _, d := range dirs {
		p := filepath.Join(d, "docker-werf")
		if fi, err := os.Stat(p); err == nil && fi.Mode().IsRegular() && fi.Mode()&0o111 != 0 {
			return p
		}
	}
	p, _ := exec.LookPath("docker-werf")
	return p
}
