package apiclient

import (
	"fmt"

	"github.com/docker-werf/docker-werf/internal/registrytypes"
)

// CheckTag returns an error for a tag that is not a valid tag name.
func CheckTag(tag string) error {
	if !registrytypes.ValidTag(tag) {
		return fmt.Errorf("invalid tag %q", tag)
	}
	return nil
}

// CheckDigest returns an error for a digest that is not a valid digest;
// sha256Only refuses any algorithm but sha256 (where the API knows only it).
func CheckDigest(d string, sha256Only bool) error {
	ok := registrytypes.ValidDigest(d)
	if sha256Only {
		ok = registrytypes.ValidSHA256(d)
	}
	if !ok {
		return fmt.Errorf("invalid digest %q", d)
	}
	return nil
}
