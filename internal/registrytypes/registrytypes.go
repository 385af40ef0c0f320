// Package registrytypes holds what every registry client of cleanup speaks
// in: descriptors and images, manifest media types, the tag and digest
// grammars, and the sentinel errors their errors wrap. It imports nothing of
// the project, so that a native API backend (Docker Hub, Quay, GitHub,
// GitLab, Harbor, ACR, ECR, Selectel) needs neither the Docker Registry API
// client nor the planner for them.
package registrytypes

import "time"

// Media types.
const (
	MediaTypeOCIManifest    = "application/vnd.oci.image.manifest.v1+json"
	MediaTypeOCIIndex       = "application/vnd.oci.image.index.v1+json"
	MediaTypeDockerManifest = "application/vnd.docker.distribution.manifest.v2+json"
	MediaTypeDockerList     = "application/vnd.docker.distribution.manifest.list.v2+json"
	MediaTypeOCIConfig      = "application/vnd.oci.image.config.v1+json"
	MediaTypeDockerConfig   = "application/vnd.docker.container.image.v1+json"
	MediaTypeOCIEmpty       = "application/vnd.oci.empty.v1+json"
)

// Annotation and label keys read for Image.Revision, in order of preference.
const (
	KeyRevision   = "org.opencontainers.image.revision"
	KeyWerfCommit = "ci.werf.io/commit"
)

// Descriptor points to a manifest.
type Descriptor struct {
	Digest       string            // "sha256:<hex>"
	MediaType    string            // manifest media type
	Size         int64             // manifest size in bytes
	ArtifactType string            // referrers and OCI 1.1 artifacts
	Platform     string            // "os/arch[/variant]" of an index child
	Annotations  map[string]string // of referrers and index children, as the index lists them
}

// Image is what Inspect learns about a manifest.
type Image struct {
	Descriptor
	IsIndex  bool
	Children []Descriptor // the manifests of an index
	// Created is the image config's "created"; for an index the newest of
	// its image children's. Zero when unknown.
	Created time.Time
	// Revision is the org.opencontainers.image.revision annotation or label,
	// or werf's ci.werf.io/commit annotation or label; for an index its own
	// annotations first, then the newest child's.
	Revision    string
	Labels      map[string]string // image config labels; for an index the newest child's
	Annotations map[string]string // manifest annotations
	Subject     *Descriptor       // OCI 1.1 subject
	// MissingChildren says an image child of the index was not found, so
	// Created and Revision were taken from the others, and may change once
	// it is pushed.
	MissingChildren bool
}
