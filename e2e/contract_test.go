package e2e

import (
	"net/http"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"gotest.tools/v3/assert"

	"github.com/docker-werf/docker-werf/e2e/harness"
	"github.com/docker-werf/docker-werf/internal/cleanup"
	"github.com/docker-werf/docker-werf/internal/cleanup/cleanuptest"
	"github.com/docker-werf/docker-werf/internal/registry"
	"github.com/docker-werf/docker-werf/internal/registryapi"
)

// registryAPIBackend is the Docker Registry API client against a real
// registry behind the recording, fault-injecting proxy.
type registryAPIBackend struct {
	t      *testing.T
	reg    *harness.Registry
	proxy  *harness.Proxy
	pusher *harness.Pusher
	pass   string
}

func (b *registryAPIBackend) client(pass string) cleanup.Registry {
	c, err := registryapi.New(b.proxy.Addr+"/contract/app",
		fixedKeychain{authn.FromConfig(authn.AuthConfig{Username: "ci", Password: pass})}, registryapi.WithPageSize(b.PageSize()))
	assert.NilError(b.t, err)
	return c
}

func (b *registryAPIBackend) Registry() cleanup.Registry { return b.client(b.pass) }

func (b *registryAPIBackend) Seed(t *testing.T, tags map[string]string) {
	images := map[string]string{}
	for tag, image := range tags {
		if first, ok := images[image]; ok {
			b.pusher.Tag(b.reg.Repo("contract/app:"+first), tag)
			continue
		}
		b.pusher.Push(b.reg.Repo("contract/app:"+tag), b.pusher.Image(time.Now().Add(-time.Hour), nil))
		images[image] = tag
	}
}

func (b *registryAPIBackend) Tags(*testing.T) []string {
	tags := b.pusher.Tags(b.reg.Repo("contract/app"))
	slices.Sort(tags)
	return tags
}

func (b *registryAPIBackend) Writes(*testing.T) []string { return b.proxy.Writes() }

func (b *registryAPIBackend) RateLimitNext(*testing.T) {
	var fired atomic.Bool
	b.proxy.SetFault(func(*http.Request) harness.Fault {
		if fired.Swap(true) {
			return harness.Fault{}
		}
		return harness.Fault{Status: http.StatusTooManyRequests, Header: map[string]string{"Retry-After": "1"}}
	})
}

func (b *registryAPIBackend) Unauthorized(*testing.T) (cleanup.Registry, string) {
	return b.client("not-the-password"), "401"
}

func (b *registryAPIBackend) PageSize() int       { return 2 }
func (b *registryAPIBackend) Kind() registry.Kind { return registry.Default }

// fixedKeychain answers every registry with one authenticator.
type fixedKeychain struct{ auth authn.Authenticator }

func (k fixedKeychain) Resolve(authn.Resource) (authn.Authenticator, error) { return k.auth, nil }

// TestCleanupContractRegistryAPI runs the contract every cleanup backend
// passes against distribution 2.8 and 3 through the Docker Registry API.
func TestCleanupContractRegistryAPI(t *testing.T) {
	for _, version := range harness.RegistryVersions {
		t.Run(version, func(t *testing.T) {
			cleanuptest.Run(t, func(t *testing.T) cleanuptest.Backend {
				h := harness.New(t)
				pass := h.RandomSecret("contract-")
				reg := harness.StartRegistry(t, version, map[string]string{"ci": pass})
				return &registryAPIBackend{t: t, reg: reg, proxy: harness.StartProxy(t, reg),
					pusher: harness.NewPusher(t, "ci", pass), pass: pass}
			})
		})
	}
}
