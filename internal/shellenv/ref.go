package shellenv

import (
	"bytes"
	"fmt"
)

// refRenderer is implemented by the script formats, which can copy one
// variable into another when the script runs. That keeps a secret (a CI
// token) out of the script itself: only the name of its variable is written.
type refRenderer interface {
	setRef(b *bytes.Buffer, name, ref string) error
}

func renderRef(b *bytes.Buffer, r renderer, f Format, e Entry) error {
	if !validName(e.Ref) {
		return fmt.Errorf("%w: the variable it copies, %q, must match ^[A-Za-z_][A-Za-z0-9_]*$", ErrInvalidName, e.Ref)
	}
	rr, ok := r.(refRenderer)
	if !ok {
		return fmt.Errorf("%w: the %s format cannot copy another variable at run time (from %s)", ErrUnrepresentable, f, e.Ref)
	}
	if e.Comment != "" {
		r.comment(b, e.Comment)
	}
	return rr.setRef(b, e.Name, e.Ref)
}

func (posixRenderer) setRef(b *bytes.Buffer, name, ref string) error {
	fmt.Fprintf(b, "export %s=\"${%s-}\"\n", name, ref)
	return nil
}

func (fishRenderer) setRef(b *bytes.Buffer, name, ref string) error {
	fmt.Fprintf(b, "set -gx %s \"$%s\";\n", name, ref)
	return nil
}

func (powerShellRenderer) setRef(b *bytes.Buffer, name, ref string) error {
	fmt.Fprintf(b, "$env:%s = $env:%s\n", name, ref)
	return nil
}

func (cmdRenderer) setRef(b *bytes.Buffer, name, ref string) error {
	fmt.Fprintf(b, "@set \"%s=%%%s%%\"\r\n", name, ref)
	return nil
}
