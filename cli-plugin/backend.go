package main

import (
	"os"

	"github.com/docker/cli/cli/command"

	"github.com/docker-werf/docker-werf/internal/acr"
	"github.com/docker-werf/docker-werf/internal/cleanup"
	"github.com/docker-werf/docker-werf/internal/creds"
	"github.com/docker-werf/docker-werf/internal/dockerhub"
	"github.com/docker-werf/docker-werf/internal/ecr"
	"github.com/docker-werf/docker-werf/internal/ghcr"
	"github.com/docker-werf/docker-werf/internal/gitlabapi"
	"github.com/docker-werf/docker-werf/internal/harbor"
	"github.com/docker-werf/docker-werf/internal/quay"
	"github.com/docker-werf/docker-werf/internal/registry"
	"github.com/docker-werf/docker-werf/internal/registryapi"
	"github.com/docker-werf/docker-werf/internal/remote"
	"github.com/docker-werf/docker-werf/internal/selectel"
)

// backend is a registry's cleanup client and how it deletes, as the
// registry spec of its kind says.
type backend struct {
	cleanup.Registry
	cannotUntag       bool
	untagDeletesImage bool
}

// openBackend opens the client for the registry's kind and takes what it
// can delete from the kind's spec.
func openBackend(dockerCLI command.Cli, repo registry.Repository, conn connectionOptions, native nativeCredentials) (backend, error) {
	c, err := openClient(dockerCLI, repo, conn, native)
	d := registry.SpecFor(repo.Kind).Deletion
	return backend{Registry: c, cannotUntag: !d.UntagSafe, untagDeletesImage: d.UntagDeletesImage}, err
}

// openClient picks the client for the registry's kind: its native API
// where the Docker Registry API cannot delete one tag (or at all), the
// Docker Registry API elsewhere. The Docker Registry API client also reads
// image configs for the native clients, whose APIs do not show labels.
func openClient(dockerCLI command.Cli, repo registry.Repository, conn connectionOptions, native nativeCredentials) (cleanup.Registry, error) {
	api, err := registryapi.New(repo.Name(), cleanupKeychain(dockerCLI, repo.Host, conn),
		registryapi.WithUserAgent(remote.UserAgent()), registryapi.WithInsecure(conn.insecure),
		registryapi.WithRequestTimeout(conn.requestTimeout))
	if err != nil {
		return nil, err
	}
	switch repo.Kind {
	case registry.DockerHub:
		c, err := dockerhub.New(repo, dockerhub.Credentials{
			Token: native.get("repo-docker-hub-token"), Username: native.get("repo-docker-hub-username"),
			Password: native.get("repo-docker-hub-password"),
		}, dockerhub.WithRegistryAPI(api), dockerhub.WithUserAgent(remote.UserAgent()))
		return c, err
	case registry.GitHub:
		c, err := ghcr.New(repo, ghcr.Credentials{Token: native.get("repo-github-token")},
			ghcr.WithRegistryAPI(api), ghcr.WithUserAgent(remote.UserAgent()))
		return c, err
	case registry.GitLab:
		if !hasGitLabToken(native, repo.Host) {
			// Without an API token the registry API still untags (GitLab
			// 16.4+ deletes by tag; older ones by the overwrite).
			break
		}
		c, err := gitlabapi.New(repo, gitlabapi.Credentials{Token: native.get("repo-gitlab-token")},
			gitlabapi.WithRegistryAPI(api), gitlabapi.WithCIEnv(os.Getenv), gitlabapi.WithUserAgent(remote.UserAgent()))
		return c, err
	case registry.Harbor:
		c, err := harbor.New(repo, harbor.Credentials{Username: native.get("repo-harbor-username"),
			Password: native.get("repo-harbor-password")}, harbor.WithUserAgent(remote.UserAgent()))
		return c, err
	case registry.ACR:
		// ACR reads image configs with its own credentials: the docker
		// config may have no ACR login.
		c, err := acr.New(repo, acr.Credentials{Username: native.get("repo-acr-username"),
			Password: native.get("repo-acr-password"), Token: native.get("repo-acr-token")}, acr.WithUserAgent(remote.UserAgent()))
		return c, err
	case registry.ECR:
		// The AWS default credential chain; image configs are read with a
		// GetAuthorizationToken login.
		c, err := ecr.New(repo, ecr.Credentials{})
		return c, err
	case registry.Selectel:
		c, err := selectel.New(repo, selectel.Credentials{Username: native.get("repo-selectel-username"),
			Password: native.get("repo-selectel-password"), Account: native.get("repo-selectel-account"),
			VPC: native.get("repo-selectel-vpc"), VPCID: native.get("repo-selectel-vpc-id")},
			selectel.WithRegistryAPI(api), selectel.WithUserAgent(remote.UserAgent()))
		return c, err
	case registry.Quay:
		c, err := quay.New(repo, quay.Credentials{Token: native.get("repo-quay-token")},
			quay.WithRegistryAPI(api), quay.WithUserAgent(remote.UserAgent()))
		return c, err
	}
	return api, nil
}

// hasGitLabToken says whether cleanup uses the GitLab API: with
// --repo-gitlab-token, or with the job's CI_JOB_TOKEN for a repository on
// the job's own CI_REGISTRY (gitlabapi takes it from the environment then),
// unless WERF_IMAGES_CLEANUP_PASSWORD asks for werf's way: the registry API
// as werf-cleanup.
func hasGitLabToken(native nativeCredentials, host string) bool {
	if native.get("repo-gitlab-token") != "" {
		return true
	}
	if os.Getenv(creds.EnvCleanupPassword) != "" {
		return false
	}
	ciRegistry, err := registry.HostKey(os.Getenv("CI_REGISTRY"))
	return err == nil && os.Getenv("CI_JOB_TOKEN") != "" && ciRegistry == host
}
