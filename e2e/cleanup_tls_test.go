package e2e

import (
	"os"
	"path/filepath"
	"testing"

	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"
	"gotest.tools/v3/icmd"

	"github.com/docker-werf/docker-werf/e2e/harness"
)

// TestCleanupTLSAndCredentials: a registry whose CA the system does not
// trust fails with the ways out named; each of them (docker's certs.d
// directory, SSL_CERT_FILE, --skip-tls-verify-registry) then works. A
// refused login names the user tried and where the credentials came from,
// never the password.
func TestCleanupTLSAndCredentials(t *testing.T) {
	h := harness.New(t)
	s := newCleanupScene(t, h, harness.Registry3)
	host := s.reg.Addr
	untrusted := s.env(t).Unset("SSL_CERT_FILE")
	args := s.cleanupArgs(s.repo, "--dry-run", "--quiet")

	res := h.Plugin(untrusted, args...)
	res.Assert(t, icmd.Expected{ExitCode: 1, Err: "signed by an unknown authority"})
	assert.Check(t, is.Contains(res.Stderr(), "/etc/docker/certs.d/"+host+"/ca.crt"))
	assert.Check(t, is.Contains(res.Stderr(), "SSL_CERT_FILE"))
	assert.Check(t, is.Contains(res.Stderr(), "--skip-tls-verify-registry"))

	certs := t.TempDir()
	ca, err := os.ReadFile(s.reg.CAFile)
	assert.NilError(t, err)
	assert.NilError(t, os.MkdirAll(filepath.Join(certs, host), 0o755))
	assert.NilError(t, os.WriteFile(filepath.Join(certs, host, "ca.crt"), ca, 0o644))
	h.Plugin(untrusted.With("DOCKER_WERF_CERTS_DIR", certs), args...).Assert(t, icmd.Success)
	h.Plugin(untrusted, append(args, "--skip-tls-verify-registry")...).Assert(t, icmd.Success)
	h.Plugin(untrusted.With("WERF_SKIP_TLS_VERIFY_REGISTRY", "true"), args...).Assert(t, icmd.Success)
	h.Plugin(s.env(t), args...).Assert(t, icmd.Success) // SSL_CERT_FILE

	wrong := h.RandomSecret("wrong-")
	res = h.Plugin(s.env(t).With("WERF_REGISTRY_PASSWORD", wrong), args...)
	res.Assert(t, icmd.Expected{ExitCode: 1, Err: `tried user "ci" from --registry-username and --registry-password`})
	assert.Check(t, !is.Contains(res.Combined(), wrong)().Success())

	anonymous := harness.NewEnv(t)
	res = h.Plugin(anonymous, args...)
	res.Assert(t, icmd.Expected{ExitCode: 1, Err: "no credentials were found for " + host})
}
