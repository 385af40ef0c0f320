// Package flagenv gives every command-line flag a WERF_* environment variable,
// the way werf does: the flag wins, then the variable, then the default.
package flagenv

import (
	"fmt"
	"strings"

	"github.com/spf13/pflag"
)

const (
	annotation     = "docker-werf/env"
	fromEnvMarking = "docker-werf/from-env"
)

// Bind records env as the variable behind the flag called name and names it in
// the flag's usage, so `--help` documents both.
func Bind(fs *pflag.FlagSet, name, env string) {
	f := fs.Lookup(name)
	if f == nil {
		panic("flagenv: no flag " + name)
	}
	if f.Annotations == nil {
		f.Annotations = map[string][]string{}
	}
	f.Annotations[annotation] = []string{env}
	f.Usage = strings.TrimSpace(f.Usage + " (env " + env + ")")
}

// Var returns the environment variable bound to the flag, or "".
func Var(f *pflag.Flag) string {
	if v := f.Annotations[annotation]; len(v) == 1 {
		return v[0]
	}
	return ""
}

// Apply sets each bound flag that was not given on the command line from its
// variable. A bad value names the variable and the flag, and what the value
// should be (the Value's Want(), when it has one, else its type); the value
// itself is not repeated because some of these variables carry secrets.
func Apply(fs *pflag.FlagSet, lookup func(string) (string, bool)) error {
	var err error
	fs.VisitAll(func(f *pflag.Flag) {
		env := Var(f)
		if err != nil || env == "" || f.Changed {
			return
		}
		value, ok := lookup(env)
		if !ok || value == "" {
			return
		}
		if setErr := fs.Set(f.Name, value); setErr != nil {
			want := "a " + f.Value.Type()
			if w, ok := f.Value.(interface{ Want() string }); ok {
				want = w.Want()
			}
			err = fmt.Errorf("invalid value in %s (for --%s): expected %s", env, f.Name, want)
			return
		}
		f.Annotations[fromEnvMarking] = []string{env}
	})
	return err
}

// FromEnv reports whether Apply set the flag from its variable (rather than
// the command line, or not at all).
func FromEnv(f *pflag.Flag) bool {
	return f != nil && len(f.Annotations[fromEnvMarking]) == 1
}
