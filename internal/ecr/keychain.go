package ecr

import (
	"context"
	"encoding/base64"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsecr "github.com/aws/aws-sdk-go-v2/service/ecr"
	"github.com/google/go-containerregistry/pkg/authn"

	"github.com/docker-werf/docker-werf/internal/registryapi"
)

// authToken is a registry login from GetAuthorizationToken.
type authToken struct {
	username, password string
	refreshAt          time.Time // half its life
}

// Keychain returns registry API credentials for the repository's registry
// host (and nothing for other hosts): user "AWS" and a GetAuthorizationToken
// token, fetched on first use and again after half its life (tokens last
// 12 hours).
func (c *Client) Keychain() authn.Keychain { return keychain{c} }

type keychain struct{ c *Client }

func (k keychain) Resolve(r authn.Resource) (authn.Authenticator, error) {
	return k.ResolveContext(context.Background(), r)
}

func (k keychain) ResolveContext(_ context.Context, r authn.Resource) (authn.Authenticator, error) {
	if r.RegistryStr() != k.c.readerHost {
		return authn.Anonymous, nil
	}
	return authenticator(k), nil
}

type authenticator struct{ c *Client }

func (a authenticator) Authorization() (*authn.AuthConfig, error) {
	return a.AuthorizationContext(context.Background())
}

func (a authenticator) AuthorizationContext(ctx context.Context) (*authn.AuthConfig, error) {
	t, err := a.c.registryToken(ctx)
	if err != nil {
		return nil, err
	}
	return &authn.AuthConfig{Username: t.username, Password: t.password}, nil
}

// RegistryLogin returns a registry login from GetAuthorizationToken (user
// "AWS") and when to fetch a new one: half the token's life from now.
func (c *Client) RegistryLogin(ctx context.Context) (username, password string, refreshAt time.Time, err error) {
	t, err := c.registryToken(ctx)
	if err != nil {
		return "", "", time.Time{}, err
	}
	return t.username, t.password, t.refreshAt, nil
}

// registryToken returns a cached token while it is in the first half of
// its life, otherwise fetches one; concurrent callers share one request.
func (c *Client) registryToken(ctx context.Context) (*authToken, error) {
	for {
		c.authMu.Lock()
		if t := c.authToken; t != nil && c.now().Before(t.refreshAt) {
			c.authMu.Unlock()
			return t, nil
		}
		if wait := c.authInFlight; wait != nil {
			c.authMu.Unlock()
			select {
			case <-wait:
				continue
			case <-ctx.Done():
				return nil, ctx.Err()
			}
		}
		done := make(chan struct{})
		c.authInFlight = done
		c.authMu.Unlock()

		t, err := c.fetchRegistryToken(ctx)

		c.authMu.Lock()
		if err == nil {
			c.authToken = t
		}
		c.authInFlight = nil
		close(done)
		c.authMu.Unlock()
		return t, err
	}
}

func (c *Client) fetchRegistryToken(ctx context.Context) (*authToken, error) {
	const op = "getting a registry login for"
	fetched := c.now()
	out, err := c.api.GetAuthorizationToken(ctx, &awsecr.GetAuthorizationTokenInput{})
	if err != nil {
		return nil, c.apiError(op, "ecr:GetAuthorizationToken", err)
	}
	if len(out.AuthorizationData) == 0 {
		return nil, fmt.Errorf("%s %s: GetAuthorizationToken answered no authorization data", op, c.name)
	}
	d := out.AuthorizationData[0]
	raw, err := base64.StdEncoding.DecodeString(aws.ToString(d.AuthorizationToken))
	if err != nil {
		return nil, fmt.Errorf("%s %s: GetAuthorizationToken answered a token that is not base64", op, c.name)
	}
	user, pass, ok := strings.Cut(string(raw), ":")
	if !ok || user == "" || pass == "" {
		return nil, fmt.Errorf("%s %s: GetAuthorizationToken answered a token that is not user:password", op, c.name)
	}
	life := 12 * time.Hour
	if d.ExpiresAt != nil {
		life = d.ExpiresAt.Sub(fetched)
	}
	return &authToken{username: user, password: pass, refreshAt: fetched.Add(life / 2)}, nil
}

// imageReader returns the configured reader, or builds the default one on
// first use.
func (c *Client) imageReader() (RegistryAPI, error) {
	if c.readerSet {
		return c.reader, nil
	}
	c.readerOnce.Do(func() {
		rc, err := registryapi.New(c.readerHost+"/"+c.repo.Path, c.Keychain())
		if err != nil {
			c.readerErr = err
			return
		}
		c.reader = rc
	})
	return c.reader, c.readerErr
}
