package selectel

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/docker-werf/docker-werf/internal/apiclient"
	"github.com/docker-werf/docker-werf/internal/registry"
	"github.com/docker-werf/docker-werf/internal/registryapi"
	"github.com/docker-werf/docker-werf/internal/retry"
)

// defaultTokenLife is assumed when Keystone does not say (it says, normally:
// 24 hours).
const defaultTokenLife = 24 * time.Hour

// maxBody bounds what is read of an answer.
const maxBody = 16 << 20

// Tags lists the repository's tags through the CRaaS API:
// GET /registries/<id>/repositories/<repository>/tags. The API answers 404
// both for a repository without tags and for one it does not know, so a 404
// counts as "no tags" only once GET /registries/<id>/repositories/<repository>
// says the repository exists; otherwise a cleanup of a mistyped repository
// would do nothing and report success.
func (c *Client) Tags(ctx context.Context) ([]string, error) {
	const op = "listing tags of"
	id, err := c.registryIDFor(ctx)
	if err != nil {
		return nil, err
	}
	resp, err := c.do(ctx, op, http.MethodGet, c.repositoryPath(id)+"/tags")
	if err != nil {
		return nil, err
	}
	defer apiclient.Discard(resp)
	if resp.StatusCode == http.StatusNotFound {
		if err := c.repositoryExists(ctx, id); err != nil {
			return nil, err
		}
		return []string{}, nil
	}
	if resp.StatusCode != http.StatusOK {
		return nil, c.responseError(op, false, resp)
	}
	var tags []string
	if err := json.NewDecoder(io.LimitReader(resp.Body, maxBody)).Decode(&tags); err != nil {
		return nil, fmt.Errorf("%s %s on Selectel: decoding the tag list: %w", op, c.name, err)
	}
	tags = slices.DeleteFunc(tags, func(t string) bool { return t == "" })
	slices.Sort(tags)
	tags = slices.Compact(tags)
	if tags == nil {
		tags = []string{}
	}
	return tags, nil
}

// repositoryExists asks GET /registries/<id>/repositories/<repository>; a 404
// is registryapi.ErrNotFound naming the repository.
func (c *Client) repositoryExists(ctx context.Context, id string) error {
	const op = "reading repository"
	resp, err := c.do(ctx, op, http.MethodGet, c.repositoryPath(id))
	if err != nil {
		return err
	}
	defer apiclient.Discard(resp)
	switch resp.StatusCode {
	case http.StatusOK:
		return nil
	case http.StatusNotFound:
		return fmt.Errorf("%s %s on Selectel: %w: registry %q has no repository %q", op, c.name,
			registryapi.ErrNotFound, c.registry, c.repository)
	}
	return c.responseError(op, false, resp)
}

// Resolve returns the descriptor a tag points to, through the Docker
// Registry API (the CRaaS tag list has no digests).
func (c *Client) Resolve(ctx context.Context, tag string) (registryapi.Descriptor, error) {
	return c.regAPI.Resolve(ctx, tag)
}

// Inspect reads the image through the Docker Registry API.
func (c *Client) Inspect(ctx context.Context, d registryapi.Descriptor) (registryapi.Image, error) {
	return c.regAPI.Inspect(ctx, d)
}

// Untag always fails: the CRaaS API removes whole images only, as the
// registry spec of the kind says.
func (c *Client) Untag(_ context.Context, tag, _ string) error {
	return fmt.Errorf("untagging %s of %s on Selectel: %w", tag, c.name, ErrCannotUntag)
}

// DeleteManifest deletes the image by digest, and with it every tag on it:
// DELETE /registries/<id>/repositories/<repository>/<digest>. A missing
// image gives registryapi.ErrNotFound.
func (c *Client) DeleteManifest(ctx context.Context, digest string) error {
	if !registryapi.ValidSHA256(digest) {
		return fmt.Errorf("invalid digest %q", digest)
	}
	op := "deleting image " + digest + " from"
	id, err := c.registryIDFor(ctx)
	if err != nil {
		return err
	}
	resp, err := c.do(ctx, op, http.MethodDelete, c.repositoryPath(id)+"/"+url.PathEscape(digest))
	if err != nil {
		return err
	}
	defer apiclient.Discard(resp)
	switch resp.StatusCode {
	case http.StatusNoContent, http.StatusOK, http.StatusAccepted:
		return nil
	}
	return c.responseError(op, true, resp)
}

// repositoryPath is /registries/<id>/repositories/<repository>, as
// selectel/craas-go pkg/v1/repository builds it; each path component is
// escaped (nested repositories keep their slashes).
func (c *Client) repositoryPath(registryID string) string {
	parts := strings.Split(c.repository, "/")
	for i, p := range parts {
		parts[i] = url.PathEscape(p)
	}
	return "/registries/" + url.PathEscape(registryID) + "/repositories/" + strings.Join(parts, "/")
}

// registriesPageSize is the limit asked of GET /registries (the API's
// default is 10).
const registriesPageSize = 100

type craasRegistry struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

// registryIDFor finds the registry's id by its name, once, reading every
// page of GET /registries?limit=&offset= until a short page.
func (c *Client) registryIDFor(ctx context.Context) (string, error) {
	c.idMu.Lock()
	defer c.idMu.Unlock()
	if c.registryID != "" {
		return c.registryID, nil
	}
	const op = "finding the registry of"
	var names []string
	err := apiclient.Pages("0", func(_ int, offset string) (string, error) {
		regs, err := c.registriesPage(ctx, op, offset)
		if err != nil {
			return "", err
		}
		for _, r := range regs {
			if r.Name == c.registry && r.ID != "" {
				c.registryID = r.ID
				return "", nil
			}
			names = append(names, r.Name)
		}
		if len(regs) < registriesPageSize {
			return "", nil
		}
		n, _ := strconv.Atoi(offset)
		return strconv.Itoa(n + len(regs)), nil
	})
	switch {
	case errors.Is(err, apiclient.ErrEndlessPagination):
		return "", fmt.Errorf("%s %s on Selectel: GET /registries: %w", op, c.name, err)
	case err != nil:
		return "", err
	case c.registryID == "":
		return "", fmt.Errorf("%s %s on Selectel: %w: the project has no registry %q (it has: %s); check %s",
			op, c.name, registryapi.ErrNotFound, c.registry, strings.Join(names, ", "), projectFlags())
	}
	return c.registryID, nil
}

// registriesPage reads one page of GET /registries.
func (c *Client) registriesPage(ctx context.Context, op, offset string) ([]craasRegistry, error) {
	resp, err := c.do(ctx, op, http.MethodGet, fmt.Sprintf("/registries?limit=%d&offset=%s", registriesPageSize, offset))
	if err != nil {
		return nil, err
	}
	defer apiclient.Discard(resp)
	if resp.StatusCode == http.StatusNoContent {
		return nil, nil
	}
	if resp.StatusCode != http.StatusOK {
		return nil, c.responseError(op, false, resp)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxBody))
	if err != nil {
		return nil, fmt.Errorf("%s %s on Selectel: %w", op, c.name, err)
	}
	var regs []craasRegistry
	if err := json.Unmarshal(body, &regs); err != nil {
		// Later versions of the API wrap the list: {"registries": [...]}.
		var wrapped struct {
			Registries []craasRegistry `json:"registries"`
		}
		if json.Unmarshal(body, &wrapped) != nil {
			return nil, fmt.Errorf("%s %s on Selectel: decoding the registry list: %w", op, c.name, err)
		}
		regs = wrapped.Registries
	}
	return regs, nil
}

func projectFlags() string {
	return registry.CredentialName(registry.CredSelectelVPC) + " / " + registry.CredentialName(registry.CredSelectelVPCID)
}

// do sends an authenticated CRaaS API request; a 401 renews the token and
// tries once more. The caller closes the response.
func (c *Client) do(ctx context.Context, op, method, path string) (*http.Response, error) {
	u := c.base + path
	for attempt := 0; ; attempt++ {
		token, err := c.tokenFor(ctx)
		if err != nil {
			return nil, err
		}
		req, err := http.NewRequestWithContext(ctx, method, u, nil)
		if err != nil {
			return nil, fmt.Errorf("%s %s on Selectel: %w", op, c.name, err)
		}
		req.Header.Set("X-Auth-Token", token)
		req.Header.Set("Accept", "application/json")
		req.Header.Set("User-Agent", c.ua)
		resp, err := c.hc.Do(req)
		if err != nil {
			return nil, fmt.Errorf("%s %s on Selectel: %w", op, c.name, err)
		}
		if resp.StatusCode == http.StatusUnauthorized && attempt == 0 {
			apiclient.Discard(resp)
			c.dropToken(token)
			continue
		}
		return resp, nil
	}
}

// tokenFor returns the Keystone token, getting a new one when there is none
// or it is past half its life.
func (c *Client) tokenFor(ctx context.Context) (string, error) {
	c.tokenMu.Lock()
	defer c.tokenMu.Unlock()
	if c.token != "" && c.now().Before(c.tokenRenew) {
		return c.token, nil
	}
	token, renew, err := c.fetchToken(ctx)
	if err != nil {
		return "", err
	}
	c.token, c.tokenRenew = token, renew
	return token, nil
}

func (c *Client) dropToken(token string) {
	c.tokenMu.Lock()
	defer c.tokenMu.Unlock()
	if c.token == token {
		c.token = ""
	}
}

type keystoneName struct {
	Name string `json:"name"`
}

type keystoneProject struct {
	ID     string        `json:"id,omitempty"`
	Name   string        `json:"name,omitempty"`
	Domain *keystoneName `json:"domain,omitempty"`
}

// fetchToken asks Keystone for a project-scoped token with the password
// method: POST <identity>/auth/tokens, token in X-Subject-Token.
func (c *Client) fetchToken(ctx context.Context) (string, time.Time, error) {
	const op = "getting a Selectel token for"
	project := keystoneProject{ID: c.creds.VPCID}
	if c.creds.VPCID == "" {
		project = keystoneProject{Name: c.creds.VPC, Domain: &keystoneName{Name: c.creds.Account}}
	}
	var body struct {
		Auth struct {
			Identity struct {
				Methods  []string `json:"methods"`
				Password struct {
					User struct {
						Name     string       `json:"name"`
						Domain   keystoneName `json:"domain"`
						Password string       `json:"password"`
					} `json:"user"`
				} `json:"password"`
			} `json:"identity"`
			Scope struct {
				Project keystoneProject `json:"project"`
			} `json:"scope"`
		} `json:"auth"`
	}
	body.Auth.Identity.Methods = []string{"password"}
	u := &body.Auth.Identity.Password.User
	u.Name, u.Domain.Name, u.Password = c.creds.Username, c.creds.Account, c.creds.Password
	body.Auth.Scope.Project = project
	payload, err := json.Marshal(body)
	if err != nil {
		return "", time.Time{}, fmt.Errorf("%s %s on Selectel: %w", op, c.name, err)
	}
	// Asking for a token again is harmless: let the transport retry it.
	req, err := http.NewRequestWithContext(retry.Idempotent(ctx), http.MethodPost, c.identityURL+"/auth/tokens",
		bytes.NewReader(payload))
	if err != nil {
		return "", time.Time{}, fmt.Errorf("%s %s on Selectel: %w", op, c.name, err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", c.ua)
	asked := c.now()
	resp, err := c.hc.Do(req)
	if err != nil {
		return "", time.Time{}, fmt.Errorf("%s %s on Selectel: %w", op, c.name, hide(err, c.creds.Password))
	}
	defer apiclient.Discard(resp)
	if resp.StatusCode != http.StatusCreated && resp.StatusCode != http.StatusOK {
		msg := hide(errors.New(bodyMessage(resp)), c.creds.Password).Error()
		switch resp.StatusCode {
		case http.StatusUnauthorized, http.StatusForbidden, http.StatusNotFound:
			return "", time.Time{}, fmt.Errorf("%s %s on Selectel: %w: the Selectel identity API refused the credentials "+
				"(HTTP %d%s); check %s, %s, %s and %s", op, c.name, registryapi.ErrUnauthorized, resp.StatusCode, prefixed(msg),
				registry.CredentialName(registry.CredSelectelUsername), registry.CredentialName(registry.CredSelectelPassword),
				registry.CredentialName(registry.CredSelectelAccount), projectFlags())
		}
		return "", time.Time{}, fmt.Errorf("%s %s on Selectel: the Selectel identity API answered HTTP %d%s",
			op, c.name, resp.StatusCode, prefixed(msg))
	}
	token := resp.Header.Get("X-Subject-Token")
	if token == "" {
		return "", time.Time{}, fmt.Errorf("%s %s on Selectel: the identity API answered without X-Subject-Token", op, c.name)
	}
	var answer struct {
		Token struct {
			ExpiresAt string `json:"expires_at"`
		} `json:"token"`
	}
	life := defaultTokenLife
	if json.NewDecoder(io.LimitReader(resp.Body, maxBody)).Decode(&answer) == nil {
		if exp, err := time.Parse(time.RFC3339Nano, answer.Token.ExpiresAt); err == nil {
			life = exp.Sub(asked)
		}
	}
	return token, asked.Add(life / 2), nil
}

// hide blanks secrets (the password, a token) from text that might echo them.
func hide(err error, secrets ...string) error {
	s := err.Error()
	replaced := false
	for _, secret := range secrets {
		if len(secret) >= 4 && strings.Contains(s, secret) {
			s, replaced = strings.ReplaceAll(s, secret, "[redacted]"), true
		}
	}
	if !replaced {
		return err
	}
	return errors.New(s)
}

func (c *Client) currentToken() string {
	c.tokenMu.Lock()
	defer c.tokenMu.Unlock()
	return c.token
}

// responseError describes an unexpected CRaaS API answer.
func (c *Client) responseError(op string, write bool, resp *http.Response) error {
	msg := prefixed(hide(errors.New(bodyMessage(resp)), c.creds.Password, c.currentToken()).Error())
	prefix := fmt.Sprintf("%s %s on Selectel: %s %s: HTTP %d", op, c.name, resp.Request.Method,
		resp.Request.URL.Path, resp.StatusCode)
	switch resp.StatusCode {
	case http.StatusUnauthorized:
		return fmt.Errorf("%s%s: %w: Selectel refused a fresh token; check %s, %s, %s and %s", prefix, msg,
			registryapi.ErrUnauthorized, registry.CredentialName(registry.CredSelectelUsername), registry.CredentialName(registry.CredSelectelPassword),
			registry.CredentialName(registry.CredSelectelAccount), projectFlags())
	case http.StatusForbidden:
		need := "read the Container Registry"
		if write {
			need = "delete images from the Container Registry"
		}
		return fmt.Errorf("%s%s: %w: the user of %s may not %s in this project", prefix, msg,
			registryapi.ErrUnauthorized, registry.CredentialName(registry.CredSelectelUsername), need)
	case http.StatusNotFound:
		return fmt.Errorf("%s%s: %w", prefix, msg, registryapi.ErrNotFound)
	}
	return fmt.Errorf("%s%s", prefix, msg)
}

// bodyMessage is the server's message: "error" or "message" of a JSON
// body, Keystone's error.message, or short plain text.
func bodyMessage(resp *http.Response) string {
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	var v struct {
		Error   json.RawMessage `json:"error"`
		Message string          `json:"message"`
	}
	if json.Unmarshal(b, &v) == nil {
		var s string
		var ks struct {
			Message string `json:"message"`
		}
		switch {
		case json.Unmarshal(v.Error, &s) == nil && s != "":
			return apiclient.Truncate(s, 300)
		case json.Unmarshal(v.Error, &ks) == nil && ks.Message != "":
			return apiclient.Truncate(ks.Message, 300)
		case v.Message != "":
			return apiclient.Truncate(v.Message, 300)
		}
	}
	s := strings.Join(strings.Fields(string(b)), " ")
	if s == "" || !utf8.ValidString(s) || strings.HasPrefix(s, "<") {
		return ""
	}
	return apiclient.Truncate(s, 300)
}

func prefixed(msg string) string {
	if msg == "" {
		return ""
	}
	return ": " + msg
}
