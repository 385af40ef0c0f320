package registry

import (
	"errors"
	"strings"
)

var errCredentials = errors.New("credentials (user@) in the address are not allowed")

// Redacted stands in for the userinfo RedactAddress removes.
const Redacted = "[redacted]"

// RedactAddress returns addr with the userinfo ("user:password@") of its
// host part replaced by Redacted, for every message that repeats an
// address: a user who pastes "https://user:token@host" must not find the
// token in a CI log. Only the host part can hold userinfo: it runs from
// after an optional scheme to the first "/", and ends at its last "@", as a
// password may contain one. A "@" after a "/" (repo@sha256:...) and a
// digest right after the host part's "@" (name@sha256:...) are not
// userinfo and stay. A "/" in a password would end the host part early:
// RFC 3986 requires it percent-encoded there.
func RedactAddress(addr string) string {
	end, ok := userinfoEnd(addr)
	if !ok {
		return addr
	}
	return addr[:hostStart(addr)] + Redacted + addr[end:]
}

// userinfoEnd returns the index of the "@" that ends addr's userinfo.
func userinfoEnd(addr string) (int, bool) {
	start := hostStart(addr)
	host, _, _ := strings.Cut(addr[start:], "/")
	at := strings.LastIndexByte(host, '@')
	if at < 0 || isDigest(host[at+1:]) {
		return 0, false
	}
	return start + at, true
}

// hostStart returns where addr's host part begins: after "scheme://", when
// what precedes "://" can be a scheme (as stripScheme decides).
func hostStart(addr string) int {
	scheme, _, ok := strings.Cut(addr, "://")
	if !ok || strings.ContainsAny(scheme, "/?#@") {
		return 0
	}
	return len(scheme) + len("://")
}

// isDigest reports whether s is an OCI digest, algorithm ":" encoded, with
// an encoded part of at least 32 characters (sha256 has 64): a port, the
// other thing that can follow a host's ":", has at most 5 digits.
func isDigest(s string) bool {
	alg, enc, ok := strings.Cut(s, ":")
	if !ok || len(enc) < 32 || !validAlgorithm(alg) {
		return false
	}
	for i := 0; i < len(enc); i++ {
		c := enc[i]
		if !isLowerAlnum(c) && !('A' <= c && c <= 'Z') && c != '=' && c != '_' && c != '-' {
			return false
		}
	}
	return true
}

// validAlgorithm: lower-case alphanumeric components separated by one of
// "+._-", as the OCI image spec's digest grammar has it.
func validAlgorithm(alg string) bool {
	sep := true // no separator first
	for i := 0; i < len(alg); i++ {
		switch c := alg[i]; {
		case isLowerAlnum(c):
			sep = false
		case strings.IndexByte("+._-", c) >= 0 && !sep:
			sep = true
		default:
			return false
		}
	}
	return !sep // not empty, no separator last
}
