package apiclient

import (
	"net/url"
	"regexp"
	"slices"
	"strings"
	"sync"
	"unicode/utf8"
)

// Redacted replaces a secret in error text.
const Redacted = "[redacted]"

// Truncate shortens s to at most n bytes, cut at a rune boundary, and marks
// the cut with "...".
func Truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "..."
}

// ReplaceSecrets replaces every secret at least minLen bytes long in s with
// Redacted. Shorter ones are left: they would mangle ordinary words.
func ReplaceSecrets(s string, minLen int, secrets ...string) string {
	for _, secret := range secrets {
		if secret != "" && len(secret) >= minLen {
			s = strings.ReplaceAll(s, secret, Redacted)
		}
	}
	return s
}

// DefaultSchemes are the Authorization schemes whose parameter a Scrubber
// blanks unless told others.
var DefaultSchemes = []string{"basic", "bearer"}

// DefaultKeys are the names whose values (key=value, "key": "value") a
// Scrubber blanks unless told others.
var DefaultKeys = []string{"password", "passwd", "secret", "token", "access_token", "refresh_token"}

// Scrubber blanks what looks like a credential in text bound for an error
// message (an API's own message, a transport error). Its patterns are
// compiled on first use: every client package keeps one in a package
// variable, and the plugin, which links them all, starts on each
// `docker --help`.
type Scrubber struct {
	compile func() scrubPatterns
}

type scrubPatterns struct {
	scheme, key *regexp.Regexp
	tokens      []*regexp.Regexp
}

// NewScrubber returns a Scrubber that blanks, in this order: the parameter
// (6 or more token characters) after one of schemes ("Bearer abc..." ->
// "Bearer [redacted]"), the value after one of keys followed by = or :
// ("password=x" -> "password=[redacted]"), and every match of the tokens
// patterns (the shapes of a registry's tokens). Schemes and keys match
// case-insensitively as whole words. A pattern that does not compile
// panics on first use, as regexp.MustCompile would at start-up.
func NewScrubber(schemes, keys []string, tokens ...string) *Scrubber {
	schemes, keys, tokens = slices.Clone(schemes), slices.Clone(keys), slices.Clone(tokens)
	return &Scrubber{compile: sync.OnceValue(func() scrubPatterns {
		p := scrubPatterns{
			scheme: regexp.MustCompile(`(?i)\b(` + alternatives(schemes) + `)\s+[A-Za-z0-9._~+/=-]{6,}`),
			key:    regexp.MustCompile(`(?i)\b(` + alternatives(keys) + `)(["']?\s*[=:]\s*["']?)[^&\s"',;]+`),
		}
		for _, t := range tokens {
			p.tokens = append(p.tokens, regexp.MustCompile(t))
		}
		return p
	})}
}

func alternatives(words []string) string {
	q := make([]string, len(words))
	for i, w := range words {
		q[i] = regexp.QuoteMeta(w)
	}
	return strings.Join(q, "|")
}

// Scrub returns s with anything that looks like a credential blanked.
func (s *Scrubber) Scrub(text string) string {
	p := s.compile()
	text = p.scheme.ReplaceAllString(text, "$1 "+Redacted)
	text = p.key.ReplaceAllString(text, "$1$2"+Redacted)
	for _, t := range p.tokens {
		text = t.ReplaceAllString(text, Redacted)
	}
	return text
}

// RedactToken returns s with token, raw and query-escaped, replaced with
// Redacted; an empty token changes nothing.
func RedactToken(s, token string) string {
	if token == "" {
		return s
	}
	s = strings.ReplaceAll(s, token, Redacted)
	return strings.ReplaceAll(s, url.QueryEscape(token), Redacted)
}

// RedactError returns err with token removed from its message as by
// RedactToken, keeping errors.Is and errors.As working. An error whose
// message does not hold the token is returned as it is.
func RedactError(err error, token string) error {
	if err == nil || token == "" || !strings.Contains(err.Error(), token) {
		return err
	}
	return &redactedError{msg: RedactToken(err.Error(), token), err: err}
}

type redactedError struct {
	msg string
	err error
}

func (e *redactedError) Error() string { return e.msg }
func (e *redactedError) Unwrap() error { return e.err }
