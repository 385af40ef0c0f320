package registry

import (
	"testing"

	"gotest.tools/v3/assert"
)

func envMap(m map[string]string) Env {
	return func(k string) string { return m[k] }
}

func TestDetectKind(t *testing.T) {
	for _, tc := range []struct {
		host string
		want Kind
	}{
		// ecr
		{"123456789012.dkr.ecr.us-east-1.amazonaws.com", ECR},
		{"123456789012.dkr.ecr-fips.us-gov-west-1.amazonaws.com", ECR},
		{"123456789012.dkr.ecr.cn-north-1.amazonaws.com.cn", ECR},
		{"123456789012.dkr-ecr.eu-west-1.on.aws", ECR},
		{"123456789012.dkr.ecr.eusc-de-east-1.amazonaws.eu", ECR},
		{"123456789012.dkr.ecr.us-iso-east-1.c2s.ic.gov", ECR},
		{"123456789012.dkr.ecr.us-isob-east-1.sc2s.sgov.gov", ECR},
		{"123456789012.dkr.ecr.eu-isoe-west-1.cloud.adc-e.uk", ECR},
		{"123456789012.dkr.ecr.us-isof-south-1.csp.hci.ic.gov", ECR},
		{"123456789012.dkr.ecr.us-east-1.amazonaws.com:443", ECR},
		{"https://123456789012.dkr.ecr.us-east-1.amazonaws.com/v2/", ECR},
		{"12345678901.dkr.ecr.us-east-1.amazonaws.com", Default},
		{"1234567890123.dkr.ecr.us-east-1.amazonaws.com", Default},
		{"123456789012.dkr.ecr.us-east-1.amazonaws.com.evil.io", Default},
		{"x123456789012.dkr.ecr.us-east-1.amazonaws.com", Default},
		{"public.ecr.aws", Default},
		// acr
		{"myreg.azurecr.io", ACR},
		{"myreg.azurecr.cn", ACR},
		{"myreg.azurecr.us", ACR},
		{"myreg.azurecr.de", ACR},
		{"myreg.azurecr.io:443", ACR},
		{"azurecr.io", Default},
		{"myreg.azurecr.io.evil.io", Default},
		{"myregazurecr.io", Default},
		// dockerhub
		{"docker.io", DockerHub},
		{"index.docker.io", DockerHub},
		{"registry-1.docker.io", DockerHub},
		{"registry.hub.docker.com", DockerHub},
		{"https://index.docker.io/v1/", DockerHub},
		{"docker.io.evil.io", Default},
		{"notdocker.io", Default},
		// gcr
		{"gcr.io", GCR},
		{"eu.gcr.io", GCR},
		{"us.gcr.io", GCR},
		{"container.cloud.google.com", GCR},
		{"europe-west1-docker.pkg.dev", GCR},
		{"us-docker.pkg.dev", GCR},
		{"notgcr.io", Default},
		{"gcr.io.evil.io", Default},
		{"container.cloud.google.com.evil.io", Default},
		{"docker.pkg.dev", Default},
		{"-docker.pkg.dev", Default},
		{"europe-west1-python.pkg.dev", Default},
		{"x.europe-west1-docker.pkg.dev", Default},
		// github
		{"ghcr.io", GitHub},
		// The old GitHub Packages registry is no container API host.
		{"docker.pkg.github.com", Default},
		{"ghcr.io.example.com", Default},
		{"notghcr.io", Default},
		// gitlab
		{"registry.gitlab.com", GitLab},
		{"gitlab.com", GitLab},
		{"registry.gitlab.com.evil.io", Default},
		{"gitlab.com.evil.io", Default},
		{"gitlab.example.com", Default},
		// harbor
		{"harbor.example.com", Harbor},
		{"harbor.corp", Harbor},
		{"demo.goharbor.io", Harbor},
		{"test.goharbor.io", Harbor},
		{"myharbor.example.com", Default},
		{"harbor", Default},
		{"goharbor.io", Default},
		// quay
		{"quay.io", Quay},
		{"quay.example.com", Quay},
		{"quay.corp.example.com", Quay},
		{"quay.com", Default},
		{"quay.example.org", Default},
		{"quay.io.evil.com", Quay}, // werf's quay.*.com pattern, kept
		{"notquay.io", Default},
		// jfrog
		{"acme.jfrog.io", JFrog},
		{"acme-docker.jfrog.io", JFrog},
		{"jfrog.io", Default},
		{"acme.jfrog.io.evil.com", Default},
		// nexus
		{"nexus.example.com", Nexus},
		{"nexus-docker.example.com:8443", Nexus},
		{"nexus-registry", Nexus},
		{"mynexus.example.com", Default},
		{"nexus", Default},
		// yandex
		{"cr.yandex", Yandex},
		{"cr.yandex.evil.io", Default},
		{"xcr.yandex", Default},
		// selectel
		{"cr.selcloud.ru", Selectel},
		{"myreg.cr.selcloud.ru", Selectel},
		{"cr.selcloud.ru.evil.io", Default},
		{"xcr.selcloud.ru", Default},
		// default
		{"registry.example.com", Default},
		{"localhost:5000", Default},
		{"127.0.0.1:5000", Default},
		{"[::1]:5000", Default},
		{"", Default},
		{"not a host", Default},
	} {
		t.Run(tc.host, func(t *testing.T) {
			assert.Equal(t, DetectKind(tc.host, nil), tc.want)
		})
	}
}

func TestDetectKindGitLabCIEnvironment(t *testing.T) {
	env := envMap(map[string]string{
		"CI_REGISTRY":                "gitlab.example.com:5050",
		"CI_DEPENDENCY_PROXY_SERVER": "gitlab.example.com:443",
	})
	for _, tc := range []struct {
		host string
		want Kind
	}{
		{"gitlab.example.com:5050", GitLab},
		{"GitLab.Example.com:5050", GitLab},
		{"https://gitlab.example.com:5050/v2/", GitLab},
		{"gitlab.example.com:443", GitLab},
		{"gitlab.example.com", GitLab}, // :443 is the same HTTPS endpoint
		{"gitlab.example.com:5051", Default},
		{"registry.gitlab.example.com", Default},
		{"gitlab.example.com.evil.io:5050", Default},
	} {
		t.Run(tc.host, func(t *testing.T) {
			assert.Equal(t, DetectKind(tc.host, env), tc.want)
		})
	}

	t.Run("CI_REGISTRY without a port does not match another port", func(t *testing.T) {
		env := envMap(map[string]string{"CI_REGISTRY": "registry.example.com"})
		assert.Equal(t, DetectKind("registry.example.com", env), GitLab)
		assert.Equal(t, DetectKind("registry.example.com:5050", env), Default)
	})
	t.Run("CI_REGISTRY given as a URL", func(t *testing.T) {
		env := envMap(map[string]string{"CI_REGISTRY": "https://Registry.Example.com"})
		assert.Equal(t, DetectKind("registry.example.com", env), GitLab)
	})
	t.Run("a GitLab registry named like Harbor is GitLab", func(t *testing.T) {
		env := envMap(map[string]string{"CI_REGISTRY": "harbor.example.com"})
		assert.Equal(t, DetectKind("harbor.example.com", env), GitLab)
	})
	t.Run("cloud hosts win over a misconfigured CI_REGISTRY", func(t *testing.T) {
		env := envMap(map[string]string{"CI_REGISTRY": "docker.io"})
		assert.Equal(t, DetectKind("index.docker.io", env), DockerHub)
	})
	t.Run("invalid CI_REGISTRY is ignored", func(t *testing.T) {
		env := envMap(map[string]string{"CI_REGISTRY": "not a host"})
		assert.Equal(t, DetectKind("registry.example.com", env), Default)
	})
	t.Run("nil env", func(t *testing.T) {
		assert.Equal(t, DetectKind("gitlab.example.com:5050", nil), Default)
	})
}

// TestIsJobRegistry: CI_REGISTRY names the job's registry with or without
// :443, in any case, and an empty or invalid one names none.
func TestIsJobRegistry(t *testing.T) {
	for _, tc := range []struct {
		host, ciRegistry string
		want             bool
	}{
		{"registry.example.com", "registry.example.com", true},
		{"registry.example.com", "registry.example.com:443", true},
		{"registry.example.com:443", "registry.example.com", true},
		{"registry.example.com", "REGISTRY.example.com:443", true},
		{"registry.example.com", "https://registry.example.com:443/", true},
		{"registry.example.com:5050", "registry.example.com", false},
		{"registry.example.com", "registry.example.com:5050", false},
		{"other.example.com", "registry.example.com", false},
		{"registry.example.com", "", false},
		{"registry.example.com", "user@registry.example.com", false},
	} {
		got := IsJobRegistry(tc.host, envMap(map[string]string{"CI_REGISTRY": tc.ciRegistry}))
		assert.Check(t, got == tc.want, "IsJobRegistry(%q) with CI_REGISTRY=%q: %v", tc.host, tc.ciRegistry, got)
	}
	assert.Check(t, !IsJobRegistry("registry.example.com", nil))
}
