package registry

import (
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// MaxAddressLength bounds the addresses HostKey and ParseRepository accept.
// Nothing legitimate comes close; the limit keeps hostile input cheap.
const MaxAddressLength = 4096

// DockerHubHost is the key every Docker Hub alias normalises to.
const DockerHubHost = "docker.io"

// dockerHubAliases are the hosts clients use for Docker Hub: the CLI's
// "https://index.docker.io/v1/" key, BuildKit's registry-1.docker.io, the
// reference domain docker.io and the legacy registry.hub.docker.com.
var dockerHubAliases = []string{"docker.io", "index.docker.io", "registry-1.docker.io", "registry.hub.docker.com"}

const hostKeyExpected = `expected host[:port] or http(s)://host[:port][/path], e.g. "registry.example.com:5000"`

// HostKey normalises a registry address to the lower-case "host[:port]" key
// under which docker-werf keeps credentials. It accepts every form a docker
// client sends to a credential helper: a bare host, a URL with or without a
// path, and go-containerregistry's "host/repository" probe. The scheme, path,
// query and fragment are dropped; the port is kept, even :443, because docker
// treats "host" and "host:443" as different keys. Every Docker Hub alias
// without a port becomes "docker.io".
func HostKey(server string) (string, error) {
	key, err := hostKey(server)
	if err != nil {
		return "", fmt.Errorf("invalid registry address %s: %w%s", quoteAddress(server), err, hint(err, hostKeyExpected))
	}
	return key, nil
}

func hostKey(server string) (string, error) {
	s, err := checkAddress(server)
	if err != nil {
		return "", err
	}
	if s, err = stripScheme(s, "http", "https"); err != nil {
		return "", err
	}
	if i := strings.IndexAny(s, "/?#"); i >= 0 {
		s = s[:i]
	}
	if strings.Contains(s, "@") {
		return "", errCredentials
	}
	return parseAuthority(s)
}

// checkAddress applies the checks HostKey and ParseRepository share and
// returns the address without surrounding whitespace (a trailing newline from
// stdin or a CI variable is no reason to fail).
func checkAddress(in string) (string, error) {
	if len(in) > MaxAddressLength {
		return "", fmt.Errorf("too long: %d bytes, at most %d", len(in), MaxAddressLength)
	}
	s := strings.TrimSpace(in)
	if s == "" {
		return "", errors.New("empty")
	}
	lead := len(in) - len(strings.TrimLeftFunc(in, unicode.IsSpace))
	for i, r := range s {
		if r == utf8.RuneError || unicode.IsSpace(r) || unicode.IsControl(r) {
			return "", fmt.Errorf("whitespace, control or invalid UTF-8 character %q at byte %d", r, lead+i)
		}
	}
	return s, nil
}

// stripScheme drops one of the allowed schemes. A "://" after a "/" belongs
// to a path, so it is not a scheme and is left for the caller to discard.
func stripScheme(s string, allowed ...string) (string, error) {
	scheme, rest, ok := strings.Cut(s, "://")
	if !ok || strings.ContainsAny(scheme, "/?#@") {
		return s, nil
	}
	if slices.Contains(allowed, strings.ToLower(scheme)) {
		return rest, nil
	}
	return "", fmt.Errorf("unsupported scheme %s, expected %s:// or none", quotePart(scheme), strings.Join(allowed, "://, "))
}

// parseAuthority validates "host[:port]" and returns its normalised key.
func parseAuthority(a string) (string, error) {
	if a == "" {
		return "", errors.New("no host")
	}
	host, port, err := splitHostPort(a)
	if err != nil {
		return "", err
	}
	if host, err = normaliseHost(host); err != nil {
		return "", err
	}
	if port == "" {
		if isDockerHubAlias(host) {
			return DockerHubHost, nil
		}
		return host, nil
	}
	return host + ":" + port, nil
}

func splitHostPort(a string) (host, port string, err error) {
	if strings.HasPrefix(a, "[") {
		end := strings.IndexByte(a, ']')
		if end < 0 {
			return "", "", errors.New(`unterminated IPv6 address: missing "]"`)
		}
		host, rest := a[:end+1], a[end+1:]
		if rest == "" {
			return host, "", nil
		}
		if rest[0] != ':' {
			return "", "", fmt.Errorf(`unexpected %s after IPv6 address, expected ":port"`, quotePart(rest))
		}
		port, err = normalisePort(rest[1:])
		return host, port, err
	}
	host, p, hasPort := strings.Cut(a, ":")
	if !hasPort {
		return host, "", nil
	}
	if strings.Contains(p, ":") {
		return "", "", errors.New("too many colons (IPv6 addresses must be in brackets, e.g. [::1]:5000)")
	}
	port, err = normalisePort(p)
	return host, port, err
}

// normalisePort drops leading zeros so that equal ports give equal keys.
func normalisePort(p string) (string, error) {
	n := 0
	for i := 0; i < len(p) && n >= 0; i++ {
		if p[i] < '0' || p[i] > '9' || n > 65535 {
			n = -1
			break
		}
		n = n*10 + int(p[i]-'0')
	}
	if p == "" || n < 1 || n > 65535 {
		return "", fmt.Errorf("invalid port %s, expected a number from 1 to 65535", quotePart(p))
	}
	return strconv.Itoa(n), nil
}

// normaliseHost lower-cases a host and checks it against the distribution
// reference grammar for domains (DNS labels of letters, digits and inner
// hyphens) or a bracketed IPv6 address, which it canonicalises.
func normaliseHost(h string) (string, error) {
	if strings.HasPrefix(h, "[") {
		addr, err := netip.ParseAddr(h[1 : len(h)-1])
		if err != nil || !addr.Is6() || addr.Zone() != "" {
			return "", fmt.Errorf("invalid IPv6 address %s", quotePart(h))
		}
		return "[" + addr.String() + "]", nil
	}
	h = strings.ToLower(h)
	if h == "" {
		return "", errors.New("no host")
	}
	if len(h) > 253 {
		return "", fmt.Errorf("host is %d characters long, at most 253 allowed", len(h))
	}
	for label := range strings.SplitSeq(h, ".") {
		if !validLabel(label) {
			return "", fmt.Errorf("invalid host %s, expected dot-separated labels of letters, digits and inner hyphens",
				quotePart(h))
		}
	}
	return h, nil
}

func validLabel(l string) bool {
	if l == "" || len(l) > 63 || l[0] == '-' || l[len(l)-1] == '-' {
		return false
	}
	for i := 0; i < len(l); i++ {
		if !isLowerAlnum(l[i]) && l[i] != '-' {
			return false
		}
	}
	return true
}

func isLowerAlnum(c byte) bool {
	return ('a' <= c && c <= 'z') || ('0' <= c && c <= '9')
}

func isDockerHubAlias(host string) bool {
	return slices.Contains(dockerHubAliases, host)
}

// hostname returns a HostKey result without its port.
func hostname(key string) string {
	if strings.HasPrefix(key, "[") {
		if end := strings.IndexByte(key, ']'); end >= 0 {
			return key[:end+1]
		}
		return key
	}
	h, _, _ := strings.Cut(key, ":")
	return h
}
