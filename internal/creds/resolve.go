package creds

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/docker/docker-credential-helpers/credentials"

	"github.com/docker-werf/docker-werf/internal/ci"
	"github.com/docker-werf/docker-werf/internal/creds/credstore"
	"github.com/docker-werf/docker-werf/internal/registry"
)

// answer is a resolved credential and a description of its source.
type answer struct {
	user, secret string
	source       string
	jobToken     bool // a CI job credential that Cleanup may replace
}

// Get implements credentials.Helper.
func (r *Resolver) Get(serverURL string) (string, string, error) {
	a, err := r.resolve(serverURL)
	if err != nil {
		return "", "", err
	}
	return a.user, a.secret, nil
}

// Source names the source that answers for serverURL, e.g.
// "CI_JOB_TOKEN (GitLab CI_REGISTRY)"; never a secret. It returns the same
// errors Get does: credentials.IsErrCredentialsNotFound(err) when nothing
// answers.
func (r *Resolver) Source(serverURL string) (string, error) {
	a, err := r.resolve(serverURL)
	if err != nil {
		return "", err
	}
	return a.source, nil
}

func (r *Resolver) resolve(serverURL string) (answer, error) {
	host, ok := hostKey(serverURL)
	if !ok {
		// Nothing docker sends fails HostKey; whatever did is no
		// registry this helper serves.
		return answer{}, credentials.NewErrCredentialsNotFound()
	}
	if sc, err := r.jobScope(); err == nil && !r.opts.EnvironmentOnly {
		if a, found, err := r.stored(sc, host); err != nil || found {
			return a, err
		}
		if a, found, err := r.ecrLogin(sc, host); err != nil || found {
			return a, err
		}
	}
	var pending error
	if r.autologin() {
		// DetectKind only when step 2 has something to offer: most hosts
		// are not served by the CI job, and detection is not free.
		a, ok, err := r.fromCI(host)
		if (ok || err != nil) && registry.DetectKind(host, r.env) != registry.GCR {
			if ok {
				return r.forPurpose(a), nil
			}
			pending = err
		}
	}
	a, ok, err := r.fromExplicit(host)
	if ok || err != nil {
		return a, err
	}
	if pending != nil {
		return answer{}, pending
	}
	return answer{}, credentials.NewErrCredentialsNotFound()
}

func (r *Resolver) autologin() bool {
	return !ci.Truthy(r.env(EnvIgnoreAutologin))
}

func (r *Resolver) forPurpose(a answer) answer {
	if r.opts.Purpose != Cleanup || !a.jobToken {
		return a
	}
	if p := r.env(EnvCleanupPassword); p != "" {
		return answer{user: CleanupUsername, secret: p,
			source: EnvCleanupPassword + " as " + CleanupUsername + " (cleanup, instead of " + a.source + ")"}
	}
	return a
}

// fromCI serves the registries the CI job provides credentials for. ok
// false with a nil error means the host is not served.
func (r *Resolver) fromCI(host string) (answer, bool, error) {
	env := r.env
	if registry.IsJobRegistry(host, env) {
		return r.gitlab(host, "CI_REGISTRY", "CI_REGISTRY_USER", "CI_REGISTRY_PASSWORD")
	}
	if registry.SameRegistry(host, env("CI_DEPENDENCY_PROXY_SERVER")) {
		return r.gitlab(host, "CI_DEPENDENCY_PROXY_SERVER", "CI_DEPENDENCY_PROXY_USER", "CI_DEPENDENCY_PROXY_PASSWORD")
	}
	// The CI system as internal/ci detects it, so that a Forgejo or Gitea
	// runner, which also sets GITHUB_*, is not taken for GitHub.
	switch r.system() {
	case "forgejo":
		return r.actions(host, "Forgejo Actions", "FORGEJO")
	case "gitea":
		return r.actions(host, "Gitea Actions", "GITEA")
	case "github":
		if host != "ghcr.io" && host != "docker.pkg.github.com" {
			return answer{}, false, nil
		}
		token := env("GITHUB_TOKEN")
		if token == "" {
			return answer{}, false, nil // not mapped into the job: nothing to offer
		}
		user := env("GITHUB_ACTOR")
		if user == "" {
			user = "x-access-token"
		}
		return answer{user: user, secret: token, jobToken: true,
			source: "GITHUB_TOKEN as GITHUB_ACTOR (GitHub Actions)"}, true, nil
	}
	return answer{}, false, nil
}

// gitlab serves a GitLab registry: the pair of variables GitLab provides for
// it, else gitlab-ci-token with CI_JOB_TOKEN.
func (r *Resolver) gitlab(host, hostVar, userVar, passVar string) (answer, bool, error) {
	user, pass := r.env(userVar), r.env(passVar)
	switch {
	case user != "" && pass != "":
		return answer{user: user, secret: pass, jobToken: true,
			source: userVar + "/" + passVar + " (GitLab " + hostVar + ")"}, true, nil
	case user != "" || pass != "":
		return answer{}, false, halfConfigured(host, userVar, passVar, user != "")
	}
	if tok := r.env("CI_JOB_TOKEN"); tok != "" {
		return answer{user: "gitlab-ci-token", secret: tok, jobToken: true,
			source: "CI_JOB_TOKEN as gitlab-ci-token (GitLab " + hostVar + ")"}, true, nil
	}
	return answer{}, false, nil
}

// actions serves Gitea and Forgejo Actions: the host of the server URL gets
// the job's token.
func (r *Resolver) actions(host, system, prefix string) (answer, bool, error) {
	server, _ := r.first(prefix+"_SERVER_URL", "GITHUB_SERVER_URL")
	if !registry.SameRegistry(host, server) {
		return answer{}, false, nil
	}
	token, tokenVar := r.first(prefix+"_TOKEN", "GITHUB_TOKEN")
	if token == "" {
		return answer{}, false, nil
	}
	user, userVar := r.first(prefix+"_ACTOR", "GITHUB_ACTOR")
	if user == "" {
		return answer{}, false, fmt.Errorf("%s provides %s for %s but no actor to use as the username: set %s_ACTOR or GITHUB_ACTOR",
			system, tokenVar, host, prefix)
	}
	return answer{user: user, secret: token, jobToken: true,
		source: tokenVar + " as " + userVar + " (" + system + ")"}, true, nil
}

func (r *Resolver) first(names ...string) (value, name string) {
	for _, n := range names {
		if v := r.env(n); v != "" {
			return v, n
		}
	}
	return "", ""
}

// ExplicitVars returns the names of the variables that carry explicit
// credentials for a host key: WERF_REGISTRY_AUTH_<KEY>_USERNAME and
// _PASSWORD.
func ExplicitVars(host string) (user, pass string) {
	k := ExplicitKey(host)
	return "WERF_REGISTRY_AUTH_" + k + "_USERNAME", "WERF_REGISTRY_AUTH_" + k + "_PASSWORD"
}

// ExplicitKey upper-cases a host key and replaces every run of characters
// outside [A-Z0-9] with "_": "127.0.0.1:5000" -> "127_0_0_1_5000".
func ExplicitKey(host string) string {
	var b strings.Builder
	b.Grow(len(host))
	under := false
	for i := 0; i < len(host); i++ {
		c := host[i]
		if 'a' <= c && c <= 'z' {
			c -= 'a' - 'A'
		}
		if 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' {
			b.WriteByte(c)
			under = false
		} else if !under {
			b.WriteByte('_')
			under = true
		}
	}
	return b.String()
}

func (r *Resolver) fromExplicit(host string) (answer, bool, error) {
	userVar, passVar := ExplicitVars(host)
	user, pass := r.env(userVar), r.env(passVar)
	switch {
	case user != "" && pass != "":
		return answer{user: user, secret: pass, source: userVar + "/" + passVar}, true, nil
	case user != "" || pass != "":
		return answer{}, false, halfConfigured(host, userVar, passVar, user != "")
	}
	return answer{}, false, nil
}

func halfConfigured(host, userVar, passVar string, haveUser bool) error {
	set, missing := userVar, passVar
	if !haveUser {
		set, missing = passVar, userVar
	}
	return fmt.Errorf("credentials for %s are half configured: %s is set but %s is empty or unset; set both or neither",
		host, set, missing)
}

// Add implements credentials.Helper: it saves the credentials in the job
// scope (Username "<token>" included, unchanged).
// stored answers from the job scope, unless the entry is due for a refresh.
func (r *Resolver) stored(sc *credstore.Scope, host string) (answer, bool, error) {
	e, found, err := sc.Get(host)
	if err != nil || !found || (!e.RefreshAt.IsZero() && !time.Now().Before(e.RefreshAt)) {
		return answer{}, false, err
	}
	source := "stored by docker login in job scope " + sc.Key()
	if !e.RefreshAt.IsZero() {
		source = "ECR token from docker werf ecr-login in job scope " + sc.Key()
	}
	return answer{user: e.Username, secret: e.Secret, source: source}, true, nil
}

// StoreExpiring stores a registry token in the job scope until refreshAt
// (an ECR token, until half its life).
func (r *Resolver) StoreExpiring(serverURL, username, secret string, refreshAt time.Time) error {
	host, err := registry.HostKey(serverURL)
	if err != nil {
		return err
	}
	sc, err := r.jobScope()
	if err != nil {
		return fmt.Errorf("cannot store credentials for %s: %w", host, err)
	}
	return sc.Put(host, credstore.Entry{ServerURL: serverURL, Username: username, Secret: secret, RefreshAt: refreshAt})
}

func (r *Resolver) Add(c *credentials.Credentials) error {
	if c == nil || c.ServerURL == "" {
		return credentials.NewErrCredentialsMissingServerURL()
	}
	if c.Username == "" {
		return credentials.NewErrCredentialsMissingUsername()
	}
	host, err := registry.HostKey(c.ServerURL)
	if err != nil {
		return err
	}
	sc, err := r.jobScope()
	if err != nil {
		return fmt.Errorf("cannot store credentials for %s: %w", host, err)
	}
	return sc.Put(host, credstore.Entry{ServerURL: c.ServerURL, Username: c.Username, Secret: c.Secret})
}

// Delete implements credentials.Helper: it removes what `store` saved for
// the host in the job scope. Deleting what is not there succeeds; CI and
// variable credentials are not affected.
func (r *Resolver) Delete(serverURL string) error {
	if serverURL == "" {
		return credentials.NewErrCredentialsMissingServerURL()
	}
	host, err := registry.HostKey(serverURL)
	if err != nil {
		return err
	}
	sc, err := r.jobScope()
	if err != nil {
		return fmt.Errorf("cannot erase credentials for %s: %w", host, err)
	}
	_, err = sc.Delete(host)
	return err
}

// List implements credentials.Helper: stored entries (by the ServerURL they
// were stored with) and the hosts the CI job provides credentials for (by
// host key), each with its username. It never fails: what cannot be read is
// left out.
func (r *Resolver) List() (map[string]string, error) {
	out := map[string]string{}
	if sc, err := r.jobScope(); err == nil {
		if m, err := sc.List(); err == nil {
			for _, e := range m {
				out[e.ServerURL] = e.Username
			}
		}
	}
	if r.autologin() {
		for _, addr := range r.ciHosts() {
			host, ok := hostKey(addr)
			if !ok || registry.DetectKind(host, r.env) == registry.GCR {
				continue
			}
			if a, ok, _ := r.fromCI(host); ok {
				a = r.forPurpose(a)
				key := host
				if host == registry.DockerHubHost {
					key = "https://index.docker.io/v1/"
				}
				if _, dup := out[key]; !dup {
					out[key] = a.user
				}
			}
		}
	}
	return out, nil
}

// system is the name of the CI system running the job, "" outside CI.
func (r *Resolver) system() string {
	sys, _ := ci.Detect(r.env)
	return sys.Name
}

// ciHosts lists the addresses step 2 may serve.
func (r *Resolver) ciHosts() []string {
	var hosts []string
	for _, v := range []string{"CI_REGISTRY", "CI_DEPENDENCY_PROXY_SERVER", "FORGEJO_SERVER_URL", "GITEA_SERVER_URL", "GITHUB_SERVER_URL"} {
		if a := r.env(v); a != "" {
			hosts = append(hosts, a)
		}
	}
	if r.system() == "github" {
		hosts = append(hosts, "ghcr.io", "docker.pkg.github.com")
	}
	return hosts
}

// IsUnsafeStore reports whether err is a refusal to use an unsafe store
// directory or file.
func IsUnsafeStore(err error) bool {
	var u *credstore.UnsafeError
	return errors.As(err, &u)
}
