// Package harbor is the cleanup backend for Harbor 2.x through its v2.0 REST
// API (https://<host>/api/v2.0), with HTTP Basic authentication as a user or
// robot account (--repo-harbor-username, --repo-harbor-password).
//
// Harbor's registry API cannot untag (DELETE /v2/<name>/manifests/<tag>
// answers 400 UNSUPPORTED) and a digest DELETE removes the artifact with all
// its tags, so this package uses the artifact API instead:
//
//   - Tags lists the repository's artifacts with their tags
//     (GET /projects/{project}/repositories/{repository}/artifacts?with_tag=true,
//     paginated with page and page_size, X-Total-Count and Link);
//   - Resolve and Inspect read one artifact
//     (GET .../artifacts/{tag or digest}); Inspect takes Created from the
//     artifact's push_time, the revision from its annotations or the image
//     config labels Harbor keeps in extra_attrs, and an index's children from
//     its references;
//   - Untag removes exactly one tag of one artifact
//     (DELETE .../artifacts/{digest}/tags/{tag}), which Harbor refuses (404)
//     when the tag is no longer on that digest: the check and the delete are
//     one request;
//   - DeleteManifest deletes an artifact (DELETE .../artifacts/{digest}).
//
// The repository path is "<project>/<repository>"; the repository name may
// contain slashes and is URL-encoded twice in API paths, as Harbor wants
// (a/b becomes a%252Fb).
//
// The listing carries everything the inventory needs: right after it,
// Resolve answers from it once per tag and Inspect from its artifacts, so an
// inventory costs one request per page (plus one per child of an index
// without a revision of its own). See WithListingMaxAge.
//
// Immutable tags. Harbor refuses to delete a tag that a tag immutability rule
// of the project matches (412 PRECONDITION, "configured as immutable") or,
// with Notary, a signed tag. Untag skips a tag that the last listing marked
// immutable without sending a request, and turns Harbor's refusal into a
// *ProtectedError (errors.Is ErrImmutable or ErrSigned, which wrap
// cleanup.ErrProtected): cleanup keeps the tag and reports it as protected,
// with a message naming the immutability rule. Protected returns the tags
// the last listing found protected, for a caller that wants to know before
// planning.
package harbor

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/docker-werf/docker-werf/internal/apiclient"
	"github.com/docker-werf/docker-werf/internal/registry"
	"github.com/docker-werf/docker-werf/internal/version"
)

// DefaultPageSize is the page_size of artifact listings unless WithPageSize
// says otherwise: Harbor's maximum.
const DefaultPageSize = 100

// MaxPageSize is the largest page_size Harbor accepts.
const MaxPageSize = 100

// APIPath is the path of the v2.0 API below the Harbor host.
const APIPath = "/api/v2.0"

// DefaultListingMaxAge is how long after a listing Resolve answers from it
// (see WithListingMaxAge).
const DefaultListingMaxAge = 15 * time.Second

// Credentials are Harbor's native credentials: a user or a robot account
// ("robot$name", or "robot$project+name") and its password or secret.
type Credentials struct {
	Username string // --repo-harbor-username, WERF_REPO_HARBOR_USERNAME
	Password string // --repo-harbor-password, WERF_REPO_HARBOR_PASSWORD
}

// defaultTransport is shared by clients built without WithTransport, so that
// they share connections and the per-host rate-limit gate.
var defaultTransport = apiclient.SharedTransport(64)

// Option configures a Client.
type Option func(*Client) error

// set is the Option of a shared setting.
func set(s apiclient.Setting) Option { return func(c *Client) error { return s(&c.Settings) } }

// WithBaseURL sets the API endpoint (default https://<host>/api/v2.0). A URL
// without a path gets /api/v2.0 appended.
func WithBaseURL(raw string) Option {
	return func(c *Client) error {
		u, err := url.Parse(raw)
		if err != nil || !apiclient.IsBaseURL(u) {
			return fmt.Errorf("invalid base URL %q: want https://host[:port][/path]", raw)
		}
		if u.Path == "" || u.Path == "/" {
			u.Path = APIPath
		}
		u.Path = strings.TrimSuffix(u.Path, "/")
		u.RawPath = ""
		c.Base = u
		return nil
	}
}

// WithTransport sets the RoundTripper requests go through (default: a
// retry.Transport over a clone of http.DefaultTransport, shared by all
// clients). Nothing above it retries, so pass a retry.Transport or something
// that honours 429 alike.
func WithTransport(rt http.RoundTripper) Option {
	return func(c *Client) error {
		if err := apiclient.CheckTransport(rt); err != nil {
			return err
		}
		c.hc = &http.Client{Transport: rt}
		return nil
	}
}

// WithPageSize sets the page_size of artifact listings, 1 to MaxPageSize
// (default DefaultPageSize).
func WithPageSize(n int) Option { return set(apiclient.PageSize(n)) }

// WithUserAgent sets the User-Agent (default "docker-werf/<version>").
func WithUserAgent(ua string) Option { return set(apiclient.UserAgent(ua)) }

// WithListingMaxAge sets how long after a listing Resolve answers from it
// (once per tag) instead of reading the tag's artifact again (default
// DefaultListingMaxAge; 0: always read). The inventory resolves every tag
// right after listing them: reusing the listing saves one request per tag.
// Untag needs no lookup: Harbor deletes the tag only from the expected
// artifact.
func WithListingMaxAge(d time.Duration) Option { return set(apiclient.ListingMaxAge(d)) }

// WithClock replaces time.Now (the age of a listing); for tests.
func WithClock(now func() time.Time) Option {
	return func(c *Client) error {
		if now != nil {
			c.Now = now
		}
		return nil
	}
}

// Client talks to one Harbor repository. It is safe for concurrent use and
// implements cleanup.Registry.
type Client struct {
	name       string // host/path, for messages
	project    string
	repository string // inside the project; may contain "/"
	creds      Credentials
	apiclient.Settings
	hc *http.Client

	mu          sync.Mutex
	protected   map[string]string        // tag -> why Harbor refuses to delete it
	accessoryOf map[string]string        // accessory digest -> subject digest
	listed      map[string]*artifactJSON // tag -> its artifact in the last listing, until Resolve takes it
	listedAt    time.Time
	artifacts   map[string]*artifactJSON // digest -> the artifact in the last listing
}

// The credentials as the registry spec names them.
var (
	credUsername = registry.CredentialFor(registry.CredHarborUsername)
	credPassword = registry.CredentialFor(registry.CredHarborPassword)
)

// names renders credentials as "--flag (ENV)".
var names = apiclient.CredentialNames

// New returns a Client for repo, whose path is "<project>/<repository>".
// Nothing is sent until the first call.
func New(repo registry.Repository, creds Credentials, opts ...Option) (*Client, error) {
	name := repo.Name()
	if repo.Host == "" || repo.Path == "" {
		return nil, fmt.Errorf("invalid Harbor repository %q", name)
	}
	project, repository, ok := strings.Cut(repo.Path, "/")
	if !ok || project == "" || repository == "" {
		return nil, fmt.Errorf("repository %s has no project: Harbor repositories are <host>/<project>/<name>", name)
	}
	var missing []registry.Credential
	if creds.Username == "" {
		missing = append(missing, credUsername)
	}
	if creds.Password == "" {
		missing = append(missing, credPassword)
	}
	if len(missing) > 0 {
		verb := "is"
		if len(missing) > 1 {
			verb = "are"
		}
		return nil, fmt.Errorf("%s %s not set: cleaning %s through the Harbor API needs a user or robot account "+
			"allowed to list and delete artifacts and tags of project %s", names(missing...), verb, name, project)
	}
	c := &Client{
		name:       name,
		project:    project,
		repository: repository,
		creds:      creds,
		Settings: apiclient.Settings{PageSize: DefaultPageSize, MaxPageSize: MaxPageSize,
			UA: "docker-werf/" + version.Version, MaxAge: DefaultListingMaxAge, Now: time.Now},
	}
	for _, opt := range opts {
		if err := opt(c); err != nil {
			return nil, fmt.Errorf("%s on Harbor: %w", name, err)
		}
	}
	if c.Base == nil {
		c.Base = &url.URL{Scheme: "https", Host: repo.Host, Path: APIPath}
	}
	if c.hc == nil {
		c.hc = &http.Client{Transport: defaultTransport()}
	}
	return c, nil
}

// Repository returns host/path.
func (c *Client) Repository() string { return c.name }

// Protected returns the tags the last Tags (or Resolve) found Harbor will
// refuse to delete, each with the reason: "immutable" (a tag immutability
// rule matches it) or "signed". The map is a copy.
func (c *Client) Protected() map[string]string {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make(map[string]string, len(c.protected))
	for k, v := range c.protected {
		out[k] = v
	}
	return out
}
