package e2e

import (
	"testing"

	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"
	"gotest.tools/v3/icmd"

	"github.com/docker-werf/docker-werf/e2e/harness"
)

// TestCredHelperConfigDirScope covers a login outside CI made with
// `docker --config D` alone: docker passes D to the helper only in its own
// argv, never as DOCKER_CONFIG, yet clients that are given D through
// DOCKER_CONFIG must find the login, and another config dir must not.
func TestCredHelperConfigDirScope(t *testing.T) {
	h := harness.New(t)
	pass := h.RandomSecret("pw-")
	h.Credential("alice", pass)
	reg := harness.StartRegistry(t, harness.Registry3, map[string]string{"alice": pass})

	env := harness.NewEnv(t)
	env.UseHelperFor(t, reg.Addr)
	login := env.With().Unset("DOCKER_CONFIG")
	h.DockerLogin(login, reg.Addr, "alice", pass).Assert(t, icmd.Success)

	h.PushRandomImage(env, reg.Repo("scope/app:v1"))
	ls := h.Crane(env, "ls", reg.Repo("scope/app"))
	ls.Assert(t, icmd.Success)
	assert.Check(t, is.Contains(ls.Stdout(), "v1"))

	other := harness.NewEnv(t)
	other.CredentialsDir = env.CredentialsDir
	other.Set("WERF_CREDENTIALS_DIR", env.CredentialsDir)
	other.UseHelperFor(t, reg.Addr)
	_, res := h.HelperGet(other, reg.Addr)
	assert.Check(t, is.Equal(res.Stdout(), notFound+"\n"), "another docker config dir must not see the login")
}
