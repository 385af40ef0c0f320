package registry

import (
	"fmt"
	"slices"
)

// Spec is what docker-werf knows about a registry type: how to recognise it,
// how cleanup deletes tags there, and which credentials that needs.
type Spec struct {
	Kind        Kind
	Name        string       // product name for people
	Hosts       []string     // detection patterns, for people
	Deletion    Deletion     // how cleanup removes a tag
	Credentials []Credential // what the deletion method needs
	Notes       string       // caveats users hit
}

// Deletion describes the method cleanup uses to remove a tag.
type Deletion struct {
	Method string `json:"method"` // machine id, e.g. "oci-tag-delete"
	// UntagSafe is true when removing one tag leaves other tags on the same
	// manifest alone. When false, cleanup may only delete a manifest once
	// every tag on it is to go.
	UntagSafe bool `json:"untagSafe"`
	// UntagDeletesImage is true when removing an image's last tag deletes
	// the image (ECR): cleanup then keeps one tag of an image that something
	// kept needs.
	UntagDeletesImage bool   `json:"untagDeletesImage"`
	Description       string `json:"description"`
}

// Credential is one credential a deletion method uses. Flag and Env are
// werf-compatible names (Env is a single variable name or empty); Secret
// marks values that must never be printed. Key names a --repo-* credential
// in code (empty for the others).
type Credential struct {
	Key         CredentialKey `json:"key"`
	Name        string        `json:"name"`
	Flag        string        `json:"flag"`
	Env         string        `json:"env"`
	Description string        `json:"description"`
	Secret      bool          `json:"secret"`
}

// Deletion method ids.
const (
	MethodOCITagDelete          = "oci-tag-delete"
	MethodOverwriteThenDelete   = "overwrite-then-delete"
	MethodHubTagAPI             = "hub-tag-api"
	MethodGitHubPackageVersions = "github-package-versions"
	MethodGitLabTagAPI          = "gitlab-tag-api"
	MethodQuayTagAPI            = "quay-tag-api"
	MethodHarborArtifactTagAPI  = "harbor-artifact-tag-api"
	MethodECRBatchDeleteByTag   = "ecr-batch-delete-by-tag"
	MethodACRTagAPI             = "acr-tag-api"
	MethodSelectelAPI           = "selectel-api"
)

// SpecFor returns the spec of k. The result is a copy the caller may modify.
// An unknown kind gets a spec naming it as unknown and nothing else.
func SpecFor(k Kind) Spec {
	s, ok := specs()[k]
	if !ok {
		return Spec{Kind: k, Name: fmt.Sprintf("unknown container registry %s", quote(string(k)))}
	}
	s.Kind = k
	s.Hosts = slices.Clone(s.Hosts)
	s.Credentials = slices.Clone(s.Credentials)
	return s
}

// CredentialKey names one --repo-* credential of a native API: the flag
// without "--repo-". Code names credentials by these constants, so that a
// typo does not compile instead of reading as "".
type CredentialKey string

// The native APIs' credentials.
const (
	CredDockerHubToken    CredentialKey = "docker-hub-token"
	CredDockerHubUsername CredentialKey = "docker-hub-username"
	CredDockerHubPassword CredentialKey = "docker-hub-password"
	CredACRUsername       CredentialKey = "acr-username"
	CredACRPassword       CredentialKey = "acr-password"
	CredACRToken          CredentialKey = "acr-token"
	CredGitHubToken       CredentialKey = "github-token"
	CredGitLabToken       CredentialKey = "gitlab-token"
	CredHarborUsername    CredentialKey = "harbor-username"
	CredHarborPassword    CredentialKey = "harbor-password"
	CredQuayToken         CredentialKey = "quay-token"
	CredSelectelUsername  CredentialKey = "selectel-username"
	CredSelectelPassword  CredentialKey = "selectel-password"
	CredSelectelAccount   CredentialKey = "selectel-account"
	CredSelectelVPC       CredentialKey = "selectel-vpc"
	CredSelectelVPCID     CredentialKey = "selectel-vpc-id"
)

// CredentialKeys lists every CredentialKey, in flag order.
func CredentialKeys() []CredentialKey {
	return []CredentialKey{
		CredDockerHubToken,
		CredDockerHubUsername,
		CredDockerHubPassword,
		CredACRUsername,
		CredACRPassword,
		CredACRToken,
		CredGitHubToken,
		CredGitLabToken,
		CredHarborUsername,
		CredHarborPassword,
		CredQuayToken,
		CredSelectelUsername,
		CredSelectelPassword,
		CredSelectelAccount,
		CredSelectelVPC,
		CredSelectelVPCID,
	}
}

// Flag is the credential's flag, "--repo-<key>".
func (k CredentialKey) Flag() string { return "--repo-" + string(k) }

// CredentialFor returns the spec's credential of k.
func CredentialFor(k CredentialKey) Credential {
	for _, kind := range Kinds() {
		for _, c := range SpecFor(kind).Credentials {
			if c.Key == k {
				return c
			}
		}
	}
	return Credential{Key: k, Flag: k.Flag()}
}

// CredentialName is "--repo-<key> (WERF_REPO_<KEY>)", as errors name a
// credential.
func CredentialName(k CredentialKey) string {
	c := CredentialFor(k)
	if c.Env == "" {
		return c.Flag
	}
	return c.Flag + " (" + c.Env + ")"
}

// flagCredential builds a credential with werf's naming: --repo-<key> and
// WERF_REPO_<NAME>.
func flagCredential(name string, key CredentialKey, env, description string, secret bool) Credential {
	return Credential{Key: key, Name: name, Flag: key.Flag(), Env: "WERF_REPO_" + env, Description: description, Secret: secret}
}

// dockerConfig is the registry login every kind can fall back to for the
// registry API.
var dockerConfig = Credential{
	Name: "docker config",
	Flag: "--registry-username/--registry-password",
	Description: "the registry login from the docker config (docker login, a credential helper such as " +
		"docker-credential-werf, or DOCKER_AUTH_CONFIG), or the given username and password; needs push and delete rights",
	Secret: true,
}

var overwriteThenDelete = Deletion{
	Method:    MethodOverwriteThenDelete,
	UntagSafe: true,
	Description: "Tries the OCI tag DELETE (/v2/<name>/manifests/<tag>) and, where the registry refuses it, untags by " +
		"pushing a unique throw-away manifest over the tag and deleting that manifest by digest, so other tags on " +
		"the image survive.",
}
