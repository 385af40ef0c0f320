package registry

import (
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Errors repeat at most this much of an input, and less of a part of it:
// inputs come from stdin and CI variables, and a megabyte of garbage must not
// flood a CI log.
const (
	maxEcho     = 100
	maxPartEcho = 40
)

// quote returns a whole input quoted for an error message, cut to maxEcho
// bytes.
func quote(s string) string {
	return quoteN(s, maxEcho)
}

// quoteAddress quotes an address as quote does, with its userinfo redacted
// first, so that no cut leaves part of a password.
func quoteAddress(s string) string {
	return quote(RedactAddress(s))
}

// quotePart quotes a piece of an input that quote already shows.
func quotePart(s string) string {
	return quoteN(s, maxPartEcho)
}

// hint returns "; " and the expected form of an input, unless err already
// says what is expected: one suggestion per message reads better than two.
func hint(err error, expected string) string {
	if strings.Contains(err.Error(), "expected") {
		return ""
	}
	return "; " + expected
}

func quoteN(s string, n int) string {
	if len(s) <= n {
		return strconv.Quote(s)
	}
	cut := n
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return fmt.Sprintf("%s... (%d bytes)", strconv.Quote(s[:cut]), len(s))
}
