package main

import (
	"fmt"
	"io"
	"strings"

	"github.com/spf13/pflag"

	"github.com/docker-werf/docker-werf/internal/ci"
	"github.com/docker-werf/docker-werf/internal/flagenv"
	"github.com/docker-werf/docker-werf/internal/registry"
)

// repoOptions are the flags that say which registry stands behind --repo,
// shared by every command that talks to a repository.
type repoOptions struct {
	containerRegistry string
	implementation    string // werf's legacy name for containerRegistry
	flags             *pflag.FlagSet
}

func addRepoFlags(fs *pflag.FlagSet, opts *repoOptions) {
	opts.flags = fs
	fs.StringVar(&opts.containerRegistry, "repo-container-registry", "",
		"Registry kind instead of detection from the address: "+kindList())
	flagenv.Bind(fs, "repo-container-registry", "WERF_REPO_CONTAINER_REGISTRY")
	fs.StringVar(&opts.implementation, "repo-implementation", "", "Deprecated: use --repo-container-registry")
	flagenv.Bind(fs, "repo-implementation", "WERF_REPO_IMPLEMENTATION")
	_ = fs.MarkHidden("repo-implementation")
}

// kind returns the override for the repository addr, "" meaning detect. The
// legacy spelling still works, with a notice on stderr, because old werf
// pipelines set it. A kind that ci-env detected (and exported for werf, which
// applies it to WERF_REPO only) applies to that repository's registry only.
func (o repoOptions) kind(stderr io.Writer, addr string, getenv func(string) string) (registry.Kind, error) {
	name, flag := o.containerRegistry, "--repo-container-registry"
	if name == "" && o.implementation != "" {
		fmt.Fprintln(stderr, "Notice: --repo-implementation (WERF_REPO_IMPLEMENTATION) is deprecated; "+
			"use --repo-container-registry (WERF_REPO_CONTAINER_REGISTRY)")
		name, flag = o.implementation, "--repo-implementation"
	}
	k, err := registry.ParseKind(name)
	if err != nil {
		return "", fmt.Errorf("%s: %w", flag, err)
	}
	if k != "" && o.detectedForOther(string(k), flag, addr, getenv) {
		return "", nil
	}
	return k, nil
}

// detectedForOther: the kind came from the variable, holds what ci-env
// detected, and ci-env detected it for another registry than addr's.
func (o repoOptions) detectedForOther(kind, flag, addr string, getenv func(string) string) bool {
	if o.flags == nil || !flagenv.FromEnv(o.flags.Lookup(strings.TrimPrefix(flag, "--"))) {
		return false
	}
	detected, repo, ok := ci.DetectedRegistry(getenv(ci.DetectedRegistryVar))
	if !ok || detected != kind {
		return false
	}
	at, err1 := registry.ParseRepository(addr, registry.Default, nil)
	of, err2 := registry.ParseRepository(repo, registry.Default, nil)
	return err1 == nil && err2 == nil && at.Host != of.Host
}

func kindList() string {
	s := "auto"
	for _, k := range registry.Kinds() {
		s += ", " + string(k)
	}
	return s
}
