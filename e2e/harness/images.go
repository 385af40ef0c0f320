package harness

import (
	"crypto/tls"
	"net/http"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// Pusher writes test images to a registry from the test process, as the
// given user, trusting the test CA.
type Pusher struct {
	t    testing.TB
	opts []remote.Option
}

// NewPusher returns a Pusher for reg.
func NewPusher(t testing.TB, user, pass string) *Pusher {
	tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: getCA(t).pool()}}
	return &Pusher{t: t, opts: []remote.Option{
		remote.WithAuth(authn.FromConfig(authn.AuthConfig{Username: user, Password: pass})),
		remote.WithTransport(tr),
	}}
}

// Image is a random image built at created, labelled with labels.
func (p *Pusher) Image(created time.Time, labels map[string]string) v1.Image {
	p.t.Helper()
	img, err := random.Image(64, 1)
	if err != nil {
		p.t.Fatal(err)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		p.t.Fatal(err)
	}
	cf = cf.DeepCopy()
	cf.Created = v1.Time{Time: created}
	cf.Config.Labels = labels
	img, err = mutate.ConfigFile(img, cf)
	if err != nil {
		p.t.Fatal(err)
	}
	return img
}

// Push writes img under ref and returns its digest.
func (p *Pusher) Push(ref string, img v1.Image) string {
	p.t.Helper()
	r, err := name.ParseReference(ref)
	if err != nil {
		p.t.Fatal(err)
	}
	if err := remote.Write(r, img, p.opts...); err != nil {
		p.t.Fatalf("harness: pushing %s: %v", ref, err)
	}
	d, err := img.Digest()
	if err != nil {
		p.t.Fatal(err)
	}
	return d.String()
}

// Tag points another tag at the digest of ref.
func (p *Pusher) Tag(ref, tag string) {
	p.t.Helper()
	r, err := name.ParseReference(ref)
	if err != nil {
		p.t.Fatal(err)
	}
	desc, err := remote.Get(r, p.opts...)
	if err != nil {
		p.t.Fatalf("harness: %s: %v", ref, err)
	}
	if err := remote.Tag(r.Context().Tag(tag), desc, p.opts...); err != nil {
		p.t.Fatalf("harness: tagging %s as %s: %v", ref, tag, err)
	}
}

// Index writes a multi-arch index of the given images under ref and
// returns its digest.
func (p *Pusher) Index(ref string, images ...v1.Image) string {
	p.t.Helper()
	idx := mutate.IndexMediaType(empty.Index, types.OCIImageIndex)
	for i, img := range images {
		idx = mutate.AppendManifests(idx, mutate.IndexAddendum{Add: img,
			Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: "linux", Architecture: []string{"amd64", "arm64", "s390x"}[i%3]}}})
	}
	r, err := name.ParseReference(ref)
	if err != nil {
		p.t.Fatal(err)
	}
	if err := remote.WriteIndex(r, idx, p.opts...); err != nil {
		p.t.Fatalf("harness: pushing index %s: %v", ref, err)
	}
	d, err := idx.Digest()
	if err != nil {
		p.t.Fatal(err)
	}
	return d.String()
}

// Exists reports whether ref (a tag or a digest) resolves.
func (p *Pusher) Exists(ref string) bool {
	p.t.Helper()
	r, err := name.ParseReference(ref)
	if err != nil {
		p.t.Fatal(err)
	}
	_, err = remote.Head(r, p.opts...)
	return err == nil
}

// Tags lists the tags of repo.
func (p *Pusher) Tags(repo string) []string {
	p.t.Helper()
	r, err := name.NewRepository(repo)
	if err != nil {
		p.t.Fatal(err)
	}
	tags, err := remote.List(r, p.opts...)
	if err != nil {
		p.t.Fatalf("harness: listing %s: %v", repo, err)
	}
	return tags
}

// Digest resolves ref to its digest.
func (p *Pusher) Digest(ref string) string {
	p.t.Helper()
	r, err := name.ParseReference(ref)
	if err != nil {
		p.t.Fatal(err)
	}
	desc, err := remote.Head(r, p.opts...)
	if err != nil {
		p.t.Fatalf("harness: %s: %v", ref, err)
	}
	return desc.Digest.String()
}
