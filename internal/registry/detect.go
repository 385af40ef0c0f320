package registry

import "strings"

// Environment variables GitLab CI sets to its own registry addresses.
const (
	envCIRegistry            = "CI_REGISTRY"
	envCIDependencyProxyHost = "CI_DEPENDENCY_PROXY_SERVER"
)

// detectors run in werf's order (ecr, acr, dockerhub, gcr, github, gitlab,
// harbor, quay), then the kinds werf serves with its default implementation.
// Exact cloud hosts come before GitLab's CI_REGISTRY equality, and that
// equality comes before the loose name patterns (harbor.*, quay.*.com,
// nexus.*), so a self-hosted GitLab registry is GitLab whatever it is called.
var detectors = []struct {
	kind  Kind
	match func(key, host string, env Env) bool
}{
	{ECR, func(_, h string, _ Env) bool { _, ok := ParseECR(h); return ok }},
	{ACR, func(_, h string, _ Env) bool { return isACR(h) }},
	{DockerHub, func(_, h string, _ Env) bool { return isDockerHubAlias(h) }},
	{GCR, func(_, h string, _ Env) bool { return isGCR(h) }},
	// Only ghcr.io: docker.pkg.github.com is the old GitHub Packages Docker
	// registry, whose packages the container packages API does not serve.
	{GitHub, func(_, h string, _ Env) bool { return h == "ghcr.io" }},
	{GitLab, isGitLab},
	{Harbor, func(_, h string, _ Env) bool { return isHarbor(h) }},
	{Quay, func(_, h string, _ Env) bool { return isQuay(h) }},
	{JFrog, func(_, h string, _ Env) bool { return hasSubdomain(h, "jfrog.io") }},
	{Nexus, func(_, h string, _ Env) bool { return isNexus(h) }},
	{Yandex, func(_, h string, _ Env) bool { return h == "cr.yandex" }},
	{Selectel, func(_, h string, _ Env) bool { return h == "cr.selcloud.ru" || hasSubdomain(h, "cr.selcloud.ru") }},
}

// DetectKind guesses the registry type from a host as HostKey returns it
// (other address forms are normalised first). Name patterns match the
// hostname without its port; GitLab's CI_REGISTRY and
// CI_DEPENDENCY_PROXY_SERVER are compared as whole host[:port] keys. A host
// nothing matches is Default.
func DetectKind(host string, env Env) Kind {
	key := normalisedOrLower(host)
	h := hostname(key)
	for _, d := range detectors {
		if d.match(key, h, env) {
			return d.kind
		}
	}
	return Default
}

// normalisedOrLower lets the matchers work on unnormalised input instead of
// failing: detection is a guess and must not be an error.
func normalisedOrLower(host string) string {
	if k, err := HostKey(host); err == nil {
		return k
	}
	return strings.ToLower(host)
}

// hasSubdomain reports whether h is a proper subdomain of domain.
func hasSubdomain(h, domain string) bool {
	return len(h) > len(domain)+1 && strings.HasSuffix(h, "."+domain)
}

// isACR covers the public cloud and the sovereign clouds (China, US
// Government, and the retired Germany cloud) as docker-credential-acr-env does.
func isACR(h string) bool {
	for _, d := range []string{"azurecr.io", "azurecr.cn", "azurecr.us", "azurecr.de"} {
		if hasSubdomain(h, d) {
			return true
		}
	}
	return false
}

// isGCR adds Artifact Registry ("<location>-docker.pkg.dev"), which werf
// leaves to the default implementation although it untags the same way.
func isGCR(h string) bool {
	switch {
	case h == "gcr.io", h == "container.cloud.google.com", hasSubdomain(h, "gcr.io"):
		return true
	case hasSubdomain(h, "pkg.dev"):
		loc := strings.TrimSuffix(h, ".pkg.dev")
		return !strings.Contains(loc, ".") && len(loc) > len("-docker") && strings.HasSuffix(loc, "-docker")
	}
	return false
}

// isGitLab fixes werf's "^gitlab\.com", which never matched GitLab.com's
// registry host and knows nothing of self-hosted instances: inside a GitLab
// job the instance names its registries in the environment.
func isGitLab(key, h string, env Env) bool {
	if h == "registry.gitlab.com" || h == "gitlab.com" {
		return true
	}
	for _, name := range []string{envCIRegistry, envCIDependencyProxyHost} {
		if SameRegistry(key, env.get(name)) {
			return true
		}
	}
	return false
}

// SameRegistry reports whether two registry addresses (anything HostKey
// takes) name the same registry: their host keys are equal, an explicit :443
// counting as no port. GitLab writes CI_DEPENDENCY_PROXY_SERVER, and may write
// CI_REGISTRY, as "host:443" while images are named without the port, and
// both reach the same HTTPS endpoint. An empty or invalid address matches
// nothing.
func SameRegistry(a, b string) bool {
	ka, err := HostKey(a)
	if err != nil {
		return false
	}
	kb, err := HostKey(b)
	if err != nil {
		return false
	}
	return strings.TrimSuffix(ka, ":443") == strings.TrimSuffix(kb, ":443")
}

// IsJobRegistry reports whether host is the registry of the GitLab job whose
// environment env is: the one CI_REGISTRY names, where the job's
// CI_JOB_TOKEN logs in and reaches the GitLab API.
func IsJobRegistry(host string, env Env) bool {
	return SameRegistry(host, env.get(envCIRegistry))
}

// isHarbor keeps werf's patterns: "harbor.*" and Harbor's own demo hosts.
func isHarbor(h string) bool {
	return (strings.HasPrefix(h, "harbor.") && len(h) > len("harbor.")) || hasSubdomain(h, "goharbor.io")
}

// isQuay anchors werf's "^quay\..*\.com" at both ends.
func isQuay(h string) bool {
	return h == "quay.io" || (strings.HasPrefix(h, "quay.") && hasSubdomain(h[len("quay."):], "com"))
}

func isNexus(h string) bool {
	return strings.HasPrefix(h, "nexus.") && len(h) > len("nexus.") || strings.HasPrefix(h, "nexus-")
}
