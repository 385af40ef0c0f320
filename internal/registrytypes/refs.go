package registrytypes

import "strings"

// Tag and digest grammars, checked by hand rather than with package-level
// regexps: every client package checks them, and docker runs the plugin
// (which links them all) on each `docker --help`, so compiling regexps at
// start-up is paid on every docker command.

// ValidTag reports whether tag is a tag as the OCI distribution spec
// defines it: [A-Za-z0-9_][A-Za-z0-9._-]{0,127}.
func ValidTag(tag string) bool {
	if tag == "" || len(tag) > 128 || tag[0] == '.' || tag[0] == '-' {
		return false
	}
	for i := range len(tag) {
		if !isAlnum(tag[i]) && tag[i] != '_' && tag[i] != '.' && tag[i] != '-' {
			return false
		}
	}
	return true
}

// ValidSHA256 reports whether d is "sha256:" and 64 lowercase hex digits.
func ValidSHA256(d string) bool {
	const prefix = "sha256:"
	if len(d) != len(prefix)+64 || d[:len(prefix)] != prefix {
		return false
	}
	for i := len(prefix); i < len(d); i++ {
		if !isDigit(d[i]) && (d[i] < 'a' || d[i] > 'f') {
			return false
		}
	}
	return true
}

// ValidDigest reports whether d is a digest as the OCI image spec writes
// one, of any algorithm: algorithm ":" encoded, where algorithm is
// [a-z0-9]+ components joined by [+._-] and encoded is [a-zA-Z0-9=_-]{32,}.
func ValidDigest(d string) bool {
	alg, enc, ok := strings.Cut(d, ":")
	if !ok || len(enc) < 32 || !validAlgorithm(alg) {
		return false
	}
	for i := range len(enc) {
		if !isAlnum(enc[i]) && enc[i] != '=' && enc[i] != '_' && enc[i] != '-' {
			return false
		}
	}
	return true
}

func validAlgorithm(alg string) bool {
	if alg == "" {
		return false
	}
	prevSep := true // no separator first, none twice, none last
	for i := range len(alg) {
		c := alg[i]
		switch {
		case isDigit(c) || (c >= 'a' && c <= 'z'):
			prevSep = false
		case c == '+' || c == '.' || c == '_' || c == '-':
			if prevSep {
				return false
			}
			prevSep = true
		default:
			return false
		}
	}
	return !prevSep
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

func isAlnum(c byte) bool {
	return isDigit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
}
