package main

import (
	"fmt"
	"io"

	"github.com/spf13/pflag"

	"github.com/docker-werf/docker-werf/internal/flagenv"
	"github.com/docker-werf/docker-werf/internal/registry"
)

// repoOptions are the flags that say which registry stands behind --repo,
// shared by every command that talks to a repository.
type repoOptions struct {
	containerRegistry string
	implementation    string // werf's legacy name for containerRegistry
}

func addRepoFlags(fs *pflag.FlagSet, opts *repoOptions) {
	fs.StringVar(&opts.containerRegistry, "repo-container-registry", "",
		"Registry kind instead of detection from the address: "+kindList())
	flagenv.Bind(fs, "repo-container-registry", "WERF_REPO_CONTAINER_REGISTRY")
	fs.StringVar(&opts.implementation, "repo-implementation", "", "Deprecated: use --repo-container-registry")
	flagenv.Bind(fs, "repo-implementation", "WERF_REPO_IMPLEMENTATION")
	_ = fs.MarkHidden("repo-implementation")
}

// kind returns the override, "" meaning detect. The legacy spelling still
// works, with a notice on stderr, because old werf pipelines set it.
func (o repoOptions) kind(stderr io.Writer) (registry.Kind, error) {
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
	return k, nil
}

func kindList() string {
	s := "auto"
	for _, k := range registry.Kinds() {
		s += ", " + string(k)
	}
	return s
}
