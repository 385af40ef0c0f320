// Package registryapi is the Docker Registry / OCI distribution API client
// that cleanup uses to take an inventory of a repository and to delete tags
// without ever taking a kept tag down.
//
// A [Client] talks to one repository. It lists tags (following Link
// pagination), resolves tags to descriptors with HEAD, inspects manifests,
// image configs and indexes, finds referrers (the OCI 1.1 API or the
// referrers tag schema) and deletes:
//
//   - [Client.Untag] removes exactly one tag: it re-resolves the tag first
//     and refuses with [ErrTagMoved] when the tag no longer points where the
//     caller's inventory said; it then uses the OCI tag DELETE where the
//     registry supports it (distribution 3) and otherwise overwrites the tag
//     with a unique throw-away manifest and deletes that manifest by digest
//     (distribution 2.x, Harbor), so that the manifest the tag pointed to and
//     every other tag on it survive.
//   - [Client.DeleteManifest] deletes a manifest by digest, which removes
//     every tag pointing to it.
//
// Authentication uses go-containerregistry's transport package: the keychain
// is resolved once per Client, reads ask for the pull scope and writes for
// push,pull,delete; bearer tokens are reused until the registry rejects them.
// Requests go through one shared, retrying HTTP transport (internal/retry)
// that keeps enough idle connections per host for parallel callers.
//
// A Client is safe for concurrent use. Errors name the operation and the
// repository, wrap the sentinel errors of this package where one applies, and
// never contain credentials.
package registryapi
