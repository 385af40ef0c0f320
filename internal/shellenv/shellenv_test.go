package shellenv

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"
)

func render(t *testing.T, f Format, entries ...Entry) string {
	t.Helper()
	var b bytes.Buffer
	assert.NilError(t, Render(&b, f, entries))
	return b.String()
}

func TestParseFormat(t *testing.T) {
	tests := []struct {
		in   string
		want Format
	}{
		{"sh", SH}, {"", SH}, {"default", SH}, {"bash", Bash}, {"ZSH", Zsh}, {"fish", Fish},
		{"powershell", PowerShell}, {"pwsh", PowerShell}, {"cmdexe", CmdExe}, {"cmd", CmdExe},
		{"dotenv", DotEnv}, {" github-env ", GitHubEnv}, {"json", JSON},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			f, err := ParseFormat(tc.in)
			assert.NilError(t, err)
			assert.Equal(t, f, tc.want)
		})
	}
	t.Run("unknown", func(t *testing.T) {
		_, err := ParseFormat("yaml")
		assert.Error(t, err, `unknown output format "yaml": valid formats are sh, bash, zsh, fish, powershell, cmdexe, dotenv, github-env, json`)
	})
	for _, f := range Formats() {
		got, err := ParseFormat(string(f))
		assert.NilError(t, err)
		assert.Equal(t, got, f)
	}
}

func TestRenderUnknownFormat(t *testing.T) {
	var b bytes.Buffer
	err := Render(&b, "yaml", []Entry{{Name: "A", Value: "1"}})
	assert.ErrorContains(t, err, `unknown output format "yaml"`)
	assert.Equal(t, b.Len(), 0)
}

func TestRenderZeroFormatIsSH(t *testing.T) {
	assert.Equal(t, render(t, "", Entry{Name: "A", Value: "1"}), "export A='1'\n")
}

func TestInvalidNames(t *testing.T) {
	names := []string{"1A", "A-B", "A B", "A=B", "Ä", "A\n", "export X", "$A", "A;touch MARKER", "A\x00"}
	for _, f := range Formats() {
		for _, name := range names {
			t.Run(string(f)+"/"+name, func(t *testing.T) {
				var b bytes.Buffer
				err := Render(&b, f, []Entry{{Name: "OK", Value: "1"}, {Name: name, Value: "v"}})
				assert.Assert(t, errors.Is(err, ErrInvalidName), "%v", err)
				assert.ErrorContains(t, err, `variable `+quoteGo(name)+`: invalid variable name`)
				assert.Equal(t, b.Len(), 0, "nothing is written on error")
			})
		}
	}
	t.Run("empty name with value", func(t *testing.T) {
		err := Render(&bytes.Buffer{}, SH, []Entry{{Value: "v"}})
		assert.Assert(t, errors.Is(err, ErrInvalidName))
		assert.ErrorContains(t, err, "entry 0:")
	})
	t.Run("empty name with unset", func(t *testing.T) {
		err := Render(&bytes.Buffer{}, SH, []Entry{{Name: "A", Value: "1"}, {Unset: true}})
		assert.ErrorContains(t, err, "entry 1:")
	})
}

func quoteGo(s string) string {
	var b strings.Builder
	b.WriteString(`"`)
	for _, r := range s {
		switch r {
		case '\n':
			b.WriteString(`\n`)
		case 0:
			b.WriteString(`\x00`)
		default:
			b.WriteRune(r)
		}
	}
	b.WriteString(`"`)
	return b.String()
}

func TestNULIsRefused(t *testing.T) {
	for _, f := range Formats() {
		t.Run(string(f), func(t *testing.T) {
			var b bytes.Buffer
			err := Render(&b, f, []Entry{{Name: "OK", Value: "1"}, {Name: "BRANCH", Value: "main\x00evil"}})
			assert.Assert(t, errors.Is(err, ErrUnrepresentable), "%v", err)
			assert.ErrorContains(t, err, `variable "BRANCH": value cannot be represented: it contains a NUL byte`)
			assert.Equal(t, b.Len(), 0)
		})
	}
	t.Run("unset ignores value", func(t *testing.T) {
		assert.Equal(t, render(t, SH, Entry{Name: "A", Value: "\x00", Unset: true}), "unset -v A\n")
	})
}

func TestUnrepresentable(t *testing.T) {
	tests := []struct {
		format Format
		entry  Entry
		want   string
	}{
		{DotEnv, Entry{Name: "A", Unset: true}, `variable "A": unset cannot be represented in dotenv format`},
		{GitHubEnv, Entry{Name: "A", Unset: true}, `variable "A": unset cannot be represented in github-env format`},
		{CmdExe, Entry{Name: "A", Value: "a\nb"}, `variable "A": value cannot be represented in cmdexe format: it contains a line break`},
		{CmdExe, Entry{Name: "A", Value: "a\rb"}, `in cmdexe format: it contains a line break`},
		{CmdExe, Entry{Name: "A", Value: "a\x1ab"}, `control character 0x1A`},
		{CmdExe, Entry{Name: "A", Value: "\x7f"}, `control character 0x7F`},
		{CmdExe, Entry{Name: "A", Value: "é"}, `non-ASCII`},
		{CmdExe, Entry{Name: "A", Value: "\xff"}, `non-ASCII`},
		{CmdExe, Entry{Name: "A", Value: "https://h/p/?q"}, `"/?"`},
		{PowerShell, Entry{Name: "A", Value: "\xff"}, `value cannot be represented in powershell format: it is not valid UTF-8`},
		{GitHubEnv, Entry{Name: "A", Value: "a\xc3"}, `in github-env format: it is not valid UTF-8`},
		{JSON, Entry{Name: "A", Value: "\xed\xa0\x80"}, `in json format: it is not valid UTF-8`},
	}
	for _, tc := range tests {
		t.Run(string(tc.format)+"/"+tc.want, func(t *testing.T) {
			var b bytes.Buffer
			err := Render(&b, tc.format, []Entry{tc.entry})
			assert.Assert(t, errors.Is(err, ErrUnrepresentable), "%v", err)
			assert.ErrorContains(t, err, tc.want)
			assert.Equal(t, b.Len(), 0)
		})
	}
	t.Run("cmdexe line limit", func(t *testing.T) {
		ok := strings.Repeat("%", (cmdMaxLine-len(`@set "A="`))/2)
		assert.NilError(t, Render(&bytes.Buffer{}, CmdExe, []Entry{{Name: "A", Value: ok}}))
		err := Render(&bytes.Buffer{}, CmdExe, []Entry{{Name: "A", Value: ok + "x"}})
		assert.ErrorContains(t, err, "the line would be 8192 characters long; cmd.exe reads at most 8191")
	})
}

type quoteCase struct {
	value string
	want  string // the whole output for Entry{Name: "X", Value: value}
}

func runQuoteCases(t *testing.T, f Format, cases []quoteCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(quoteGo(tc.value), func(t *testing.T) {
			assert.Equal(t, render(t, f, Entry{Name: "X", Value: tc.value}), tc.want)
		})
	}
}

func TestQuotePOSIX(t *testing.T) {
	cases := []quoteCase{
		{"", "export X=''\n"},
		{"plain", "export X='plain'\n"},
		{"it's", `export X='it'\''s'` + "\n"},
		{"'", `export X=''\'''` + "\n"},
		{"''", `export X=''\'''\'''` + "\n"},
		{`$(touch M) ` + "`id`" + ` ${x} \ " %P% !x ; & |`, `export X='$(touch M) ` + "`id`" + ` ${x} \ " %P% !x ; & |'` + "\n"},
		{`'; touch M; '`, `export X=''\''; touch M; '\'''` + "\n"},
		{"a\nb", "export X='a\nb'\n"},
		{"\r\t\x1b", "export X='\r\t\x1b'\n"},
		{"\xff\xfe ✓", "export X='\xff\xfe ✓'\n"},
	}
	for _, f := range []Format{SH, Bash, Zsh} {
		t.Run(string(f), func(t *testing.T) { runQuoteCases(t, f, cases) })
	}
	assert.Equal(t, render(t, SH, Entry{Name: "X", Unset: true}), "unset -v X\n")
}

func TestQuoteFish(t *testing.T) {
	runQuoteCases(t, Fish, []quoteCase{
		{"", "set -gx X '';\n"},
		{"plain", "set -gx X 'plain';\n"},
		{"it's", `set -gx X 'it\'s'` + ";\n"},
		{`a\b`, `set -gx X 'a\\b'` + ";\n"},
		{`\'`, `set -gx X '\\\''` + ";\n"},
		{"$(x) (y) {a,b} * ~ `z` \"", "set -gx X '$(x) (y) {a,b} * ~ `z` \"';\n"},
		{"a\nb", `set -gx X 'a'\x0a'b'` + ";\n"},
		{"\n", `set -gx X \x0a` + ";\n"},
		{"é", `set -gx X \xc3\xa9` + ";\n"},
		{"\xff'\x7f", `set -gx X \xff'\''\x7f` + ";\n"},
		{"-e", "set -gx X '-e';\n"},
	})
	assert.Equal(t, render(t, Fish, Entry{Name: "X", Unset: true}), "set -e X;\n")
}

func TestQuotePowerShell(t *testing.T) {
	runQuoteCases(t, PowerShell, []quoteCase{
		{"", "$env:X = ''\n"},
		{"it's", "$env:X = 'it''s'\n"},
		{"$(x) `n \" @' #", "$env:X = '$(x) `n \" @'' #'\n"},
		{"a\nb", "$env:X = 'a' + [char]0x000A + 'b'\n"},
		{"\n", "$env:X = '' + [char]0x000A\n"},
		{"\r\n\t", "$env:X = '' + [char]0x000D + [char]0x000A + [char]0x0009\n"},
		{"\u2018; touch M; \u2019", "$env:X = '' + [char]0x2018 + '; touch M; ' + [char]0x2019\n"},
		{"\u201a\u201b\u201c\u201d\u201e", "$env:X = '' + [char]0x201A + [char]0x201B + [char]0x201C + [char]0x201D + [char]0x201E\n"},
		{"🙂", "$env:X = '' + [char]0xD83D + [char]0xDE42\n"},
		{"é'", "$env:X = '' + [char]0x00E9 + ''''\n"},
	})
	assert.Equal(t, render(t, PowerShell, Entry{Name: "X", Unset: true}), "Remove-Item Env:X -ErrorAction SilentlyContinue\n")
}

func TestQuoteCmdExe(t *testing.T) {
	runQuoteCases(t, CmdExe, []quoteCase{
		{"", "@set \"X=\"\r\n"},
		{"plain", "@set \"X=plain\"\r\n"},
		{"a&b|c<d>e^f(g) h", "@set \"X=a&b|c<d>e^f(g) h\"\r\n"},
		{"100%", "@set \"X=100%%\"\r\n"},
		{"%PATH% %~ %1", "@set \"X=%%PATH%% %%~ %%1\"\r\n"},
		{`"&calc"`, `@set "X="^&calc""` + "\r\n"},
		{`a"b&c`, `@set "X=a"b^&c"` + "\r\n"},
		{`"`, `@set "X=""` + "\r\n"},
		{`""&x`, `@set "X=""&x"` + "\r\n"},
		{`"^|<>()&`, `@set "X="^^^|^<^>^(^)^&"` + "\r\n"},
		{`"%`, `@set "X="%%"` + "\r\n"},
		{"!x! 'y' `z` ;,= \\", "@set \"X=!x! 'y' `z` ;,= \\\"\r\n"},
		{"tab\there", "@set \"X=tab\there\"\r\n"},
	})
	assert.Equal(t, render(t, CmdExe, Entry{Name: "X", Unset: true}), "@set \"X=\"\r\n")
}

func TestQuoteDotEnv(t *testing.T) {
	runQuoteCases(t, DotEnv, []quoteCase{
		{"", "X=\n"},
		{`plain-1.2_3/a:b@c+d,e=f%g\h`, `X=plain-1.2_3/a:b@c+d,e=f%g\h` + "\n"},
		{`C:\Users\runner\`, `X=C:\Users\runner\` + "\n"},
		{"with space", `X="with space"` + "\n"},
		{"$HOME ${x} $$", `X="\$HOME \${x} \$\$"` + "\n"},
		{`a"b\c`, `X="a\"b\\c"` + "\n"},
		{"a\nb\r", `X="a\nb\r"` + "\n"},
		{"#x", `X="#x"` + "\n"},
		{"'", `X="'"` + "\n"},
		{"é\t`x`", "X=\"é\t`x`\"\n"},
		{`\n`, `X=\n` + "\n"},
		{`\n `, `X="\\n "` + "\n"},
	})
}

// countingReader yields 0x00, 0x01, 0x02, … so delimiters are predictable.
type countingReader struct{ n byte }

func (r *countingReader) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = r.n
		r.n++
	}
	return len(p), nil
}

type failingReader struct{}

func (failingReader) Read([]byte) (int, error) { return 0, errors.New("no entropy") }

func withRand(t *testing.T, r interface{ Read([]byte) (int, error) }) {
	t.Helper()
	old := randReader
	randReader = r
	t.Cleanup(func() { randReader = old })
}

func TestGitHubEnv(t *testing.T) {
	const d1 = "ghadelimiter_000102030405060708090a0b0c0d0e0f"
	const d2 = "ghadelimiter_101112131415161718191a1b1c1d1e1f"
	tests := []struct {
		name  string
		value string
		want  string
	}{
		{"empty", "", "X=\n"},
		{"single line", "a=b<<c $(x) 'q'", "X=a=b<<c $(x) 'q'\n"},
		{"newline", "a\nb", "X<<" + d1 + "\na\nb\n" + d1 + "\n"},
		{"trailing newline", "a\n", "X<<" + d1 + "\na\n\n" + d1 + "\n"},
		{"carriage return", "a\rb", "X<<" + d1 + "\na\rb\n" + d1 + "\n"},
		{"collision", "x\n" + d1 + "\n", "X<<" + d2 + "\nx\n" + d1 + "\n\n" + d2 + "\n"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			withRand(t, &countingReader{})
			assert.Equal(t, render(t, GitHubEnv, Entry{Name: "X", Value: tc.value, Comment: "dropped"}), tc.want)
		})
	}
	t.Run("entropy failure", func(t *testing.T) {
		withRand(t, failingReader{})
		err := Render(&bytes.Buffer{}, GitHubEnv, []Entry{{Name: "X", Value: "a\nb"}})
		assert.ErrorContains(t, err, `variable "X": generating a heredoc delimiter: no entropy`)
	})
	t.Run("real delimiter", func(t *testing.T) {
		out := render(t, GitHubEnv, Entry{Name: "X", Value: "a\nb"})
		lines := strings.Split(out, "\n")
		assert.Assert(t, is.Len(lines, 5))
		assert.Assert(t, strings.HasPrefix(lines[0], "X<<ghadelimiter_"))
		assert.Equal(t, len(lines[0]), len("X<<")+len(d1))
		assert.Equal(t, lines[3], strings.TrimPrefix(lines[0], "X<<"))
		assert.Assert(t, out != render(t, GitHubEnv, Entry{Name: "X", Value: "a\nb"}), "delimiters are random")
	})
}

func TestJSON(t *testing.T) {
	got := render(t, JSON,
		Entry{Comment: "dropped"},
		Entry{Name: "A", Value: "x", Comment: "dropped"},
		Entry{Name: "B", Unset: true},
		Entry{Name: "C", Value: "<&>\u2028\"\\\n\t\x01é"},
	)
	assert.Equal(t, got, "{\n  \"A\": \"x\",\n  \"B\": null,\n  \"C\": \"<&>\\u2028\\\"\\\\\\n\\t\\u0001é\"\n}\n")
	assert.Equal(t, render(t, JSON), "{}\n")
	assert.Equal(t, render(t, JSON, Entry{Comment: "only"}), "{}\n")
}

// TestDocument checks whole outputs: comment headers, comment sanitising,
// blank lines, unset.
func TestDocument(t *testing.T) {
	entries := []Entry{
		{Comment: "DOCKER CONFIG"},
		{Name: "A", Value: "1", Comment: "x\r\ny\nz $(touch M) \"q\" 50% a^b & c /? é\u2028\x85"},
		{},
		{Name: "B", Unset: true},
	}
	tests := []struct {
		format Format
		want   string
	}{
		{SH, "# DOCKER CONFIG\n# x y z $(touch M) \"q\" 50% a^b & c /? é \x85\nexport A='1'\n\nunset -v B\n"},
		{Fish, "set -gx A '1';\nset -e B;\n"},
		{PowerShell, "# DOCKER CONFIG\n# x y z $(touch M) \"q\" 50% a^b & c /? ? ?\n$env:A = '1'\n\nRemove-Item Env:B -ErrorAction SilentlyContinue\n"},
		{CmdExe, "@rem DOCKER CONFIG\r\n@rem x y z $^(touch M^) ^\"q^\" 50%% a^^b ^& c / ? ? ?\r\n@set \"A=1\"\r\n\r\n@set \"B=\"\r\n"},
		{JSON, "{\n  \"A\": \"1\",\n  \"B\": null\n}\n"},
	}
	for _, tc := range tests {
		t.Run(string(tc.format), func(t *testing.T) {
			assert.Equal(t, render(t, tc.format, entries...), tc.want)
		})
	}
	for _, f := range []Format{DotEnv, GitHubEnv} {
		t.Run(string(f), func(t *testing.T) {
			assert.Equal(t, render(t, f, entries[:3]...), "A=1\n")
		})
	}
}

func TestCommentText(t *testing.T) {
	tests := []struct {
		in, want, wantASCII string
	}{
		{"plain", "plain", "plain"},
		{"a\nb", "a b", "a b"},
		{"a\r\nb", "a b", "a b"},
		{"a\rb\vc\fd", "a b c d", "a b c d"},
		{"tab\tkept", "tab\tkept", "tab kept"},
		{"\x00\x1a\x7f", "   ", "   "},
		{"nel\u0085ls\u2028ps\u2029", "nel ls ps ", "nel ls ps "},
		{"é\xff", "é\xff", "??"},
	}
	for _, tc := range tests {
		t.Run(quoteGo(tc.in), func(t *testing.T) {
			assert.Equal(t, commentText(tc.in, false), tc.want)
			assert.Equal(t, commentText(tc.in, true), tc.wantASCII)
		})
	}
}
