package github

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

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/docker-werf/docker-werf/internal/apiclient"
	"github.com/docker-werf/docker-werf/internal/registrytypes"
)

// version is a package version as the API lists it.
type version struct {
	ID        int64     `json:"id"`
	Name      string    `json:"name"` // the manifest digest
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
	Metadata  struct {
		PackageType string `json:"package_type"`
		Container   struct {
			Tags []string `json:"tags"`
		} `json:"container"`
	} `json:"metadata"`
}

func (v *version) tags() []string { return v.Metadata.Container.Tags }

// created is when the manifest was first pushed.
func (v *version) created() time.Time {
	if !v.CreatedAt.IsZero() {
		return v.CreatedAt
	}
	return v.UpdatedAt
}

// snapshot is one complete listing of the package's versions.
type snapshot struct {
	byTag    map[string]*version
	byDigest map[string]*version
	tags     []string // sorted
}

func newSnapshot(versions []*version) *snapshot {
	s := &snapshot{byTag: map[string]*version{}, byDigest: map[string]*version{}}
	for _, v := range versions {
		if v.Name == "" {
			continue
		}
		if old, ok := s.byDigest[v.Name]; !ok || v.UpdatedAt.After(old.UpdatedAt) {
			s.byDigest[v.Name] = v
		}
		for _, t := range v.tags() {
			// A tag is on one version; should GitHub ever list it twice
			// (a push racing the listing), the newer version has it.
			if old, ok := s.byTag[t]; !ok || v.UpdatedAt.After(old.UpdatedAt) {
				s.byTag[t] = v
			}
		}
	}
	for t := range s.byTag {
		s.tags = append(s.tags, t)
	}
	slices.Sort(s.tags)
	return s
}

// packagePath returns the escaped API path of the package, finding out the
// owner's type on first use.
func (c *Client) packagePath(ctx context.Context) (string, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.prefix != "" {
		return c.prefix, nil
	}
	t := c.ownerType
	if t == OwnerAuto {
		var err error
		if t, err = c.detectOwner(ctx); err != nil {
			return "", err
		}
	}
	pkg := "/packages/container/" + url.PathEscape(c.pkg)
	switch t {
	case OwnerOrganization:
		c.prefix = "/orgs/" + url.PathEscape(c.owner) + pkg
	case OwnerAuthenticatedUser:
		c.prefix = "/user" + pkg
	default:
		c.prefix = "/users/" + url.PathEscape(c.owner) + pkg
	}
	return c.prefix, nil
}

// detectOwner asks GitHub whether the owner is an organisation, the token's
// user or another user. /user/... must only be used for the token's own
// user: it names the token owner's package of that name, whoever the
// repository's owner is.
func (c *Client) detectOwner(ctx context.Context) (OwnerType, error) {
	op := "find the owner of"
	var owner struct {
		Login string `json:"login"`
		Type  string `json:"type"`
	}
	_, err := c.getJSON(ctx, op, c.endpoint("/users/"+url.PathEscape(c.owner), nil), false, &owner)
	var e *Error
	if errors.As(err, &e) && e.StatusCode == http.StatusNotFound {
		e.Hint = "GitHub has no user or organisation named " + strconv.Quote(c.owner)
	}
	if err != nil {
		return "", err
	}
	if strings.EqualFold(owner.Type, "Organization") {
		return OwnerOrganization, nil
	}
	var me struct {
		Login string `json:"login"`
	}
	_, err = c.getJSON(ctx, "find the token's user for", c.endpoint("/user", nil), false, &me)
	switch {
	case err == nil && strings.EqualFold(me.Login, c.owner):
		return OwnerAuthenticatedUser, nil
	case err == nil, errors.As(err, &e) && e.StatusCode == http.StatusForbidden && e.Kind != ErrRateLimited:
		// Another user's package, or a token that is no user's (the
		// GITHUB_TOKEN of GitHub Actions cannot read /user).
		return OwnerUser, nil
	}
	return "", err
}

// list reads every version of the package, following the Link headers, and
// makes the result the current snapshot.
func (c *Client) list(ctx context.Context) (*snapshot, error) {
	const op = "list versions of"
	c.listMu.Lock()
	defer c.listMu.Unlock()
	prefix, err := c.packagePath(ctx)
	if err != nil {
		return nil, err
	}
	var all []*version
	err = apiclient.Pages(c.endpoint(prefix+"/versions", url.Values{"per_page": {strconv.Itoa(c.PageSize)}}),
		func(_ int, u string) (string, error) {
			var versions []*version
			resp, err := c.getJSON(ctx, op, u, false, &versions)
			var e *Error
			if errors.As(err, &e) && e.StatusCode == http.StatusNotFound {
				e.Hint = "the package " + strconv.Quote(c.pkg) + " of " + c.owner + " does not exist, or the token " +
					"cannot see it (private packages need the read:packages scope; a GITHUB_TOKEN sees only packages " +
					"its repository has access to)"
			}
			if err != nil {
				return "", err
			}
			all = append(all, versions...)
			next, err := c.nextPage(resp, len(versions))
			if err != nil {
				return "", fmt.Errorf("%s %s on GitHub: %w", op, c.name, err)
			}
			return next, nil
		})
	if errors.Is(err, apiclient.ErrEndlessPagination) {
		return nil, fmt.Errorf("%s %s on GitHub: %w", op, c.name, err)
	}
	if err != nil {
		return nil, err
	}
	s := newSnapshot(all)
	c.snapMu.Lock()
	defer c.snapMu.Unlock()
	c.snap = s
	for d, v := range s.byDigest {
		if _, ok := c.baseline[d]; !ok {
			c.baseline[d] = slices.Clone(v.tags())
		}
	}
	return s, nil
}

// nextPage returns the URL of the page after resp, or "" after the last:
// the Link rel="next" where GitHub sends a Link header; where a full page
// comes without one (a proxy dropped it, an Enterprise Server leaves it
// out), page=N+1, until a short page.
func (c *Client) nextPage(resp *http.Response, n int) (string, error) {
	if _, ok := resp.Header["Link"]; ok || n < c.PageSize {
		return c.nextLink(resp)
	}
	u := *resp.Request.URL
	q := u.Query()
	page, err := strconv.Atoi(q.Get("page"))
	if err != nil || page < 1 {
		page = 1
	}
	q.Set("page", strconv.Itoa(page+1))
	u.RawQuery = q.Encode()
	return u.String(), nil
}

// current returns the last snapshot, listing the package if there is none.
func (c *Client) current(ctx context.Context) (*snapshot, error) {
	c.snapMu.Lock()
	s := c.snap
	c.snapMu.Unlock()
	if s != nil {
		return s, nil
	}
	return c.list(ctx)
}

// Tags lists every tag of the package (all versions, all pages), sorted.
// Untagged versions (index children, attestations) have none. The listing
// becomes the one Resolve and Inspect answer from.
func (c *Client) Tags(ctx context.Context) ([]string, error) {
	s, err := c.list(ctx)
	if err != nil {
		return nil, err
	}
	tags := slices.Clone(s.tags)
	if tags == nil {
		tags = []string{}
	}
	return tags, nil
}

// Resolve returns the digest of the version carrying tag, from the last
// listing (Tags lists again). A tag not on any version gives an error
// wrapping registrytypes.ErrNotFound.
func (c *Client) Resolve(ctx context.Context, tag string) (registrytypes.Descriptor, error) {
	s, err := c.current(ctx)
	if err != nil {
		return registrytypes.Descriptor{}, err
	}
	v := s.byTag[tag]
	if v == nil {
		return registrytypes.Descriptor{}, fmt.Errorf("resolve tag %s of %s on GitHub: %w", tag, c.name, registrytypes.ErrNotFound)
	}
	return registrytypes.Descriptor{Digest: v.Name}, nil
}

// Inspect returns what is known of the manifest d points to: from the
// Docker Registry API client (WithRegistryAPI) if there is one, with
// Created set to the version's created_at.
func (c *Client) Inspect(ctx context.Context, d registrytypes.Descriptor) (registrytypes.Image, error) {
	img := registrytypes.Image{Descriptor: d}
	if c.regAPI != nil {
		var err error
		if img, err = c.regAPI.Inspect(ctx, d); err != nil {
			return registrytypes.Image{}, fmt.Errorf("inspect %s in %s on GitHub: %w", d.Digest, c.name, err)
		}
	}
	s, err := c.current(ctx)
	if err != nil {
		return registrytypes.Image{}, err
	}
	if v := s.byDigest[d.Digest]; v != nil && !v.created().IsZero() {
		img.Created = v.created()
	}
	return img, nil
}

// Untag cannot be done on GitHub Packages: it returns an error wrapping
// ErrCannotUntag and sends nothing.
func (c *Client) Untag(_ context.Context, tag, _ string) error {
	return fmt.Errorf("untag %s of %s on GitHub: %w", tag, c.name, ErrCannotUntag)
}

// DeleteManifest deletes the package version whose name is digest, with
// every tag on it. Right before, it reads the version again and refuses,
// with an error wrapping registrytypes.ErrTagMoved, if the version carries a
// tag it did not carry when this Client first listed it (a push during the
// run). A version that is gone gives registrytypes.ErrNotFound.
func (c *Client) DeleteManifest(ctx context.Context, digest string) error {
	op := "delete version " + digest + " of"
	if _, err := v1.NewHash(digest); err != nil {
		return fmt.Errorf("%s %s on GitHub: invalid digest: %w", op, c.name, err)
	}
	s, err := c.current(ctx)
	if err != nil {
		return err
	}
	v := s.byDigest[digest]
	if v == nil { // pushed since the listing, or gone
		if s, err = c.list(ctx); err != nil {
			return err
		}
		if v = s.byDigest[digest]; v == nil {
			return fmt.Errorf("%s %s on GitHub: no such version: %w", op, c.name, registrytypes.ErrNotFound)
		}
	}
	prefix, err := c.packagePath(ctx)
	if err != nil {
		return err
	}
	select {
	case c.deletes <- struct{}{}:
		defer func() { <-c.deletes }()
	case <-ctx.Done():
		return fmt.Errorf("%s %s on GitHub: %w", op, c.name, ctx.Err())
	}
	versionPath := prefix + "/versions/" + strconv.FormatInt(v.ID, 10)
	var cur version
	if _, err := c.getJSON(ctx, op, c.endpoint(versionPath, nil), true, &cur); err != nil {
		return err
	}
	if cur.Name != digest {
		return fmt.Errorf("%s %s on GitHub: version %d is %s, not %s: %w", op, c.name, v.ID, cur.Name, digest, registrytypes.ErrNotFound)
	}
	c.snapMu.Lock()
	known := c.baseline[digest]
	c.snapMu.Unlock()
	var added []string
	for _, t := range cur.tags() {
		if !slices.Contains(known, t) {
			added = append(added, t)
		}
	}
	if len(added) > 0 {
		return fmt.Errorf("%s %s on GitHub: %w: the version got the tag(s) %s after the inventory, so it is kept",
			op, c.name, registrytypes.ErrTagMoved, strings.Join(added, ", "))
	}
	resp, err := c.do(ctx, http.MethodDelete, c.endpoint(versionPath, nil))
	if err != nil {
		return fmt.Errorf("%s %s on GitHub: %w", op, c.name, err)
	}
	switch resp.StatusCode {
	case http.StatusNoContent, http.StatusOK, http.StatusAccepted:
		apiclient.Discard(resp)
	default:
		return c.responseError(op, true, resp)
	}
	c.forget(digest)
	return nil
}

// forget drops a deleted version from the current snapshot.
func (c *Client) forget(digest string) {
	c.snapMu.Lock()
	defer c.snapMu.Unlock()
	old := c.snap
	if old == nil || old.byDigest[digest] == nil {
		return
	}
	var rest []*version
	for d, v := range old.byDigest {
		if d != digest {
			rest = append(rest, v)
		}
	}
	c.snap = newSnapshot(rest)
}
