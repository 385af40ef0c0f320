package registry

import (
	"testing"

	"gotest.tools/v3/assert"
)

func TestParseECR(t *testing.T) {
	for _, tc := range []struct {
		host string
		want ECRInfo
	}{
		{"123456789012.dkr.ecr.us-east-1.amazonaws.com",
			ECRInfo{Account: "123456789012", Region: "us-east-1", Domain: "amazonaws.com"}},
		{"123456789012.dkr.ecr-fips.us-gov-west-1.amazonaws.com",
			ECRInfo{Account: "123456789012", Region: "us-gov-west-1", FIPS: true, Domain: "amazonaws.com"}},
		{"210987654321.dkr.ecr.cn-northwest-1.amazonaws.com.cn",
			ECRInfo{Account: "210987654321", Region: "cn-northwest-1", Domain: "amazonaws.com.cn"}},
		{"123456789012.dkr-ecr.eu-west-1.on.aws",
			ECRInfo{Account: "123456789012", Region: "eu-west-1", Domain: "on.aws"}},
		{"123456789012.dkr.ecr.eusc-de-east-1.amazonaws.eu",
			ECRInfo{Account: "123456789012", Region: "eusc-de-east-1", Domain: "amazonaws.eu"}},
		{"123456789012.dkr.ecr.us-isob-east-1.sc2s.sgov.gov",
			ECRInfo{Account: "123456789012", Region: "us-isob-east-1", Domain: "sc2s.sgov.gov"}},
		{"123456789012.DKR.ECR.US-EAST-1.AMAZONAWS.COM:443",
			ECRInfo{Account: "123456789012", Region: "us-east-1", Domain: "amazonaws.com"}},
		{"https://123456789012.dkr.ecr.us-west-2.amazonaws.com/repo",
			ECRInfo{Account: "123456789012", Region: "us-west-2", Domain: "amazonaws.com"}},
	} {
		t.Run(tc.host, func(t *testing.T) {
			got, ok := ParseECR(tc.host)
			assert.Assert(t, ok)
			assert.DeepEqual(t, got, tc.want)
		})
	}
}

func TestParseECRNegative(t *testing.T) {
	for _, host := range []string{
		"",
		"public.ecr.aws",
		"123456789012.dkr.ecr.us-east-1.amazonaws.org",
		"123456789012.dkr.ecr.us-east-1.amazonaws.com.evil.io",
		"evil.io/123456789012.dkr.ecr.us-east-1.amazonaws.com",
		"abcdefghijkl.dkr.ecr.us-east-1.amazonaws.com",
		"123456789012.dkr.ecr..amazonaws.com",
		"123456789012.ecr.us-east-1.amazonaws.com",
		"123456789012.dkr.ecr-gov.us-east-1.amazonaws.com",
		"api.ecr.us-east-1.amazonaws.com",
	} {
		t.Run(host, func(t *testing.T) {
			_, ok := ParseECR(host)
			assert.Assert(t, !ok)
		})
	}
}
