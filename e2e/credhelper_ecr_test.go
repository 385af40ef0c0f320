package e2e

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
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

// fakeIMDS is an EC2 instance metadata service that refuses IMDSv2 tokens
// (403 to the token PUT, which makes the AWS SDK fall back to IMDSv1 and log
// a warning) and, with role set, serves that role's credentials over IMDSv1.
func fakeIMDS(t *testing.T, role, secret string) *httptest.Server {
	const creds = "/latest/meta-data/iam/security-credentials/"
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.Method == http.MethodPut && r.URL.Path == "/latest/api/token":
			http.Error(w, "forbidden", http.StatusForbidden)
		case role != "" && r.Method == http.MethodGet && r.URL.Path == creds:
			_, _ = fmt.Fprintln(w, role)
		case role != "" && r.Method == http.MethodGet && r.URL.Path == creds+role:
			_ = json.NewEncoder(w).Encode(map[string]string{
				"Code": "Success", "Type": "AWS-HMAC", "AccessKeyId": "ASIAEXAMPLE", "SecretAccessKey": secret,
				"Token": "session", "LastUpdated": time.Now().UTC().Format(time.RFC3339),
				"Expiration": time.Now().Add(time.Hour).UTC().Format(time.RFC3339),
			})
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(srv.Close)
	return srv
}

// TestECRNoSDKLogLines: on an EC2 instance that refuses IMDSv2 the AWS SDK
// logs "SDK <time> WARN falling back to IMDSv1"; neither the helper nor
// docker werf ecr-login lets such a line reach the user, whether the
// credentials then come (the token is served) or not (our own error only).
func TestECRNoSDKLogLines(t *testing.T) {
	h := harness.New(t)
	token := h.RandomSecret("ecr-token-")
	awsSecret := h.RandomSecret("aws-secret-")
	srv, calls := fakeECRAuth(t, token)
	const host = "123456789012.dkr.ecr.eu-west-1.amazonaws.com"
	noSDKLines := func(t *testing.T, what, stderr string) {
		t.Helper()
		for _, line := range strings.Split(stderr, "\n") {
			assert.Check(t, !strings.HasPrefix(line, "SDK ") && !strings.Contains(line, "WARN"),
				"%s: an SDK log line reached the user: %q", what, line)
		}
	}
	envWith := func(imds *httptest.Server) *harness.Env {
		return harness.NewEnv(t).With("GITLAB_CI", "true", "CI_JOB_ID", "601",
			"AWS_ENDPOINT_URL_ECR", srv.URL, "AWS_REGION", "eu-west-1",
			"AWS_EC2_METADATA_SERVICE_ENDPOINT", imds.URL,
			"AWS_CONFIG_FILE", "/dev/null", "AWS_SHARED_CREDENTIALS_FILE", "/dev/null").
			Unset("AWS_ACCESS_KEY_ID").Unset("AWS_SECRET_ACCESS_KEY").Unset("AWS_SESSION_TOKEN").
			Unset("AWS_PROFILE").Unset("AWS_EC2_METADATA_DISABLED").
			Unset("AWS_CONTAINER_CREDENTIALS_FULL_URI").Unset("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI").
			Unset("AWS_WEB_IDENTITY_TOKEN_FILE")
	}

	t.Run("role credentials over IMDSv1", func(t *testing.T) {
		env := envWith(fakeIMDS(t, "ci-runner", awsSecret))
		c, res := h.HelperGet(env, host)
		assert.Check(t, is.Equal(res.ExitCode, 0), res.Combined())
		assert.Check(t, is.Equal(c.Secret, token))
		noSDKLines(t, "docker-credential-werf get", res.Combined())

		login := h.Plugin(env.With("CI_JOB_ID", "602"), "ecr-login", host)
		assert.Check(t, is.Equal(login.ExitCode, 0), login.Combined())
		noSDKLines(t, "docker werf ecr-login", login.Stderr())
		assert.Check(t, calls.Load() >= int32(2), "the token comes from ECR with the instance's credentials")
	})

	t.Run("no credentials at all", func(t *testing.T) {
		env := envWith(fakeIMDS(t, "", ""))
		login := h.Plugin(env.With("CI_JOB_ID", "603"), "ecr-login", host)
		assert.Check(t, login.ExitCode != 0, login.Combined())
		assert.Check(t, is.Contains(login.Stderr(), "no usable AWS credentials"), "our own error is kept")
		noSDKLines(t, "docker werf ecr-login", login.Stderr())

		// The helper answers docker with the first line ecr-login wrote: it
		// must be the cause, not the SDK's warning.
		_, res := h.HelperGet(env.With("CI_JOB_ID", "604"), host)
		assert.Check(t, res.ExitCode != 0, res.Combined())
		assert.Check(t, is.Contains(res.Combined(), "no usable AWS credentials"), "the helper reports the cause")
		noSDKLines(t, "docker-credential-werf get", res.Combined())
	})
}
