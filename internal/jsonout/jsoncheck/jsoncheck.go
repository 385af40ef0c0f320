// Package jsoncheck checks, for tests, that a JSON output speaks the
// products' dialect (see jsonout): every object key lowerCamel, and no
// HTML escaping.
package jsoncheck

import (
	"bytes"
	"encoding/json"
	"fmt"
	"regexp"
	"sort"
	"strings"
)

var lowerCamel = regexp.MustCompile(`^[a-z][a-zA-Z0-9]*$`)

// Problems returns what in data (one or more JSON documents) is not in the
// dialect: keys that are not lowerCamel, named by their path ("deletion.Method"),
// and HTML escapes (\u003c, \u003e, \u0026). The objects at dataPaths
// ("summary.kept"; "[]" stands for any array element) are maps whose keys
// are data, not names, and are not checked.
func Problems(data []byte, dataPaths ...string) []string {
	var problems []string
	for _, esc := range []string{`\u003c`, `\u003e`, `\u0026`} {
		if bytes.Contains(data, []byte(esc)) {
			problems = append(problems, "HTML escape "+esc)
		}
	}
	skip := map[string]bool{}
	for _, p := range dataPaths {
		skip[p] = true
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	n := 0
	for dec.More() {
		var v any
		if err := dec.Decode(&v); err != nil {
			return append(problems, fmt.Sprintf("not JSON: %v", err))
		}
		n++
		walk(v, "", skip, &problems)
	}
	if n == 0 {
		problems = append(problems, "no JSON document")
	}
	sort.Strings(problems)
	return problems
}

func walk(v any, path string, skip map[string]bool, problems *[]string) {
	switch v := v.(type) {
	case map[string]any:
		if skip[path] {
			return
		}
		for k, child := range v {
			p := k
			if path != "" {
				p = path + "." + k
			}
			if !lowerCamel.MatchString(k) {
				*problems = append(*problems, "key "+p+" is not lowerCamel")
			}
			walk(child, p, skip, problems)
		}
	case []any:
		p := strings.TrimSuffix(path+".[]", ".")
		if path == "" {
			p = "[]"
		}
		for _, child := range v {
			walk(child, p, skip, problems)
		}
	}
}
