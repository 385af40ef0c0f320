package ecr

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsretry "github.com/aws/aws-sdk-go-v2/aws/retry"
	awsecr "github.com/aws/aws-sdk-go-v2/service/ecr"
	"github.com/aws/aws-sdk-go-v2/service/ecr/types"
	"github.com/google/go-containerregistry/pkg/name"
	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"

	"github.com/docker-werf/docker-werf/internal/apiclient"
	"github.com/docker-werf/docker-werf/internal/cleanup"
	"github.com/docker-werf/docker-werf/internal/cleanup/cleanuptest"
	"github.com/docker-werf/docker-werf/internal/registry"
	"github.com/docker-werf/docker-werf/internal/registryapi"
)

// TestMain keeps the developer's AWS setup out of the tests: no shared
// config files, no profile, no instance metadata, no endpoint overrides.
func TestMain(m *testing.M) {
	for _, k := range []string{"AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY",
		"AWS_SESSION_TOKEN", "AWS_ROLE_ARN", "AWS_WEB_IDENTITY_TOKEN_FILE", "AWS_MAX_ATTEMPTS", "AWS_RETRY_MODE",
		"AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_ECR", "AWS_REGION", "AWS_DEFAULT_REGION", "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
		"AWS_CONTAINER_CREDENTIALS_FULL_URI", "AWS_USE_FIPS_ENDPOINT", "AWS_CA_BUNDLE"} {
		_ = os.Unsetenv(k)
	}
	_ = os.Setenv("AWS_CONFIG_FILE", os.DevNull)
	_ = os.Setenv("AWS_SHARED_CREDENTIALS_FILE", os.DevNull)
	_ = os.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	os.Exit(m.Run())
}

func withBackoff(b awsretry.BackoffDelayer) Option {
	return func(o *options) error { o.backoff = b; return nil }
}

func withClock(now func() time.Time) Option {
	return func(o *options) error { o.now = now; return nil }
}

// fastBackoff retries at once and counts the retries.
type fastBackoff struct{ n atomic.Int32 }

func (b *fastBackoff) BackoffDelay(int, error) (time.Duration, error) {
	b.n.Add(1)
	return time.Millisecond, nil
}

func staticCreds(key, secret string) Credentials {
	return Credentials{Provider: aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
		return aws.Credentials{AccessKeyID: key, SecretAccessKey: secret, Source: "test"}, nil
	})}
}

func ecrRepo(t *testing.T) registry.Repository {
	t.Helper()
	repo, err := registry.ParseRepository(fakeAccount+".dkr.ecr."+fakeRegion+".amazonaws.com/"+fakeRepo, "",
		func(string) string { return "" })
	assert.NilError(t, err)
	assert.Assert(t, repo.ECR != nil)
	return repo
}

func (f *fakeECR) client(t *testing.T, creds Credentials, opts ...Option) *Client {
	t.Helper()
	all := append([]Option{WithBaseURL(f.srv.URL), WithRegistryHost(f.host()), withBackoff(&fastBackoff{})}, opts...)
	c, err := New(ecrRepo(t), creds, all...)
	assert.NilError(t, err)
	return c
}

// backend runs the cleanup contract against the fake.
type backend struct {
	t *testing.T
	f *fakeECR
}

func (b *backend) Registry() cleanup.Registry {
	return b.f.client(b.t, staticCreds(fakeKey, fakeSecret), WithPageSize(b.PageSize()))
}

func (b *backend) Seed(_ *testing.T, tags map[string]string) {
	byImage := map[string][]string{}
	for tag, img := range tags {
		byImage[img] = append(byImage[img], tag)
	}
	for img, ts := range byImage {
		b.f.addImage(img, time.Now().Add(-time.Hour), ts...)
	}
}

func (b *backend) Tags(*testing.T) []string   { return b.f.tagList() }
func (b *backend) Writes(*testing.T) []string { return b.f.writeList() }
func (b *backend) RateLimitNext(*testing.T) {
	b.f.addFault("", http.StatusBadRequest, "ThrottlingException", "Rate exceeded")
}

func (b *backend) Unauthorized(*testing.T) (cleanup.Registry, string) {
	return b.f.client(b.t, staticCreds("AKIAWRONGWRONGWRONG0", fakeSecret)), "AWS refused the credentials"
}
func (b *backend) PageSize() int       { return 2 }
func (b *backend) Kind() registry.Kind { return registry.ECR }

func TestContract(t *testing.T) {
	cleanuptest.Run(t, func(t *testing.T) cleanuptest.Backend {
		return &backend{t: t, f: newFakeECR(t)}
	})
}

func TestNew(t *testing.T) {
	other, err := registry.ParseRepository("registry.example.com/app", "", func(string) string { return "" })
	assert.NilError(t, err)
	_, err = New(other, Credentials{})
	assert.ErrorContains(t, err, "registry.example.com/app is not an Amazon ECR private registry")

	for _, opt := range []Option{WithPageSize(0), WithPageSize(1001), WithBaseURL("api.example.com"),
		WithMaxAttempts(0), WithTransport(nil), WithRegistryHost("a/b")} {
		_, err := New(ecrRepo(t), Credentials{}, opt)
		assert.ErrorContains(t, err, fakeAccount)
	}
	c, err := New(ecrRepo(t), Credentials{})
	assert.NilError(t, err)
	assert.Equal(t, c.region, fakeRegion)
	assert.Equal(t, c.account, fakeAccount)
	assert.Equal(t, c.Repository(), fakeAccount+".dkr.ecr."+fakeRegion+".amazonaws.com/"+fakeRepo)
}

// The endpoint the SDK resolves from the host: region, FIPS and partition.
func TestEndpointResolution(t *testing.T) {
	for host, want := range map[string]string{
		"123456789012.dkr.ecr.eu-west-1.amazonaws.com":        "https://api.ecr.eu-west-1.amazonaws.com",
		"123456789012.dkr.ecr-fips.us-east-1.amazonaws.com":   "https://api.ecr-fips.us-east-1.amazonaws.com",
		"123456789012.dkr.ecr.cn-north-1.amazonaws.com.cn":    "https://api.ecr.cn-north-1.amazonaws.com.cn",
		"123456789012.dkr.ecr.us-gov-west-1.amazonaws.com":    "https://api.ecr.us-gov-west-1.amazonaws.com",
		"123456789012.dkr-ecr.ap-southeast-2.on.aws":          "https://ecr.ap-southeast-2.api.aws",
		"123456789012.dkr.ecr.eu-central-1.amazonaws.com:443": "https://api.ecr.eu-central-1.amazonaws.com",
	} {
		t.Run(host, func(t *testing.T) {
			repo, err := registry.ParseRepository(host+"/app", "", func(string) string { return "" })
			assert.NilError(t, err)
			var got string
			rt := roundTripFunc(func(r *http.Request) (*http.Response, error) {
				got = r.URL.Scheme + "://" + r.URL.Host
				return nil, errors.New("stop")
			})
			c, err := New(repo, staticCreds(fakeKey, fakeSecret), WithTransport(rt), WithMaxAttempts(1))
			assert.NilError(t, err)
			_, err = c.Tags(context.Background())
			assert.ErrorContains(t, err, "stop")
			assert.Equal(t, got, want)
		})
	}
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

func TestTagsPagination(t *testing.T) {
	for _, tc := range []struct {
		name              string
		images, pageSize  int
		cap               int
		emptyFirst        bool
		wantDescribeCalls int
	}{
		{name: "empty repository", images: 0, pageSize: 1000, wantDescribeCalls: 1},
		{name: "one page", images: 5, pageSize: 1000, wantDescribeCalls: 1},
		{name: "exact pages", images: 4, pageSize: 2, wantDescribeCalls: 2},
		{name: "pages of one", images: 3, pageSize: 1, wantDescribeCalls: 3},
		{name: "server pages smaller than maxResults", images: 5, pageSize: 1000, cap: 2, wantDescribeCalls: 3},
		{name: "an empty page with a nextToken", images: 3, pageSize: 1000, emptyFirst: true, wantDescribeCalls: 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFakeECR(t)
			f.pageCap, f.emptyPage = tc.cap, tc.emptyFirst
			var want []string
			for i := range tc.images {
				a, b := fmt.Sprintf("t%02d-a", i), fmt.Sprintf("t%02d-b", i)
				f.addImage(fmt.Sprint("img", i), time.Now(), a, b)
				want = append(want, a, b)
			}
			f.addIndex(time.Now(), nil) // untagged: not listed
			c := f.client(t, staticCreds(fakeKey, fakeSecret), WithPageSize(tc.pageSize))
			got, err := c.Tags(context.Background())
			assert.NilError(t, err)
			slices.Sort(want)
			if want == nil {
				want = []string{}
			}
			assert.Check(t, is.DeepEqual(got, want))
			assert.Check(t, is.Equal(f.count("DescribeImages"), tc.wantDescribeCalls))
			f.mu.Lock()
			flt, _ := f.lastDesc["filter"].(map[string]any)
			f.mu.Unlock()
			assert.Check(t, is.Equal(flt["tagStatus"], "TAGGED"))
			assert.Check(t, is.Equal(flt["imageStatus"], "ACTIVE"))
		})
	}
	t.Run("archived images are left alone", func(t *testing.T) {
		f := newFakeECR(t)
		f.addImage("hot", time.Now(), "a")
		cold := f.addImage("cold", time.Now(), "b")
		f.images[cold].status = "ARCHIVED"
		restoring := f.addImage("warming", time.Now(), "c")
		f.images[restoring].status = "ACTIVATING"
		c := f.client(t, staticCreds(fakeKey, fakeSecret))
		got, err := c.Tags(context.Background())
		assert.NilError(t, err)
		assert.Check(t, is.DeepEqual(got, []string{"a"}))
	})
	t.Run("a nextToken that never ends", func(t *testing.T) {
		f := newFakeECR(t)
		f.repeatTok = true
		f.addImage("one", time.Now(), "a")
		_, err := newFakeClient(t, f).Tags(context.Background())
		assert.Check(t, errors.Is(err, apiclient.ErrEndlessPagination), "%v", err)
		assert.ErrorContains(t, err, "listing tags of 123456789012.dkr.ecr.eu-west-1.amazonaws.com/team/app: DescribeImages: pagination does not end")
	})
	t.Run("a repository ECR does not know", func(t *testing.T) {
		f := newFakeECR(t)
		f.repo = "someone/else"
		got, err := newFakeClient(t, f).Tags(context.Background())
		assert.NilError(t, err)
		assert.Check(t, is.DeepEqual(got, []string{}))
	})
}

func newFakeClient(t *testing.T, f *fakeECR, opts ...Option) *Client {
	return f.client(t, staticCreds(fakeKey, fakeSecret), opts...)
}

func TestResolve(t *testing.T) {
	f := newFakeECR(t)
	one := f.addImage("one", time.Now(), "a", "b")
	now := time.Now()
	var mu sync.Mutex
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	advance := func(d time.Duration) { mu.Lock(); now = now.Add(d); mu.Unlock() }
	c := newFakeClient(t, f, withClock(clock))
	ctx := context.Background()

	_, err := c.Tags(ctx)
	assert.NilError(t, err)
	d, err := c.Resolve(ctx, "a")
	assert.NilError(t, err)
	assert.Check(t, is.Equal(d.Digest, one))
	assert.Check(t, is.Equal(d.MediaType, registryapi.MediaTypeOCIManifest))
	assert.Check(t, is.Equal(f.count("DescribeImages"), 1), "answered from the listing")

	two := f.addImage("two", time.Now(), "pushed-later")
	d, err = c.Resolve(ctx, "pushed-later")
	assert.NilError(t, err)
	assert.Check(t, is.Equal(d.Digest, two))
	assert.Check(t, is.Equal(f.count("DescribeImages"), 2), "a tag the listing lacks is asked for")

	f.mu.Lock()
	f.tags["a"] = two // moved behind the listing's back
	f.mu.Unlock()
	advance(DefaultListingMaxAge + time.Second)
	d, err = c.Resolve(ctx, "a")
	assert.NilError(t, err)
	assert.Check(t, is.Equal(d.Digest, two), "a stale listing is not used")

	_, err = c.Resolve(ctx, "missing")
	assert.Check(t, errors.Is(err, registryapi.ErrNotFound), "%v", err)
	assert.ErrorContains(t, err, "ImageNotFoundException")

	_, err = c.Resolve(ctx, "bad:tag")
	assert.ErrorContains(t, err, "invalid tag")

	c0 := newFakeClient(t, f, WithListingMaxAge(0))
	_, err = c0.Tags(ctx)
	assert.NilError(t, err)
	before := f.count("DescribeImages")
	_, err = c0.Resolve(ctx, "b")
	assert.NilError(t, err)
	assert.Check(t, is.Equal(f.count("DescribeImages"), before+1), "WithListingMaxAge(0) always asks")
}

func TestInspect(t *testing.T) {
	ctx := context.Background()
	pushed := time.Date(2026, 5, 4, 3, 2, 1, 500_000_000, time.UTC)
	t.Run("push time from the API, revision from the config", func(t *testing.T) {
		f := newFakeECR(t)
		d := f.addImage("one", pushed, "a")
		c := newFakeClient(t, f)
		_, err := c.Tags(ctx)
		assert.NilError(t, err)
		desc, err := c.Resolve(ctx, "a")
		assert.NilError(t, err)
		img, err := c.Inspect(ctx, desc)
		assert.NilError(t, err)
		assert.Check(t, is.Equal(img.Digest, d))
		assert.Check(t, img.Created.Equal(pushed), "%v", img.Created)
		assert.Check(t, is.Equal(img.Revision, "rev-one"))
		assert.Check(t, !img.IsIndex)
		assert.Check(t, is.Equal(f.count("GetAuthorizationToken"), 1))
		// A second client image read reuses the registry login.
		_, err = c.Inspect(ctx, desc)
		assert.NilError(t, err)
		assert.Check(t, is.Equal(f.count("GetAuthorizationToken"), 1))
	})
	t.Run("an index and its children", func(t *testing.T) {
		f := newFakeECR(t)
		c1 := f.addImage("amd64", pushed)
		c2 := f.addImage("arm64", pushed)
		idx := f.addIndex(pushed, []string{c1, c2}, "multi")
		c := newFakeClient(t, f)
		desc, err := c.Resolve(ctx, "multi")
		assert.NilError(t, err)
		img, err := c.Inspect(ctx, desc)
		assert.NilError(t, err)
		assert.Check(t, is.Equal(img.Digest, idx))
		assert.Check(t, img.IsIndex)
		assert.Check(t, is.Len(img.Children, 2))
		assert.Check(t, img.Revision == "rev-amd64" || img.Revision == "rev-arm64", img.Revision)
	})
	t.Run("subject from the API", func(t *testing.T) {
		f := newFakeECR(t)
		subj := f.addImage("app", pushed, "v1")
		sig := f.addImage("sig", pushed, "sha256-abc.sig")
		f.images[sig].subject = subj
		c := newFakeClient(t, f, WithRegistryAPI(nil))
		_, err := c.Tags(ctx)
		assert.NilError(t, err)
		img, err := c.Inspect(ctx, registryapi.Descriptor{Digest: sig})
		assert.NilError(t, err)
		assert.Assert(t, img.Subject != nil)
		assert.Check(t, is.Equal(img.Subject.Digest, subj))
		assert.Check(t, is.Equal(img.Revision, ""), "no reader, no revision")
		assert.Check(t, is.Equal(f.count("GetAuthorizationToken"), 0))
	})
	t.Run("archived images are not read", func(t *testing.T) {
		f := newFakeECR(t)
		d := f.addImage("cold", pushed, "old")
		f.images[d].status = "ARCHIVED"
		c := newFakeClient(t, f)
		img, err := c.Inspect(ctx, registryapi.Descriptor{Digest: d})
		assert.NilError(t, err)
		assert.Check(t, img.Created.Equal(pushed))
		assert.Check(t, is.Equal(f.count("GetAuthorizationToken"), 0))
	})
	t.Run("an image that is gone", func(t *testing.T) {
		f := newFakeECR(t)
		c := newFakeClient(t, f)
		_, err := c.Inspect(ctx, registryapi.Descriptor{Digest: digestOf([]byte("nothing"))})
		assert.Check(t, errors.Is(err, registryapi.ErrNotFound), "%v", err)
	})
	t.Run("a registry login refused", func(t *testing.T) {
		f := newFakeECR(t)
		d := f.addImage("one", pushed, "a")
		f.addFault("GetAuthorizationToken", http.StatusBadRequest, "AccessDeniedException",
			"User: arn:aws:iam::123456789012:user/ci is not authorized to perform: ecr:GetAuthorizationToken")
		c := newFakeClient(t, f)
		_, err := c.Inspect(ctx, registryapi.Descriptor{Digest: d})
		assert.ErrorContains(t, err, "ecr:GetAuthorizationToken")
	})
}

func TestUntag(t *testing.T) {
	ctx := context.Background()
	setup := func(t *testing.T) (*fakeECR, *Client, string, string) {
		f := newFakeECR(t)
		one := f.addImage("one", time.Now(), "a", "b")
		two := f.addImage("two", time.Now(), "c")
		return f, newFakeClient(t, f), one, two
	}
	t.Run("one tag of several goes, the image stays", func(t *testing.T) {
		f, c, one, _ := setup(t)
		assert.NilError(t, c.Untag(ctx, "a", one))
		assert.Check(t, is.DeepEqual(f.tagList(), []string{"b", "c"}))
		assert.Check(t, f.images[one] != nil)
		assert.Check(t, is.DeepEqual(f.writeList(),
			[]string{`BatchDeleteImage [{"imageDigest":"` + one + `","imageTag":"a"}]`}))
	})
	t.Run("the last tag takes the image", func(t *testing.T) {
		f, c, _, two := setup(t)
		assert.NilError(t, c.Untag(ctx, "c", two))
		assert.Check(t, f.images[two] == nil)
	})
	t.Run("a tag moved to another digest stays", func(t *testing.T) {
		f, c, one, two := setup(t)
		err := c.Untag(ctx, "c", one)
		assert.Check(t, errors.Is(err, registryapi.ErrTagMoved), "%v", err)
		assert.ErrorContains(t, err, "ImageTagDoesNotMatchDigest")
		assert.Check(t, is.DeepEqual(f.tagList(), []string{"a", "b", "c"}))
		_ = two
	})
	t.Run("a tag that is gone", func(t *testing.T) {
		_, c, one, _ := setup(t)
		err := c.Untag(ctx, "nope", one)
		assert.Check(t, errors.Is(err, registryapi.ErrNotFound), "%v", err)
	})
	t.Run("a child of a manifest list keeps its last tag", func(t *testing.T) {
		f := newFakeECR(t)
		child := f.addImage("child", time.Now(), "child-tag")
		f.addIndex(time.Now(), []string{child}, "list")
		c := newFakeClient(t, f)
		err := c.Untag(ctx, "child-tag", child)
		assert.Check(t, errors.Is(err, ErrReferencedByManifestList), "%v", err)
		assert.ErrorContains(t, err, "kept: a manifest list")
		assert.Check(t, is.DeepEqual(f.tagList(), []string{"child-tag", "list"}))
	})
	t.Run("another failure code", func(t *testing.T) {
		_, c, one, _ := setup(t)
		// The fake answers a KmsError for the next BatchDeleteImage through
		// a hand-made 200 answer.
		c.api = awsecr.New(c.api.Options(), func(o *awsecr.Options) {
			o.HTTPClient = &http.Client{Transport: roundTripFunc(func(r *http.Request) (*http.Response, error) {
				return jsonResponse(r, `{"imageIds":[],"failures":[{"imageId":{"imageTag":"a"},"failureCode":"KmsError","failureReason":"kms key disabled"}]}`), nil
			})}
		})
		err := c.Untag(ctx, "a", one)
		assert.ErrorContains(t, err, "BatchDeleteImage failed: KmsError: kms key disabled")
		assert.Check(t, !errors.Is(err, registryapi.ErrNotFound))
	})
	t.Run("invalid input", func(t *testing.T) {
		_, c, one, _ := setup(t)
		assert.ErrorContains(t, c.Untag(ctx, "a", "sha256:short"), "invalid digest")
		assert.ErrorContains(t, c.Untag(ctx, "", one), "invalid tag")
	})
	t.Run("the listing forgets an untagged tag", func(t *testing.T) {
		_, c, one, _ := setup(t)
		_, err := c.Tags(ctx)
		assert.NilError(t, err)
		assert.NilError(t, c.Untag(ctx, "a", one))
		_, err = c.Resolve(ctx, "a")
		assert.Check(t, errors.Is(err, registryapi.ErrNotFound), "%v", err)
	})
}

func jsonResponse(r *http.Request, body string) *http.Response {
	return &http.Response{StatusCode: 200, Header: http.Header{"Content-Type": {"application/x-amz-json-1.1"}},
		Body: io.NopCloser(strings.NewReader(body)), Request: r, ContentLength: int64(len(body))}
}

func TestDeleteManifest(t *testing.T) {
	ctx := context.Background()
	t.Run("the image and all its tags go", func(t *testing.T) {
		f := newFakeECR(t)
		one := f.addImage("one", time.Now(), "a", "b")
		f.addImage("two", time.Now(), "c")
		c := newFakeClient(t, f)
		_, err := c.Tags(ctx)
		assert.NilError(t, err)
		assert.NilError(t, c.DeleteManifest(ctx, one))
		assert.Check(t, is.DeepEqual(f.tagList(), []string{"c"}))
		assert.Check(t, is.DeepEqual(f.writeList(), []string{`BatchDeleteImage [{"imageDigest":"` + one + `"}]`}))
		_, err = c.Resolve(ctx, "b")
		assert.Check(t, errors.Is(err, registryapi.ErrNotFound), "the listing forgot the image: %v", err)
	})
	t.Run("gone already", func(t *testing.T) {
		f := newFakeECR(t)
		err := newFakeClient(t, f).DeleteManifest(ctx, digestOf([]byte("x")))
		assert.Check(t, errors.Is(err, registryapi.ErrNotFound), "%v", err)
	})
	t.Run("referenced by a manifest list", func(t *testing.T) {
		f := newFakeECR(t)
		child := f.addImage("child", time.Now())
		f.addIndex(time.Now(), []string{child}, "list")
		err := newFakeClient(t, f).DeleteManifest(ctx, child)
		assert.Check(t, errors.Is(err, ErrReferencedByManifestList), "%v", err)
		assert.Check(t, f.images[child] != nil)
	})
	t.Run("the repository is gone", func(t *testing.T) {
		f := newFakeECR(t)
		f.repo = "gone"
		err := newFakeClient(t, f).DeleteManifest(ctx, digestOf([]byte("x")))
		assert.Check(t, errors.Is(err, registryapi.ErrNotFound), "%v", err)
	})
}

func TestThrottling(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name   string
		status int
		code   string
	}{
		{"ThrottlingException", http.StatusBadRequest, "ThrottlingException"},
		{"bare 429", http.StatusTooManyRequests, ""},
		{"429 TooManyRequestsException", http.StatusTooManyRequests, "TooManyRequestsException"},
		{"503", http.StatusServiceUnavailable, "ServiceUnavailableException"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFakeECR(t)
			one := f.addImage("one", time.Now(), "a", "b")
			b := &fastBackoff{}
			c := f.client(t, staticCreds(fakeKey, fakeSecret), withBackoff(b))
			f.addFault("DescribeImages", tc.status, tc.code, "Rate exceeded")
			f.addFault("BatchDeleteImage", tc.status, tc.code, "Rate exceeded")
			tags, err := c.Tags(ctx)
			assert.NilError(t, err)
			assert.Check(t, is.DeepEqual(tags, []string{"a", "b"}))
			assert.NilError(t, c.Untag(ctx, "a", one))
			assert.Check(t, is.Equal(b.n.Load(), int32(2)))
			assert.Check(t, is.Equal(f.count("BatchDeleteImage"), 2))
		})
	}
	t.Run("throttled beyond the attempts", func(t *testing.T) {
		f := newFakeECR(t)
		f.addImage("one", time.Now(), "a")
		for range 3 {
			f.addFault("DescribeImages", http.StatusBadRequest, "ThrottlingException", "Rate exceeded")
		}
		c := f.client(t, staticCreds(fakeKey, fakeSecret), WithMaxAttempts(3))
		_, err := c.Tags(ctx)
		assert.ErrorContains(t, err, "ECR kept throttling the requests after 3 attempts (ThrottlingException: Rate exceeded)")
		assert.Check(t, is.Equal(f.count("DescribeImages"), 3))
	})
	t.Run("AWS_MAX_ATTEMPTS overrides", func(t *testing.T) {
		t.Setenv("AWS_MAX_ATTEMPTS", "2")
		f := newFakeECR(t)
		for range 3 {
			f.addFault("DescribeImages", http.StatusBadRequest, "ThrottlingException", "Rate exceeded")
		}
		_, err := newFakeClient(t, f).Tags(ctx)
		assert.ErrorContains(t, err, "after 2 attempts")
	})
}

func TestErrors(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name    string
		status  int
		code    string
		msg     string
		want    []string
		unauth  bool
		notWant string
	}{
		{name: "access denied names the permission", status: 400, code: "AccessDeniedException",
			msg:  "User: arn:aws:iam::123456789012:user/ci is not authorized to perform: ecr:BatchDeleteImage on resource: arn:aws:ecr:eu-west-1:123456789012:repository/team/app",
			want: []string{"AccessDeniedException", "the AWS identity needs ecr:BatchDeleteImage"}, unauth: true},
		{name: "an expired session token", status: 400, code: "ExpiredTokenException", msg: "The security token included in the request is expired",
			want: []string{"AWS refused the credentials (ExpiredTokenException", "AWS_ACCESS_KEY_ID"}, unauth: true},
		{name: "a bad signature", status: 403, code: "InvalidSignatureException", msg: "The request signature we calculated does not match",
			want: []string{"AWS refused the credentials", "AWS_PROFILE"}, unauth: true},
		{name: "a server error", status: 400, code: "ServerException", msg: "internal failure",
			want: []string{"untagging a of " + fakeAccount, "ServerException: internal failure (HTTP 400)"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFakeECR(t)
			one := f.addImage("one", time.Now(), "a")
			c := newFakeClient(t, f, WithMaxAttempts(1))
			f.addFault("BatchDeleteImage", tc.status, tc.code, tc.msg)
			err := c.Untag(ctx, "a", one)
			for _, w := range tc.want {
				assert.ErrorContains(t, err, w)
			}
			assert.Check(t, is.Equal(errors.Is(err, registryapi.ErrUnauthorized), tc.unauth))
			assert.Check(t, !strings.Contains(err.Error(), fakeSecret))
			var se interface{ ErrorCode() string }
			assert.Check(t, errors.As(err, &se), "the SDK error is reachable")
		})
	}
	t.Run("no credentials anywhere", func(t *testing.T) {
		f := newFakeECR(t)
		c := f.client(t, Credentials{})
		err := c.CheckCredentials(ctx)
		assert.ErrorContains(t, err, "no usable AWS credentials")
		assert.ErrorContains(t, err, "AWS_WEB_IDENTITY_TOKEN_FILE (IRSA)")
		assert.Check(t, errors.Is(err, registryapi.ErrUnauthorized))
		_, err = c.Tags(ctx)
		assert.ErrorContains(t, err, "listing tags of "+fakeAccount)
		assert.ErrorContains(t, err, "no usable AWS credentials")
		assert.Check(t, is.Equal(f.count("DescribeImages"), 0))
	})
	t.Run("credentials from the environment", func(t *testing.T) {
		t.Setenv("AWS_ACCESS_KEY_ID", fakeKey)
		t.Setenv("AWS_SECRET_ACCESS_KEY", fakeSecret)
		f := newFakeECR(t)
		f.addImage("one", time.Now(), "a")
		c := f.client(t, Credentials{})
		assert.NilError(t, c.CheckCredentials(ctx))
		tags, err := c.Tags(ctx)
		assert.NilError(t, err)
		assert.Check(t, is.DeepEqual(tags, []string{"a"}))
	})
	t.Run("secrets never in error text", func(t *testing.T) {
		f := newFakeECR(t)
		f.addImage("one", time.Now(), "a")
		c := f.client(t, staticCreds("AKIAWRONGWRONGWRONG0", fakeSecret))
		_, err := c.Tags(ctx)
		assert.Assert(t, err != nil)
		assert.Check(t, !strings.Contains(err.Error(), fakeSecret), err.Error())
		assert.Check(t, !strings.Contains(err.Error(), "Signature="), err.Error())
		f2 := newFakeECR(t)
		d := f2.addImage("one", time.Now(), "a")
		c2 := newFakeClient(t, f2)
		_, err = c2.registryToken(ctx)
		assert.NilError(t, err)
		f2.mu.Lock()
		f2.regPass = "changed" // the registry refuses the token it handed out
		f2.mu.Unlock()
		_, err = c2.Inspect(ctx, registryapi.Descriptor{Digest: d})
		assert.Assert(t, err != nil)
		assert.Check(t, !strings.Contains(err.Error(), "registry-password-"), err.Error())
		assert.Check(t, errors.Is(err, registryapi.ErrUnauthorized), err.Error())
	})
}

func TestRegistryTokenHalfLife(t *testing.T) {
	f := newFakeECR(t)
	now := time.Now()
	var mu sync.Mutex
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	c := newFakeClient(t, f, withClock(clock))
	ctx := context.Background()
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			_, err := c.registryToken(ctx)
			assert.Check(t, err)
		})
	}
	wg.Wait()
	assert.Check(t, is.Equal(f.count("GetAuthorizationToken"), 1), "concurrent callers share one request")
	mu.Lock()
	now = now.Add(5 * time.Hour)
	mu.Unlock()
	tok, err := c.registryToken(ctx)
	assert.NilError(t, err)
	assert.Check(t, is.Equal(tok.username, "AWS"))
	assert.Check(t, is.Equal(f.count("GetAuthorizationToken"), 1), "within half its life")
	mu.Lock()
	now = now.Add(2 * time.Hour)
	mu.Unlock()
	_, err = c.registryToken(ctx)
	assert.NilError(t, err)
	assert.Check(t, is.Equal(f.count("GetAuthorizationToken"), 2), "past half its life")

	auth, err := c.Keychain().Resolve(registryResource(f.host()))
	assert.NilError(t, err)
	cfg, err := auth.Authorization()
	assert.NilError(t, err)
	assert.Check(t, is.Equal(cfg.Username, "AWS"))
	other, err := c.Keychain().Resolve(registryResource("registry.example.com"))
	assert.NilError(t, err)
	cfg, err = other.Authorization()
	assert.NilError(t, err)
	assert.Check(t, is.Equal(cfg.Password, ""), "no ECR token for other hosts")
}

// The fake's ListImages follows the API (one entry per tag, untagged images
// without imageTag, nextToken paging), checked through the SDK itself.
func TestFakeListImages(t *testing.T) {
	f := newFakeECR(t)
	one := f.addImage("one", time.Now(), "a", "b")
	f.addIndex(time.Now(), []string{one})
	c := newFakeClient(t, f)
	var ids []types.ImageIdentifier
	p := awsecr.NewListImagesPaginator(c.api, &awsecr.ListImagesInput{RepositoryName: aws.String(fakeRepo),
		RegistryId: aws.String(fakeAccount), MaxResults: aws.Int32(1)})
	for p.HasMorePages() {
		page, err := p.NextPage(context.Background())
		assert.NilError(t, err)
		assert.Check(t, len(page.ImageIds) <= 1)
		ids = append(ids, page.ImageIds...)
	}
	assert.Check(t, is.Len(ids, 3))
	var tagged int
	for _, id := range ids {
		if id.ImageTag != nil {
			tagged++
		}
	}
	assert.Check(t, is.Equal(tagged, 2))
}

func registryResource(host string) name.Registry {
	r, err := name.NewRegistry(host)
	if err != nil {
		panic(err)
	}
	return r
}
