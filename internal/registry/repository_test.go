package registry

import (
	"strings"
	"testing"

	"gotest.tools/v3/assert"
)

func TestParseRepository(t *testing.T) {
	for _, tc := range []struct {
		in         string
		host, path string
		kind       Kind
	}{
		{"nginx", "docker.io", "library/nginx", DockerHub},
		{"user/app", "docker.io", "user/app", DockerHub},
		{"docker.io/nginx", "docker.io", "library/nginx", DockerHub},
		{"index.docker.io/user/app", "docker.io", "user/app", DockerHub},
		{"registry-1.docker.io/library/alpine", "docker.io", "library/alpine", DockerHub},
		{"https://docker.io/user/app", "docker.io", "user/app", DockerHub},
		{"registry.example.com/group/project/app", "registry.example.com", "group/project/app", Default},
		{"Registry.Example.com:5000/app", "registry.example.com:5000", "app", Default},
		{"https://registry.example.com/app", "registry.example.com", "app", Default},
		{"HTTPS://registry.example.com/app", "registry.example.com", "app", Default},
		{"localhost/app", "localhost", "app", Default},
		{"localhost:5000/app", "localhost:5000", "app", Default},
		{"[::1]:5000/app", "[::1]:5000", "app", Default},
		{"ghcr.io/owner/app", "ghcr.io", "owner/app", GitHub},
		{"registry.gitlab.com/group/project", "registry.gitlab.com", "group/project", GitLab},
		{"eu.gcr.io/project/app", "eu.gcr.io", "project/app", GCR},
		{"europe-docker.pkg.dev/project/repo/app", "europe-docker.pkg.dev", "project/repo/app", GCR},
		{"myreg.azurecr.io/app", "myreg.azurecr.io", "app", ACR},
		{"quay.io/org/app", "quay.io", "org/app", Quay},
		{"harbor.example.com/project/app", "harbor.example.com", "project/app", Harbor},
		{"acme.jfrog.io/docker-local/app", "acme.jfrog.io", "docker-local/app", JFrog},
		{"nexus.example.com:8443/app", "nexus.example.com:8443", "app", Nexus},
		{"cr.yandex/crp123/app", "cr.yandex", "crp123/app", Yandex},
		{"cr.selcloud.ru/reg/app", "cr.selcloud.ru", "reg/app", Selectel},
		{"registry.example.com/a.b/c_d/e__f/g---h/0-9", "registry.example.com", "a.b/c_d/e__f/g---h/0-9", Default},
		{" registry.example.com/app\n", "registry.example.com", "app", Default},
	} {
		t.Run(tc.in, func(t *testing.T) {
			r, err := ParseRepository(tc.in, "", nil)
			assert.NilError(t, err)
			assert.DeepEqual(t, r, Repository{
				Raw: tc.in, Host: tc.host, Path: tc.path, Kind: tc.kind, KindSource: KindSourceDetected,
			})
			assert.Equal(t, r.Name(), tc.host+"/"+tc.path)
		})
	}
}

func TestParseRepositoryECR(t *testing.T) {
	r, err := ParseRepository("123456789012.dkr.ecr.eu-central-1.amazonaws.com/team/app", "", nil)
	assert.NilError(t, err)
	assert.Equal(t, r.Kind, ECR)
	assert.DeepEqual(t, r.ECR, &ECRInfo{Account: "123456789012", Region: "eu-central-1", Domain: "amazonaws.com"})

	r, err = ParseRepository("registry.example.com/app", ECR, nil)
	assert.NilError(t, err)
	assert.Equal(t, r.Kind, ECR)
	assert.Assert(t, r.ECR == nil, "a non-ECR host has no ECR info even with the override")
}

func TestParseRepositoryOverride(t *testing.T) {
	r, err := ParseRepository("registry.example.com/app", GitLab, nil)
	assert.NilError(t, err)
	assert.Equal(t, r.Kind, GitLab)
	assert.Equal(t, r.KindSource, KindSourceOverride)

	r, err = ParseRepository("registry.example.com/app", "AUTO", nil)
	assert.NilError(t, err)
	assert.Equal(t, r.Kind, Default)
	assert.Equal(t, r.KindSource, KindSourceDetected)

	r, err = ParseRepository("ghcr.io/owner/app", "Default", nil)
	assert.NilError(t, err)
	assert.Equal(t, r.Kind, Default)
	assert.Equal(t, r.KindSource, KindSourceOverride)

	_, err = ParseRepository("registry.example.com/app", "artifactory", nil)
	assert.ErrorContains(t, err, `unknown container registry "artifactory": expected one of auto, default,`)
}

func TestParseRepositoryGitLabFromEnvironment(t *testing.T) {
	env := envMap(map[string]string{"CI_REGISTRY": "gitlab.example.com:5050"})
	r, err := ParseRepository("gitlab.example.com:5050/group/project/app", "", env)
	assert.NilError(t, err)
	assert.Equal(t, r.Kind, GitLab)
	assert.Equal(t, r.KindSource, KindSourceDetected)
}

func TestParseRepositoryErrors(t *testing.T) {
	for _, tc := range []struct {
		name, in, want string
	}{
		{"empty", "", `invalid repository "": empty; expected a repository such as "registry.example.com/group/app" or "user/app" for Docker Hub`},
		{"fragment in host", "registry.example.com#x/app", `registry host "registry.example.com#x": invalid host`},
		{"query in host", "registry.example.com?x/app", `invalid host`},
		{"tag", "registry.example.com/app:1.0",
			`invalid repository "registry.example.com/app:1.0": it has a tag; expected a repository without a tag or digest, e.g. "registry.example.com/app"`},
		{"tag with port", "localhost:5000/app:latest", `it has a tag; expected a repository without a tag or digest, e.g. "localhost:5000/app"`},
		{"hub tag", "nginx:1.25", `it has a tag; expected a repository without a tag or digest, e.g. "nginx"`},
		{"hub user tag", "user/app:latest", `it has a tag`},
		{"digest", "registry.example.com/app@sha256:0123", `it has a digest; expected a repository without a tag or digest, e.g. "registry.example.com/app"`},
		{"tag and digest", "app:1@sha256:" + strings.Repeat("0", 64), `it has a digest; expected a repository without a tag or digest, e.g. "app"`},
		{"tag and digest with host", "registry.example.com/app:1@sha256:0123", `it has a digest; expected a repository without a tag or digest, e.g. "registry.example.com/app"`},
		{"not a digest after a slash", "Not/A/Repository:tag@x", `invalid repository "Not/A/Repository:tag@x": it has a digest`},
		// "name:tag@alg:short" reads as "user:password@host:port" too, so
		// it is taken for credentials: a password must not be echoed.
		{"short digest of a lone name", "app:1@sha256:0123", `invalid repository "[redacted]@sha256:0123": credentials (user@)`},
		{"userinfo and port", "user:S3CRET@registry.example.com:5000", `invalid repository "[redacted]@registry.example.com:5000": credentials (user@)`},
		{"host only", "registry.example.com", `it names a registry host but no repository, expected HOST/PATH, e.g. "registry.example.com/app"`},
		{"host and port only", "registry.example.com:5000", "it names a registry host but no repository"},
		{"localhost only", "localhost", "it names a registry host but no repository"},
		{"IPv6 only", "[::1]:5000", "it names a registry host but no repository"},
		{"host with a tag", "registry.example.com:latest", `it has a tag; expected a repository without a tag or digest, e.g. "registry.example.com"`},
		{"lone invalid name", "a..b", `invalid path component "a..b"`},
		{"host with slash only", "registry.example.com/", `empty path component`},
		{"double slash", "registry.example.com//app", `empty path component`},
		{"trailing slash", "registry.example.com/app/", `empty path component`},
		{"leading slash", "/app", `empty path component`},
		{"upper case path", "registry.example.com/MyApp", `path component "MyApp" has upper-case letters; repository paths must be lower-case`},
		{"upper case hub namespace", "MyOrg/app", `path component "MyOrg" has upper-case letters`},
		{"bad separator", "registry.example.com/a..b", `invalid path component "a..b": expected lower-case letters and digits`},
		{"triple underscore", "registry.example.com/a___b", `invalid path component "a___b"`},
		{"leading dash", "registry.example.com/-app", `invalid path component "-app"`},
		{"colon in the middle", "registry.example.com/a:b/c", `invalid path component "a:b"`},
		{"http scheme", "http://registry.example.com/app", `unsupported scheme "http", expected https:// or none`},
		{"ftp scheme", "ftp://registry.example.com/app", `unsupported scheme "ftp"`},
		{"bad host", "my_registry.example.com/app", `registry host "my_registry.example.com": invalid host`},
		{"bad port", "registry.example.com:99999/app", `invalid port "99999"`},
		{"userinfo", "user@registry.example.com/app", "credentials (user@) in the address are not allowed"},
		{"userinfo with scheme", "https://user:pw@registry.example.com/app", "credentials (user@)"},
		{"whitespace", "registry.example.com/my app", "character ' ' at byte 23"},
		{"whitespace after leading blanks", "  a b", "character ' ' at byte 3"},
		{"too long", "registry.example.com/" + strings.Repeat("a", 5000), "too long: 5021 bytes, at most 4096"},
		{"name too long", "registry.example.com/" + strings.Repeat("a", 240), "the name is 261 characters long, at most 255 allowed"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseRepository(tc.in, "", nil)
			assert.ErrorContains(t, err, tc.want)
			assert.ErrorContains(t, err, "invalid repository")
			assert.ErrorContains(t, err, "expected")
		})
	}
}

func TestParseRepositoryErrorTruncatesInput(t *testing.T) {
	for _, in := range []string{
		strings.Repeat("a", 1<<20),
		"registry.example.com/" + strings.Repeat("a", 4000) + ":tag",
		strings.Repeat("a", 3000) + "@sha256:0",
		"registry.example.com/" + strings.Repeat("A", 4000),
		strings.Repeat("x", 3000) + "://host/app",
	} {
		_, err := ParseRepository(in, "", nil)
		assert.Assert(t, err != nil)
		assert.Check(t, len(err.Error()) < 700, "error is %d bytes: %s", len(err.Error()), err)
	}
}
