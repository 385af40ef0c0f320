package registryapi

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// The schema 1 media types, which only the Accept header names.
const (
	mediaTypeSchema1       = "application/vnd.docker.distribution.manifest.v1+json"
	mediaTypeSchema1Signed = "application/vnd.docker.distribution.manifest.v1+prettyjws"
)

// acceptManifests is the Accept header of every manifest request: with
// fewer types distribution rewrites a manifest list to its linux/amd64
// child (and the child's digest), or answers 404 for OCI types.
var acceptManifests = strings.Join([]string{
	MediaTypeOCIIndex, MediaTypeOCIManifest, MediaTypeDockerList, MediaTypeDockerManifest,
	mediaTypeSchema1Signed, mediaTypeSchema1,
}, ", ")

// maxManifestSize bounds manifest bodies (distribution's limit is 4 MiB);
// maxConfigSize bounds image configs.
const (
	maxManifestSize = 4 << 20
	maxConfigSize   = 16 << 20
)

// ReferrersSource says how Referrers found the referrers.
type ReferrersSource int

const (
	// ReferrersAPI: GET /v2/<name>/referrers/<digest> (OCI 1.1).
	ReferrersAPI ReferrersSource = iota + 1
	// ReferrersTagSchema: the index at tag <alg>-<hex> (registries without
	// the API, distribution 2.8 and 3.1 among them).
	ReferrersTagSchema
)

func (s ReferrersSource) String() string {
	switch s {
	case ReferrersAPI:
		return "referrers API"
	case ReferrersTagSchema:
		return "referrers tag schema"
	}
	return "unknown"
}

func checkTag(tag string) error {
	if !ValidTag(tag) {
		return fmt.Errorf("invalid tag %q", tag)
	}
	return nil
}

func checkDigest(d string) error {
	if _, err := v1.NewHash(d); err != nil {
		return fmt.Errorf("invalid digest %q: %w", d, err)
	}
	return nil
}

// Resolve returns the descriptor a tag points to, with a HEAD request that
// accepts every manifest media type, falling back to GET when the registry
// sends no Docker-Content-Digest. A missing tag (or repository) gives an
// error wrapping ErrNotFound.
func (c *Client) Resolve(ctx context.Context, tag string) (Descriptor, error) {
	if err := checkTag(tag); err != nil {
		return Descriptor{}, err
	}
	hc, err := c.client(ctx, false)
	if err != nil {
		return Descriptor{}, err
	}
	return c.resolveWith(ctx, hc, "resolve tag "+tag+" of", tag, false)
}

// resolveWith resolves ref; write says which rights the operation needs,
// for the hint of an unauthorized error.
func (c *Client) resolveWith(ctx context.Context, hc *http.Client, op, ref string, write bool) (Descriptor, error) {
	hdr := http.Header{"Accept": {acceptManifests}}
	resp, err := c.send(ctx, hc, http.MethodHead, c.url("/manifests/"+ref), hdr, nil)
	if err != nil {
		return Descriptor{}, fmt.Errorf("%s %s: %w", op, c.repo.Name(), err)
	}
	if resp.StatusCode != http.StatusOK {
		return Descriptor{}, c.responseError(op, write, resp)
	}
	discard(resp)
	d := Descriptor{
		Digest:    resp.Header.Get("Docker-Content-Digest"),
		MediaType: mediaType(resp.Header.Get("Content-Type")),
		Size:      contentLength(resp),
	}
	if checkDigest(d.Digest) == nil && d.MediaType != "" && d.Size >= 0 {
		return d, nil
	}
	_, d, err = c.getManifest(ctx, hc, op, ref, "", write)
	return d, err
}

func contentLength(resp *http.Response) int64 {
	if resp.ContentLength >= 0 {
		return resp.ContentLength
	}
	if n, err := strconv.ParseInt(resp.Header.Get("Content-Length"), 10, 64); err == nil {
		return n
	}
	return -1
}

func mediaType(ct string) string {
	if mt, _, err := mime.ParseMediaType(ct); err == nil {
		return mt
	}
	return strings.TrimSpace(ct)
}

// getManifest GETs a manifest by tag or digest and checks its digest: the
// sha256 of the body must match want (if given) and the Docker-Content-Digest
// header (if sent).
func (c *Client) getManifest(ctx context.Context, hc *http.Client, op, ref, want string, write bool) ([]byte, Descriptor, error) {
	hdr := http.Header{"Accept": {acceptManifests}}
	resp, err := c.send(ctx, hc, http.MethodGet, c.url("/manifests/"+ref), hdr, nil)
	if err != nil {
		return nil, Descriptor{}, fmt.Errorf("%s %s: %w", op, c.repo.Name(), err)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, Descriptor{}, c.responseError(op, write, resp)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxManifestSize+1))
	discard(resp)
	if err != nil {
		return nil, Descriptor{}, fmt.Errorf("%s %s: reading manifest: %w", op, c.repo.Name(), err)
	}
	if len(body) > maxManifestSize {
		return nil, Descriptor{}, fmt.Errorf("%s %s: manifest larger than %d bytes", op, c.repo.Name(), maxManifestSize)
	}
	sum := sha256.Sum256(body)
	d := Descriptor{Digest: "sha256:" + hex.EncodeToString(sum[:]), MediaType: mediaType(resp.Header.Get("Content-Type")), Size: int64(len(body))}
	for _, expect := range []string{want, resp.Header.Get("Docker-Content-Digest")} {
		if expect == "" || expect == d.Digest {
			continue
		}
		if strings.HasPrefix(expect, "sha256:") {
			return nil, Descriptor{}, fmt.Errorf("%s %s: manifest digest is %s, not %s", op, c.repo.Name(), d.Digest, expect)
		}
		d.Digest = expect // another algorithm: trust the registry
	}
	if d.MediaType == "" || d.MediaType == "application/json" || d.MediaType == "text/plain" {
		var m struct {
			MediaType string `json:"mediaType"`
		}
		if json.Unmarshal(body, &m) == nil {
			d.MediaType = m.MediaType
		}
	}
	return body, d, nil
}

// rawDescriptor is a descriptor as manifests and indexes spell it.
type rawDescriptor struct {
	MediaType    string            `json:"mediaType"`
	Digest       string            `json:"digest"`
	Size         int64             `json:"size"`
	ArtifactType string            `json:"artifactType,omitempty"`
	Annotations  map[string]string `json:"annotations,omitempty"`
	Platform     *struct {
		OS           string `json:"os"`
		Architecture string `json:"architecture"`
		Variant      string `json:"variant,omitempty"`
	} `json:"platform,omitempty"`
}

func (r rawDescriptor) descriptor() Descriptor {
	d := Descriptor{Digest: r.Digest, MediaType: r.MediaType, Size: r.Size, ArtifactType: r.ArtifactType, Annotations: r.Annotations}
	if p := r.Platform; p != nil {
		d.Platform = strings.TrimSuffix(p.OS+"/"+p.Architecture+"/"+p.Variant, "/")
	}
	return d
}

// rawManifest covers image manifests and indexes.
type rawManifest struct {
	MediaType    string            `json:"mediaType"`
	ArtifactType string            `json:"artifactType"`
	Config       *rawDescriptor    `json:"config"`
	Manifests    []rawDescriptor   `json:"manifests"`
	Subject      *rawDescriptor    `json:"subject"`
	Annotations  map[string]string `json:"annotations"`
}

func isIndexType(mt string) bool { return mt == MediaTypeOCIIndex || mt == MediaTypeDockerList }

// Inspect GETs the manifest d points to (by digest) and, for an image, its
// config; for an index it inspects every image child to find the newest.
func (c *Client) Inspect(ctx context.Context, d Descriptor) (Image, error) {
	if err := checkDigest(d.Digest); err != nil {
		return Image{}, err
	}
	hc, err := c.client(ctx, false)
	if err != nil {
		return Image{}, err
	}
	return c.inspect(ctx, hc, d, 0)
}

// Manifest is a manifest as the registry sent it, and its descriptor.
type Manifest struct {
	Descriptor
	Body []byte
}

// Fetch resolves a tag and reads its manifest with one GET that accepts
// every manifest media type: what Resolve and Inspect's manifest request do
// in two. The digest is the sha256 of the body, checked against the
// Docker-Content-Digest header. A missing tag gives an error wrapping
// ErrNotFound.
func (c *Client) Fetch(ctx context.Context, tag string) (Manifest, error) {
	if err := checkTag(tag); err != nil {
		return Manifest{}, err
	}
	hc, err := c.client(ctx, false)
	if err != nil {
		return Manifest{}, err
	}
	body, d, err := c.getManifest(ctx, hc, "fetch tag "+tag+" of", tag, "", false)
	return Manifest{Descriptor: d, Body: body}, err
}

// InspectManifest is Inspect of a manifest Fetch read: it does not read the
// manifest again.
func (c *Client) InspectManifest(ctx context.Context, m Manifest) (Image, error) {
	if err := checkDigest(m.Digest); err != nil {
		return Image{}, err
	}
	hc, err := c.client(ctx, false)
	if err != nil {
		return Image{}, err
	}
	return c.inspectBody(ctx, hc, m.Descriptor, m, 0)
}

func (c *Client) inspect(ctx context.Context, hc *http.Client, d Descriptor, depth int) (Image, error) {
	op := "inspect " + d.Digest + " in"
	body, got, err := c.getManifest(ctx, hc, op, d.Digest, d.Digest, false)
	if err != nil {
		return Image{}, err
	}
	return c.inspectBody(ctx, hc, d, Manifest{Descriptor: got, Body: body}, depth)
}

// inspectBody reads what Image needs from a manifest's body, and the config
// or the children it names.
func (c *Client) inspectBody(ctx context.Context, hc *http.Client, d Descriptor, got Manifest, depth int) (Image, error) {
	op := "inspect " + d.Digest + " in"
	body := got.Body
	var m rawManifest
	if err := json.Unmarshal(body, &m); err != nil {
		return Image{}, fmt.Errorf("%s %s: decoding manifest: %w", op, c.repo.Name(), err)
	}
	img := Image{Descriptor: d, Annotations: m.Annotations}
	img.Size = got.Size
	if img.MediaType == "" {
		img.MediaType = got.MediaType
	}
	if img.MediaType == "" {
		img.MediaType = m.MediaType
	}
	if img.ArtifactType == "" {
		img.ArtifactType = m.ArtifactType
	}
	if m.Subject != nil {
		s := m.Subject.descriptor()
		img.Subject = &s
	}
	img.IsIndex = isIndexType(img.MediaType) || (m.Config == nil && m.Manifests != nil)
	var err error
	if img.IsIndex {
		err = c.inspectChildren(ctx, hc, &img, m.Manifests, depth)
	} else if m.Config != nil && (m.Config.MediaType == MediaTypeOCIConfig || m.Config.MediaType == MediaTypeDockerConfig) {
		err = c.readConfig(ctx, hc, &img, m.Config.Digest)
	}
	if err != nil {
		return Image{}, err
	}
	img.Revision = firstNonEmpty(img.Annotations[KeyRevision], img.Labels[KeyRevision],
		img.Annotations[KeyWerfCommit], img.Labels[KeyWerfCommit], img.Revision)
	return img, nil
}

// readConfig GETs an image config and takes "created" and the labels.
func (c *Client) readConfig(ctx context.Context, hc *http.Client, img *Image, digest string) error {
	op := "read config " + digest + " in"
	if err := checkDigest(digest); err != nil {
		return fmt.Errorf("%s %s: %w", op, c.repo.Name(), err)
	}
	resp, err := c.send(ctx, hc, http.MethodGet, c.url("/blobs/"+digest), nil, nil)
	if err != nil {
		return fmt.Errorf("%s %s: %w", op, c.repo.Name(), err)
	}
	if resp.StatusCode != http.StatusOK {
		return c.responseError(op, false, resp)
	}
	var cfg struct {
		Created string `json:"created"`
		Config  struct {
			Labels map[string]string `json:"Labels"`
		} `json:"config"`
	}
	err = json.NewDecoder(io.LimitReader(resp.Body, maxConfigSize)).Decode(&cfg)
	discard(resp)
	if err != nil {
		return fmt.Errorf("%s %s: decoding image config: %w", op, c.repo.Name(), err)
	}
	if t, err := time.Parse(time.RFC3339Nano, cfg.Created); err == nil {
		img.Created = t
	}
	img.Labels = cfg.Config.Labels
	return nil
}

// maxIndexDepth bounds the recursion into nested indexes.
const maxIndexDepth = 2

// inspectChildren lists an index's children and inspects the image
// children (at most 4 at a time) for the newest created time. Children that
// are gone are skipped; attestation manifests and artifacts are not read.
func (c *Client) inspectChildren(ctx context.Context, hc *http.Client, img *Image, children []rawDescriptor, depth int) error {
	img.Children = make([]Descriptor, len(children))
	for i, ch := range children {
		img.Children[i] = ch.descriptor()
	}
	type result struct {
		img  Image
		err  error
		done bool
	}
	results := make([]result, len(children))
	sem := make(chan struct{}, 4)
	var wg sync.WaitGroup
	for i, ch := range img.Children {
		if !worthInspecting(ch, depth) || checkDigest(ch.Digest) != nil {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			ci, err := c.inspect(ctx, hc, Descriptor{Digest: ch.Digest, MediaType: ch.MediaType}, depth+1)
			results[i] = result{img: ci, err: err, done: true}
		}()
	}
	wg.Wait()
	var newest *Image
	for i := range results {
		r := &results[i]
		switch {
		case !r.done:
		case errors.Is(r.err, ErrNotFound):
			img.MissingChildren = true
		case r.err != nil:
			return r.err
		case newest == nil || r.img.Created.After(newest.Created):
			newest = &r.img
		}
	}
	if newest != nil {
		img.Created, img.Labels, img.Revision = newest.Created, newest.Labels, newest.Revision
	}
	return nil
}

func worthInspecting(d Descriptor, depth int) bool {
	if d.Annotations["vnd.docker.reference.type"] == "attestation-manifest" {
		return false
	}
	switch d.ArtifactType { // go-containerregistry sets it to the config media type
	case "", MediaTypeOCIConfig, MediaTypeDockerConfig:
	default:
		return false
	}
	switch d.MediaType {
	case MediaTypeOCIManifest, MediaTypeDockerManifest:
		return true
	case MediaTypeOCIIndex, MediaTypeDockerList:
		return depth+1 < maxIndexDepth
	}
	return false
}

func firstNonEmpty(ss ...string) string {
	for _, s := range ss {
		if s != "" {
			return s
		}
	}
	return ""
}
