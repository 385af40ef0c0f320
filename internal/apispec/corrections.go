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
//
// It types "v2" as a string; the Hub answers true, and hub-tool decodes
// `V2 bool json:"v2"`.
func fixDockerHub(doc *openapi3.T) error {
	tag := doc.Components.Schemas["tag"]
	if tag == nil || tag.Value == nil || tag.Value.Properties["images"] == nil || tag.Value.Properties["v2"] == nil {
		return fmt.Errorf("schema tag.images or tag.v2 is gone: review this correction")
	}
	image := doc.Components.Schemas["image"]
	tag.Value.Properties["images"] = openapi3.NewSchemaRef("", openapi3.NewArraySchema().WithItems(image.Value))
	tag.Value.Properties["v2"] = openapi3.NewSchemaRef("", openapi3.NewBoolSchema())
	return nil
}

// fixHarbor: the description types every extra_attrs value as an object,
// but Harbor fills them from the image config with strings
// (src/controller/artifact/processor/image/manifest_v1.go sets
// ExtraAttrs["architecture"] = mani.Architecture; src/pkg/artifact/model.go
// declares map[string]any). Harbor's go-swagger models serialize an empty
// list or map as null unless the description says x-omitempty, which it
// says only for inherited_accessories: labels, accessories and annotations
// may be null.
func fixHarbor(doc *openapi3.T) error {
	extra, art := doc.Components.Schemas["ExtraAttrs"], doc.Components.Schemas["Artifact"]
	if extra == nil || art == nil {
		return fmt.Errorf("schema ExtraAttrs or Artifact is gone: review this correction")
	}
	extra.Value.AdditionalProperties = openapi3.AdditionalProperties{Schema: openapi3.NewSchemaRef("", &openapi3.Schema{})}
	for _, name := range []string{"labels", "accessories", "annotations"} {
		p := art.Value.Properties[name]
		if p == nil {
			return fmt.Errorf("Artifact.%s is gone: review this correction", name)
		}
		v := *p.Value
		v.Nullable = true
		art.Value.Properties[name] = openapi3.NewSchemaRef("", &v)
	}
	return nil
}

// fixACR: GET /v2/{name}/manifests/{reference} answers with the manifest's
// own media type (the description's accept parameter names them, and the
// Distribution spec ACR implements says so), not application/json. And an
// error's "detail" is unstructured in the Distribution spec (ACR answers an
// array for a 401), not an object.
func fixACR(doc *openapi3.T) error {
	item := doc.Paths.Value("/v2/{name}/manifests/{reference}")
	if item == nil || item.Get == nil || item.Get.Responses.Status(200) == nil {
		return fmt.Errorf("GET /v2/{name}/manifests/{reference} is gone: review this correction")
	}
	ok := item.Get.Responses.Status(200).Value
	mt := ok.Content.Get("application/json")
	if mt == nil {
		return fmt.Errorf("the manifest answer has no application/json content: review this correction")
	}
	for _, t := range []string{
		"application/vnd.oci.image.manifest.v1+json", "application/vnd.oci.image.index.v1+json",
		"application/vnd.docker.distribution.manifest.v2+json", "application/vnd.docker.distribution.manifest.list.v2+json",
	} {
		ok.Content[t] = mt
	}
	info := doc.Components.Schemas["AcrErrorInfo"]
	if info == nil || info.Value.Properties["detail"] == nil {
		return fmt.Errorf("AcrErrorInfo.detail is gone: review this correction")
	}
	info.Value.Properties["detail"] = openapi3.NewSchemaRef("", &openapi3.Schema{Nullable: true})
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
	// GitHub's Link headers name the owner by its numeric id:
	// /organizations/{id}/… for an organisation and /user/{id}/… for a user
	// (see "Using pagination in the REST API"). These are the same lists;
	// the description has only the by-name paths.
	aliases := map[string]string{
		"/organizations/{org}/packages/{package_type}/{package_name}/versions": "/orgs/{org}/packages/{package_type}/{package_name}/versions",
		"/user/{username}/packages/{package_type}/{package_name}/versions":     "/users/{username}/packages/{package_type}/{package_name}/versions",
	}
	for alias, path := range aliases {
		op := *doc.Paths.Value(path).Get
		op.OperationID += "-by-id"
		doc.Paths.Set(alias, &openapi3.PathItem{Get: &op})
	}
	return nil
}
