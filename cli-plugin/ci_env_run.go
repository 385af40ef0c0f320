package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/docker/cli/cli/command"
	"github.com/docker/docker-credential-helpers/credentials"
	"github.com/google/go-containerregistry/pkg/authn"

	"github.com/docker-werf/docker-werf/internal/ci"
	"github.com/docker-werf/docker-werf/internal/creds"
	"github.com/docker-werf/docker-werf/internal/creds/credstore"
	"github.com/docker-werf/docker-werf/internal/jobconfig"
	"github.com/docker-werf/docker-werf/internal/registry"
	"github.com/docker-werf/docker-werf/internal/registryapi"
)

const helperBinary = "docker-credential-werf"

func runCIEnv(dockerCLI command.Cli, system string, opts ciEnvOptions, getenv func(string) string) error {
	system, err := resolveSystem(system, getenv)
	if err != nil {
		return err
	}
	job, err := ci.ReadJob(system, getenv)
	if err != nil && opts.job.Commit == "" {
		return err
	}
	vars, err := ci.Variables(job, opts.job)
	if err != nil {
		return err
	}
	out, err := newCIEnvOutput(opts, getenv)
	if err != nil {
		return err
	}
	repoHost := repositoryHost(vars)
	if opts.registryUsername != "" && repoHost == "" {
		return errors.New("--registry-username needs the repository: give --repo or WERF_REPO")
	}
	hosts, err := helperHosts(opts, repoHost, getenv)
	if err != nil {
		return err
	}
	root := tempRoot(opts.tmpDir, job.TempDir)
	dir, err := jobconfig.Create(jobconfig.Options{
		Mode: configMode(opts), SourceDir: sourceConfigDir(dockerCLI, opts), AuthConfig: getenv("DOCKER_AUTH_CONFIG"),
		KeepCredsStore: opts.keepCredsStore, TempRoot: root, Job: jobName(getenv), HelperHosts: hosts,
		// In a CI job the scope is the job's: a failed run leaves what it
		// moved there for the job's cleanup (or GC) rather than remove the
		// logins of an earlier run in the same job.
		StoreAuth: func(dir string, a jobconfig.Auth) error {
			return storeForJob(dir, a.Server, a.Username, a.Secret, getenv)
		},
	})
	if err != nil {
		return err
	}
	if err := finishCIEnv(dockerCLI, dir, job, vars, opts, out, repoHost, getenv); err != nil {
		_ = jobconfig.Remove(dir)
		return err
	}
	collectGarbage(dockerCLI.Err(), root, dir, opts.cleanupOlderThan, getenv)
	return nil
}

// finishCIEnv does what may still fail once the directory exists; the
// caller removes the directory if it does.
func finishCIEnv(dockerCLI command.Cli, dir string, job ci.Job, vars []ci.Var, opts ciEnvOptions,
	out ciEnvOutput, repoHost string, getenv func(string) string) error {
	if opts.registryUsername != "" {
		if err := loginForJob(dir, repoHost, opts.registryUsername, opts.registryPassword, getenv); err != nil {
			return err
		}
	}
	if err := storeCleanupCredential(dir, job, getenv); err != nil {
		return err
	}
	entries := ciEnvEntries(dir, job, vars, out.format, getenv, dockerCLI.Err())
	return out.write(dockerCLI.Out(), dir, entries)
}

// resolveSystem checks a named system or detects one.
func resolveSystem(name string, getenv func(string) string) (string, error) {
	supported := ci.Systems()
	if name != "" {
		for _, s := range supported {
			if s == name {
				return name, nil
			}
		}
		return "", fmt.Errorf("unknown CI system %q: expected one of %s", name, strings.Join(supported, ", "))
	}
	if sys, ok := ci.Detect(getenv); ok {
		return sys.Name, nil
	}
	return "", fmt.Errorf("cannot tell which CI system this is; name it (docker werf ci-env CI_SYSTEM), "+
		"or use generic with --repo and the other flags. Recognised from the environment: %s",
		strings.Join(ci.Recognised(), "; "))
}

func configMode(opts ciEnvOptions) jobconfig.Mode {
	switch {
	case opts.dockerAuthConfig:
		return jobconfig.FromAuthConfig
	case opts.emptyDockerConfig:
		return jobconfig.Empty
	default:
		return jobconfig.CopySource
	}
}

// sourceConfigDir is --docker-config (or WERF_DOCKER_CONFIG), else the
// config docker gave the plugin: --config, DOCKER_CONFIG or ~/.docker.
func sourceConfigDir(dockerCLI command.Cli, opts ciEnvOptions) string {
	if opts.dockerConfig != "" {
		return opts.dockerConfig
	}
	return filepath.Dir(dockerCLI.ConfigFile().Filename)
}

func tempRoot(flag, ciTemp string) string {
	if flag != "" {
		return flag
	}
	if fi, err := os.Stat(ciTemp); ciTemp != "" && err == nil && fi.IsDir() {
		return ciTemp
	}
	return os.TempDir()
}

// jobName is what the directory's marker records: the CI job, or nothing
// outside CI. Not secret.
func jobName(getenv func(string) string) string {
	if sys, ok := ci.Detect(getenv); ok && sys.JobKey != "" {
		return "ci:" + sys.Name + ":" + sys.JobKey
	}
	return "local"
}

func repositoryHost(vars []ci.Var) string {
	for _, v := range vars {
		if v.Name == "WERF_REPO" {
			if repo, err := registry.ParseRepository(v.Value, "", nil); err == nil {
				return repo.Host
			}
		}
	}
	return ""
}

// helperHosts are the registries the private config sends to
// docker-credential-werf: those it can answer for from the job's
// environment (so inline credentials of other hosts stay in charge), and the
// repository's registry when this run logs in to it.
func helperHosts(opts ciEnvOptions, repoHost string, getenv func(string) string) ([]string, error) {
	var hosts []string
	if opts.registryUsername != "" {
		hosts = append(hosts, repoHost)
	}
	if opts.loginToRegistry {
		r, err := creds.New(creds.Options{Env: getenv, EnvironmentOnly: true})
		if err != nil {
			return nil, err
		}
		for _, h := range candidateHosts(repoHost, getenv) {
			if _, _, err := r.Get(h); err == nil && !slices.Contains(hosts, h) {
				hosts = append(hosts, h)
			}
		}
	}
	if _, err := exec.LookPath(helperBinary); err != nil {
		switch {
		case len(hosts) > 0:
			return nil, fmt.Errorf("%s is not on PATH, and the job's config would name it for %s: install it "+
				"(sh install.sh), or pass --login-to-registry=false", helperBinary, strings.Join(hosts, ", "))
		case !opts.keepCredsStore:
			return nil, fmt.Errorf("%s is not on PATH, and the job's config would name it as its credsStore, "+
				"which every docker login goes to: install it (sh install.sh), or pass --keep-creds-store", helperBinary)
		}
	}
	return hosts, nil
}

// candidateHosts are the registries a CI job may have credentials for, in
// each form docker looks them up by: an image is written host/path, so a
// registry given as host:443 (GitLab's CI_DEPENDENCY_PROXY_SERVER) is
// wired as host too.
func candidateHosts(repoHost string, getenv func(string) string) []string {
	hosts := []string{getenv("CI_REGISTRY"), getenv("CI_DEPENDENCY_PROXY_SERVER"), "ghcr.io", "docker.pkg.github.com", repoHost}
	for _, v := range []string{"GITHUB_SERVER_URL", "GITEA_SERVER_URL", "FORGEJO_SERVER_URL"} {
		if u := getenv(v); u != "" {
			hosts = append(hosts, u)
		}
	}
	var keys []string
	add := func(k string) {
		if !slices.Contains(keys, k) {
			keys = append(keys, k)
		}
	}
	for _, h := range hosts {
		k, err := registry.HostKey(h)
		if err != nil {
			continue
		}
		add(k)
		if bare, ok := strings.CutSuffix(k, ":443"); ok {
			add(bare)
		}
	}
	return keys
}

// loginForJob checks the credentials against the registry, as docker login
// does, and stores them in this job's scope only.
func loginForJob(dir, host, user, pass string, getenv func(string) string) error {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	kc := staticKeychain{host: host, auth: authn.FromConfig(authn.AuthConfig{Username: user, Password: pass})}
	if err := registryapi.CheckAccess(ctx, host, "docker-werf-login-check", kc); err != nil {
		return fmt.Errorf("logging in to %s as %s: %w", host, user, err)
	}
	return storeForJob(dir, host, user, pass, getenv)
}

func storeForJob(dir, host, user, secret string, getenv func(string) string) error {
	r, err := creds.New(creds.Options{Env: getenv, ConfigDir: dir})
	if err != nil {
		return err
	}
	if err := r.Add(&credentials.Credentials{ServerURL: host, Username: user, Secret: secret}); err != nil {
		return fmt.Errorf("storing the credentials for %s: %w", host, err)
	}
	return nil
}

// storeCleanupCredential gives werf (which reads the docker config, not our
// helper's purpose flag) the werf-cleanup login for the CI registry.
func storeCleanupCredential(dir string, job ci.Job, getenv func(string) string) error {
	pass := getenv(creds.EnvCleanupPassword)
	if pass == "" || job.Registry == "" {
		return nil
	}
	return storeForJob(dir, job.Registry, creds.CleanupUsername, pass, getenv)
}

type staticKeychain struct {
	host string
	auth authn.Authenticator
}

func (k staticKeychain) Resolve(r authn.Resource) (authn.Authenticator, error) {
	if r.RegistryStr() == k.host {
		return k.auth, nil
	}
	return authn.Anonymous, nil
}

// collectGarbage removes what jobs killed before their cleanup step left:
// their config directories and credential scopes. It only warns on trouble.
func collectGarbage(stderr io.Writer, root, keep string, olderThan time.Duration, getenv func(string) string) {
	now := time.Now()
	removed, err := jobconfig.GC(root, olderThan, keep, now)
	if err != nil {
		fmt.Fprintf(stderr, "Warning: cleaning up old job configs: %v\n", err)
	}
	if len(removed) > 0 {
		fmt.Fprintf(stderr, "Removed %d docker config(s) that earlier jobs left in %s\n", len(removed), root)
	}
	storeRoot, err := credstore.Root(getenv)
	if err != nil {
		return
	}
	if _, err := credstore.New(storeRoot).GC(credstore.GCOptions{OlderThan: olderThan, Now: now}); err != nil &&
		!errors.Is(err, os.ErrNotExist) {
		fmt.Fprintf(stderr, "Warning: cleaning up old job credentials: %v\n", err)
	}
}
