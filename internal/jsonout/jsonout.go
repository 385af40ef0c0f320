// Package jsonout is how the products print JSON (--format json, reports):
// lowerCamel keys (set by the types' struct tags), two-space indent, one
// document per line end, and no HTML escaping, so "<name>" stays "<name>"
// rather than "\u003cname\u003e". It imports only the standard library:
// the credential helper uses it.
//
// The credential-helper protocol and docker's config.json are not printed
// through it: their keys and encoding are docker's.
package jsonout

import (
	"bytes"
	"encoding/json"
	"io"
)

// Write encodes v to w, ending with a newline.
func Write(w io.Writer, v any) error {
	data, err := Marshal(v)
	if err != nil {
		return err
	}
	_, err = w.Write(data)
	return err
}

// Marshal returns what Write writes.
func Marshal(v any) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}
