// Package apispec checks HTTP traffic against a registry vendor's published
// API description (OpenAPI 3, or Swagger 2.0 converted to it), so that a
// test fake cannot drift from the API it stands in for. The descriptions are
// embedded, trimmed to the operations the native clients call; see
// testdata/README.md for where each comes from.
//
// The package is for tests: import it only from _test.go files or from a
// test kit that is itself imported only from tests, so it never links into
// the binaries.
package apispec

import (
	"context"
	"embed"
	"encoding/json"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"sync"

	"github.com/getkin/kin-openapi/openapi2"
	"github.com/getkin/kin-openapi/openapi2conv"
	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"
)

//go:embed testdata/*.json
var descriptions embed.FS

// Spec is one vendor's description, ready to match and validate requests.
type Spec struct {
	Vendor string
	doc    *openapi3.T
	router routers.Router
	// undescribed are routes a client must call that the description lacks.
	undescribed []Undescribed
	normalize   func(string) string
}

// Undescribed is a route the vendor serves but its description leaves out.
// A request to it is matched exactly (method and path template) and passes
// without schema checks; Why says where the route is documented instead.
type Undescribed struct {
	Method, Path, Why string
}

type vendor struct {
	file    string
	swagger bool // Swagger 2.0, converted with openapi2conv
	// fix corrects the description where the vendor's own SDK and service
	// disagree with it; each correction says why.
	fix         func(*openapi3.T) error
	undescribed []Undescribed
	// normalize rewrites an escaped request path before matching.
	normalize func(string) string
}

var vendors = map[string]vendor{
	"acr":       {file: "acr.json", swagger: true, fix: fixACR, normalize: normalizeACR},
	"dockerhub": {file: "dockerhub.json", fix: fixDockerHub, undescribed: dockerHubUndescribed},
	"github":    {file: "github.json", fix: fixGitHub},
	"gitlab":    {file: "gitlab.json", swagger: true},
	"harbor":    {file: "harbor.json", swagger: true, fix: fixHarbor},
}

// Vendors lists the vendors with an embedded description.
func Vendors() []string {
	var out []string
	for v := range vendors {
		out = append(out, v)
	}
	slices.Sort(out)
	return out
}

var (
	cacheMu sync.Mutex
	cache   = map[string]*Spec{}
)

// Load returns the embedded description of vendor ("acr", "dockerhub",
// "github", "gitlab", "harbor"). A Spec is safe for concurrent use.
func Load(vendorName string) (*Spec, error) {
	cacheMu.Lock()
	defer cacheMu.Unlock()
	if s, ok := cache[vendorName]; ok {
		return s, nil
	}
	v, ok := vendors[vendorName]
	if !ok {
		return nil, fmt.Errorf("apispec: no description of %q (have %s)", vendorName, strings.Join(Vendors(), ", "))
	}
	data, err := descriptions.ReadFile("testdata/" + v.file)
	if err != nil {
		return nil, fmt.Errorf("apispec: %s: %w", vendorName, err)
	}
	doc, err := parse(data, v.swagger)
	if err != nil {
		return nil, fmt.Errorf("apispec: %s: %s: %w", vendorName, v.file, err)
	}
	if v.fix != nil {
		if err := v.fix(doc); err != nil {
			return nil, fmt.Errorf("apispec: %s: correcting the description: %w", vendorName, err)
		}
	}
	if err := doc.Validate(context.Background()); err != nil {
		return nil, fmt.Errorf("apispec: %s: %s is not a valid description: %w", vendorName, v.file, err)
	}
	// Match on the path alone: the fakes run on httptest's host and
	// scheme. The server's path (Harbor's /api/v2.0) stays part of it.
	base, err := basePath(doc)
	if err != nil {
		return nil, fmt.Errorf("apispec: %s: %w", vendorName, err)
	}
	doc.Servers = openapi3.Servers{{URL: base}}
	router, err := gorillamux.NewRouter(doc)
	if err != nil {
		return nil, fmt.Errorf("apispec: %s: %w", vendorName, err)
	}
	s := &Spec{Vendor: vendorName, doc: doc, router: router, undescribed: v.undescribed, normalize: v.normalize}
	cache[vendorName] = s
	return s, nil
}

func parse(data []byte, swagger bool) (*openapi3.T, error) {
	if !swagger {
		return openapi3.NewLoader().LoadFromData(data)
	}
	var doc2 openapi2.T
	if err := json.Unmarshal(data, &doc2); err != nil {
		return nil, err
	}
	renameClashingFormParams(&doc2)
	return openapi2conv.ToV3(&doc2)
}

// renameClashingFormParams works around openapi2conv naming the schema of a
// formData parameter after the parameter's key: where a definition has the
// same name (ACR's AccessToken parameter and AccessToken definition), the
// form field would take the definition's schema. The parameter's key is
// renamed; what it describes stays.
func renameClashingFormParams(doc2 *openapi2.T) {
	renamed := map[string]string{}
	for key, p := range doc2.Parameters {
		if _, clash := doc2.Definitions[key]; clash && p.In == "formData" {
			renamed["#/parameters/"+key] = "#/parameters/" + key + "FormField"
			doc2.Parameters[key+"FormField"] = p
			delete(doc2.Parameters, key)
		}
	}
	for _, item := range doc2.Paths {
		ops := []*openapi2.Operation{item.Get, item.Put, item.Post, item.Delete, item.Patch, item.Head, item.Options}
		lists := []openapi2.Parameters{item.Parameters}
		for _, op := range ops {
			if op != nil {
				lists = append(lists, op.Parameters)
			}
		}
		for _, ps := range lists {
			for _, p := range ps {
				if to, ok := renamed[p.Ref]; ok {
					p.Ref = to
				}
			}
		}
	}
}

// basePath is the path part of the description's first server ("" for a
// server at the host's root).
func basePath(doc *openapi3.T) (string, error) {
	if len(doc.Servers) == 0 {
		return "", nil
	}
	u, err := url.Parse(doc.Servers[0].URL)
	if err != nil {
		return "", fmt.Errorf("server URL %q: %w", doc.Servers[0].URL, err)
	}
	return strings.TrimSuffix(u.Path, "/"), nil
}

// Operations lists the described operations as "METHOD /path/template",
// the server's base path included.
func (s *Spec) Operations() []string {
	base := s.doc.Servers[0].URL
	var out []string
	for path, item := range s.doc.Paths.Map() {
		for method := range item.Operations() {
			out = append(out, method+" "+base+path)
		}
	}
	slices.Sort(out)
	return out
}

// undescribedRoute returns the undescribed route the request takes, if any.
func (s *Spec) undescribedRoute(method, escapedPath string) (Undescribed, bool) {
	for _, u := range s.undescribed {
		if u.Method == method && templateMatch(u.Path, escapedPath) {
			return u, true
		}
	}
	return Undescribed{}, false
}

// templateMatch reports whether path fits template segment by segment,
// a {name} segment standing for one non-empty segment.
func templateMatch(template, path string) bool {
	ts, ps := strings.Split(template, "/"), strings.Split(path, "/")
	if len(ts) != len(ps) {
		return false
	}
	for i, t := range ts {
		if strings.HasPrefix(t, "{") && strings.HasSuffix(t, "}") {
			if ps[i] == "" {
				return false
			}
			continue
		}
		if t != ps[i] {
			return false
		}
	}
	return true
}
