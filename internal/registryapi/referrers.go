package registryapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
)

// Referrers lists the manifests whose subject is digest. It asks the OCI 1.1
// referrers API (following Link pagination) and, when the registry answers
// 404 (no API; the answer is remembered per Client), reads the referrers tag
// schema: the index at tag "<alg>-<hex>", where no such tag means no
// referrers. The source says which way was used.
func (c *Client) Referrers(ctx context.Context, digest string) ([]Descriptor, ReferrersSource, error) {
	if err := checkDigest(digest); err != nil {
		return nil, 0, err
	}
	hc, err := c.client(ctx, false)
	if err != nil {
		return nil, 0, err
	}
	if c.referrersAPI.Load() != capNo {
		refs, ok, err := c.referrersAPIList(ctx, hc, digest)
		if err != nil {
			return nil, ReferrersAPI, err
		}
		if ok {
			c.referrersAPI.Store(capYes)
			return refs, ReferrersAPI, nil
		}
		c.referrersAPI.Store(capNo)
	}
	refs, err := c.referrersTagList(ctx, hc, digest)
	return refs, ReferrersTagSchema, err
}

// referrersAPIList returns ok == false when the registry has no referrers
// API (404).
func (c *Client) referrersAPIList(ctx context.Context, hc *http.Client, digest string) ([]Descriptor, bool, error) {
	op := "list referrers of " + digest + " in"
	hdr := http.Header{"Accept": {MediaTypeOCIIndex}}
	next := c.url("/referrers/" + digest)
	refs := []Descriptor{}
	seen := map[string]bool{}
	for page := 0; next != ""; page++ {
		if seen[next] || page >= maxPages {
			return nil, false, fmt.Errorf("%s %s: pagination does not end (at %s)", op, c.repo.Name(), next)
		}
		seen[next] = true
		resp, err := c.send(ctx, hc, http.MethodGet, next, hdr, nil)
		if err != nil {
			return nil, false, fmt.Errorf("%s %s: %w", op, c.repo.Name(), err)
		}
		if page == 0 && resp.StatusCode == http.StatusNotFound {
			discard(resp)
			return nil, false, nil
		}
		if resp.StatusCode != http.StatusOK {
			return nil, false, c.responseError(op, false, resp)
		}
		var idx rawManifest
		err = json.NewDecoder(io.LimitReader(resp.Body, maxManifestSize)).Decode(&idx)
		discard(resp)
		if err != nil {
			return nil, false, fmt.Errorf("%s %s: decoding referrers index: %w", op, c.repo.Name(), err)
		}
		for _, m := range idx.Manifests {
			refs = append(refs, m.descriptor())
		}
		next, err = nextLink(resp.Request.URL, resp.Header.Values("Link"))
		if err != nil {
			return nil, false, fmt.Errorf("%s %s: %w", op, c.repo.Name(), err)
		}
	}
	return refs, true, nil
}

// ReferrersTag returns the referrers tag schema's tag for a digest:
// <alg>-<hex>, the algorithm cut to 32 and the hex part to 64 characters.
func ReferrersTag(digest string) string {
	alg, enc, _ := strings.Cut(digest, ":")
	return alg[:min(len(alg), 32)] + "-" + enc[:min(len(enc), 64)]
}

func (c *Client) referrersTagList(ctx context.Context, hc *http.Client, digest string) ([]Descriptor, error) {
	tag := ReferrersTag(digest)
	op := "read referrers tag " + tag + " in"
	body, d, err := c.getManifest(ctx, hc, op, tag, "", false)
	if errors.Is(err, ErrNotFound) {
		return []Descriptor{}, nil
	}
	if err != nil {
		return nil, err
	}
	var idx rawManifest
	if err := json.Unmarshal(body, &idx); err != nil {
		return nil, fmt.Errorf("%s %s: decoding referrers index: %w", op, c.repo.Name(), err)
	}
	if !isIndexType(d.MediaType) && !isIndexType(idx.MediaType) {
		return nil, fmt.Errorf("%s %s: tag holds a %q, not an index", op, c.repo.Name(), d.MediaType)
	}
	refs := make([]Descriptor, 0, len(idx.Manifests))
	for _, m := range idx.Manifests {
		refs = append(refs, m.descriptor())
	}
	return refs, nil
}
