package e2e

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"

	"github.com/docker-werf/docker-werf/e2e/harness"
)

// fakeECRAuth answers GetAuthorizationToken the way the ECR JSON API does,
// fails the test on anything else, and counts the calls.
func fakeECRAuth(t *testing.T, token string) (*httptest.Server, *atomic.Int32) {
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		const target = "AmazonEC2ContainerRegistry_V20150921.GetAuthorizationToken"
		if r.Method != http.MethodPost || r.URL.Path != "/" || r.Header.Get("X-Amz-Target") != target ||
			r.Header.Get("Authorization") == "" {
			t.Errorf("unexpected ECR request: %s %s %s", r.Method, r.URL, r.Header.Get("X-Amz-Target"))
			http.Error(w, "unexpected", http.StatusBadRequest)
			return
		}
		calls.Add(1)
		w.Header().Set("Content-Type", "application/x-amz-json-1.1")
		_ = json.NewEncoder(w).Encode(map[string]any{"authorizationData": []map[string]any{{
			"authorizationToken": base64.StdEncoding.EncodeToString([]byte("AWS:" + token)),
			"expiresAt":          float64(time.Now().Add(12 * time.Hour).Unix()),
			"proxyEndpoint":      "https://123456789012.dkr.ecr.eu-west-1.amazonaws.com",
		}}})
	}))
	t.Cleanup(srv.Close)
	return srv, &calls
}

// TestCredHelperServesECR: the helper answers an ECR host with a
// GetAuthorizationToken token that docker werf ecr-login fetched with the
// AWS credential chain, keeps it in the job's scope and does not ask again
// while it is fresh.
func TestCredHelperServesECR(t *testing.T) {
	h := harness.New(t)
	token := h.RandomSecret("ecr-token-")
	awsSecret := h.RandomSecret("aws-secret-")
	srv, calls := fakeECRAuth(t, token)
	env := harness.NewEnv(t).With("GITLAB_CI", "true", "CI_JOB_ID", "501",
		"AWS_ENDPOINT_URL_ECR", srv.URL, "AWS_REGION", "eu-west-1", "AWS_ACCESS_KEY_ID", "AKIDEXAMPLE",
		"AWS_SECRET_ACCESS_KEY", awsSecret, "AWS_EC2_METADATA_DISABLED", "true",
		"AWS_CONFIG_FILE", "/dev/null", "AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
	const host = "123456789012.dkr.ecr.eu-west-1.amazonaws.com"

	for i := range 2 {
		c, res := h.HelperGet(env, host)
		assert.Check(t, is.Equal(res.ExitCode, 0), "get %d: %s", i, res.Combined())
		assert.Check(t, is.Equal(c.Username, "AWS"))
		assert.Check(t, is.Equal(c.Secret, token))
	}
	assert.Check(t, is.Equal(calls.Load(), int32(1)), "the token must be kept for the job, not fetched per get")

	other := fmt.Sprintf("%s.dkr.ecr.eu-west-1.amazonaws.com", "210987654321")
	_, res := h.HelperGet(env.With("CI_JOB_ID", "502"), other)
	assert.Check(t, is.Equal(res.ExitCode, 0), res.Combined())
	assert.Check(t, is.Equal(calls.Load(), int32(2)), "another job fetches its own token")
}
