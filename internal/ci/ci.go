// Package ci knows the CI systems docker-werf runs in: which one runs the
// current job and the key of that job (Detect), and what the job tells about
// itself, turned into the WERF_* variables `werf ci-env` would set (ReadJob,
// Variables). One table (systems.go) holds, per system, both the detection
// rule and the variable sources, so adding a system is one entry.
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
//
// The package only reads the environment lookup it is given: it runs
// nothing, touches no file and does no network I/O. Values are carried
// verbatim, so they may contain anything a CI variable can hold (a branch
// called `$(reboot)`, quotes, newlines): quoting them for a shell is the
// renderer's job (internal/shellenv). Only docker tags are derived here, and
// Slug makes them valid whatever the input.
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
	for _, s := range systems() {
		if s.Detect.matches(get) {
			return System{Name: s.Name, JobKey: s.Detect.jobKey(get)}, true
		}
	}
	return System{}, false
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

// Recognised says, for each system in detection order, which variables
// Detect looks at, e.g. "gitlab (GITLAB_CI=true)": the text of the error a
// user sees when nothing is detected.
func Recognised() []string {
	var out []string
	for _, s := range systems() {
		groups := make([]string, len(s.Detect.When))
		for j, g := range s.Detect.When {
			conds := make([]string, len(g))
			for k, c := range g {
				conds[k] = c.Var + " set"
				if c.Value != "" {
					conds[k] = c.Var + "=" + c.Value
				}
			}
			groups[j] = strings.Join(conds, " and ")
		}
		out = append(out, s.Name+" ("+strings.Join(groups, ", or ")+")")
	}
	return out
}
