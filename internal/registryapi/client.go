package registryapi

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"

	"github.com/docker-werf/docker-werf/internal/retry"
	"github.com/docker-werf/docker-werf/internal/version"
)

// DefaultPageSize is the n= of tag listing requests unless WithPageSize says
// otherwise. ECR refuses n > 1000.
const DefaultPageSize = 1000

// maxIdleConnsPerHost is how many idle connections to one registry the
// default transport keeps: more than any sensible delete parallelism, so
// parallel workers reuse connections instead of opening (and TLS-handshaking)
// new ones.
const maxIdleConnsPerHost = 64

// DefaultRequestTimeout bounds each attempt of a request, the body of what
// it reads included, unless WithRequestTimeout says otherwise: an attempt
// without an answer by then is retried, so a hanging registry fails the run
// instead of stalling it.
const DefaultRequestTimeout = time.Minute

// maxBufferedRead is the largest response read whole within its attempt
// (see retry.WithBufferedReads): above every manifest, config and tag list
// page cleanup reads.
const maxBufferedRead = 32 << 20

// transports are shared, per request timeout, by every Client built without
// WithTransport, so that clients of the same registry share connections and
// the retrying transport's per-host rate-limit gates.
var transports sync.Map // time.Duration -> http.RoundTripper

func sharedTransport(timeout time.Duration) http.RoundTripper {
	if rt, ok := transports.Load(timeout); ok {
		return rt.(http.RoundTripper)
	}
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxIdleConnsPerHost = maxIdleConnsPerHost
	t.MaxIdleConns = 4 * maxIdleConnsPerHost
	rt, _ := transports.LoadOrStore(timeout, retry.NewTransport(t, retry.WithAttemptTimeout(timeout),
		retry.WithBufferedReads(maxBufferedRead)))
	return rt.(http.RoundTripper)
}

// Client talks to one repository. It is safe for concurrent use.
type Client struct {
	repo     name.Repository
	host     string // host[:port]
	path     string // repository path inside the registry
	kc       authn.Keychain
	base     http.RoundTripper
	ua       string
	insecure bool
	pageSize int
	timeout  time.Duration // of each attempt, for the shared transport
	tls      TLSOptions

	mu     sync.Mutex // guards the lazily set fields below
	scheme string     // "https" or "http", once pinged
	auth   authn.Authenticator
	who    string       // which user was tried, and from where, for 401s
	read   *http.Client // pull scope
	write  *http.Client // push,pull,delete scope

	probeMu   sync.Mutex
	probed    bool
	disabled  error // non-nil when the registry refused a delete as unsupported
	tagDelete atomic.Int32

	blobMu      sync.Mutex
	emptyPushed bool

	referrersAPI atomic.Int32 // capUnknown, capYes or capNo
}

// Capability states.
const (
	capUnknown int32 = iota
	capYes
	capNo
)

// Option configures a Client.
type Option func(*Client) error

// WithTransport sets the RoundTripper beneath authentication (default: one
// retry.Transport shared by all clients with the same request timeout, over
// a clone of http.DefaultTransport keeping 64 idle connections per host,
// reading GET answers whole within each attempt). Nothing above
// it retries, so pass a retry.Transport (or something that retries alike),
// and give its http.Transport a MaxIdleConnsPerHost of at least the caller's
// parallelism so connections are reused.
func WithTransport(rt http.RoundTripper) Option {
	return func(c *Client) error {
		if rt == nil {
			return errors.New("nil transport")
		}
		c.base = rt
		return nil
	}
}

// WithRequestTimeout sets how long one attempt of a request may take, the
// body of a GET's answer included (default DefaultRequestTimeout); a slower
// attempt is cancelled and retried. It applies to the shared transport, not
// to one given with WithTransport.
func WithRequestTimeout(d time.Duration) Option {
	return func(c *Client) error {
		if d <= 0 {
			return fmt.Errorf("request timeout %v: expected more than 0", d)
		}
		c.timeout = d
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

// WithInsecure allows plain http for this registry when https fails (for any
// reason). Without it the client uses https only, except that a loopback
// registry (127.0.0.0/8, ::1, localhost) that answers https with "server gave
// HTTP response to HTTPS client" is used over http.
func WithInsecure(insecure bool) Option {
	return func(c *Client) error {
		c.insecure = insecure
		return nil
	}
}

// WithPageSize sets the n= of tag listing requests (default DefaultPageSize).
// n == 0 sends no n= and lets the registry choose.
func WithPageSize(n int) Option {
	return func(c *Client) error {
		if n < 0 {
			return fmt.Errorf("negative page size %d", n)
		}
		c.pageSize = n
		return nil
	}
}

// New returns a Client for repo, given as host[:port]/path (no scheme, no
// tag). Nothing is sent until the first call; kc is resolved once, then.
func New(repo string, kc authn.Keychain, opts ...Option) (*Client, error) {
	host, path, ok := strings.Cut(repo, "/")
	if !ok || host == "" || path == "" || strings.Contains(repo, "://") {
		return nil, fmt.Errorf("invalid repository %q: want host[:port]/path", repo)
	}
	r, err := name.NewRepository(repo, name.StrictValidation)
	if err != nil {
		return nil, fmt.Errorf("invalid repository %q: %w", repo, err)
	}
	if kc == nil {
		kc = authn.NewMultiKeychain() // anonymous
	}
	c := &Client{
		repo:     r,
		host:     r.RegistryStr(),
		path:     r.RepositoryStr(),
		kc:       kc,
		ua:       "docker-werf/" + version.Version,
		pageSize: DefaultPageSize,
		timeout:  DefaultRequestTimeout,
	}
	for _, opt := range opts {
		if err := opt(c); err != nil {
			return nil, fmt.Errorf("%s: %w", repo, err)
		}
	}
	if c.base == nil {
		cfg, err := tlsConfig(c.host, c.tls)
		if err != nil {
			return nil, err
		}
		if cfg != nil {
			c.base = tlsTransport(cfg, c.timeout)
		} else {
			c.base = sharedTransport(c.timeout)
		}
	}
	return c, nil
}

// Repository returns host[:port]/path.
func (c *Client) Repository() string { return c.repo.Name() }

// client returns the authenticated HTTP client for reads (pull scope) or
// writes (push,pull,delete), setting it up on first use: the scheme is found
// with one unauthenticated GET /v2/, the keychain is resolved once, and
// go-containerregistry's transport pings once more and fetches a token if
// the registry wants one. Later calls reuse all of it.
func (c *Client) client(ctx context.Context, write bool) (*http.Client, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if write && c.write != nil {
		return c.write, nil
	}
	if !write && c.read != nil {
		return c.read, nil
	}
	if c.scheme == "" {
		scheme, err := c.pickScheme(ctx)
		if err != nil {
			return nil, err
		}
		c.scheme = scheme
	}
	if c.auth == nil {
		a, err := authn.Resolve(ctx, c.kc, c.repo)
		if err != nil {
			return nil, fmt.Errorf("resolving credentials for %s: %w", c.host, err)
		}
		// Freeze the answer: a helper-backed Authenticator would otherwise
		// be asked again for every request.
		cfg, err := authn.Authorization(ctx, a)
		if err != nil {
			return nil, fmt.Errorf("getting credentials for %s: %w", c.host, err)
		}
		c.who = describeCredentials(*cfg, c.kc, c.repo)
		if *cfg == (authn.AuthConfig{}) {
			c.auth = authn.Anonymous
		} else {
			c.auth = authn.FromConfig(*cfg)
		}
	}
	opts := []name.Option{name.StrictValidation}
	if c.scheme == "http" {
		opts = append(opts, name.Insecure)
	}
	reg, err := name.NewRegistry(c.host, opts...)
	if err != nil {
		return nil, err
	}
	scope := transport.PullScope
	if write {
		scope = transport.DeleteScope
	}
	inner := transport.NewUserAgent(rewindBody{c.base}, c.ua)
	rt, err := transport.NewWithContext(ctx, reg, c.auth, inner, []string{c.repo.Scope(scope)})
	if err != nil {
		op := "reading"
		if write {
			op = "writing (push, delete)"
		}
		return nil, c.authError(op, write, err)
	}
	hc := &http.Client{Transport: rt}
	if write {
		c.write = hc
	} else {
		c.read = hc
	}
	return hc, nil
}

// authError wraps a failed authentication handshake, classifying refusals.
func (c *Client) authError(op string, write bool, err error) error {
	var te *transport.Error
	if errors.As(err, &te) && (te.StatusCode == http.StatusUnauthorized || te.StatusCode == http.StatusForbidden) {
		return fmt.Errorf("authenticating to %s for %s %s: %w: %s", c.host, op, c.path,
			ErrUnauthorized, scrub(c.unauthorizedHintLocked(write)+" ("+te.Error()+")"))
	}
	return fmt.Errorf("authenticating to %s for %s %s: %w", c.host, op, c.path, err)
}

// pickScheme finds out whether the registry speaks https or, where allowed,
// plain http, with an unauthenticated GET /v2/ (any HTTP answer will do).
func (c *Client) pickScheme(ctx context.Context) (string, error) {
	httpsErr := c.ping(ctx, "https")
	if httpsErr == nil {
		return "https", nil
	}
	if ctx.Err() != nil {
		return "", fmt.Errorf("connecting to %s: %w", c.host, ctx.Err())
	}
	if !c.insecure && !(plainHTTP(httpsErr) && isLoopback(c.host)) {
		if hint := untrustedHint(c.host, httpsErr); hint != "" {
			return "", fmt.Errorf("connecting to https://%s/v2/: %w; %s", c.host, httpsErr, hint)
		}
		return "", fmt.Errorf("connecting to https://%s/v2/: %w", c.host, httpsErr)
	}
	if err := c.ping(ctx, "http"); err != nil {
		return "", fmt.Errorf("connecting to %s over https (%v) and http: %w", c.host, httpsErr, err)
	}
	return "http", nil
}

func (c *Client) ping(ctx context.Context, scheme string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, scheme+"://"+c.host+"/v2/", nil)
	if err != nil {
		return err
	}
	req.Header.Set("User-Agent", c.ua)
	resp, err := c.base.RoundTrip(req)
	if err != nil {
		return err
	}
	discard(resp)
	return nil
}

// plainHTTP reports whether an https request failed because the server
// answered in plain HTTP ("server gave HTTP response to HTTPS client").
func plainHTTP(err error) bool {
	var rh tls.RecordHeaderError
	if errors.As(err, &rh) && string(rh.RecordHeader[:]) == "HTTP/" {
		return true
	}
	return errors.Is(err, http.ErrSchemeMismatch)
}

// isLoopback reports whether host[:port] names the local machine.
func isLoopback(hostport string) bool {
	h := hostport
	if host, _, err := net.SplitHostPort(hostport); err == nil {
		h = host
	}
	h = strings.Trim(h, "[]")
	if strings.EqualFold(h, "localhost") || strings.HasSuffix(strings.ToLower(h), ".localhost") {
		return true
	}
	ip := net.ParseIP(h)
	return ip != nil && ip.IsLoopback()
}

// url returns the URL of an API path below /v2/<name>/.
func (c *Client) url(suffix string) string {
	return c.scheme + "://" + c.host + "/v2/" + c.path + suffix
}

// send runs one request. body may be nil. The caller closes the response.
func (c *Client) send(ctx context.Context, hc *http.Client, method, u string, hdr http.Header, body []byte) (*http.Response, error) {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, u, rd)
	if err != nil {
		return nil, err
	}
	for k, v := range hdr {
		req.Header[k] = v
	}
	return hc.Do(req) // URLs never carry credentials; errors may be returned as they are
}

// discard drains (a little of) and closes a body so the connection can be
// reused.
func discard(resp *http.Response) {
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	_ = resp.Body.Close()
}

// rewindBody gives every attempt a fresh copy of a replayable request body.
// go-containerregistry's bearer transport re-sends the same request after
// refreshing an expired token, whose body the first attempt consumed.
type rewindBody struct{ inner http.RoundTripper }

func (t rewindBody) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.GetBody == nil || r.Body == nil || r.Body == http.NoBody {
		return t.inner.RoundTrip(r)
	}
	b, err := r.GetBody()
	if err != nil {
		return nil, err
	}
	_ = r.Body.Close()
	r2 := r.Clone(r.Context())
	r2.Body = b
	return t.inner.RoundTrip(r2)
}
