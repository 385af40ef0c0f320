package registryapi

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
)

// maxPages stops a listing whose Link headers never end.
const maxPages = 100_000

// Tags lists every tag of the repository, sorted. It follows Link pagination
// (relative and absolute links, on the same host only), accepts registries
// that ignore n= and send everything at once (distribution 2.8) and a null
// tag list, and returns an empty list for a repository the registry does not
// know (404 NAME_UNKNOWN).
func (c *Client) Tags(ctx context.Context) ([]string, error) {
	const op = "list tags of"
	hc, err := c.client(ctx, false)
	if err != nil {
		return nil, err
	}
	next := c.url("/tags/list")
	if c.pageSize > 0 {
		next += "?n=" + strconv.Itoa(c.pageSize)
	}
	var tags []string
	seen := map[string]bool{}
	for page := 0; next != ""; page++ {
		if seen[next] || page >= maxPages {
			return nil, fmt.Errorf("%s %s: pagination does not end (at %s)", op, c.repo.Name(), next)
		}
		seen[next] = true
		resp, err := c.send(ctx, hc, http.MethodGet, next, nil, nil)
		if err != nil {
			return nil, fmt.Errorf("%s %s: %w", op, c.repo.Name(), err)
		}
		if resp.StatusCode != http.StatusOK {
			e := c.responseError(op, false, resp)
			if page == 0 && e.StatusCode == http.StatusNotFound && e.hasCode("NAME_UNKNOWN") {
				return []string{}, nil
			}
			return nil, e
		}
		var list struct {
			Tags []string `json:"tags"`
		}
		err = json.NewDecoder(resp.Body).Decode(&list)
		discard(resp)
		if err != nil {
			return nil, fmt.Errorf("%s %s: decoding %s: %w", op, c.repo.Name(), resp.Request.URL.RequestURI(), err)
		}
		tags = append(tags, list.Tags...)
		next, err = nextLink(resp.Request.URL, resp.Header.Values("Link"))
		if err != nil {
			return nil, fmt.Errorf("%s %s: %w", op, c.repo.Name(), err)
		}
	}
	slices.Sort(tags)
	tags = slices.Compact(tags)
	if tags == nil {
		tags = []string{}
	}
	return tags, nil
}

// nextLink returns the URL of the rel="next" Link, resolved against the
// request URL, or "" if there is none. A link to another host is refused. The
// request's scheme is kept: a registry behind a TLS-terminating proxy may
// well write http:// links, and following one would downgrade the
// connection (and a link with another scheme is where go-containerregistry's
// own listing breaks for TLS registries on 127.0.0.1).
func nextLink(req *url.URL, links []string) (string, error) {
	for _, v := range links {
		for _, link := range strings.Split(v, ",") {
			target, params, ok := strings.Cut(link, ";")
			target = strings.TrimSpace(target)
			if !ok || !strings.HasPrefix(target, "<") || !strings.HasSuffix(target, ">") || !relNext(params) {
				continue
			}
			u, err := req.Parse(target[1 : len(target)-1])
			if err != nil {
				return "", fmt.Errorf("invalid Link %q: %w", target, err)
			}
			if !sameHost(req, u) {
				return "", fmt.Errorf("refusing Link to another host: %s", u.Redacted())
			}
			next := *req
			next.Path, next.RawPath, next.RawQuery = u.Path, u.RawPath, u.RawQuery
			return next.String(), nil
		}
	}
	return "", nil
}

func relNext(params string) bool {
	for _, p := range strings.Split(params, ";") {
		k, v, ok := strings.Cut(strings.TrimSpace(p), "=")
		if ok && strings.EqualFold(strings.TrimSpace(k), "rel") {
			for _, r := range strings.Fields(strings.Trim(strings.TrimSpace(v), `"`)) {
				if strings.EqualFold(r, "next") {
					return true
				}
			}
		}
	}
	return false
}

// sameHost reports whether link names the host of req: the same host name
// and, if the link has a port, the same port (default ports made explicit).
// The link's path and query are then used with req's scheme, host and port,
// so a port-less link (a proxy that does not know the port) is harmless.
func sameHost(req, link *url.URL) bool {
	return strings.EqualFold(req.Hostname(), link.Hostname()) && (link.Port() == "" || port(req) == port(link))
}

func port(u *url.URL) string {
	if p := u.Port(); p != "" {
		return p
	}
	if strings.EqualFold(u.Scheme, "http") {
		return "80"
	}
	return "443"
}
