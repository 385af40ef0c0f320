// Package quay is the cleanup backend for Quay (quay.io and Red Hat Quay).
// It lists and removes tags through the Quay API (https://docs.quay.io/api/swagger/),
// authenticated with an OAuth2 access token (--repo-quay-token):
//
//   - tags with the manifest they point to and when they started to:
//     GET /api/v1/repository/{ns}/{repo}/tag/?onlyActiveTags=true&limit=N&page=P,
//     following has_additional to the end; one tag: the same with
//     specificTag=<tag>. Without onlyActiveTags Quay lists the tag history
//     too; expired tags (end_ts in the past) are never live tags;
//   - removing one tag: DELETE /api/v1/repository/{ns}/{repo}/tag/{tag}
//     (204). The manifest and its other tags stay; the deleted tag can be
//     restored during the repository's time-machine window.
//
// Immutable tags are refused by Quay (409) and reported with
// ErrTagImmutable without being deleted.
package quay

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/docker-werf/docker-werf/internal/apiclient"
	"github.com/docker-werf/docker-werf/internal/registry"
	"github.com/docker-werf/docker-werf/internal/registrytypes"
	"github.com/docker-werf/docker-werf/internal/version"
)

// Defaults.
const (
	// DefaultPageSize is the limit of tag listings; Quay allows at most
	// MaxPageSize.
	DefaultPageSize = 100
	MaxPageSize     = 100
	// DefaultListingMaxAge is how long Resolve may answer from the last tag
	// listing instead of asking the API again (see WithListingMaxAge).
	DefaultListingMaxAge = 15 * time.Second
)

// ErrTagImmutable is wrapped by the error of a delete of an immutable tag,
// which Quay refuses. The tag was left alone.
var ErrTagImmutable = fmt.Errorf("the tag is immutable: %w", registrytypes.ErrProtected)

// Credentials are Quay's native credentials.
type Credentials struct {
	// Token is an OAuth2 access token (of an organisation's application, or
	// a robot account's) with the repo:read and repo:write scopes:
	// --repo-quay-token, WERF_REPO_QUAY_TOKEN.
	Token string
}

// RegistryAPI is what the client asks of the Docker Registry API for what
// the Quay API does not tell in its tag listing: image configs (revision
// labels), index children and subjects. *registryapi.Client implements it.
type RegistryAPI interface {
	Inspect(ctx context.Context, d registrytypes.Descriptor) (registrytypes.Image, error)
}

// Option configures a Client.
type Option func(*Client) error

// set is the Option of a shared setting.
func set(s apiclient.Setting) Option { return func(c *Client) error { return s(&c.Settings) } }

// WithBaseURL sets the Quay server the API paths (/api/v1/...) are appended
// to (default https://<registry host>).
func WithBaseURL(base string) Option { return set(apiclient.BaseURL("Quay API", base)) }

// WithTransport sets the HTTP transport (default: one retry.Transport shared
// by all clients of this package, over a clone of http.DefaultTransport).
// Nothing above it retries, so pass a retrying one.
func WithTransport(rt http.RoundTripper) Option { return set(apiclient.Transport(rt)) }

// WithPageSize sets the limit of tag listings, 1 to MaxPageSize (default
// DefaultPageSize).
func WithPageSize(n int) Option { return set(apiclient.PageSize(n)) }

// WithRegistryAPI sets the Docker Registry API client Inspect reads
// manifests and image configs with; without it Inspect knows only what the
// tag listing says (digest, manifest list or not, times).
func WithRegistryAPI(r RegistryAPI) Option {
	return func(c *Client) error {
		c.api = r
		return nil
	}
}

// WithUserAgent sets the User-Agent (default "docker-werf/<version>").
func WithUserAgent(ua string) Option { return set(apiclient.UserAgent(ua)) }

// WithListingMaxAge sets how long after a tag listing Resolve answers from
// it (once per tag) instead of fetching the tag again (default
// DefaultListingMaxAge; 0: always fetch). The inventory resolves every tag
// right after listing them: reusing the listing saves one request per tag.
// Untag always fetches the tag first.
func WithListingMaxAge(d time.Duration) Option { return set(apiclient.ListingMaxAge(d)) }

// WithClock replaces time.Now (expiry of tags, listing age); for tests.
func WithClock(now func() time.Time) Option {
	return func(c *Client) error {
		if now != nil {
			c.Now = now
		}
		return nil
	}
}

// defaultTransport is shared by every Client built without WithTransport, so
// that they share connections and the per-host rate-limit gates.
var defaultTransport = apiclient.SharedTransport(16)

// Client talks to one Quay repository. It implements cleanup.Registry and is
// safe for concurrent use.
type Client struct {
	name      string // host/ns/repo
	namespace string
	repo      string // may contain "/" (extended repository names)
	token     string
	apiclient.Settings
	hc  *http.Client
	api RegistryAPI

	listing apiclient.Listing[quayTag, digestInfo]
}

// digestInfo is what the tag listing said about one digest.
type digestInfo struct {
	isList bool
}

// newListing is the listing cache of Quay tags: by manifest digest, whether
// it is a list and the start_ts of its tags.
func newListing() apiclient.Listing[quayTag, digestInfo] {
	return apiclient.Listing[quayTag, digestInfo]{
		Name:   func(t quayTag) string { return t.Name },
		Digest: func(t quayTag) string { return t.ManifestDigest },
		Time:   quayTag.start,
		Note:   func(d *digestInfo, t quayTag) { d.isList = d.isList || t.IsManifestList },
	}
}

// New returns a Client for repo, a <namespace>/<name> repository on a Quay
// server. A missing token is an error naming the flag and the variable.
func New(repo registry.Repository, creds Credentials, opts ...Option) (*Client, error) {
	ns, name, ok := strings.Cut(repo.Path, "/")
	if !ok || ns == "" || name == "" || slices.Contains(strings.Split(name, "/"), "") {
		return nil, fmt.Errorf("invalid Quay repository %s: want <host>/<namespace>/<name>", repo.Name())
	}
	if creds.Token == "" {
		return nil, fmt.Errorf("%s is not set: the Quay API needs an OAuth access token with the repo:read and "+
			"repo:write scopes", credential())
	}
	c := &Client{
		listing:   newListing(),
		name:      repo.Name(),
		namespace: ns,
		repo:      name,
		token:     creds.Token,
		Settings: apiclient.Settings{PageSize: DefaultPageSize, MaxPageSize: MaxPageSize,
			UA: "docker-werf/" + version.Version, MaxAge: DefaultListingMaxAge, Now: time.Now},
	}
	if err := WithBaseURL("https://" + repo.Host)(c); err != nil {
		return nil, fmt.Errorf("%s on Quay: %w", c.name, err)
	}
	for _, opt := range opts {
		if err := opt(c); err != nil {
			return nil, fmt.Errorf("%s on Quay: %w", c.name, err)
		}
	}
	if c.RT == nil {
		c.RT = defaultTransport()
	}
	c.hc = &http.Client{
		Transport: c.RT,
		// A redirect would be followed with the token to wherever it
		// points, and a DELETE turned into a GET: take the answer as it is.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	return c, nil
}

// Repository returns host/namespace/name.
func (c *Client) Repository() string { return c.name }

// credential names the Quay token as "--flag (VARIABLE)", from the registry
// spec.
func credential() string { return registry.CredentialName(registry.CredQuayToken) }

// repoPath returns /api/v1/repository/<ns>/<repo> + suffix, each path
// segment escaped.
func (c *Client) repoPath(suffix string) string {
	segs := append([]string{c.namespace}, strings.Split(c.repo, "/")...)
	for i, s := range segs {
		segs[i] = url.PathEscape(s)
	}
	return c.Base.String() + "/api/v1/repository/" + strings.Join(segs, "/") + suffix
}

// do sends one authenticated request. The caller closes the response.
func (c *Client) do(ctx context.Context, op, method, u string) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, method, u, nil)
	if err != nil {
		return nil, fmt.Errorf("%s %s on Quay: %w", op, c.name, err)
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", c.UA)
	resp, err := c.hc.Do(req)
	if err != nil {
		return nil, fmt.Errorf("%s %s on Quay: %s", op, c.name, c.redact(err.Error()))
	}
	return resp, nil
}

// getJSON GETs u and decodes a 200 answer into v.
func (c *Client) getJSON(ctx context.Context, op, u string, write bool, v any) error {
	send := func(ctx context.Context, method, u string) (*http.Response, error) { return c.do(ctx, op, method, u) }
	_, err := apiclient.GetJSON(ctx, apiclient.JSONAPI{Vendor: "Quay", Name: c.name, Limit: 64 << 20, Send: send,
		SendError: apiclient.AsSent, AnswerError: c.answerError, DecodePath: apiclient.AnswerOfGET}, op, u, write, v)
	return err
}

// answerError is responseError as an error.
func (c *Client) answerError(op string, write bool, resp *http.Response) error {
	return c.responseError(op, write, resp)
}

// Error is an unexpected answer of the Quay API (Codes holds its
// error_type); it unwraps to registrytypes.ErrNotFound,
// registrytypes.ErrUnauthorized or ErrTagImmutable where the answer was one
// of those.
type Error = apiclient.Error

// responseError reads (and closes) an unexpected answer and classifies it.
// write says whether the operation changes the repository.
func (c *Client) responseError(op string, write bool, resp *http.Response) *Error {
	defer apiclient.Discard(resp)
	e := apiclient.NewError("Quay", op, c.name, resp)
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	msg, errType := apiMessage(body)
	e.Message = c.redact(msg)
	if errType != "" {
		e.Codes = []string{errType}
	}
	lower := strings.ToLower(e.Message + " " + errType)
	switch {
	case resp.StatusCode == http.StatusUnauthorized:
		e.Kind = registrytypes.ErrUnauthorized
		e.Hint = "Quay refused the token: check " + credential() + " (an OAuth access token of an organisation's " +
			"application, not a robot account's password or a docker login)"
	case resp.StatusCode == http.StatusForbidden:
		e.Kind = registrytypes.ErrUnauthorized
		if write {
			e.Hint = "the token may not delete tags of " + c.name + ": it needs the repo:write scope, and its user " +
				"write access to the repository"
		} else {
			e.Hint = "the token may not read " + c.name + ": it needs the repo:read scope, and its user read access " +
				"to the repository"
		}
	case resp.StatusCode == http.StatusNotFound:
		e.Kind = registrytypes.ErrNotFound
	case resp.StatusCode == http.StatusTooManyRequests:
		e.Hint = "Quay's rate limit was still exceeded after waiting; run again later or with less parallelism"
	case write && (resp.StatusCode == http.StatusConflict ||
		(resp.StatusCode >= 400 && resp.StatusCode < 500 && strings.Contains(lower, "immutable"))):
		e.Kind, e.Hint = ErrTagImmutable, "immutable tags cannot be deleted; the tag was skipped"
	}
	return e
}

// apiMessage picks the human part of an error answer. Quay's API answers
// {"status","error_message","error_type","title","detail","type"}, some
// endpoints {"message"} or {"error"}, its registry API {"errors":[...]}.
func apiMessage(body []byte) (msg, errType string) {
	var m struct {
		ErrorMessage string `json:"error_message"`
		ErrorType    string `json:"error_type"`
		Detail       string `json:"detail"`
		Message      string `json:"message"`
		Error        string `json:"error"`
		Errors       []struct {
			Code    string `json:"code"`
			Message string `json:"message"`
		} `json:"errors"`
	}
	var parts []string
	add := func(s string) {
		if s != "" && !slices.Contains(parts, s) {
			parts = append(parts, s)
		}
	}
	if json.Unmarshal(body, &m) == nil {
		add(m.ErrorMessage)
		add(m.Detail)
		add(m.Message)
		add(m.Error)
		for _, x := range m.Errors {
			add(strings.TrimSuffix(x.Code+": "+x.Message, ": "))
		}
		if len(parts) == 0 {
			add(m.ErrorType)
		}
	} else if s := strings.TrimSpace(string(body)); s != "" && utf8.ValidString(s) && !strings.HasPrefix(s, "<") {
		add(s)
	}
	return apiclient.Truncate(strings.Join(strings.Fields(strings.Join(parts, "; ")), " "), 300), m.ErrorType
}

// scrubber blanks anything that looks like a credential.
var scrubber = apiclient.NewScrubber(apiclient.DefaultSchemes, apiclient.DefaultKeys)

// redact removes the token and anything that looks like a credential from
// text bound for an error message.
func (c *Client) redact(s string) string {
	return scrubber.Scrub(apiclient.ReplaceSecrets(s, 4, c.token))
}
