// Package cleanuptest is the contract every registry backend of cleanup
// passes: the Docker Registry API client and each native API client run the
// same scenarios against their fake servers (or a real registry).
package cleanuptest

import (
	"context"
	"fmt"
	"slices"
	"testing"

	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"

	"github.com/docker-werf/docker-werf/internal/cleanup"
	"github.com/docker-werf/docker-werf/internal/policy"
	"github.com/docker-werf/docker-werf/internal/registry"
)

// Backend is one registry under test, freshly made for each scenario.
type Backend interface {
	// Registry is the client under test, with valid credentials.
	Registry() cleanup.Registry
	// Seed creates the tags; tags given the same image name share one
	// digest. Seed is called once, before anything else.
	Seed(t *testing.T, tags map[string]string)
	// Tags is the server's own view of the tags (not through the client).
	Tags(t *testing.T) []string
	// Writes are the requests that changed (or could change) the server.
	Writes(t *testing.T) []string
	// RateLimitNext makes the next request of the client get the API's
	// documented rate-limit answer (429 with its retry header).
	RateLimitNext(t *testing.T)
	// Unauthorized returns a client whose credentials the server refuses,
	// and text the error must contain (the missing credential or scope).
	Unauthorized(t *testing.T) (cleanup.Registry, string)
	// PageSize is the server's page size for tag listings (Seed makes more
	// tags than that in the pagination scenario).
	PageSize() int
	// Kind is the registry's kind: its spec (registry.SpecFor) says whether
	// it can untag, and the scenarios hold the client to that.
	Kind() registry.Kind
}

// cannotUntag is what the spec of b's kind says.
func cannotUntag(b Backend) bool { return !registry.SpecFor(b.Kind()).Deletion.UntagSafe }

// Run runs every scenario against backends made by newBackend.
func Run(t *testing.T, newBackend func(t *testing.T) Backend) {
	t.Run("shared digest with a kept tag survives", func(t *testing.T) {
		b := newBackend(t)
		b.Seed(t, map[string]string{"keep": "one", "old-same": "one", "old-other": "two"})
		res := cleanupKeeping(t, b, false, "keep")
		if cannotUntag(b) {
			assert.Check(t, is.DeepEqual(b.Tags(t), []string{"keep", "old-same"}))
			assert.Check(t, is.Equal(res["old-same"].Reason, cleanup.ReasonCannotUntag))
			return
		}
		assert.Check(t, is.DeepEqual(b.Tags(t), []string{"keep"}))
	})
	t.Run("untag removes exactly one tag", func(t *testing.T) {
		b := newBackend(t)
		if cannotUntag(b) {
			t.Skip("this registry deletes whole images only; the shared-digest scenario covers it")
		}
		b.Seed(t, map[string]string{"a": "one", "b": "one", "c": "one"})
		d, err := b.Registry().Resolve(context.Background(), "a")
		assert.NilError(t, err)
		assert.NilError(t, b.Registry().Untag(context.Background(), "b", d.Digest))
		assert.Check(t, is.DeepEqual(b.Tags(t), []string{"a", "c"}))
	})
	t.Run("a rate limit is waited out", func(t *testing.T) {
		b := newBackend(t)
		b.Seed(t, map[string]string{"a": "one"})
		b.RateLimitNext(t)
		tags, err := b.Registry().Tags(context.Background())
		assert.NilError(t, err)
		assert.Check(t, is.DeepEqual(tags, []string{"a"}))
	})
	t.Run("an auth failure names what is missing", func(t *testing.T) {
		b := newBackend(t)
		b.Seed(t, map[string]string{"a": "one"})
		reg, want := b.Unauthorized(t)
		_, err := reg.Tags(context.Background())
		assert.ErrorContains(t, err, want)
	})
	t.Run("pagination is followed to the end", func(t *testing.T) {
		b := newBackend(t)
		tags := map[string]string{}
		var want []string
		for i := range 2*b.PageSize() + 1 {
			tag := fmt.Sprintf("t%03d", i)
			tags[tag], want = fmt.Sprintf("img%d", i), append(want, tag)
		}
		b.Seed(t, tags)
		got, err := b.Registry().Tags(context.Background())
		assert.NilError(t, err)
		slices.Sort(got)
		assert.Check(t, is.DeepEqual(got, want))
	})
	t.Run("dry run sends no write", func(t *testing.T) {
		b := newBackend(t)
		b.Seed(t, map[string]string{"keep": "one", "old": "two"})
		before := len(b.Writes(t))
		cleanupKeeping(t, b, true, "keep")
		assert.Check(t, is.Len(b.Writes(t)[before:], 0))
		assert.Check(t, is.DeepEqual(b.Tags(t), []string{"keep", "old"}))
	})
}

// cleanupKeeping runs inventory, plan and execution with a policy that keeps
// exactly the given tags.
func cleanupKeeping(t *testing.T, b Backend, dryRun bool, keep ...string) map[string]cleanup.TagResult {
	t.Helper()
	ctx := context.Background()
	reg := b.Registry()
	items, err := cleanup.Inventory(ctx, reg, 2, nil)
	assert.NilError(t, err)
	var ds []policy.Decision
	for _, it := range items {
		ds = append(ds, policy.Decision{Tag: it.Tag, Keep: slices.Contains(keep, it.Tag), Reason: "test"})
	}
	d := registry.SpecFor(b.Kind()).Deletion
	plan := cleanup.MakePlan(items, ds, cleanup.PlanOptions{CannotUntag: !d.UntagSafe, UntagDeletesImage: d.UntagDeletesImage})
	res, err := cleanup.Execute(ctx, reg, plan, cleanup.Options{Parallel: 2, DryRun: dryRun})
	assert.NilError(t, err)
	out := map[string]cleanup.TagResult{}
	for _, r := range res {
		out[r.Tag] = r
	}
	return out
}
