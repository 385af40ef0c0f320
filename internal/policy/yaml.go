package policy

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"
	"sync"

	"go.yaml.in/yaml/v3"

	"github.com/docker-werf/docker-werf/internal/duration"
)

// ConfigError is a problem in a policy file or werf.yaml, with its position.
type ConfigError struct {
	File string
	Line int // 0 when unknown
	Msg  string
}

func (e *ConfigError) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Msg)
	}
	return fmt.Sprintf("%s: %s", e.File, e.Msg)
}

// LoadPolicyFile reads keep policies (--policy FILE) in werf's
// cleanup.keepPolicies format. The document is one of
//
//	keepPolicies: [...]             # the policies
//	cleanup: {keepPolicies: [...]}  # as in werf.yaml
//	[...]                           # just the list
//
// Unknown keys, a missing or empty list, and invalid values are errors that
// name the file and line. Each policy's Source is "FILE:LINE".
func LoadPolicyFile(path string) ([]KeepPolicy, error) {
	data, err := readCapped("policy file", path, MaxPolicyFileSize)
	if err != nil {
		return nil, err
	}
	return ParsePolicies(path, data)
}

// ParsePolicies parses policy-file data as LoadPolicyFile does; name is used
// in errors and Sources.
func ParsePolicies(name string, data []byte) ([]KeepPolicy, error) {
	d := &decoder{file: name}
	root, err := d.parse(data, 0, true)
	if err != nil {
		return nil, err
	}
	if root == nil {
		return nil, d.errf(nil, "empty file; want keepPolicies: [...]")
	}
	list, path := root, "keepPolicies"
	if root.Kind == yaml.MappingNode {
		m, err := d.mapping(root, "", []string{"keepPolicies", "cleanup"})
		if err != nil {
			return nil, err
		}
		switch {
		case m["keepPolicies"] != nil && m["cleanup"] != nil:
			return nil, d.errf(root, "give either keepPolicies or cleanup.keepPolicies, not both")
		case m["cleanup"] != nil:
			cm, err := d.mapping(m["cleanup"], "cleanup", []string{"keepPolicies"})
			if err != nil {
				var ce *ConfigError
				if errors.As(err, &ce) && strings.Contains(ce.Msg, "unknown key") && isWerfCleanupKey(err) {
					ce.Msg += "; a --policy file holds only keepPolicies (the other werf.yaml cleanup settings have flags of their own)"
				}
				return nil, err
			}
			list, path = cm["keepPolicies"], "cleanup.keepPolicies"
		default:
			list = m["keepPolicies"]
		}
		if list == nil {
			return nil, d.errf(root, "no %s", path)
		}
	}
	ps, err := d.policies(list, path)
	if err != nil {
		return nil, err
	}
	if len(ps) == 0 {
		return nil, d.errf(list, "%s is empty; remove the file to use werf's default policies", path)
	}
	return ps, nil
}

func isWerfCleanupKey(err error) bool {
	for _, k := range werfCleanupKeys {
		if strings.Contains(err.Error(), strconv.Quote(k)) {
			return true
		}
	}
	return false
}

var werfCleanupKeys = []string{
	"keepPolicies", "keepImagesBuiltWithinLastNHours", "disableKubernetesBasedPolicy",
	"disableGitHistoryBasedPolicy", "disableBuiltWithinLastNHoursPolicy", "disable",
}

// WerfCleanup is the cleanup section of werf.yaml.
type WerfCleanup struct {
	// Source is the file name.
	Source string
	// KeepPolicies is nil when werf.yaml has none (werf then applies its
	// defaults, DefaultKeepPolicies).
	KeepPolicies []KeepPolicy
	// KeepImagesBuiltWithinLastNHours is nil when not written (werf's
	// default is 2).
	KeepImagesBuiltWithinLastNHours *int
	// The disable switches, false when not written.
	DisableGitHistoryBasedPolicy       bool
	DisableBuiltWithinLastNHoursPolicy bool
	DisableKubernetesBasedPolicy       bool
	Disable                            bool
	// Lines has the line of the value of each cleanup key written.
	Lines map[string]int
}

// Where returns "FILE:LINE" of a cleanup key, or the file alone when the key
// is not written.
func (w *WerfCleanup) Where(key string) string {
	if l := w.Lines[key]; l > 0 {
		return fmt.Sprintf("%s:%d", w.Source, l)
	}
	return w.Source
}

// ApplyKubernetes sets cfg.SkipKubernetes from
// cleanup.disableKubernetesBasedPolicy, as werf does. flagGiven says the user
// gave --without-kube (or WERF_WITHOUT_KUBE) either way: then the flag
// decides, as --keep-younger-than does over keepImagesBuiltWithinLastNHours,
// and werf.yaml is not read for it (so --without-kube=false scans the
// clusters although werf.yaml says not to).
func (w *WerfCleanup) ApplyKubernetes(cfg *Config, flagGiven bool) {
	if flagGiven || w == nil || !w.DisableKubernetesBasedPolicy {
		return
	}
	cfg.SkipKubernetes = true
	cfg.SkipKubernetesBy = w.Where("disableKubernetesBasedPolicy")
}

// LoadWerfConfig reads the top-level cleanup section of werf.yaml. Only that
// section is parsed, so Go templates elsewhere in werf.yaml are fine; a
// template inside or directly after the section is an error (docker werf
// does not render templates: put the policies in a --policy file). A file
// without a cleanup section gives an empty WerfCleanup. Unknown keys and
// invalid values are errors naming the file and line.
func LoadWerfConfig(path string) (*WerfCleanup, error) {
	data, err := readCapped("werf config", path, MaxWerfConfigSize)
	if err != nil {
		return nil, err
	}
	return ParseWerfConfig(path, data)
}

var cleanupLine = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^(cleanup|"cleanup"|'cleanup')[ \t]*:`) })

// ParseWerfConfig parses werf.yaml data as LoadWerfConfig does; name is
// used in errors.
func ParseWerfConfig(name string, data []byte) (*WerfCleanup, error) {
	d := &decoder{file: name}
	data = bytes.TrimPrefix(data, []byte("\ufeff"))
	lines := strings.Split(strings.ReplaceAll(string(data), "\r\n", "\n"), "\n")
	start := -1
	for i, l := range lines {
		if cleanupLine().MatchString(l) {
			if start >= 0 {
				return nil, &ConfigError{File: name, Line: i + 1, Msg: fmt.Sprintf("second top-level cleanup section (the first is at line %d)", start+1)}
			}
			start = i
		}
	}
	out := &WerfCleanup{Source: name}
	if start < 0 {
		return out, nil
	}
	end := start + 1
	for ; end < len(lines); end++ {
		l := lines[end]
		if l == "" || l[0] == ' ' || l[0] == '\t' || l[0] == '#' {
			continue
		}
		if strings.HasPrefix(l, "{{") {
			return nil, &ConfigError{File: name, Line: end + 1,
				Msg: "Go template inside the cleanup section: docker werf reads werf.yaml without rendering it; put the keep policies in a --policy file"}
		}
		break
	}
	block := lines[start:end]
	for i, l := range block {
		if strings.Contains(l, "{{") {
			return nil, &ConfigError{File: name, Line: start + i + 1,
				Msg: "Go template inside the cleanup section: docker werf reads werf.yaml without rendering it; put the keep policies in a --policy file"}
		}
	}
	root, err := d.parse([]byte(strings.Join(block, "\n")), start, false)
	if err != nil {
		return nil, err
	}
	m, err := d.mapping(root, "", []string{"cleanup"})
	if err != nil {
		return nil, err
	}
	c := m["cleanup"]
	if c == nil {
		return out, nil
	}
	cm, err := d.mapping(c, "cleanup", werfCleanupKeys)
	if err != nil {
		return nil, err
	}
	out.Lines = make(map[string]int, len(cm))
	for key, n := range cm {
		out.Lines[key] = n.Line + d.offset
	}
	if n := cm["keepPolicies"]; n != nil {
		if out.KeepPolicies, err = d.policies(n, "cleanup.keepPolicies"); err != nil {
			return nil, err
		}
	}
	if n := cm["keepImagesBuiltWithinLastNHours"]; n != nil {
		v, err := d.int(n, "cleanup.keepImagesBuiltWithinLastNHours")
		if err != nil {
			return nil, err
		}
		if v < 0 {
			return nil, d.errf(n, "cleanup.keepImagesBuiltWithinLastNHours: %d is negative", v)
		}
		out.KeepImagesBuiltWithinLastNHours = &v
	}
	for key, dst := range map[string]*bool{
		"disableGitHistoryBasedPolicy":       &out.DisableGitHistoryBasedPolicy,
		"disableBuiltWithinLastNHoursPolicy": &out.DisableBuiltWithinLastNHoursPolicy,
		"disableKubernetesBasedPolicy":       &out.DisableKubernetesBasedPolicy,
		"disable":                            &out.Disable,
	} {
		if n := cm[key]; n != nil {
			if *dst, err = d.bool(n, "cleanup."+key); err != nil {
				return nil, err
			}
		}
	}
	return out, nil
}

// decoder turns yaml nodes into policies with positioned errors.
type decoder struct {
	file   string
	offset int // added to node lines
}

var yamlLineErr = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^yaml: line (\d+): (.*)$`) })

// parse parses one YAML document; with single, a second document is an
// error. A document that is empty or only null gives nil.
func (d *decoder) parse(data []byte, offset int, single bool) (*yaml.Node, error) {
	d.offset = offset
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if err == io.EOF {
			return nil, nil
		}
		return nil, d.yamlErr(err, data)
	}
	if single {
		var extra yaml.Node
		if err := dec.Decode(&extra); err != io.EOF {
			if err != nil {
				return nil, d.yamlErr(err, data)
			}
			return nil, &ConfigError{File: d.file, Line: extra.Line + d.offset, Msg: "more than one YAML document"}
		}
	}
	if len(doc.Content) == 0 {
		return nil, nil
	}
	n := deref(doc.Content[0])
	if n.Kind == yaml.ScalarNode && n.Tag == "!!null" {
		return nil, nil
	}
	return n, nil
}

// yamlErr positions a YAML syntax error. The parser reports the line where
// the enclosing block starts, not where the problem is; the first line at
// which a prefix of the document fails with the same message is a better
// guess, so that is used when found.
func (d *decoder) yamlErr(err error, data []byte) error {
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	line := 0
	if m := yamlLineErr().FindStringSubmatch(err.Error()); m != nil {
		line, _ = strconv.Atoi(m[1])
		msg = m[2]
	}
	lines := strings.SplitAfter(string(data), "\n")
	if len(lines) <= 2000 {
		for k := 1; k <= len(lines); k++ {
			var n yaml.Node
			dec := yaml.NewDecoder(strings.NewReader(strings.Join(lines[:k], "")))
			perr := dec.Decode(&n)
			for perr == nil {
				perr = dec.Decode(&n)
			}
			if perr == io.EOF {
				continue
			}
			pm := strings.TrimPrefix(perr.Error(), "yaml: ")
			if m := yamlLineErr().FindStringSubmatch(perr.Error()); m != nil {
				pm = m[2]
			}
			if pm == msg {
				line = k
			}
			break
		}
	}
	if line == 0 {
		return &ConfigError{File: d.file, Msg: msg}
	}
	return &ConfigError{File: d.file, Line: line + d.offset, Msg: msg}
}

func (d *decoder) errf(n *yaml.Node, format string, args ...any) error {
	line := 0
	if n != nil {
		line = n.Line + d.offset
	}
	return &ConfigError{File: d.file, Line: line, Msg: fmt.Sprintf(format, args...)}
}

func deref(n *yaml.Node) *yaml.Node {
	for n != nil && n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	return n
}

func isNull(n *yaml.Node) bool {
	return n == nil || n.Kind == yaml.ScalarNode && n.Tag == "!!null"
}

func kindName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		if n.Tag == "!!null" {
			return "nothing"
		}
		return fmt.Sprintf("%q", n.Value)
	}
	return "something else"
}

// mapping checks that n is a mapping with only known keys, each once, and
// returns the values by key (null values are left out).
func (d *decoder) mapping(n *yaml.Node, path string, known []string) (map[string]*yaml.Node, error) {
	n = deref(n)
	if n.Kind != yaml.MappingNode {
		where := path
		if where == "" {
			where = "top level"
		}
		return nil, d.errf(n, "%s: want a mapping with %s, got %s", where, strings.Join(known, ", "), kindName(n))
	}
	out := map[string]*yaml.Node{}
	seen := map[string]int{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := deref(n.Content[i]), deref(n.Content[i+1])
		key := k.Value
		if prev, dup := seen[key]; dup {
			return nil, d.errf(k, "%s: key %q given twice (first at line %d)", orTop(path), key, prev)
		}
		seen[key] = k.Line + d.offset
		ok := false
		for _, kn := range known {
			if key == kn {
				ok = true
				break
			}
		}
		if !ok {
			msg := fmt.Sprintf("unknown key %q in %s", key, orTop(path))
			if s := suggest(key, known); s != "" {
				msg += fmt.Sprintf(": did you mean %q?", s)
			} else {
				msg += " (known keys: " + strings.Join(known, ", ") + ")"
			}
			return nil, d.errf(k, "%s", msg)
		}
		if !isNull(v) {
			out[key] = v
		}
	}
	return out, nil
}

func orTop(path string) string {
	if path == "" {
		return "the top level"
	}
	return path
}

// suggest returns the known key closest to key when it is close enough to
// be a typo.
func suggest(key string, known []string) string {
	best, bestD := "", 1<<30
	for _, k := range known {
		if strings.EqualFold(k, key) {
			return k
		}
		if dist := levenshtein(strings.ToLower(key), strings.ToLower(k)); dist < bestD {
			best, bestD = k, dist
		}
	}
	if bestD <= max(2, len(best)/4) {
		return best
	}
	return ""
}

func levenshtein(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			c := 1
			if a[i-1] == b[j-1] {
				c = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+c)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

func (d *decoder) policies(n *yaml.Node, path string) ([]KeepPolicy, error) {
	n = deref(n)
	if n.Kind != yaml.SequenceNode {
		return nil, d.errf(n, "%s: want a list of policies, got %s", path, kindName(n))
	}
	var out []KeepPolicy
	for i, item := range n.Content {
		p, err := d.policy(deref(item), fmt.Sprintf("%s[%d]", path, i))
		if err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	return out, nil
}

func (d *decoder) policy(n *yaml.Node, path string) (KeepPolicy, error) {
	p := KeepPolicy{References: NoLimit, ImagesPerReference: NoLimit, Source: fmt.Sprintf("%s:%d", d.file, n.Line+d.offset)}
	m, err := d.mapping(n, path, []string{"references", "imagesPerReference"})
	if err != nil {
		return p, err
	}
	refs := m["references"]
	if refs == nil {
		return p, d.errf(n, "%s: references is missing (give references.branch or references.tag)", path)
	}
	rpath := path + ".references"
	rm, err := d.mapping(refs, rpath, []string{"branch", "tag", "limit"})
	if err != nil {
		return p, err
	}
	b, t := rm["branch"], rm["tag"]
	switch {
	case b == nil && t == nil:
		return p, d.errf(refs, "%s: give branch or tag", rpath)
	case b != nil && t != nil:
		return p, d.errf(t, "%s: give only one of branch and tag", rpath)
	case b != nil:
		p.Kind = BranchRef
	default:
		p.Kind, b = TagRef, t
	}
	if p.Pattern, p.Match, err = d.refPattern(b, rpath+"."+string(p.Kind)); err != nil {
		return p, err
	}
	if l := rm["limit"]; l != nil {
		if p.References, err = d.limit(l, rpath+".limit"); err != nil {
			return p, err
		}
	}
	if ipr := m["imagesPerReference"]; ipr != nil {
		if p.ImagesPerReference, err = d.limit(ipr, path+".imagesPerReference"); err != nil {
			return p, err
		}
	}
	return p, nil
}

// refPattern reads werf's `string|/REGEXP/`: /…/ is a regexp, anything
// else a literal name; both match whole names.
func (d *decoder) refPattern(n *yaml.Node, path string) (string, *regexp.Regexp, error) {
	if n.Kind != yaml.ScalarNode || n.Value == "" {
		return "", nil, d.errf(n, "%s: want a name or /regexp/, got %s", path, kindName(n))
	}
	v := n.Value
	expr := regexp.QuoteMeta(v)
	if len(v) >= 2 && strings.HasPrefix(v, "/") && strings.HasSuffix(v, "/") {
		expr = v[1 : len(v)-1]
		if _, err := regexp.Compile(expr); err != nil {
			return "", nil, d.errf(n, "%s: invalid regexp %q: %v", path, v, err)
		}
	}
	re, err := regexp.Compile(`^(?:` + expr + `)$`)
	if err != nil {
		return "", nil, d.errf(n, "%s: invalid regexp %q: %v", path, v, err)
	}
	return v, re, nil
}

func (d *decoder) limit(n *yaml.Node, path string) (Limit, error) {
	l := NoLimit
	m, err := d.mapping(n, path, []string{"last", "in", "operator"})
	if err != nil {
		return l, err
	}
	if v := m["last"]; v != nil {
		if l.Last, err = d.int(v, path+".last"); err != nil {
			return l, err
		}
		if l.Last < -1 {
			return l, d.errf(v, "%s.last: %d is less than -1 (-1 means no limit)", path, l.Last)
		}
	}
	if v := m["in"]; v != nil {
		if v.Kind != yaml.ScalarNode || v.Tag != "!!str" {
			return l, d.errf(v, "%s.in: want a duration such as 168h or 7d, got %s", path, kindName(v))
		}
		dur, err := duration.Parse(v.Value)
		if err != nil {
			return l, d.errf(v, "%s.in: %v", path, err)
		}
		if dur == 0 {
			return l, d.errf(v, "%s.in: 0 keeps nothing; leave in out for no time limit", path)
		}
		l.In = dur
	}
	if v := m["operator"]; v != nil {
		switch op := Operator(v.Value); {
		case v.Kind == yaml.ScalarNode && (op == And || op == Or):
			l.Operator = op
		case v.Kind == yaml.ScalarNode && (strings.EqualFold(v.Value, "and") || strings.EqualFold(v.Value, "or")):
			return l, d.errf(v, "%s.operator: %q is not And or Or (case matters)", path, v.Value)
		default:
			return l, d.errf(v, "%s.operator: %s is not And or Or", path, kindName(v))
		}
	} else if l.hasLast() && l.hasIn() {
		l.Operator = And
	}
	return l, nil
}

func (d *decoder) int(n *yaml.Node, path string) (int, error) {
	var v int
	if n.Kind != yaml.ScalarNode || n.Tag != "!!int" || n.Decode(&v) != nil {
		return 0, d.errf(n, "%s: want an integer, got %s", path, kindName(n))
	}
	return v, nil
}

func (d *decoder) bool(n *yaml.Node, path string) (bool, error) {
	var v bool
	if n.Kind != yaml.ScalarNode || n.Tag != "!!bool" || n.Decode(&v) != nil {
		return false, d.errf(n, "%s: want true or false, got %s", path, kindName(n))
	}
	return v, nil
}
