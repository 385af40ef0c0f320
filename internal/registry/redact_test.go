package registry

import (
	"strings"
	"testing"

	"gotest.tools/v3/assert"
)

func TestRedactAddress(t *testing.T) {
	digest := "sha256:" + strings.Repeat("0123456789abcdef", 4)
	for _, tc := range []struct {
		name, in, want string
	}{
		{"user and password with scheme", "https://user:S3CRET@reg.example", "https://[redacted]@reg.example"},
		{"user and password", "user:S3CRET@reg.example/app", "[redacted]@reg.example/app"},
		{"token only", "S3CRET@reg.example", "[redacted]@reg.example"},
		{"with port and path", "http://user:S3CRET@reg.example:5000/v2/", "http://[redacted]@reg.example:5000/v2/"},
		{"@ in the password", "https://user:S3@CRET@reg.example/app", "https://[redacted]@reg.example/app"},
		{"any scheme", "oci://user:S3CRET@reg.example", "oci://[redacted]@reg.example"},
		{"query in the host part", "user:S3CRET@reg.example?x", "[redacted]@reg.example?x"},
		{"leading blanks", "  user:S3CRET@reg.example", "[redacted]@reg.example"},
		{"plain host", "reg.example:5000", "reg.example:5000"},
		{"plain repository", "https://reg.example/group/app", "https://reg.example/group/app"},
		{"digest after a slash", "reg.example/app@" + digest, "reg.example/app@" + digest},
		{"tag and @ after a slash", "Not/A/Repository:tag@x", "Not/A/Repository:tag@x"},
		{"@ in the path", "https://reg.example/user:pw@x", "https://reg.example/user:pw@x"},
		{"digest of a lone name", "nginx@" + digest, "nginx@" + digest},
		{"tag and digest of a lone name", "nginx:1.25@" + digest, "nginx:1.25@" + digest},
		{"short digest reads as a host", "nginx:1@sha256:0123", "[redacted]@sha256:0123"},
		{"port is not a digest", "user:S3CRET@reg.example:5000", "[redacted]@reg.example:5000"},
		{"scheme-like text after a slash", "reg.example/a://user:pw@x", "reg.example/a://user:pw@x"},
		{"empty", "", ""},
		{"only @", "@", "[redacted]@"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, RedactAddress(tc.in), tc.want)
		})
	}
}

// Every error about an address with userinfo leaves the password out, cut
// or not.
func TestAddressErrorsHideUserinfo(t *testing.T) {
	for _, in := range []string{
		"https://user:S3CRET@reg.example",
		"user:S3CRET@reg.example/app",
		"user:S3CRET@reg.example:5000",
		"https://user:S3CRET@reg.example/app:tag",
		"ftp://user:S3CRET@reg.example/app",
		"user:S3CRET@reg.example/" + strings.Repeat("a", 300),
		"user:S3CRET@reg.example/my app",
		"  user:S3CRET@bad_host/app",
	} {
		t.Run(in, func(t *testing.T) {
			_, err := HostKey(in)
			assert.ErrorContains(t, err, "invalid registry address")
			assert.Check(t, !strings.Contains(err.Error(), "S3CRET"), err.Error())
			_, err = ParseRepository(in, "", nil)
			assert.ErrorContains(t, err, "invalid repository")
			assert.Check(t, !strings.Contains(err.Error(), "S3CRET"), err.Error())
			_, err = ParseRepository(in, "nosuchkind", nil)
			assert.Check(t, err != nil && !strings.Contains(err.Error(), "S3CRET"), err)
		})
	}
}
