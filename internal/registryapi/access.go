package registryapi

import (
	"context"
	"fmt"
	"io"
	"net/http"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"

	"github.com/docker-werf/docker-werf/internal/version"
)

// CheckAccess proves that the keychain's credentials for host are accepted by
// asking for one page of the tags of path. A repository that does not exist
// yet still proves the login: the registry had to accept us to say so.
func CheckAccess(ctx context.Context, host, path string, kc authn.Keychain) error {
	repo, err := name.NewRepository(host + "/" + path)
	if err != nil {
		return fmt.Errorf("invalid repository %q: %w", host+"/"+path, err)
	}
	auth, err := authn.Resolve(ctx, kc, repo)
	if err != nil {
		return fmt.Errorf("resolving credentials for %s: %w", host, err)
	}
	tr, err := transport.NewWithContext(ctx, repo.Registry, auth,
		transport.NewUserAgent(http.DefaultTransport, version.UserAgent()), []string{repo.Scope(transport.PullScope)})
	if err != nil {
		return fmt.Errorf("authenticating to %s: %w", host, err)
	}
	status, err := firstTagsPage(ctx, &http.Client{Transport: tr}, repo)
	if err != nil {
		return fmt.Errorf("checking access to %s: %w", repo.Name(), err)
	}
	switch status {
	case http.StatusOK, http.StatusNotFound:
		return nil
	case http.StatusUnauthorized, http.StatusForbidden:
		return fmt.Errorf("%s refused the credentials for %s (HTTP %d)", host, path, status)
	default:
		return fmt.Errorf("checking access to %s: unexpected HTTP %d", repo.Name(), status)
	}
}

// firstTagsPage asks for one tag over https and, for registries that
// go-containerregistry treats as insecure (loopback, RFC 1918), over http when
// https fails: its own listing checks pagination links against the guessed
// scheme and so breaks on a TLS registry at 127.0.0.1.
func firstTagsPage(ctx context.Context, client *http.Client, repo name.Repository) (int, error) {
	schemes := []string{"https"}
	if repo.Scheme() == "http" {
		schemes = append(schemes, "http")
	}
	var lastErr error
	for _, scheme := range schemes {
		u := fmt.Sprintf("%s://%s/v2/%s/tags/list?n=1", scheme, repo.RegistryStr(), repo.RepositoryStr())
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
		if err != nil {
			return 0, err
		}
		resp, err := client.Do(req)
		if err != nil {
			lastErr = err
			continue
		}
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
		resp.Body.Close()
		return resp.StatusCode, nil
	}
	return 0, lastErr
}
