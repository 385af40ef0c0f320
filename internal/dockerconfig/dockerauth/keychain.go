// Package dockerauth resolves registry credentials from the docker config the
// plugin was given (`docker --config`, DOCKER_CONFIG, ~/.docker), the way the
// docker CLI does, except that entries naming docker-credential-werf are
// answered in-process instead of by exec'ing the helper.
package dockerauth

import (
	"fmt"
	"os"

	"github.com/docker/cli/cli/config/configfile"
	"github.com/docker/docker-credential-helpers/credentials"
	"github.com/google/go-containerregistry/pkg/authn"

	"github.com/docker-werf/docker-werf/internal/creds"
	"github.com/docker-werf/docker-werf/internal/registry"
)

// HelperName is the credHelpers value that selects docker-credential-werf.
const HelperName = "werf"

// dockerHubKey is the key docker stores Docker Hub credentials under.
const dockerHubKey = "https://index.docker.io/v1/"

// Credentials are what a lookup found and where; Source never holds a secret.
type Credentials struct {
	Username      string
	Password      string
	IdentityToken string
	Source        string
}

// Empty reports whether nothing was found (anonymous access).
func (c Credentials) Empty() bool {
	return c.Username == "" && c.Password == "" && c.IdentityToken == ""
}

// Keychain is an authn.Keychain over one docker config file.
type Keychain struct {
	config  *configfile.ConfigFile
	dir     string
	purpose creds.Purpose
	env     registry.Env
}

// New returns a keychain over cfg, whose directory is dir. purpose selects
// cleanup credentials (WERF_IMAGES_CLEANUP_PASSWORD) where they apply.
func New(cfg *configfile.ConfigFile, dir string, purpose creds.Purpose) *Keychain {
	return &Keychain{config: cfg, dir: dir, purpose: purpose, env: os.Getenv}
}

// Resolve implements authn.Keychain.
func (k *Keychain) Resolve(target authn.Resource) (authn.Authenticator, error) {
	c, err := k.Lookup(target.RegistryStr())
	if err != nil {
		return nil, err
	}
	if c.Empty() {
		return authn.Anonymous, nil
	}
	return authn.FromConfig(authn.AuthConfig{Username: c.Username, Password: c.Password, IdentityToken: c.IdentityToken}), nil
}

// Lookup finds the credentials for a registry host.
func (k *Keychain) Lookup(host string) (Credentials, error) {
	key, err := registry.HostKey(host)
	if err != nil {
		return Credentials{}, err
	}
	configKey := key
	if key == "docker.io" {
		configKey = dockerHubKey
	}
	if k.helperFor(configKey) == HelperName && k.env("DOCKER_AUTH_CONFIG") == "" {
		return k.lookupInProcess(configKey)
	}
	ac, err := k.config.GetAuthConfig(configKey)
	if err != nil {
		return Credentials{}, fmt.Errorf("reading credentials for %s from %s: %w", key, k.config.Filename, err)
	}
	return Credentials{
		Username: ac.Username, Password: ac.Password, IdentityToken: ac.IdentityToken,
		Source: k.describeStore(configKey),
	}, nil
}

func (k *Keychain) helperFor(configKey string) string {
	if h, ok := k.config.CredentialHelpers[configKey]; ok {
		return h
	}
	return k.config.CredentialsStore
}

func (k *Keychain) describeStore(configKey string) string {
	if k.env("DOCKER_AUTH_CONFIG") != "" {
		return "DOCKER_AUTH_CONFIG"
	}
	if h := k.helperFor(configKey); h != "" {
		return "credential helper docker-credential-" + h
	}
	return "auths in " + k.config.Filename
}

func (k *Keychain) lookupInProcess(configKey string) (Credentials, error) {
	r, err := creds.New(creds.Options{Env: k.env, ConfigDir: k.dir, Purpose: k.purpose})
	if err != nil {
		return Credentials{}, err
	}
	user, secret, err := r.Get(configKey)
	if credentials.IsErrCredentialsNotFound(err) {
		return Credentials{Source: "docker-credential-werf (nothing found)"}, nil
	}
	if err != nil {
		return Credentials{}, err
	}
	source, _ := r.Source(configKey)
	c := Credentials{Username: user, Password: secret, Source: "docker-credential-werf: " + source}
	if user == "<token>" {
		c = Credentials{IdentityToken: secret, Source: c.Source}
	}
	return c, nil
}
