package shellenv

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"gotest.tools/v3/assert"
)

// hostile are values a CI variable may hold. Those trying to run code try to
// create a file whose name starts with MARKER in the shell's directory.
var hostile = []string{
	"",
	"plain",
	"with space",
	" leading and trailing ",
	"$(touch MARKER_subst)",
	"`touch MARKER_backtick`",
	"'; touch MARKER_sq; '",
	"\"; touch MARKER_dq; \"",
	"'\"$(touch MARKER_mixed)\"'",
	"\\'; touch MARKER_bsq; #",
	"'\\''; touch MARKER_sqesc; '\\''",
	"${HOME}", "$HOME", "${x:-$(touch MARKER_param)}", "$((1+1))", "$'\\n'",
	"\\", "\\\\", "a\\", "\\n", "'", "''", "'''", "\"", "\\\"", "'\\''",
	"%PATH%", "%%", "%", "100%", "%~", "%~f0", "!PATH!", "^", "^^", "a^", "&calc",
	"a&b|c<d>e(f)g", "\"&calc\"&calc", "\"\"&calc", "\"^&|<>()\"^&|<>()",
	";", "a;b", "a && touch MARKER_and", "a | touch MARKER_pipe", "a > MARKER_redir",
	"a\n touch MARKER_nl", "\ntouch MARKER_nl2\n", "x\n' ; touch MARKER_nlsq ; '",
	"a\nb", "a\r\nb", "\r", "\n", "\n\n", "trailing\n", "\r\n", "a\rb", "a\r",
	"\t", "tab\there", "\x1b[31mred\x1b[0m", "\x7f", "\x01\x02\x1f", "a\x1ab; touch MARKER_ctrlz",
	"unicode ✓ ё 日本語 🙂", "\u2018; touch MARKER_psq; \u2019", "\u201c$(touch MARKER_pdq)\u201d",
	"\u2028\u2029\u0085", "\ufeffbom", "\xff\xfe", "\xd1\x91' ; touch MARKER_dbcs #", "\x81\\", "\x81'",
	"\xed\xa0\x80", "\xef\x98\x80fish-private-use",
	"-e", "-n", "--help", "-gx", "--", "~", "~root", "*", "?", "[a]", "{a,b}",
	"#not a comment", "a #comment", "EOF", "ghadelimiter_", "NAME=value", "X<<EOF", "=", "a=b",
	`C:\Program Files\x\`, "https://gitlab.example.com/group/project/-/jobs/1",
	"/?", "https://h/p/?x=1&y=2",
	strings.Repeat("long ", 2000),
}

// corpus turns hostile into entries: each value under its own name, with
// the value as its comment too, a header, unsets of preset variables and a
// later entry overriding an earlier one.
func corpus() []Entry {
	entries := []Entry{{Comment: "HEADER $(touch MARKER_header)\n touch MARKER_header2"}}
	for i, v := range hostile {
		entries = append(entries, Entry{Name: fmt.Sprintf("V%03d", i), Value: v, Comment: v})
	}
	return append(entries,
		Entry{},
		Entry{Name: "UNSET_ME", Unset: true, Comment: "unset\n touch MARKER_unset"},
		Entry{Name: "V001", Unset: true},
		Entry{Name: "V002", Value: "second wins"},
		Entry{Name: "X_PATH", Value: "a:b::c:"}, // a list variable in fish
	)
}

// refuses is the documented acceptance rule, written independently of the
// renderer.
func refuses(f Format, e Entry) bool {
	if e.Name == "" {
		return e.Unset || e.Value != ""
	}
	if !nameRE.MatchString(e.Name) {
		return true
	}
	if e.Unset {
		return f == DotEnv || f == GitHubEnv
	}
	if strings.IndexByte(e.Value, 0) >= 0 {
		return true
	}
	switch f {
	case PowerShell, GitHubEnv, JSON:
		return !utf8.ValidString(e.Value)
	case CmdExe:
		if strings.Contains(e.Value, "/?") {
			return true
		}
		for i := 0; i < len(e.Value); i++ {
			if c := e.Value[i]; c != '\t' && (c < 0x20 || c > 0x7e) {
				return true
			}
		}
		return len(cmdSetLine(e.Name, e.Value)) > cmdMaxLine
	}
	return false
}

// accepted checks that every entry refuses() rejects is rejected by Render on
// its own, and returns the others.
func accepted(t testing.TB, f Format, entries []Entry) []Entry {
	t.Helper()
	var ok []Entry
	for _, e := range entries {
		err := Render(io.Discard, f, []Entry{e})
		if refuses(f, e) {
			assert.Assert(t, errors.Is(err, ErrUnrepresentable) || errors.Is(err, ErrInvalidName),
				"%s should refuse %q=%q, got %v", f, e.Name, e.Value, err)
			continue
		}
		assert.NilError(t, err, "%s refused %q=%q", f, e.Name, e.Value)
		ok = append(ok, e)
	}
	return ok
}

// presets gives every name a value before the output is applied, so that
// unsets and overrides are visible.
func presets(entries []Entry) map[string]*string {
	env := map[string]*string{}
	for _, e := range entries {
		if e.Name != "" {
			setVar(env, e.Name, "pre-"+e.Name)
		}
	}
	return env
}

// expected applies entries to env the way the format documents.
func expected(env map[string]*string, entries []Entry, emptyRemoves bool) map[string]*string {
	want := map[string]*string{}
	for k, v := range env {
		want[k] = v
	}
	for _, e := range entries {
		switch {
		case e.Name == "":
		case e.Unset, emptyRemoves && e.Value == "":
			delete(want, e.Name)
		default:
			setVar(want, e.Name, e.Value)
		}
	}
	return want
}

func compareEnv(t testing.TB, label string, got, want map[string]*string) {
	t.Helper()
	names := map[string]bool{}
	for k := range want {
		names[k] = true
	}
	for k := range got {
		names[k] = true
	}
	sorted := make([]string, 0, len(names))
	for k := range names {
		sorted = append(sorted, k)
	}
	sort.Strings(sorted)
	show := func(v *string) string {
		if v == nil {
			return "<unset>"
		}
		return fmt.Sprintf("%q", *v)
	}
	for _, k := range sorted {
		if g, w := got[k], want[k]; (g == nil) != (w == nil) || (g != nil && *g != *w) {
			t.Errorf("%s: %s = %s, want %s", label, k, show(g), show(w))
		}
	}
}

// checkModels round-trips entries through every format that has a model.
func checkModels(t testing.TB, entries []Entry) {
	t.Helper()
	type model struct {
		format       Format
		emptyRemoves bool
		apply        func(string, map[string]*string) error
	}
	models := []model{
		{CmdExe, true, cmdModel},
		{PowerShell, true, psModel},
		{DotEnv, false, dotenvModel},
		{GitHubEnv, false, func(out string, env map[string]*string) error { return githubEnvModel(out, env, false) }},
		{JSON, false, jsonModel},
	}
	for _, m := range models {
		ok := accepted(t, m.format, entries)
		var b bytes.Buffer
		assert.NilError(t, Render(&b, m.format, ok))
		env := presets(ok)
		want := expected(env, ok, m.emptyRemoves)
		got := presets(ok)
		if err := m.apply(b.String(), got); err != nil {
			t.Errorf("%s: reading the output: %v", m.format, err)
			continue
		}
		compareEnv(t, string(m.format), got, want)
		switch m.format {
		case DotEnv:
			checkCompose(t, b.String(), ok)
		case GitHubEnv:
			checkGitHubWindows(t, b.String(), ok)
		}
	}
}

// checkCompose reads each dotenv line as compose-go does; a quoted value
// ending in a backslash is the documented exception.
func checkCompose(t testing.TB, out string, entries []Entry) {
	t.Helper()
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	i := 0
	for _, e := range entries {
		if e.Name == "" {
			continue
		}
		line := lines[i]
		i++
		if strings.HasSuffix(e.Value, `\`) && strings.HasPrefix(line, e.Name+`="`) {
			continue
		}
		name, value, err := composeModel(line)
		if err != nil || name != e.Name || value != e.Value {
			t.Errorf("compose-go reads %q as %q=%q (%v), want %q", line, name, value, err, e.Value)
		}
	}
}

// checkGitHubWindows: on Windows runners only a final CR is lost.
func checkGitHubWindows(t testing.TB, out string, entries []Entry) {
	t.Helper()
	got := presets(entries)
	assert.NilError(t, githubEnvModel(out, got, true))
	trimmed := make([]Entry, len(entries))
	for i, e := range entries {
		e.Value = strings.TrimSuffix(e.Value, "\r")
		trimmed[i] = e
	}
	compareEnv(t, "github-env on Windows", got, expected(presets(entries), trimmed, false))
}

func TestRoundTripModels(t *testing.T) {
	checkModels(t, corpus())
}

// A shell that evaluates the output and dumps the environment as
// NAME=VALUE\0 records, one dump per way of evaluating, each followed by \0.
type shellSpec struct {
	name, bin    string
	format       Format
	out, driver  string
	script       string
	args         func(driver string, names []string) []string
	dumps        int
	emptyRemoves bool
}

const posixDriver = `(eval "$(cat ./out.sh)"; exec env -0)
printf '\0'
(. ./out.sh; exec env -0)
printf '\0'
`

const pwshDriver = `$names = $args
function Dump {
  foreach ($n in $names) {
    $v = [Environment]::GetEnvironmentVariable($n)
    if ($null -ne $v) { [Console]::Out.Write($n + '=' + $v + [char]0) }
  }
  [Console]::Out.Write([char]0)
}
$pre = @{}
foreach ($n in $names) { $pre[$n] = [Environment]::GetEnvironmentVariable($n) }
Invoke-Expression (Get-Content -Raw -LiteralPath ./out.ps1)
Dump
foreach ($n in $names) { [Environment]::SetEnvironmentVariable($n, $pre[$n]) }
. ./out.ps1
Dump
[Console]::Out.Flush()
`

// fishDriver evaluates the output in a fresh fish per form: fish has no
// subshells. eval (cmd) joins cmd's lines with spaces, which is why the fish
// output has no comments and ends each statement with ";".
const fishDriver = `for form in 'source ./out.fish' 'eval (cat ./out.fish)' 'cat ./out.fish | source'
    fish --no-config -c "$form; env -0; printf '\\0'"
end
`

var shellSpecs = []shellSpec{
	{name: "sh", bin: "sh", format: SH, out: "out.sh", driver: "driver.sh", script: posixDriver, dumps: 2,
		args: func(d string, _ []string) []string { return []string{d} }},
	{name: "bash", bin: "bash", format: Bash, out: "out.sh", driver: "driver.sh", script: posixDriver, dumps: 2,
		args: func(d string, _ []string) []string { return []string{"--norc", "--noprofile", d} }},
	{name: "busybox-ash", bin: "busybox", format: SH, out: "out.sh", driver: "driver.sh", script: posixDriver, dumps: 2,
		args: func(d string, _ []string) []string { return []string{"sh", d} }},
	{name: "zsh", bin: "zsh", format: Zsh, out: "out.sh", driver: "driver.sh", script: posixDriver, dumps: 2,
		args: func(d string, _ []string) []string { return []string{"-f", d} }},
	{name: "fish", bin: "fish", format: Fish, out: "out.fish", driver: "driver.fish", script: fishDriver, dumps: 3,
		args: func(d string, _ []string) []string { return []string{"--no-config", d} }},
	{name: "pwsh", bin: "pwsh", format: PowerShell, out: "out.ps1", driver: "driver.ps1", script: pwshDriver, dumps: 2,
		emptyRemoves: true,
		args: func(d string, names []string) []string {
			return append([]string{"-NoLogo", "-NoProfile", "-NonInteractive", "-File", d}, names...)
		}},
}

// lookupShells returns the installed shells and, for the others, why not.
func lookupShells() (found []shellSpec, missing map[string]string) {
	missing = map[string]string{}
	for _, s := range shellSpecs {
		if runtime.GOOS == "windows" {
			missing[s.name] = "the drivers need a Unix environment"
			continue
		}
		path, err := exec.LookPath(s.bin)
		if err != nil {
			missing[s.name] = err.Error()
			continue
		}
		s.bin = path
		found = append(found, s)
	}
	return found, missing
}

// runShell renders entries for s, evaluates them in a fresh process with a
// clean environment (PATH, HOME, locale and the presets only) in an empty
// directory, and compares every dump with the expected environment.
func runShell(t testing.TB, s shellSpec, entries []Entry, locale string) {
	t.Helper()
	ok := accepted(t, s.format, entries)
	var b bytes.Buffer
	assert.NilError(t, Render(&b, s.format, ok))

	root := t.TempDir()
	home, work := filepath.Join(root, "home"), filepath.Join(root, "work")
	assert.NilError(t, os.Mkdir(home, 0o700))
	assert.NilError(t, os.Mkdir(work, 0o700))
	assert.NilError(t, os.WriteFile(filepath.Join(work, s.out), b.Bytes(), 0o600))
	assert.NilError(t, os.WriteFile(filepath.Join(work, s.driver), []byte(s.script), 0o600))

	env := presets(ok)
	names := make([]string, 0, len(env))
	cmdEnv := []string{"PATH=" + os.Getenv("PATH"), "HOME=" + home, "LANG=" + locale, "LC_ALL=" + locale}
	for name, v := range env {
		names = append(names, name)
		cmdEnv = append(cmdEnv, name+"="+*v)
	}
	sort.Strings(names)

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, s.bin, s.args(s.driver, names)...)
	cmd.Dir = work
	cmd.Env = cmdEnv
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	// Non-fatal: a failing script must still be checked for markers.
	assert.Check(t, err, "%s: stderr: %s", s.name, stderr.String())
	assert.Check(t, stderr.String() == "", "%s wrote to stderr: %s", s.name, stderr.String())

	assertNoMarker(t, root)

	want := expected(env, ok, s.emptyRemoves)
	dumps := splitDumps(stdout.String())
	if len(dumps) != s.dumps {
		t.Fatalf("%s: got %d environment dumps, want %d", s.name, len(dumps), s.dumps)
	}
	for i, d := range dumps {
		got := map[string]*string{}
		for name, v := range d {
			if _, ours := env[name]; ours {
				setVar(got, name, v)
			}
		}
		compareEnv(t, fmt.Sprintf("%s (%s) evaluation %d", s.name, locale, i+1), got, want)
	}
}

// splitDumps parses NAME=VALUE\0 records, an empty record ending each dump.
func splitDumps(out string) []map[string]string {
	var dumps []map[string]string
	records := strings.Split(out, "\x00")
	if len(records) == 0 || records[len(records)-1] != "" {
		return nil
	}
	cur := map[string]string{}
	for _, r := range records[:len(records)-1] {
		if r == "" {
			dumps = append(dumps, cur)
			cur = map[string]string{}
			continue
		}
		name, value, _ := strings.Cut(r, "=")
		cur[name] = value
	}
	return dumps
}

func assertNoMarker(t testing.TB, root string) {
	t.Helper()
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if strings.Contains(d.Name(), "MARKER") {
			t.Errorf("a value ran code: %s exists", path)
		}
		return nil
	})
	assert.NilError(t, err)
}

func TestRoundTripShells(t *testing.T) {
	found, missing := lookupShells()
	entries := corpus()
	for _, locale := range []string{"C.UTF-8", "C"} {
		for _, s := range shellSpecs {
			t.Run(locale+"/"+s.name, func(t *testing.T) {
				if why, ok := missing[s.name]; ok {
					t.Skipf("%s is not installed (%s)", s.name, why)
				}
				for _, f := range found {
					if f.name == s.name {
						runShell(t, f, entries, locale)
					}
				}
			})
		}
	}
}

// FuzzRoundTrip renders fuzzed values in every format, reads them back with
// the models and with every installed shell (one process per shell per
// input), and checks values are exact and no marker file appears.
func FuzzRoundTrip(f *testing.F) {
	// TestRoundTripShells covers the whole hostile corpus; these seeds are
	// a few of each kind, since every input starts one process per shell.
	f.Add("$(touch MARKER_a)", "'; touch MARKER_b; '", "c\n touch MARKER_c")
	f.Add("a\nb", "\"&calc\"&x", "%x% ^")
	f.Add("", "\\", "")
	f.Add("\u2018x\u2019", "\xff\xfe", "\u2028")
	f.Add("%PATH%", "!x!", "/?")
	f.Add("a\r", "\r\n", "\r")
	f.Add("ghadelimiter_", "EOF\n", "")
	f.Add("\x00", "ok", "")
	f.Add("-e", "--", "#")
	f.Add("é日本🙂", "\x81\\", "\x85")
	f.Add(`C:\x\`, "a b\\", "")
	found, _ := lookupShells()
	f.Fuzz(func(t *testing.T, v1, v2, comment string) {
		entries := []Entry{
			{Comment: comment},
			{Name: "FUZZ_A", Value: v1, Comment: comment},
			{Name: "FUZZ_B", Value: v2},
			{Name: "FUZZ_C", Unset: true},
			{Name: "FUZZ_D", Value: v1 + v2},
		}
		checkModels(t, entries)
		for _, s := range found {
			runShell(t, s, entries, "C.UTF-8")
		}
	})
}
