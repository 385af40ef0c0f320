package apiclient

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
)

// SplitLinks splits a Link header value at the commas between links (not
// inside <...>).
func SplitLinks(v string) []string {
	var out []string
	depth, start := 0, 0
	for i := 0; i < len(v); i++ {
		switch v[i] {
		case '<':
			depth++
		case '>':
			if depth > 0 {
				depth--
			}
		case ',':
			if depth == 0 {
				out = append(out, v[start:i])
				start = i + 1
			}
		}
	}
	return append(out, v[start:])
}

// RelNext reports whether the parameters of one link (what follows
// "<url>;") include rel="next"; rel may list several space-separated types.
func RelNext(params string) bool {
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

// SameHost reports whether link names base's host, and its port if link has
// one (a missing port in base is the scheme's default).
func SameHost(base, link *url.URL) bool {
	return strings.EqualFold(base.Hostname(), link.Hostname()) && (link.Port() == "" || port(base) == port(link))
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

// NextLink returns the rel="next" URL of resp's Link headers, "" if there is
// none. The link is resolved against the request URL and followed only on
// base's host: the answer has base's scheme and host with the link's path
// and query. A link to another host is an error.
func NextLink(resp *http.Response, base *url.URL) (string, error) {
	for _, v := range resp.Header.Values("Link") {
		for _, link := range SplitLinks(v) {
			target, params, ok := strings.Cut(link, ";")
			target = strings.TrimSpace(target)
			if !ok || !strings.HasPrefix(target, "<") || !strings.HasSuffix(target, ">") || !RelNext(params) {
				continue
			}
			u, err := resp.Request.URL.Parse(target[1 : len(target)-1])
			if err != nil {
				return "", fmt.Errorf("invalid Link %q: %w", target, err)
			}
			if !SameHost(base, u) {
				return "", fmt.Errorf("refusing Link to another host: %s", u.Redacted())
			}
			next := *base
			next.Path, next.RawPath, next.RawQuery, next.Fragment = u.Path, u.RawPath, u.RawQuery, ""
			return next.String(), nil
		}
	}
	return "", nil
}
