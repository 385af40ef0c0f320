package registry_test

import (
	"fmt"

	"github.com/docker-werf/docker-werf/internal/registry"
)

func ExampleHostKey() {
	for _, server := range []string{"https://index.docker.io/v1/", "Registry.Example.com:5000/group/app", "ftp://x"} {
		key, err := registry.HostKey(server)
		fmt.Printf("%q %v\n", key, err)
	}
	// Output:
	// "docker.io" <nil>
	// "registry.example.com:5000" <nil>
	// "" invalid registry address "ftp://x": unsupported scheme "ftp", expected http://, https:// or none
}

func ExampleDetectKind() {
	env := func(key string) string {
		return map[string]string{"CI_REGISTRY": "gitlab.example.com:5050"}[key]
	}
	fmt.Println(registry.DetectKind("gitlab.example.com:5050", env))
	fmt.Println(registry.DetectKind("europe-west1-docker.pkg.dev", nil))
	fmt.Println(registry.DetectKind("registry.example.com", nil))
	// Output:
	// gitlab
	// gcr
	// default
}

func ExampleParseRepository() {
	r, err := registry.ParseRepository("123456789012.dkr.ecr.eu-west-1.amazonaws.com/team/app", "", nil)
	fmt.Println(r.Host, r.Path, r.Kind, r.KindSource, r.ECR.Account, r.ECR.Region, err)

	_, err = registry.ParseRepository("ghcr.io/owner/app:v1", "", nil)
	fmt.Println(err)
	// Output:
	// 123456789012.dkr.ecr.eu-west-1.amazonaws.com team/app ecr detected 123456789012 eu-west-1 <nil>
	// invalid repository "ghcr.io/owner/app:v1": it has a tag; expected a repository without a tag or digest, e.g. "ghcr.io/owner/app"
}
