package registrytypes

import (
	"regexp"
	"strings"
	"testing"

	"gotest.tools/v3/assert"
)

// The grammars as the specs write them.
var (
	specTag    = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$`)
	specDigest = regexp.MustCompile(`^[a-z0-9]+(?:[+._-][a-z0-9]+)*:[a-zA-Z0-9=_-]{32,}$`)
	specSHA256 = regexp.MustCompile(`^sha256:[a-f0-9]{64}$`)
)

var refSamples = []string{
	"", "v1", "latest", "_x", ".x", "-x", "v1.0-rc_1", "a/b", "a:b", "ünï", "a b", "v1\n", strings.Repeat("a", 128),
	strings.Repeat("a", 129), "sha256:" + strings.Repeat("a", 64), "sha256:" + strings.Repeat("A", 64),
	"sha256:" + strings.Repeat("a", 63), "sha256:" + strings.Repeat("a", 65), "sha512:" + strings.Repeat("0", 128),
	"multihash+base58:" + strings.Repeat("Q", 40), "a..b:" + strings.Repeat("0", 32), "+a:" + strings.Repeat("0", 32),
	"a+:" + strings.Repeat("0", 32), ":" + strings.Repeat("0", 32), "sha256:" + strings.Repeat("=", 32),
	"sha256:" + strings.Repeat("a", 64) + "\n", "Sha256:" + strings.Repeat("a", 64),
}

func TestValidRefsFollowTheSpecs(t *testing.T) {
	for _, s := range refSamples {
		assert.Check(t, ValidTag(s) == specTag.MatchString(s), "ValidTag(%q)", s)
		assert.Check(t, ValidDigest(s) == specDigest.MatchString(s), "ValidDigest(%q)", s)
		assert.Check(t, ValidSHA256(s) == specSHA256.MatchString(s), "ValidSHA256(%q)", s)
	}
}

func FuzzValidRefs(f *testing.F) {
	for _, s := range refSamples {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if ValidTag(s) != specTag.MatchString(s) || ValidDigest(s) != specDigest.MatchString(s) ||
			ValidSHA256(s) != specSHA256.MatchString(s) {
			t.Errorf("%q: tag %v/%v digest %v/%v sha256 %v/%v", s, ValidTag(s), specTag.MatchString(s),
				ValidDigest(s), specDigest.MatchString(s), ValidSHA256(s), specSHA256.MatchString(s))
		}
	})
}
