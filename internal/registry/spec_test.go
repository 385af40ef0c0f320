package registry

import (
	"strings"
	"testing"

	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"
)

func TestSpecForEveryKind(t *testing.T) {
	for _, k := range Kinds() {
		t.Run(string(k), func(t *testing.T) {
			s := SpecFor(k)
			assert.Equal(t, s.Kind, k)
			assert.Check(t, s.Name != "")
			assert.Check(t, len(s.Hosts) > 0)
			assert.Check(t, s.Deletion.Method != "")
			assert.Check(t, strings.HasSuffix(s.Deletion.Description, "."), "description must be a sentence")
			assert.Check(t, len(s.Credentials) > 0)
			for _, c := range s.Credentials {
				assert.Check(t, c.Name != "" && c.Description != "", "%+v", c)
				if c.Env != "" {
					assert.Check(t, !strings.ContainsAny(c.Env, " /"), "Env must be one variable: %q", c.Env)
				}
			}
		})
	}
}

func TestSpecDeletionMethods(t *testing.T) {
	for _, tc := range []struct {
		kind      Kind
		method    string
		untagSafe bool
	}{
		{Default, "overwrite-then-delete", true},
		{DockerHub, "hub-tag-api", true},
		{ECR, "ecr-batch-delete-by-tag", true},
		{ACR, "acr-tag-api", true},
		{GCR, "oci-tag-delete", true},
		{GitHub, "github-package-versions", false},
		{GitLab, "gitlab-tag-api", true},
		{Harbor, "harbor-artifact-tag-api", true},
		{Quay, "quay-tag-api", true},
		{JFrog, "overwrite-then-delete", true},
		{Nexus, "overwrite-then-delete", true},
		{Yandex, "overwrite-then-delete", true},
		{Selectel, "selectel-api", false},
	} {
		t.Run(string(tc.kind), func(t *testing.T) {
			d := SpecFor(tc.kind).Deletion
			assert.Check(t, is.Equal(d.Method, tc.method))
			assert.Check(t, is.Equal(d.UntagSafe, tc.untagSafe))
			// ECR: "when you remove the last tag from an image, the image
			// is deleted" (BatchDeleteImage, Amazon ECR API Reference).
			assert.Check(t, is.Equal(d.UntagDeletesImage, tc.kind == ECR))
		})
	}
}

func TestSpecCredentials(t *testing.T) {
	type flagEnv struct {
		Flag, Env string
		Secret    bool
	}
	for _, tc := range []struct {
		kind Kind
		want []flagEnv
	}{
		{DockerHub, []flagEnv{
			{"--repo-docker-hub-token", "WERF_REPO_DOCKER_HUB_TOKEN", true},
			{"--repo-docker-hub-username", "WERF_REPO_DOCKER_HUB_USERNAME", false},
			{"--repo-docker-hub-password", "WERF_REPO_DOCKER_HUB_PASSWORD", true},
		}},
		{GitHub, []flagEnv{{"--repo-github-token", "WERF_REPO_GITHUB_TOKEN", true}}},
		{GitLab, []flagEnv{
			{"--repo-gitlab-token", "WERF_REPO_GITLAB_TOKEN", true},
			{"--registry-username/--registry-password", "", true},
		}},
		{Harbor, []flagEnv{
			{"--repo-harbor-username", "WERF_REPO_HARBOR_USERNAME", false},
			{"--repo-harbor-password", "WERF_REPO_HARBOR_PASSWORD", true},
		}},
		{Quay, []flagEnv{{"--repo-quay-token", "WERF_REPO_QUAY_TOKEN", true}}},
		{Selectel, []flagEnv{
			{"--repo-selectel-username", "WERF_REPO_SELECTEL_USERNAME", false},
			{"--repo-selectel-password", "WERF_REPO_SELECTEL_PASSWORD", true},
			{"--repo-selectel-account", "WERF_REPO_SELECTEL_ACCOUNT", false},
			{"--repo-selectel-vpc", "WERF_REPO_SELECTEL_VPC", false},
			{"--repo-selectel-vpc-id", "WERF_REPO_SELECTEL_VPC_ID", false},
		}},
		{ACR, []flagEnv{
			{"--repo-acr-username", "WERF_REPO_ACR_USERNAME", false},
			{"--repo-acr-password", "WERF_REPO_ACR_PASSWORD", true},
			{"--repo-acr-token", "WERF_REPO_ACR_TOKEN", true},
		}},
		{ECR, []flagEnv{{"", "", true}}},
		{Default, []flagEnv{{"--registry-username/--registry-password", "", true}}},
		{GCR, []flagEnv{{"--registry-username/--registry-password", "", true}}},
		{JFrog, []flagEnv{{"--registry-username/--registry-password", "", true}}},
		{Nexus, []flagEnv{{"--registry-username/--registry-password", "", true}}},
		{Yandex, []flagEnv{{"--registry-username/--registry-password", "", true}}},
	} {
		t.Run(string(tc.kind), func(t *testing.T) {
			var got []flagEnv
			for _, c := range SpecFor(tc.kind).Credentials {
				got = append(got, flagEnv{c.Flag, c.Env, c.Secret})
			}
			assert.DeepEqual(t, got, tc.want)
		})
	}
	assert.Check(t, is.Contains(SpecFor(ECR).Credentials[0].Description, "AWS_PROFILE"))
	assert.Check(t, is.Contains(SpecFor(GitLab).Credentials[0].Description, "api scope"))
}

func TestSpecForReturnsACopy(t *testing.T) {
	s := SpecFor(DockerHub)
	s.Hosts[0] = "changed"
	s.Credentials[0].Flag = "changed"
	again := SpecFor(DockerHub)
	assert.Equal(t, again.Hosts[0], "docker.io")
	assert.Equal(t, again.Credentials[0].Flag, "--repo-docker-hub-token")
}

func TestSpecForUnknown(t *testing.T) {
	s := SpecFor("foo")
	assert.Equal(t, s.Kind, Kind("foo"))
	assert.Equal(t, s.Name, `unknown container registry "foo"`)
	assert.Equal(t, s.Deletion.Method, "")
}

// TestCredentialKeys: every --repo-* credential of the specs has its key,
// and every key names one credential.
func TestCredentialKeys(t *testing.T) {
	seen := map[CredentialKey]bool{}
	for _, kind := range Kinds() {
		for _, c := range SpecFor(kind).Credentials {
			if !strings.HasPrefix(c.Flag, "--repo-") {
				assert.Check(t, is.Equal(c.Key, CredentialKey("")), c.Flag)
				continue
			}
			assert.Check(t, is.Equal(c.Key.Flag(), c.Flag))
			seen[c.Key] = true
		}
	}
	for _, k := range CredentialKeys() {
		assert.Check(t, seen[k], "key %s names no credential", k)
		delete(seen, k)
	}
	assert.Check(t, is.Len(seen, 0), "keys missing from CredentialKeys")
	assert.Check(t, is.Equal(CredentialName(CredQuayToken), "--repo-quay-token (WERF_REPO_QUAY_TOKEN)"))
}
