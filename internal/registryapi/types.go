package registryapi

import "github.com/docker-werf/docker-werf/internal/registrytypes"

// The registry's shared types live in registrytypes, so that the native API
// backends need not link this client for them; these names keep this
// package's callers speaking in them.

// Descriptor points to a manifest.
type Descriptor = registrytypes.Descriptor

// Image is what Inspect learns about a manifest.
type Image = registrytypes.Image

// Media types.
const (
	MediaTypeOCIManifest    = registrytypes.MediaTypeOCIManifest
	MediaTypeOCIIndex       = registrytypes.MediaTypeOCIIndex
	MediaTypeDockerManifest = registrytypes.MediaTypeDockerManifest
	MediaTypeDockerList     = registrytypes.MediaTypeDockerList
	MediaTypeOCIConfig      = registrytypes.MediaTypeOCIConfig
	MediaTypeDockerConfig   = registrytypes.MediaTypeDockerConfig
	MediaTypeOCIEmpty       = registrytypes.MediaTypeOCIEmpty
)

// Annotation and label keys read for Image.Revision, in order of preference.
const (
	KeyRevision   = registrytypes.KeyRevision
	KeyWerfCommit = registrytypes.KeyWerfCommit
)

// Sentinel errors, wrapped by the errors the Client returns; test with
// errors.Is. They are registrytypes'.
var (
	ErrNotFound       = registrytypes.ErrNotFound
	ErrTagMoved       = registrytypes.ErrTagMoved
	ErrDeleteDisabled = registrytypes.ErrDeleteDisabled
	ErrUnauthorized   = registrytypes.ErrUnauthorized
)

// ValidTag, ValidSHA256 and ValidDigest are registrytypes'.
var (
	ValidTag    = registrytypes.ValidTag
	ValidSHA256 = registrytypes.ValidSHA256
	ValidDigest = registrytypes.ValidDigest
)
