package shellenv

import (
	"bytes"
	"strings"
)

// posixRenderer writes sh, bash and zsh.
type posixRenderer struct{}

func (posixRenderer) comment(b *bytes.Buffer, text string) { hashComment(b, text, false) }

func (posixRenderer) set(b *bytes.Buffer, name, value string) error {
	b.WriteString("export ")
	b.WriteString(name)
	b.WriteByte('=')
	b.WriteString(shQuote(value))
	b.WriteByte('\n')
	return nil
}

func (posixRenderer) unset(b *bytes.Buffer, name string) error {
	b.WriteString("unset -v ")
	b.WriteString(name)
	b.WriteByte('\n')
	return nil
}

func (posixRenderer) finish(*bytes.Buffer) {}

// shQuote single-quotes s for a POSIX shell: each quote becomes close quote,
// backslash-quote, open quote, and every other byte is literal.
func shQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// fishRenderer writes fish. It writes no comments and ends every statement
// with ";", because `eval (cmd)` joins cmd's lines with spaces: a comment
// would swallow everything after it, and statements without ";" would run
// together.
type fishRenderer struct{}

func (fishRenderer) comment(*bytes.Buffer, string) {}

func (fishRenderer) set(b *bytes.Buffer, name, value string) error {
	b.WriteString("set -gx ")
	b.WriteString(name)
	b.WriteByte(' ')
	b.WriteString(fishQuote(value))
	b.WriteString(";\n")
	return nil
}

func (fishRenderer) unset(b *bytes.Buffer, name string) error {
	b.WriteString("set -e ")
	b.WriteString(name)
	b.WriteString(";\n")
	return nil
}

func (fishRenderer) finish(*bytes.Buffer) {}

const hexDigits = "0123456789abcdef"

// fishQuote writes runs of printable ASCII in single quotes (escaping \ and ')
// and every other byte as \xHH outside them, all as one word.
func fishQuote(s string) string {
	if s == "" {
		return "''"
	}
	var b strings.Builder
	open := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 0x20 <= c && c < 0x7f {
			if !open {
				b.WriteByte('\'')
				open = true
			}
			if c == '\\' || c == '\'' {
				b.WriteByte('\\')
			}
			b.WriteByte(c)
			continue
		}
		if open {
			b.WriteByte('\'')
			open = false
		}
		b.WriteString(`\x`)
		b.WriteByte(hexDigits[c>>4])
		b.WriteByte(hexDigits[c&0xf])
	}
	if open {
		b.WriteByte('\'')
	}
	return b.String()
}
