package shellenv

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"
)

// dotenvRenderer writes a dotenv file (compose-go / godotenv syntax).
type dotenvRenderer struct{}

func (dotenvRenderer) comment(*bytes.Buffer, string) {}

func (dotenvRenderer) set(b *bytes.Buffer, name, value string) error {
	b.WriteString(name)
	b.WriteByte('=')
	b.WriteString(dotenvQuote(value))
	b.WriteByte('\n')
	return nil
}

func (dotenvRenderer) unset(*bytes.Buffer, string) error { return unsetError(DotEnv) }

func (dotenvRenderer) finish(*bytes.Buffer) {}

// dotenvBare reports whether every dotenv reader takes s literally without
// quotes.
func dotenvBare(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case 'A' <= c && c <= 'Z', 'a' <= c && c <= 'z', '0' <= c && c <= '9':
		case strings.IndexByte(`_.,/:@+=%-\`, c) >= 0:
		default:
			return false
		}
	}
	return true
}

// dotenvQuote returns s bare when it is safe, otherwise double-quoted with
// the escapes \\ \" \$ \n \r.
func dotenvQuote(s string) string {
	if dotenvBare(s) {
		return s
	}
	var b strings.Builder
	b.WriteByte('"')
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '\\':
			b.WriteString(`\\`)
		case '"':
			b.WriteString(`\"`)
		case '$':
			b.WriteString(`\$`)
		case '\n':
			b.WriteString(`\n`)
		case '\r':
			b.WriteString(`\r`)
		default:
			b.WriteByte(c)
		}
	}
	b.WriteByte('"')
	return b.String()
}

// randReader is the source of heredoc delimiters; tests replace it.
var randReader io.Reader = rand.Reader

// githubEnvRenderer writes $GITHUB_ENV file commands.
type githubEnvRenderer struct{}

func (githubEnvRenderer) comment(*bytes.Buffer, string) {}

func (githubEnvRenderer) set(b *bytes.Buffer, name, value string) error {
	if !utf8.ValidString(value) {
		return valueError(GitHubEnv, "it is not valid UTF-8, and the runner reads the file as UTF-8")
	}
	if !strings.ContainsAny(value, "\r\n") {
		b.WriteString(name)
		b.WriteByte('=')
		b.WriteString(value)
		b.WriteByte('\n')
		return nil
	}
	delim, err := heredocDelimiter(value)
	if err != nil {
		return err
	}
	fmt.Fprintf(b, "%s<<%s\n%s\n%s\n", name, delim, value, delim)
	return nil
}

func (githubEnvRenderer) unset(*bytes.Buffer, string) error { return unsetError(GitHubEnv) }

func (githubEnvRenderer) finish(*bytes.Buffer) {}

// heredocDelimiter returns "ghadelimiter_" and 32 random hex digits that do
// not occur in value.
func heredocDelimiter(value string) (string, error) {
	var raw [16]byte
	for range 8 {
		if _, err := io.ReadFull(randReader, raw[:]); err != nil {
			return "", fmt.Errorf("generating a heredoc delimiter: %w", err)
		}
		d := "ghadelimiter_" + hex.EncodeToString(raw[:])
		if !strings.Contains(value, d) {
			return d, nil
		}
	}
	return "", valueError(GitHubEnv, "no heredoc delimiter absent from the value was found")
}

// jsonRenderer writes one JSON object in entry order.
type jsonRenderer struct{ n int }

func (*jsonRenderer) comment(*bytes.Buffer, string) {}

func (j *jsonRenderer) set(b *bytes.Buffer, name, value string) error {
	if !utf8.ValidString(value) {
		return valueError(JSON, "it is not valid UTF-8, and a JSON string holds Unicode text")
	}
	j.key(b, name)
	b.Write(jsonString(value))
	return nil
}

func (j *jsonRenderer) unset(b *bytes.Buffer, name string) error {
	j.key(b, name)
	b.WriteString("null")
	return nil
}

func (j *jsonRenderer) key(b *bytes.Buffer, name string) {
	if j.n == 0 {
		b.WriteString("{\n  ")
	} else {
		b.WriteString(",\n  ")
	}
	j.n++
	b.Write(jsonString(name))
	b.WriteString(": ")
}

func (j *jsonRenderer) finish(b *bytes.Buffer) {
	if j.n == 0 {
		b.WriteString("{}\n")
		return
	}
	b.WriteString("\n}\n")
}

// jsonString encodes a valid UTF-8 string without HTML escaping.
func jsonString(s string) []byte {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(s); err != nil {
		panic("encoding a string as JSON: " + err.Error()) // cannot happen for a string
	}
	return bytes.TrimSuffix(b.Bytes(), []byte("\n"))
}
