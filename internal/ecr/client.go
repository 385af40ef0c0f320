package ecr

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	awsretry "github.com/aws/aws-sdk-go-v2/aws/retry"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/config"
	awsecr "github.com/aws/aws-sdk-go-v2/service/ecr"
	"github.com/aws/smithy-go/logging"

	"github.com/docker-werf/docker-werf/internal/apiclient"
	"github.com/docker-werf/docker-werf/internal/registry"
	"github.com/docker-werf/docker-werf/internal/registryapi"
	"github.com/docker-werf/docker-werf/internal/version"
)

// Defaults of a Client built without options.
const (
	// DefaultPageSize is the maxResults of DescribeImages; ECR allows 1 to 1000.
	DefaultPageSize = 1000
	// DefaultMaxAttempts is how often a request is sent at most, the first
	// attempt included. The SDK's own default (3) gives up on a throttled
	// account too soon for a cleanup of thousands of tags.
	DefaultMaxAttempts = 10
	// DefaultMaxBackoff caps the wait between attempts.
	DefaultMaxBackoff = 20 * time.Second
	// DefaultListingMaxAge is how long Resolve answers from the last listing.
	DefaultListingMaxAge = 30 * time.Second
)

// maxIdleConnsPerHost keeps connections to the API endpoint for parallel
// workers.
const maxIdleConnsPerHost = 64

// Credentials are the AWS credentials of the ECR API.
type Credentials struct {
	// Provider supplies the credentials. nil means the AWS SDK default
	// chain: AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY / AWS_SESSION_TOKEN,
	// AWS_PROFILE and ~/.aws/config and credentials (SSO,
	// credential_process, assume role), AWS_ROLE_ARN with
	// AWS_WEB_IDENTITY_TOKEN_FILE (IRSA), ECS container and EC2 instance roles.
	Provider aws.CredentialsProvider
}

// RegistryAPI reads what the ECR API does not tell: an image's revision
// label, config labels, annotations and an index's children.
// *registryapi.Client is one.
type RegistryAPI interface {
	Inspect(ctx context.Context, d registryapi.Descriptor) (registryapi.Image, error)
}

// Client is a cleanup.Registry for one ECR repository. It is safe for
// concurrent use.
type Client struct {
	repo     registry.Repository
	name     string // host/path, for messages
	account  string
	region   string
	api      *awsecr.Client
	provider *credentialsCheck

	pageSize      int
	listingMaxAge time.Duration
	now           func() time.Time

	reader       RegistryAPI
	readerSet    bool
	readerHost   string
	readerOnce   sync.Once
	readerErr    error
	authMu       sync.Mutex
	authToken    *authToken
	authInFlight chan struct{}

	mu      sync.Mutex
	listing *listing          // the last complete listing
	images  map[string]*image // every image seen, by digest
}

// image is what DescribeImages tells about one image.
type image struct {
	digest    string
	mediaType string
	artifact  string // artifactMediaType
	subject   string // subjectManifestDigest
	status    string // ACTIVE, ARCHIVED, ACTIVATING
	pushedAt  time.Time
	tags      []string
}

// listing is one complete DescribeImages pass.
type listing struct {
	started time.Time
	byTag   map[string]*image
}

type options struct {
	baseURL       string
	transport     http.RoundTripper
	pageSize      int
	maxAttempts   int
	listingMaxAge time.Duration
	reader        RegistryAPI
	readerSet     bool
	readerHost    string
	backoff       awsretry.BackoffDelayer // tests
	now           func() time.Time        // tests
}

// Option configures a Client.
type Option func(*options) error

// WithBaseURL sets the ECR API endpoint (the SDK's BaseEndpoint), e.g. a
// fake server in tests or a VPC endpoint. Default: the SDK resolves
// https://api.ecr.<region>.amazonaws.com (FIPS and partition aware).
func WithBaseURL(u string) Option {
	return func(o *options) error {
		if !strings.HasPrefix(u, "https://") && !strings.HasPrefix(u, "http://") {
			return fmt.Errorf("base URL %q: want http(s)://host[:port]", u)
		}
		o.baseURL = strings.TrimSuffix(u, "/")
		return nil
	}
}

// WithTransport sets the HTTP transport of the ECR API requests (default: the
// SDK's, keeping 64 idle connections per host). Retries happen above it, in
// the SDK's retryer, which signs every attempt anew; do not pass a retrying
// transport.
func WithTransport(rt http.RoundTripper) Option {
	return func(o *options) error {
		if err := apiclient.CheckTransport(rt); err != nil {
			return err
		}
		o.transport = rt
		return nil
	}
}

// WithPageSize sets the maxResults of DescribeImages (1 to 1000, default 1000).
func WithPageSize(n int) Option {
	return func(o *options) error {
		if n < 1 || n > 1000 {
			return fmt.Errorf("page size %d: ECR allows 1 to 1000", n)
		}
		o.pageSize = n
		return nil
	}
}

// WithMaxAttempts sets how often a request is sent at most (default
// DefaultMaxAttempts). AWS_MAX_ATTEMPTS, when set, takes precedence.
func WithMaxAttempts(n int) Option {
	return func(o *options) error {
		if n < 1 {
			return fmt.Errorf("max attempts %d: want at least 1", n)
		}
		o.maxAttempts = n
		return nil
	}
}

// WithListingMaxAge sets how long after a listing began Resolve answers from
// it (default DefaultListingMaxAge); 0 makes every Resolve ask the API.
// Untag needs no fresh Resolve: it removes a tag only while it still points
// to the expected digest.
func WithListingMaxAge(d time.Duration) Option {
	return func(o *options) error {
		o.listingMaxAge = max(d, 0)
		return nil
	}
}

// WithRegistryAPI sets what reads manifests and image configs for revision
// labels and index children. nil reads nothing: images then have only what
// the ECR API tells (push time, media type, subject). Default: a
// registryapi.Client for the repository, logged in with a token from
// GetAuthorizationToken (see Keychain).
func WithRegistryAPI(r RegistryAPI) Option {
	return func(o *options) error {
		if rc, ok := r.(*registryapi.Client); ok && rc == nil {
			r = nil
		}
		o.reader, o.readerSet = r, true
		return nil
	}
}

// WithRegistryHost sets the host[:port] of the registry API that the default
// image reader talks to (default: the repository host). For tests.
func WithRegistryHost(host string) Option {
	return func(o *options) error {
		if host == "" || strings.Contains(host, "/") {
			return fmt.Errorf("registry host %q: want host[:port]", host)
		}
		o.readerHost = host
		return nil
	}
}

// New returns a Client for repo, which must be on an ECR private registry
// host. Nothing is sent until the first call; the AWS configuration (region,
// profile, credential sources) is loaded here.
func New(repo registry.Repository, creds Credentials, opts ...Option) (*Client, error) {
	name := repo.Name()
	if repo.ECR == nil {
		return nil, fmt.Errorf("%s is not an Amazon ECR private registry "+
			"(<account>.dkr.ecr.<region>.amazonaws.com/<repository>)", name)
	}
	o := options{pageSize: DefaultPageSize, maxAttempts: DefaultMaxAttempts, listingMaxAge: DefaultListingMaxAge}
	for _, opt := range opts {
		if err := opt(&o); err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
	}
	info := *repo.ECR
	var httpClient aws.HTTPClient
	if o.transport != nil {
		httpClient = &http.Client{Transport: o.transport}
	} else {
		httpClient = awshttp.NewBuildableClient().WithTransportOptions(func(t *http.Transport) {
			t.MaxIdleConnsPerHost = maxIdleConnsPerHost
			t.MaxIdleConns = 4 * maxIdleConnsPerHost
		})
	}
	loaders := []func(*config.LoadOptions) error{
		config.WithRegion(info.Region),
		config.WithHTTPClient(httpClient),
		config.WithAppID("docker-werf_" + version.Version),
		// The SDK would print its own log lines ("SDK <time> WARN falling
		// back to IMDSv1: ...") to stderr; what fails reaches the user as our
		// error instead.
		config.WithLogger(logging.Nop{}),
	}
	if creds.Provider != nil {
		loaders = append(loaders, config.WithCredentialsProvider(creds.Provider))
	}
	if info.FIPS {
		loaders = append(loaders, config.WithUseFIPSEndpoint(aws.FIPSEndpointStateEnabled))
	}
	if info.Domain == "on.aws" { // a dual-stack registry host: use the dual-stack API too
		loaders = append(loaders, config.WithUseDualStackEndpoint(aws.DualStackEndpointStateEnabled))
	}
	cfg, err := config.LoadDefaultConfig(context.Background(), loaders...)
	if err != nil {
		return nil, fmt.Errorf("%s: loading the AWS configuration: %w", name, err)
	}
	check := &credentialsCheck{inner: cfg.Credentials}
	cfg.Credentials = check
	retryer := newRetryer(o.maxAttempts, o.backoff)
	api := awsecr.NewFromConfig(cfg, func(eo *awsecr.Options) {
		eo.Retryer = retryer
		if o.baseURL != "" {
			eo.BaseEndpoint = aws.String(o.baseURL)
		}
	})
	c := &Client{
		repo:          repo,
		name:          name,
		account:       info.Account,
		region:        info.Region,
		api:           api,
		provider:      check,
		pageSize:      o.pageSize,
		listingMaxAge: o.listingMaxAge,
		now:           o.now,
		reader:        o.reader,
		readerSet:     o.readerSet,
		readerHost:    o.readerHost,
		images:        map[string]*image{},
	}
	if c.now == nil {
		c.now = time.Now
	}
	if c.readerHost == "" {
		c.readerHost = repo.Host
	}
	return c, nil
}

// newRetryer is the SDK's standard retryer with more attempts, 429 treated
// as throttling, and no client-side retry quota: a cleanup job with bounded
// parallelism is better off waiting out a throttled account than failing
// once the quota's 100 retries are spent.
func newRetryer(maxAttempts int, backoff awsretry.BackoffDelayer) aws.Retryer {
	return awsretry.NewStandard(func(so *awsretry.StandardOptions) {
		so.MaxAttempts = maxAttempts
		so.MaxBackoff = DefaultMaxBackoff
		so.RateLimiter = ratelimit.None
		so.Retryables = append(so.Retryables, awsretry.RetryableHTTPStatusCode{
			Codes: map[int]struct{}{http.StatusTooManyRequests: {}},
		})
		so.Throttles = append(so.Throttles, awsretry.IsErrorThrottleFunc(func(err error) aws.Ternary {
			var re *awshttp.ResponseError
			if errors.As(err, &re) && re.HTTPStatusCode() == http.StatusTooManyRequests {
				return aws.TrueTernary
			}
			return aws.UnknownTernary
		}))
		if backoff != nil {
			so.Backoff = backoff
		}
	})
}

// Repository returns host/path.
func (c *Client) Repository() string { return c.name }

// CheckCredentials retrieves the AWS credentials once, so that a missing or
// broken credential source shows up before any work starts. Nothing is sent
// to ECR.
func (c *Client) CheckCredentials(ctx context.Context) error {
	if _, err := c.provider.Retrieve(ctx); err != nil {
		return fmt.Errorf("%s: %w", c.name, err)
	}
	return nil
}

// credentialsCheck wraps the credential source so that its failures can be
// told from the API's answers.
type credentialsCheck struct{ inner aws.CredentialsProvider }

// errNoCredentials marks a failure to get credentials.
type errNoCredentials struct{ err error }

func (e *errNoCredentials) Error() string {
	msg := "no usable AWS credentials"
	if e.err != nil {
		msg += " (" + e.err.Error() + ")"
	}
	return msg + "; " + credentialsHint()
}

func (e *errNoCredentials) Unwrap() []error { return []error{registryapi.ErrUnauthorized, e.err} }

func (p *credentialsCheck) Retrieve(ctx context.Context) (aws.Credentials, error) {
	if p.inner == nil {
		return aws.Credentials{}, &errNoCredentials{}
	}
	v, err := p.inner.Retrieve(ctx)
	if err != nil {
		if ctx.Err() != nil {
			return v, err
		}
		return v, &errNoCredentials{err: err}
	}
	return v, nil
}

// credentialsHint names where credentials come from, as `docker werf
// registry info` does.
func credentialsHint() string {
	spec := registry.SpecFor(registry.ECR)
	if len(spec.Credentials) > 0 {
		return "AWS credentials come from " + spec.Credentials[0].Description
	}
	return "AWS credentials come from the AWS SDK default credential chain"
}
