// Package registry knows the container-registry types docker-werf supports:
// how a registry address is normalised into the key docker credential stores
// use, which registry type a host belongs to, and what cleanup needs from
// each type (deletion method and credentials).
//
// The credential helper imports this package on every docker pull and push,
// so it uses only the standard library and does no work at init.
package registry
