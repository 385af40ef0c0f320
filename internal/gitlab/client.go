// Package gitlab is the cleanup backend for GitLab container registries
// (registry.gitlab.com and self-hosted instances) over the GitLab REST API
// (https://docs.gitlab.com/api/container_registry/):
//
//   - the project and its registry repository are found from the repository
//     path: GET /projects/:id/registry/repositories?tags=false for the
//     longest path prefix that is a project (":id" URL-encoded), matching the
//     repository's "path";
//   - tags: GET /projects/:id/registry/repositories/:repository_id/tags,
//     following X-Next-Page (or the Link header) to the end; one tag with
//     its digest and created_at (the manifest's creation time):
//     GET .../tags/:tag_name;
//   - removing one tag: DELETE .../tags/:tag_name. The manifest and every
//     other tag on it stay; protected tags answer a plain 403, which the
//     project's protection tag rules (GET /projects/:id/registry/protection/
//     tag/rules) tell apart from missing rights.
//
// Credentials: --repo-gitlab-token (WERF_REPO_GITLAB_TOKEN), a project,
// group or personal access token with the api scope, sent as PRIVATE-TOKEN;
// without it a job's CI_JOB_TOKEN is sent as JOB-TOKEN. A job token reaches
// only the registry of the project whose pipeline runs the job, and deletes
// only if the job's user may delete container images there.
//
// The API base URL comes from the registry host (registry.gitlab.com is
// gitlab.com/api/v4; registry.<domain> is <domain>/api/v4), from the job's
// CI_API_V4_URL or CI_SERVER_URL when the repository is on the job's own
// registry (WithCIEnv), or from WithBaseURL. GitLab's 429 answers (with
// Retry-After and RateLimit-Reset) are waited out by the retrying transport
// (internal/retry).
package gitlab

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/docker-werf/docker-werf/internal/apiclient"
	"github.com/docker-werf/docker-werf/internal/registry"
	"github.com/docker-werf/docker-werf/internal/registrytypes"
	buildversion "github.com/docker-werf/docker-werf/internal/version"
)

// Defaults and limits.
const (
	// DefaultPageSize is the per_page of listings, also GitLab's maximum.
	DefaultPageSize = 100
	MaxPageSize     = 100
)

// Header names of the two kinds of token.
const (
	headerPrivateToken = "PRIVATE-TOKEN"
	headerJobToken     = "JOB-TOKEN"
)

// Sentinel errors, wrapped by the Client's errors; test with errors.Is.
var (
	// ErrProtectedTag: GitLab refused to delete a protected (or immutable)
	// tag. The tag was left alone.
	ErrProtectedTag = fmt.Errorf("the tag is protected: %w", registrytypes.ErrProtected)
	// ErrRateLimited: GitLab still answered 429 when the retrying
	// transport gave up.
	ErrRateLimited = errors.New("GitLab API rate limit exceeded")
)

// Credentials are GitLab's native credentials. Token wins when set.
type Credentials struct {
	// Token is a project, group or personal access token with the api
	// scope (read_api only lists), sent as PRIVATE-TOKEN:
	// --repo-gitlab-token, WERF_REPO_GITLAB_TOKEN.
	Token string
	// JobToken is a job's CI_JOB_TOKEN, sent as JOB-TOKEN when Token is
	// empty. It reaches only the registry of the project running the
	// pipeline and deletes only if the job's user may delete container
	// images there (Developer role or higher).
	JobToken string
}

// RegistryAPI is what the client asks of the Docker Registry API for what
// the GitLab API does not tell: manifest media types, index children,
// subjects and revision labels, in Inspect. *registryapi.Client implements
// it.
type RegistryAPI interface {
	Inspect(ctx context.Context, d registrytypes.Descriptor) (registrytypes.Image, error)
}

// Option configures a Client.
type Option func(*Client) error

// set is the Option of a shared setting.
func set(s apiclient.Setting) Option { return func(c *Client) error { return s(&c.Settings) } }

// WithBaseURL sets the API endpoint, e.g. https://gitlab.example.com/api/v4.
// It wins over everything else.
func WithBaseURL(base string) Option {
	return func(c *Client) error {
		u, err := parseBase(base)
		if err != nil {
			return err
		}
		c.Base = u
		return nil
	}
}

func parseBase(base string) (*url.URL, error) {
	u, err := url.Parse(strings.TrimRight(strings.TrimSpace(base), "/"))
	if err != nil || !apiclient.IsBaseURL(u) {
		return nil, fmt.Errorf("invalid GitLab API URL %q: want http(s)://host[/path]/api/v4", base)
	}
	return u, nil
}

// WithTransport sets the HTTP transport (default: one retry.Transport shared
// by all clients of this package, over a clone of http.DefaultTransport).
// Nothing above it retries, so pass a retrying one.
func WithTransport(rt http.RoundTripper) Option { return set(apiclient.Transport(rt)) }

// WithPageSize sets the per_page of listings, 1 to MaxPageSize (default
// DefaultPageSize).
func WithPageSize(n int) Option { return set(apiclient.PageSize(n)) }

// WithRegistryAPI sets the Docker Registry API client Inspect reads
// manifests and image configs with. Without it Inspect knows only the
// digest and the tag's created_at.
func WithRegistryAPI(r RegistryAPI) Option {
	return func(c *Client) error {
		c.regAPI = r
		return nil
	}
}

// WithUserAgent sets the User-Agent (default "docker-werf/<version>").
func WithUserAgent(ua string) Option { return set(apiclient.UserAgent(ua)) }

// WithCIEnv reads a GitLab job's variables (env is os.Getenv-shaped). When
// the repository is on the job's own registry (its host is CI_REGISTRY's):
// the API is CI_API_V4_URL, else CI_SERVER_URL/api/v4; CI_JOB_TOKEN is used
// when Credentials has no token; and the project is looked up by
// CI_PROJECT_ID first when CI_PROJECT_PATH is a prefix of the repository
// path. Outside such a job it changes nothing.
func WithCIEnv(env registry.Env) Option {
	return func(c *Client) error {
		c.env = env
		return nil
	}
}

// WithProject names the project (numeric id or full path) instead of
// searching for it by the repository path.
func WithProject(idOrPath string) Option {
	return func(c *Client) error {
		idOrPath = strings.Trim(strings.TrimSpace(idOrPath), "/")
		if idOrPath == "" {
			return errors.New("empty project")
		}
		c.project = idOrPath
		return nil
	}
}

// defaultTransport is shared by every Client built without WithTransport,
// so that they share connections and the per-host rate-limit gates.
var defaultTransport = apiclient.SharedTransport(16)

// Client is the cleanup.Registry of one GitLab container repository. It is
// safe for concurrent use.
type Client struct {
	name   string // host/path, for messages
	host   string
	path   string // repository path, e.g. group/project/app
	header string // PRIVATE-TOKEN or JOB-TOKEN
	token  string
	apiclient.Settings
	hc      *http.Client
	regAPI  RegistryAPI
	env     registry.Env
	project string // from WithProject
	hintID  string // CI_PROJECT_ID, when CI_PROJECT_PATH is a prefix of path

	mu        sync.Mutex // guards the location, once found
	projectID int64
	repoID    int64

	createdMu sync.Mutex
	created   map[string]time.Time // digest -> the manifest's created_at

	rulesMu   sync.Mutex // guards the protection rules, once read
	rulesRead bool
	rules     []protectionRule
}

// New returns a Client for repo (<registry host>/<project path>[/<name>]).
// Nothing is sent until the first call.
func New(repo registry.Repository, creds Credentials, opts ...Option) (*Client, error) {
	name := repo.Name()
	if !strings.Contains(strings.Trim(repo.Path, "/"), "/") {
		return nil, fmt.Errorf("%s on GitLab: want <registry>/<group>/<project>[/<name>]: a GitLab container "+
			"repository belongs to a project", name)
	}
	c := &Client{
		name:     name,
		host:     repo.Host,
		path:     strings.Trim(repo.Path, "/"),
		Settings: apiclient.Settings{PageSize: DefaultPageSize, MaxPageSize: MaxPageSize, UA: "docker-werf/" + buildversion.Version},
		created:  map[string]time.Time{},
	}
	for _, opt := range opts {
		if err := opt(c); err != nil {
			return nil, fmt.Errorf("%s on GitLab: %w", name, err)
		}
	}
	ownCI := c.env != nil && registry.IsJobRegistry(repo.Host, c.env)
	switch {
	case strings.TrimSpace(creds.Token) != "":
		c.header, c.token = headerPrivateToken, strings.TrimSpace(creds.Token)
	case strings.TrimSpace(creds.JobToken) != "":
		c.header, c.token = headerJobToken, strings.TrimSpace(creds.JobToken)
	case ownCI && strings.TrimSpace(c.env("CI_JOB_TOKEN")) != "":
		c.header, c.token = headerJobToken, strings.TrimSpace(c.env("CI_JOB_TOKEN"))
	default:
		return nil, fmt.Errorf("%s on GitLab: %s is not set: cleanup deletes tags through the GitLab API, which "+
			"needs a project, group or personal access token with the api scope (in a job of this project, "+
			"CI_JOB_TOKEN is used instead when it is set; it deletes only if the job's user has the Developer "+
			"role or higher)", name, tokenCredential())
	}
	if ownCI {
		if c.Base == nil {
			if v := strings.TrimSpace(c.env("CI_API_V4_URL")); v != "" {
				u, err := parseBase(v)
				if err != nil {
					return nil, fmt.Errorf("%s on GitLab: CI_API_V4_URL: %w", name, err)
				}
				c.Base = u
			} else if v := strings.TrimSpace(c.env("CI_SERVER_URL")); v != "" {
				u, err := parseBase(strings.TrimRight(v, "/") + "/api/v4")
				if err != nil {
					return nil, fmt.Errorf("%s on GitLab: CI_SERVER_URL: %w", name, err)
				}
				c.Base = u
			}
		}
		if p, id := strings.Trim(c.env("CI_PROJECT_PATH"), "/"), strings.TrimSpace(c.env("CI_PROJECT_ID")); p != "" && id != "" &&
			(strings.EqualFold(c.path, p) || strings.HasPrefix(strings.ToLower(c.path), strings.ToLower(p)+"/")) {
			c.hintID = id
		}
	}
	if c.Base == nil {
		u, err := parseBase(DefaultAPIURL(repo.Host))
		if err != nil {
			return nil, fmt.Errorf("%s on GitLab: %w", name, err)
		}
		c.Base = u
	}
	if c.RT == nil {
		c.RT = defaultTransport()
	}
	c.hc = &http.Client{Transport: c.RT, CheckRedirect: sameHostRedirect}
	return c, nil
}

// DefaultAPIURL guesses the API of a GitLab registry host:
// registry.gitlab.com (and gitlab.com) is https://gitlab.com/api/v4; a
// self-hosted registry.<domain>[:port] is https://<domain>/api/v4; any
// other host[:port] is https://<host>/api/v4 (the registry's port, often
// 5050, is not the web server's).
func DefaultAPIURL(host string) string {
	h := strings.ToLower(host)
	if i := strings.LastIndexByte(h, ':'); i >= 0 && !strings.Contains(h[i:], "]") {
		h = h[:i]
	}
	switch {
	case h == "registry.gitlab.com" || h == "gitlab.com":
		return "https://gitlab.com/api/v4"
	case strings.HasPrefix(h, "registry.") && strings.Contains(h[len("registry."):], "."):
		h = h[len("registry."):]
	}
	return "https://" + h + "/api/v4"
}

// sameHostRedirect follows redirects only to the API host, so the token
// never travels elsewhere (Go drops only Authorization on a host change,
// not PRIVATE-TOKEN).
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

// UsesJobToken reports whether the client authenticates with CI_JOB_TOKEN.
func (c *Client) UsesJobToken() bool { return c.header == headerJobToken }

// tokenCredential names the flag and variable of the token.
func tokenCredential() string { return registry.CredentialName(registry.CredGitLabToken) }
