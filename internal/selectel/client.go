// Package selectel is the cleanup backend for Selectel Container Registry
// (CRaaS, cr.selcloud.ru), following the routes of the official SDK, selectel/craas-go
// pkg/v1 (https://github.com/selectel/craas-go):
//
//   - a Keystone token: POST https://cloud.api.selcloud.ru/identity/v3/auth/tokens
//     with the password method (user name and password in the account's
//     domain), scoped to the project by id (--repo-selectel-vpc-id) or by
//     name in the account's domain (--repo-selectel-vpc); the token is the
//     X-Subject-Token answer header and goes into X-Auth-Token;
//   - the registry id: GET https://cr.selcloud.ru/api/v1/registries?limit=&offset=
//     → [{id, name}], every page, matched against the first path component
//     of the address (cr.selcloud.ru/<registry>/<repository>);
//   - tags: GET /api/v1/registries/<id>/repositories/<repository>/tags →
//     ["tag", ...]; a 404 is "no tags" only when
//     GET /api/v1/registries/<id>/repositories/<repository> finds the
//     repository;
//   - deletion: DELETE /api/v1/registries/<id>/repositories/<repository>/<digest>
//     → 204, which deletes the image and every tag on it.
//
// The API has no call that removes a single tag, so the client cannot
// untag: the registry spec of the kind says so, Untag fails, and cleanup
// keeps a tag whose image still carries a kept tag. Tag listings carry no
// digests or times: Resolve and Inspect use the Docker Registry API
// (WithRegistryAPI).
//
// 429 answers (Selectel's rate limit, with Retry-After) and 5xx are retried
// by the shared retry transport; a 401 renews the Keystone token once.
package selectel

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"

	"github.com/docker-werf/docker-werf/internal/apiclient"
	"github.com/docker-werf/docker-werf/internal/cleanup"
	"github.com/docker-werf/docker-werf/internal/registry"
	"github.com/docker-werf/docker-werf/internal/registryapi"
	"github.com/docker-werf/docker-werf/internal/version"
)

// Default endpoints.
const (
	DefaultBaseURL     = "https://cr.selcloud.ru/api/v1"
	DefaultIdentityURL = "https://cloud.api.selcloud.ru/identity/v3"
)

// ErrCannotUntag is returned by Untag: the CRaaS API deletes whole images only.
var ErrCannotUntag = fmt.Errorf("the Selectel Container Registry API cannot remove a single tag, "+
	"only an image with all its tags: %w", cleanup.ErrProtected)

// Credentials are the Selectel service user and project the Keystone token
// is issued for.
type Credentials struct {
	Username string // --repo-selectel-username, WERF_REPO_SELECTEL_USERNAME
	Password string // --repo-selectel-password, WERF_REPO_SELECTEL_PASSWORD
	Account  string // --repo-selectel-account, WERF_REPO_SELECTEL_ACCOUNT: the account (Keystone domain)
	VPC      string // --repo-selectel-vpc, WERF_REPO_SELECTEL_VPC: project name
	VPCID    string // --repo-selectel-vpc-id, WERF_REPO_SELECTEL_VPC_ID: project id, instead of the name
}

// RegistryAPI is what the client asks of the Docker Registry API: the CRaaS
// API lists tag names only. *registryapi.Client implements it.
type RegistryAPI interface {
	Resolve(ctx context.Context, tag string) (registryapi.Descriptor, error)
	Inspect(ctx context.Context, d registryapi.Descriptor) (registryapi.Image, error)
}

// Client is a cleanup.Registry for one Selectel repository. It is safe for
// concurrent use.
type Client struct {
	name        string // host/path, for messages
	registry    string // registry name (first path component)
	repository  string // repository inside the registry
	creds       Credentials
	base        string
	identityURL string
	hc          *http.Client
	ua          string
	regAPI      RegistryAPI
	now         func() time.Time

	tokenMu    sync.Mutex
	token      string
	tokenRenew time.Time

	idMu       sync.Mutex
	registryID string
}

// Option configures a Client.
type Option func(*Client) error

// WithBaseURL sets the CRaaS API base (default DefaultBaseURL).
func WithBaseURL(base string) Option {
	return func(c *Client) error {
		u, err := checkURL(base)
		c.base = u
		return err
	}
}

// WithIdentityURL sets the Keystone v3 base (default DefaultIdentityURL).
func WithIdentityURL(base string) Option {
	return func(c *Client) error {
		u, err := checkURL(base)
		c.identityURL = u
		return err
	}
}

func checkURL(base string) (string, error) {
	u, err := url.Parse(strings.TrimRight(base, "/"))
	if err != nil || !apiclient.IsBaseURL(u) {
		return "", fmt.Errorf("invalid base URL %q: want http(s)://host[:port][/path]", base)
	}
	return u.String(), nil
}

// WithTransport sets the HTTP transport of the CRaaS and identity API
// requests (default: retry.NewTransport over a clone of
// http.DefaultTransport). Nothing above it retries.
func WithTransport(rt http.RoundTripper) Option {
	return func(c *Client) error {
		if err := apiclient.CheckTransport(rt); err != nil {
			return err
		}
		c.hc = &http.Client{Transport: rt}
		return nil
	}
}

// WithRegistryAPI sets the Docker Registry API client that resolves tags and
// reads manifests and image configs (default: a registryapi.Client for the
// repository with the docker config's credentials).
func WithRegistryAPI(r RegistryAPI) Option {
	return func(c *Client) error {
		if rc, ok := r.(*registryapi.Client); r == nil || (ok && rc == nil) {
			return errors.New("nil registry API client")
		}
		c.regAPI = r
		return nil
	}
}

// WithUserAgent sets the User-Agent (default "docker-werf/<version>").
func WithUserAgent(ua string) Option {
	return func(c *Client) error {
		c.ua = ua
		return nil
	}
}

// withClock is for tests.
func withClock(now func() time.Time) Option {
	return func(c *Client) error {
		c.now = now
		return nil
	}
}

var defaultTransport = apiclient.SharedTransport(16)

// New returns a Client for repo, cr.selcloud.ru/<registry>/<repository>.
// Missing credentials are an error naming the flag and variable. Nothing is
// sent until the first call.
func New(repo registry.Repository, creds Credentials, opts ...Option) (*Client, error) {
	name := repo.Name()
	reg, rest, ok := strings.Cut(repo.Path, "/")
	if !ok || reg == "" || rest == "" {
		return nil, fmt.Errorf("%s on Selectel: expected cr.selcloud.ru/<registry>/<repository>; images in the "+
			"registry root cannot be cleaned through the Selectel API", name)
	}
	var missing []string
	for _, m := range []struct {
		value string
		key   registry.CredentialKey
	}{{creds.Username, registry.CredSelectelUsername}, {creds.Password, registry.CredSelectelPassword},
		{creds.Account, registry.CredSelectelAccount}} {
		if m.value == "" {
			missing = append(missing, registry.CredentialName(m.key))
		}
	}
	if creds.VPC == "" && creds.VPCID == "" {
		missing = append(missing, registry.CredentialName(registry.CredSelectelVPC)+" or "+registry.CredentialName(registry.CredSelectelVPCID))
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("%s on Selectel: %s not set", name, strings.Join(missing, ", "))
	}
	c := &Client{
		name: name, registry: reg, repository: rest, creds: creds,
		base: DefaultBaseURL, identityURL: DefaultIdentityURL,
		ua: "docker-werf/" + version.Version, now: time.Now,
	}
	for _, opt := range opts {
		if err := opt(c); err != nil {
			return nil, fmt.Errorf("%s on Selectel: %w", name, err)
		}
	}
	if c.hc == nil {
		c.hc = &http.Client{Transport: defaultTransport()}
	}
	if c.regAPI == nil {
		rc, err := registryapi.New(name, authn.DefaultKeychain)
		if err != nil {
			return nil, fmt.Errorf("the registry API of Selectel: %w", err)
		}
		c.regAPI = rc
	}
	return c, nil
}

// Repository returns host/path.
func (c *Client) Repository() string { return c.name }
