package dockerhub

import (
	"context"
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

// hubTag is a tag as the Hub API describes it (fields cleanup does not use
// are left out).
type hubTag struct {
	Name          string     `json:"name"`
	Digest        string     `json:"digest"`
	MediaType     string     `json:"media_type"`
	LastUpdated   string     `json:"last_updated"`
	TagLastPushed string     `json:"tag_last_pushed"`
	TagStatus     string     `json:"tag_status"`
	Images        []hubImage `json:"images"`
}

type hubImage struct {
	Architecture string  `json:"architecture"`
	OS           string  `json:"os"`
	Variant      *string `json:"variant"`
	Digest       string  `json:"digest"`
	LastPushed   string  `json:"last_pushed"`
}

type tagPage struct {
	Count   int      `json:"count"`
	Next    *string  `json:"next"`
	Results []hubTag `json:"results"`
}

// updated is when the tag was last pushed or moved.
func (t hubTag) updated() time.Time {
	for _, s := range []string{t.LastUpdated, t.TagLastPushed} {
		if ts, err := time.Parse(time.RFC3339Nano, s); err == nil {
			return ts
		}
	}
	return time.Time{}
}

// digest is the manifest the tag points to: Hub's top-level digest, or,
// for a tag whose media type says it is a single manifest, its one image's
// digest. An index with one platform also lists one image, whose digest is
// the child's, not the tag's: that (and a tag of unknown media type) gives
// "", and the registry is asked.
func (t hubTag) digest() string {
	if t.Digest != "" {
		return t.Digest
	}
	if len(t.Images) == 1 && singleManifest[t.MediaType] {
		return t.Images[0].Digest
	}
	return ""
}

// singleManifest are the media types of image manifests (not indexes).
var singleManifest = map[string]bool{
	"application/vnd.oci.image.manifest.v1+json":                true,
	"application/vnd.docker.distribution.manifest.v2+json":      true,
	"application/vnd.docker.distribution.manifest.v1+prettyjws": true,
	"application/vnd.docker.distribution.manifest.v1+json":      true,
}

// Tags lists every tag of the repository, following the Hub API's "next"
// links to the end (same scheme and host only). Inactive tags (not pushed or
// pulled for a month) are tags like any other.
func (c *Client) Tags(ctx context.Context) ([]string, error) {
	tags, err := c.list(ctx, "listing tags of")
	if err != nil {
		return nil, err
	}
	names := make([]string, len(tags))
	for i, t := range tags {
		names[i] = t.Name
	}
	return names, nil
}

// list reads every page of the tag listing and remembers it.
func (c *Client) list(ctx context.Context, op string) ([]hubTag, error) {
	q := url.Values{"page": {"1"}, "page_size": {strconv.Itoa(c.PageSize)}}
	next := c.endpoint(c.namespacesPath("/tags") + "?" + q.Encode())
	var tags []hubTag
	seenTag := map[string]bool{}
	err := apiclient.Pages(next, func(page int, cur string) (string, error) {
		var p tagPage
		if err := c.getJSON(ctx, op, cur, false, &p); err != nil {
			var e *Error
			if errors.As(err, &e) && e.StatusCode == http.StatusNotFound {
				if page == 0 {
					e.Hint = "the repository does not exist, or the credentials cannot see it"
				} else {
					e.Hint = "a page of the tag list vanished while it was read (tags were deleted meanwhile); run again"
				}
			}
			return "", err
		}
		for _, t := range p.Results {
			if t.Name == "" || seenTag[t.Name] {
				continue // pages shift when tags are pushed during the listing
			}
			seenTag[t.Name] = true
			tags = append(tags, t)
		}
		if p.Next == nil || *p.Next == "" {
			return "", nil
		}
		u, err := c.nextURL(cur, *p.Next)
		if err != nil {
			return "", fmt.Errorf("%s %s on Docker Hub: %w", op, c.name, err)
		}
		return u, nil
	})
	if errors.Is(err, apiclient.ErrEndlessPagination) {
		return nil, fmt.Errorf("%s %s on Docker Hub: %w", op, c.name, err)
	}
	if err != nil {
		return nil, err
	}
	c.listing.Remember(c.Now(), tags)
	return tags, nil
}

// nextURL checks a "next" link: it must stay on the API's scheme and host,
// for the token goes with it.
func (c *Client) nextURL(cur, next string) (string, error) {
	base, err := url.Parse(cur)
	if err != nil {
		return "", err
	}
	u, err := base.Parse(next)
	if err != nil {
		return "", fmt.Errorf("invalid next page link: %w", err)
	}
	if u.Scheme != c.Base.Scheme || u.Host != c.Base.Host || u.User != nil {
		return "", fmt.Errorf("refusing to follow the next page link to %s://%s: not the API host %s", u.Scheme, u.Host, c.Base.Host)
	}
	u.Fragment = ""
	return u.String(), nil
}

// getTag fetches one tag: GET /v2/namespaces/{ns}/repositories/{repo}/tags/{tag}.
func (c *Client) getTag(ctx context.Context, op, tag string, write bool) (hubTag, error) {
	var t hubTag
	err := c.getJSON(ctx, op, c.endpoint(c.namespacesPath("/tags/"+url.PathEscape(tag))), write, &t)
	if err != nil {
		if errors.Is(err, registrytypes.ErrNotFound) {
			c.listing.Forget(tag)
		}
		return hubTag{}, err
	}
	if t.Name != tag {
		return hubTag{}, fmt.Errorf("%s %s on Docker Hub: asked for tag %s, the Hub API described %q", op, c.name, tag, t.Name)
	}
	c.listing.RememberOne(t)
	return t, nil
}

// Resolve returns the descriptor a tag points to. Right after a listing it
// answers from the listing; otherwise it asks the Hub API. A missing tag
// gives an error wrapping registrytypes.ErrNotFound.
func (c *Client) Resolve(ctx context.Context, tag string) (registrytypes.Descriptor, error) {
	if err := apiclient.CheckTag(tag); err != nil {
		return registrytypes.Descriptor{}, err
	}
	op := "resolving tag " + tag + " of"
	t, ok := c.listing.Take(tag, c.Now(), c.MaxAge, nil)
	if !ok {
		var err error
		if t, err = c.getTag(ctx, op, tag, false); err != nil {
			return registrytypes.Descriptor{}, err
		}
	}
	return c.descriptor(ctx, op, t)
}

func (c *Client) descriptor(ctx context.Context, op string, t hubTag) (registrytypes.Descriptor, error) {
	d := registrytypes.Descriptor{Digest: t.digest(), MediaType: t.MediaType}
	if d.Digest == "" {
		if c.api == nil {
			return registrytypes.Descriptor{}, fmt.Errorf("%s %s on Docker Hub: the Hub API gives no digest for the tag "+
				"(and no registry API client is set to ask the registry)", op, c.name)
		}
		rd, err := c.api.Resolve(ctx, t.Name)
		if err != nil {
			return registrytypes.Descriptor{}, fmt.Errorf("%s %s on Docker Hub: the Hub API gives no digest; asking the registry: %w", op, c.name, err)
		}
		d = rd
		t.Digest = rd.Digest
		c.listing.RememberOne(t)
	}
	if err := apiclient.CheckDigest(d.Digest, true); err != nil {
		return registrytypes.Descriptor{}, fmt.Errorf("%s %s on Docker Hub: %w", op, c.name, err)
	}
	return d, nil
}

// Inspect describes the image d points to. Created is the earliest
// last_updated among the image's tags as the Hub API last listed them (the
// time the image was pushed, or first tagged). With a registry API client
// (WithRegistryAPI) the rest comes from the manifest and image config;
// without one, IsIndex and Children come from the Hub API's media type and
// per-platform images, and Revision stays empty.
func (c *Client) Inspect(ctx context.Context, d registrytypes.Descriptor) (registrytypes.Image, error) {
	if err := apiclient.CheckDigest(d.Digest, true); err != nil {
		return registrytypes.Image{}, err
	}
	info, created := c.digestInfo(d.Digest)
	var img registrytypes.Image
	if c.api != nil {
		var err error
		if img, err = c.api.Inspect(ctx, d); err != nil {
			return registrytypes.Image{}, fmt.Errorf("inspecting %s in %s on Docker Hub: %w", d.Digest, c.name, err)
		}
	} else {
		img.Descriptor = d
		if img.MediaType == "" {
			img.MediaType = info.mediaType
		}
		if isIndexType(img.MediaType) || len(info.images) > 1 {
			img.IsIndex = true
			for _, im := range info.images {
				if im.Digest == "" {
					continue
				}
				p := im.OS + "/" + im.Architecture
				if im.Variant != nil && *im.Variant != "" {
					p += "/" + *im.Variant
				}
				img.Children = append(img.Children, registrytypes.Descriptor{Digest: im.Digest, Platform: p})
			}
		}
	}
	if img.Digest == "" {
		img.Descriptor = d
	}
	if !created.IsZero() {
		img.Created = created
	}
	return img, nil
}

func isIndexType(mt string) bool {
	return mt == registrytypes.MediaTypeOCIIndex || mt == registrytypes.MediaTypeDockerList
}

// digestInfo returns what the Hub API said of a digest and the earliest
// time among its tags.
func (c *Client) digestInfo(dig string) (digestInfo, time.Time) {
	return apiclient.DigestInfo(&c.listing, dig, func(d digestInfo) digestInfo {
		return digestInfo{mediaType: d.mediaType, images: slices.Clone(d.images)}
	})
}

// Untag removes exactly one tag, and only if it still points to expect: it
// fetches the tag (a tag pointing elsewhere gives an error wrapping
// registrytypes.ErrTagMoved, a missing one registrytypes.ErrNotFound), then
// DELETEs it through the Hub tag API. The manifest and its other tags stay.
// The Hub API has no conditional delete: a push to the tag between the two
// requests is lost. An immutable tag gives ErrTagImmutable.
func (c *Client) Untag(ctx context.Context, tag, expect string) error {
	if err := apiclient.CheckTag(tag); err != nil {
		return err
	}
	if err := apiclient.CheckDigest(expect, true); err != nil {
		return err
	}
	op := "untag " + tag + " of"
	t, err := c.getTag(ctx, op, tag, false)
	if err != nil {
		return err
	}
	d, err := c.descriptor(ctx, op, t)
	if err != nil {
		return err
	}
	if d.Digest != expect {
		return fmt.Errorf("%s %s on Docker Hub: %w: it points to %s now, not %s", op, c.name, registrytypes.ErrTagMoved, d.Digest, expect)
	}
	return c.deleteTag(ctx, op, tag)
}

// deleteTag sends DELETE /v2/repositories/{ns}/{repo}/tags/{tag}/.
func (c *Client) deleteTag(ctx context.Context, op, tag string) error {
	u := c.endpoint("/v2/repositories/" + url.PathEscape(c.namespace) + "/" + url.PathEscape(c.repo) + "/tags/" +
		url.PathEscape(tag) + "/")
	resp, err := c.do(ctx, op, http.MethodDelete, u)
	if err != nil {
		return err
	}
	switch resp.StatusCode {
	case http.StatusOK, http.StatusAccepted, http.StatusNoContent:
		apiclient.Discard(resp)
		c.listing.Forget(tag)
		return nil
	}
	e := c.responseError(op, true, resp)
	if e.StatusCode == http.StatusNotFound {
		c.listing.Forget(tag)
	}
	return e
}

// DeleteManifest removes every tag that points to digest, as a digest
// delete does on other registries (Docker Hub's registry API refuses to
// delete tagged manifests): it lists the tags afresh and deletes each one on
// the digest through the Hub tag API. No tag on the digest gives an error
// wrapping registrytypes.ErrNotFound. A tag pushed onto the digest during the
// run goes too: use it only when every tag on the digest is to go.
func (c *Client) DeleteManifest(ctx context.Context, digest string) error {
	if err := apiclient.CheckDigest(digest, true); err != nil {
		return err
	}
	op := "delete manifest " + digest + " from"
	tags, err := c.list(ctx, op)
	if err != nil {
		return err
	}
	var on []string
	for _, t := range tags {
		if t.digest() == digest {
			on = append(on, t.Name)
		}
	}
	if len(on) == 0 {
		return fmt.Errorf("%s %s on Docker Hub: %w: no tag points to it", op, c.name, registrytypes.ErrNotFound)
	}
	var errs []error
	for _, tag := range on {
		err := c.deleteTag(ctx, op+" (tag "+tag+")", tag)
		if err != nil && !errors.Is(err, registrytypes.ErrNotFound) {
			errs = append(errs, err)
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("%s %s on Docker Hub: %d of its %d tags (%s) were not deleted: %w", op, c.name, len(errs),
			len(on), strings.Join(on, ", "), errors.Join(errs...))
	}
	return nil
}
