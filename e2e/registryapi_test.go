package e2e

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"

	"github.com/docker-werf/docker-werf/e2e/harness"
	"github.com/docker-werf/docker-werf/internal/registryapi"
	"github.com/docker-werf/docker-werf/internal/retry"
)

// apiRegistry is a started registry plus what in-process clients need to
// reach it: a transport trusting the harness CA and the user's credentials.
type apiRegistry struct {
	*harness.Registry
	tr   *http.Transport
	auth authn.Authenticator
	kc   authn.Keychain
	user [2]string // name, password
}

// hostKeychain answers one host's credentials, anonymous elsewhere.
type hostKeychain struct {
	host string
	auth authn.Authenticator
}

func (k hostKeychain) Resolve(r authn.Resource) (authn.Authenticator, error) {
	if r.RegistryStr() == k.host {
		return k.auth, nil
	}
	return authn.Anonymous, nil
}

func startAPIRegistry(t *testing.T, h *harness.H, version string) *apiRegistry {
	t.Helper()
	return startAPIRegistryTB(t, h, version)
}

func startAPIRegistryTB(t testing.TB, h *harness.H, version string) *apiRegistry {
	t.Helper()
	user, pass := "cleaner", h.RandomSecret("pw-")
	h.Credential(user, pass)
	reg := harness.StartRegistry(t, version, map[string]string{user: pass})
	pem, err := os.ReadFile(reg.CAFile)
	assert.NilError(t, err)
	pool := x509.NewCertPool()
	assert.Assert(t, pool.AppendCertsFromPEM(pem))
	tr := &http.Transport{
		TLSClientConfig:     &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12},
		ForceAttemptHTTP2:   true,
		MaxIdleConnsPerHost: 32,
		IdleConnTimeout:     30 * time.Second,
	}
	t.Cleanup(tr.CloseIdleConnections)
	auth := authn.FromConfig(authn.AuthConfig{Username: user, Password: pass})
	return &apiRegistry{Registry: reg, tr: tr, auth: auth, kc: hostKeychain{host: reg.Addr, auth: auth}, user: [2]string{user, pass}}
}

func (r *apiRegistry) client(t *testing.T, repo string, opts ...registryapi.Option) *registryapi.Client {
	t.Helper()
	opts = append([]registryapi.Option{registryapi.WithTransport(retry.NewTransport(r.tr))}, opts...)
	c, err := registryapi.New(r.Repo(repo), r.kc, opts...)
	assert.NilError(t, err)
	return c
}

func (r *apiRegistry) remoteOpts(ctx context.Context) []remote.Option {
	return []remote.Option{remote.WithContext(ctx), remote.WithAuth(r.auth), remote.WithTransport(r.tr)}
}

// push writes img to repo:tag and returns its digest.
func (r *apiRegistry) push(ctx context.Context, t *testing.T, repo, tag string, img v1.Image) string {
	t.Helper()
	ref, err := name.NewTag(r.Repo(repo) + ":" + tag)
	assert.NilError(t, err)
	assert.NilError(t, remote.Write(ref, img, r.remoteOpts(ctx)...))
	d, err := img.Digest()
	assert.NilError(t, err)
	return d.String()
}

// retag points repo:tag at the manifest desc (as a second, independent client would).
func (r *apiRegistry) retag(ctx context.Context, t *testing.T, repo, tag string, img remote.Taggable) {
	t.Helper()
	ref, err := name.NewTag(r.Repo(repo) + ":" + tag)
	assert.NilError(t, err)
	assert.NilError(t, remote.Tag(ref, img, r.remoteOpts(ctx)...))
}

func randomImage(t *testing.T) v1.Image {
	t.Helper()
	img, err := random.Image(256, 1)
	assert.NilError(t, err)
	return img
}

func forEachRegistry(t *testing.T, f func(t *testing.T, h *harness.H, r *apiRegistry)) {
	for _, version := range harness.RegistryVersions {
		t.Run(version, func(t *testing.T) {
			h := harness.New(t)
			f(t, h, startAPIRegistry(t, h, version))
		})
	}
}

// TestRegistryAPIUntag: tags a, b, c on one digest and d on another. Untag(a)
// removes a only (b, c and the manifest stay, d untouched); DeleteManifest
// of d's digest removes d; a tag re-pointed after the inventory is kept with
// ErrTagMoved; a missing tag gives ErrNotFound.
func TestRegistryAPIUntag(t *testing.T) {
	forEachRegistry(t, func(t *testing.T, h *harness.H, r *apiRegistry) {
		ctx := context.Background()
		const repo = "team/app"
		img1, img2 := randomImage(t), randomImage(t)
		d1 := r.push(ctx, t, repo, "a", img1)
		r.retag(ctx, t, repo, "b", img1)
		r.retag(ctx, t, repo, "c", img1)
		r.retag(ctx, t, repo, "e", img1)
		d2 := r.push(ctx, t, repo, "d", img2)

		rec := &recordingTransport{inner: retry.NewTransport(r.tr)}
		c, err := registryapi.New(r.Repo(repo), r.kc, registryapi.WithTransport(rec))
		assert.NilError(t, err)
		tags, err := c.Tags(ctx)
		assert.NilError(t, err)
		assert.DeepEqual(t, tags, []string{"a", "b", "c", "d", "e"})

		rec.take()
		ok, err := c.SupportsTagDelete(ctx)
		assert.NilError(t, err)
		assert.Check(t, is.Equal(ok, r.Version == harness.Registry3), "SupportsTagDelete on %s", r.Version)
		t.Logf("probe on %s: %q", r.Version, rec.take())

		// Inventory, then untag a.
		desc, err := c.Resolve(ctx, "a")
		assert.NilError(t, err)
		assert.Check(t, is.Equal(desc.Digest, d1))
		assert.Check(t, is.Equal(desc.MediaType, string(types.DockerManifestSchema2)))
		rec.take()
		assert.NilError(t, c.Untag(ctx, "a", d1))
		t.Logf("untag on %s: %v from the check's answer to the answer of the request that removes or overwrites the tag",
			r.Version, rec.window())
		untagLog := rec.take()
		t.Logf("untag on %s: %q", r.Version, untagLog)
		if r.Version == harness.Registry3 {
			assert.DeepEqual(t, untagLog, []string{
				"HEAD /v2/team/app/manifests/a -> 200",
				"DELETE /v2/team/app/manifests/a -> 202",
			})
		} else if assert.Check(t, is.Len(untagLog, 6), "%q", untagLog) {
			// The empty config blob is pushed once, then HEAD, PUT, DELETE.
			assert.Check(t, is.Equal(untagLog[0], "HEAD /v2/team/app/blobs/"+emptyJSONDigest+" -> 404"))
			assert.Check(t, is.Equal(untagLog[1], "POST /v2/team/app/blobs/uploads/ -> 202"))
			assert.Check(t, strings.HasPrefix(untagLog[2], "PUT /v2/team/app/blobs/uploads/"))
			assert.Check(t, is.Equal(untagLog[3], "HEAD /v2/team/app/manifests/a -> 200"))
			assert.Check(t, is.Equal(untagLog[4], "PUT /v2/team/app/manifests/a -> 201"))
			del, ok := strings.CutPrefix(untagLog[5], "DELETE /v2/team/app/manifests/")
			throwAway, ok2 := strings.CutSuffix(del, " -> 202")
			if assert.Check(t, ok && ok2, "%q", untagLog[5]) {
				assert.Check(t, throwAway != d1 && throwAway != d2)
				_, err := c.Inspect(ctx, registryapi.Descriptor{Digest: throwAway})
				assert.Check(t, errors.Is(err, registryapi.ErrNotFound), "throw-away manifest left: %v", err)
			}
		}

		tags, err = c.Tags(ctx)
		assert.NilError(t, err)
		assert.DeepEqual(t, tags, []string{"b", "c", "d", "e"})
		for tag, want := range map[string]string{"b": d1, "c": d1, "d": d2} {
			got, err := c.Resolve(ctx, tag)
			if assert.Check(t, err, "resolve %s", tag) {
				assert.Check(t, is.Equal(got.Digest, want), "tag %s", tag)
			}
		}
		_, err = c.Resolve(ctx, "a")
		assert.Check(t, errors.Is(err, registryapi.ErrNotFound), "resolve a after untag: %v", err)
		img, err := c.Inspect(ctx, desc)
		assert.NilError(t, err, "the manifest a pointed to must survive")
		assert.Check(t, is.Equal(img.Digest, d1))

		// Untag of a tag that is already gone.
		err = c.Untag(ctx, "a", d1)
		assert.Check(t, errors.Is(err, registryapi.ErrNotFound), "untag a again: %v", err)

		// c is re-pointed by someone else after our inventory: kept.
		r.retag(ctx, t, repo, "c", img2)
		err = c.Untag(ctx, "c", d1)
		assert.Check(t, errors.Is(err, registryapi.ErrTagMoved), "untag moved tag: %v", err)
		got, err := c.Resolve(ctx, "c")
		assert.NilError(t, err)
		assert.Check(t, is.Equal(got.Digest, d2), "the moved tag survives where it was moved to")

		// Digest delete removes every tag on d2 (d and c).
		assert.NilError(t, c.DeleteManifest(ctx, d2))
		tags, err = c.Tags(ctx)
		assert.NilError(t, err)
		assert.DeepEqual(t, tags, []string{"b", "e"})
		err = c.DeleteManifest(ctx, d2)
		assert.Check(t, errors.Is(err, registryapi.ErrNotFound), "delete again: %v", err)

		// A second client of the same host shares the probe result and can
		// untag in parallel with the first.
		c2 := r.client(t, repo)
		errs := make(chan error, 2)
		go func() { errs <- c.Untag(ctx, "b", d1) }()
		go func() { errs <- c2.Untag(ctx, "e", d1) }()
		assert.NilError(t, <-errs)
		assert.NilError(t, <-errs)
		tags, err = c.Tags(ctx)
		assert.NilError(t, err)
		assert.DeepEqual(t, tags, []string{})
		_, err = c.Inspect(ctx, desc)
		assert.NilError(t, err, "untagging every tag leaves the manifest (for GC)")
	})
}

// emptyJSONDigest is the digest of "{}", the config of throw-away manifests.
const emptyJSONDigest = "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a"

// recordingTransport records "METHOD path -> status" of every request.
type recordingTransport struct {
	inner http.RoundTripper
	mu    sync.Mutex
	log   []string
	times [][2]time.Time // sent, answered
}

func (rt *recordingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	sent := time.Now()
	resp, err := rt.inner.RoundTrip(r)
	answered := time.Now()
	line := r.Method + " " + r.URL.Path
	if err == nil {
		line += " -> " + strconv.Itoa(resp.StatusCode)
	}
	rt.mu.Lock()
	rt.log = append(rt.log, line)
	rt.times = append(rt.times, [2]time.Time{sent, answered})
	rt.mu.Unlock()
	return resp, err
}

// window returns the time from the answer of the last HEAD of a tag to the
// answer of the next request (which removes or overwrites the tag).
func (rt *recordingTransport) window() time.Duration {
	rt.mu.Lock()
	defer rt.mu.Unlock()
	for i := len(rt.log) - 2; i >= 0; i-- {
		if strings.HasPrefix(rt.log[i], "HEAD ") && strings.Contains(rt.log[i], "/manifests/") {
			return rt.times[i+1][1].Sub(rt.times[i][1])
		}
	}
	return 0
}

// take returns the log so far and clears it.
func (rt *recordingTransport) take() []string {
	rt.mu.Lock()
	defer rt.mu.Unlock()
	l := rt.log
	rt.log, rt.times = nil, nil
	return l
}

// countingTransport counts tags/list requests.
type countingTransport struct {
	inner http.RoundTripper
	lists atomic.Int32
}

func (c *countingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	if strings.HasSuffix(r.URL.Path, "/tags/list") {
		c.lists.Add(1)
	}
	return c.inner.RoundTrip(r)
}

// TestRegistryAPITagsPagination lists 7 tags with n=2 over TLS on
// 127.0.0.1: distribution 3 paginates with relative Links (4 pages),
// 2.8 ignores n= and answers once. An unknown repository is empty.
func TestRegistryAPITagsPagination(t *testing.T) {
	forEachRegistry(t, func(t *testing.T, h *harness.H, r *apiRegistry) {
		ctx := context.Background()
		const repo = "paged"
		img := randomImage(t)
		r.push(ctx, t, repo, "t0", img)
		want := []string{"t0"}
		for _, tag := range []string{"t1", "t2", "t3", "t4", "t5", "t6"} {
			r.retag(ctx, t, repo, tag, img)
			want = append(want, tag)
		}
		ct := &countingTransport{inner: retry.NewTransport(r.tr)}
		c, err := registryapi.New(r.Repo(repo), r.kc, registryapi.WithTransport(ct), registryapi.WithPageSize(2))
		assert.NilError(t, err)
		tags, err := c.Tags(ctx)
		assert.NilError(t, err)
		assert.DeepEqual(t, tags, want)
		if r.Version == harness.Registry3 {
			assert.Check(t, is.Equal(ct.lists.Load(), int32(4)), "pages")
		} else {
			assert.Check(t, is.Equal(ct.lists.Load(), int32(1)), "pages")
		}

		tags, err = r.client(t, "never/pushed").Tags(ctx)
		assert.NilError(t, err)
		assert.DeepEqual(t, tags, []string{})
	})
}

// TestRegistryAPIInspect: an image's created time, labels and revision; a
// multi-arch index's children and newest created time.
func TestRegistryAPIInspect(t *testing.T) {
	forEachRegistry(t, func(t *testing.T, h *harness.H, r *apiRegistry) {
		ctx := context.Background()
		const repo = "multi"
		older := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
		newer := older.Add(36 * time.Hour)
		amd64 := withConfig(t, randomImage(t), older, map[string]string{"ci.werf.io/commit": "aaa111"})
		arm64 := withConfig(t, randomImage(t), newer, map[string]string{registryapi.KeyRevision: "bbb222", "arch": "arm64"})

		d := r.push(ctx, t, repo, "single", arm64)
		c := r.client(t, repo)
		desc, err := c.Resolve(ctx, "single")
		assert.NilError(t, err)
		assert.Check(t, is.Equal(desc.Digest, d))
		img, err := c.Inspect(ctx, desc)
		assert.NilError(t, err)
		assert.Check(t, !img.IsIndex)
		assert.Check(t, img.Created.Equal(newer), "created %v", img.Created)
		assert.Check(t, is.Equal(img.Revision, "bbb222"))
		assert.Check(t, is.Equal(img.Labels["arch"], "arm64"))

		idx := mutate.AppendManifests(mutate.IndexMediaType(empty.Index, types.OCIImageIndex),
			mutate.IndexAddendum{Add: amd64, Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: "linux", Architecture: "amd64"}}},
			mutate.IndexAddendum{Add: arm64, Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: "linux", Architecture: "arm64", Variant: "v8"}}},
		)
		ref, err := name.NewTag(r.Repo(repo) + ":multi")
		assert.NilError(t, err)
		assert.NilError(t, remote.WriteIndex(ref, idx, r.remoteOpts(ctx)...))
		idxDigest, err := idx.Digest()
		assert.NilError(t, err)

		desc, err = c.Resolve(ctx, "multi")
		assert.NilError(t, err)
		assert.Check(t, is.Equal(desc.Digest, idxDigest.String()), "the index, not a child")
		assert.Check(t, is.Equal(desc.MediaType, registryapi.MediaTypeOCIIndex))
		img, err = c.Inspect(ctx, desc)
		assert.NilError(t, err)
		assert.Check(t, img.IsIndex)
		assert.Check(t, is.Len(img.Children, 2))
		if len(img.Children) == 2 {
			assert.Check(t, is.Equal(img.Children[0].Platform, "linux/amd64"))
			assert.Check(t, is.Equal(img.Children[1].Platform, "linux/arm64/v8"))
			assert.Check(t, is.Equal(img.Children[1].Digest, d))
		}
		assert.Check(t, img.Created.Equal(newer), "index created = newest child's: %v", img.Created)
		assert.Check(t, is.Equal(img.Revision, "bbb222"))
	})
}

func withConfig(t *testing.T, img v1.Image, created time.Time, labels map[string]string) v1.Image {
	t.Helper()
	img, err := mutate.Config(img, v1.Config{Labels: labels})
	assert.NilError(t, err)
	img, err = mutate.CreatedAt(img, v1.Time{Time: created})
	assert.NilError(t, err)
	return img
}

// TestRegistryAPIReferrers: neither registry has the referrers API
// (distribution 3.1 answers 404 too), so Referrers reads the tag schema that
// go-containerregistry maintains when it pushes a manifest with a subject.
func TestRegistryAPIReferrers(t *testing.T) {
	forEachRegistry(t, func(t *testing.T, h *harness.H, r *apiRegistry) {
		ctx := context.Background()
		const repo = "signed"
		subject := mutate.MediaType(randomImage(t), types.OCIManifestSchema1)
		sd := r.push(ctx, t, repo, "v1", subject)
		c := r.client(t, repo)

		refs, via, err := c.Referrers(ctx, sd)
		assert.NilError(t, err)
		assert.Check(t, is.Equal(via, registryapi.ReferrersTagSchema))
		assert.Check(t, is.Len(refs, 0))

		desc, err := c.Resolve(ctx, "v1")
		assert.NilError(t, err)
		h1, err := v1.NewHash(sd)
		assert.NilError(t, err)
		art := mutate.MediaType(randomImage(t), types.OCIManifestSchema1)
		art = mutate.ConfigMediaType(art, "application/vnd.example.sbom.v1+json")
		art = mutate.Subject(art, v1.Descriptor{MediaType: types.OCIManifestSchema1, Digest: h1, Size: desc.Size}).(v1.Image)
		artRef, err := name.NewDigest(r.Repo(repo) + "@" + digestOf(t, art))
		assert.NilError(t, err)
		assert.NilError(t, remote.Write(artRef, art, r.remoteOpts(ctx)...))

		refs, via, err = c.Referrers(ctx, sd)
		assert.NilError(t, err)
		assert.Check(t, is.Equal(via, registryapi.ReferrersTagSchema))
		if assert.Check(t, is.Len(refs, 1)) {
			assert.Check(t, is.Equal(refs[0].Digest, digestOf(t, art)))
			assert.Check(t, is.Equal(refs[0].ArtifactType, "application/vnd.example.sbom.v1+json"))
		}
		tags, err := c.Tags(ctx)
		assert.NilError(t, err)
		assert.DeepEqual(t, tags, []string{registryapi.ReferrersTag(sd), "v1"})

		ai, err := c.Inspect(ctx, registryapi.Descriptor{Digest: digestOf(t, art)})
		assert.NilError(t, err)
		if assert.Check(t, ai.Subject != nil) {
			assert.Check(t, is.Equal(ai.Subject.Digest, sd))
		}
	})
}

func digestOf(t *testing.T, img v1.Image) string {
	t.Helper()
	d, err := img.Digest()
	assert.NilError(t, err)
	return d.String()
}

// TestRegistryAPIUnauthorized: a wrong password gives ErrUnauthorized for
// reads and deletes, with messages that name the operation and never the
// credentials.
func TestRegistryAPIUnauthorized(t *testing.T) {
	forEachRegistry(t, func(t *testing.T, h *harness.H, r *apiRegistry) {
		ctx := context.Background()
		const repo = "locked"
		d := r.push(ctx, t, repo, "v1", randomImage(t))
		wrong := h.RandomSecret("wrong-")
		h.Credential("cleaner", wrong)
		bad := hostKeychain{host: r.Addr, auth: authn.FromConfig(authn.AuthConfig{Username: "cleaner", Password: wrong})}
		c, err := registryapi.New(r.Repo(repo), bad, registryapi.WithTransport(retry.NewTransport(r.tr)))
		assert.NilError(t, err)

		_, err = c.Tags(ctx)
		assert.Check(t, errors.Is(err, registryapi.ErrUnauthorized), "%v", err)
		assert.Check(t, is.Contains(err.Error(), "list tags"))
		checkNoSecret(t, err, wrong)

		err = c.Untag(ctx, "v1", d)
		assert.Check(t, errors.Is(err, registryapi.ErrUnauthorized), "%v", err)
		assert.Check(t, is.Contains(err.Error(), "delete rights"))
		checkNoSecret(t, err, wrong)

		err = c.DeleteManifest(ctx, d)
		assert.Check(t, errors.Is(err, registryapi.ErrUnauthorized), "%v", err)
		assert.Check(t, is.Contains(err.Error(), "delete manifest"))
		checkNoSecret(t, err, wrong)
	})
}

func checkNoSecret(t *testing.T, err error, pass string) {
	t.Helper()
	if err == nil {
		return
	}
	msg := err.Error()
	assert.Check(t, !strings.Contains(msg, pass), "password in error: %s", msg)
	assert.Check(t, !strings.Contains(msg, "Basic "), "Authorization in error: %s", msg)
}

// BenchmarkRegistryAPIDelete compares deleting half of a repository's tags
// (each on its own manifest) with this package against a minimal program
// that only sends the DELETEs, 8 at a time:
//
//	go test -run '^$' -bench RegistryAPIDelete -benchtime 1x ./e2e/
//
// DOCKER_WERF_BENCH_TAGS sets the number of tags (default 5000).
func BenchmarkRegistryAPIDelete(b *testing.B) {
	total := 5000
	if v, err := strconv.Atoi(os.Getenv("DOCKER_WERF_BENCH_TAGS")); err == nil && v > 1 {
		total = v
	}
	const workers = 8
	for _, version := range harness.RegistryVersions {
		b.Run(version, func(b *testing.B) {
			h := harness.New(b)
			r := startAPIRegistryTB(b, h, version)
			flows := []string{"raw-digest", "DeleteManifest", "Untag"}
			if version == harness.Registry3 {
				flows = append(flows, "raw-tag", "raw-head+tag")
			}
			for _, flow := range flows {
				b.Run(flow, func(b *testing.B) {
					for range b.N {
						b.StopTimer()
						repo := "bench/" + strings.ReplaceAll(strings.ToLower(flow), "+", "-") + "-" + strconv.Itoa(int(time.Now().UnixNano()%1e9))
						digests := seedTags(b, r, repo, total)
						var retries atomic.Int32
						rt := retry.NewTransport(r.tr, retry.WithObserver(func(retry.Event) { retries.Add(1) }))
						c, err := registryapi.New(r.Repo(repo), r.kc, registryapi.WithTransport(rt))
						assert.NilError(b, err)
						raw := &http.Client{Transport: r.tr}
						user := r.user
						jobs := make(chan int)
						var wg sync.WaitGroup
						var failed atomic.Int32
						b.StartTimer()
						start := time.Now()
						for range workers {
							wg.Add(1)
							go func() {
								defer wg.Done()
								for i := range jobs {
									tag := "old-" + strconv.Itoa(i)
									var err error
									switch flow {
									case "raw-digest":
										err = rawDelete(raw, r, repo, digests[tag], user)
									case "raw-tag":
										err = rawDelete(raw, r, repo, tag, user)
									case "raw-head+tag":
										if err = rawHead(raw, r, repo, tag, user); err == nil {
											err = rawDelete(raw, r, repo, tag, user)
										}
									case "DeleteManifest":
										err = c.DeleteManifest(context.Background(), digests[tag])
									case "Untag":
										err = c.Untag(context.Background(), tag, digests[tag])
									}
									if err != nil {
										failed.Add(1)
										b.Log(err)
									}
								}
							}()
						}
						for i := range total / 2 {
							jobs <- i
						}
						close(jobs)
						wg.Wait()
						b.StopTimer()
						b.ReportMetric(float64(time.Since(start).Milliseconds()), "ms/run")
						b.ReportMetric(float64(retries.Load()), "retries")
						assert.Equal(b, failed.Load(), int32(0))
						tags, err := c.Tags(context.Background())
						assert.NilError(b, err)
						assert.Equal(b, len(tags), total-total/2)
					}
				})
			}
		})
	}
}

// rawDelete is the minimal program's DELETE.
func rawDelete(hc *http.Client, r *apiRegistry, repo, ref string, user [2]string) error {
	req, err := http.NewRequest(http.MethodDelete, "https://"+r.Addr+"/v2/"+repo+"/manifests/"+ref, nil)
	if err != nil {
		return err
	}
	req.SetBasicAuth(user[0], user[1])
	resp, err := hc.Do(req)
	if err != nil {
		return err
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted {
		return errors.New(resp.Status)
	}
	return nil
}

// rawHead is the minimal program's HEAD of a tag.
func rawHead(hc *http.Client, r *apiRegistry, repo, ref string, user [2]string) error {
	req, err := http.NewRequest(http.MethodHead, "https://"+r.Addr+"/v2/"+repo+"/manifests/"+ref, nil)
	if err != nil {
		return err
	}
	req.Header.Set("Accept", strings.Join([]string{registryapi.MediaTypeOCIIndex, registryapi.MediaTypeOCIManifest,
		registryapi.MediaTypeDockerList, registryapi.MediaTypeDockerManifest}, ", "))
	req.SetBasicAuth(user[0], user[1])
	resp, err := hc.Do(req)
	if err != nil {
		return err
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return errors.New(resp.Status)
	}
	return nil
}

// seedTags pushes total tags, "keep-<i>" and "old-<i>", each on its own
// manifest (sharing one config and layer), and returns tag -> digest.
func seedTags(tb testing.TB, r *apiRegistry, repo string, total int) map[string]string {
	tb.Helper()
	ctx := context.Background()
	base, err := random.Image(256, 1)
	assert.NilError(tb, err)
	ref, err := name.NewTag(r.Repo(repo) + ":base")
	assert.NilError(tb, err)
	assert.NilError(tb, remote.Write(ref, base, r.remoteOpts(ctx)...))
	p, err := remote.NewPusher(r.remoteOpts(ctx)...)
	assert.NilError(tb, err)
	tags := make([]string, 0, total)
	for i := range total / 2 {
		tags = append(tags, "old-"+strconv.Itoa(i))
	}
	for i := range total - total/2 - 1 {
		tags = append(tags, "keep-"+strconv.Itoa(i))
	}
	digests := make(map[string]string, total)
	var mu sync.Mutex
	jobs := make(chan string)
	var wg sync.WaitGroup
	for range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for tag := range jobs {
				img := mutate.Annotations(base, map[string]string{"tag": tag}).(v1.Image)
				tref, err := name.NewTag(r.Repo(repo) + ":" + tag)
				assert.Check(tb, err)
				assert.Check(tb, p.Push(ctx, tref, img))
				d, err := img.Digest()
				assert.Check(tb, err)
				mu.Lock()
				digests[tag] = d.String()
				mu.Unlock()
			}
		}()
	}
	for _, tag := range tags {
		jobs <- tag
	}
	close(jobs)
	wg.Wait()
	return digests
}
