package shellenv

import (
	"bytes"
	"fmt"
	"io"
)

// RenderFailure writes, in script format f, what a program prints on stdout
// instead of its variables when it fails, so that the shell evaluating its
// output does not go on as if it had succeeded (`eval "$(cmd)"` returns 0
// when cmd fails and prints nothing, even under set -e). The statement ends
// a non-interactive shell (a CI job) with status 1; an interactive shell
// stays open and only gets status 1. What each format writes, and where it
// falls short, is in the package documentation. comment says why (fish
// has no comments; PowerShell throws it as the error's text). The data formats cannot stop anything and fail
// with ErrUnrepresentable.
func RenderFailure(w io.Writer, f Format, comment string) error {
	var b bytes.Buffer
	switch f {
	case SH, Bash, Zsh, "":
		hashComment(&b, comment, false)
		b.WriteString("case $- in *i*) false ;; *) exit 1 ;; esac\n")
	case Fish:
		b.WriteString("status is-interactive; or exit 1; false;\n")
	case PowerShell:
		// throw ends a script (and GitLab's and GitHub's pwsh steps, which
		// set $ErrorActionPreference = 'Stop'); at a prompt it only prints.
		if comment == "" {
			comment = "failed"
		}
		b.WriteString("throw " + psQuote(commentText(comment, true)) + "\n")
	case CmdExe:
		cmdRenderer{}.comment(&b, comment)
		b.WriteString("@exit /b 1\r\n")
	default:
		if _, err := newRenderer(f); err != nil {
			return err
		}
		return fmt.Errorf("a failure %w in %s format: it is data, not a script", ErrUnrepresentable, f)
	}
	_, err := w.Write(b.Bytes())
	return err
}
