package main

import (
	"testing"

	"gotest.tools/v3/assert"

	"github.com/docker-werf/docker-werf/internal/registry"
)

// TestNativeBackendsFollowTheSpecs: a kind has a native client exactly when
// its spec's deletion method is its own API, not the registry API's.
func TestNativeBackendsFollowTheSpecs(t *testing.T) {
	registryAPI := map[string]bool{registry.MethodOCITagDelete: true, registry.MethodOverwriteThenDelete: true}
	for _, kind := range registry.Kinds() {
		method := registry.SpecFor(kind).Deletion.Method
		_, native := nativeBackends[kind]
		assert.Check(t, native == !registryAPI[method], "%s (%s): native client %v", kind, method, native)
	}
}
