package main

import (
	"os"

	"github.com/docker/cli/cli/command"

	"github.com/docker-werf/docker-werf/internal/acr"
	"github.com/docker-werf/docker-werf/internal/cleanup"
	"github.com/docker-werf/docker-werf/internal/creds"
	"github.com/docker-werf/docker-werf/internal/dockerhub"
	"github.com/docker-werf/docker-werf/internal/ecr"
	"github.com/docker-werf/docker-werf/internal/github"
	"github.com/docker-werf/docker-werf/internal/gitlab"
	"github.com/docker-werf/docker-werf/internal/harbor"
	"github.com/docker-werf/docker-werf/internal/quay"
	"github.com/docker-werf/docker-werf/internal/registry"
	"github.com/docker-werf/docker-werf/internal/registryapi"
	"github.com/docker-werf/docker-werf/internal/selectel"
	"github.com/docker-werf/docker-werf/internal/version"
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

// nativeBackend opens a registry's own API client. api is the Docker
// Registry API client, which also reads image configs for the native
// clients, whose APIs do not show labels. ok false means the kind's native
// API is not used this time, and the Docker Registry API client serves.
type nativeBackend func(repo registry.Repository, native nativeCredentials, api *registryapi.Client) (reg cleanup.Registry, ok bool, err error)

// nativeBackends is the one table of native API clients, by registry kind;
// a kind not in it is served by the Docker Registry API.
var nativeBackends = map[registry.Kind]nativeBackend{
	registry.DockerHub: func(repo registry.Repository, n nativeCredentials, api *registryapi.Client) (cleanup.Registry, bool, error) {
		c, err := dockerhub.New(repo, dockerhub.Credentials{Token: n.get(registry.CredDockerHubToken),
			Username: n.get(registry.CredDockerHubUsername), Password: n.get(registry.CredDockerHubPassword)},
			dockerhub.WithRegistryAPI(api), dockerhub.WithUserAgent(version.UserAgent()))
		return c, true, err
	},
	registry.GitHub: func(repo registry.Repository, n nativeCredentials, api *registryapi.Client) (cleanup.Registry, bool, error) {
		c, err := github.New(repo, github.Credentials{Token: n.get(registry.CredGitHubToken)},
			github.WithRegistryAPI(api), github.WithUserAgent(version.UserAgent()))
		return c, true, err
	},
	registry.GitLab: func(repo registry.Repository, n nativeCredentials, api *registryapi.Client) (cleanup.Registry, bool, error) {
		if !hasGitLabToken(n, repo.Host) {
			// Without an API token the registry API still untags (GitLab
			// 16.4+ deletes by tag; older ones by the overwrite).
			return nil, false, nil
		}
		c, err := gitlab.New(repo, gitlab.Credentials{Token: n.get(registry.CredGitLabToken)},
			gitlab.WithRegistryAPI(api), gitlab.WithCIEnv(os.Getenv), gitlab.WithUserAgent(version.UserAgent()))
		return c, true, err
	},
	registry.Harbor: func(repo registry.Repository, n nativeCredentials, _ *registryapi.Client) (cleanup.Registry, bool, error) {
		c, err := harbor.New(repo, harbor.Credentials{Username: n.get(registry.CredHarborUsername),
			Password: n.get(registry.CredHarborPassword)}, harbor.WithUserAgent(version.UserAgent()))
		return c, true, err
	},
	registry.ACR: func(repo registry.Repository, n nativeCredentials, _ *registryapi.Client) (cleanup.Registry, bool, error) {
		// ACR reads image configs with its own credentials: the docker
		// config may have no ACR login.
		c, err := acr.New(repo, acr.Credentials{Username: n.get(registry.CredACRUsername),
			Password: n.get(registry.CredACRPassword), Token: n.get(registry.CredACRToken)},
			acr.WithUserAgent(version.UserAgent()))
		return c, true, err
	},
	registry.ECR: func(repo registry.Repository, _ nativeCredentials, _ *registryapi.Client) (cleanup.Registry, bool, error) {
		// The AWS default credential chain; image configs are read with a
		// GetAuthorizationToken login.
		c, err := ecr.New(repo, ecr.Credentials{})
		return c, true, err
	},
	registry.Selectel: func(repo registry.Repository, n nativeCredentials, api *registryapi.Client) (cleanup.Registry, bool, error) {
		c, err := selectel.New(repo, selectel.Credentials{Username: n.get(registry.CredSelectelUsername),
			Password: n.get(registry.CredSelectelPassword), Account: n.get(registry.CredSelectelAccount),
			VPC: n.get(registry.CredSelectelVPC), VPCID: n.get(registry.CredSelectelVPCID)},
			selectel.WithRegistryAPI(api), selectel.WithUserAgent(version.UserAgent()))
		return c, true, err
	},
	registry.Quay: func(repo registry.Repository, n nativeCredentials, api *registryapi.Client) (cleanup.Registry, bool, error) {
		c, err := quay.New(repo, quay.Credentials{Token: n.get(registry.CredQuayToken)},
			quay.WithRegistryAPI(api), quay.WithUserAgent(version.UserAgent()))
		return c, true, err
	},
}

// openClient picks the client for the registry's kind: its native API
// where the Docker Registry API cannot delete one tag (or at all), the
// Docker Registry API elsewhere.
func openClient(dockerCLI command.Cli, repo registry.Repository, conn connectionOptions, native nativeCredentials) (cleanup.Registry, error) {
	api, err := registryapi.New(repo.Name(), cleanupKeychain(dockerCLI, repo.Host, conn),
		registryapi.WithUserAgent(version.UserAgent()), registryapi.WithInsecure(conn.insecure),
		registryapi.WithRequestTimeout(conn.requestTimeout),
		registryapi.WithTLS(registryapi.TLSOptions{CertsDirs: certsDirs(), SkipVerify: conn.skipTLSVerify}))
	if err != nil {
		return nil, err
	}
	if open := nativeBackends[repo.Kind]; open != nil {
		c, ok, err := open(repo, native, api)
		if err != nil {
			return nil, err
		}
		if ok {
			return c, nil
		}
	}
	return api, nil
}

// hasGitLabToken says whether cleanup uses the GitLab API: with
// --repo-gitlab-token, or with the job's CI_JOB_TOKEN for a repository on
// the job's own CI_REGISTRY (gitlab takes it from the environment then),
// unless WERF_IMAGES_CLEANUP_PASSWORD asks for werf's way: the registry API
// as werf-cleanup.
func hasGitLabToken(native nativeCredentials, host string) bool {
	if native.get(registry.CredGitLabToken) != "" {
		return true
	}
	if os.Getenv(creds.EnvCleanupPassword) != "" {
		return false
	}
	return os.Getenv("CI_JOB_TOKEN") != "" && registry.IsJobRegistry(host, os.Getenv)
}

// envCertsDir replaces docker's certificate directories (DefaultCertsDirs):
// for tests, and for a CI image that keeps them elsewhere.
const envCertsDir = "DOCKER_WERF_CERTS_DIR"

func certsDirs() []string {
	if d := os.Getenv(envCertsDir); d != "" {
		return []string{d}
	}
	return registryapi.DefaultCertsDirs()
}
