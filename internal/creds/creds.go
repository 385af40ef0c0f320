// Package creds answers registry credential requests for
// docker-credential-werf and, in-process, for the docker werf plugin.
//
// Sources, in order:
//
//  1. credentials saved by `store` (docker login) in this job's scope of the
//     credential store (see internal/creds/credstore);
//  2. what the CI job itself provides: GitLab's CI_REGISTRY and dependency
//     proxy credentials or CI_JOB_TOKEN, GitHub Actions' GITHUB_TOKEN for
//     ghcr.io, Gitea and Forgejo Actions' token for their own server; turned
//     off by WERF_IGNORE_CI_DOCKER_AUTOLOGIN and never offered to GCR or
//     Artifact Registry hosts; for Purpose Cleanup, WERF_IMAGES_CLEANUP_PASSWORD
//     (username werf-cleanup) replaces the job token;
//  3. WERF_REGISTRY_AUTH_<KEY>_USERNAME and _PASSWORD, KEY being the host
//     key upper-cased with every run of characters outside [A-Z0-9]
//     replaced by "_" (docker.io -> DOCKER_IO);
//  4. otherwise credentials.NewErrCredentialsNotFound(), which docker turns
//     into anonymous access.
//
// A source that is half configured (one variable of a pair) is an error that
// names the missing variable, unless a later source answers. No error text
// ever contains a secret.
//
// The job scope is "ci:<system>:<job key>" inside a detected CI job (see
// internal/ci), else "config:<docker config dir>", the directory being
// Options.ConfigDir, else $DOCKER_CONFIG, else (Linux) the --config of the
// docker CLI that started this process, else $HOME/.docker, made absolute
// with symlinks resolved.
package creds

import (
	"fmt"
	"path/filepath"
	"sync"

	"github.com/docker/docker-credential-helpers/credentials"

	"github.com/docker-werf/docker-werf/internal/ci"
	"github.com/docker-werf/docker-werf/internal/creds/credstore"
	"github.com/docker-werf/docker-werf/internal/registry"
)

// Purpose says what the credentials are for.
type Purpose int

const (
	// Pull covers pull and push: the CI job token is offered.
	Pull Purpose = iota
	// Cleanup is for deleting tags: WERF_IMAGES_CLEANUP_PASSWORD replaces
	// the CI job token (which cannot delete) where it is set.
	Cleanup
)

func (p Purpose) String() string {
	switch p {
	case Pull:
		return "pull"
	case Cleanup:
		return "cleanup"
	}
	return fmt.Sprintf("Purpose(%d)", int(p))
}

// Options configure a Resolver.
type Options struct {
	// Env is the environment; nil means an empty one (pass os.Getenv for
	// the process environment).
	Env registry.Env
	// ConfigDir is the docker config directory when the caller knows it
	// (the plugin); it selects the scope outside CI.
	ConfigDir string
	// Purpose selects cleanup credentials.
	Purpose Purpose
	// StoreDir overrides the credential store root (tests); empty means
	// credstore.Root(Env).
	StoreDir string
	// EnvironmentOnly answers from the CI job and the explicit variables
	// alone, never from the store: what a new job config can rely on.
	EnvironmentOnly bool
	// ECRLogin replaces running `docker werf ecr-login` (tests, and the
	// plugin itself, which must not run itself).
	ECRLogin ECRLoginFunc
}

// Variables read by the resolver besides the CI systems' own.
const (
	EnvIgnoreAutologin = "WERF_IGNORE_CI_DOCKER_AUTOLOGIN"
	EnvCleanupPassword = "WERF_IMAGES_CLEANUP_PASSWORD"
	CleanupUsername    = "werf-cleanup"
)

// Resolver implements credentials.Helper over the sources above. It does no
// I/O until asked; it is safe for concurrent use.
type Resolver struct {
	opts Options
	env  func(string) string

	once     sync.Once
	scope    *credstore.Scope
	scopeErr error
}

var _ credentials.Helper = (*Resolver)(nil)

// New returns a Resolver. It fails only on invalid options.
func New(opts Options) (*Resolver, error) {
	if opts.Purpose != Pull && opts.Purpose != Cleanup {
		return nil, fmt.Errorf("invalid credentials purpose %d", int(opts.Purpose))
	}
	env := opts.Env
	if env == nil {
		env = func(string) string { return "" }
	}
	return &Resolver{opts: opts, env: env}, nil
}

// ScopeKey returns the key of the scope `store` writes to and `get` reads
// from, e.g. "ci:gitlab:123" or "config:/home/u/.docker". Not secret.
func (r *Resolver) ScopeKey() (string, error) {
	sc, err := r.jobScope()
	if err != nil {
		return "", err
	}
	return sc.Key(), nil
}

// StoreDir returns the root of the credential store the resolver uses.
func (r *Resolver) StoreDir() (string, error) {
	if r.opts.StoreDir != "" {
		return filepath.Abs(r.opts.StoreDir)
	}
	return credstore.Root(r.env)
}

func (r *Resolver) jobScope() (*credstore.Scope, error) {
	r.once.Do(func() {
		root, err := r.StoreDir()
		if err != nil {
			r.scopeErr = err
			return
		}
		key, system, err := scopeKey(r.env, r.opts.ConfigDir)
		if err != nil {
			r.scopeErr = err
			return
		}
		r.scope = credstore.New(root).Scope(key, system)
	})
	return r.scope, r.scopeErr
}

// scopeKey computes the job scope key and the CI system name.
func scopeKey(env func(string) string, configDir string) (key, system string, err error) {
	if sys, ok := ci.Detect(env); ok && sys.JobKey != "" {
		return "ci:" + sys.Name + ":" + sys.JobKey, sys.Name, nil
	}
	dir, err := dockerConfigDir(env, configDir)
	if err != nil {
		return "", "", err
	}
	return "config:" + dir, "", nil
}

// dockerConfigDir finds the docker config directory for the scope key.
func dockerConfigDir(env func(string) string, configDir string) (string, error) {
	dir := configDir
	if dir == "" {
		dir = env("DOCKER_CONFIG")
	}
	if dir == "" {
		dir = parentDockerConfig()
	}
	if dir == "" {
		home := env("HOME")
		if home == "" {
			return "", fmt.Errorf("cannot tell which docker config directory this is: set DOCKER_CONFIG or HOME")
		}
		dir = filepath.Join(home, ".docker")
	}
	return canonicalDir(dir)
}

// canonicalDir makes dir absolute and resolves symlinks in as much of it as
// exists, so that two spellings of one directory give one scope.
func canonicalDir(dir string) (string, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return "", fmt.Errorf("docker config directory %q: %w", dir, err)
	}
	rest := ""
	for p := abs; ; p = filepath.Dir(p) {
		if real, err := filepath.EvalSymlinks(p); err == nil {
			return filepath.Join(real, rest), nil
		}
		if filepath.Dir(p) == p {
			return abs, nil
		}
		rest = filepath.Join(filepath.Base(p), rest)
	}
}

// hostKey normalises a server address; ok is false when it cannot be a
// registry address at all.
func hostKey(serverURL string) (string, bool) {
	h, err := registry.HostKey(serverURL)
	return h, err == nil
}

// RemoveScope deletes everything stored for this job (its scope), as a CI
// job's last step does. Other jobs' scopes are untouched.
func (r *Resolver) RemoveScope() error {
	sc, err := r.jobScope()
	if err != nil {
		return err
	}
	return sc.Remove()
}
