package gitlab

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

// repository is a registry repository as GET /projects/:id/registry/repositories
// lists it.
type repository struct {
	ID        int64   `json:"id"`
	Name      string  `json:"name"`
	Path      string  `json:"path"`
	ProjectID int64   `json:"project_id"`
	Location  string  `json:"location"`
	Status    *string `json:"status"`
}

// tagDetails is GET .../tags/:tag_name.
type tagDetails struct {
	Name      string     `json:"name"`
	Digest    string     `json:"digest"`
	Revision  string     `json:"revision"`
	CreatedAt *time.Time `json:"created_at"`
	TotalSize int64      `json:"total_size"`
}

// locate finds the project and the registry repository, once.
func (c *Client) locate(ctx context.Context) (projectID, repoID int64, err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.repoID != 0 {
		return c.projectID, c.repoID, nil
	}
	var candidates []string // project ids or paths
	switch {
	case c.project != "":
		candidates = []string{c.project}
	default:
		if c.hintID != "" {
			candidates = append(candidates, c.hintID)
		}
		segs := strings.Split(c.path, "/")
		for n := len(segs); n >= 2; n-- {
			candidates = append(candidates, strings.Join(segs[:n], "/"))
		}
	}
	var tried []string
	for _, cand := range candidates {
		repo, found, err := c.findRepository(ctx, cand)
		if errors.Is(err, registrytypes.ErrNotFound) {
			tried = append(tried, cand)
			continue
		}
		if err != nil {
			return 0, 0, err
		}
		if !found {
			return 0, 0, fmt.Errorf("find %s: project %s has no container repository %s (nothing was "+
				"pushed there, or it was deleted): %w", c.name, cand, c.path, registrytypes.ErrNotFound)
		}
		if repo.Status != nil && (*repo.Status == "delete_scheduled" || *repo.Status == "delete_ongoing") {
			return 0, 0, fmt.Errorf("find %s: GitLab is deleting this container repository (status %s)",
				c.name, *repo.Status)
		}
		c.projectID, c.repoID = repo.ProjectID, repo.ID
		return c.projectID, c.repoID, nil
	}
	hint := "the project does not exist, or the token cannot see it"
	if c.UsesJobToken() {
		hint += " (CI_JOB_TOKEN reaches only the registry of the project whose pipeline runs the job; for " +
			"another project set " + tokenCredential() + ")"
	}
	return 0, 0, fmt.Errorf("find %s: no GitLab project found at %s (tried %s): %s: %w",
		c.name, c.Base.Redacted(), strings.Join(tried, ", "), hint, registrytypes.ErrNotFound)
}

// findRepository lists the registry repositories of project cand and
// returns the one at the repository path.
func (c *Client) findRepository(ctx context.Context, cand string) (repository, bool, error) {
	op := "list the registry repositories of project " + cand + " for"
	first := c.endpoint("/projects/"+url.PathEscape(cand)+"/registry/repositories",
		url.Values{"tags": {"false"}, "per_page": {strconv.Itoa(c.PageSize)}})
	var found *repository
	err := paginate(ctx, c, op, first, func(page []repository) {
		for i := range page {
			if found == nil && strings.EqualFold(page[i].Path, c.path) {
				found = &page[i]
			}
		}
	})
	if err != nil || found == nil {
		return repository{}, false, err
	}
	return *found, true, nil
}

// repoPath returns the escaped API path of the registry repository.
func (c *Client) repoPath(ctx context.Context) (string, error) {
	pid, rid, err := c.locate(ctx)
	if err != nil {
		return "", err
	}
	return "/projects/" + strconv.FormatInt(pid, 10) + "/registry/repositories/" + strconv.FormatInt(rid, 10), nil
}

// Tags lists every tag of the repository (all pages), sorted.
func (c *Client) Tags(ctx context.Context) ([]string, error) {
	const op = "list tags of"
	rp, err := c.repoPath(ctx)
	if err != nil {
		return nil, err
	}
	tags := []string{}
	err = paginate(ctx, c, op, c.endpoint(rp+"/tags", url.Values{"per_page": {strconv.Itoa(c.PageSize)}}),
		func(page []struct {
			Name string `json:"name"`
		}) {
			for _, t := range page {
				if t.Name != "" {
					tags = append(tags, t.Name)
				}
			}
		})
	if err != nil {
		return nil, err
	}
	slices.Sort(tags)
	return slices.Compact(tags), nil
}

// details GETs one tag. A missing tag gives registrytypes.ErrNotFound.
func (c *Client) details(ctx context.Context, op, tag string, write bool) (tagDetails, error) {
	if tag == "" || strings.ContainsAny(tag, "/?#") {
		return tagDetails{}, fmt.Errorf("%s %s on GitLab: invalid tag %q", op, c.name, tag)
	}
	rp, err := c.repoPath(ctx)
	if err != nil {
		return tagDetails{}, err
	}
	var d tagDetails
	if _, err := c.getJSON(ctx, op, c.endpoint(rp+"/tags/"+url.PathEscape(tag), nil), write, &d); err != nil {
		return tagDetails{}, err
	}
	if d.Digest == "" {
		// GitLab lists tags whose manifest is missing or broken; its own
		// cleanup policies skip them too.
		return tagDetails{}, fmt.Errorf("%s %s on GitLab: the tag has no manifest: %w", op, c.name, registrytypes.ErrNotFound)
	}
	if d.CreatedAt != nil && !d.CreatedAt.IsZero() {
		c.createdMu.Lock()
		if old, ok := c.created[d.Digest]; !ok || d.CreatedAt.Before(old) {
			c.created[d.Digest] = *d.CreatedAt
		}
		c.createdMu.Unlock()
	}
	return d, nil
}

// Resolve returns the digest tag points to (GET .../tags/:tag_name). A
// missing tag, or one without a manifest, gives an error wrapping
// registrytypes.ErrNotFound.
func (c *Client) Resolve(ctx context.Context, tag string) (registrytypes.Descriptor, error) {
	d, err := c.details(ctx, "resolve tag "+tag+" of", tag, false)
	if err != nil {
		return registrytypes.Descriptor{}, err
	}
	return registrytypes.Descriptor{Digest: d.Digest}, nil
}

// Inspect returns what is known of the manifest d points to: from the
// Docker Registry API client (WithRegistryAPI) if there is one, with
// Created set to the manifest's created_at that Resolve read.
func (c *Client) Inspect(ctx context.Context, d registrytypes.Descriptor) (registrytypes.Image, error) {
	img := registrytypes.Image{Descriptor: d}
	if c.regAPI != nil {
		var err error
		if img, err = c.regAPI.Inspect(ctx, d); err != nil {
			return registrytypes.Image{}, fmt.Errorf("inspect %s in %s on GitLab: %w", d.Digest, c.name, err)
		}
	}
	c.createdMu.Lock()
	created, ok := c.created[d.Digest]
	c.createdMu.Unlock()
	if ok {
		img.Created = created
	}
	return img, nil
}

// Untag removes tag alone (DELETE .../tags/:tag_name); the manifest and its
// other tags stay. It first reads the tag again and refuses with an error
// wrapping registrytypes.ErrTagMoved if it no longer points to expect; a
// missing tag gives registrytypes.ErrNotFound, a protected one
// ErrProtectedTag. A push to the tag between the check and the delete (one
// round trip) is lost: the API has no conditional delete.
func (c *Client) Untag(ctx context.Context, tag, expect string) error {
	op := "untag " + tag + " of"
	if _, err := v1.NewHash(expect); err != nil {
		return fmt.Errorf("%s %s on GitLab: invalid digest: %w", op, c.name, err)
	}
	d, err := c.details(ctx, op, tag, true)
	if err != nil {
		return err
	}
	if d.Digest != expect {
		return fmt.Errorf("%s %s on GitLab: %w: it points to %s now, not %s", op, c.name, registrytypes.ErrTagMoved,
			d.Digest, expect)
	}
	return c.deleteTag(ctx, op, tag)
}

func (c *Client) deleteTag(ctx context.Context, op, tag string) error {
	rp, err := c.repoPath(ctx)
	if err != nil {
		return err
	}
	resp, err := c.do(ctx, http.MethodDelete, c.endpoint(rp+"/tags/"+url.PathEscape(tag), nil))
	if err != nil {
		return fmt.Errorf("%s %s on GitLab: %w", op, c.name, err)
	}
	switch resp.StatusCode {
	case http.StatusOK, http.StatusNoContent, http.StatusAccepted:
		apiclient.Discard(resp)
		return nil
	}
	e := c.asProtected(ctx, tag, c.responseError(op, true, resp))
	if e.StatusCode == http.StatusBadRequest && e.Hint == "" {
		e.Hint = "GitLab could not delete the tag in its registry; try again later"
	}
	return e
}

// DeleteManifest removes every tag pointing to digest, one by one, which is
// what a manifest delete does (GitLab's API has none; the untagged manifest
// is garbage collected). It lists and resolves every tag first. No tag on
// digest gives registrytypes.ErrNotFound; the first failure stops it.
func (c *Client) DeleteManifest(ctx context.Context, digest string) error {
	op := "delete manifest " + digest + " of"
	if _, err := v1.NewHash(digest); err != nil {
		return fmt.Errorf("%s %s on GitLab: invalid digest: %w", op, c.name, err)
	}
	tags, err := c.Tags(ctx)
	if err != nil {
		return err
	}
	deleted := 0
	for _, t := range tags {
		d, err := c.details(ctx, op, t, true)
		if errors.Is(err, registrytypes.ErrNotFound) {
			continue
		}
		if err != nil {
			return err
		}
		if d.Digest != digest {
			continue
		}
		err = c.deleteTag(ctx, op, t)
		if errors.Is(err, registrytypes.ErrNotFound) {
			continue
		}
		if err != nil {
			return err
		}
		deleted++
	}
	if deleted == 0 {
		return fmt.Errorf("%s %s on GitLab: no tag points to it: %w", op, c.name, registrytypes.ErrNotFound)
	}
	return nil
}
