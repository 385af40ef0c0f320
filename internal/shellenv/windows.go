package shellenv

import (
	"bytes"
	"fmt"
	"strings"
	"unicode/utf16"
	"unicode/utf8"
)

// powerShellRenderer writes PowerShell (Windows PowerShell 5.1 and pwsh).
type powerShellRenderer struct{}

func (powerShellRenderer) comment(b *bytes.Buffer, text string) { hashComment(b, text, true) }

func (powerShellRenderer) set(b *bytes.Buffer, name, value string) error {
	if !utf8.ValidString(value) {
		return valueError(PowerShell, "it is not valid UTF-8, and a PowerShell string holds Unicode text")
	}
	b.WriteString("$env:")
	b.WriteString(name)
	b.WriteString(" = ")
	b.WriteString(psQuote(value))
	b.WriteByte('\n')
	return nil
}

func (powerShellRenderer) unset(b *bytes.Buffer, name string) error {
	b.WriteString("Remove-Item Env:")
	b.WriteString(name)
	b.WriteString(" -ErrorAction SilentlyContinue\n")
	return nil
}

func (powerShellRenderer) finish(*bytes.Buffer) {}

// psQuote returns a PowerShell expression for the valid UTF-8 string s:
// printable ASCII in single-quoted strings with ' doubled, every other
// character as [char]0xHHHH per UTF-16 code unit, joined with " + ", always
// starting with a string so that + concatenates.
func psQuote(s string) string {
	var terms []string
	var run strings.Builder
	flush := func() {
		if run.Len() > 0 {
			terms = append(terms, "'"+run.String()+"'")
			run.Reset()
		}
	}
	for _, r := range s {
		if 0x20 <= r && r < 0x7f {
			if r == '\'' {
				run.WriteString("''")
			} else {
				run.WriteRune(r)
			}
			continue
		}
		flush()
		if r1, r2 := utf16.EncodeRune(r); r1 != utf8.RuneError {
			terms = append(terms, fmt.Sprintf("[char]0x%04X", r1), fmt.Sprintf("[char]0x%04X", r2))
		} else {
			terms = append(terms, fmt.Sprintf("[char]0x%04X", r))
		}
	}
	flush()
	if len(terms) == 0 || !strings.HasPrefix(terms[0], "'") {
		terms = append([]string{"''"}, terms...)
	}
	return strings.Join(terms, " + ")
}

// cmdMaxLine is cmd.exe's maximum command-line length in characters.
const cmdMaxLine = 8191

// cmdRenderer writes a cmd.exe batch file.
type cmdRenderer struct{}

func (cmdRenderer) comment(b *bytes.Buffer, text string) {
	if text == "" {
		b.WriteString("\r\n")
		return
	}
	b.WriteString("@rem ")
	// "/?" anywhere could make REM print its help.
	t := strings.ReplaceAll(commentText(text, true), "/?", "/ ?")
	for i := 0; i < len(t); i++ {
		switch c := t[i]; c {
		case '%':
			b.WriteString("%%")
		case '^', '&', '|', '<', '>', '(', ')', '"':
			// REM does not parse its text, but escaping every special
			// character keeps the line inert even if it did.
			b.WriteByte('^')
			b.WriteByte(c)
		default:
			b.WriteByte(c)
		}
	}
	b.WriteString("\r\n")
}

func (cmdRenderer) set(b *bytes.Buffer, name, value string) error {
	for i := 0; i < len(value); i++ {
		if c := value[i]; c == '\r' || c == '\n' {
			return valueError(CmdExe, "it contains a line break (CR or LF), which a cmd.exe command line cannot hold")
		} else if c >= 0x80 {
			return valueError(CmdExe, "it contains non-ASCII bytes, which cmd.exe decodes in the console code page")
		} else if (c < 0x20 && c != '\t') || c == 0x7f {
			return valueError(CmdExe, fmt.Sprintf("it contains the control character 0x%02X (0x1A ends a line in cmd.exe)", c))
		}
	}
	if strings.Contains(value, "/?") {
		return valueError(CmdExe, `it contains "/?", which may make SET print its help instead`)
	}
	line := cmdSetLine(name, value)
	if len(line) > cmdMaxLine {
		return valueError(CmdExe, fmt.Sprintf("the line would be %d characters long; cmd.exe reads at most %d",
			len(line), cmdMaxLine))
	}
	b.WriteString(line)
	b.WriteString("\r\n")
	return nil
}

func (cmdRenderer) unset(b *bytes.Buffer, name string) error {
	b.WriteString(cmdSetLine(name, ""))
	b.WriteString("\r\n")
	return nil
}

func (cmdRenderer) finish(*bytes.Buffer) {}

// cmdSetLine returns `@set "NAME=value"` for a printable-ASCII value, tracking
// cmd.exe's quote flag: % is doubled everywhere; while the flag is off (after
// an odd number of " in the value), ^ & | < > ( ) get a ^ in front.
func cmdSetLine(name, value string) string {
	var b strings.Builder
	b.WriteString(`@set "`)
	b.WriteString(name)
	b.WriteByte('=')
	quoted := true
	for i := 0; i < len(value); i++ {
		c := value[i]
		switch c {
		case '%':
			b.WriteString("%%")
			continue
		case '"':
			quoted = !quoted
		case '^', '&', '|', '<', '>', '(', ')':
			if !quoted {
				b.WriteByte('^')
			}
		}
		b.WriteByte(c)
	}
	b.WriteByte('"')
	return b.String()
}
