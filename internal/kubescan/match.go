package kubescan

import (
	"strings"

	"github.com/distribution/reference"
	"github.com/opencontainers/go-digest"

	"github.com/docker-werf/docker-werf/internal/registry"
)

// Ref is an image reference in docker's normal form: Name is
// "host/path" with Docker Hub's aliases (index.docker.io, ...) read as
// docker.io and its official images under library/; a reference with
// neither tag nor digest names the tag "latest", as a pull does.
type Ref struct {
	Name   string
	Tag    string
	Digest string
}

// ParseRef normalises an image reference as a container runtime reads it:
// "nginx", "user/app:v1", "registry.example.com:5000/app@sha256:...", and
// the imageID forms of Pod statuses ("docker-pullable://app@sha256:...").
// A reference that is not valid (or is a bare image ID) gives false.
func ParseRef(s string) (Ref, bool) {
	if _, rest, ok := strings.Cut(s, "://"); ok {
		s = rest
	}
	if _, err := digest.Parse(s); err == nil {
		return Ref{}, false // an image ID; docker would read it as library/sha256
	}
	named, err := reference.ParseNormalizedNamed(s)
	if err != nil {
		return Ref{}, false
	}
	host, err := registry.HostKey(reference.Domain(named))
	if err != nil {
		return Ref{}, false
	}
	path := reference.Path(named)
	if host == registry.DockerHubHost && !strings.Contains(path, "/") {
		path = "library/" + path
	}
	r := Ref{Name: host + "/" + path}
	if t, ok := named.(reference.Tagged); ok {
		r.Tag = t.Tag()
	}
	if d, ok := named.(reference.Digested); ok {
		r.Digest = d.Digest().String()
	}
	if r.Tag == "" && r.Digest == "" {
		r.Tag = "latest"
	}
	return r, true
}

// InRepo are the uses of one repository's images, by tag and by digest.
type InRepo struct {
	Tags    map[string][]Use
	Digests map[string][]Use
}

// Match picks the uses of images in repo, a repository in normal form
// ("host/path", as registry.Repository.Name gives it). Each object is listed
// once per tag or digest, though a Pod names its image in its spec and
// again in its status.
func Match(repo string, uses []Use) InRepo {
	in := InRepo{Tags: map[string][]Use{}, Digests: map[string][]Use{}}
	// Tags hold no ":", digests do: one set serves both.
	type key struct{ ref, context, namespace, kind, name string }
	seen := map[key]bool{}
	add := func(to map[string][]Use, ref string, u Use) {
		if k := (key{ref, u.Context, u.Namespace, u.Kind, u.Name}); !seen[k] {
			seen[k] = true
			to[ref] = append(to[ref], u)
		}
	}
	for _, u := range uses {
		r, ok := ParseRef(u.Image)
		if !ok || r.Name != repo {
			continue
		}
		if r.Tag != "" {
			add(in.Tags, r.Tag, u)
		}
		if r.Digest != "" {
			add(in.Digests, r.Digest, u)
		}
	}
	return in
}
