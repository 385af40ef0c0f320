package registry

import (
	"strings"
	"testing"

	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"
)

func TestHostKey(t *testing.T) {
	for _, tc := range []struct {
		in, want string
	}{
		// Forms docker clients send to credential helpers.
		{"registry.example.com", "registry.example.com"},
		{"registry.example.com:5000", "registry.example.com:5000"},
		{"https://registry.example.com", "registry.example.com"},
		{"https://registry.example.com/", "registry.example.com"},
		{"https://registry.example.com:5000/v2/", "registry.example.com:5000"},
		{"http://registry.example.com:5000", "registry.example.com:5000"},
		{"HTTPS://Registry.Example.COM", "registry.example.com"},
		{"https://registry.example.com?x=1", "registry.example.com"},
		{"https://registry.example.com#frag", "registry.example.com"},
		{"gitlab.example.com:443", "gitlab.example.com:443"},
		{"localhost:5000", "localhost:5000"},
		{"localhost", "localhost"},
		{"127.0.0.1:5000", "127.0.0.1:5000"},
		{"[::1]:5000", "[::1]:5000"},
		{"[0:0:0:0:0:0:0:1]", "[::1]"},
		{"https://[FE80::1]:443/v2/", "[fe80::1]:443"},
		{"registry.example.com:05000", "registry.example.com:5000"},
		// go-containerregistry's keychain asks with the repository first.
		{"registry.example.com/group/project/app", "registry.example.com"},
		{"registry.example.com:5000/app", "registry.example.com:5000"},
		{"ghcr.io/owner/app", "ghcr.io"},
		{"registry.example.com/a://b", "registry.example.com"},
		// Surrounding whitespace (a trailing newline on stdin) is harmless.
		{" registry.example.com\n", "registry.example.com"},
		// Docker Hub aliases.
		{"https://index.docker.io/v1/", "docker.io"},
		{"https://index.docker.io/v2/", "docker.io"},
		{"index.docker.io", "docker.io"},
		{"registry-1.docker.io", "docker.io"},
		{"https://registry-1.docker.io", "docker.io"},
		{"docker.io", "docker.io"},
		{"Docker.IO", "docker.io"},
		{"registry.hub.docker.com", "docker.io"},
		{"docker.io/library/nginx", "docker.io"},
		// A port makes it a different key; docker does the same.
		{"index.docker.io:443", "index.docker.io:443"},
		// Cloud registries keep their full host.
		{"123456789012.dkr.ecr.us-east-1.amazonaws.com", "123456789012.dkr.ecr.us-east-1.amazonaws.com"},
		{"https://myreg.azurecr.io", "myreg.azurecr.io"},
		{"europe-west1-docker.pkg.dev/project/repo/img", "europe-west1-docker.pkg.dev"},
	} {
		t.Run(tc.in, func(t *testing.T) {
			got, err := HostKey(tc.in)
			assert.NilError(t, err)
			assert.Equal(t, got, tc.want)
			again, err := HostKey(got)
			assert.NilError(t, err)
			assert.Equal(t, again, got, "HostKey must be idempotent")
		})
	}
}

func TestHostKeyDockerHubAliasesShareOneKey(t *testing.T) {
	aliases := []string{
		"https://index.docker.io/v1/", "index.docker.io", "registry-1.docker.io", "docker.io",
		"registry.hub.docker.com", "http://docker.io", "https://registry-1.docker.io/v2/", "docker.io/user/app",
	}
	for _, a := range aliases {
		got, err := HostKey(a)
		assert.NilError(t, err, a)
		assert.Check(t, is.Equal(got, DockerHubHost), a)
	}
}

func TestHostKeyErrors(t *testing.T) {
	for _, tc := range []struct {
		name, in, want string
	}{
		{"empty", "", `invalid registry address "": empty; expected host[:port] or http(s)://host[:port][/path]`},
		{"blank", " \n", `invalid registry address " \n": empty`},
		{"space inside", "registry .example.com", `whitespace, control or invalid UTF-8 character ' ' at byte 8`},
		{"tab inside", "registry\t.example.com", `character '\t' at byte 8`},
		{"NUL", "registry\x00.example.com", `character '\x00' at byte 8`},
		{"newline inside", "a.io\nb.io", `character '\n' at byte 4`},
		{"invalid UTF-8", "reg\xffistry.io", `invalid UTF-8 character`},
		{"too long", strings.Repeat("a", 4097), "too long: 4097 bytes, at most 4096"},
		{"ftp scheme", "ftp://registry.example.com", `unsupported scheme "ftp", expected http://, https:// or none`},
		{"oci scheme", "oci://registry.example.com", `unsupported scheme "oci"`},
		{"userinfo", "https://user:pass@registry.example.com", "credentials (user@) in the address are not allowed"},
		{"userinfo without scheme", "user@registry.example.com", "credentials (user@)"},
		{"no host", "https://", "no host"},
		{"only path", "/v2/", "no host"},
		{"only port", ":5000", "no host"},
		{"empty port", "registry.example.com:", `invalid port "", expected a number from 1 to 65535`},
		{"port zero", "registry.example.com:0", `invalid port "0"`},
		{"port too big", "registry.example.com:65536", `invalid port "65536"`},
		{"port huge", "registry.example.com:99999999999999999999999", `invalid port "99999999999999999999999"`},
		{"port not a number", "registry.example.com:http", `invalid port "http"`},
		{"negative port", "registry.example.com:-1", `invalid port "-1"`},
		{"bare IPv6", "::1", "too many colons"},
		{"unterminated IPv6", "[::1", "unterminated IPv6 address"},
		{"junk after IPv6", "[::1]x", `unexpected "x" after IPv6 address`},
		{"IPv4 in brackets", "[127.0.0.1]", "invalid IPv6 address"},
		{"IPv6 zone", "[fe80::1%25eth0]", "invalid IPv6 address"},
		{"underscore", "my_registry.example.com", `invalid host "my_registry.example.com", expected dot-separated labels`},
		{"leading hyphen", "-registry.example.com", "invalid host"},
		{"trailing dot", "registry.example.com.", "invalid host"},
		{"double dot", "registry..example.com", "invalid host"},
		{"unicode host", "régistry.example.com", "invalid host"},
		{"label too long", strings.Repeat("a", 64) + ".io", "invalid host"},
		{"host too long", strings.Repeat("a.", 127) + "io", "host is 256 characters long, at most 253 allowed"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := HostKey(tc.in)
			assert.ErrorContains(t, err, tc.want)
			assert.ErrorContains(t, err, "expected")
		})
	}
}

func TestHostKeyErrorTruncatesInput(t *testing.T) {
	for _, in := range []string{
		strings.Repeat("a", 1<<20),
		strings.Repeat("a", 4000) + " ",
		"ftp" + strings.Repeat("x", 3000) + "://host",
		"host:" + strings.Repeat("9", 4000),
		strings.Repeat("\x00", 4000),
		strings.Repeat("é", 2000),
	} {
		_, err := HostKey(in)
		assert.Assert(t, err != nil)
		assert.Check(t, len(err.Error()) < 700, "error is %d bytes: %s", len(err.Error()), err)
		assert.Check(t, !strings.Contains(err.Error(), in[:120]))
	}
}
