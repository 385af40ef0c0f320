package quay

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/docker-werf/docker-werf/internal/apiclient"
	"github.com/docker-werf/docker-werf/internal/registrytypes"
)

// quayTag is a tag (history entry) as the Quay API lists it; fields cleanup
// does not use are left out.
type quayTag struct {
	Name           string `json:"name"`
	StartTS        *int64 `json:"start_ts"`
	EndTS          *int64 `json:"end_ts"`
	ManifestDigest string `json:"manifest_digest"`
	IsManifestList bool   `json:"is_manifest_list"`
	Immutable      bool   `json:"immutable"`
}

type tagPage struct {
	Tags          []quayTag `json:"tags"`
	Page          int       `json:"page"`
	HasAdditional bool      `json:"has_additional"`
}

// live reports whether the entry is a tag now: it has not ended (end_ts is
// unset, or a scheduled expiration still in the future).
func (t quayTag) live(now time.Time) bool {
	return t.EndTS == nil || time.Unix(*t.EndTS, 0).After(now)
}

func (t quayTag) start() time.Time {
	if t.StartTS == nil || *t.StartTS <= 0 {
		return time.Time{}
	}
	return time.Unix(*t.StartTS, 0).UTC()
}

// Tags lists every live tag of the repository, following has_additional to
// the end. Expired tags are left out even if the server lists them.
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

// list reads every page of the active-tag listing and remembers it.
func (c *Client) list(ctx context.Context, op string) ([]quayTag, error) {
	var tags []quayTag
	seen := map[string]bool{}
	now := c.Now()
	err := apiclient.Pages("1", func(_ int, cursor string) (string, error) {
		page, _ := strconv.Atoi(cursor)
		q := url.Values{"onlyActiveTags": {"true"}, "limit": {strconv.Itoa(c.PageSize)}, "page": {cursor}}
		var p tagPage
		if err := c.getJSON(ctx, op, c.repoPath("/tag/")+"?"+q.Encode(), false, &p); err != nil {
			var e *Error
			if errors.As(err, &e) && e.StatusCode == http.StatusNotFound && page == 1 {
				e.Hint = "the repository does not exist, or the token cannot see it"
			}
			return "", err
		}
		if p.Page != 0 && p.Page != page {
			return "", fmt.Errorf("%s %s on Quay: asked for page %d, got page %d", op, c.name, page, p.Page)
		}
		for _, t := range p.Tags {
			if t.Name == "" || seen[t.Name] || !t.live(now) {
				continue // pages shift when tags change during the listing
			}
			seen[t.Name] = true
			tags = append(tags, t)
		}
		if !p.HasAdditional {
			return "", nil
		}
		if len(p.Tags) == 0 {
			return "", fmt.Errorf("%s %s on Quay: page %d is empty but says more follow", op, c.name, page)
		}
		return strconv.Itoa(page + 1), nil
	})
	if errors.Is(err, apiclient.ErrEndlessPagination) {
		return nil, fmt.Errorf("%s %s on Quay: %w", op, c.name, err)
	}
	if err != nil {
		return nil, err
	}
	c.listing.Remember(c.Now(), tags)
	return tags, nil
}

// getTag fetches the live entry of one tag:
// GET .../tag/?onlyActiveTags=true&specificTag=<tag>.
func (c *Client) getTag(ctx context.Context, op, tag string, write bool) (quayTag, error) {
	q := url.Values{"onlyActiveTags": {"true"}, "specificTag": {tag}}
	var p tagPage
	if err := c.getJSON(ctx, op, c.repoPath("/tag/")+"?"+q.Encode(), write, &p); err != nil {
		return quayTag{}, err
	}
	now := c.Now()
	for _, t := range p.Tags {
		if t.Name == tag && t.live(now) {
			c.listing.RememberOne(t)
			return t, nil
		}
	}
	c.listing.Forget(tag)
	return quayTag{}, fmt.Errorf("%s %s on Quay: %w: no live tag %s (deleted or expired)", op, c.name, registrytypes.ErrNotFound, tag)
}

// Resolve returns the descriptor a tag points to. Right after a listing it
// answers from the listing; otherwise it asks the API. A missing or expired
// tag gives an error wrapping registrytypes.ErrNotFound.
func (c *Client) Resolve(ctx context.Context, tag string) (registrytypes.Descriptor, error) {
	if err := apiclient.CheckTag(tag); err != nil {
		return registrytypes.Descriptor{}, err
	}
	op := "resolving tag " + tag + " of"
	t, ok := c.listing.Take(tag, c.Now(), c.MaxAge, func(t quayTag) bool { return t.live(c.Now()) })
	if !ok {
		var err error
		if t, err = c.getTag(ctx, op, tag, false); err != nil {
			return registrytypes.Descriptor{}, err
		}
	}
	if err := apiclient.CheckDigest(t.ManifestDigest, true); err != nil {
		return registrytypes.Descriptor{}, fmt.Errorf("%s %s on Quay: %w", op, c.name, err)
	}
	return registrytypes.Descriptor{Digest: t.ManifestDigest}, nil
}

// Inspect describes the image d points to. Created is the earliest start_ts
// among the image's live tags as Quay last listed them (when the image was
// pushed, or first tagged). With a registry API client (WithRegistryAPI) the
// rest comes from the manifest and image config; without one, IsIndex comes
// from is_manifest_list, and Children and Revision stay empty.
func (c *Client) Inspect(ctx context.Context, d registrytypes.Descriptor) (registrytypes.Image, error) {
	if err := apiclient.CheckDigest(d.Digest, true); err != nil {
		return registrytypes.Image{}, err
	}
	isList, created := c.digestInfo(d.Digest)
	var img registrytypes.Image
	if c.api != nil {
		var err error
		if img, err = c.api.Inspect(ctx, d); err != nil {
			return registrytypes.Image{}, fmt.Errorf("inspecting %s in %s on Quay: %w", d.Digest, c.name, err)
		}
	} else {
		img.Descriptor = d
		img.IsIndex = isList
	}
	if img.Digest == "" {
		img.Descriptor = d
	}
	if !created.IsZero() {
		img.Created = created
	}
	return img, nil
}

func (c *Client) digestInfo(dig string) (bool, time.Time) {
	return apiclient.DigestInfo(&c.listing, dig, func(d digestInfo) bool { return d.isList })
}

// Untag removes exactly one tag, and only if it still points to expect: it
// fetches the tag (a tag pointing elsewhere gives an error wrapping
// registrytypes.ErrTagMoved, a missing or expired one registrytypes.ErrNotFound,
// an immutable one ErrTagImmutable, without deleting), then DELETEs it
// through the Quay tag API. The manifest and its other tags stay. Quay has
// no conditional delete: a push to the tag between the two requests is lost
// (and restorable from the time machine).
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
	if t.ManifestDigest != expect {
		return fmt.Errorf("%s %s on Quay: %w: it points to %s now, not %s", op, c.name, registrytypes.ErrTagMoved, t.ManifestDigest, expect)
	}
	if t.Immutable {
		return fmt.Errorf("%s %s on Quay: %w; skipped (make it mutable in Quay to delete it)", op, c.name, ErrTagImmutable)
	}
	return c.deleteTag(ctx, op, tag)
}

// deleteTag sends DELETE /api/v1/repository/{ns}/{repo}/tag/{tag}.
func (c *Client) deleteTag(ctx context.Context, op, tag string) error {
	resp, err := c.do(ctx, op, http.MethodDelete, c.repoPath("/tag/"+url.PathEscape(tag)))
	if err != nil {
		return err
	}
	switch resp.StatusCode {
	case http.StatusNoContent, http.StatusOK, http.StatusAccepted:
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

// DeleteManifest removes every live tag that points to digest, as a digest
// delete does: it lists the tags afresh and deletes each one on the digest
// through the Quay tag API (the manifest itself goes with Quay's garbage
// collection once the time machine lets go of it). If any of those tags is
// immutable nothing is deleted and the error wraps ErrTagImmutable. No tag
// on the digest gives an error wrapping registrytypes.ErrNotFound. A tag
// pushed onto the digest during the run goes too: use it only when every
// tag on the digest is to go.
func (c *Client) DeleteManifest(ctx context.Context, digest string) error {
	if err := apiclient.CheckDigest(digest, true); err != nil {
		return err
	}
	op := "delete manifest " + digest + " from"
	tags, err := c.list(ctx, op)
	if err != nil {
		return err
	}
	var on, immutable []string
	for _, t := range tags {
		if t.ManifestDigest != digest {
			continue
		}
		on = append(on, t.Name)
		if t.Immutable {
			immutable = append(immutable, t.Name)
		}
	}
	if len(on) == 0 {
		return fmt.Errorf("%s %s on Quay: %w: no live tag points to it", op, c.name, registrytypes.ErrNotFound)
	}
	if len(immutable) > 0 {
		return fmt.Errorf("%s %s on Quay: %w: %s; nothing deleted", op, c.name, ErrTagImmutable, strings.Join(immutable, ", "))
	}
	var errs []error
	for _, tag := range on {
		err := c.deleteTag(ctx, op+" (tag "+tag+")", tag)
		if err != nil && !errors.Is(err, registrytypes.ErrNotFound) {
			errs = append(errs, err)
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("%s %s on Quay: %d of its %d tags (%s) were not deleted: %w", op, c.name, len(errs),
			len(on), strings.Join(on, ", "), errors.Join(errs...))
	}
	return nil
}
