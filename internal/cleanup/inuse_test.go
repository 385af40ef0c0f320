package cleanup

import (
	"testing"

	"gotest.tools/v3/assert"

	"github.com/docker-werf/docker-werf/internal/policy"
)

func TestInUseKeepsTagsByNameAndDigest(t *testing.T) {
	items := []Item{
		{Tag: "by-tag", Digest: "sha256:a"},
		{Tag: "by-digest", Digest: "sha256:b"},
		{Tag: "index", Digest: "sha256:i", IsIndex: true, Children: []string{"sha256:inner"}},
		{Tag: "inner", Digest: "sha256:inner", IsIndex: true, Children: []string{"sha256:c"}},
		{Tag: "protected", Digest: "sha256:d"},
		{Tag: "weak", Digest: "sha256:e"},
		{Tag: "loop", Digest: "sha256:loop", IsIndex: true, Children: []string{"sha256:loop"}},
		{Tag: "unused", Digest: "sha256:f"},
	}
	del := func(tag string) policy.Decision { return policy.Decision{Tag: tag, Reason: "commit-gone"} }
	decisions := []policy.Decision{
		del("by-tag"), del("by-digest"), del("index"), del("inner"),
		{Tag: "protected", Keep: true, Reason: "protected", Detail: "matches latest"},
		{Tag: "weak", Keep: true, Reason: "no-rule"},
		del("loop"), del("unused"),
	}
	in := InUse{
		Tags:    map[string]string{"by-tag": "Deployment api", "weak": "Pod w", "protected": "Pod p"},
		Digests: map[string]string{"sha256:b": "Pod b", "sha256:c": "Pod c"},
	}
	for _, opts := range []PlanOptions{{InUse: in}, {InUse: in, DeleteManifests: true}, {InUse: in, CannotUntag: true}} {
		p := MakePlan(items, decisions, opts)
		got := map[string]policy.Decision{}
		for _, d := range p.Decisions {
			got[d.Tag] = d
		}
		assert.DeepEqual(t, got, map[string]policy.Decision{
			"by-tag":    {Tag: "by-tag", Keep: true, Reason: ReasonInUse, Detail: "Deployment api"},
			"by-digest": {Tag: "by-digest", Keep: true, Reason: ReasonInUse, Detail: "Pod b"},
			"index":     {Tag: "index", Keep: true, Reason: ReasonInUse, Detail: "Pod c"},
			"inner":     {Tag: "inner", Keep: true, Reason: ReasonInUse, Detail: "Pod c"},
			"protected": {Tag: "protected", Keep: true, Reason: "protected", Detail: "matches latest"},
			"weak":      {Tag: "weak", Keep: true, Reason: ReasonInUse, Detail: "Pod w"},
			"loop":      del("loop"),
			"unused":    del("unused"),
		})
		var gone []string
		for _, a := range p.Actions {
			gone = append(gone, a.Tags...)
		}
		assert.DeepEqual(t, gone, []string{"unused", "loop"})
	}
}
