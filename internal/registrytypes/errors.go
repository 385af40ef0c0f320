package registrytypes

import "errors"

// Sentinel errors, wrapped by the errors of every registry client; test
// with errors.Is.
var (
	// ErrNotFound: the repository, tag or manifest does not exist.
	ErrNotFound = errors.New("not found")
	// ErrTagMoved: Untag found the tag pointing to another digest than the
	// caller expected. The tag was left alone.
	ErrTagMoved = errors.New("tag moved since the inventory")
	// ErrDeleteDisabled: the registry refuses deletes (405, UNSUPPORTED;
	// distribution with storage.delete.enabled=false, GHCR, Docker Hub).
	ErrDeleteDisabled = errors.New("the registry does not allow deleting")
	// ErrUnauthorized: the registry answered 401 or 403. The message names
	// the operation and the rights that may be missing.
	ErrUnauthorized = errors.New("unauthorized")
	// ErrProtected is what a backend returns (wrapped, with the registry's
	// reason) when the registry refuses to delete a tag it protects: an
	// immutable or locked tag, or an image a manifest list still needs. The
	// tag is kept and reported, not counted as a failure.
	ErrProtected = errors.New("the registry protects this tag")
)
