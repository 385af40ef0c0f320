package registry

import (
	"regexp"
	"strings"
	"sync"
)

// ECRInfo is what an Amazon ECR private registry host says about itself; the
// ECR API needs the account and region, and the endpoint depends on the rest.
type ECRInfo struct {
	Account string `json:"account"` // 12-digit AWS account id (the ECR registry id)
	Region  string `json:"region"`  // e.g. "us-east-1"
	FIPS    bool   `json:"fips"`    // host uses the FIPS endpoint (dkr.ecr-fips)
	Domain  string `json:"domain"`  // partition domain, e.g. "amazonaws.com" or "amazonaws.com.cn"
}

// ecrPattern follows amazon-ecr-credential-helper: "dkr.ecr" or the
// dual-stack "dkr-ecr", an optional "-fips", and every partition domain, not
// just amazonaws.com. Hosts are already lower-case. Compiled on first use:
// the credential helper starts for every pull and most hosts never need it.
var ecrPattern = sync.OnceValue(func() *regexp.Regexp {
	return regexp.MustCompile(`^(\d{12})\.dkr[.-]ecr(-fips)?\.([a-z0-9][a-z0-9-]*)\.` +
		`(amazonaws\.com|amazonaws\.com\.cn|amazonaws\.eu|on\.aws|sc2s\.sgov\.gov|c2s\.ic\.gov|cloud\.adc-e\.uk|csp\.hci\.ic\.gov)$`)
})

// ParseECR reports whether host is an Amazon ECR private registry and, if
// so, what it encodes. host may carry a port and need not be normalised.
// ECR Public (public.ecr.aws) is not an ECR private registry: its images are
// managed through a different API, so it is not matched.
func ParseECR(host string) (ECRInfo, bool) {
	h := hostname(normalisedOrLower(host))
	if !strings.Contains(h, "ecr") {
		return ECRInfo{}, false
	}
	m := ecrPattern().FindStringSubmatch(h)
	if m == nil {
		return ECRInfo{}, false
	}
	return ECRInfo{Account: m[1], FIPS: m[2] != "", Region: m[3], Domain: m[4]}, true
}
