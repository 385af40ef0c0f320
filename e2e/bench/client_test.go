package bench

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/docker-werf/docker-werf/e2e/harness"
)

// apiClient talks to the benchmark registry directly: basic auth over one
// keep-alive transport trusting the test CA. The floor contender, the tag
// listing that checks each run, and the digest look-ups use it.
type apiClient struct {
	base       string // https://ADDR/v2/bench/app
	user, pass string
	hc         *http.Client
	retries    atomic.Int64 // DELETEs sent again after a 500
}

func newAPIClient(t testing.TB, reg *harness.Registry, user, pass string, conns int) *apiClient {
	t.Helper()
	pem, err := os.ReadFile(reg.CAFile)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		t.Fatalf("no certificate in %s", reg.CAFile)
	}
	tr := &http.Transport{
		TLSClientConfig:     &tls.Config{RootCAs: pool},
		MaxIdleConns:        conns,
		MaxIdleConnsPerHost: conns,
		IdleConnTimeout:     time.Minute,
		ForceAttemptHTTP2:   false,
	}
	return &apiClient{base: "https://" + reg.Addr + "/v2/" + benchRepo, user: user, pass: pass,
		hc: &http.Client{Transport: tr, Timeout: 2 * time.Minute}}
}

func (c *apiClient) close() { c.hc.CloseIdleConnections() }

func (c *apiClient) do(ctx context.Context, method, u string, hdr http.Header) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, method, u, nil)
	if err != nil {
		return nil, err
	}
	req.SetBasicAuth(c.user, c.pass)
	for k, v := range hdr {
		req.Header[k] = v
	}
	return c.hc.Do(req)
}

// tags lists every tag, following Link pagination (distribution 3 pages,
// 2.8 sends everything at once and may send null).
func (c *apiClient) tags(ctx context.Context) ([]string, error) {
	var all []string
	next := c.base + "/tags/list?n=1000"
	for next != "" {
		resp, err := c.do(ctx, http.MethodGet, next, nil)
		if err != nil {
			return nil, err
		}
		body, err := io.ReadAll(resp.Body)
		_ = resp.Body.Close()
		if err != nil {
			return nil, err
		}
		if resp.StatusCode != http.StatusOK {
			return nil, fmt.Errorf("GET %s: %s: %s", next, resp.Status, body)
		}
		var page struct {
			Tags []string `json:"tags"`
		}
		if err := json.Unmarshal(body, &page); err != nil {
			return nil, fmt.Errorf("GET %s: %w", next, err)
		}
		all = append(all, page.Tags...)
		next = ""
		if l := resp.Header.Get("Link"); l != "" {
			target, _, _ := strings.Cut(strings.TrimPrefix(strings.TrimSpace(l), "<"), ">")
			u, err := resp.Request.URL.Parse(target)
			if err != nil {
				return nil, err
			}
			next = u.String()
		}
	}
	return all, nil
}

// resolve HEADs a tag and returns its Docker-Content-Digest.
func (c *apiClient) resolve(ctx context.Context, tag string) (string, error) {
	hdr := http.Header{"Accept": {mediaTypeManifest + ", application/vnd.oci.image.manifest.v1+json"}}
	resp, err := c.do(ctx, http.MethodHead, c.base+"/manifests/"+tag, hdr)
	if err != nil {
		return "", err
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("HEAD %s: %s", tag, resp.Status)
	}
	return resp.Header.Get("Docker-Content-Digest"), nil
}

// lookUpDigests resolves every tag with `parallel` requests in flight.
func (c *apiClient) lookUpDigests(ctx context.Context, tags []string, parallel int) ([]string, error) {
	out := make([]string, len(tags))
	err := parallelDo(ctx, len(tags), parallel, func(ctx context.Context, i int) error {
		d, err := c.resolve(ctx, tags[i])
		out[i] = d
		return err
	})
	return out, err
}

// deleteDigests is the floor: DELETE /v2/<repo>/manifests/<digest> for each
// digest with `parallel` goroutines over this client, nothing else.
func (c *apiClient) deleteDigests(ctx context.Context, digests []string, parallel int) error {
	return parallelDo(ctx, len(digests), parallel, func(ctx context.Context, i int) error {
		return c.expect(ctx, http.MethodDelete, c.base+"/manifests/"+digests[i], nil, nil, http.StatusAccepted)
	})
}

// untagTags is the floor of untagging: on a registry with the OCI tag
// DELETE (distribution 3) DELETE /v2/<repo>/manifests/<tag> per tag. On 2.8
// the writes docker werf cleanup sends there: groups of 1, 4, 16, 64, then
// 256 tags, each group's tags overwritten (PUT, parallel) with one
// throw-away manifest, which is then deleted by digest (one DELETE, whose
// tag look-up removes the group's tags). parallel goroutines, one client,
// nothing else.
func (c *apiClient) untagTags(ctx context.Context, tags []string, tagDelete bool, spareConfig, layer blobRef, parallel int) error {
	if tagDelete {
		return parallelDo(ctx, len(tags), parallel, func(ctx context.Context, i int) error {
			return c.expect(ctx, http.MethodDelete, c.base+"/manifests/"+tags[i], nil, nil, http.StatusAccepted)
		})
	}
	for start, size := 0, 1; start < len(tags); size = min(4*size, 256) {
		group := tags[start:min(start+size, len(tags))]
		start += len(group)
		man, _ := json.Marshal(map[string]any{
			"schemaVersion": 2,
			"mediaType":     "application/vnd.oci.image.manifest.v1+json",
			"config":        map[string]any{"mediaType": "application/vnd.oci.image.config.v1+json", "digest": spareConfig.digest, "size": spareConfig.size},
			"layers":        []any{map[string]any{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "digest": layer.digest, "size": layer.size}},
			"annotations":   map[string]string{"io.docker-werf.bench.untag": group[0]},
		})
		hdr := http.Header{"Content-Type": {"application/vnd.oci.image.manifest.v1+json"}}
		err := parallelDo(ctx, len(group), parallel, func(ctx context.Context, i int) error {
			return c.expect(ctx, http.MethodPut, c.base+"/manifests/"+group[i], hdr, man, http.StatusCreated)
		})
		if err != nil {
			return err
		}
		// 2.8 answers a DELETE whose tag look-up read a link file another
		// request was rewriting with 500, after removing the manifest: the
		// tags then dangle. Put the manifest back by digest and delete it
		// again (what docker werf cleanup does too).
		dig := digestOf(man)
		for attempt := 1; ; attempt++ {
			err := c.expect(ctx, http.MethodDelete, c.base+"/manifests/"+dig, nil, nil, http.StatusAccepted)
			if err == nil {
				break
			}
			if attempt == 5 {
				return err
			}
			if err := c.expect(ctx, http.MethodPut, c.base+"/manifests/"+dig, hdr, man, http.StatusCreated); err != nil {
				return err
			}
			c.retries.Add(1)
		}
	}
	return nil
}

// expect sends a request and fails unless the answer has the given status.
func (c *apiClient) expect(ctx context.Context, method, u string, hdr http.Header, body []byte, status int) error {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, u, rd)
	if err != nil {
		return err
	}
	req.SetBasicAuth(c.user, c.pass)
	for k, v := range hdr {
		req.Header[k] = v
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return err
	}
	b, _ := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	if resp.StatusCode != status {
		return fmt.Errorf("%s %s: %s: %s", method, u, resp.Status, b)
	}
	return nil
}

// parallelDo runs fn(0..n-1) on `parallel` goroutines and returns the first
// error (after stopping the rest).
func parallelDo(parent context.Context, n, parallel int, fn func(context.Context, int) error) error {
	ctx, cancel := context.WithCancel(parent)
	defer cancel()
	var (
		next     atomic.Int64
		once     sync.Once
		firstErr error
		wg       sync.WaitGroup
	)
	for range parallel {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= n || ctx.Err() != nil {
					return
				}
				if err := fn(ctx, i); err != nil {
					once.Do(func() { firstErr = err; cancel() })
					return
				}
			}
		}()
	}
	wg.Wait()
	if firstErr != nil {
		return firstErr
	}
	return parent.Err()
}
