// Package ci detects the CI system a process runs in and the key of the
// current job, from environment variables only (no I/O).
//
// The job key identifies one job (one attempt of one job, where the CI system
// exposes attempts) well enough that two jobs running at the same time on one
// machine never share it. docker-credential-werf keys its per-job credential
// store by "ci:<system>:<job key>".
//
// When a CI system is detected but the variables its job key is built from
// are missing (an old runner, a job that unsets them, a local run of a CI
// script), Detect still returns the system, with an empty JobKey. Callers must
// then fall back to a scope that does not depend on the job (docker-werf uses
// the docker config directory), because an empty key would make every such
// job share one scope.
package ci

import (
	"strings"

	"github.com/docker-werf/docker-werf/internal/registry"
)

// System is a detected CI system.
type System struct {
	// Name is the system's short name, e.g. "gitlab" or "github".
	Name string
	// JobKey identifies the current job; empty when the variables it is
	// built from are missing.
	JobKey string
}

// Detect returns the CI system the environment belongs to, trying the most
// specific systems first (Forgejo and Gitea before GitHub, whose variables
// they mirror). It reports false outside any known CI system.
func Detect(env registry.Env) (System, bool) {
	get := lookup(env)
	for i := range table {
		r := &table[i]
		if r.matches(get) {
			return System{Name: r.Name, JobKey: r.jobKey(get)}, true
		}
	}
	return System{}, false
}

// Names returns the names of the systems Detect knows, in detection order.
func Names() []string {
	names := make([]string, len(table))
	for i, r := range table {
		names[i] = r.Name
	}
	return names
}

// Truthy reports whether a CI-style boolean variable value is set to true:
// "1", "true" or "yes", case-insensitively.
func Truthy(v string) bool {
	switch strings.ToLower(strings.TrimSpace(v)) {
	case "1", "true", "yes":
		return true
	}
	return false
}

func lookup(env registry.Env) func(string) string {
	if env == nil {
		return func(string) string { return "" }
	}
	return env
}

// Recognised says, for each system in detection order, which variables
// Detect looks at, e.g. "gitlab (GITLAB_CI=true)": the text of the error a
// user sees when nothing is detected.
func Recognised() []string {
	out := make([]string, len(table))
	for i, r := range table {
		groups := make([]string, len(r.When))
		for j, g := range r.When {
			conds := make([]string, len(g))
			for k, c := range g {
				conds[k] = c.Var + " set"
				if c.Value != "" {
					conds[k] = c.Var + "=" + c.Value
				}
			}
			groups[j] = strings.Join(conds, " and ")
		}
		out[i] = r.Name + " (" + strings.Join(groups, ", or ") + ")"
	}
	return out
}
