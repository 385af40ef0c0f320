package apiclient

import (
	"strings"

	"github.com/docker-werf/docker-werf/internal/registry"
)

// CredentialNames renders credentials as "--flag (ENV)", joined with " and ".
func CredentialNames(cs ...registry.Credential) string {
	parts := make([]string, len(cs))
	for i, c := range cs {
		parts[i] = c.Flag
		if c.Env != "" {
			parts[i] += " (" + c.Env + ")"
		}
	}
	return strings.Join(parts, " and ")
}
