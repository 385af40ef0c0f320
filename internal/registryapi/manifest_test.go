package registryapi

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"
)

func TestResolve(t *testing.T) {
	f := newFake(t, modeV3)
	d := f.putImage("v1", time.Unix(0, 0), nil, nil)
	c := f.client()
	ctx := context.Background()
	_, err := c.client(ctx, false)
	assert.NilError(t, err)
	f.requests()

	got, err := c.Resolve(ctx, "v1")
	assert.NilError(t, err)
	f.mu.Lock()
	size := int64(len(f.manifests[d].body))
	f.mu.Unlock()
	assert.DeepEqual(t, got, Descriptor{Digest: d, MediaType: MediaTypeOCIManifest, Size: size})
	// The fake checks Accept == every manifest type; one HEAD, no GET.
	assert.DeepEqual(t, f.requests(), []string{"HEAD /v2/team/app/manifests/v1 -> 200"})
	for _, mt := range []string{MediaTypeOCIIndex, MediaTypeOCIManifest, MediaTypeDockerList, MediaTypeDockerManifest} {
		assert.Check(t, strings.Contains(acceptManifests, mt))
	}

	// Without Docker-Content-Digest: GET and hash the body.
	f.noDigest = true
	got, err = c.Resolve(ctx, "v1")
	assert.NilError(t, err)
	assert.DeepEqual(t, got, Descriptor{Digest: d, MediaType: MediaTypeOCIManifest, Size: size})
	assert.DeepEqual(t, f.requests(), []string{
		"HEAD /v2/team/app/manifests/v1 -> 200",
		"GET /v2/team/app/manifests/v1 -> 200",
	})

	_, err = c.Resolve(ctx, "missing")
	assert.Check(t, errors.Is(err, ErrNotFound), "%v", err)
	assert.Check(t, is.ErrorContains(err, "resolve tag missing of "+f.host()+"/team/app"))

	_, err = c.Resolve(ctx, "../../x")
	assert.Check(t, is.ErrorContains(err, "invalid tag"))
	assert.Check(t, is.Len(f.requests(), 1), "no request for an invalid tag")
}

// TestResolveDigestMismatch: a GET whose body does not hash to the
// registry's Docker-Content-Digest is refused.
func TestResolveDigestMismatch(t *testing.T) {
	f := newFake(t, modeV3)
	f.putImage("v1", time.Unix(0, 0), nil, nil)
	f.hook = func(w http.ResponseWriter, r *http.Request) bool {
		if r.URL.Path != "/v2/team/app/manifests/v1" {
			return false
		}
		w.Header().Set("Content-Type", MediaTypeOCIManifest)
		if r.Method == http.MethodGet {
			w.Header().Set("Docker-Content-Digest", "sha256:"+strings.Repeat("0", 64))
			_, _ = w.Write([]byte(`{"schemaVersion":2}`))
		}
		return true
	}
	_, err := f.client().Resolve(context.Background(), "v1")
	assert.Check(t, is.ErrorContains(err, "manifest digest is"))
}

func TestInspectImage(t *testing.T) {
	created := time.Date(2026, 5, 4, 3, 2, 1, 123000000, time.UTC)
	for _, tc := range []struct {
		name        string
		labels      map[string]string
		annotations map[string]string
		want        string
	}{
		{name: "OCI revision label", labels: map[string]string{KeyRevision: "abc", KeyWerfCommit: "werf"}, want: "abc"},
		{name: "OCI revision annotation first", labels: map[string]string{KeyRevision: "label"}, annotations: map[string]string{KeyRevision: "ann"}, want: "ann"},
		{name: "werf annotation", annotations: map[string]string{KeyWerfCommit: "w1"}, want: "w1"},
		{name: "werf label", labels: map[string]string{KeyWerfCommit: "w2"}, want: "w2"},
		{name: "none", labels: map[string]string{"other": "x"}, want: ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFake(t, modeV3)
			f.putImage("v1", created, tc.labels, tc.annotations)
			c := f.client()
			ctx := context.Background()
			d, err := c.Resolve(ctx, "v1")
			assert.NilError(t, err)
			f.requests()
			img, err := c.Inspect(ctx, d)
			assert.NilError(t, err)
			assert.Check(t, !img.IsIndex)
			assert.Check(t, img.Created.Equal(created), "%v", img.Created)
			assert.Check(t, is.Equal(img.Revision, tc.want))
			assert.Check(t, is.DeepEqual(img.Labels, tc.labels))
			assert.Check(t, is.DeepEqual(img.Annotations, tc.annotations))
			assert.Check(t, is.Equal(img.Digest, d.Digest))
			assert.Check(t, img.Subject == nil)
			reqs := f.requests()
			assert.Check(t, is.Len(reqs, 2))
			assert.Check(t, is.Equal(reqs[0], "GET /v2/team/app/manifests/"+d.Digest+" -> 200"))
			assert.Check(t, strings.HasPrefix(reqs[1], "GET /v2/team/app/blobs/sha256:"))
		})
	}
}

func TestInspectIndex(t *testing.T) {
	f := newFake(t, modeV3)
	older := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	newer := older.Add(time.Hour)
	amd := f.putImage("", older, map[string]string{KeyRevision: "old"}, nil)
	arm := f.putImage("", newer, map[string]string{KeyRevision: "new", "x": "y"}, nil)
	// An attestation manifest (never read) and a child that is gone.
	att := strings.Repeat("a", 64)
	gone := strings.Repeat("b", 64)
	child := func(d, os, arch, variant string, ann map[string]string) map[string]any {
		return map[string]any{"mediaType": MediaTypeOCIManifest, "digest": d, "size": 1,
			"platform": map[string]string{"os": os, "architecture": arch, "variant": variant}, "annotations": ann}
	}
	idx, _ := json.Marshal(map[string]any{
		"schemaVersion": 2, "mediaType": MediaTypeOCIIndex,
		"manifests": []any{
			child(amd, "linux", "amd64", "", nil),
			child(arm, "linux", "arm64", "v8", nil),
			child("sha256:"+att, "unknown", "unknown", "", map[string]string{"vnd.docker.reference.type": "attestation-manifest"}),
			child("sha256:"+gone, "linux", "s390x", "", nil),
		},
	})
	id := f.putManifest("multi", MediaTypeOCIIndex, idx)
	c := f.client()
	ctx := context.Background()
	d, err := c.Resolve(ctx, "multi")
	assert.NilError(t, err)
	assert.Check(t, is.Equal(d.Digest, id))
	assert.Check(t, is.Equal(d.MediaType, MediaTypeOCIIndex))
	f.requests()

	img, err := c.Inspect(ctx, d)
	assert.NilError(t, err)
	assert.Check(t, img.IsIndex)
	assert.Check(t, img.Created.Equal(newer), "%v", img.Created)
	assert.Check(t, is.Equal(img.Revision, "new"))
	assert.Check(t, is.Equal(img.Labels["x"], "y"))
	assert.Check(t, img.MissingChildren, "the s390x child is gone")
	assert.Assert(t, is.Len(img.Children, 4))
	assert.Check(t, is.Equal(img.Children[0].Digest, amd))
	assert.Check(t, is.Equal(img.Children[0].Platform, "linux/amd64"))
	assert.Check(t, is.Equal(img.Children[1].Platform, "linux/arm64/v8"))
	assert.Check(t, is.Equal(img.Children[2].Annotations["vnd.docker.reference.type"], "attestation-manifest"))
	for _, r := range f.requests() {
		assert.Check(t, !strings.Contains(r, att), "attestation manifest read: %s", r)
	}
}

func TestInspectChecksDigest(t *testing.T) {
	f := newFake(t, modeV3)
	f.putImage("v1", time.Unix(0, 0), nil, nil)
	_, err := f.client().Inspect(context.Background(), Descriptor{Digest: "sha256:" + strings.Repeat("c", 64)})
	assert.Check(t, errors.Is(err, ErrNotFound), "%v", err)
	_, err = f.client().Inspect(context.Background(), Descriptor{Digest: "v1"})
	assert.Check(t, is.ErrorContains(err, "invalid digest"))
}

// pushReferrer stores an artifact manifest whose subject is subject.
func (f *fakeRegistry) pushReferrer(subject, artifactType string) string {
	cfg := f.putBlob([]byte(emptyJSON))
	m, _ := json.Marshal(map[string]any{
		"schemaVersion": 2, "mediaType": MediaTypeOCIManifest, "artifactType": artifactType,
		"config":  map[string]any{"mediaType": MediaTypeOCIEmpty, "digest": cfg, "size": 2},
		"layers":  []any{},
		"subject": map[string]any{"mediaType": MediaTypeOCIManifest, "digest": subject, "size": 1},
	})
	return f.putManifest("", MediaTypeOCIManifest, m)
}

func TestReferrersAPI(t *testing.T) {
	f := newFake(t, modeV3)
	f.referrers = true
	subj := f.putImage("v1", time.Unix(0, 0), nil, nil)
	sig := f.pushReferrer(subj, "application/vnd.dev.cosign.artifact.sig.v1+json")
	c := f.client()
	ctx := context.Background()
	refs, via, err := c.Referrers(ctx, subj)
	assert.NilError(t, err)
	assert.Check(t, is.Equal(via, ReferrersAPI))
	assert.Assert(t, is.Len(refs, 1))
	assert.Check(t, is.Equal(refs[0].Digest, sig))
	assert.Check(t, is.Equal(refs[0].ArtifactType, "application/vnd.dev.cosign.artifact.sig.v1+json"))

	img, err := c.Inspect(ctx, refs[0])
	assert.NilError(t, err)
	assert.Assert(t, img.Subject != nil)
	assert.Check(t, is.Equal(img.Subject.Digest, subj))
	assert.Check(t, is.Equal(img.ArtifactType, "application/vnd.dev.cosign.artifact.sig.v1+json"))
}

func TestReferrersTagSchemaFallback(t *testing.T) {
	f := newFake(t, modeV2)
	subj := f.putImage("v1", time.Unix(0, 0), nil, nil)
	other := f.putImage("v2", time.Unix(1, 0), nil, nil)
	sbom := f.pushReferrer(subj, "application/spdx+json")
	idx, _ := json.Marshal(map[string]any{"schemaVersion": 2, "mediaType": MediaTypeOCIIndex, "manifests": []any{
		map[string]any{"mediaType": MediaTypeOCIManifest, "digest": sbom, "size": 10, "artifactType": "application/spdx+json",
			"annotations": map[string]string{"org.opencontainers.image.created": "2026-01-01T00:00:00Z"}},
	}})
	f.putManifest(ReferrersTag(subj), MediaTypeOCIIndex, idx)
	c := f.client()
	ctx := context.Background()
	_, err := c.client(ctx, false)
	assert.NilError(t, err)
	f.requests()

	refs, via, err := c.Referrers(ctx, subj)
	assert.NilError(t, err)
	assert.Check(t, is.Equal(via, ReferrersTagSchema))
	assert.Assert(t, is.Len(refs, 1))
	assert.Check(t, is.Equal(refs[0].Digest, sbom))
	assert.Check(t, is.Equal(refs[0].ArtifactType, "application/spdx+json"))
	assert.DeepEqual(t, f.requests(), []string{
		"GET /v2/team/app/referrers/" + subj + " -> 404",
		"GET /v2/team/app/manifests/" + ReferrersTag(subj) + " -> 200",
	})

	// No fallback tag: no referrers. The missing API is remembered.
	refs, via, err = c.Referrers(ctx, other)
	assert.NilError(t, err)
	assert.Check(t, is.Equal(via, ReferrersTagSchema))
	assert.Check(t, is.Len(refs, 0))
	assert.DeepEqual(t, f.requests(), []string{"GET /v2/team/app/manifests/" + ReferrersTag(other) + " -> 404"})

	assert.Check(t, is.Equal(ReferrersTag("sha256:"+strings.Repeat("f", 64)), "sha256-"+strings.Repeat("f", 64)))
	assert.Check(t, is.Equal(ReferrersTag("sha512:"+strings.Repeat("f", 128)), "sha512-"+strings.Repeat("f", 64)))
}
