package acr

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/docker-werf/docker-werf/internal/apiclient"
	"github.com/docker-werf/docker-werf/internal/registry"
	"github.com/docker-werf/docker-werf/internal/registryapi"
	"github.com/docker-werf/docker-werf/internal/retry"
)

// refreshMargin is how long before its expiry an access token is renewed.
const refreshMargin = time.Minute

// authTransport authenticates requests to the registry host, with Basic
// credentials or an access token, and nothing else: blob downloads that ACR
// redirects to storage never see the credentials.
type authTransport struct {
	base    http.RoundTripper
	host    string       // host[:port] of the registry endpoint
	basic   string       // "Basic ..." or ""
	tokens  *tokenSource // when not Basic
	secrets []string     // never to appear in messages
	who     string       // the credentials, for messages
}

func basicAuth(user, pass string) string {
	return base64.StdEncoding.EncodeToString([]byte(user + ":" + pass))
}

func (t *authTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if !strings.EqualFold(req.URL.Host, t.host) {
		return t.base.RoundTrip(req)
	}
	header, err := t.header(req.Context(), "")
	if err != nil {
		closeBody(req)
		return nil, err
	}
	r := req.Clone(req.Context())
	r.Header.Set("Authorization", header)
	resp, err := t.base.RoundTrip(r)
	if err != nil || t.tokens == nil || resp.StatusCode != http.StatusUnauthorized ||
		(req.Body != nil && req.Body != http.NoBody && req.GetBody == nil) {
		return resp, err
	}
	// The access token expired early or was revoked: get a new one and
	// send the request once more.
	apiclient.Discard(resp)
	header, err = t.header(req.Context(), header)
	if err != nil {
		return nil, err
	}
	r = req.Clone(req.Context())
	if req.GetBody != nil {
		if r.Body, err = req.GetBody(); err != nil {
			return nil, err
		}
	}
	r.Header.Set("Authorization", header)
	return t.base.RoundTrip(r)
}

// header returns the Authorization value; stale is a value the registry
// refused, to be replaced.
func (t *authTransport) header(ctx context.Context, stale string) (string, error) {
	if t.tokens == nil {
		return t.basic, nil
	}
	tok, err := t.tokens.accessToken(ctx, strings.TrimPrefix(stale, "Bearer "))
	if err != nil {
		return "", err
	}
	return "Bearer " + tok, nil
}

// tokenSource gets access tokens for one repository from a refresh token,
// exchanging a Microsoft Entra access token for the refresh token first.
type tokenSource struct {
	rt       http.RoundTripper
	endpoint string // scheme://host[:port]
	service  string // the registry's login server
	scope    string
	ua       string
	tenant   string
	cred     registry.Credential // where the token came from
	now      func() time.Time
	entra    string // a Microsoft Entra access token to exchange, or ""
	repo     string // host/path, for messages

	mu        sync.Mutex
	refresh   string
	exchanged bool // refresh came from exchanging entra
	access    string
	expires   time.Time // zero when the token does not say
}

func (c *Client) newTokenSource(service, token string, cred registry.Credential) *tokenSource {
	s := &tokenSource{rt: c.RT, endpoint: c.Base.Scheme + "://" + c.Base.Host, service: service,
		scope: "repository:" + c.path + ":pull,delete,metadata_read,metadata_write", ua: c.UA, tenant: c.tenant,
		cred: cred, now: c.Now, repo: c.name}
	if claims := jwtClaims(token); isEntraToken(claims) {
		s.entra = token
		if s.tenant == "" {
			s.tenant, _ = claims["tid"].(string)
		}
	} else {
		s.refresh = token
	}
	c.auth.secrets = []string{token}
	c.auth.who = "the token in " + names(cred)
	return s
}

// jwtClaims decodes the claims of a JWT without verifying it; nil if tok is
// not one.
func jwtClaims(tok string) map[string]any {
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		return nil
	}
	b, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(parts[1], "="))
	if err != nil {
		return nil
	}
	var claims map[string]any
	if json.Unmarshal(b, &claims) != nil {
		return nil
	}
	return claims
}

// isEntraToken tells a Microsoft Entra ID (Azure AD) access token from an
// ACR refresh token: ACR's tokens are issued by "Azure Container Registry"
// with a grant_type claim; Entra's by sts.windows.net or
// login.microsoftonline.com (or a sovereign cloud's) for a tenant.
func isEntraToken(claims map[string]any) bool {
	if claims == nil {
		return false
	}
	iss, _ := claims["iss"].(string)
	if _, ok := claims["grant_type"]; ok || strings.EqualFold(iss, "Azure Container Registry") {
		return false
	}
	for _, s := range []string{"sts.windows.net", "login.microsoftonline", "sts.chinacloudapi.cn", "login.chinacloudapi.cn",
		"login.microsoftonline.us"} {
		if strings.Contains(iss, s) {
			return true
		}
	}
	_, tid := claims["tid"]
	return tid
}

// expiry reads a JWT's exp claim; zero if there is none.
func expiry(tok string) time.Time {
	if exp, ok := jwtClaims(tok)["exp"].(float64); ok && exp > 0 {
		return time.Unix(int64(exp), 0)
	}
	return time.Time{}
}

// accessToken returns a valid access token, getting a new one when there is
// none, when it expires within refreshMargin, or when the registry refused
// it (stale).
func (s *tokenSource) accessToken(ctx context.Context, stale string) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	fresh := s.access != "" && s.access != stale && (s.expires.IsZero() || s.now().Before(s.expires.Add(-refreshMargin)))
	if fresh {
		return s.access, nil
	}
	if s.refresh == "" {
		if err := s.exchange(ctx); err != nil {
			return "", err
		}
	}
	tok, err := s.token(ctx)
	if errors.Is(err, registryapi.ErrUnauthorized) && s.entra != "" && s.exchanged {
		// The refresh token from the exchange expired (they last 3 hours):
		// exchange the Entra token again, which works while it is valid.
		if err = s.exchange(ctx); err == nil {
			tok, err = s.token(ctx)
		}
	}
	if err != nil {
		return "", err
	}
	s.access, s.expires = tok, expiry(tok)
	return tok, nil
}

// exchange swaps the Entra access token for an ACR refresh token
// (POST /oauth2/exchange, grant_type=access_token).
func (s *tokenSource) exchange(ctx context.Context) error {
	form := url.Values{"grant_type": {"access_token"}, "service": {s.service}, "access_token": {s.entra}}
	if s.tenant != "" {
		form.Set("tenant", s.tenant)
	}
	var out struct {
		RefreshToken string `json:"refresh_token"`
	}
	if err := s.post(ctx, "/oauth2/exchange", form, &out, func(status int) string {
		return "ACR refused to exchange the Microsoft Entra access token in " + names(s.cred) + " for a refresh " +
			"token: it may have expired (az account get-access-token gives tokens valid for about an hour), belong to " +
			"another tenant, or its identity may have no role on the registry (deleting needs AcrDelete, Contributor " +
			"or Owner)"
	}); err != nil {
		return err
	}
	if out.RefreshToken == "" {
		return fmt.Errorf("exchanging the Microsoft Entra access token in %s at %s/oauth2/exchange: no refresh_token "+
			"in the answer", names(s.cred), s.endpoint)
	}
	s.refresh, s.exchanged = out.RefreshToken, true
	return nil
}

// token gets an access token for the repository from the refresh token
// (POST /oauth2/token, grant_type=refresh_token).
func (s *tokenSource) token(ctx context.Context) (string, error) {
	form := url.Values{"grant_type": {"refresh_token"}, "service": {s.service}, "scope": {s.scope},
		"refresh_token": {s.refresh}}
	var out struct {
		AccessToken string `json:"access_token"`
	}
	if err := s.post(ctx, "/oauth2/token", form, &out, func(status int) string {
		what := "the refresh token in " + names(s.cred)
		if s.exchanged {
			what = "the refresh token ACR gave for the Microsoft Entra access token in " + names(s.cred)
		}
		return "ACR refused " + what + ": it may have expired (refresh tokens from az acr login --expose-token " +
			"or an Entra exchange last 3 hours) or be for another registry"
	}); err != nil {
		return "", err
	}
	if out.AccessToken == "" {
		return "", fmt.Errorf("getting an access token for %s at %s/oauth2/token: no access_token in the answer",
			s.repo, s.endpoint)
	}
	return out.AccessToken, nil
}

// post sends a form to the token service. It may be repeated (the retry
// transport honours 429 on it); refusals get hint's text.
func (s *tokenSource) post(ctx context.Context, path string, form url.Values, out any, hint func(status int) string) error {
	op := "getting an access token for " + s.repo + " at " + s.endpoint + path
	if path == "/oauth2/exchange" {
		op = "exchanging the Microsoft Entra access token in " + names(s.cred) + " at " + s.endpoint + path
	}
	req, err := http.NewRequestWithContext(retry.Idempotent(ctx), http.MethodPost, s.endpoint+path,
		strings.NewReader(form.Encode()))
	if err != nil {
		return fmt.Errorf("%s on ACR: %w", op, err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", s.ua)
	resp, err := s.rt.RoundTrip(req)
	if err != nil {
		return fmt.Errorf("%s on ACR: %w", op, err)
	}
	defer apiclient.Discard(resp)
	if resp.StatusCode != http.StatusOK {
		msg := redact(readMessage(resp), form.Get("access_token"), form.Get("refresh_token"))
		err := fmt.Errorf("%s on ACR: HTTP %d %s", op, resp.StatusCode, http.StatusText(resp.StatusCode))
		if msg != "" {
			err = fmt.Errorf("%w: %s", err, msg)
		}
		switch resp.StatusCode {
		case http.StatusUnauthorized, http.StatusForbidden, http.StatusBadRequest:
			return &refusedError{msg: err.Error() + "; " + hint(resp.StatusCode)}
		}
		return err
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(out); err != nil {
		return fmt.Errorf("%s on ACR: decoding the answer: %w", op, err)
	}
	return nil
}

// refusedError is the token service refusing a token; it wraps
// registryapi.ErrUnauthorized.
type refusedError struct{ msg string }

func (e *refusedError) Error() string { return e.msg }
func (e *refusedError) Unwrap() error { return registryapi.ErrUnauthorized }

func closeBody(req *http.Request) {
	if req.Body != nil {
		_ = req.Body.Close()
	}
}
