package shellenv

import (
	"bytes"
	"errors"
	"os/exec"
	"strings"
	"testing"

	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"
)

func TestRefRendering(t *testing.T) {
	entries := []Entry{{Name: "WERF_REPO_GITHUB_TOKEN", Ref: "GITHUB_TOKEN", Comment: "from the job"}}
	tests := []struct {
		f    Format
		want string
	}{
		{SH, "# from the job\nexport WERF_REPO_GITHUB_TOKEN=\"${GITHUB_TOKEN-}\"\n"},
		{Fish, "set -gx WERF_REPO_GITHUB_TOKEN \"$GITHUB_TOKEN\";\n"},
		{PowerShell, "# from the job\n$env:WERF_REPO_GITHUB_TOKEN = $env:GITHUB_TOKEN\n"},
		{CmdExe, "@rem from the job\r\n@set \"WERF_REPO_GITHUB_TOKEN=%GITHUB_TOKEN%\"\r\n"},
	}
	for _, tc := range tests {
		t.Run(string(tc.f), func(t *testing.T) {
			var b bytes.Buffer
			assert.NilError(t, Render(&b, tc.f, entries))
			assert.Check(t, is.Equal(b.String(), tc.want))
		})
	}
	for _, f := range []Format{DotEnv, GitHubEnv, JSON} {
		t.Run(string(f), func(t *testing.T) {
			var b bytes.Buffer
			err := Render(&b, f, entries)
			assert.Check(t, errors.Is(err, ErrUnrepresentable), "%v", err)
			assert.Check(t, is.Equal(b.Len(), 0))
		})
	}
	err := Render(&bytes.Buffer{}, SH, []Entry{{Name: "X", Ref: "$(touch x)"}})
	assert.Check(t, errors.Is(err, ErrInvalidName), "%v", err)
}

// TestRefInShells copies a hostile value through a real shell: the script
// holds only the variable's name, and the copy is byte for byte.
func TestRefInShells(t *testing.T) {
	const value = "tok'en\"$(touch MARKER)`x`\n\\end"
	for _, s := range []struct {
		name string
		f    Format
		dump string
	}{
		{"sh", SH, `printf '%s' "$COPY"`},
		{"bash", Bash, `printf '%s' "$COPY"`},
		{"fish", Fish, `printf '%s' "$COPY"`},
	} {
		t.Run(s.name, func(t *testing.T) {
			bin, err := exec.LookPath(s.name)
			if err != nil {
				t.Skipf("%s is not installed", s.name)
			}
			var script bytes.Buffer
			assert.NilError(t, Render(&script, s.f, []Entry{{Name: "COPY", Ref: "SECRET"}}))
			assert.Check(t, !strings.Contains(script.String(), "tok"), "the script holds the value")
			dir := t.TempDir()
			cmd := exec.Command(bin, "-c", script.String()+s.dump)
			cmd.Dir, cmd.Env = dir, []string{"PATH=/usr/bin:/bin", "HOME=" + dir, "SECRET=" + value}
			out, err := cmd.Output()
			assert.NilError(t, err)
			assert.Check(t, is.Equal(string(out), value))
			assertNoMarker(t, dir)
		})
	}
}
