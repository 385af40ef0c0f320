package flagenv

import (
	"errors"
	"testing"

	"github.com/spf13/pflag"
	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"
)

func newFlags() (*pflag.FlagSet, *string, *int) {
	fs := pflag.NewFlagSet("t", pflag.ContinueOnError)
	s := fs.String("repo", "default", "repository")
	n := fs.Int("parallel", 4, "parallel requests")
	Bind(fs, "repo", "WERF_REPO")
	Bind(fs, "parallel", "WERF_PARALLEL")
	return fs, s, n
}

func TestApply(t *testing.T) {
	tests := []struct {
		name     string
		args     []string
		env      map[string]string
		wantRepo string
		wantN    int
		wantErr  string
	}{
		{name: "default", wantRepo: "default", wantN: 4},
		{name: "env", env: map[string]string{"WERF_REPO": "r", "WERF_PARALLEL": "8"}, wantRepo: "r", wantN: 8},
		{name: "flag wins", args: []string{"--repo=f"}, env: map[string]string{"WERF_REPO": "r"}, wantRepo: "f", wantN: 4},
		{name: "empty env ignored", env: map[string]string{"WERF_REPO": ""}, wantRepo: "default", wantN: 4},
		{name: "bad env", env: map[string]string{"WERF_PARALLEL": "many"},
			wantErr: "invalid value in WERF_PARALLEL (for --parallel): expected a int"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			fs, repo, n := newFlags()
			assert.NilError(t, fs.Parse(tc.args))
			err := Apply(fs, func(k string) (string, bool) { v, ok := tc.env[k]; return v, ok })
			if tc.wantErr != "" {
				assert.Error(t, err, tc.wantErr)
				return
			}
			assert.NilError(t, err)
			assert.Check(t, is.Equal(*repo, tc.wantRepo))
			assert.Check(t, is.Equal(*n, tc.wantN))
		})
	}
}

func TestBindDocumentsVariable(t *testing.T) {
	fs, _, _ := newFlags()
	assert.Check(t, is.Equal(fs.Lookup("repo").Usage, "repository (env WERF_REPO)"))
	assert.Check(t, is.Equal(Var(fs.Lookup("parallel")), "WERF_PARALLEL"))
}

func TestFromEnv(t *testing.T) {
	fs, _, _ := newFlags()
	assert.NilError(t, fs.Parse([]string{"--repo=f"}))
	assert.NilError(t, Apply(fs, func(k string) (string, bool) { return "8", k == "WERF_PARALLEL" || k == "WERF_REPO" }))
	assert.Check(t, !FromEnv(fs.Lookup("repo")), "the command line set --repo")
	assert.Check(t, FromEnv(fs.Lookup("parallel")))
	assert.Check(t, !FromEnv(nil))
}

type wantValue struct{ s string }

func (v *wantValue) String() string { return v.s }
func (v *wantValue) Set(s string) error {
	if s != "ok" {
		return errors.New("bad")
	}
	v.s = s
	return nil
}
func (v *wantValue) Type() string { return "thing" }
func (v *wantValue) Want() string { return "a thing: ok or nothing" }

func TestApplyNamesWhatTheValueWants(t *testing.T) {
	fs := pflag.NewFlagSet("t", pflag.ContinueOnError)
	fs.Var(&wantValue{}, "thing", "a thing")
	Bind(fs, "thing", "WERF_THING")
	err := Apply(fs, func(k string) (string, bool) { return "secret-ish", true })
	assert.Error(t, err, "invalid value in WERF_THING (for --thing): expected a thing: ok or nothing")
}
