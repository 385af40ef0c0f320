package registryapi

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/docker-werf/docker-werf/internal/retry"
)

// DefaultCertsDirs are where docker looks for a registry's CA and client
// certificates, as https://docs.docker.com/engine/security/certificates/
// describes: /etc/docker/certs.d/<host[:port]>/ (and, for rootless docker,
// $XDG_CONFIG_HOME/docker/certs.d, ~/.config/docker/certs.d by default).
func DefaultCertsDirs() []string {
	dirs := []string{"/etc/docker/certs.d"}
	if x := os.Getenv("XDG_CONFIG_HOME"); x != "" {
		dirs = append(dirs, filepath.Join(x, "docker", "certs.d"))
	} else if home, err := os.UserHomeDir(); err == nil {
		dirs = append(dirs, filepath.Join(home, ".config", "docker", "certs.d"))
	}
	return dirs
}

// TLSOptions say how to trust a registry beyond the system's roots (which
// SSL_CERT_FILE and SSL_CERT_DIR replace, as for every Go program on Linux).
type TLSOptions struct {
	// CertsDirs are searched for a <host[:port]> directory as docker reads
	// it: every *.crt is a CA added to the roots, every *.cert with the
	// *.key of the same name a client certificate.
	CertsDirs []string
	// SkipVerify accepts any certificate (werf's --skip-tls-verify-registry).
	SkipVerify bool
}

// WithTLS sets how the registry's certificate is checked and which client
// certificate is shown. A registry with nothing in CertsDirs and without
// SkipVerify uses the shared transport.
func WithTLS(o TLSOptions) Option {
	return func(c *Client) error {
		c.tls = o
		return nil
	}
}

// tlsConfig builds the TLS configuration for host from o; nil when nothing
// changes the defaults.
func tlsConfig(host string, o TLSOptions) (*tls.Config, error) {
	var cfg *tls.Config
	if o.SkipVerify {
		cfg = &tls.Config{InsecureSkipVerify: true} //nolint:gosec // asked for by --skip-tls-verify-registry
	}
	for _, base := range o.CertsDirs {
		dir := filepath.Join(base, host)
		entries, err := os.ReadDir(dir)
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("reading the certificates for %s: %w", host, err)
		}
		if cfg == nil {
			cfg = &tls.Config{}
		}
		if err := addCertsDir(cfg, dir, entries); err != nil {
			return nil, fmt.Errorf("reading the certificates for %s: %w", host, err)
		}
	}
	return cfg, nil
}

func addCertsDir(cfg *tls.Config, dir string, entries []os.DirEntry) error {
	for _, e := range entries {
		name, path := e.Name(), filepath.Join(dir, e.Name())
		switch {
		case strings.HasSuffix(name, ".crt"):
			pem, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			if cfg.RootCAs == nil {
				if cfg.RootCAs, err = x509.SystemCertPool(); err != nil {
					cfg.RootCAs = x509.NewCertPool()
				}
			}
			if !cfg.RootCAs.AppendCertsFromPEM(pem) {
				return fmt.Errorf("%s holds no PEM certificate", path)
			}
		case strings.HasSuffix(name, ".cert"):
			key := strings.TrimSuffix(path, ".cert") + ".key"
			pair, err := tls.LoadX509KeyPair(path, key)
			if err != nil {
				return fmt.Errorf("client certificate %s (with its key %s): %w", path, filepath.Base(key), err)
			}
			cfg.Certificates = append(cfg.Certificates, pair)
		case strings.HasSuffix(name, ".key"):
			if _, err := os.Stat(strings.TrimSuffix(path, ".key") + ".cert"); err != nil {
				return fmt.Errorf("client key %s has no certificate %s", path, strings.TrimSuffix(name, ".key")+".cert")
			}
		}
	}
	return nil
}

// tlsTransport is a retrying transport of the client's own, for a registry
// with its own TLS configuration.
func tlsTransport(cfg *tls.Config, timeout time.Duration) http.RoundTripper {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxIdleConnsPerHost = maxIdleConnsPerHost
	t.MaxIdleConns = 4 * maxIdleConnsPerHost
	t.TLSClientConfig = cfg
	return retry.NewTransport(t, retry.WithAttemptTimeout(timeout), retry.WithBufferedReads(maxBufferedRead))
}

// untrustedHint says how to trust a registry whose certificate was refused.
func untrustedHint(host string, err error) string {
	var unknown x509.UnknownAuthorityError
	var invalid x509.CertificateInvalidError
	var hostname x509.HostnameError
	switch {
	case errors.As(err, &unknown):
		return fmt.Sprintf("the registry's certificate is signed by an unknown authority: put that CA in /etc/docker/certs.d/%s/ca.crt "+
			"(as for docker), or name a CA bundle in SSL_CERT_FILE, or, trusting the network instead, pass --skip-tls-verify-registry "+
			"(WERF_SKIP_TLS_VERIFY_REGISTRY)", host)
	case errors.As(err, &invalid), errors.As(err, &hostname):
		return "the registry's certificate is not valid for " + host + ": fix the certificate, or, trusting the network instead, " +
			"pass --skip-tls-verify-registry (WERF_SKIP_TLS_VERIFY_REGISTRY)"
	}
	return ""
}
