package apiclient

import (
	"errors"
	"strconv"
	"testing"

	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"
)

func TestPages(t *testing.T) {
	t.Run("to the end", func(t *testing.T) {
		var got []string
		err := Pages("1", func(page int, cursor string) (string, error) {
			got = append(got, cursor)
			if page == 2 {
				return "", nil
			}
			return strconv.Itoa(page + 2), nil
		})
		assert.NilError(t, err)
		assert.Check(t, is.DeepEqual(got, []string{"1", "2", "3"}))
	})
	t.Run("a cursor again", func(t *testing.T) {
		err := Pages("a", func(int, string) (string, error) { return "a", nil })
		assert.Check(t, errors.Is(err, ErrEndlessPagination))
		assert.Check(t, is.ErrorContains(err, "pagination does not end (at a)"))
	})
	t.Run("too many pages", func(t *testing.T) {
		calls := 0
		err := Pages("0", func(page int, _ string) (string, error) {
			calls++
			return strconv.Itoa(page + 1), nil
		})
		assert.Check(t, errors.Is(err, ErrEndlessPagination))
		assert.Check(t, is.Equal(calls, MaxPages))
	})
	t.Run("an error of a page", func(t *testing.T) {
		boom := errors.New("boom")
		err := Pages("x", func(int, string) (string, error) { return "", boom })
		assert.Check(t, is.Equal(err, boom))
	})
	t.Run("nothing to read", func(t *testing.T) {
		assert.NilError(t, Pages("", func(int, string) (string, error) { panic("called") }))
	})
}
