package ci

import (
	"encoding/binary"
	"math/bits"
	"strconv"
	"strings"
)

// MaxTagLength is the longest docker tag, and so the longest Slug result.
const MaxTagLength = 128

// Slug returns s unchanged when it is already a valid docker tag
// ([A-Za-z0-9_][A-Za-z0-9_.-]*, at most 128 bytes) and otherwise a valid tag
// derived from it, the way werf's docker-tag slug (slug.DockerTag) does, so
// that images keep the tags werf itself would give them:
//
//  1. Every character is mapped: ASCII letters are lower-cased, digits kept,
//     the separators & ( ) { } [ ] , . ; : = + < > ~ / _ - and space become
//     "-", other ASCII is dropped; Latin-1, Latin Extended-A and basic
//     Cyrillic letters are transliterated as in werf's table (é → e, ß → b,
//     ж → zh, ъ → nothing); every other character is dropped.
//  2. Runs of "-" become one, and leading and trailing "-" are removed.
//  3. The result is cut to 128 − len(hash) − 1 bytes and "-" plus the hash is
//     appended: the 32-bit MurmurHash3 (x86, seed 0) of the original bytes in
//     lower-case hex without leading zeros, so 1 to 8 characters. Nothing is
//     trimmed after the cut, as in werf, so a cut that ends in "-" gives "--"
//     before the hash. An input with nothing left after step 2 becomes the
//     bare hash.
//
// werf's table also covers Latin Extended-B, Vietnamese, letter-like and
// enclosed letters; for input with those characters the result differs from
// werf's but is still a valid tag that identifies the input. Slug("") is "".
// Slug is idempotent and deterministic.
func Slug(s string) string {
	if s == "" || validTag(s) {
		return s
	}
	hash := strconv.FormatUint(uint64(murmur3([]byte(s))), 16)
	slug := slugify(s)
	if slug == "" {
		return hash
	}
	if limit := MaxTagLength - len(hash) - 1; len(slug) > limit {
		slug = slug[:limit]
	}
	return slug + "-" + hash
}

// validTag reports whether s matches werf's ^[\w][\w.-]*$ (ASCII \w) and
// fits MaxTagLength.
func validTag(s string) bool {
	if s == "" || len(s) > MaxTagLength || !isWord(s[0]) {
		return false
	}
	for i := 1; i < len(s); i++ {
		if c := s[i]; !isWord(c) && c != '.' && c != '-' {
			return false
		}
	}
	return true
}

func isWord(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '_'
}

// slugify maps every rune (step 1), collapses dashes and trims them (step 2).
// The output has only [a-z0-9-].
func slugify(s string) string {
	var b strings.Builder
	dash := false // a "-" is pending: written only before the next letter
	for _, r := range s {
		switch m := mapRune(r); m {
		case "":
		case "-":
			dash = b.Len() > 0
		default:
			if dash {
				b.WriteByte('-')
				dash = false
			}
			b.WriteString(m)
		}
	}
	return b.String()
}

// asciiSeparators become "-"; other ASCII punctuation is dropped.
const asciiSeparators = "&(){}[],.;:=+<>~/_- "

func mapRune(r rune) string {
	switch {
	case 'a' <= r && r <= 'z', '0' <= r && r <= '9':
		return string(r)
	case 'A' <= r && r <= 'Z':
		return string(r - 'A' + 'a')
	case r < 0x80:
		if strings.ContainsRune(asciiSeparators, r) {
			return "-"
		}
		return ""
	case 0xC0 <= r && r <= 0x17F:
		return latin[r-0xC0]
	case 0x410 <= r && r <= 0x44F:
		return cyrillic[(r-0x410)%32]
	}
	switch r {
	case 'Ё', 'ё':
		return "yo"
	case '²':
		return "2"
	case '³':
		return "3"
	case 'µ':
		return "u"
	case '＿', '～': // fullwidth low line and tilde
		return "-"
	}
	if 'Ａ' <= r && r <= 'Ｚ' {
		return string(r - 'Ａ' + 'a')
	}
	if 'ａ' <= r && r <= 'ｚ' {
		return string(r - 'ａ' + 'a')
	}
	return ""
}

// latin transliterates U+00C0..U+017F (Latin-1 Supplement letters and Latin
// Extended-A) as werf's table does; "" drops the character (only ÷).
var latin = func() []string {
	groups := []struct {
		n   int
		out string
	}{
		// U+00C0
		{6, "a"}, {1, "ae"}, {1, "c"}, {4, "e"}, {4, "i"}, {1, "d"}, {1, "n"}, {5, "o"}, {1, "x"}, {1, "o"},
		{4, "u"}, {1, "y"}, {1, "th"}, {1, "b"},
		// U+00E0
		{6, "a"}, {1, "ae"}, {1, "c"}, {4, "e"}, {4, "i"}, {1, "o"}, {1, "n"}, {5, "o"}, {1, ""}, {1, "o"},
		{4, "u"}, {1, "y"}, {1, "th"}, {1, "y"},
		// U+0100
		{6, "a"}, {8, "c"}, {4, "d"}, {10, "e"}, {8, "g"}, {4, "h"}, {8, "i"}, {2, "l"}, {2, "ij"}, {2, "j"},
		{3, "k"}, {10, "l"}, {9, "n"}, {6, "o"}, {2, "oe"}, {6, "r"}, {8, "s"}, {6, "t"}, {12, "u"}, {2, "w"},
		{3, "y"}, {6, "z"}, {1, "s"},
	}
	var t []string
	for _, g := range groups {
		for range g.n {
			t = append(t, g.out)
		}
	}
	if len(t) != 0x180-0xC0 {
		panic("ci: latin transliteration table has " + strconv.Itoa(len(t)) + " entries")
	}
	return t
}()

// cyrillic transliterates А..Я and а..я (the same 32 letters) as werf does.
var cyrillic = [32]string{
	"a", "b", "v", "g", "d", "ye", "zh", "z", "i", "j", "k", "l", "m", "n", "o", "p",
	"r", "s", "t", "u", "f", "h", "c", "ch", "sh", "shch", "", "y", "", "e", "yu", "ya",
}

// murmur3 is MurmurHash3 x86_32 with seed 0, werf's slug hash.
func murmur3(data []byte) uint32 {
	const c1, c2 = 0xcc9e2d51, 0x1b873593
	var h uint32
	n := len(data)
	for ; len(data) >= 4; data = data[4:] {
		k := binary.LittleEndian.Uint32(data)
		k *= c1
		k = bits.RotateLeft32(k, 15)
		k *= c2
		h ^= k
		h = bits.RotateLeft32(h, 13)
		h = h*5 + 0xe6546b64
	}
	var k uint32
	switch len(data) {
	case 3:
		k ^= uint32(data[2]) << 16
		fallthrough
	case 2:
		k ^= uint32(data[1]) << 8
		fallthrough
	case 1:
		k ^= uint32(data[0])
		k *= c1
		k = bits.RotateLeft32(k, 15)
		k *= c2
		h ^= k
	}
	h ^= uint32(n)
	h ^= h >> 16
	h *= 0x85ebca6b
	h ^= h >> 13
	h *= 0xc2b2ae35
	h ^= h >> 16
	return h
}
