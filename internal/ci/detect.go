package ci

import "strings"

// A check tests one variable, in a form Recognised can print.
type check struct {
	Var string
	// Value is what the variable must equal (case-insensitively); empty
	// means any non-empty value; "true" accepts every Truthy value.
	Value string
}

// A part is one component of a job key: the value of the first non-empty
// variable in Vars. A required part that is missing leaves the job key empty.
type part struct {
	Vars     []string
	Optional bool
}

// detection says when a system is the one running the job, and how its job
// key is built.
type detection struct {
	// When is a disjunction of conjunctions: the system is detected when
	// every check of at least one group holds.
	When [][]check
	// Key lists the job-key components, in order.
	Key []part
}

func all(c ...check) []check           { return c }
func varIs(v, value string) check      { return check{Var: v, Value: value} }
func set(v string) check               { return check{Var: v} }
func req(vars ...string) part          { return part{Vars: vars} }
func opt(vars ...string) part          { return part{Vars: vars, Optional: true} }
func when(groups ...[]check) [][]check { return groups }

func (d *detection) matches(get getter) bool {
	for _, group := range d.When {
		ok := true
		for _, c := range group {
			if !c.holds(get(c.Var)) {
				ok = false
				break
			}
		}
		if ok {
			return true
		}
	}
	return false
}

func (c check) holds(v string) bool {
	switch c.Value {
	case "":
		return strings.TrimSpace(v) != ""
	case "true":
		return Truthy(v)
	}
	return strings.EqualFold(strings.TrimSpace(v), c.Value)
}

// jobKey joins the parts with "/", each escaped so that "/" inside a value
// cannot make two different variable sets give the same key. A missing
// optional part leaves an empty component, keeping positions fixed.
func (d *detection) jobKey(get getter) string {
	var b strings.Builder
	for i, p := range d.Key {
		v := ""
		for _, name := range p.Vars {
			if v = strings.TrimSpace(get(name)); v != "" {
				break
			}
		}
		if v == "" && !p.Optional {
			return ""
		}
		if i > 0 {
			b.WriteByte('/')
		}
		b.WriteString(escape(v))
	}
	return b.String()
}

func escape(v string) string {
	if !strings.ContainsAny(v, "%/") {
		return v
	}
	return strings.NewReplacer("%", "%25", "/", "%2F").Replace(v)
}
