package policy_test

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"

	"github.com/docker-werf/docker-werf/internal/policy"
)

// readmePolicySection is the README's section on the policy file format.
func readmePolicySection(t *testing.T) string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("..", "..", "README.md"))
	assert.NilError(t, err)
	const heading = "### The policy file format"
	_, section, ok := strings.Cut(string(data), "\n"+heading)
	assert.Assert(t, ok, "README.md has no %q section", heading)
	if i := regexp.MustCompile(`\n##+ `).FindStringIndex(section); i != nil {
		section = section[:i[0]]
	}
	return section
}

// yamlBlocks returns the ```yaml blocks of text.
func yamlBlocks(text string) []string {
	var out []string
	for _, m := range regexp.MustCompile("(?s)\n```yaml\n(.*?)\n```\n").FindAllStringSubmatch(text, -1) {
		out = append(out, m[1]+"\n")
	}
	return out
}

// shape is what a policy says, without its compiled pattern and source.
type shape struct {
	Kind               policy.RefKind
	Pattern            string
	References, Images policy.Limit
}

func shapes(ps []policy.KeepPolicy) []shape {
	var out []shape
	for _, p := range ps {
		out = append(out, shape{p.Kind, p.Pattern, p.References, p.ImagesPerReference})
	}
	return out
}

// TestREADMEPolicyExamples: the README's examples of a policy file, of
// werf's defaults and of werf.yaml's cleanup section parse, and mean what
// the README says they mean.
func TestREADMEPolicyExamples(t *testing.T) {
	blocks := yamlBlocks(readmePolicySection(t))
	assert.Assert(t, is.Len(blocks, 3), "want the example policy file, werf's defaults and a werf.yaml")
	week, days := 168*time.Hour, func(n int) time.Duration { return time.Duration(n) * 24 * time.Hour }

	example, err := policy.ParsePolicies("README.md", []byte(blocks[0]))
	assert.NilError(t, err)
	assert.Check(t, is.DeepEqual(shapes(example), []shape{
		{policy.TagRef, "/.*/", policy.Limit{Last: 10}, policy.NoLimit},
		{policy.BranchRef, "/.*/", policy.Limit{Last: 10, In: week, Operator: policy.And}, policy.Limit{Last: 2, In: days(7), Operator: policy.And}},
		{policy.BranchRef, "/main|release-.*/", policy.NoLimit, policy.Limit{Last: 5, In: days(14), Operator: policy.Or}},
		{policy.BranchRef, "experiments", policy.Limit{Last: -1, In: days(30), Operator: policy.Or}, policy.Limit{Last: 0}},
	}))
	for _, name := range []string{"main", "release-2", "origin"} {
		assert.Check(t, is.Equal(example[2].Match.MatchString(name), name != "origin"), name)
	}

	defaults, err := policy.ParsePolicies("README.md", []byte(blocks[1]))
	assert.NilError(t, err)
	assert.Check(t, is.DeepEqual(shapes(defaults), shapes(policy.DefaultKeepPolicies())))

	wc, err := policy.ParseWerfConfig("werf.yaml", []byte(blocks[2]))
	assert.NilError(t, err)
	assert.Assert(t, wc.KeepImagesBuiltWithinLastNHours != nil)
	assert.Check(t, is.Equal(*wc.KeepImagesBuiltWithinLastNHours, 6))
	assert.Check(t, is.DeepEqual(shapes(wc.KeepPolicies), []shape{{policy.BranchRef, "main", policy.NoLimit, policy.Limit{Last: 3}}}))
}

// TestREADMEPolicyKeys: every key the parser knows is in the README's
// tables. The keys are read from the parser's own "known keys" errors, so a
// key added there and not documented fails this test.
func TestREADMEPolicyKeys(t *testing.T) {
	section := readmePolicySection(t)
	known := func(name, doc string, werfYAML bool) []string {
		t.Helper()
		var err error
		if werfYAML {
			_, err = policy.ParseWerfConfig(name, []byte(doc))
		} else {
			_, err = policy.ParsePolicies(name, []byte(doc))
		}
		assert.Assert(t, err != nil, doc)
		m := regexp.MustCompile(`\(known keys: ([^)]*)\)`).FindStringSubmatch(err.Error())
		assert.Assert(t, m != nil, "no list of known keys in %q", err)
		return strings.Split(m[1], ", ")
	}
	var paths []string
	for _, k := range known("policy", "keepPolicies: [{zzz: 1}]", false) {
		switch k {
		case "references":
			for _, r := range known("references", "keepPolicies: [{references: {zzz: 1}}]", false) {
				if r != "limit" {
					paths = append(paths, "references."+r)
					continue
				}
				for _, l := range known("limit", "keepPolicies: [{references: {branch: x, limit: {zzz: 1}}}]", false) {
					paths = append(paths, "references.limit."+l)
				}
			}
		case "imagesPerReference":
			for _, l := range known("images", "keepPolicies: [{references: {branch: x}, imagesPerReference: {zzz: 1}}]", false) {
				paths = append(paths, "imagesPerReference."+l)
			}
		default:
			paths = append(paths, k)
		}
	}
	paths = append(paths, known("werf.yaml", "cleanup:\n  zzz: 1\n", true)...)
	assert.Check(t, len(paths) >= 14, "too few keys found: %v", paths)
	for _, p := range paths {
		assert.Check(t, strings.Contains(section, "| `"+p+"` |"), "the README's policy tables lack the key %s", p)
	}
}
