package main

import (
	"github.com/spf13/pflag"

	"github.com/docker-werf/docker-werf/internal/flagenv"
	"github.com/docker-werf/docker-werf/internal/registry"
)

// nativeCredentials are the --repo-* credential flags of every registry's
// own API, by the registry spec's key.
type nativeCredentials map[registry.CredentialKey]*string

// addNativeCredentialFlags registers werf's --repo-* credential flags, each
// with its WERF_REPO_* variable, from the registry specs.
func addNativeCredentialFlags(fs *pflag.FlagSet) nativeCredentials {
	creds := nativeCredentials{}
	for _, kind := range registry.Kinds() {
		for _, c := range registry.SpecFor(kind).Credentials {
			if c.Key == "" || creds[c.Key] != nil {
				continue
			}
			name := c.Flag[len("--"):]
			creds[c.Key] = fs.String(name, "", c.Description)
			flagenv.Bind(fs, name, c.Env)
		}
	}
	return creds
}

// get returns the credential's value, "" when it is not set.
func (n nativeCredentials) get(k registry.CredentialKey) string {
	if p := n[k]; p != nil {
		return *p
	}
	return ""
}
