// Package github is the cleanup backend for GitHub Packages' container
// registry (ghcr.io/<owner>/<package>). The registry API of ghcr.io refuses
// every DELETE (405 UNSUPPORTED), so everything goes through the GitHub REST
// API (https://docs.github.com/en/rest/packages/packages):
//
//   - the owner is a user or an organisation (GET /users/{owner} says which);
//     an organisation's packages are under /orgs/{org}/packages/container/{pkg},
//     the token owner's under /user/packages/container/{pkg} (GET /user says
//     whose token it is) and another user's under
//     /users/{user}/packages/container/{pkg}; {pkg} is the repository path
//     after the owner, URL-encoded ("a/b" is "a%2Fb");
//   - tags: the package versions, GET .../versions?per_page=N, following the
//     Link rel="next" headers to the end; a version is one manifest, its name
//     is the manifest digest and metadata.container.tags are its tags;
//     created_at is when the manifest was first pushed;
//   - deletion: DELETE .../versions/{id} deletes the manifest with all its
//     tags. A single tag cannot be removed: the registry spec of the kind says
//     so (Deletion.UntagSafe false), Untag refuses, and cleanup deletes a
//     version only when every tag on it is to go.
//
// A token without the rights to delete gets a 403 whose error names the
// scopes needed (read:packages and delete:packages) and says that a
// workflow's GITHUB_TOKEN deletes only with admin access to the package.
// GitHub's rate-limit answers (403 or 429 with x-ratelimit-remaining: 0 and
// x-ratelimit-reset, or with Retry-After) are waited out by the retrying
// transport (internal/retry).
package github

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"

	"github.com/docker-werf/docker-werf/internal/apiclient"
	"github.com/docker-werf/docker-werf/internal/registry"
	"github.com/docker-werf/docker-werf/internal/registrytypes"
	buildversion "github.com/docker-werf/docker-werf/internal/version"
)

// Defaults and limits.
const (
	// DefaultBaseURL is the REST API of github.com.
	DefaultBaseURL = "https://api.github.com"
	// DefaultPageSize is the per_page of version listings, also GitHub's
	// maximum.
	DefaultPageSize = 100
	MaxPageSize     = 100
	// APIVersion is the X-GitHub-Api-Version sent with every request.
	APIVersion = "2022-11-28"
	// DefaultDeleteConcurrency is how many version deletions run at once.
	DefaultDeleteConcurrency = 1
)

// ErrCannotUntag is wrapped by Untag: GitHub Packages cannot remove one tag
// of a package version.
var ErrCannotUntag = fmt.Errorf("GitHub Packages cannot remove a single tag: a package version "+
	"(one manifest) is deleted with all its tags: %w", registrytypes.ErrProtected)

// Credentials are GitHub's native credentials.
type Credentials struct {
	// Token is a classic personal access token with read:packages and
	// delete:packages, or a workflow's GITHUB_TOKEN (which deletes only
	// with admin access to the package): --repo-github-token,
	// WERF_REPO_GITHUB_TOKEN.
	Token string
}

// OwnerType says where the package's API lives.
type OwnerType string

const (
	// OwnerAuto asks GitHub: GET /users/{owner}, and for a user GET /user.
	OwnerAuto OwnerType = ""
	// OwnerOrganization: /orgs/{owner}/packages/container/{pkg}.
	OwnerOrganization OwnerType = "org"
	// OwnerAuthenticatedUser: /user/packages/container/{pkg}; the owner
	// must be the token's user.
	OwnerAuthenticatedUser OwnerType = "user"
	// OwnerUser: /users/{owner}/packages/container/{pkg}.
	OwnerUser OwnerType = "users"
)

// RegistryAPI is what the client asks of the Docker Registry API for what
// the GitHub API does not tell: manifest media types, index children,
// subjects and revision labels, in Inspect. *registryapi.Client implements
// it.
type RegistryAPI interface {
	Inspect(ctx context.Context, d registrytypes.Descriptor) (registrytypes.Image, error)
}

// Option configures a Client.
type Option func(*Client) error

// set is the Option of a shared setting.
func set(s apiclient.Setting) Option { return func(c *Client) error { return s(&c.Settings) } }

// WithBaseURL sets the REST API endpoint (default DefaultBaseURL for ghcr.io;
// https://<host>/api/v3 for a GitHub Enterprise Server registry at
// containers.<host>).
func WithBaseURL(base string) Option { return set(apiclient.BaseURL("GitHub API", base)) }

// WithTransport sets the HTTP transport (default: one retry.Transport shared
// by all clients of this package, over a clone of http.DefaultTransport).
// Nothing above it retries, so pass a retrying one.
func WithTransport(rt http.RoundTripper) Option { return set(apiclient.Transport(rt)) }

// WithPageSize sets the per_page of version listings, 1 to MaxPageSize
// (default DefaultPageSize).
func WithPageSize(n int) Option { return set(apiclient.PageSize(n)) }

// WithRegistryAPI sets the Docker Registry API client Inspect reads
// manifests and image configs with. Without it Inspect knows only the
// digest and the version's created_at.
func WithRegistryAPI(r RegistryAPI) Option {
	return func(c *Client) error {
		c.regAPI = r
		return nil
	}
}

// WithOwnerType says whether the owner is an organisation, the token's user
// or another user, instead of asking GitHub.
func WithOwnerType(t OwnerType) Option {
	return func(c *Client) error {
		switch t {
		case OwnerAuto, OwnerOrganization, OwnerAuthenticatedUser, OwnerUser:
			c.ownerType = t
			return nil
		}
		return fmt.Errorf("unknown owner type %q (want %q, %q or %q)", t, OwnerOrganization, OwnerAuthenticatedUser, OwnerUser)
	}
}

// WithDeleteConcurrency sets how many version deletions run at once
// (default DefaultDeleteConcurrency). GitHub asks clients to send mutating
// requests serially; its secondary rate limits punish parallel ones.
func WithDeleteConcurrency(n int) Option {
	return func(c *Client) error {
		if n < 1 {
			return fmt.Errorf("delete concurrency %d out of range", n)
		}
		c.deletes = make(chan struct{}, n)
		return nil
	}
}

// WithUserAgent sets the User-Agent (default "docker-werf/<version>").
func WithUserAgent(ua string) Option { return set(apiclient.UserAgent(ua)) }

// defaultTransport is shared by every Client built without WithTransport,
// so that they share connections and the per-host rate-limit gates.
var defaultTransport = apiclient.SharedTransport(16)

// Client is the cleanup.Registry of one GitHub container package. It is
// safe for concurrent use. Use one Client for the inventory and the
// deletions of a run: DeleteManifest refuses to delete a version that got a
// tag the Client did not see on it when it first listed it.
type Client struct {
	name  string // host/path, for messages
	owner string
	pkg   string // package name, unescaped
	token string
	apiclient.Settings
	hc        *http.Client
	regAPI    RegistryAPI
	ownerType OwnerType
	deletes   chan struct{} // bounds concurrent deletions

	mu     sync.Mutex
	prefix string // escaped API path of the package, once known

	listMu   sync.Mutex // one listing at a time
	snapMu   sync.Mutex // guards snap and baseline
	snap     *snapshot
	baseline map[string][]string // digest -> tags when the Client first saw it
}

// New returns a Client for repo (ghcr.io/<owner>/<package...>). Nothing is
// sent until the first call.
func New(repo registry.Repository, creds Credentials, opts ...Option) (*Client, error) {
	name := repo.Name()
	owner, pkg, ok := strings.Cut(repo.Path, "/")
	if !ok || owner == "" || pkg == "" {
		return nil, fmt.Errorf("%s on GitHub: want <host>/<owner>/<package>: a GitHub container package lives under "+
			"a user or organisation", name)
	}
	c := &Client{
		name:     name,
		owner:    owner,
		pkg:      pkg,
		token:    strings.TrimSpace(creds.Token),
		Settings: apiclient.Settings{PageSize: DefaultPageSize, MaxPageSize: MaxPageSize, UA: "docker-werf/" + buildversion.Version},
		baseline: map[string][]string{},
	}
	for _, opt := range opts {
		if err := opt(c); err != nil {
			return nil, fmt.Errorf("%s on GitHub: %w", name, err)
		}
	}
	if c.token == "" {
		return nil, fmt.Errorf("%s on GitHub: %s is not set: cleanup deletes package versions through the GitHub API, "+
			"which needs a classic personal access token with the read:packages and delete:packages scopes "+
			"(or a workflow's GITHUB_TOKEN with admin access to the package)", name, tokenCredential())
	}
	if c.Base == nil {
		base, err := defaultBaseURL(repo.Host)
		if err != nil {
			return nil, fmt.Errorf("%s on GitHub: %w", name, err)
		}
		c.Base = base
	}
	if c.RT == nil {
		c.RT = defaultTransport()
	}
	if c.deletes == nil {
		c.deletes = make(chan struct{}, DefaultDeleteConcurrency)
	}
	c.hc = &http.Client{Transport: c.RT, CheckRedirect: sameHostRedirect}
	return c, nil
}

// defaultBaseURL maps the registry host to its REST API.
func defaultBaseURL(host string) (*url.URL, error) {
	h := strings.ToLower(host)
	if i := strings.LastIndexByte(h, ':'); i >= 0 && !strings.Contains(h[i:], "]") {
		h = h[:i]
	}
	switch {
	case h == "ghcr.io":
		return url.Parse(DefaultBaseURL)
	case h == "docker.pkg.github.com":
		return nil, errors.New("docker.pkg.github.com is the old GitHub Packages Docker registry, which the " +
			"container packages API does not serve: move the images to ghcr.io")
	case strings.HasPrefix(h, "containers.") && len(h) > len("containers."):
		// GitHub Enterprise Server with subdomain isolation.
		return url.Parse("https://" + strings.TrimPrefix(h, "containers.") + "/api/v3")
	}
	return nil, fmt.Errorf("no GitHub API known for registry host %s: pass the API URL (WithBaseURL)", host)
}

// sameHostRedirect follows redirects only to the API host: a redirect
// elsewhere would carry the token away (Go drops Authorization on a host
// change, but this client should not wander off anyway).
func sameHostRedirect(req *http.Request, via []*http.Request) error {
	if len(via) >= 5 {
		return errors.New("stopped after 5 redirects")
	}
	if !strings.EqualFold(req.URL.Host, via[0].URL.Host) {
		return fmt.Errorf("refusing redirect to another host: %s", req.URL.Redacted())
	}
	return nil
}

// Repository returns host/path.
func (c *Client) Repository() string { return c.name }

// tokenCredential names the flag and variable of the token.
func tokenCredential() string { return registry.CredentialName(registry.CredGitHubToken) }
