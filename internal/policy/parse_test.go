package policy_test

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"

	"github.com/docker-werf/docker-werf/internal/policy"
)

func TestFormatDuration(t *testing.T) {
	for d, want := range map[time.Duration]string{
		2 * time.Hour: "2h", 90 * time.Minute: "1h30m", 7 * 24 * time.Hour: "7d", 36 * time.Hour: "1d12h",
		45 * time.Second: "45s", 0: "0s", -time.Hour: "-1h",
	} {
		assert.Check(t, is.Equal(policy.FormatDuration(d), want))
	}
}

func TestParseRegexps(t *testing.T) {
	res, err := policy.ParseRegexps("--keep-tag", []string{"v1.*", "rc"})
	assert.NilError(t, err)
	assert.Check(t, res[0].MatchString("v1.2"))
	assert.Check(t, !res[0].MatchString("av1"))
	assert.Check(t, !res[1].MatchString("v1-rc1"))
	assert.Check(t, res[1].MatchString("rc"))

	_, err = policy.ParseRegexps("--keep-tag", []string{"ok", "v1[", "(x"})
	assert.Error(t, err, "invalid --keep-tag pattern \"v1[\": error parsing regexp: missing closing ]: `[`")
	_, err = policy.ParseRegexp("--tag-filter", "a)")
	assert.Error(t, err, "invalid --tag-filter pattern \"a)\": error parsing regexp: unexpected ): `a)`")
	_, err = policy.ParseRegexp("--protected", "")
	assert.Error(t, err, `invalid --protected pattern "": empty`)

	for _, re := range policy.DefaultProtected() {
		assert.Check(t, !re.MatchString("latest-1"))
	}
}

func TestKeepList(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "keep.txt")
	assert.NilError(t, os.WriteFile(p, []byte("\ufeff# deployed\nv1.2.3\n  prod-2026  # pinned\n\nv1.2.3\n"), 0o644))
	got, err := policy.LoadKeepList(p)
	assert.NilError(t, err)
	assert.DeepEqual(t, got, []string{"v1.2.3", "prod-2026"})

	tests := []struct{ data, want string }{
		{data: "ok\nregistry.example.com/app:v1\n", want: `k:2: "registry.example.com/app:v1" is not a valid tag (give the tag alone, without repository or digest)`},
		{data: "a b\n", want: `k:1: "a b" is not a valid tag (one tag per line)`},
		{data: "-x\n", want: `k:1: "-x" is not a valid tag`},
	}
	for _, tc := range tests {
		_, err := policy.ParseKeepList("k", []byte(tc.data))
		assert.Check(t, is.Error(err, tc.want))
	}
	_, err = policy.LoadKeepList(filepath.Join(dir, "missing"))
	assert.Error(t, err, "reading keep list: open "+filepath.Join(dir, "missing")+": no such file or directory")
}

// TestUserFilesAreCapped: a keep list, policy file or werf.yaml that never
// ends (/dev/zero) or is far too large fails at once with an error naming
// the file, instead of filling the memory.
func TestUserFilesAreCapped(t *testing.T) {
	loaders := []struct {
		name string
		load func(string) error
	}{
		{"keep list", func(p string) error { _, err := policy.LoadKeepList(p); return err }},
		{"policy file", func(p string) error { _, err := policy.LoadPolicyFile(p); return err }},
		{"werf config", func(p string) error { _, err := policy.LoadWerfConfig(p); return err }},
	}
	for _, l := range loaders {
		t.Run(l.name, func(t *testing.T) {
			err := l.load("/dev/zero")
			assert.Check(t, is.ErrorContains(err, "reading "+l.name+" /dev/zero: larger than"))
			assert.Check(t, is.ErrorContains(err, "expected a small text file"))
			err = l.load(t.TempDir())
			assert.Check(t, is.ErrorContains(err, "is a directory"))
		})
	}
}

func TestParsePolicies(t *testing.T) {
	ps, err := policy.ParsePolicies("p.yaml", []byte(`# comment
keepPolicies:
- references:
    branch: /^feature-.*/
    limit:
      last: 10
      in: 7d
  imagesPerReference:
    last: 2
    in: 168h
    operator: Or
- references:
    tag: v1.0.0
`))
	assert.NilError(t, err)
	assert.Assert(t, is.Len(ps, 2))
	assert.Check(t, is.Equal(ps[0].Kind, policy.BranchRef))
	assert.Check(t, is.Equal(ps[0].Pattern, "/^feature-.*/"))
	assert.Check(t, ps[0].Match.MatchString("feature-x"))
	assert.Check(t, !ps[0].Match.MatchString("x-feature-x"))
	assert.Check(t, is.DeepEqual(ps[0].References, policy.Limit{Last: 10, In: 7 * 24 * time.Hour, Operator: policy.And}))
	assert.Check(t, is.DeepEqual(ps[0].ImagesPerReference, policy.Limit{Last: 2, In: 168 * time.Hour, Operator: policy.Or}))
	assert.Check(t, is.Equal(ps[0].Source, "p.yaml:3"))
	assert.Check(t, is.Equal(ps[0].String(), "branch /^feature-.*/ (limit last 10 and in 7d; images last 2 or in 7d)"))
	assert.Check(t, is.Equal(ps[1].Kind, policy.TagRef))
	assert.Check(t, ps[1].Match.MatchString("v1.0.0"))
	assert.Check(t, !ps[1].Match.MatchString("v1x0x0"), "literal: dots are not wildcards")
	assert.Check(t, is.DeepEqual(ps[1].References, policy.NoLimit))
	assert.Check(t, is.DeepEqual(ps[1].ImagesPerReference, policy.NoLimit))
	assert.Check(t, is.Equal(ps[1].Source, "p.yaml:12"))

	// The same policies in the other accepted shapes.
	for _, y := range []string{
		"cleanup:\n  keepPolicies:\n  - references: {tag: v1.0.0}\n",
		"- references: {tag: v1.0.0}\n",
	} {
		ps, err := policy.ParsePolicies("p.yaml", []byte(y))
		assert.NilError(t, err, y)
		assert.Check(t, is.Len(ps, 1))
	}

	tests := []struct {
		name, yaml, want string
	}{
		{name: "typo", yaml: `
keepPolicies:
- references:
    branch: main
  imagesPerRefernce:
    last: 1
`, want: `p.yaml:5: unknown key "imagesPerRefernce" in keepPolicies[0]: did you mean "imagesPerReference"?`},
		{name: "unknown key", yaml: "keepPolicies:\n- references: {branch: main, colour: red}\n",
			want: `p.yaml:2: unknown key "colour" in keepPolicies[0].references (known keys: branch, tag, limit)`},
		{name: "top-level typo", yaml: "keepPolicy: []\n",
			want: `p.yaml:1: unknown key "keepPolicy" in the top level: did you mean "keepPolicies"?`},
		{name: "broken yaml", yaml: "keepPolicies:\n- references:\n    branch: main\n   limit: {last: 1}\n",
			want: `p.yaml:4: did not find expected key`},
		{name: "bad indentation in a list", yaml: "keepPolicies:\n  - references:\n      branch: main\n    imagesPerReference:\n      last: 1\n   - references: {tag: x}\n",
			want: `p.yaml:6: did not find expected '-' indicator`},
		{name: "unterminated quote", yaml: "keepPolicies:\n- references:\n    branch: \"main\n  imagesPerReference: {last: 1}\n",
			want: `p.yaml:3: found unexpected end of stream`},
		{name: "in zero", yaml: "keepPolicies:\n- references: {branch: main}\n  imagesPerReference: {last: 1, in: 0s}\n",
			want: `p.yaml:3: keepPolicies[0].imagesPerReference.in: 0 keeps nothing; leave in out for no time limit`},
		{name: "tab", yaml: "keepPolicies:\n\t- references: {branch: main}\n",
			want: `p.yaml:2: found character that cannot start any token`},
		{name: "bad operator", yaml: "keepPolicies:\n- references:\n    branch: main\n  imagesPerReference: {last: 1, in: 1h, operator: Xor}\n",
			want: `p.yaml:4: keepPolicies[0].imagesPerReference.operator: "Xor" is not And or Or`},
		{name: "operator case", yaml: "keepPolicies:\n- references:\n    branch: main\n    limit: {last: 1, operator: and}\n",
			want: `p.yaml:4: keepPolicies[0].references.limit.operator: "and" is not And or Or (case matters)`},
		{name: "last too small", yaml: "keepPolicies:\n- references: {branch: main}\n  imagesPerReference: {last: -2}\n",
			want: `p.yaml:3: keepPolicies[0].imagesPerReference.last: -2 is less than -1 (-1 means no limit)`},
		{name: "last not int", yaml: "keepPolicies:\n- references: {branch: main}\n  imagesPerReference: {last: ten}\n",
			want: `p.yaml:3: keepPolicies[0].imagesPerReference.last: want an integer, got "ten"`},
		{name: "in not duration", yaml: "keepPolicies:\n- references:\n    tag: /.*/\n    limit:\n      in: 1 week\n",
			want: `p.yaml:5: keepPolicies[0].references.limit.in: invalid duration "1 week": want a number with a unit s, m, h, d or w, e.g. 30s, 12h, 7d, 2w, 1w2d`},
		{name: "in integer", yaml: "keepPolicies:\n- references:\n    tag: /.*/\n    limit: {in: 3600}\n",
			want: `p.yaml:4: keepPolicies[0].references.limit.in: want a duration such as 168h or 7d, got "3600"`},
		{name: "both branch and tag", yaml: "keepPolicies:\n- references:\n    branch: main\n    tag: v1\n",
			want: `p.yaml:4: keepPolicies[0].references: give only one of branch and tag`},
		{name: "neither", yaml: "keepPolicies:\n- references:\n    limit: {last: 1}\n",
			want: `p.yaml:3: keepPolicies[0].references: give branch or tag`},
		{name: "no references", yaml: "keepPolicies:\n- imagesPerReference: {last: 1}\n",
			want: `p.yaml:2: keepPolicies[0]: references is missing (give references.branch or references.tag)`},
		{name: "bad regexp", yaml: "keepPolicies:\n- references: {branch: '/feature-(/'}\n",
			want: "p.yaml:2: keepPolicies[0].references.branch: invalid regexp \"/feature-(/\": error parsing regexp: missing closing ): `feature-(`"},
		{name: "duplicate key", yaml: "keepPolicies:\n- references: {branch: a}\n  references: {branch: b}\n",
			want: `p.yaml:3: keepPolicies[0]: key "references" given twice (first at line 2)`},
		{name: "empty list", yaml: "keepPolicies: []\n",
			want: `p.yaml:1: keepPolicies is empty; remove the file to use werf's default policies`},
		{name: "null list", yaml: "keepPolicies:\n",
			want: `p.yaml:1: no keepPolicies`},
		{name: "empty file", yaml: "# nothing\n",
			want: `p.yaml: empty file; want keepPolicies: [...]`},
		{name: "not a list", yaml: "keepPolicies: {references: {branch: main}}\n",
			want: `p.yaml:1: keepPolicies: want a list of policies, got a mapping`},
		{name: "two documents", yaml: "keepPolicies: [{references: {branch: a}}]\n---\nkeepPolicies: []\n",
			want: `p.yaml:2: more than one YAML document`},
		{name: "werf key in policy file", yaml: "cleanup:\n  keepImagesBuiltWithinLastNHours: 3\n",
			want: `p.yaml:2: unknown key "keepImagesBuiltWithinLastNHours" in cleanup (known keys: keepPolicies); a --policy file holds only keepPolicies (the other werf.yaml cleanup settings have flags of their own)`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := policy.ParsePolicies("p.yaml", []byte(tc.yaml))
			assert.Error(t, err, tc.want)
		})
	}
}

func TestDefaultKeepPolicies(t *testing.T) {
	var got []string
	for _, p := range policy.DefaultKeepPolicies() {
		got = append(got, p.String()+" @ "+p.Source)
	}
	assert.DeepEqual(t, got, []string{
		"tag /.*/ (limit last 10) @ werf default #1",
		"branch /.*/ (limit last 10 and in 7d; images last 2 and in 7d) @ werf default #2",
		"branch /^(main|master|staging|production)$/ (images last 2) @ werf default #3",
	})
	assert.Check(t, policy.DefaultKeepPolicies()[2].Match.MatchString("main"))
	assert.Check(t, !policy.DefaultKeepPolicies()[2].Match.MatchString("mainly"))
	cfg := policy.DefaultConfig()
	assert.NilError(t, cfg.Validate())
	assert.Check(t, is.Equal(cfg.KeepYoungerThan, 2*time.Hour))
	assert.Check(t, is.Len(cfg.Protected, 6))
}

func TestLoadPolicyFile(t *testing.T) {
	p := filepath.Join(t.TempDir(), "policy.yaml")
	assert.NilError(t, os.WriteFile(p, []byte("keepPolicies:\n- references:\n    branch: main\n  imagesPerReference: {last: 0}\n"), 0o644))
	ps, err := policy.LoadPolicyFile(p)
	assert.NilError(t, err)
	assert.Check(t, is.Equal(ps[0].ImagesPerReference.Last, 0))
	assert.Check(t, is.Equal(ps[0].Source, p+":2"))
	_, err = policy.LoadPolicyFile(p + ".missing")
	assert.Error(t, err, "reading policy file: open "+p+".missing: no such file or directory")
}

func TestParseWerfConfig(t *testing.T) {
	werfYAML := `project: app
configVersion: 1
{{ $base := "alpine" }}
build:
  platform: [linux/amd64]
cleanup:
  # keep more for main
  keepImagesBuiltWithinLastNHours: 6
  disableKubernetesBasedPolicy: true
  keepPolicies:
  - references:
      branch: /.*/
    imagesPerReference:
      last: 1
  - references:
      branch: main
    imagesPerReference:
      last: 5
deploy:
  helmRelease: app
---
image: app
from: {{ $base }}
`
	wc, err := policy.ParseWerfConfig("werf.yaml", []byte(werfYAML))
	assert.NilError(t, err)
	assert.Check(t, is.Len(wc.KeepPolicies, 2))
	assert.Check(t, is.Equal(wc.KeepPolicies[1].Source, "werf.yaml:15"))
	assert.Check(t, is.Equal(wc.KeepPolicies[1].ImagesPerReference.Last, 5))
	assert.Check(t, is.Equal(*wc.KeepImagesBuiltWithinLastNHours, 6))
	assert.Check(t, wc.DisableKubernetesBasedPolicy)
	assert.Check(t, !wc.DisableGitHistoryBasedPolicy)

	p := filepath.Join(t.TempDir(), "werf.yaml")
	assert.NilError(t, os.WriteFile(p, []byte("project: app\ncleanup:\n  disable: true\n  disableGitHistoryBasedPolicy: true\n"), 0o644))
	wc, err = policy.LoadWerfConfig(p)
	assert.NilError(t, err)
	assert.Check(t, wc.Disable && wc.DisableGitHistoryBasedPolicy && wc.KeepPolicies == nil)
	assert.Check(t, is.Equal(wc.Source, p))

	wc, err = policy.ParseWerfConfig("werf.yaml", []byte("project: app\nconfigVersion: 1\n"))
	assert.NilError(t, err)
	assert.Check(t, wc.KeepPolicies == nil)
	assert.Check(t, wc.KeepImagesBuiltWithinLastNHours == nil)

	tests := []struct{ name, yaml, want string }{
		{name: "typo", yaml: "project: app\nconfigVersion: 1\ncleanup:\n  keepPolicies:\n  - references: {branch: main}\n    imagesPerRefernce: {last: 1}\n",
			want: `werf.yaml:6: unknown key "imagesPerRefernce" in cleanup.keepPolicies[0]: did you mean "imagesPerReference"?`},
		{name: "unknown cleanup key", yaml: "project: app\ncleanup:\n  keepImagesBuiltWithinLastNHour: 1\n",
			want: `werf.yaml:3: unknown key "keepImagesBuiltWithinLastNHour" in cleanup: did you mean "keepImagesBuiltWithinLastNHours"?`},
		{name: "broken", yaml: "project: app\ncleanup:\n  keepPolicies:\n  - references:\n      branch: main\n     limit: {}\n",
			want: `werf.yaml:6: did not find expected key`},
		{name: "template inside", yaml: "project: app\ncleanup:\n  keepPolicies:\n  - references:\n      branch: {{ .Branch }}\n",
			want: `werf.yaml:5: Go template inside the cleanup section: docker werf reads werf.yaml without rendering it; put the keep policies in a --policy file`},
		{name: "template line after", yaml: "project: app\ncleanup:\n  keepPolicies:\n{{- if true }}\n  - references: {branch: main}\n{{- end }}\n",
			want: `werf.yaml:4: Go template inside the cleanup section: docker werf reads werf.yaml without rendering it; put the keep policies in a --policy file`},
		{name: "bad bool", yaml: "project: app\ncleanup:\n  disableGitHistoryBasedPolicy: yes please\n",
			want: `werf.yaml:3: cleanup.disableGitHistoryBasedPolicy: want true or false, got "yes please"`},
		{name: "negative hours", yaml: "project: app\ncleanup:\n  keepImagesBuiltWithinLastNHours: -1\n",
			want: `werf.yaml:3: cleanup.keepImagesBuiltWithinLastNHours: -1 is negative`},
		{name: "two sections", yaml: "cleanup: {}\nproject: app\ncleanup: {}\n",
			want: `werf.yaml:3: second top-level cleanup section (the first is at line 1)`},
		{name: "not a mapping", yaml: "project: app\ncleanup: [a]\n",
			want: `werf.yaml:2: cleanup: want a mapping with keepPolicies, keepImagesBuiltWithinLastNHours, disableKubernetesBasedPolicy, disableGitHistoryBasedPolicy, disableBuiltWithinLastNHoursPolicy, disable, got a list`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := policy.ParseWerfConfig("werf.yaml", []byte(tc.yaml))
			assert.Error(t, err, tc.want)
		})
	}
}

// TestWerfConfigDisableKubernetesBasedPolicy: werf.yaml's
// cleanup.disableKubernetesBasedPolicy turns the Kubernetes scan off as
// --without-kube does, says where, and yields to the flag when it is given.
func TestWerfConfigDisableKubernetesBasedPolicy(t *testing.T) {
	const head = "project: app\nconfigVersion: 1\ncleanup:\n  keepImagesBuiltWithinLastNHours: 1\n"
	for _, tc := range []struct {
		name, value string
		flagGiven   bool
		skip        bool
	}{
		{name: "true", value: "true", skip: true},
		{name: "false", value: "false"},
		{name: "true, but the flag was given", value: "true", flagGiven: true},
		{name: "false, and the flag was given", value: "false", flagGiven: true},
		{name: "written without a value", value: ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			wc, err := policy.ParseWerfConfig("werf.yaml", []byte(head+"  disableKubernetesBasedPolicy: "+tc.value+"\n"))
			assert.NilError(t, err)
			assert.Check(t, is.Equal(wc.DisableKubernetesBasedPolicy, tc.value == "true"))
			cfg := policy.DefaultConfig()
			wc.ApplyKubernetes(&cfg, tc.flagGiven)
			assert.Check(t, is.Equal(cfg.SkipKubernetes, tc.skip))
			if tc.skip {
				assert.Check(t, is.Equal(cfg.SkipKubernetesBy, "werf.yaml:5"))
			} else {
				assert.Check(t, is.Equal(cfg.SkipKubernetesBy, ""))
			}
			assert.NilError(t, cfg.Validate())
		})
	}

	t.Run("the line is that of the key, in a file", func(t *testing.T) {
		p := filepath.Join(t.TempDir(), "werf.yaml")
		data := "project: app\n# comment\ncleanup:\n  keepPolicies:\n  - references: {branch: main}\n  disableKubernetesBasedPolicy: true\n---\nimage: app\n"
		assert.NilError(t, os.WriteFile(p, []byte(data), 0o644))
		wc, err := policy.LoadWerfConfig(p)
		assert.NilError(t, err)
		assert.Check(t, is.Equal(wc.Where("disableKubernetesBasedPolicy"), p+":6"))
		assert.Check(t, is.Equal(wc.Where("disableGitHistoryBasedPolicy"), p), "a key not written is the file alone")
		var cfg policy.Config
		wc.ApplyKubernetes(&cfg, false)
		assert.Check(t, cfg.SkipKubernetes)
		assert.Check(t, is.Equal(cfg.SkipKubernetesBy, p+":6"))
	})

	t.Run("no cleanup section or no werf.yaml", func(t *testing.T) {
		wc, err := policy.ParseWerfConfig("werf.yaml", []byte("project: app\n"))
		assert.NilError(t, err)
		var cfg policy.Config
		wc.ApplyKubernetes(&cfg, false)
		assert.Check(t, !cfg.SkipKubernetes)
		var none *policy.WerfCleanup
		none.ApplyKubernetes(&cfg, false)
		assert.Check(t, !cfg.SkipKubernetes)
	})

	for _, tc := range []struct{ name, value, want string }{
		{"yes", "yes", `werf.yaml:5: cleanup.disableKubernetesBasedPolicy: want true or false, got "yes"`},
		{"quoted", `"true"`, `werf.yaml:5: cleanup.disableKubernetesBasedPolicy: want true or false, got "true"`},
		{"number", "1", `werf.yaml:5: cleanup.disableKubernetesBasedPolicy: want true or false, got "1"`},
		{"list", "[true]", `werf.yaml:5: cleanup.disableKubernetesBasedPolicy: want true or false, got a list`},
		{"mapping", "{enabled: false}", `werf.yaml:5: cleanup.disableKubernetesBasedPolicy: want true or false, got a mapping`},
		{"typo in the key", "", ""},
	} {
		t.Run("invalid: "+tc.name, func(t *testing.T) {
			doc := head + "  disableKubernetesBasedPolicy: " + tc.value + "\n"
			want := tc.want
			if tc.name == "typo in the key" {
				doc = head + "  disableKubernetesBasePolicy: true\n"
				want = `werf.yaml:5: unknown key "disableKubernetesBasePolicy" in cleanup: did you mean "disableKubernetesBasedPolicy"?`
			}
			_, err := policy.ParseWerfConfig("werf.yaml", []byte(doc))
			assert.Error(t, err, want)
		})
	}
}
