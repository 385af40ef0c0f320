package registry

import (
	"errors"
	"fmt"
	"strings"
)

// Where a Repository's Kind came from.
const (
	KindSourceDetected = "detected"
	KindSourceOverride = "override"
)

// maxNameLength is distribution's limit on "host/path".
const maxNameLength = 255

// Repository is a parsed repository address plus its registry type.
type Repository struct {
	Raw        string   // the address as given
	Host       string   // HostKey form; Docker Hub is "docker.io"
	Path       string   // e.g. "library/nginx" or "group/project/app"
	Kind       Kind     // never empty
	KindSource string   // KindSourceDetected or KindSourceOverride
	ECR        *ECRInfo // set whenever Host is an ECR private registry host
}

// Name returns "host/path", the repository as docker names it.
func (r Repository) Name() string {
	return r.Host + "/" + r.Path
}

const repoExpected = `expected a repository such as "registry.example.com/group/app" or "user/app" for Docker Hub`

// ParseRepository parses a repository address (no tag, no digest) as a user
// types it: "host[:port]/path", the Docker Hub short forms "name" (an
// official image, library/name) and "namespace/name", optionally after
// "https://". override, unless "" or "auto", replaces detection.
//
// As in docker, the first component is a host when it contains "." or ":" or
// is "localhost". Unlike docker, a first component with upper-case letters is
// not taken as a host but rejected: "MyOrg/app" is a mistyped Docker Hub
// name far more often than a host called "myorg". A lone "host" or
// "host:port" is rejected too, because cleanup needs a repository.
func ParseRepository(repo string, override Kind, env Env) (Repository, error) {
	kind, err := ParseKind(string(override))
	if err != nil {
		return Repository{}, fmt.Errorf("repository %s: %w", quoteAddress(repo), err)
	}
	host, path, err := splitRepository(repo)
	if err != nil {
		return Repository{}, fmt.Errorf("invalid repository %s: %w%s", quoteAddress(repo), err, hint(err, repoExpected))
	}
	r := Repository{Raw: repo, Host: host, Path: path, Kind: kind, KindSource: KindSourceOverride}
	if kind == "" {
		r.Kind, r.KindSource = DetectKind(host, env), KindSourceDetected
	}
	if info, ok := ParseECR(host); ok {
		r.ECR = &info
	}
	return r, nil
}

func splitRepository(repo string) (host, path string, err error) {
	s, err := checkAddress(repo)
	if err != nil {
		return "", "", err
	}
	if s, err = stripScheme(s, "https"); err != nil {
		return "", "", err
	}
	if _, ok := userinfoEnd(s); ok {
		return "", "", errCredentials
	}
	if i := strings.IndexByte(s, '@'); i >= 0 {
		return "", "", fmt.Errorf("it has a digest; %s, e.g. %s", noTagExpected, quotePart(withoutTag(s[:i])))
	}
	if i := strings.LastIndexByte(s, '/'); i >= 0 && strings.Contains(s[i+1:], ":") {
		return "", "", fmt.Errorf("it has a tag; %s, e.g. %s", noTagExpected, quotePart(withoutTag(s)))
	}
	first, rest, hasSlash := strings.Cut(s, "/")
	host, path = DockerHubHost, s
	switch {
	case !hasSlash:
		if err := checkLoneComponent(s); err != nil {
			return "", "", err
		}
	case strings.ContainsAny(first, ".:") || first == "localhost":
		if host, err = parseAuthority(first); err != nil {
			return "", "", fmt.Errorf("registry host %s: %w", quotePart(first), err)
		}
		path = rest
	}
	if err := checkPath(path); err != nil {
		return "", "", err
	}
	if host == DockerHubHost && !strings.Contains(path, "/") {
		path = "library/" + path
	}
	if n := len(host) + 1 + len(path); n > maxNameLength {
		return "", "", fmt.Errorf("the name is %d characters long, at most %d allowed", n, maxNameLength)
	}
	return host, path, nil
}

const noTagExpected = "expected a repository without a tag or digest"

// withoutTag drops a ":tag" from the last component of a name.
func withoutTag(s string) string {
	i := strings.LastIndexByte(s, '/') + 1
	name, _, _ := strings.Cut(s[i:], ":")
	return s[:i] + name
}

// checkLoneComponent rejects a single component that is not a Docker Hub
// official image name but a name with a tag, or a registry host without a
// path. Docker would read "registry.example.com" as library/registry.example.com;
// a user giving it to cleanup surely meant the host.
func checkLoneComponent(s string) error {
	name, _, hasColon := strings.Cut(s, ":")
	if strings.Contains(name, ".") || name == "localhost" || strings.HasPrefix(s, "[") {
		if _, err := parseAuthority(s); err == nil {
			return fmt.Errorf("it names a registry host but no repository, expected HOST/PATH, e.g. %s",
				quotePart(s+"/app"))
		}
	}
	if hasColon {
		return fmt.Errorf("it has a tag; %s, e.g. %s", noTagExpected, quotePart(name))
	}
	return nil
}

// checkPath applies the distribution reference grammar to a repository path:
// lower-case alphanumeric components separated by "/", each with inner ".",
// "_", "__" or runs of "-".
func checkPath(path string) error {
	for c := range strings.SplitSeq(path, "/") {
		if err := checkComponent(c); err != nil {
			return err
		}
	}
	return nil
}

func checkComponent(c string) error {
	switch {
	case c == "":
		return errors.New(`empty path component (a leading, trailing or double "/")`)
	case strings.ToLower(c) != c:
		return fmt.Errorf("path component %s has upper-case letters; repository paths must be lower-case", quotePart(c))
	case !validComponent(c):
		return fmt.Errorf("invalid path component %s: expected lower-case letters and digits, "+
			`separated inside a component by ".", "_", "__" or "-"`, quotePart(c))
	}
	return nil
}

func validComponent(c string) bool {
	i := 0
	for {
		start := i
		for i < len(c) && isLowerAlnum(c[i]) {
			i++
		}
		if i == start {
			return false
		}
		if i == len(c) {
			return true
		}
		switch c[i] {
		case '.':
			i++
		case '_':
			i++
			if i < len(c) && c[i] == '_' {
				i++
			}
		case '-':
			for i < len(c) && c[i] == '-' {
				i++
			}
		default:
			return false
		}
	}
}
