package apiclient

import "testing"

func TestFormatError(t *testing.T) {
	tests := []struct {
		message, hint string
		status        int
		want          string
	}{
		{"", "", 404, "untag v1 of quay.io/a/b on Quay: DELETE /api/v1/x?y=1: HTTP 404 Not Found"},
		{"no such tag", "", 404, "untag v1 of quay.io/a/b on Quay: DELETE /api/v1/x?y=1: HTTP 404 Not Found: no such tag"},
		{"", "check the token", 401, "untag v1 of quay.io/a/b on Quay: DELETE /api/v1/x?y=1: HTTP 401 Unauthorized; check the token"},
		{"denied", "check the token", 403,
			"untag v1 of quay.io/a/b on Quay: DELETE /api/v1/x?y=1: HTTP 403 Forbidden: denied; check the token"},
		{"", "", 599, "untag v1 of quay.io/a/b on Quay: DELETE /api/v1/x?y=1: HTTP 599 "},
	}
	for _, tt := range tests {
		got := FormatError("Quay", "untag v1 of", "quay.io/a/b", "DELETE", "/api/v1/x?y=1", tt.status, tt.message, tt.hint)
		if got != tt.want {
			t.Errorf("FormatError(%d, %q, %q) = %q, want %q", tt.status, tt.message, tt.hint, got, tt.want)
		}
	}
}
