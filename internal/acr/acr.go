// Package acr is the cleanup backend for Azure Container Registry
// (*.azurecr.io) through ACR's metadata API (/acr/v1), without the az CLI.
//
//   - Tags lists the tags with their attributes
//     (GET /acr/v1/{repo}/_tags?n=...&orderby=timedesc, the next page's last=
//     taken from the rel="next" Link, as acr-cli does);
//   - Resolve reads one tag (GET /acr/v1/{repo}/_tags/{tag});
//   - Inspect reads the manifest and image config through the registry API
//     (GET /v2/{repo}/manifests/{digest}, /v2/{repo}/blobs/{digest}) for an
//     index's children, a referrer's subject and the revision labels, and
//     takes Created from ACR's own createdTime of the manifest
//     (GET /acr/v1/{repo}/_manifests/{digest});
//   - Untag removes one tag and leaves the manifest and its other tags
//     (DELETE /acr/v1/{repo}/_tags/{tag} -> 202) after checking that the tag
//     is still on the expected digest and is not locked;
//   - DeleteManifest deletes a manifest with its tags
//     (DELETE /v2/{repo}/manifests/{digest}).
//
// Authentication, one of:
//
//   - Basic with --repo-acr-username and --repo-acr-password: the admin user,
//     a repository-scoped token (its name and one of its passwords) or a
//     service principal (its application id and secret), sent directly on
//     /acr/v1 and /v2;
//   - --repo-acr-token: an ACR refresh token (what `az acr login
//     --expose-token` prints, or a docker login with the user
//     00000000-0000-0000-0000-000000000000, which the username and password
//     may also give), or a Microsoft Entra ID access token (`az account
//     get-access-token`), which is first exchanged for a refresh token
//     (POST /oauth2/exchange). The refresh token buys access tokens for
//     repository:<repo>:pull,delete,metadata_read,metadata_write
//     (POST /oauth2/token), renewed before they expire and after a 401.
//
// Right after a listing, Resolve answers from it once per tag (see
// WithListingMaxAge); Untag and DeleteManifest always read the tag or
// manifest first.
//
// Locked tags. A tag whose changeableAttributes say deleteEnabled=false or
// writeEnabled=false (az acr repository update --delete-enabled false or
// --write-enabled false) is not deleted: Untag and DeleteManifest return a
// *LockedError (errors.Is ErrLocked, which wraps cleanup.ErrProtected)
// without sending the DELETE, and turn ACR's 405 for a locked item into the
// same error: cleanup keeps the tag and reports it as protected, with a
// message naming the lock. Protected returns the tags the last listing found
// locked, for a caller that wants to know before planning.
package acr

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"sync"
	"time"

	"github.com/docker-werf/docker-werf/internal/apiclient"
	"github.com/docker-werf/docker-werf/internal/registry"
	"github.com/docker-werf/docker-werf/internal/registryapi"
	"github.com/docker-werf/docker-werf/internal/version"
)

// DefaultPageSize is the n= of tag listings unless WithPageSize says
// otherwise (acr-cli's page size).
const DefaultPageSize = 100

// MaxPageSize is the largest n= this package sends: acr-cli's
// manifestTagFetchCount (internal/api/acrsdk.go), the page size ACR is known
// to serve in one answer.
const MaxPageSize = 100

// DefaultListingMaxAge is how long after a listing Resolve answers from it
// (see WithListingMaxAge).
const DefaultListingMaxAge = 15 * time.Second

// RefreshTokenUser is the docker login user name that says the password is
// an ACR refresh token.
const RefreshTokenUser = "00000000-0000-0000-0000-000000000000"

// Credentials are ACR's native credentials: Username and Password, or Token.
type Credentials struct {
	Username string // --repo-acr-username, WERF_REPO_ACR_USERNAME
	Password string // --repo-acr-password, WERF_REPO_ACR_PASSWORD
	// Token is an ACR refresh token or a Microsoft Entra ID access token
	// (--repo-acr-token, WERF_REPO_ACR_TOKEN). It wins over Username and
	// Password.
	Token string
}

// defaultTransport is shared by clients built without WithTransport, so that
// they share connections and the per-host rate-limit gate.
var defaultTransport = apiclient.SharedTransport(64)

// Option configures a Client.
type Option func(*Client) error

// set is the Option of a shared setting.
func set(s apiclient.Setting) Option { return func(c *Client) error { return s(&c.Settings) } }

// WithBaseURL sets the registry endpoint serving /acr/v1, /oauth2 and /v2
// (default https://<host>). Tokens are still asked for the repository's
// host as the service.
func WithBaseURL(raw string) Option {
	return func(c *Client) error {
		u, err := url.Parse(raw)
		if err != nil || !apiclient.IsBaseURL(u) || (u.Path != "" && u.Path != "/") {
			return fmt.Errorf("invalid base URL %q: want https://host[:port]", raw)
		}
		c.Base = &url.URL{Scheme: u.Scheme, Host: u.Host}
		return nil
	}
}

// WithTransport sets the RoundTripper requests go through, beneath the
// authentication (default: a retry.Transport over a clone of
// http.DefaultTransport, shared by all clients). Nothing above it retries,
// so pass a retry.Transport or something that honours 429 alike.
func WithTransport(rt http.RoundTripper) Option { return set(apiclient.Transport(rt)) }

// WithPageSize sets the n= of tag listings, 1 to MaxPageSize (default
// DefaultPageSize).
func WithPageSize(n int) Option { return set(apiclient.PageSize(n)) }

// WithUserAgent sets the User-Agent (default "docker-werf/<version>").
func WithUserAgent(ua string) Option { return set(apiclient.UserAgent(ua)) }

// WithTenant sets the Microsoft Entra tenant sent when exchanging an Entra
// access token (default: the token's own "tid").
func WithTenant(tenant string) Option {
	return func(c *Client) error {
		c.tenant = tenant
		return nil
	}
}

// WithListingMaxAge sets how long after a tag listing Resolve answers from
// it (once per tag) instead of reading the tag again (default
// DefaultListingMaxAge; 0: always read). The inventory resolves every tag
// right after listing them: reusing the listing saves one request per tag.
func WithListingMaxAge(d time.Duration) Option { return set(apiclient.ListingMaxAge(d)) }

// RegistryAPI is what Inspect asks of the Docker Registry API: manifests and
// image configs, which ACR's metadata API does not show.
// *registryapi.Client implements it.
type RegistryAPI interface {
	Inspect(ctx context.Context, d registryapi.Descriptor) (registryapi.Image, error)
}

// WithRegistryAPI sets the Docker Registry API client Inspect reads
// manifests and image configs with. Without it the client reads them itself
// (GET /v2/...) with the ACR credentials it was given, which is what you
// want unless the docker config holds better ones.
func WithRegistryAPI(r RegistryAPI) Option {
	return func(c *Client) error {
		if r == nil {
			return errors.New("nil registry API client")
		}
		c.v2 = r
		return nil
	}
}

// WithClock replaces time.Now (access token expiry, the age of a listing);
// for tests.
func WithClock(now func() time.Time) Option {
	return func(c *Client) error {
		if now != nil {
			c.Now = now
		}
		return nil
	}
}

// Client talks to one ACR repository. It is safe for concurrent use and
// implements cleanup.Registry.
type Client struct {
	name string // host/path, for messages
	path string // repository inside the registry
	apiclient.Settings
	hc     *http.Client // authenticated
	auth   *authTransport
	v2     RegistryAPI
	ownV2  bool // v2 uses this client's credentials
	tenant string

	mu       sync.Mutex
	locked   map[string]string // tag -> why it is locked, from the last listing or lookup
	listed   map[string]string // tag -> digest in the last listing, until Resolve takes it
	listedAt time.Time
}

// The credentials as the registry spec names them.
var (
	credUsername = registry.CredentialFor(registry.CredACRUsername)
	credPassword = registry.CredentialFor(registry.CredACRPassword)
	credToken    = registry.CredentialFor(registry.CredACRToken)
)

// names renders credentials as "--flag (ENV)".
var names = apiclient.CredentialNames

// New returns a Client for repo. Nothing is sent until the first call.
func New(repo registry.Repository, creds Credentials, opts ...Option) (*Client, error) {
	name := repo.Name()
	if repo.Host == "" || repo.Path == "" {
		return nil, fmt.Errorf("invalid ACR repository %q", name)
	}
	c := &Client{name: name, path: repo.Path, Settings: apiclient.Settings{PageSize: DefaultPageSize,
		MaxPageSize: MaxPageSize, UA: "docker-werf/" + version.Version, MaxAge: DefaultListingMaxAge, Now: time.Now}}
	for _, opt := range opts {
		if err := opt(c); err != nil {
			return nil, fmt.Errorf("%s on ACR: %w", name, err)
		}
	}
	if c.Base == nil {
		c.Base = &url.URL{Scheme: "https", Host: repo.Host}
	}
	if c.RT == nil {
		c.RT = defaultTransport()
	}
	c.auth = &authTransport{base: c.RT, host: c.Base.Host}
	switch {
	case creds.Token != "":
		c.auth.tokens = c.newTokenSource(repo.Host, creds.Token, credToken)
	case creds.Username == RefreshTokenUser && creds.Password != "":
		c.auth.tokens = c.newTokenSource(repo.Host, creds.Password, credPassword)
	case creds.Username != "" && creds.Password != "":
		c.auth.basic = "Basic " + basicAuth(creds.Username, creds.Password)
		c.auth.secrets = []string{creds.Password}
		c.auth.who = "the credentials in " + names(credUsername, credPassword)
	case creds.Username != "":
		return nil, fmt.Errorf("%s is not set: it goes with %s", names(credPassword), names(credUsername))
	case creds.Password != "":
		return nil, fmt.Errorf("%s is not set: it goes with %s", names(credUsername), names(credPassword))
	default:
		return nil, fmt.Errorf("neither %s nor %s is set: cleaning %s through the ACR API needs the admin user, "+
			"a repository-scoped token or a service principal (username and password), or an ACR refresh token or "+
			"Microsoft Entra access token", names(credUsername, credPassword), names(credToken), name)
	}
	c.hc = &http.Client{Transport: c.auth}
	if c.v2 == nil {
		v2, err := registryapi.New(c.Base.Host+"/"+c.path, nil, registryapi.WithTransport(c.auth),
			registryapi.WithUserAgent(c.UA), registryapi.WithInsecure(c.Base.Scheme == "http"))
		if err != nil {
			return nil, fmt.Errorf("the registry API of ACR: %w", err)
		}
		c.v2, c.ownV2 = v2, true
	}
	return c, nil
}

// Repository returns host/path.
func (c *Client) Repository() string { return c.name }

// Protected returns the tags the last Tags (or Resolve) found locked, each
// with the reason ("locked: deleteEnabled=false" and the like). The map is a
// copy.
func (c *Client) Protected() map[string]string {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make(map[string]string, len(c.locked))
	for k, v := range c.locked {
		out[k] = v
	}
	return out
}
