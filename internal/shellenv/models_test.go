package shellenv

// Readers of the rendered output, written from the documented syntax of each
// consumer, used where the consumer itself cannot run here. Each returns the
// environment after applying the output to env (nil means unset) and fails on
// anything the consumer would run as code or reject.

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"
	"unicode/utf16"
	"unicode/utf8"
)

var nameRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

func setVar(env map[string]*string, name, value string) { env[name] = &value }

// stopped is what a model returns where the consumer stops running the
// output: the statement that stops it.
type stopped struct{ how string }

func (s stopped) Error() string { return "stopped by " + s.how }

// cmdModel applies a batch file following the phases of cmd.exe's batch-line
// parser (Stack Overflow 4094699): phase 0 line reading (LF and Ctrl-Z end a
// line), phase 1 percent expansion in batch mode (any % not doubled is an
// error: it would expand something), phase 1.5 CR removal, phase 2 quote flag
// and caret escapes (an unescaped & | < > ( ) outside quotes is an error: it
// would start a command, a redirection or a block), then SET with command
// extensions: `set "NAME=value"` keeps the text up to the last quote, and an
// empty value removes NAME.
func cmdModel(out string, env map[string]*string) error {
	if out == "" {
		return nil
	}
	if !strings.HasSuffix(out, "\r\n") {
		return errors.New("output does not end in CRLF")
	}
	for n, line := range strings.Split(strings.TrimSuffix(out, "\r\n"), "\r\n") {
		if err := cmdLine(line, env); err != nil {
			return fmt.Errorf("line %d %q: %w", n+1, line, err)
		}
	}
	return nil
}

func cmdLine(line string, env map[string]*string) error {
	for i := 0; i < len(line); i++ {
		if c := line[i]; c == '\n' || c == 0x1a || c == '\r' {
			return fmt.Errorf("byte 0x%02X splits or changes the line", c)
		} else if c >= 0x80 || (c < 0x20 && c != '\t') {
			return fmt.Errorf("byte 0x%02X depends on the code page", c)
		}
	}
	var p1 strings.Builder
	for i := 0; i < len(line); i++ {
		if line[i] == '%' {
			if i+1 < len(line) && line[i+1] == '%' {
				p1.WriteByte('%')
				i++
				continue
			}
			return fmt.Errorf("lone %% at %d would start an expansion", i)
		}
		p1.WriteByte(line[i])
	}
	l := p1.String()
	var p2 strings.Builder
	quoted := false
	for i := 0; i < len(l); i++ {
		c := l[i]
		switch {
		case quoted:
			if c == '"' {
				quoted = false
			}
			p2.WriteByte(c)
		case c == '"':
			quoted = true
			p2.WriteByte(c)
		case c == '^':
			if i+1 == len(l) {
				return errors.New("caret at the end of the line would join the next line")
			}
			i++
			p2.WriteByte(l[i])
		case strings.IndexByte("&|<>()", c) >= 0:
			return fmt.Errorf("unescaped %q outside quotes at %d", c, i)
		default:
			p2.WriteByte(c)
		}
	}
	cmd := p2.String()
	if cmd == "" {
		return nil
	}
	cmd = strings.TrimPrefix(cmd, "@")
	verb, args, _ := strings.Cut(cmd, " ")
	switch strings.ToLower(verb) {
	case "rem":
		return nil
	case "exit":
		// EXIT /B n leaves the batch file (in a CALL, returns to the caller)
		// with ERRORLEVEL n; the rest of the file does not run.
		if code, ok := strings.CutPrefix(strings.ToLower(args), "/b "); ok && code != "0" && code != "" {
			return stopped{"exit /b " + code}
		}
		return fmt.Errorf("unexpected exit %q", args)
	case "set":
	default:
		return fmt.Errorf("unexpected command %q", verb)
	}
	if strings.Contains(args, "/?") {
		return errors.New("SET arguments contain /?")
	}
	if !strings.HasPrefix(args, `"`) {
		return errors.New("SET without the quoted form")
	}
	assign := args[1:strings.LastIndexByte(args, '"')]
	name, value, ok := strings.Cut(assign, "=")
	if !ok || !nameRE.MatchString(name) {
		return fmt.Errorf("bad assignment %q", assign)
	}
	if value == "" {
		delete(env, name)
	} else {
		setVar(env, name, value)
	}
	return nil
}

// isPSSingleQuote is PowerShell's CharExtensions.IsSingleQuote.
func isPSSingleQuote(c rune) bool {
	return c == '\'' || c == '\u2018' || c == '\u2019' || c == '\u201a' || c == '\u201b'
}

var psCharTerm = regexp.MustCompile(`^\[char\]0x([0-9A-F]{4})`)

// psModel applies the PowerShell output: it must be printable ASCII and LF
// only (PowerShell ends lines at CR or LF), made of comments, blank lines,
// Remove-Item lines and `$env:NAME = expr`, where expr is single-quoted
// strings (any IsSingleQuote character ends one, doubled it is literal) and
// [char]0xHHHH terms joined by " + ", starting with a string.
func psModel(out string, env map[string]*string) error {
	if out == "" {
		return nil
	}
	for i := 0; i < len(out); i++ {
		if c := out[i]; c != '\n' && (c < 0x20 || c > 0x7e) {
			return fmt.Errorf("byte 0x%02X at %d is not printable ASCII", c, i)
		}
	}
	if !strings.HasSuffix(out, "\n") {
		return errors.New("output does not end in LF")
	}
	for n, line := range strings.Split(strings.TrimSuffix(out, "\n"), "\n") {
		if err := psLine(line, env); err != nil {
			return fmt.Errorf("line %d %q: %w", n+1, line, err)
		}
	}
	return nil
}

func psLine(line string, env map[string]*string) error {
	if line == "" || strings.HasPrefix(line, "# ") {
		return nil
	}
	if rest, ok := strings.CutPrefix(line, "throw "); ok {
		// throw raises a terminating error: the script stops unless
		// something catches it; a prompt prints it and stays.
		msg, after, err := psString(rest)
		if err != nil || after != "" {
			return fmt.Errorf("throw without a single string: %v", err)
		}
		return stopped{"throw " + msg}
	}
	if rest, ok := strings.CutPrefix(line, "Remove-Item Env:"); ok {
		name, ok := strings.CutSuffix(rest, " -ErrorAction SilentlyContinue")
		if !ok || !nameRE.MatchString(name) {
			return errors.New("bad Remove-Item")
		}
		delete(env, name)
		return nil
	}
	rest, ok := strings.CutPrefix(line, "$env:")
	if !ok {
		return errors.New("unexpected statement")
	}
	name, expr, ok := strings.Cut(rest, " = ")
	if !ok || !nameRE.MatchString(name) {
		return errors.New("bad assignment")
	}
	var units []uint16
	for first := true; ; first = false {
		if m := psCharTerm.FindStringSubmatch(expr); m != nil {
			if first {
				return errors.New("expression starts with [char]: + would add numbers")
			}
			u, _ := strconv.ParseUint(m[1], 16, 16)
			units = append(units, uint16(u))
			expr = expr[len(m[0]):]
		} else if r, _ := utf8.DecodeRuneInString(expr); isPSSingleQuote(r) {
			s, rest, err := psString(expr)
			if err != nil {
				return err
			}
			units = append(units, utf16.Encode([]rune(s))...)
			expr = rest
		} else {
			return fmt.Errorf("unexpected term at %q", expr)
		}
		if expr == "" {
			break
		}
		var ok bool
		if expr, ok = strings.CutPrefix(expr, " + "); !ok {
			return fmt.Errorf("unexpected text after a term: %q", expr)
		}
	}
	runes := utf16.Decode(units)
	for _, r := range runes {
		if r == utf8.RuneError {
			return errors.New("lone surrogate")
		}
	}
	value := string(runes)
	if value == "" {
		delete(env, name) // $env:X = '' removes X (Windows PowerShell, pwsh < 7.5)
	} else {
		setVar(env, name, value)
	}
	return nil
}

// psString scans a single-quoted string at the start of s, as PowerShell's
// tokenizer (ScanStringLiteral) does.
func psString(s string) (value, rest string, err error) {
	var b strings.Builder
	rs := []rune(s)
	for i := 1; i < len(rs); i++ {
		if isPSSingleQuote(rs[i]) {
			if i+1 < len(rs) && isPSSingleQuote(rs[i+1]) {
				b.WriteRune(rs[i+1])
				i++
				continue
			}
			return b.String(), string(rs[i+1:]), nil
		}
		b.WriteRune(rs[i])
	}
	return "", "", errors.New("unterminated string")
}

var dotenvBareRE = regexp.MustCompile(`^[A-Za-z0-9_.,/:@+=%\\-]*$`)

// dotenvModel reads the documented dotenv syntax strictly: NAME=bare or
// NAME="…" with exactly the escapes \\ \" \$ \n \r, one per line.
func dotenvModel(out string, env map[string]*string) error {
	if out == "" {
		return nil
	}
	if !strings.HasSuffix(out, "\n") {
		return errors.New("output does not end in LF")
	}
	for n, line := range strings.Split(strings.TrimSuffix(out, "\n"), "\n") {
		name, raw, ok := strings.Cut(line, "=")
		if !ok || !nameRE.MatchString(name) {
			return fmt.Errorf("line %d: bad line %q", n+1, line)
		}
		value, err := dotenvValue(raw)
		if err != nil {
			return fmt.Errorf("line %d %q: %w", n+1, line, err)
		}
		setVar(env, name, value)
	}
	return nil
}

func dotenvValue(raw string) (string, error) {
	if !strings.HasPrefix(raw, `"`) {
		if !dotenvBareRE.MatchString(raw) {
			return "", errors.New("bare value with a character outside the safe set")
		}
		return raw, nil
	}
	var b strings.Builder
	for i := 1; i < len(raw); i++ {
		switch c := raw[i]; c {
		case '"':
			if i != len(raw)-1 {
				return "", errors.New("text after the closing quote")
			}
			return b.String(), nil
		case '$', '\r':
			return "", fmt.Errorf("unescaped %q", c)
		case '\\':
			if i+1 == len(raw) {
				return "", errors.New("backslash at the end")
			}
			i++
			switch e := raw[i]; e {
			case '\\', '"', '$':
				b.WriteByte(e)
			case 'n':
				b.WriteByte('\n')
			case 'r':
				b.WriteByte('\r')
			default:
				return "", fmt.Errorf("unknown escape \\%c", e)
			}
		default:
			b.WriteByte(c)
		}
	}
	return "", errors.New("unterminated quoted value")
}

var composeEscapeRE = regexp.MustCompile(`(\\(?:[abcfnrtv$"\\]|0\d{0,3}))`)

// composeModel reads one NAME=value line the way compose-go's dotenv parser
// (dotenv/parser.go, extractVarValue and expandEscapes) does: a quoted value
// ends at the first quote not preceded by a backslash; escapes are then
// replaced left to right with strconv.UnquoteChar, \$ becoming $$, which the
// variable expansion turns into $. Unquoted values end at " #".
func composeModel(line string) (name, value string, err error) {
	name, src, ok := strings.Cut(line, "=")
	if !ok {
		return "", "", errors.New("no =")
	}
	if !strings.HasPrefix(src, `"`) {
		v, _, _ := strings.Cut(src, " #")
		return name, strings.TrimRight(v, " \t"), nil
	}
	for i := 1; i < len(src); i++ {
		if src[i] != '"' || src[i-1] == '\\' {
			continue
		}
		body := composeEscapeRE.ReplaceAllStringFunc(src[1:i], func(m string) string {
			if m == `\$` {
				return "$$"
			}
			v, _, _, err := strconv.UnquoteChar(m, '"')
			if err != nil {
				return m
			}
			return string(v)
		})
		if strings.Contains(strings.ReplaceAll(body, "$$", ""), "$") {
			return "", "", fmt.Errorf("unescaped $ in %q would be expanded", body)
		}
		return name, strings.ReplaceAll(body, "$$", "$"), nil
	}
	return "", "", errors.New("unterminated quoted value")
}

// githubEnvModel reads a $GITHUB_ENV file as actions/runner's
// SetEnvFileCommand does (src/Runner.Worker/FileCommandManager.cs): lines end
// at LF (and at CRLF on Windows); NAME=VALUE splits at the first =, and
// NAME<<DELIM takes the raw text up to the line equal to DELIM.
func githubEnvModel(out string, env map[string]*string, windows bool) error {
	index := 0
	readLine := func() (line, newline string, ok bool) {
		if index >= len(out) {
			return "", "", false
		}
		start := index
		lf := strings.IndexByte(out[index:], '\n')
		if lf < 0 {
			index = len(out)
			return out[start:], "", true
		}
		lf += index
		if windows {
			if crlf := strings.Index(out[index:], "\r\n"); crlf >= 0 && index+crlf < lf {
				index += crlf + 2
				return out[start : index-2], "\r\n", true
			}
		}
		index = lf + 1
		return out[start:lf], "\n", true
	}
	for {
		line, _, ok := readLine()
		if !ok {
			return nil
		}
		if line == "" {
			continue
		}
		eq, hd := strings.Index(line, "="), strings.Index(line, "<<")
		switch {
		case eq >= 0 && (hd < 0 || eq < hd):
			setVar(env, line[:eq], line[eq+1:])
		case hd >= 0 && (eq < 0 || hd < eq):
			name, delim := line[:hd], line[hd+2:]
			if name == "" || delim == "" {
				return fmt.Errorf("bad heredoc header %q", line)
			}
			start, end := index, index
			for {
				l, newline, ok := readLine()
				if !ok {
					return fmt.Errorf("delimiter %q not found", delim)
				}
				if l == delim {
					break
				}
				end = index - len(newline)
			}
			setVar(env, name, out[start:end])
		default:
			return fmt.Errorf("invalid line %q", line)
		}
	}
}

// jsonModel decodes the JSON object keeping order and nulls.
func jsonModel(out string, env map[string]*string) error {
	if !json.Valid([]byte(out)) {
		return errors.New("invalid JSON")
	}
	dec := json.NewDecoder(strings.NewReader(out))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return fmt.Errorf("want an object, got %v %v", tok, err)
	}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return err
		}
		name := tok.(string)
		var v *string
		if err := dec.Decode(&v); err != nil {
			return err
		}
		if v == nil {
			delete(env, name)
		} else {
			setVar(env, name, *v)
		}
	}
	if tok, err := dec.Token(); err != nil || tok != json.Delim('}') {
		return fmt.Errorf("want }, got %v %v", tok, err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return errors.New("text after the object")
	}
	return nil
}
