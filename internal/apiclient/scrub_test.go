package apiclient

import (
	"context"
	"errors"
	"fmt"
	"testing"
)

func TestTruncate(t *testing.T) {
	tests := []struct {
		s    string
		n    int
		want string
	}{
		{"short", 10, "short"},
		{"exactly", 7, "exactly"},
		{"too long", 3, "too..."},
		{"añb", 2, "a..."}, // ñ is 2 bytes: not cut inside it
		{"", 0, ""},
	}
	for _, tt := range tests {
		if got := Truncate(tt.s, tt.n); got != tt.want {
			t.Errorf("Truncate(%q, %d) = %q, want %q", tt.s, tt.n, got, tt.want)
		}
	}
}

func TestReplaceSecrets(t *testing.T) {
	tests := []struct {
		s       string
		minLen  int
		secrets []string
		want    string
	}{
		{"login as hunter2 failed", 6, []string{"hunter2"}, "login as [redacted] failed"},
		{"a b c", 6, []string{"b"}, "a b c"},
		{"a b c", 1, []string{"b", ""}, "a [redacted] c"},
		{"x tok1 y tok2", 4, []string{"tok1", "tok2"}, "x [redacted] y [redacted]"},
		{"nothing", 4, nil, "nothing"},
	}
	for _, tt := range tests {
		if got := ReplaceSecrets(tt.s, tt.minLen, tt.secrets...); got != tt.want {
			t.Errorf("ReplaceSecrets(%q, %d, %q) = %q, want %q", tt.s, tt.minLen, tt.secrets, got, tt.want)
		}
	}
}

func TestScrub(t *testing.T) {
	def := NewScrubber(DefaultSchemes, DefaultKeys)
	custom := NewScrubber([]string{"basic", "bearer", "token"}, []string{"private-token"}, `\bghp_[A-Za-z0-9_]{10,}`)
	tests := []struct {
		s    *Scrubber
		in   string
		want string
	}{
		{def, "Authorization: Bearer abcdef123", "Authorization: Bearer [redacted]"},
		{def, "basic dXNlcjpwdw==", "basic [redacted]"},
		{def, "Bearer abc", "Bearer abc"},
		{def, "password=hunter2&x=1", "password=[redacted]&x=1"},
		{def, `{"access_token": "abc.def"}`, `{"access_token": "[redacted]"}`},
		{def, "token abcdefgh", "token abcdefgh"},
		{def, "no secrets here", "no secrets here"},
		{custom, "token abcdefgh", "token [redacted]"},
		{custom, "Private-Token: glpat-x", "Private-Token: [redacted]"},
		{custom, "password=hunter2", "password=hunter2"},
		{custom, "bad ghp_0123456789abc here", "bad [redacted] here"},
	}
	for _, tt := range tests {
		if got := tt.s.Scrub(tt.in); got != tt.want {
			t.Errorf("Scrub(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestRedactToken(t *testing.T) {
	tests := []struct{ s, token, want string }{
		{"Get https://x/?t=a+b%2Fc: a b/c failed", "a b/c", "Get https://x/?t=[redacted]: [redacted] failed"},
		{"Get https://x/?t=a+b%2Fc: eof", "a b/c", "Get https://x/?t=[redacted]: eof"},
		{"tok123 here", "tok123", "[redacted] here"},
		{"anything", "", "anything"},
	}
	for _, tt := range tests {
		if got := RedactToken(tt.s, tt.token); got != tt.want {
			t.Errorf("RedactToken(%q, %q) = %q, want %q", tt.s, tt.token, got, tt.want)
		}
	}
}

func TestRedactError(t *testing.T) {
	base := errors.New("dial tcp: token s3cr3t-tok refused")
	tests := []struct {
		err   error
		token string
		want  string
		same  bool
	}{
		{nil, "s3cr3t-tok", "", true},
		{base, "", base.Error(), true},
		{base, "other", base.Error(), true},
		{base, "s3cr3t-tok", "dial tcp: token [redacted] refused", false},
		{fmt.Errorf("get: %w", context.Canceled), "get", "[redacted]: context canceled", false},
	}
	for _, tt := range tests {
		got := RedactError(tt.err, tt.token)
		if tt.same {
			if got != tt.err {
				t.Errorf("RedactError(%v, %q) = %v, want it unchanged", tt.err, tt.token, got)
			}
			continue
		}
		if got.Error() != tt.want {
			t.Errorf("RedactError(%v, %q) = %q, want %q", tt.err, tt.token, got, tt.want)
		}
		if !errors.Is(got, tt.err) {
			t.Errorf("RedactError(%v, %q) does not wrap it", tt.err, tt.token)
		}
	}
}
