package ci

import (
	"strings"
	"testing"

	"gotest.tools/v3/assert"
)

func TestSlug(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		// Valid tags stay as they are, upper case included (werf's rule).
		{name: "empty", in: "", want: ""},
		{name: "valid", in: "main", want: "main"},
		{name: "valid with dot and dash", in: "release-1.2", want: "release-1.2"},
		{name: "valid upper case and underscore", in: "Feature_X", want: "Feature_X"},
		{name: "valid 128 bytes", in: strings.Repeat("x", 128), want: strings.Repeat("x", 128)},

		// werf's own test vectors (pkg/slug/slug_test.go, DockerTag and LimitedSlug).
		{name: "werf leading dash", in: "-data", want: "data-a871d86e"},
		{name: "werf slash", in: "da/ta", want: "da-ta-afa96f8"}, // 7-digit hash: no zero padding
		{name: "werf too long", in: strings.Repeat("x", 129), want: strings.Repeat("x", 119) + "-8cca70eb"},
		{name: "valid with trailing dot", in: "A.", want: "A."},
		{name: "upper case with slash", in: "A/", want: "a-" + hashOf("A/")},

		{name: "branch with slash", in: "feature/JIRA-123_login", want: "feature-jira-123-login-" + hashOf("feature/JIRA-123_login")},
		{name: "leading dot", in: ".hidden", want: "hidden-" + hashOf(".hidden")},
		{name: "dashes collapse", in: "a//--__b", want: "a-b-" + hashOf("a//--__b")},
		{name: "trailing separators trimmed", in: "fix/", want: "fix-" + hashOf("fix/")},
		{name: "nothing left", in: "!!!", want: hashOf("!!!")},
		{name: "latin", in: "Café/Straße", want: "cafe-strabe-" + hashOf("Café/Straße")},
		{name: "cyrillic", in: "фича/Логин", want: "ficha-login-" + hashOf("фича/Логин")},
		{name: "hard sign dropped", in: "объект", want: "obyekt-" + hashOf("объект")},
		{name: "emoji dropped", in: "🚀 launch", want: "launch-" + hashOf("🚀 launch")},
		{name: "invalid utf-8", in: "a\xffb", want: "ab-" + hashOf("a\xffb")},

		// Hostile input becomes harmless.
		{name: "command substitution", in: "$(rm -rf /)", want: "rm-rf-" + hashOf("$(rm -rf /)")},
		{name: "backticks and quotes", in: "`id`'\"x", want: "idx-" + hashOf("`id`'\"x")},
		{name: "newline", in: "a\nb", want: "ab-" + hashOf("a\nb")},
		{name: "nul", in: "a\x00b", want: "ab-" + hashOf("a\x00b")},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := Slug(tc.in)
			assert.Equal(t, got, tc.want)
			if tc.in != "" {
				assert.Assert(t, validTag(got), "%q", got)
			}
			assert.Equal(t, Slug(got), got, "not idempotent")
		})
	}
}

func hashOf(s string) string { return hashHex(s) }

func hashHex(s string) string {
	const digits = "0123456789abcdef"
	h := murmur3([]byte(s))
	if h == 0 {
		return "0"
	}
	var b []byte
	for ; h > 0; h >>= 4 {
		b = append([]byte{digits[h&15]}, b...)
	}
	return string(b)
}

func TestMurmur3(t *testing.T) {
	// Reference values of MurmurHash3 x86_32, seed 0.
	for in, want := range map[string]uint32{
		"":             0,
		"a":            0x3c2569b2,
		"abc":          0xb3dd93fa,
		"hello, world": 0x149bbb7f,
		"The quick brown fox jumps over the lazy dog": 0x2e4ff723,
	} {
		assert.Equal(t, murmur3([]byte(in)), want, "%q", in)
	}
}

func TestSlugLengthLimit(t *testing.T) {
	for n := 1; n <= 300; n++ {
		for _, unit := range []string{"x", "x/", "/", "é", "ж/"} {
			in := strings.Repeat(unit, n)
			got := Slug(in)
			assert.Assert(t, validTag(got), "%q -> %q", in, got)
			assert.Assert(t, len(got) <= MaxTagLength)
		}
	}
}

func TestSlugCutEndingInDash(t *testing.T) {
	// werf does not trim a "-" left at the cut, which gives "--" before the
	// hash; the result is still a valid tag.
	in := strings.Repeat("a", 118) + "/bbbbbbbbbbbbbbbbbbbb"
	got := Slug(in)
	hash := hashHex(in)
	assert.Equal(t, got, (strings.Repeat("a", 118) + "-bbbb")[:MaxTagLength-len(hash)-1]+"-"+hash)
	assert.Assert(t, validTag(got))
}

func TestLatinTable(t *testing.T) {
	for in, want := range map[rune]string{
		'À': "a", 'Æ': "ae", 'Ç': "c", 'Ð': "d", '×': "x", 'Þ': "th", 'ß': "b", 'ð': "o", '÷': "", 'ÿ': "y",
		'Ā': "a", 'č': "c", 'đ': "d", 'ě': "e", 'ģ': "g", 'ħ': "h", 'į': "i", 'İ': "l", 'ı': "l", 'Ĳ': "ij",
		'ĵ': "j", 'ĸ': "k", 'ł': "l", 'ŋ': "n", 'ő': "o", 'Œ': "oe", 'ř': "r", 'š': "s", 'ŧ': "t", 'ų': "u",
		'ŵ': "w", 'Ÿ': "y", 'ž': "z", 'ſ': "s", 'Я': "ya", 'щ': "shch", 'ь': "", 'Ё': "yo", 'Ｆ': "f", '＿': "-",
	} {
		assert.Equal(t, mapRune(in), want, "%q", in)
	}
}
