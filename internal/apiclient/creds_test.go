package apiclient

import (
	"testing"

	"github.com/docker-werf/docker-werf/internal/registry"
)

func TestCredentialNames(t *testing.T) {
	got := CredentialNames(registry.Credential{Flag: "--a", Env: "A"}, registry.Credential{Flag: "--b"})
	if want := "--a (A) and --b"; got != want {
		t.Errorf("CredentialNames = %q, want %q", got, want)
	}
}
