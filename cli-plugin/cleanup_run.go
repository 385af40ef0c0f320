package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/docker/cli/cli/command"
	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/spf13/pflag"

	"github.com/docker-werf/docker-werf/internal/cleanup"
	"github.com/docker-werf/docker-werf/internal/creds"
	"github.com/docker-werf/docker-werf/internal/dockerconfig/dockerauth"
	"github.com/docker-werf/docker-werf/internal/imagecache"
	"github.com/docker-werf/docker-werf/internal/policy"
	"github.com/docker-werf/docker-werf/internal/registry"
)

func runCleanup(ctx context.Context, dockerCLI command.Cli, opts cleanupOptions, fs *pflag.FlagSet) error {
	reg, repo, err := openRegistry(dockerCLI, opts.repo, opts.registry, opts.connection, opts.native)
	if err != nil {
		return err
	}
	cfg, gitRepo, err := policyConfig(opts, fs, dockerCLI.Err())
	if errors.Is(err, errCleanupDisabled) {
		fmt.Fprintln(dockerCLI.Err(), "Nothing to do:", err)
		return nil
	}
	if err != nil {
		return err
	}
	ctx, stop := runContext(ctx, opts.connection)
	defer stop()
	out, err := newCleanupOutput(dockerCLI, repo, opts.format, opts.report, opts.dryRun)
	if err != nil {
		return err
	}
	out.quiet = opts.quiet
	inv := cleanup.InventoryOptions{Parallel: opts.connection.parallel, Progress: out.progress,
		ResolveAll: opts.deleteManifests || reg.cannotUntag}
	if cfg.TagFilter != nil {
		inv.InScope = cfg.TagFilter.MatchString
	}
	cache := openImageCache(opts, reg.Registry, repo, dockerCLI.Err())
	if cache != nil {
		inv.Cache = cache
	}
	items, err := cleanup.InventoryOf(ctx, reg.Registry, inv)
	if err != nil {
		return readError(ctx, repo, err)
	}
	if cache != nil && cache.Hits() > 0 {
		fmt.Fprintf(dockerCLI.Err(), "image cache: %d images known from earlier runs (%s)\n", cache.Hits(), cache.Path())
	}
	if cache != nil && !opts.dryRun {
		if err := cache.Save(); err != nil {
			fmt.Fprintln(dockerCLI.Err(), "Warning: the image cache was not saved:", err)
		}
	}
	infos := tagInfos(items)
	decisions, err := policy.Decide(infos, gitRepo, cfg, time.Now())
	if err != nil {
		return err
	}
	if out.warnings, err = policy.Warnings(infos, gitRepo, cfg); err != nil {
		return err
	}
	for _, w := range out.warnings {
		fmt.Fprintln(dockerCLI.Err(), "Warning:", w)
	}
	// Asked last, so that a deployment made while the registry was read is seen.
	inUse, err := scanKube(ctx, opts.kube, cfg, repo, dockerCLI.Err())
	if err != nil {
		return err
	}
	plan := cleanup.MakePlan(items, decisions, cleanup.PlanOptions{DeleteManifests: opts.deleteManifests,
		CannotUntag: reg.cannotUntag, UntagDeletesImage: reg.untagDeletesImage, InUse: inUse})
	return carryOutPlan(ctx, reg.Registry, plan, opts.dryRun, opts.connection.parallel, out)
}

// carryOutPlan executes (or, dry, shows) a plan and reports it; it fails
// when a deletion failed or the run was interrupted.
func carryOutPlan(ctx context.Context, reg cleanup.Registry, plan cleanup.Plan, dryRun bool, parallel int, out *cleanupOutput) error {
	results, err := cleanup.Execute(ctx, reg, plan, cleanup.Options{Parallel: parallel, DryRun: dryRun, Progress: out.progress})
	if werr := out.write(results); werr != nil {
		return werr
	}
	s := summarize(results)
	var problems []string
	if s.Failed > 0 {
		problems = append(problems, fmt.Sprintf("%d of %d deletions failed (see the table above or the report)", s.Failed, s.Failed+s.Deleted))
	}
	switch cause := context.Cause(ctx); {
	case errors.As(cause, new(runTimeout)):
		problems = append(problems, fmt.Sprintf("%v with %d deletions left", cause, s.Interrupted))
	case errors.Is(err, context.Canceled):
		problems = append(problems, fmt.Sprintf("interrupted with %d deletions left", s.Interrupted))
	case len(problems) == 0:
		return err
	}
	return errors.New(strings.Join(problems, "; ") + ": run the same command again to finish")
}

// runTimeout ends a run that took longer than --timeout.
type runTimeout time.Duration

func (t runTimeout) Error() string {
	return fmt.Sprintf("stopped by --timeout %v", time.Duration(t))
}

// runContext ends on SIGINT or SIGTERM and, with --timeout, once the run has
// taken that long (its cause is then a runTimeout).
func runContext(ctx context.Context, conn connectionOptions) (context.Context, context.CancelFunc) {
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	if conn.timeout <= 0 {
		return ctx, stop
	}
	ctx, cancel := context.WithTimeoutCause(ctx, conn.timeout, runTimeout(conn.timeout))
	return ctx, func() { cancel(); stop() }
}

// readError is the error of a failed inventory: before any deletion.
func readError(ctx context.Context, repo string, err error) error {
	if cause := context.Cause(ctx); errors.As(cause, new(runTimeout)) {
		return fmt.Errorf("reading %s: %w before anything was deleted", repo, cause)
	}
	return fmt.Errorf("reading %s: %w; nothing was deleted", repo, err)
}

func tagInfos(items []cleanup.Item) []policy.TagInfo {
	infos := make([]policy.TagInfo, len(items))
	for i, it := range items {
		infos[i] = policy.TagInfo{Tag: it.Tag, Digest: it.Digest, Created: it.Created, Commit: it.Commit}
	}
	return infos
}

// openRegistry checks the repository address and builds the registry's
// cleanup client, logging in with the cleanup credentials first.
func openRegistry(dockerCLI command.Cli, addr string, kindOpts repoOptions, conn connectionOptions, native nativeCredentials) (backend, string, error) {
	if addr == "" {
		return backend{}, "", errors.New("--repo is required: the repository to clean, e.g. registry.example.com/group/app (or set WERF_REPO)")
	}
	if conn.parallel < 1 || conn.parallel > 256 {
		return backend{}, "", fmt.Errorf("invalid --parallel %d: expected 1 to 256", conn.parallel)
	}
	if conn.requestTimeout <= 0 {
		return backend{}, "", fmt.Errorf("invalid --request-timeout %v: expected more than 0 (e.g. 30s)", conn.requestTimeout)
	}
	if conn.timeout < 0 {
		return backend{}, "", fmt.Errorf("invalid --timeout %v: expected 0 (no limit) or more (e.g. 30m)", conn.timeout)
	}
	if (conn.username == "") != (conn.password == "") {
		return backend{}, "", errors.New("--registry-username and --registry-password (WERF_REGISTRY_USERNAME, WERF_REGISTRY_PASSWORD) go together")
	}
	override, err := kindOpts.kind(dockerCLI.Err(), addr, os.Getenv)
	if err != nil {
		return backend{}, "", err
	}
	repo, err := registry.ParseRepository(addr, override, os.Getenv)
	if err != nil {
		return backend{}, "", err
	}
	b, err := openBackend(dockerCLI, repo, conn, native)
	return b, repo.Name(), err
}

// cleanupKeychain: the given login, else what docker-credential-werf answers
// for a cleanup job (WERF_IMAGES_CLEANUP_PASSWORD, the CI job's token,
// WERF_REGISTRY_AUTH_*), else the docker config. It says which of them
// answered, for the error of a refused login.
func cleanupKeychain(dockerCLI command.Cli, host string, conn connectionOptions) authn.Keychain {
	if conn.username != "" {
		return &sourcedKeychain{sources: []keychainSource{{
			name: "--registry-username and --registry-password (WERF_REGISTRY_USERNAME, WERF_REGISTRY_PASSWORD)",
			kc:   staticKeychain{host: host, auth: authn.FromConfig(authn.AuthConfig{Username: conn.username, Password: conn.password})},
		}}}
	}
	cfg := dockerCLI.ConfigFile()
	dir := filepath.Dir(cfg.Filename)
	kc := &sourcedKeychain{}
	if r, err := creds.New(creds.Options{Env: os.Getenv, ConfigDir: dir, Purpose: creds.Cleanup, EnvironmentOnly: true}); err == nil {
		kc.sources = append(kc.sources, keychainSource{
			name: "the environment (WERF_IMAGES_CLEANUP_PASSWORD, the CI job token or WERF_REGISTRY_AUTH_*)",
			kc:   authn.NewKeychainFromHelper(r)})
	}
	kc.sources = append(kc.sources, keychainSource{name: "the docker config " + cfg.Filename, kc: dockerauth.New(cfg, dir, creds.Cleanup)})
	return kc
}

type keychainSource struct {
	name string
	kc   authn.Keychain
}

// sourcedKeychain is authn.NewMultiKeychain that remembers which keychain
// answered.
type sourcedKeychain struct {
	sources []keychainSource

	mu       sync.Mutex
	answered map[string]string // registry -> source name
}

func (k *sourcedKeychain) Resolve(r authn.Resource) (authn.Authenticator, error) {
	for _, s := range k.sources {
		a, err := s.kc.Resolve(r)
		if err != nil {
			return nil, err
		}
		if a != authn.Anonymous {
			k.mu.Lock()
			if k.answered == nil {
				k.answered = map[string]string{}
			}
			k.answered[r.RegistryStr()] = s.name
			k.mu.Unlock()
			return a, nil
		}
	}
	return authn.Anonymous, nil
}

// CredentialSource implements registryapi.CredentialSource.
func (k *sourcedKeychain) CredentialSource(r authn.Resource) string {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.answered[r.RegistryStr()]
}

// openImageCache opens the image cache for a registry the cache serves (the
// Docker Registry API); nil when it is turned off or unusable, which only
// costs the run its speed-up, so it warns and goes on.
func openImageCache(opts cleanupOptions, reg cleanup.Registry, repo string, stderr io.Writer) *imagecache.Cache {
	if _, ok := reg.(cleanup.ManifestFetcher); !ok || opts.noImageCache {
		return nil
	}
	dir := opts.imageCacheDir
	if dir == "" {
		var err error
		if dir, err = imagecache.DefaultDir(); err != nil {
			fmt.Fprintln(stderr, "Warning: reading every image from the registry:", err)
			return nil
		}
	}
	cache, err := imagecache.Open(dir, repo)
	if err != nil {
		fmt.Fprintln(stderr, "Warning: reading every image from the registry:", err)
		return nil
	}
	return cache
}
