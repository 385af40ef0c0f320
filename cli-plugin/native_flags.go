package main

import (
	"strings"

	"github.com/spf13/pflag"

	"github.com/docker-werf/docker-werf/internal/flagenv"
	"github.com/docker-werf/docker-werf/internal/registry"
)

// nativeCredentials are the --repo-* credential flags of every registry's
// own API, by flag name without dashes ("repo-quay-token").
type nativeCredentials map[string]*string

// addNativeCredentialFlags registers werf's --repo-* credential flags, each
// with its WERF_REPO_* variable, from the registry-type module's data.
func addNativeCredentialFlags(fs *pflag.FlagSet) nativeCredentials {
	creds := nativeCredentials{}
	for _, kind := range registry.Kinds() {
		for _, c := range registry.SpecFor(kind).Credentials {
			name, ok := strings.CutPrefix(c.Flag, "--")
			if !ok || !strings.HasPrefix(name, "repo-") || creds[name] != nil {
				continue
			}
			creds[name] = fs.String(name, "", c.Description)
			flagenv.Bind(fs, name, c.Env)
		}
	}
	return creds
}

func (n nativeCredentials) get(name string) string {
	if p := n[name]; p != nil {
		return *p
	}
	return ""
}
