package apiclient

import (
	"errors"
	"fmt"
)

// MaxPages bounds every listing: a server that keeps saying there is more
// is broken, not a repository with millions of tags.
const MaxPages = 100_000

// ErrEndlessPagination is wrapped by Pages when a listing does not end.
var ErrEndlessPagination = errors.New("pagination does not end")

// Pages is the one pagination loop of the native clients. read gets the
// page number (from 0) and the page's cursor (a URL, a token: first, then
// what the previous call returned) and returns the next cursor, "" after
// the last page. A cursor seen before, or more than MaxPages pages, ends the
// listing with an error wrapping ErrEndlessPagination that names the
// cursor; an error of read ends it with that error.
func Pages(first string, read func(page int, cursor string) (next string, err error)) error {
	seen := map[string]bool{}
	for page, cursor := 0, first; cursor != ""; page++ {
		if seen[cursor] || page >= MaxPages {
			return fmt.Errorf("%w (at %s)", ErrEndlessPagination, cursor)
		}
		seen[cursor] = true
		next, err := read(page, cursor)
		if err != nil {
			return err
		}
		cursor = next
	}
	return nil
}
