package shellenv

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"
)

// Entry is one line of output: an assignment, an unset, or (with an empty
// Name) a comment only.
type Entry struct {
	Name  string
	Value string
	// Comment is printed on a line of its own before the entry by the script
	// formats; the data formats (dotenv, github-env, json) omit it.
	Comment string
	// Unset removes the variable instead of setting it; Value is ignored.
	Unset bool
	// Ref, when set, makes the variable a copy of the variable called Ref,
	// taken when the script runs; Value is ignored. Only the script formats
	// can do it (the others fail with ErrUnrepresentable).
	Ref string
}

// Format is an output syntax; see the package documentation for the exact
// rules of each.
type Format string

// The formats Render knows.
const (
	SH         Format = "sh" // POSIX sh, the default
	Bash       Format = "bash"
	Zsh        Format = "zsh"
	Fish       Format = "fish"
	PowerShell Format = "powershell"
	CmdExe     Format = "cmdexe"
	DotEnv     Format = "dotenv"
	GitHubEnv  Format = "github-env"
	JSON       Format = "json"
)

var formats = []Format{SH, Bash, Zsh, Fish, PowerShell, CmdExe, DotEnv, GitHubEnv, JSON}

// aliases are accepted by ParseFormat besides the canonical names: "" and
// "default" are werf's values for POSIX output.
var aliases = map[string]Format{"": SH, "default": SH, "pwsh": PowerShell, "cmd": CmdExe}

// Errors returned (wrapped) by Render.
var (
	// ErrInvalidName: a name does not match ^[A-Za-z_][A-Za-z0-9_]*$.
	ErrInvalidName = errors.New("invalid variable name")
	// ErrUnrepresentable: the format cannot hold the value (or the unset)
	// exactly.
	ErrUnrepresentable = errors.New("cannot be represented")
)

// Formats returns the canonical format names in a stable order.
func Formats() []Format {
	return append([]Format(nil), formats...)
}

func formatNames() string {
	names := make([]string, len(formats))
	for i, f := range formats {
		names[i] = string(f)
	}
	return strings.Join(names, ", ")
}

// ParseFormat returns the format called s (case-insensitive). The empty string
// and "default" mean sh, "pwsh" means powershell and "cmd" means cmdexe.
func ParseFormat(s string) (Format, error) {
	l := strings.ToLower(strings.TrimSpace(s))
	if f, ok := aliases[l]; ok {
		return f, nil
	}
	for _, f := range formats {
		if string(f) == l {
			return f, nil
		}
	}
	return "", fmt.Errorf("unknown output format %q: valid formats are %s", s, formatNames())
}

// renderer writes one format. set and unset get a valid name and a value
// without NUL.
type renderer interface {
	comment(b *bytes.Buffer, text string)
	set(b *bytes.Buffer, name, value string) error
	unset(b *bytes.Buffer, name string) error
	finish(b *bytes.Buffer)
}

func newRenderer(f Format) (renderer, error) {
	switch f {
	case SH, Bash, Zsh, "":
		return posixRenderer{}, nil
	case Fish:
		return fishRenderer{}, nil
	case PowerShell:
		return powerShellRenderer{}, nil
	case CmdExe:
		return cmdRenderer{}, nil
	case DotEnv:
		return dotenvRenderer{}, nil
	case GitHubEnv:
		return githubEnvRenderer{}, nil
	case JSON:
		return &jsonRenderer{}, nil
	}
	return nil, fmt.Errorf("unknown output format %q: valid formats are %s", string(f), formatNames())
}

// Render writes entries in format f (the zero Format is sh). It renders and
// checks everything first and writes nothing on error. An error about an
// entry names the variable (or the entry's index) and wraps ErrInvalidName or
// ErrUnrepresentable.
func Render(w io.Writer, f Format, entries []Entry) error {
	r, err := newRenderer(f)
	if err != nil {
		return err
	}
	var b bytes.Buffer
	for i, e := range entries {
		if err := renderEntry(&b, r, f, e); err != nil {
			if e.Name == "" {
				return fmt.Errorf("entry %d: %w", i, err)
			}
			return fmt.Errorf("variable %q: %w", e.Name, err)
		}
	}
	r.finish(&b)
	_, err = w.Write(b.Bytes())
	return err
}

func renderEntry(b *bytes.Buffer, r renderer, f Format, e Entry) error {
	if e.Name == "" {
		if e.Unset || e.Value != "" {
			return fmt.Errorf("%w: empty (a comment-only entry has no value and no unset)", ErrInvalidName)
		}
		r.comment(b, e.Comment)
		return nil
	}
	if !validName(e.Name) {
		return fmt.Errorf("%w: must match ^[A-Za-z_][A-Za-z0-9_]*$", ErrInvalidName)
	}
	if e.Ref != "" && !e.Unset {
		return renderRef(b, r, f, e)
	}
	if !e.Unset && strings.IndexByte(e.Value, 0) >= 0 {
		return fmt.Errorf("value %w: it contains a NUL byte, which no shell or environment can hold", ErrUnrepresentable)
	}
	if e.Comment != "" {
		r.comment(b, e.Comment)
	}
	if e.Unset {
		return r.unset(b, e.Name)
	}
	return r.set(b, e.Name, e.Value)
}

func validName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '_', 'A' <= c && c <= 'Z', 'a' <= c && c <= 'z':
		case '0' <= c && c <= '9' && i > 0:
		default:
			return false
		}
	}
	return true
}

// commentText makes s safe to put after a comment sign: every control
// character (C0 but TAB, DEL, C1) and U+2028/U+2029 becomes a space, CRLF
// becomes one space. With asciiOnly the result is printable ASCII: TAB becomes
// a space too, and every other non-ASCII character or invalid byte '?'.
func commentText(s string, asciiOnly bool) string {
	s = strings.ReplaceAll(s, "\r\n", "\n")
	var b strings.Builder
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == '\t' && !asciiOnly:
			b.WriteByte('\t')
		case r < 0x20 || r == 0x7f || (0x80 <= r && r < 0xa0) || r == 0x2028 || r == 0x2029:
			b.WriteByte(' ')
		case asciiOnly && r >= 0x80:
			b.WriteByte('?')
		default:
			b.WriteString(s[i : i+size])
		}
		i += size
	}
	return b.String()
}

// hashComment writes "# text", or a blank line for an empty text (only a
// comment-only entry has one).
func hashComment(b *bytes.Buffer, text string, asciiOnly bool) {
	if text == "" {
		b.WriteByte('\n')
		return
	}
	b.WriteString("# ")
	b.WriteString(commentText(text, asciiOnly))
	b.WriteByte('\n')
}

// valueError reports a value that format f cannot hold.
func valueError(f Format, why string) error {
	return fmt.Errorf("value %w in %s format: %s", ErrUnrepresentable, f, why)
}

// unsetError reports a format that cannot remove a variable.
func unsetError(f Format) error {
	return fmt.Errorf("unset %w in %s format: it cannot remove a variable", ErrUnrepresentable, f)
}
