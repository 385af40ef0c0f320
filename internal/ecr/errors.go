package ecr

import (
	"context"
	"errors"
	"fmt"
	"strings"

	awsretry "github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/smithy-go"

	"github.com/docker-werf/docker-werf/internal/apiclient"
	"github.com/docker-werf/docker-werf/internal/registryapi"
)

// Error is a failed ECR API call. Its text is short (operation,
// repository, the API's error code and message, and what to check); the
// SDK's error and the registryapi sentinel that applies are reachable with
// errors.Is and errors.As.
type Error struct {
	msg  string
	errs []error
}

func (e *Error) Error() string   { return e.msg }
func (e *Error) Unwrap() []error { return e.errs }

// Codes AWS answers when it does not accept the credentials themselves.
var credentialCodes = map[string]bool{
	"UnrecognizedClientException": true, "InvalidSignatureException": true, "SignatureDoesNotMatch": true,
	"IncompleteSignature": true, "InvalidClientTokenId": true, "ExpiredTokenException": true, "ExpiredToken": true,
	"MissingAuthenticationToken": true, "MissingAuthenticationTokenException": true, "InvalidToken": true,
	"RequestExpired": true,
}

// Codes of throttling answers (the SDK retries them; these show when it gave up).
var throttleCodes = map[string]bool{
	"ThrottlingException": true, "Throttling": true, "TooManyRequestsException": true,
	"RequestLimitExceeded": true, "LimitExceededException": true,
}

// apiError turns a failed call into an *Error. perm is the IAM action the
// call needs.
func (c *Client) apiError(op, perm string, err error) error {
	prefix := fmt.Sprintf("%s %s: ", op, c.name)
	var nc *errNoCredentials
	if errors.As(err, &nc) {
		return &Error{msg: prefix + nc.Error(), errs: []error{registryapi.ErrUnauthorized, err}}
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("%s%w", prefix, err)
	}
	var ae smithy.APIError
	if !errors.As(err, &ae) {
		return fmt.Errorf("%s%w", prefix, err)
	}
	code, text := ae.ErrorCode(), apiMessage(err)
	switch {
	case code == "ImageNotFoundException" || code == "RepositoryNotFoundException":
		return &Error{msg: prefix + text, errs: []error{registryapi.ErrNotFound, err}}
	case code == "AccessDeniedException" || code == "AccessDenied":
		return &Error{msg: prefix + text + "; the AWS identity needs " + perm + " on the repository " +
			"(IAM policy or repository policy)", errs: []error{registryapi.ErrUnauthorized, err}}
	case credentialCodes[code]:
		return &Error{msg: prefix + "AWS refused the credentials (" + text + "); " + credentialsHint(),
			errs: []error{registryapi.ErrUnauthorized, err}}
	case throttleCodes[code] || httpStatus(err) == 429:
		attempts := ""
		var me *awsretry.MaxAttemptsError
		if errors.As(err, &me) {
			attempts = fmt.Sprintf(" after %d attempts", me.Attempt)
		}
		return &Error{msg: prefix + "ECR kept throttling the requests" + attempts + " (" + text +
			"); lower the parallelism or raise AWS_MAX_ATTEMPTS", errs: []error{err}}
	}
	msg := prefix + text
	if s := httpStatus(err); s != 0 {
		msg += fmt.Sprintf(" (HTTP %d)", s)
	}
	return &Error{msg: msg, errs: []error{err}}
}

// apiMessage is "Code: message" of an API error.
func apiMessage(err error) string {
	var ae smithy.APIError
	if !errors.As(err, &ae) {
		return err.Error()
	}
	s := ae.ErrorCode()
	if m := strings.Join(strings.Fields(ae.ErrorMessage()), " "); m != "" {
		s += ": " + apiclient.Truncate(m, 300)
	}
	return s
}

func httpStatus(err error) int {
	var re interface{ HTTPStatusCode() int }
	if errors.As(err, &re) {
		return re.HTTPStatusCode()
	}
	return 0
}

func isCode(err error, code string) bool {
	var ae smithy.APIError
	return errors.As(err, &ae) && ae.ErrorCode() == code
}
