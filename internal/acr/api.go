package acr

import (
	"cmp"
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
	"github.com/docker-werf/docker-werf/internal/registryapi"
)

// maxBody bounds API answers.
const maxBody = 64 << 20

// TagAttributes is one tag as ACR's metadata API describes it.
type TagAttributes struct {
	Name           string
	Digest         string
	CreatedTime    time.Time
	LastUpdateTime time.Time // acr purge counts age from this
	Signed         bool
	DeleteEnabled  bool // false: ACR refuses to delete it
	WriteEnabled   bool // false: locked, ACR refuses to delete or overwrite it
	ReadEnabled    bool
	ListEnabled    bool
}

// Locked reports whether ACR refuses to delete the tag, and why.
func (t TagAttributes) Locked() (string, bool) {
	return lockReason(t.DeleteEnabled, t.WriteEnabled)
}

func lockReason(deleteEnabled, writeEnabled bool) (string, bool) {
	switch {
	case !deleteEnabled && !writeEnabled:
		return "deleteEnabled=false, writeEnabled=false", true
	case !deleteEnabled:
		return "deleteEnabled=false", true
	case !writeEnabled:
		return "writeEnabled=false", true
	}
	return "", false
}

// changeable is ACR's changeableAttributes; a missing attribute is enabled.
type changeable struct {
	DeleteEnabled *bool `json:"deleteEnabled"`
	WriteEnabled  *bool `json:"writeEnabled"`
	ReadEnabled   *bool `json:"readEnabled"`
	ListEnabled   *bool `json:"listEnabled"`
}

func enabled(b *bool) bool { return b == nil || *b }

// tagJSON is ACR's TagAttributesBase.
type tagJSON struct {
	Name                 string     `json:"name"`
	Digest               string     `json:"digest"`
	CreatedTime          string     `json:"createdTime"`
	LastUpdateTime       string     `json:"lastUpdateTime"`
	Signed               bool       `json:"signed"`
	ChangeableAttributes changeable `json:"changeableAttributes"`
}

func (t tagJSON) attributes() TagAttributes {
	a := t.ChangeableAttributes
	return TagAttributes{Name: t.Name, Digest: t.Digest, CreatedTime: parseTime(t.CreatedTime),
		LastUpdateTime: parseTime(t.LastUpdateTime), Signed: t.Signed, DeleteEnabled: enabled(a.DeleteEnabled),
		WriteEnabled: enabled(a.WriteEnabled), ReadEnabled: enabled(a.ReadEnabled), ListEnabled: enabled(a.ListEnabled)}
}

// manifestJSON is ACR's ManifestAttributesBase.
type manifestJSON struct {
	Digest               string     `json:"digest"`
	CreatedTime          string     `json:"createdTime"`
	LastUpdateTime       string     `json:"lastUpdateTime"`
	MediaType            string     `json:"mediaType"`
	Tags                 []string   `json:"tags"`
	ChangeableAttributes changeable `json:"changeableAttributes"`
}

// parseTime reads ACR's times (RFC 3339 with up to 7 fractional digits).
func parseTime(s string) time.Time {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}
	}
	return t
}

// acrURL returns the URL of a metadata API path below the repository; the
// repository name is one path segment, its slashes encoded, as the Azure
// SDKs and acr-cli send it.
func (c *Client) acrURL(suffix string, q url.Values) string {
	return apiclient.WithQuery(c.Base.Scheme+"://"+c.Base.Host+"/acr/v1/"+url.PathEscape(c.path)+suffix, q)
}

// v2URL returns the URL of a registry API path below the repository.
func (c *Client) v2URL(suffix string) string {
	return c.Base.Scheme + "://" + c.Base.Host + "/v2/" + c.path + suffix
}

// send runs one authenticated request. The caller closes the response.
func (c *Client) send(ctx context.Context, method, u string) (*http.Response, error) {
	return apiclient.Send(ctx, c.hc, method, u, "Accept", "application/json", "User-Agent", c.UA)
}

// transportError wraps an error of the HTTP client; a refusal of the token
// service names what it was doing itself and is returned as it is.
func (c *Client) transportError(op string, err error) error {
	var refused *refusedError
	if errors.As(err, &refused) {
		return refused
	}
	return fmt.Errorf("%s %s on ACR: %w", op, c.name, err)
}

// getJSON GETs u into v; a non-200 answer is an *APIError.
func (c *Client) getJSON(ctx context.Context, op, u string, v any) (*http.Response, error) {
	return apiclient.GetJSON(ctx, apiclient.JSONAPI{Vendor: "ACR", Name: c.name, Limit: maxBody, Send: c.send,
		SendError: c.transportError, AnswerError: c.answerError}, op, u, false, v)
}

// answerError is apiError as an error.
func (c *Client) answerError(op string, write bool, resp *http.Response) error {
	return c.apiError(op, write, resp)
}

// TagDetails lists every tag of the repository with its attributes, newest
// update first, following the pagination to the end: each next request
// carries the last= of the rel="next" Link (acr-cli's way). A repository ACR
// does not know has no tags. It refreshes what Protected returns.
func (c *Client) TagDetails(ctx context.Context) ([]TagAttributes, error) {
	const op = "listing tags of"
	q := url.Values{"n": {strconv.Itoa(c.PageSize)}, "orderby": {"timedesc"}}
	out := []TagAttributes{}
	locked := map[string]string{}
	listed := map[string]string{}
	err := apiclient.Pages(c.acrURL("/_tags", q), func(page int, u string) (string, error) {
		var list struct {
			Tags []tagJSON `json:"tags"`
		}
		resp, err := c.getJSON(ctx, op, u, &list)
		var ae *APIError
		if page == 0 && errors.As(err, &ae) && ae.StatusCode == http.StatusNotFound && ae.HasCode("NAME_UNKNOWN") {
			return "", nil // no tags
		}
		if err != nil {
			return "", err
		}
		for _, t := range list.Tags {
			a := t.attributes()
			if _, dup := listed[a.Name]; dup || apiclient.CheckDigest(a.Digest, false) != nil {
				continue // pages shift when tags are pushed during the listing
			}
			listed[a.Name] = a.Digest
			out = append(out, a)
			if why, ok := a.Locked(); ok {
				locked[a.Name] = why
			}
		}
		last, err := nextLast(resp.Header.Values("Link"))
		if err != nil {
			return "", fmt.Errorf("%s %s on ACR: %w", op, c.name, err)
		}
		if last == "" || len(list.Tags) == 0 {
			return "", nil
		}
		q.Set("last", last)
		return c.acrURL("/_tags", q), nil
	})
	if errors.Is(err, apiclient.ErrEndlessPagination) {
		return nil, fmt.Errorf("%s %s on ACR: %w", op, c.name, err)
	}
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	c.locked, c.listed, c.listedAt = locked, listed, c.Now()
	c.mu.Unlock()
	return out, nil
}

// nextLast returns the last= parameter of the rel="next" Link, "" if there
// is no such link.
func nextLast(links []string) (string, error) {
	for _, v := range links {
		for _, link := range strings.Split(v, ",") {
			target, params, ok := strings.Cut(link, ";")
			if !ok || !apiclient.RelNext(params) {
				continue
			}
			target = strings.TrimSpace(target)
			if !strings.HasPrefix(target, "<") || !strings.HasSuffix(target, ">") {
				return "", fmt.Errorf("malformed Link header %q", v)
			}
			u, err := url.Parse(target[1 : len(target)-1])
			if err != nil {
				return "", fmt.Errorf("malformed Link header %q: %w", v, err)
			}
			last := u.Query().Get("last")
			if last == "" {
				return "", fmt.Errorf("the next-page Link %q has no last= parameter", target)
			}
			return last, nil
		}
	}
	return "", nil
}

// Tags lists every tag of the repository, sorted.
func (c *Client) Tags(ctx context.Context) ([]string, error) {
	details, err := c.TagDetails(ctx)
	if err != nil {
		return nil, err
	}
	tags := make([]string, 0, len(details))
	for _, t := range details {
		tags = append(tags, t.Name)
	}
	slices.Sort(tags)
	return slices.Compact(tags), nil
}

// tagAttributes reads one tag (GET /acr/v1/{repo}/_tags/{tag}) and notes
// whether it is locked.
func (c *Client) tagAttributes(ctx context.Context, op, tag string) (TagAttributes, error) {
	var out struct {
		Tag tagJSON `json:"tag"`
	}
	if _, err := c.getJSON(ctx, op, c.acrURL("/_tags/"+url.PathEscape(tag), nil), &out); err != nil {
		return TagAttributes{}, err
	}
	a := out.Tag.attributes()
	if apiclient.CheckDigest(a.Digest, false) != nil {
		return TagAttributes{}, fmt.Errorf("%s %s on ACR: ACR answered tag %s without a valid digest (%q)", op, c.name, tag, a.Digest)
	}
	c.mu.Lock()
	if c.locked == nil {
		c.locked = map[string]string{}
	}
	if why, ok := a.Locked(); ok {
		c.locked[tag] = why
	} else {
		delete(c.locked, tag)
	}
	c.mu.Unlock()
	return a, nil
}

// Resolve returns the digest a tag points to: right after a listing from it
// (once per tag), otherwise from the metadata API. A missing tag gives an
// error wrapping registryapi.ErrNotFound.
func (c *Client) Resolve(ctx context.Context, tag string) (registryapi.Descriptor, error) {
	if err := apiclient.CheckTag(tag); err != nil {
		return registryapi.Descriptor{}, err
	}
	c.mu.Lock()
	digest, ok := c.listed[tag]
	delete(c.listed, tag)
	fresh := ok && c.Now().Sub(c.listedAt) <= c.MaxAge
	c.mu.Unlock()
	if fresh {
		return registryapi.Descriptor{Digest: digest}, nil
	}
	a, err := c.tagAttributes(ctx, "resolving tag "+tag+" of", tag)
	if err != nil {
		return registryapi.Descriptor{}, err
	}
	return registryapi.Descriptor{Digest: a.Digest}, nil
}

// manifestAttributes reads one manifest's attributes
// (GET /acr/v1/{repo}/_manifests/{digest}).
func (c *Client) manifestAttributes(ctx context.Context, op, digest string) (manifestJSON, error) {
	var out struct {
		Manifest manifestJSON `json:"manifest"`
	}
	_, err := c.getJSON(ctx, op, c.acrURL("/_manifests/"+url.PathEscape(digest), nil), &out)
	return out.Manifest, err
}

// Inspect reads the manifest d points to (and its image config, or an
// index's image children) through the registry API, as registryapi does, and
// takes Created from ACR's createdTime of the manifest.
func (c *Client) Inspect(ctx context.Context, d registryapi.Descriptor) (registryapi.Image, error) {
	if err := apiclient.CheckDigest(d.Digest, false); err != nil {
		return registryapi.Image{}, err
	}
	op := "inspecting " + d.Digest + " in"
	m, err := c.manifestAttributes(ctx, op, d.Digest)
	if err != nil {
		return registryapi.Image{}, err
	}
	img, err := c.v2.Inspect(ctx, d)
	if err != nil {
		var refused *refusedError
		switch {
		case errors.As(err, &refused):
			return registryapi.Image{}, refused
		case errors.Is(err, registryapi.ErrUnauthorized) && c.ownV2:
			return registryapi.Image{}, fmt.Errorf("%s %s on ACR: %w; %s: %s", op, c.name, err, c.auth.who, rightsHint(false))
		}
		return registryapi.Image{}, fmt.Errorf("%s %s on ACR: %w", op, c.name, err)
	}
	if t := parseTime(m.CreatedTime); !t.IsZero() {
		img.Created = t
	}
	return img, nil
}

// Untag removes exactly one tag, leaving the manifest and its other tags
// (DELETE /acr/v1/{repo}/_tags/{tag}), after reading the tag: one that is no
// longer on expect gives registryapi.ErrTagMoved, a missing one
// registryapi.ErrNotFound, a locked one a *LockedError, and none of them is
// deleted. ACR has no conditional tag delete, so a push to the tag between
// the read and the delete (milliseconds) is not detected.
func (c *Client) Untag(ctx context.Context, tag, expect string) error {
	if err := apiclient.CheckTag(tag); err != nil {
		return err
	}
	if err := apiclient.CheckDigest(expect, false); err != nil {
		return err
	}
	op := "untagging " + tag + " of"
	a, err := c.tagAttributes(ctx, op, tag)
	if err != nil {
		return err
	}
	if a.Digest != expect {
		return fmt.Errorf("%s %s on ACR: %w: it is on %s now, not %s", op, c.name, registryapi.ErrTagMoved, a.Digest, expect)
	}
	if why, ok := a.Locked(); ok {
		return &LockedError{Repository: c.name, Ref: tag, Detail: why}
	}
	resp, err := c.send(ctx, http.MethodDelete, c.acrURL("/_tags/"+url.PathEscape(tag), nil))
	if err != nil {
		return c.transportError(op, err)
	}
	switch resp.StatusCode {
	case http.StatusAccepted, http.StatusOK, http.StatusNoContent:
		apiclient.Discard(resp)
		return nil
	case http.StatusMethodNotAllowed:
		_, msg := parseErrors(resp)
		apiclient.Discard(resp)
		c.setLocked(tag, "ACR answered 405")
		return &LockedError{Repository: c.name, Ref: tag, Detail: cmp.Or(msg, "ACR answered 405 Method Not Allowed")}
	}
	return c.apiError(op, true, resp)
}

func (c *Client) setLocked(tag, why string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.locked == nil {
		c.locked = map[string]string{}
	}
	c.locked[tag] = why
}

// DeleteManifest deletes a manifest with every tag on it
// (DELETE /v2/{repo}/manifests/{digest}), unless the manifest or one of its
// tags is locked (a *LockedError). A missing manifest gives an error
// wrapping registryapi.ErrNotFound.
func (c *Client) DeleteManifest(ctx context.Context, digest string) error {
	if err := apiclient.CheckDigest(digest, false); err != nil {
		return err
	}
	op := "deleting " + digest + " from"
	m, err := c.manifestAttributes(ctx, op, digest)
	if err != nil {
		return err
	}
	if why, ok := lockReason(enabled(m.ChangeableAttributes.DeleteEnabled), enabled(m.ChangeableAttributes.WriteEnabled)); ok {
		return &LockedError{Repository: c.name, Ref: digest, Detail: "the manifest has " + why}
	}
	c.mu.Lock()
	for _, t := range m.Tags {
		if why, ok := c.locked[t]; ok {
			c.mu.Unlock()
			return &LockedError{Repository: c.name, Ref: digest, Detail: "its tag " + t + " has " + why}
		}
	}
	c.mu.Unlock()
	resp, err := c.send(ctx, http.MethodDelete, c.v2URL("/manifests/"+digest))
	if err != nil {
		return c.transportError(op, err)
	}
	switch resp.StatusCode {
	case http.StatusAccepted, http.StatusOK, http.StatusNoContent:
		apiclient.Discard(resp)
		return nil
	case http.StatusMethodNotAllowed:
		_, msg := parseErrors(resp)
		apiclient.Discard(resp)
		return &LockedError{Repository: c.name, Ref: digest, Detail: cmp.Or(msg, "ACR answered 405 Method Not Allowed")}
	}
	return c.apiError(op, true, resp)
}
