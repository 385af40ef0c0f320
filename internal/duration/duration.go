// Package duration is the one duration grammar of every duration flag,
// WERF_* variable and policy field: a sequence of numbers, each with a unit,
// as in Go's time.ParseDuration, plus the units d (24h) and w (7d) that
// werf's keepPolicies use ("in: 7d"): "30s", "90m", "12h", "7d", "2w",
// "1w2d12h", "1.5d". "0" alone needs no unit. Negative durations are
// refused.
//
// It imports only the standard library: the credential helper uses it, and
// must start fast. Value satisfies both the standard library's flag.Value
// and spf13/pflag's pflag.Value without importing pflag.
package duration

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// Grammar is what the errors of Parse ask for.
const Grammar = "a number with a unit s, m, h, d or w, e.g. 30s, 12h, 7d, 2w, 1w2d"

const (
	day  = 24 * time.Hour
	week = 7 * day
)

var units = map[string]time.Duration{
	"ns": time.Nanosecond,
	"us": time.Microsecond,
	"µs": time.Microsecond, // U+00B5
	"μs": time.Microsecond, // U+03BC
	"ms": time.Millisecond,
	"s":  time.Second,
	"m":  time.Minute,
	"h":  time.Hour,
	"d":  day,
	"w":  week,
}

// Error is the error of Parse: the input and what is wrong with it.
type Error struct {
	Input   string
	Problem string // e.g. "must not be negative"; empty: not in the grammar
}

func (e *Error) Error() string {
	if e.Problem == "" {
		return fmt.Sprintf("invalid duration %q: want %s", e.Input, Grammar)
	}
	return fmt.Sprintf("invalid duration %q: %s", e.Input, e.Problem)
}

// Max is the longest duration, about 292 years.
const Max = time.Duration(math.MaxInt64)

// Parse parses s (surrounding white space ignored) in the grammar of the
// package.
func Parse(s string) (time.Duration, error) {
	in := strings.TrimSpace(s)
	bad := func(problem string) (time.Duration, error) { return 0, &Error{Input: s, Problem: problem} }
	switch {
	case in == "":
		return bad("empty; want " + Grammar)
	case in[0] == '-':
		return bad("must not be negative")
	case in == "0" || in == "+0":
		return 0, nil
	}
	in = strings.TrimPrefix(in, "+")
	var total time.Duration
	for in != "" {
		i := 0
		for i < len(in) && isNumberByte(in[i]) {
			i++
		}
		j := i
		for j < len(in) && !isNumberByte(in[j]) {
			j++
		}
		num, unitName := in[:i], in[i:j]
		in = in[j:]
		unit, ok := units[unitName]
		if num == "" || !ok {
			return bad("")
		}
		d, ok := scale(num, unit)
		if !ok {
			return bad("")
		}
		if d < 0 || total > Max-d {
			return bad("too long (at most " + Format(Max.Truncate(time.Second)) + ")")
		}
		total += d
	}
	return total, nil
}

func isNumberByte(c byte) bool { return '0' <= c && c <= '9' || c == '.' }

// scale returns num (digits with at most one '.') times unit; a result
// beyond Max is returned as -1. ok is false for a malformed number.
func scale(num string, unit time.Duration) (time.Duration, bool) {
	whole, frac, _ := strings.Cut(num, ".")
	if whole == "" && frac == "" || strings.Contains(frac, ".") {
		return 0, false
	}
	var w uint64
	if whole != "" {
		var err error
		if w, err = strconv.ParseUint(whole, 10, 64); err != nil {
			if errors.Is(err, strconv.ErrRange) {
				return -1, true
			}
			return 0, false
		}
	}
	if w > uint64(Max/unit) {
		return -1, true
	}
	d := time.Duration(w) * unit
	if frac != "" {
		f, err := strconv.ParseFloat("0."+frac, 64)
		if err != nil {
			return 0, false
		}
		extra := time.Duration(f * float64(unit))
		if d > Max-extra {
			return -1, true
		}
		d += extra
	}
	return d, true
}

// Format renders d compactly in the grammar, exactly: Parse(Format(d)) == d
// for d >= 0. "0s", "45s", "90ms", "2h", "1h30m", "7d", "1d12h", "2w"
// is written "14d": days are not folded into weeks.
func Format(d time.Duration) string {
	if d < 0 {
		if d == math.MinInt64 {
			return "-" + Format(Max)
		}
		return "-" + Format(-d)
	}
	if d == 0 {
		return "0s"
	}
	var b strings.Builder
	for _, u := range []struct {
		unit time.Duration
		name string
	}{{day, "d"}, {time.Hour, "h"}, {time.Minute, "m"}} {
		if n := d / u.unit; n > 0 {
			b.WriteString(strconv.FormatInt(int64(n), 10) + u.name)
			d -= n * u.unit
		}
	}
	if d > 0 {
		b.WriteString(d.String()) // under a minute: "45s", "1.5s", "500ms"
	}
	return b.String()
}

// Value is a duration flag in the package's grammar, for both the standard
// library's flag package and spf13/pflag (fs.Var(duration.NewValue(&d, def),
// ...)); flagenv sets it from its WERF_* variable through the same Set.
type Value struct{ d *time.Duration }

// NewValue sets *p to def and returns the flag value that writes *p.
func NewValue(p *time.Duration, def time.Duration) *Value {
	*p = def
	return &Value{d: p}
}

// Set parses s as Parse does.
func (v *Value) Set(s string) error {
	d, err := Parse(s)
	if err != nil {
		return err
	}
	*v.d = d
	return nil
}

// String renders the value as Format does, except that zero is "0", which
// pflag takes for "no default" in --help.
func (v *Value) String() string {
	if v == nil || v.d == nil || *v.d == 0 {
		return "0"
	}
	return Format(*v.d)
}

// Type is the name --help gives the flag's argument.
func (v *Value) Type() string { return "duration" }

// Want describes the values Set accepts, for messages that may not repeat
// the value (flagenv's, about a variable that could hold a secret).
func (v *Value) Want() string { return "a duration: " + Grammar }
