// Package dockerhub is the cleanup backend for Docker Hub repositories
// (docker.io/<namespace>/<repo>). Docker Hub's registry API cannot delete a
// tagged manifest, so everything goes through the Hub API at hub.docker.com
// (https://docs.docker.com/reference/api/hub/latest/):
//
//   - authentication: a Hub API bearer token (--repo-docker-hub-token), or one
//     made from --repo-docker-hub-username and --repo-docker-hub-password
//     (a password, personal or organisation access token) with
//     POST /v2/auth/token; such tokens live 10 minutes and are renewed;
//   - tags with their digests and last_updated times:
//     GET /v2/namespaces/{ns}/repositories/{repo}/tags?page=N&page_size=M,
//     following "next" to the end; one tag: GET .../tags/{tag};
//   - removing one tag: DELETE /v2/repositories/{ns}/{repo}/tags/{tag}/
//     (the trailing slash is required). The manifest and every other tag on
//     it stay.
//
// Hub's rate-limit answers (429 with X-Retry-After, X-RateLimit-Reset or
// Retry-After) are waited out by the retrying transport (internal/retry).
package dockerhub

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/docker-werf/docker-werf/internal/apiclient"
	"github.com/docker-werf/docker-werf/internal/registry"
	"github.com/docker-werf/docker-werf/internal/registrytypes"
	"github.com/docker-werf/docker-werf/internal/retry"
	"github.com/docker-werf/docker-werf/internal/version"
)

// Defaults.
const (
	DefaultBaseURL = "https://hub.docker.com"
	// DefaultPageSize is the page_size of tag listings; the Hub API allows
	// at most MaxPageSize.
	DefaultPageSize = 100
	MaxPageSize     = 100
	// DefaultListingMaxAge is how long Resolve may answer from the last tag
	// listing instead of asking the API again (see WithListingMaxAge).
	DefaultListingMaxAge = 15 * time.Second
)

// loginRenewal is how long a token made from the username and password is
// used before a new one is made; Hub's access tokens expire after 10 minutes.
const loginRenewal = 8 * time.Minute

// ErrTagImmutable is wrapped by the error of a delete Docker Hub refused
// because the tag is immutable. The tag was left alone.
var ErrTagImmutable = fmt.Errorf("the tag is immutable: %w", registrytypes.ErrProtected)

// Credentials are Docker Hub's native credentials. Token wins when set;
// otherwise Username and Password are exchanged for a token.
type Credentials struct {
	// Token is a Hub API bearer token (JWT): --repo-docker-hub-token,
	// WERF_REPO_DOCKER_HUB_TOKEN.
	Token string
	// Username is the Docker ID or organisation name:
	// --repo-docker-hub-username, WERF_REPO_DOCKER_HUB_USERNAME.
	Username string
	// Password is the account password, a personal access token or an
	// organisation access token: --repo-docker-hub-password,
	// WERF_REPO_DOCKER_HUB_PASSWORD.
	Password string
}

// RegistryAPI is what the client asks of the Docker Registry API for what
// the Hub API does not tell: image configs (revision labels), index children
// and subjects in Inspect, and a tag's digest when the Hub API gives none.
// *registryapi.Client implements it.
type RegistryAPI interface {
	Resolve(ctx context.Context, tag string) (registrytypes.Descriptor, error)
	Inspect(ctx context.Context, d registrytypes.Descriptor) (registrytypes.Image, error)
}

// Option configures a Client.
type Option func(*Client) error

// set is the Option of a shared setting.
func set(s apiclient.Setting) Option { return func(c *Client) error { return s(&c.Settings) } }

// WithBaseURL sets the Hub API endpoint (default DefaultBaseURL).
func WithBaseURL(base string) Option { return set(apiclient.BaseURL("Docker Hub API", base)) }

// WithTransport sets the HTTP transport (default: one retry.Transport shared
// by all clients of this package, over a clone of http.DefaultTransport).
// Nothing above it retries, so pass a retrying one.
func WithTransport(rt http.RoundTripper) Option { return set(apiclient.Transport(rt)) }

// WithPageSize sets the page_size of tag listings, 1 to MaxPageSize
// (default DefaultPageSize).
func WithPageSize(n int) Option { return set(apiclient.PageSize(n)) }

// WithRegistryAPI sets the Docker Registry API client Inspect reads
// manifests and image configs with; without it Inspect knows only what the
// Hub API says (digest, media type, platforms, times).
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
// right after listing them: reusing the listing saves one Hub API request
// per tag. Untag always fetches the tag first.
func WithListingMaxAge(d time.Duration) Option { return set(apiclient.ListingMaxAge(d)) }

// WithClock replaces time.Now (token renewal, listing age); for tests.
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

// Client talks to one Docker Hub repository. It implements
// cleanup.Registry and is safe for concurrent use.
type Client struct {
	name      string // docker.io/<ns>/<repo>
	namespace string
	repo      string
	creds     Credentials
	login     bool // the token comes from Username and Password
	apiclient.Settings
	hc  *http.Client
	api RegistryAPI

	authMu  sync.Mutex
	token   string
	tokenAt time.Time

	fixed []string // the credentials given, scrubbed from errors

	secMu sync.Mutex
	made  []string // the latest tokens made, scrubbed from errors

	listing apiclient.Listing[hubTag, digestInfo]
}

// digestInfo is what the Hub API said about one digest.
type digestInfo struct {
	mediaType string
	images    []hubImage
}

// newListing is the listing cache of Hub tags: by digest, their media type,
// images and last_updated.
func newListing() apiclient.Listing[hubTag, digestInfo] {
	return apiclient.Listing[hubTag, digestInfo]{
		Name:   func(t hubTag) string { return t.Name },
		Digest: hubTag.digest,
		Time:   hubTag.updated,
		Note: func(d *digestInfo, t hubTag) {
			if t.MediaType != "" {
				d.mediaType = t.MediaType
			}
			if len(t.Images) > 0 {
				d.images = t.Images
			}
		},
	}
}

// New returns a Client for repo, which must be a docker.io repository with
// a <namespace>/<name> path. A missing credential is an error naming the
// flag and the environment variable.
func New(repo registry.Repository, creds Credentials, opts ...Option) (*Client, error) {
	if repo.Host != registry.DockerHubHost {
		return nil, fmt.Errorf("%s is not a Docker Hub repository: the Hub API serves only %s", repo.Name(),
			registry.DockerHubHost)
	}
	ns, name, ok := strings.Cut(repo.Path, "/")
	if !ok || ns == "" || name == "" || strings.Contains(name, "/") {
		return nil, fmt.Errorf("invalid Docker Hub repository %s: want docker.io/<namespace>/<name>", repo.Name())
	}
	c := &Client{
		listing:   newListing(),
		name:      repo.Name(),
		namespace: ns,
		repo:      name,
		creds:     creds,
		Settings: apiclient.Settings{PageSize: DefaultPageSize, MaxPageSize: MaxPageSize,
			UA: "docker-werf/" + version.Version, MaxAge: DefaultListingMaxAge, Now: time.Now},
	}
	switch {
	case creds.Token != "":
		c.token = creds.Token
		if isAccessToken(creds.Token) {
			if creds.Username == "" {
				return nil, fmt.Errorf("%s holds a personal or organisation access token, which the Hub API "+
					"takes only with the account name: set it as %s together with %s, or pass a Hub API token",
					registry.CredentialName(registry.CredDockerHubToken), registry.CredentialName(registry.CredDockerHubPassword), registry.CredentialName(registry.CredDockerHubUsername))
			}
			c.creds.Password, c.token, c.login = creds.Token, "", true
		}
	case creds.Username == "" && creds.Password == "":
		return nil, fmt.Errorf("Docker Hub credentials are not set: set %s, or %s and %s",
			registry.CredentialName(registry.CredDockerHubToken), registry.CredentialName(registry.CredDockerHubUsername), registry.CredentialName(registry.CredDockerHubPassword))
	case creds.Username == "":
		return nil, fmt.Errorf("%s is not set (%s is)", registry.CredentialName(registry.CredDockerHubUsername),
			registry.CredentialName(registry.CredDockerHubPassword))
	case creds.Password == "":
		return nil, fmt.Errorf("%s is not set (%s is)", registry.CredentialName(registry.CredDockerHubPassword),
			registry.CredentialName(registry.CredDockerHubUsername))
	default:
		c.login = true
	}
	for _, s := range []string{creds.Token, creds.Password} {
		if len(s) >= 4 {
			c.fixed = append(c.fixed, s)
		}
	}
	if err := WithBaseURL(DefaultBaseURL)(c); err != nil {
		return nil, err
	}
	for _, opt := range opts {
		if err := opt(c); err != nil {
			return nil, fmt.Errorf("%s on Docker Hub: %w", c.name, err)
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

// Repository returns docker.io/<namespace>/<name>.
func (c *Client) Repository() string { return c.name }

// isAccessToken reports whether s looks like a Docker personal or
// organisation access token, which the Hub API does not take as a bearer.
func isAccessToken(s string) bool {
	return strings.HasPrefix(s, "dckr_pat_") || strings.HasPrefix(s, "dckr_oat_")
}

// credentialHint says which credential a 401 concerns.
func (c *Client) credentialHint() string {
	if c.login {
		return "Docker Hub refused the credentials: check " + registry.CredentialName(registry.CredDockerHubUsername) + " and " +
			registry.CredentialName(registry.CredDockerHubPassword) + " (with two-factor authentication or SSO enforced, the password must " +
			"be a personal access token)"
	}
	return "Docker Hub refused the token: check " + registry.CredentialName(registry.CredDockerHubToken) + " (Hub API tokens expire; " +
		"or set " + registry.CredentialName(registry.CredDockerHubUsername) + " and " + registry.CredentialName(registry.CredDockerHubPassword) +
		" to have one made and renewed)"
}

// permissionHint says which rights a 403 may concern.
func (c *Client) permissionHint(write bool) string {
	if !write {
		return "the credentials may not read " + c.name + ": the account needs at least read access to the repository"
	}
	return "the credentials may not delete tags of " + c.name + ": the account needs admin (delete) access to the " +
		"repository, and an access token needs the Read, Write, Delete scope; Docker Hub has refused tag deletes " +
		"with tokens made from personal access tokens (hub-feedback #2251), so try the account password in " +
		registry.CredentialName(registry.CredDockerHubPassword)
}

// bearer returns the token to send, making one from the username and
// password when there is none or it is due for renewal.
func (c *Client) bearer(ctx context.Context) (string, error) {
	c.authMu.Lock()
	defer c.authMu.Unlock()
	if !c.login || (c.token != "" && c.Now().Sub(c.tokenAt) < loginRenewal) {
		return c.token, nil
	}
	tok, err := c.createToken(ctx)
	if err != nil {
		return "", err
	}
	c.token, c.tokenAt = tok, c.Now()
	c.addSecret(tok)
	return tok, nil
}

// dropToken forgets a made token the Hub API refused, so that the next
// request makes a new one.
func (c *Client) dropToken(tok string) {
	c.authMu.Lock()
	defer c.authMu.Unlock()
	if c.login && c.token == tok {
		c.token = ""
	}
}

// createToken exchanges the username and password for an access token:
// POST /v2/auth/token {"identifier","secret"} -> {"access_token"}.
func (c *Client) createToken(ctx context.Context) (string, error) {
	const op = "signing in to Docker Hub for"
	body, _ := json.Marshal(map[string]string{"identifier": c.creds.Username, "secret": c.creds.Password})
	// Making a token twice does no harm: a 429 or 5xx is retried.
	req, err := http.NewRequestWithContext(retry.Idempotent(ctx), http.MethodPost, c.endpoint("/v2/auth/token"), bytes.NewReader(body))
	if err != nil {
		return "", fmt.Errorf("%s %s on Docker Hub: %w", op, c.name, err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", c.UA)
	resp, err := c.hc.Do(req)
	if err != nil {
		return "", fmt.Errorf("%s %s on Docker Hub: %s", op, c.name, c.redact(err.Error()))
	}
	if resp.StatusCode != http.StatusOK {
		e := c.responseError(op, false, resp)
		if e.StatusCode == http.StatusUnauthorized || e.StatusCode == http.StatusForbidden {
			e.Kind, e.Hint = registrytypes.ErrUnauthorized, c.credentialHint()
		}
		return "", e
	}
	var out struct {
		AccessToken string `json:"access_token"`
	}
	err = apiclient.DecodeJSON(resp, 1<<20, &out)
	if err != nil || out.AccessToken == "" {
		return "", fmt.Errorf("%s %s on Docker Hub: the answer of POST /v2/auth/token holds no access_token", op, c.name)
	}
	return out.AccessToken, nil
}

// endpoint returns the URL of an API path.
func (c *Client) endpoint(path string) string {
	return c.Base.String() + path
}

// repoPath returns /v2/namespaces/<ns>/repositories/<repo> + suffix.
func (c *Client) namespacesPath(suffix string) string {
	return "/v2/namespaces/" + url.PathEscape(c.namespace) + "/repositories/" + url.PathEscape(c.repo) + suffix
}

// do sends one authenticated request. A made token the Hub API refuses with
// 401 is made again once. The caller closes the response.
func (c *Client) do(ctx context.Context, op, method, u string) (*http.Response, error) {
	for attempt := 0; ; attempt++ {
		tok, err := c.bearer(ctx)
		if err != nil {
			return nil, err
		}
		req, err := http.NewRequestWithContext(ctx, method, u, nil)
		if err != nil {
			return nil, fmt.Errorf("%s %s on Docker Hub: %w", op, c.name, err)
		}
		req.Header.Set("Authorization", "Bearer "+tok)
		req.Header.Set("Accept", "application/json")
		req.Header.Set("User-Agent", c.UA)
		resp, err := c.hc.Do(req)
		if err != nil {
			return nil, fmt.Errorf("%s %s on Docker Hub: %s", op, c.name, c.redact(err.Error()))
		}
		if resp.StatusCode == http.StatusUnauthorized && c.login && attempt == 0 {
			apiclient.Discard(resp)
			c.dropToken(tok)
			continue
		}
		return resp, nil
	}
}

// getJSON GETs u and decodes a 200 answer into v.
func (c *Client) getJSON(ctx context.Context, op, u string, write bool, v any) error {
	send := func(ctx context.Context, method, u string) (*http.Response, error) { return c.do(ctx, op, method, u) }
	_, err := apiclient.GetJSON(ctx, apiclient.JSONAPI{Vendor: "Docker Hub", Name: c.name, Limit: 64 << 20, Send: send,
		SendError: apiclient.AsSent, AnswerError: c.answerError, DecodePath: apiclient.AnswerOfGET}, op, u, write, v)
	return err
}

// answerError is responseError as an error.
func (c *Client) answerError(op string, write bool, resp *http.Response) error {
	return c.responseError(op, write, resp)
}

// Error is an unexpected answer of the Hub API; it unwraps to
// registrytypes.ErrNotFound, registrytypes.ErrUnauthorized or ErrTagImmutable
// where the answer was one of those.
type Error = apiclient.Error

// responseError reads (and closes) an unexpected answer and classifies it.
// write says whether the operation changes the repository.
func (c *Client) responseError(op string, write bool, resp *http.Response) *Error {
	defer apiclient.Discard(resp)
	e := apiclient.NewError("Docker Hub", op, c.name, resp)
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	e.Message = c.redact(apiMessage(body))
	switch {
	case resp.StatusCode == http.StatusUnauthorized:
		e.Kind, e.Hint = registrytypes.ErrUnauthorized, c.credentialHint()
	case resp.StatusCode == http.StatusForbidden:
		e.Kind, e.Hint = registrytypes.ErrUnauthorized, c.permissionHint(write)
	case resp.StatusCode == http.StatusNotFound:
		e.Kind = registrytypes.ErrNotFound
	case resp.StatusCode == http.StatusTooManyRequests:
		e.Hint = "Docker Hub's API rate limit was still exceeded after waiting; run again later or with less parallelism"
	case write && (resp.StatusCode == http.StatusConflict || resp.StatusCode == http.StatusLocked ||
		(resp.StatusCode >= 400 && resp.StatusCode < 500 && strings.Contains(strings.ToLower(e.Message), "immutable"))):
		e.Kind, e.Hint = ErrTagImmutable, "immutable tags cannot be deleted; the tag was skipped"
	}
	return e
}

// apiMessage picks the human part of an error answer: Hub answers
// {"message","errinfo"}, {"detail"} or {"errors":[{"message"}]}.
func apiMessage(body []byte) string {
	var m struct {
		Message string `json:"message"`
		Detail  any    `json:"detail"`
		Error   string `json:"error"`
		Errors  []struct {
			Code    string `json:"code"`
			Message string `json:"message"`
		} `json:"errors"`
	}
	var parts []string
	if json.Unmarshal(body, &m) == nil {
		if m.Message != "" {
			parts = append(parts, m.Message)
		}
		if s, ok := m.Detail.(string); ok && s != "" && s != m.Message {
			parts = append(parts, s)
		}
		if m.Error != "" {
			parts = append(parts, m.Error)
		}
		for _, x := range m.Errors {
			parts = append(parts, strings.TrimSuffix(x.Code+": "+x.Message, ": "))
		}
	} else if s := strings.TrimSpace(string(body)); s != "" && utf8.ValidString(s) && !strings.HasPrefix(s, "<") {
		parts = append(parts, s)
	}
	return apiclient.Truncate(strings.Join(strings.Fields(strings.Join(parts, "; ")), " "), 300)
}

// scrubber blanks anything that looks like a credential: JWTs and Docker
// access tokens included.
var scrubber = apiclient.NewScrubber([]string{"basic", "bearer", "jwt"}, apiclient.DefaultKeys,
	`\beyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]*\.?[A-Za-z0-9_-]*`, // a JWT
	`\bdckr_(pat|oat)_[A-Za-z0-9_-]+`)

// redact removes the client's own secrets and anything that looks like a
// credential from text bound for an error message.
func (c *Client) redact(s string) string {
	c.secMu.Lock()
	secrets := append(slices.Clone(c.fixed), c.made...)
	c.secMu.Unlock()
	return scrubber.Scrub(apiclient.ReplaceSecrets(s, 4, secrets...))
}

// addSecret remembers a made token to scrub from errors (the latest few).
func (c *Client) addSecret(s string) {
	c.secMu.Lock()
	defer c.secMu.Unlock()
	if len(c.made) >= 4 {
		c.made = slices.Delete(c.made, 0, 1)
	}
	c.made = append(c.made, s)
}
