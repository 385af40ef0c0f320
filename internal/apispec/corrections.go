package apispec

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/getkin/kin-openapi/openapi3"
)

// Where a vendor's description and its own SDK and service disagree, the
// description is corrected here, each correction with its reason, so that
// the fakes follow the service.

// fixDockerHub: the description types a tag's "images" as one image object
// ("type: object" beside a $ref, which OpenAPI 3.0 ignores), but Docker Hub
// answers with an array of images, and docker/hub-tool (pkg/hub/tags.go)
// decodes it as one.
func fixDockerHub(doc *openapi3.T) error {
	tag := doc.Components.Schemas["tag"]
	if tag == nil || tag.Value == nil || tag.Value.Properties["images"] == nil {
		return fmt.Errorf("schema tag.images is gone: review this correction")
	}
	image := doc.Components.Schemas["image"]
	tag.Value.Properties["images"] = openapi3.NewSchemaRef("", openapi3.NewArraySchema().WithItems(image.Value))
	return nil
}

// dockerHubUndescribed: the published description has no way to delete a
// tag; docker/hub-tool (pkg/hub/tags.go, RemoveTag) and Docker's own web UI
// use this route.
var dockerHubUndescribed = []Undescribed{{
	Method: "DELETE",
	Path:   "/v2/repositories/{namespace}/{repository}/tags/{tag}/",
	Why:    "not in Docker Hub's description; docker/hub-tool's RemoveTag route",
}}

// acrName escapes the slashes of a repository name ("team/app") in ACR
// paths: the description's {name} is "the name of the image (including the
// namespace)", one parameter that may hold slashes, which a path template
// segment cannot.
var acrName = []*regexp.Regexp{
	regexp.MustCompile(`^(/v2/)(.+)(/(?:manifests|blobs|tags)/.*)$`),
	regexp.MustCompile(`^(/acr/v1/)(.+?)(/_(?:tags|manifests)(?:/.*)?)$`),
}

func normalizeACR(escapedPath string) string {
	for _, re := range acrName {
		if m := re.FindStringSubmatch(escapedPath); m != nil && m[2] != "_catalog" {
			return m[1] + strings.ReplaceAll(m[2], "/", "%2F") + m[3]
		}
	}
	return escapedPath
}

// fixGitHub: "List package versions for a package owned by a user" describes
// no page or per_page, while its organisation and authenticated-user twins
// do and GitHub pages every list ("Using pagination in the REST API",
// https://docs.github.com/rest/using-the-rest-api/using-pagination-in-the-rest-api).
// Without them a client paging that list would be refused here.
func fixGitHub(doc *openapi3.T) error {
	item := doc.Paths.Value("/users/{username}/packages/{package_type}/{package_name}/versions")
	if item == nil || item.Get == nil {
		return fmt.Errorf("the user package versions list is gone: review this correction")
	}
	for _, p := range item.Get.Parameters {
		if p.Value != nil && (p.Value.Name == "page" || p.Value.Name == "per_page") {
			return fmt.Errorf("the user package versions list describes %s now: drop this correction", p.Value.Name)
		}
	}
	for _, name := range []string{"page", "per-page"} {
		p := doc.Components.Parameters[name]
		if p == nil {
			return fmt.Errorf("parameter %s is gone: review this correction", name)
		}
		item.Get.Parameters = append(item.Get.Parameters, &openapi3.ParameterRef{Ref: "#/components/parameters/" + name, Value: p.Value})
	}
	return nil
}
