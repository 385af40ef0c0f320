package registry

import (
	"fmt"
	"slices"
	"strings"
)

// Kind names a registry type: the implementation cleanup uses for it.
type Kind string

// The values are werf's --repo-container-registry names, so existing werf
// configuration keeps working.
const (
	Default   Kind = "default"
	DockerHub Kind = "dockerhub"
	ECR       Kind = "ecr"
	ACR       Kind = "acr"
	GCR       Kind = "gcr"
	GitHub    Kind = "github"
	GitLab    Kind = "gitlab"
	Harbor    Kind = "harbor"
	Quay      Kind = "quay"
	JFrog     Kind = "jfrog"
	Nexus     Kind = "nexus"
	Yandex    Kind = "yandex"
	Selectel  Kind = "selectel"
)

// auto is the name that asks for detection, as in werf.
const auto = "auto"

var kinds = []Kind{Default, DockerHub, ECR, ACR, GCR, GitHub, GitLab, Harbor, Quay, JFrog, Nexus, Yandex, Selectel}

// Kinds returns every known kind; the slice is the caller's to modify.
func Kinds() []Kind {
	return slices.Clone(kinds)
}

// Env looks up an environment variable, like os.Getenv. A nil Env means an
// empty environment, so tests and callers need not fake one.
type Env func(key string) string

func (e Env) get(key string) string {
	if e == nil {
		return ""
	}
	return e(key)
}

// ParseKind parses a registry type name case-insensitively. "" and "auto"
// return ("", nil): the caller should detect the kind from the host.
func ParseKind(name string) (Kind, error) {
	n := strings.ToLower(strings.TrimSpace(name))
	if n == "" || n == auto {
		return "", nil
	}
	if k := Kind(n); slices.Contains(kinds, k) {
		return k, nil
	}
	return "", fmt.Errorf("unknown container registry %s: expected one of %s", quote(name), kindNames())
}

func kindNames() string {
	names := make([]string, 0, len(kinds)+1)
	names = append(names, auto)
	for _, k := range kinds {
		names = append(names, string(k))
	}
	return strings.Join(names, ", ")
}
