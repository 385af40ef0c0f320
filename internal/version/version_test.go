package version

import (
	"os"
	"regexp"
	"strings"
	"testing"
)

// semver is the regular expression of https://semver.org (section "Is there
// a suggested regular expression"), with Go's leading "v".
var semver = regexp.MustCompile(`^v(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)` +
	`(?:-((?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*)(?:\.(?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*))*))?` +
	`(?:\+([0-9a-zA-Z-]+(?:\.[0-9a-zA-Z-]+)*))?$`)

func TestVersionIsSemver(t *testing.T) {
	if !semver.MatchString(Version) {
		t.Fatalf("Version %q is not a semantic version", Version)
	}
	if want := "docker-werf/" + Version; UserAgent() != want {
		t.Errorf("UserAgent() = %q, want %q", UserAgent(), want)
	}
}

// The VERSION file holds the release X.Y.Z; the Makefile and install.sh
// stamp vX.Y.Z or vX.Y.Z-dev+<commit>[.dirty], which must be semver too.
func TestVersionFile(t *testing.T) {
	b, err := os.ReadFile("../../VERSION")
	if err != nil {
		t.Fatal(err)
	}
	release := strings.TrimSuffix(string(b), "\n")
	if !regexp.MustCompile(`^\d+\.\d+\.\d+$`).MatchString(release) {
		t.Fatalf("VERSION holds %q, want X.Y.Z", release)
	}
	for _, v := range []string{"v" + release, "v" + release + "-dev+4b9850f", "v" + release + "-dev+0123456.dirty"} {
		if !semver.MatchString(v) {
			t.Errorf("%q is not a semantic version", v)
		}
	}
	for _, v := range []string{"4b9850f", "v0.1.0-dev+", "v0.1.0+a+b", "0.1", "v0.1.0-01"} {
		if semver.MatchString(v) {
			t.Errorf("%q passes as a semantic version", v)
		}
	}
}
