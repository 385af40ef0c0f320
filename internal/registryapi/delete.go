package registryapi

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"sync"

	"github.com/docker-werf/docker-werf/internal/retry"
)

// The empty JSON blob ({}), the config of throw-away manifests.
const (
	emptyJSON       = "{}"
	emptyJSONDigest = "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a"
)

// Annotations of throw-away manifests.
const (
	AnnotationUntagNonce = "io.docker-werf.untag.nonce"
	AnnotationUntagTag   = "io.docker-werf.untag.tag"
	ArtifactTypeUntag    = "application/vnd.docker-werf.untag.v1"
)

// tagDeleteByHost remembers, per scheme://host[:port], whether the registry
// supports the OCI tag DELETE, so that clients of several repositories on
// one registry probe once.
var tagDeleteByHost sync.Map // string -> bool

// SupportsTagDelete reports whether the registry removes a tag with
// DELETE /v2/<name>/manifests/<tag> (distribution 3, Quay, GitLab) instead of
// answering 400 DIGEST_INVALID (distribution 2.x), 400 UNSUPPORTED (Harbor)
// or 405/501. It finds out without side effects: it DELETEs a random digest
// and a random tag, neither of which exists, and reads the errors. A
// registry that refuses every delete gives an error wrapping
// ErrDeleteDisabled. The answer is remembered (per host; Untag corrects it if
// a real tag DELETE disagrees).
func (c *Client) SupportsTagDelete(ctx context.Context) (bool, error) {
	hc, err := c.client(ctx, true)
	if err != nil {
		return false, err
	}
	return c.capabilities(ctx, hc)
}

func (c *Client) hostKey() string { return c.scheme + "://" + c.host }

func (c *Client) capabilities(ctx context.Context, hc *http.Client) (bool, error) {
	c.probeMu.Lock()
	defer c.probeMu.Unlock()
	if !c.probed {
		disabled, err := c.probeDeletes(ctx, hc)
		if err != nil {
			return false, err
		}
		c.disabled, c.probed = disabled, true
	}
	if c.disabled != nil {
		return false, c.disabled
	}
	switch c.tagDelete.Load() {
	case capYes:
		return true, nil
	case capNo:
		return false, nil
	}
	if v, ok := tagDeleteByHost.Load(c.hostKey()); ok {
		c.setTagDelete(v.(bool))
		return v.(bool), nil
	}
	ok, err := c.probeTagDelete(ctx, hc)
	if err != nil {
		return false, err
	}
	c.setTagDelete(ok)
	tagDeleteByHost.Store(c.hostKey(), ok)
	return ok, nil
}

func (c *Client) setTagDelete(ok bool) {
	if ok {
		c.tagDelete.Store(capYes)
	} else {
		c.tagDelete.Store(capNo)
	}
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // never fails
	return hex.EncodeToString(b)
}

// probeDeletes DELETEs a digest that does not exist: 404 means deletes are
// enabled, 405 or UNSUPPORTED that they are not (the returned error).
func (c *Client) probeDeletes(ctx context.Context, hc *http.Client) (disabled, err error) {
	const op = "probe delete support of"
	resp, err := c.send(ctx, hc, http.MethodDelete, c.url("/manifests/sha256:"+randomHex(32)), nil, nil)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", op, c.repo.Name(), err)
	}
	switch resp.StatusCode {
	case http.StatusNotFound, http.StatusAccepted, http.StatusOK:
		discard(resp)
		return nil, nil
	}
	e := c.responseError(op, true, resp)
	switch {
	case e.unsupported():
		return fmt.Errorf("%w (%s answers DELETE with HTTP %d %s)", ErrDeleteDisabled, c.host, e.StatusCode, e.Message), nil
	case e.StatusCode >= 500 || errors.Is(e, ErrUnauthorized):
		return nil, e
	}
	return nil, nil // some other 4xx for a digest that does not exist: let the real deletes tell
}

// probeTagDelete DELETEs a tag that does not exist: 404 means the registry
// looked the tag up (tag delete supported); 400 (DIGEST_INVALID,
// UNSUPPORTED), 405 and 501 that it does not support deleting by tag.
func (c *Client) probeTagDelete(ctx context.Context, hc *http.Client) (bool, error) {
	const op = "probe tag delete support of"
	resp, err := c.send(ctx, hc, http.MethodDelete, c.url("/manifests/docker-werf-probe-"+randomHex(16)), nil, nil)
	if err != nil {
		return false, fmt.Errorf("%s %s: %w", op, c.repo.Name(), err)
	}
	switch resp.StatusCode {
	case http.StatusNotFound, http.StatusAccepted, http.StatusOK:
		discard(resp)
		return true, nil
	}
	e := c.responseError(op, true, resp)
	if e.StatusCode == http.StatusBadRequest || e.unsupported() {
		return false, nil
	}
	return false, e
}

// Untag removes exactly one tag, and only if it still points to expect
// (digest); the manifest and every other tag on it stay.
//
//  1. It re-resolves the tag (HEAD): a tag pointing elsewhere gives an error
//     wrapping ErrTagMoved and is left alone; a missing tag ErrNotFound.
//  2. Where the registry supports the OCI tag DELETE (see SupportsTagDelete)
//     it DELETEs manifests/<tag>.
//  3. Elsewhere it overwrites the tag with a throw-away manifest (an OCI
//     image manifest of the empty JSON config with a random nonce annotation,
//     so no other tag can share its digest; the config blob is pushed first
//     if missing) and DELETEs that manifest by digest, which removes the tag
//     and nothing else.
//
// Between the check in step 1 and the request that removes or overwrites
// the tag lies one round trip; a push to the tag in that window is lost.
// A resend of that request (after a failed attempt, or once a rate-limited
// host lets requests go again) checks the tag again first.
// Deletes refused by the registry give ErrDeleteDisabled; 401/403
// ErrUnauthorized.
func (c *Client) Untag(ctx context.Context, tag, expect string) error {
	op := "untag " + tag + " of"
	if err := checkTag(tag); err != nil {
		return err
	}
	if err := checkDigest(expect); err != nil {
		return err
	}
	hc, err := c.client(ctx, true)
	if err != nil {
		return err
	}
	tagDelete, err := c.capabilities(ctx, hc)
	if err != nil {
		return fmt.Errorf("%s %s: %w", op, c.repo.Name(), err)
	}
	if tagDelete {
		if err := c.checkTag(ctx, hc, op, tag, expect); err != nil {
			return err
		}
		done, err := c.deleteTag(c.recheckedWrite(ctx, hc, op, tag, expect, ""), hc, op, tag)
		if done || err != nil {
			return err
		}
		// The registry refused the tag DELETE after all: overwrite instead.
		c.setTagDelete(false)
		tagDeleteByHost.Store(c.hostKey(), false)
	}
	// Push the config before checking the tag, to keep the window between
	// the check and the overwrite at one round trip.
	if err := c.ensureEmptyConfig(ctx, hc); err != nil {
		return err
	}
	if err := c.checkTag(ctx, hc, op, tag, expect); err != nil {
		return err
	}
	return c.overwriteAndDelete(ctx, hc, op, tag, expect)
}

// checkTag fails unless tag points to expect.
func (c *Client) checkTag(ctx context.Context, hc *http.Client, op, tag, expect string) error {
	d, err := c.resolveWith(ctx, hc, op, tag, true)
	if err != nil {
		return err
	}
	if d.Digest != expect {
		return fmt.Errorf("%s %s: %w: it points to %s now, not %s", op, c.repo.Name(), ErrTagMoved, d.Digest, expect)
	}
	return nil
}

// errWriteLanded ends the resending of a throw-away PUT whose earlier
// attempt the registry applied (the tag points to the throw-away already).
var errWriteLanded = errors.New("an earlier attempt of the write landed")

// recheckedWrite is ctx for a write that removes or overwrites tag: every
// resend of it (after a failed attempt or a rate-limited host's hold, which
// may take minutes) first checks again that the tag points to expect, so
// that a push during the wait is not lost. landed, when set, is the digest
// the write puts on the tag: finding it there means an earlier attempt
// went through.
func (c *Client) recheckedWrite(ctx context.Context, hc *http.Client, op, tag, expect, landed string) context.Context {
	return retry.RecheckBeforeResend(ctx, func(ctx context.Context) error {
		d, err := c.resolveWith(ctx, hc, op, tag, true)
		switch {
		case err != nil:
			return err
		case d.Digest == expect:
			return nil
		case landed != "" && d.Digest == landed:
			return errWriteLanded
		}
		return fmt.Errorf("%s %s: %w while the write waited to be sent again: it points to %s now, not %s",
			op, c.repo.Name(), ErrTagMoved, d.Digest, expect)
	})
}

// deleteTag sends the OCI tag DELETE. done is false (with a nil error) when
// the registry says it does not support it.
func (c *Client) deleteTag(ctx context.Context, hc *http.Client, op, tag string) (done bool, err error) {
	resp, err := c.send(ctx, hc, http.MethodDelete, c.url("/manifests/"+tag), nil, nil)
	if err != nil {
		return true, fmt.Errorf("%s %s: %w", op, c.repo.Name(), err)
	}
	if resp.StatusCode == http.StatusAccepted || resp.StatusCode == http.StatusOK {
		discard(resp)
		return true, nil
	}
	e := c.responseError(op, true, resp)
	if e.StatusCode == http.StatusBadRequest || e.unsupported() {
		return false, nil
	}
	return true, e
}

// throwAway returns a unique OCI image manifest and its digest. tag, when
// given, is recorded in an annotation; a manifest shared by a group of tags
// records none.
func throwAway(tag string) ([]byte, string) {
	empty := map[string]any{"mediaType": MediaTypeOCIEmpty, "digest": emptyJSONDigest, "size": len(emptyJSON)}
	annotations := map[string]string{AnnotationUntagNonce: randomHex(16)}
	if tag != "" {
		annotations[AnnotationUntagTag] = tag
	}
	m := map[string]any{
		"schemaVersion": 2,
		"mediaType":     MediaTypeOCIManifest,
		"artifactType":  ArtifactTypeUntag,
		"config":        empty,
		"layers":        []any{empty},
		"annotations":   annotations,
	}
	b, _ := json.Marshal(m) // cannot fail
	sum := sha256.Sum256(b)
	return b, "sha256:" + hex.EncodeToString(sum[:])
}

func (c *Client) overwriteAndDelete(ctx context.Context, hc *http.Client, op, tag, expect string) error {
	body, dig := throwAway(tag)
	if err := c.putThrowAway(ctx, hc, op, tag, expect, body, dig); err != nil {
		return err
	}
	return c.deleteThrowAwayFully(ctx, hc, op, body, dig)
}

// putThrowAway overwrites tag, which points to expect, with the throw-away
// manifest body.
func (c *Client) putThrowAway(ctx context.Context, hc *http.Client, op, tag, expect string, body []byte, dig string) error {
	hdr := http.Header{"Content-Type": {MediaTypeOCIManifest}}
	resp, err := c.send(c.recheckedWrite(ctx, hc, op, tag, expect, dig), hc, http.MethodPut, c.url("/manifests/"+tag), hdr, body)
	if errors.Is(err, errWriteLanded) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("%s %s: overwriting the tag: %w", op, c.repo.Name(), err)
	}
	if resp.StatusCode != http.StatusCreated && resp.StatusCode != http.StatusOK && resp.StatusCode != http.StatusAccepted {
		return c.responseError(op+" (overwriting the tag)", true, resp)
	}
	discard(resp)
	if got := resp.Header.Get("Docker-Content-Digest"); got != "" && got != dig {
		return fmt.Errorf("%s %s: the registry stored the throw-away manifest as %s, not %s; not deleting it",
			op, c.repo.Name(), got, dig)
	}
	return nil
}

// deleteThrowAwayFully DELETEs a throw-away manifest by digest, which
// removes every tag on it.
func (c *Client) deleteThrowAwayFully(ctx context.Context, hc *http.Client, op string, body []byte, dig string) error {
	hdr := http.Header{"Content-Type": {MediaTypeOCIManifest}}
	for attempt := 1; ; attempt++ {
		gone, err := c.deleteThrowAway(ctx, hc, op, dig)
		if err != nil || !gone {
			return err
		}
		if attempt == maxThrowAwayDeletes {
			return fmt.Errorf("%s %s: throw-away manifest %s keeps disappearing before its DELETE; the tag may still be listed",
				op, c.repo.Name(), dig)
		}
		// 404: the manifest is gone, but the tag may still name it. On
		// distribution 2.x a digest DELETE first removes the manifest, then
		// looks up the tags to remove; when the lookup fails (500 while
		// other tags are written at the same time) the retried DELETE finds
		// no manifest and the tag dangles, still listed. Put the manifest
		// back by digest, which touches no tag, and delete it again: the
		// registry removes whatever tags still point to it, and no other.
		resp, err := c.send(ctx, hc, http.MethodPut, c.url("/manifests/"+dig), hdr, body)
		if err != nil {
			return fmt.Errorf("%s %s: restoring throw-away manifest %s: %w", op, c.repo.Name(), dig, err)
		}
		if resp.StatusCode != http.StatusCreated && resp.StatusCode != http.StatusOK && resp.StatusCode != http.StatusAccepted {
			return c.responseError(op+" (restoring throw-away manifest "+dig+")", true, resp)
		}
		discard(resp)
	}
}

// maxThrowAwayDeletes bounds the DELETE / restore rounds of a throw-away
// manifest.
const maxThrowAwayDeletes = 3

// deleteThrowAway DELETEs the throw-away manifest by digest. gone is true
// when the registry answered 404.
func (c *Client) deleteThrowAway(ctx context.Context, hc *http.Client, op, dig string) (gone bool, err error) {
	resp, err := c.send(ctx, hc, http.MethodDelete, c.url("/manifests/"+dig), nil, nil)
	if err != nil {
		return false, fmt.Errorf("%s %s: tag now points to throw-away manifest %s; deleting it: %w", op, c.repo.Name(), dig, err)
	}
	switch resp.StatusCode {
	case http.StatusAccepted, http.StatusOK:
		discard(resp)
		return false, nil
	case http.StatusNotFound:
		discard(resp)
		return true, nil
	}
	return false, c.responseError(op+" (deleting throw-away manifest "+dig+", which the tag now points to)", true, resp)
}

// ensureEmptyConfig pushes the empty JSON blob unless the repository has it
// (checked once per Client).
func (c *Client) ensureEmptyConfig(ctx context.Context, hc *http.Client) error {
	c.blobMu.Lock()
	defer c.blobMu.Unlock()
	if c.emptyPushed {
		return nil
	}
	const op = "push empty config blob to"
	resp, err := c.send(ctx, hc, http.MethodHead, c.url("/blobs/"+emptyJSONDigest), nil, nil)
	if err != nil {
		return fmt.Errorf("%s %s: %w", op, c.repo.Name(), err)
	}
	if resp.StatusCode == http.StatusOK {
		discard(resp)
		c.emptyPushed = true
		return nil
	}
	if resp.StatusCode != http.StatusNotFound {
		return c.responseError(op, true, resp)
	}
	discard(resp)
	// Starting an upload session twice only leaves one for the registry to
	// expire, so a 429 or 503 here is waited out like any other.
	resp, err = c.send(retry.Idempotent(ctx), hc, http.MethodPost, c.url("/blobs/uploads/"), nil, nil)
	if err != nil {
		return fmt.Errorf("%s %s: %w", op, c.repo.Name(), err)
	}
	if resp.StatusCode != http.StatusAccepted {
		return c.responseError(op, true, resp)
	}
	discard(resp)
	loc, err := uploadURL(resp)
	if err != nil {
		return fmt.Errorf("%s %s: %w", op, c.repo.Name(), err)
	}
	hdr := http.Header{"Content-Type": {"application/octet-stream"}}
	resp, err = c.send(ctx, hc, http.MethodPut, loc, hdr, []byte(emptyJSON))
	if err != nil {
		return fmt.Errorf("%s %s: %w", op, c.repo.Name(), err)
	}
	if resp.StatusCode != http.StatusCreated {
		return c.responseError(op, true, resp)
	}
	discard(resp)
	c.emptyPushed = true
	return nil
}

// uploadURL returns the Location of an upload session with digest= added.
func uploadURL(resp *http.Response) (string, error) {
	loc := resp.Header.Get("Location")
	if loc == "" {
		return "", errors.New("upload session without a Location")
	}
	u, err := resp.Request.URL.Parse(loc)
	if err != nil {
		return "", fmt.Errorf("invalid upload Location: %w", err)
	}
	if u.Scheme != "https" && u.Scheme != resp.Request.URL.Scheme {
		return "", fmt.Errorf("refusing upload Location %s", u.Redacted())
	}
	q := u.Query()
	q.Set("digest", emptyJSONDigest)
	u.RawQuery = q.Encode()
	return u.String(), nil
}

// DeleteManifest deletes the manifest with this digest, which removes every
// tag pointing to it: use it only when every one of them is to go. A missing
// manifest gives ErrNotFound, a registry refusing deletes ErrDeleteDisabled.
func (c *Client) DeleteManifest(ctx context.Context, digest string) error {
	op := "delete manifest " + digest + " from"
	if err := checkDigest(digest); err != nil {
		return err
	}
	hc, err := c.client(ctx, true)
	if err != nil {
		return err
	}
	resp, err := c.send(ctx, hc, http.MethodDelete, c.url("/manifests/"+digest), nil, nil)
	if err != nil {
		return fmt.Errorf("%s %s: %w", op, c.repo.Name(), err)
	}
	if resp.StatusCode == http.StatusAccepted || resp.StatusCode == http.StatusOK {
		discard(resp)
		return nil
	}
	return c.responseError(op, true, resp)
}
