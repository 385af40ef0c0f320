package jobconfig

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
)

// Auth is a credential the starting config held inline, in "auths".
type Auth struct {
	Server   string
	Username string // "<token>" for an identity token, as credential helpers store one
	Secret   string
}

// identityTokenUser is docker's username for an identity token in a
// credential helper (cli/config/credentials/native_store.go).
const identityTokenUser = "<token>"

// authEntry is one "auths" entry of a docker config.
type authEntry struct {
	Auth          string `json:"auth,omitempty"`
	Username      string `json:"username,omitempty"`
	Password      string `json:"password,omitempty"`
	IdentityToken string `json:"identitytoken,omitempty"`
}

// takeInlineAuths removes the credentials from cfg's "auths", leaving an
// empty entry per host (as docker writes with a credsStore), and returns
// them. Its errors never quote a value.
func takeInlineAuths(cfg map[string]json.RawMessage) ([]Auth, error) {
	raw := cfg["auths"]
	if raw == nil {
		return nil, nil
	}
	entries := map[string]authEntry{}
	if err := json.Unmarshal(raw, &entries); err != nil {
		return nil, errors.New(`"auths" in the docker config is not an object of credentials`)
	}
	var auths []Auth
	empty := map[string]struct{}{}
	for server, e := range entries {
		empty[server] = struct{}{}
		a, err := e.credential(server)
		if err != nil {
			return nil, err
		}
		if a != nil {
			auths = append(auths, *a)
		}
	}
	sort.Slice(auths, func(i, j int) bool { return auths[i].Server < auths[j].Server })
	cfg["auths"] = mustJSON(empty)
	return auths, nil
}

func (e authEntry) credential(server string) (*Auth, error) {
	switch {
	case e.IdentityToken != "":
		return &Auth{Server: server, Username: identityTokenUser, Secret: e.IdentityToken}, nil
	case e.Auth != "":
		decoded, err := base64.StdEncoding.DecodeString(e.Auth)
		if err != nil {
			return nil, fmt.Errorf(`the "auth" of %s in the docker config is not base64 (fix it, or start with --empty-docker-config)`, server)
		}
		user, pass, ok := strings.Cut(string(decoded), ":")
		if !ok || user == "" {
			return nil, fmt.Errorf(`the "auth" of %s in the docker config is not base64 of user:password (fix it, or start with --empty-docker-config)`, server)
		}
		return &Auth{Server: server, Username: user, Secret: pass}, nil
	case e.Username != "" || e.Password != "":
		return &Auth{Server: server, Username: e.Username, Secret: e.Password}, nil
	}
	return nil, nil
}
