package e2e

import (
	"strings"
	"testing"

	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"
	"gotest.tools/v3/icmd"

	"github.com/docker-werf/docker-werf/e2e/harness"
)

// TestAddressUserinfoNeverEchoed: an address with "user:password@" in it,
// given to any command that takes one, is refused with an error that names
// the address with its userinfo replaced by "[redacted]", never the
// password. The harness scans every command's stdout and stderr for it.
func TestAddressUserinfoNeverEchoed(t *testing.T) {
	h := harness.New(t)
	pass := h.RandomSecret("S3CRET-")
	addresses := []string{
		"https://user:" + pass + "@registry.example.com",
		"user:" + pass + "@registry.example.com/group/app",
		"user:" + pass + "@registry.example.com:5000",
		"https://user:" + pass + "@registry.example.com/group/app:tag",
	}
	type run func(env *harness.Env, addr string) *icmd.Result
	tests := []struct {
		name string
		run  run
		exit int
	}{
		{"helper store", func(env *harness.Env, addr string) *icmd.Result {
			return runHelper(t, h, env, `{"ServerURL":"`+addr+`","Username":"user","Secret":"other-secret"}`, "store")
		}, 1},
		{"helper erase", func(env *harness.Env, addr string) *icmd.Result {
			return runHelper(t, h, env, addr, "erase")
		}, 1},
		{"helper get", func(env *harness.Env, addr string) *icmd.Result {
			return runHelper(t, h, env, addr, "get")
		}, 1},
		{"ci-env --repo", func(env *harness.Env, addr string) *icmd.Result {
			return h.Plugin(env, "ci-env", "generic", "--repo", addr)
		}, 1},
		{"ci-env WERF_REPO", func(env *harness.Env, addr string) *icmd.Result {
			return h.Plugin(env.Set("WERF_REPO", addr), "ci-env", "generic")
		}, 1},
		// GitLab's CI_REGISTRY_IMAGE that is no repository is left out
		// with a notice, and the job goes on.
		{"ci-env CI_REGISTRY_IMAGE", func(env *harness.Env, addr string) *icmd.Result {
			return h.Plugin(ciEnvFormsJob(t).Set("CI_REGISTRY_IMAGE", addr), "ci-env")
		}, 0},
		{"cleanup", func(env *harness.Env, addr string) *icmd.Result {
			return h.Plugin(env, "cleanup", "--repo", addr, "--dry-run")
		}, 1},
		{"purge", func(env *harness.Env, addr string) *icmd.Result {
			return h.Plugin(env, "purge", "--repo", addr, "--dry-run")
		}, 1},
		{"registry info", func(env *harness.Env, addr string) *icmd.Result {
			return h.Plugin(env, "registry", "info", "--check=false", addr)
		}, 1},
		{"ecr-login", func(env *harness.Env, addr string) *icmd.Result {
			return h.Plugin(env, "ecr-login", addr)
		}, 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			for _, addr := range addresses {
				res := tc.run(harness.NewEnv(t), addr)
				out := res.Stdout() + res.Stderr()
				assert.Check(t, is.Equal(res.ExitCode, tc.exit), "%s", strings.ReplaceAll(out, pass, "<password>"))
				if tc.name == "helper get" {
					// get answers "not found" for what no one can store.
					assert.Check(t, is.Contains(out, "credentials not found"))
				} else {
					assert.Check(t, is.Contains(out, "[redacted]@registry.example.com"))
				}
				assert.Check(t, !strings.Contains(out, pass), "the password was echoed") // and the harness says where
			}
		})
	}
}
