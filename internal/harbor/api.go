package harbor

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/docker-werf/docker-werf/internal/apiclient"
	"github.com/docker-werf/docker-werf/internal/registrytypes"
)

// maxBody bounds API answers: a page of 100 artifacts with their tags.
const maxBody = 64 << 20

// Annotation and label keys read for Image.Revision, in order of preference
// (as registryapi reads them).
const (
	keyRevision   = registrytypes.KeyRevision
	keyWerfCommit = registrytypes.KeyWerfCommit
)

// Artifact is one artifact (manifest or index) of the repository as Harbor
// lists it.
type Artifact struct {
	Digest    string
	MediaType string    // manifest media type
	Size      int64     // of the whole artifact: manifest, config and layers
	PushTime  time.Time // last push of the artifact; zero if unknown
	PullTime  time.Time // last pull; zero if never pulled
	Tags      []Tag
}

// Tag is one tag of an artifact.
type Tag struct {
	Name      string
	PushTime  time.Time
	PullTime  time.Time
	Immutable bool // a tag immutability rule matches it
	Signed    bool // signed with Notary (Harbor refuses to delete it)
}

// artifactJSON is Harbor's Artifact model (the fields this package reads).
type artifactJSON struct {
	Digest            string            `json:"digest"`
	Size              int64             `json:"size"`
	MediaType         string            `json:"media_type"` // the config media type
	ManifestMediaType string            `json:"manifest_media_type"`
	ArtifactType      string            `json:"artifact_type"`
	PushTime          string            `json:"push_time"`
	PullTime          string            `json:"pull_time"`
	Annotations       map[string]string `json:"annotations"`
	ExtraAttrs        json.RawMessage   `json:"extra_attrs"`
	References        []struct {
		ChildDigest string            `json:"child_digest"`
		Annotations map[string]string `json:"annotations"`
		Platform    *struct {
			OS           string `json:"os"`
			Architecture string `json:"architecture"`
			Variant      string `json:"variant"`
		} `json:"platform"`
	} `json:"references"`
	Tags []struct {
		Name      string `json:"name"`
		PushTime  string `json:"push_time"`
		PullTime  string `json:"pull_time"`
		Immutable bool   `json:"immutable"`
		Signed    bool   `json:"signed"`
	} `json:"tags"`
	Accessories []struct {
		Digest        string `json:"digest"`
		SubjectDigest string `json:"subject_artifact_digest"`
	} `json:"accessories"`
}

func (a *artifactJSON) artifact() Artifact {
	out := Artifact{Digest: a.Digest, MediaType: a.ManifestMediaType, Size: a.Size,
		PushTime: parseTime(a.PushTime), PullTime: parseTime(a.PullTime)}
	for _, t := range a.Tags {
		out.Tags = append(out.Tags, Tag{Name: t.Name, PushTime: parseTime(t.PushTime), PullTime: parseTime(t.PullTime),
			Immutable: t.Immutable, Signed: t.Signed})
	}
	return out
}

// parseTime reads Harbor's date-times; Go's zero time (never pulled) and
// anything unreadable are zero.
func parseTime(s string) time.Time {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil || t.Year() <= 1 {
		return time.Time{}
	}
	return t
}

// extra reads what Harbor's image processor keeps of the image config in
// extra_attrs: "created" and "config" (with "Labels"). Other artifact types
// keep other things there; nothing in it is required.
func (a *artifactJSON) extra() (created time.Time, labels map[string]string) {
	var m map[string]json.RawMessage
	if json.Unmarshal(a.ExtraAttrs, &m) != nil {
		return time.Time{}, nil
	}
	var s string
	if json.Unmarshal(m["created"], &s) == nil {
		created = parseTime(s)
	}
	var cfg struct {
		Labels map[string]string `json:"Labels"`
	}
	if json.Unmarshal(m["config"], &cfg) == nil {
		labels = cfg.Labels
	}
	return created, labels
}

// repoURL returns the URL of an API path below the repository, with the
// repository name URL-encoded twice as Harbor wants it.
func (c *Client) repoURL(suffix string, q url.Values) string {
	u := c.Base.Scheme + "://" + c.Base.Host + c.Base.EscapedPath() + "/projects/" + url.PathEscape(c.project) +
		"/repositories/" + url.PathEscape(url.PathEscape(c.repository)) + suffix
	return apiclient.WithQuery(u, q)
}

// send runs one request with Basic authentication. The caller closes the
// response.
func (c *Client) send(ctx context.Context, method, u string) (*http.Response, error) {
	return apiclient.Send(ctx, c.hc, method, u, "Authorization", apiclient.BasicAuth(c.creds.Username, c.creds.Password),
		"Accept", "application/json", "User-Agent", c.UA)
}

// transportError wraps an error of the HTTP client.
func (c *Client) transportError(op string, err error) error {
	return fmt.Errorf("%s %s on Harbor: %w", op, c.name, err)
}

// getJSON GETs u into v; a non-200 answer is an *APIError.
func (c *Client) getJSON(ctx context.Context, op, u string, v any) (*http.Response, error) {
	return apiclient.GetJSON(ctx, apiclient.JSONAPI{Vendor: "Harbor", Name: c.name, Limit: maxBody, Send: c.send,
		AnswerError: c.answerError}, op, u, false, v)
}

// answerError is apiError as an error.
func (c *Client) answerError(op string, write bool, resp *http.Response) error {
	return c.apiError(op, write, resp)
}

// Artifacts lists every artifact of the repository with its tags, following
// the pagination to the end: page after page while X-Total-Count (or, without
// it, a rel="next" Link) says there are more and the page is not empty. An
// index's untagged children are not listed (Harbor leaves them out). It
// refreshes what Protected returns.
func (c *Client) Artifacts(ctx context.Context) ([]Artifact, error) {
	const op = "listing artifacts of"
	var (
		out         []Artifact
		protected   = map[string]string{}
		accessoryOf = map[string]string{}
		listed      = map[string]*artifactJSON{}
		artifacts   = map[string]*artifactJSON{}
	)
	err := apiclient.Pages("1", func(_ int, cursor string) (string, error) {
		page, _ := strconv.Atoi(cursor)
		q := url.Values{
			"page":                  {cursor},
			"page_size":             {strconv.Itoa(c.PageSize)},
			"with_tag":              {"true"},
			"with_immutable_status": {"true"},
			"with_accessory":        {"true"},
		}
		var batch []artifactJSON
		resp, err := c.getJSON(ctx, op, c.repoURL("/artifacts", q), &batch)
		if err != nil {
			return "", err
		}
		for i := range batch {
			a := &batch[i]
			if apiclient.CheckDigest(a.Digest, false) != nil || artifacts[a.Digest] != nil {
				continue // pages shift when artifacts are pushed during the listing
			}
			artifacts[a.Digest] = a
			out = append(out, a.artifact())
			for _, t := range a.Tags {
				listed[t.Name] = a
				switch {
				case t.Immutable:
					protected[t.Name] = ReasonImmutable
				case t.Signed:
					protected[t.Name] = ReasonSigned
				}
			}
			for _, acc := range a.Accessories {
				if acc.Digest != "" {
					accessoryOf[acc.Digest] = cmp.Or(acc.SubjectDigest, a.Digest)
				}
			}
		}
		if len(batch) == 0 || !morePages(resp.Header, page, c.PageSize) {
			return "", nil
		}
		return strconv.Itoa(page + 1), nil
	})
	if errors.Is(err, apiclient.ErrEndlessPagination) {
		return nil, fmt.Errorf("%s %s on Harbor: %w", op, c.name, err)
	}
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	c.protected, c.accessoryOf, c.listed, c.artifacts, c.listedAt = protected, accessoryOf, listed, artifacts, c.Now()
	c.mu.Unlock()
	return out, nil
}

// morePages says whether a listing continues after page: X-Total-Count if
// Harbor sent it, else a rel="next" Link. The next URL is built here rather
// than taken from the Link, whose path Harbor writes as it saw it (without
// the prefix of a reverse proxy) and whose query it unescapes.
func morePages(h http.Header, page, pageSize int) bool {
	if total, err := strconv.ParseInt(strings.TrimSpace(h.Get("X-Total-Count")), 10, 64); err == nil {
		return int64(page)*int64(pageSize) < total
	}
	for _, v := range h.Values("Link") {
		for _, link := range strings.Split(v, ",") {
			if _, params, ok := strings.Cut(link, ";"); ok && apiclient.RelNext(params) {
				return true
			}
		}
	}
	return false
}

// Tags lists every tag of the repository, sorted.
func (c *Client) Tags(ctx context.Context) ([]string, error) {
	arts, err := c.Artifacts(ctx)
	if err != nil {
		return nil, err
	}
	tags := []string{}
	for _, a := range arts {
		for _, t := range a.Tags {
			tags = append(tags, t.Name)
		}
	}
	slices.Sort(tags)
	return slices.Compact(tags), nil
}

// getArtifact reads one artifact by tag or digest.
func (c *Client) getArtifact(ctx context.Context, op, ref string, withTags bool) (*artifactJSON, error) {
	q := url.Values{"with_tag": {strconv.FormatBool(withTags)}}
	if withTags {
		q.Set("with_immutable_status", "true")
	}
	var a artifactJSON
	if _, err := c.getJSON(ctx, op, c.repoURL("/artifacts/"+url.PathEscape(ref), q), &a); err != nil {
		return nil, err
	}
	if apiclient.CheckDigest(a.Digest, false) != nil {
		return nil, fmt.Errorf("%s %s on Harbor: Harbor answered an artifact without a valid digest (%q)", op, c.name, a.Digest)
	}
	return &a, nil
}

// Resolve returns the descriptor of the artifact a tag is on: right after a
// listing from it (once per tag), otherwise with GET .../artifacts/{tag}. A
// missing tag gives an error wrapping registrytypes.ErrNotFound.
func (c *Client) Resolve(ctx context.Context, tag string) (registrytypes.Descriptor, error) {
	if err := apiclient.CheckTag(tag); err != nil {
		return registrytypes.Descriptor{}, err
	}
	if a, ok := c.takeListed(tag); ok {
		return a.descriptor(), nil
	}
	return c.resolve(ctx, tag)
}

// takeListed returns the artifact the last listing had for tag if the
// listing is recent enough, once: a second Resolve of the tag asks Harbor.
func (c *Client) takeListed(tag string) (*artifactJSON, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	a, ok := c.listed[tag]
	delete(c.listed, tag)
	return a, ok && c.Now().Sub(c.listedAt) <= c.MaxAge
}

// descriptor is the artifact as a Descriptor. Harbor's size is that of the
// whole artifact (manifest, config and layers), not the manifest's, so Size
// stays unknown.
func (a *artifactJSON) descriptor() registrytypes.Descriptor {
	return registrytypes.Descriptor{Digest: a.Digest, MediaType: a.ManifestMediaType}
}

// resolve reads the artifact of tag from Harbor.
func (c *Client) resolve(ctx context.Context, tag string) (registrytypes.Descriptor, error) {
	a, err := c.getArtifact(ctx, "resolving tag "+tag+" of", tag, true)
	if err != nil {
		return registrytypes.Descriptor{}, err
	}
	c.mu.Lock()
	if c.protected == nil {
		c.protected = map[string]string{}
	}
	for _, t := range a.Tags {
		switch {
		case t.Immutable:
			c.protected[t.Name] = ReasonImmutable
		case t.Signed:
			c.protected[t.Name] = ReasonSigned
		default:
			delete(c.protected, t.Name)
		}
	}
	c.mu.Unlock()
	return a.descriptor(), nil
}

// maxChildLookups bounds the children of an index read for its revision.
const maxChildLookups = 8

// Inspect reads the artifact d points to: from the last listing if it had
// the artifact, otherwise with GET .../artifacts/{digest}. Created is Harbor's push_time (what its retention rules count from),
// falling back to the image config's "created"; the labels are the image
// config's, which Harbor keeps in extra_attrs; an index's children come from
// its references, and its revision, unless the index has its own, from its
// newest child. An artifact Harbor lists as an accessory of another gets
// that one as Subject.
func (c *Client) Inspect(ctx context.Context, d registrytypes.Descriptor) (registrytypes.Image, error) {
	if err := apiclient.CheckDigest(d.Digest, false); err != nil {
		return registrytypes.Image{}, err
	}
	op := "inspecting " + d.Digest + " in"
	c.mu.Lock()
	a := c.artifacts[d.Digest]
	c.mu.Unlock()
	if a == nil {
		var err error
		if a, err = c.getArtifact(ctx, op, d.Digest, false); err != nil {
			return registrytypes.Image{}, err
		}
	}
	if a.Digest != d.Digest {
		return registrytypes.Image{}, fmt.Errorf("%s %s on Harbor: Harbor answered artifact %s", op, c.name, a.Digest)
	}
	img := registrytypes.Image{Descriptor: d, Annotations: a.Annotations}
	img.MediaType = cmp.Or(a.ManifestMediaType, d.MediaType)
	img.ArtifactType = cmp.Or(d.ArtifactType, a.ArtifactType)
	created, labels := a.extra()
	img.Created = parseTime(a.PushTime)
	if img.Created.IsZero() {
		img.Created = created
	}
	img.Labels = labels
	img.IsIndex = img.MediaType == registrytypes.MediaTypeOCIIndex || img.MediaType == registrytypes.MediaTypeDockerList ||
		len(a.References) > 0
	for _, r := range a.References {
		ch := registrytypes.Descriptor{Digest: r.ChildDigest, Annotations: r.Annotations}
		if p := r.Platform; p != nil {
			ch.Platform = strings.TrimSuffix(p.OS+"/"+p.Architecture+"/"+p.Variant, "/")
		}
		img.Children = append(img.Children, ch)
	}
	img.Revision = revision(img.Annotations, img.Labels)
	if img.IsIndex && img.Revision == "" {
		if err := c.childRevision(ctx, &img); err != nil {
			return registrytypes.Image{}, err
		}
	}
	c.mu.Lock()
	subject := c.accessoryOf[d.Digest]
	c.mu.Unlock()
	if subject != "" {
		img.Subject = &registrytypes.Descriptor{Digest: subject}
	}
	return img, nil
}

// childRevision takes the labels and revision of an index's newest image
// child (by the config's created time), skipping attestations and children
// that are gone.
func (c *Client) childRevision(ctx context.Context, img *registrytypes.Image) error {
	var newest time.Time
	looked := 0
	for _, ch := range img.Children {
		if looked == maxChildLookups {
			break
		}
		if ch.Annotations["vnd.docker.reference.type"] == "attestation-manifest" ||
			strings.HasPrefix(ch.Platform, "unknown/") || apiclient.CheckDigest(ch.Digest, false) != nil {
			continue
		}
		looked++
		a, err := c.getArtifact(ctx, "inspecting "+ch.Digest+" (a child of "+img.Digest+") in", ch.Digest, false)
		if errors.Is(err, registrytypes.ErrNotFound) {
			continue
		}
		if err != nil {
			return err
		}
		created, labels := a.extra()
		if rev := revision(a.Annotations, labels); rev != "" && (img.Revision == "" || created.After(newest)) {
			img.Revision, img.Labels, newest = rev, labels, created
		}
	}
	return nil
}

func revision(annotations, labels map[string]string) string {
	return cmp.Or(annotations[keyRevision], labels[keyRevision], annotations[keyWerfCommit], labels[keyWerfCommit])
}

// Untag removes exactly one tag, leaving the artifact and its other tags:
// DELETE .../artifacts/{expect}/tags/{tag}. Harbor answers 404 when the tag
// is not on that artifact, so a tag that moved is never touched; it is then
// looked up to tell registrytypes.ErrTagMoved from registrytypes.ErrNotFound. A
// tag Harbor protects (immutable, signed) gives a *ProtectedError; one the
// last listing found protected is skipped without a request.
func (c *Client) Untag(ctx context.Context, tag, expect string) error {
	if err := apiclient.CheckTag(tag); err != nil {
		return err
	}
	if err := apiclient.CheckDigest(expect, false); err != nil {
		return err
	}
	c.mu.Lock()
	reason := c.protected[tag]
	c.mu.Unlock()
	if reason != "" {
		return &ProtectedError{Repository: c.name, Ref: tag, Reason: reason, Detail: "Harbor lists the tag as " + reason}
	}
	op := "untagging " + tag + " of"
	resp, err := c.send(ctx, http.MethodDelete, c.repoURL("/artifacts/"+url.PathEscape(expect)+"/tags/"+url.PathEscape(tag), nil))
	if err != nil {
		return c.transportError(op, err)
	}
	switch resp.StatusCode {
	case http.StatusOK, http.StatusAccepted, http.StatusNoContent:
		apiclient.Discard(resp)
		return nil
	}
	e := c.apiError(op, true, resp)
	if r := protection(e); r != "" {
		c.setProtected(tag, r)
		return &ProtectedError{Repository: c.name, Ref: tag, Reason: r, Detail: e.Message}
	}
	if e.StatusCode != http.StatusNotFound {
		return e
	}
	// Not on expect: gone, or moved to another artifact.
	d, err := c.resolve(ctx, tag)
	switch {
	case errors.Is(err, registrytypes.ErrNotFound):
		return fmt.Errorf("%s %s on Harbor: %w", op, c.name, registrytypes.ErrNotFound)
	case err != nil:
		return err
	case d.Digest != expect:
		return fmt.Errorf("%s %s on Harbor: %w: it is on %s now, not %s", op, c.name, registrytypes.ErrTagMoved, d.Digest, expect)
	}
	// Back on expect after Harbor did not find it there: someone pushed it
	// again meanwhile. Leave it.
	return fmt.Errorf("%s %s on Harbor: %w: it was pushed again while being deleted", op, c.name, registrytypes.ErrTagMoved)
}

func (c *Client) setProtected(tag, reason string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.protected == nil {
		c.protected = map[string]string{}
	}
	c.protected[tag] = reason
}

// DeleteManifest deletes the artifact with every tag on it
// (DELETE .../artifacts/{digest}). A missing artifact gives an error
// wrapping registrytypes.ErrNotFound; an artifact with an immutable tag a
// *ProtectedError.
func (c *Client) DeleteManifest(ctx context.Context, digest string) error {
	if err := apiclient.CheckDigest(digest, false); err != nil {
		return err
	}
	op := "deleting " + digest + " from"
	resp, err := c.send(ctx, http.MethodDelete, c.repoURL("/artifacts/"+url.PathEscape(digest), nil))
	if err != nil {
		return c.transportError(op, err)
	}
	switch resp.StatusCode {
	case http.StatusOK, http.StatusAccepted, http.StatusNoContent:
		apiclient.Discard(resp)
		return nil
	}
	e := c.apiError(op, true, resp)
	if r := protection(e); r != "" {
		return &ProtectedError{Repository: c.name, Ref: digest, Reason: r, Detail: e.Message}
	}
	return e
}
