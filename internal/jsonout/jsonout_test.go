package jsonout_test

import (
	"bytes"
	"testing"

	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"

	"github.com/docker-werf/docker-werf/internal/jsonout"
	"github.com/docker-werf/docker-werf/internal/jsonout/jsoncheck"
)

func TestWrite(t *testing.T) {
	var b bytes.Buffer
	v := struct {
		Path  string         `json:"path"`
		Kept  map[string]int `json:"kept"`
		Items []struct {
			UntagSafe bool `json:"untagSafe"`
		} `json:"items"`
	}{Path: "/v2/<name>/tags & more", Kept: map[string]int{"keep-tag": 1}, Items: make([]struct {
		UntagSafe bool `json:"untagSafe"`
	}, 1)}
	assert.NilError(t, jsonout.Write(&b, v))
	assert.Check(t, is.Equal(b.String(), `{
  "path": "/v2/<name>/tags & more",
  "kept": {
    "keep-tag": 1
  },
  "items": [
    {
      "untagSafe": false
    }
  ]
}
`))
	assert.Check(t, is.Len(jsoncheck.Problems(b.Bytes(), "kept"), 0))
}

func TestProblems(t *testing.T) {
	got := jsoncheck.Problems([]byte(`{"kindSource":"x","deletion":{"Method":"a","untagSafe":true},`+
		`"credentials":[{"Key":"k"}],"kept":{"keep-tag":1},"n":"\u003cname\u003e"}`), "kept")
	assert.Check(t, is.DeepEqual(got, []string{
		`HTML escape \u003c`, `HTML escape \u003e`,
		"key credentials.[].Key is not lowerCamel", "key deletion.Method is not lowerCamel",
	}))
	assert.Check(t, is.DeepEqual(jsoncheck.Problems([]byte(`{"kept":{"keep-tag":1}}`)), []string{"key kept.keep-tag is not lowerCamel"}))
	assert.Check(t, is.DeepEqual(jsoncheck.Problems([]byte(``)), []string{"no JSON document"}))
	assert.Check(t, is.Len(jsoncheck.Problems([]byte("{\"a\":1}\n{\"bC\":[{\"d\":2}]}\n")), 0))
}
