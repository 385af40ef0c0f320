package kubescan

import (
	"testing"

	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"
)

const testDigest = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

func TestParseRef(t *testing.T) {
	tests := []struct {
		in   string
		want Ref
		ok   bool
	}{
		{"nginx", Ref{Name: "docker.io/library/nginx", Tag: "latest"}, true},
		{"nginx:1.27", Ref{Name: "docker.io/library/nginx", Tag: "1.27"}, true},
		{"library/nginx:1.27", Ref{Name: "docker.io/library/nginx", Tag: "1.27"}, true},
		{"docker.io/nginx:1.27", Ref{Name: "docker.io/library/nginx", Tag: "1.27"}, true},
		{"docker.io/library/nginx:1.27", Ref{Name: "docker.io/library/nginx", Tag: "1.27"}, true},
		{"index.docker.io/library/nginx:1.27", Ref{Name: "docker.io/library/nginx", Tag: "1.27"}, true},
		{"index.docker.io/nginx:1.27", Ref{Name: "docker.io/library/nginx", Tag: "1.27"}, true},
		{"registry-1.docker.io/nginx:1.27", Ref{Name: "docker.io/library/nginx", Tag: "1.27"}, true},
		{"user/app:v1", Ref{Name: "docker.io/user/app", Tag: "v1"}, true},
		{"registry.example.com/group/app:v1", Ref{Name: "registry.example.com/group/app", Tag: "v1"}, true},
		{"Registry.Example.COM/group/app:v1", Ref{Name: "registry.example.com/group/app", Tag: "v1"}, true},
		{"localhost:5000/app", Ref{Name: "localhost:5000/app", Tag: "latest"}, true},
		{"127.0.0.1:5000/app:v1", Ref{Name: "127.0.0.1:5000/app", Tag: "v1"}, true},
		{"registry.example.com/app@" + testDigest, Ref{Name: "registry.example.com/app", Digest: testDigest}, true},
		{"registry.example.com/app:v1@" + testDigest, Ref{Name: "registry.example.com/app", Tag: "v1", Digest: testDigest}, true},
		{"docker-pullable://registry.example.com/app@" + testDigest, Ref{Name: "registry.example.com/app", Digest: testDigest}, true},
		{"docker-pullable://nginx@" + testDigest, Ref{Name: "docker.io/library/nginx", Digest: testDigest}, true},
		// Bare image IDs (the config digest) name no repository.
		{testDigest, Ref{}, false},
		{"docker://" + testDigest, Ref{}, false},
		{"", Ref{}, false},
		{"registry.example.com/App:v1", Ref{}, false},
		// As in docker, an upper-case first component is a host.
		{"Host/app:v1", Ref{Name: "host/app", Tag: "v1"}, true},
		{"app:bad tag", Ref{}, false},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			got, ok := ParseRef(tc.in)
			assert.Check(t, is.Equal(ok, tc.ok))
			assert.Check(t, is.DeepEqual(got, tc.want))
		})
	}
}

func TestMatch(t *testing.T) {
	use := func(ns, kind, name, image string) Use {
		return Use{Context: "prod", Namespace: ns, Kind: kind, Name: name, Image: image}
	}
	uses := []Use{
		use("web", "Deployment", "api", "registry.example.com/app:v1"),
		use("web", "Pod", "api-1", "registry.example.com/app:v1"),
		use("web", "Pod", "api-1", "docker-pullable://registry.example.com/app@"+testDigest),
		// The same Pod names the tag again in its status: listed once.
		use("web", "Pod", "api-1", "registry.example.com/app:v1"),
		use("jobs", "CronJob", "nightly", "registry.example.com/app"),
		use("web", "Deployment", "other", "registry.example.com/other:v1"),
		use("web", "Deployment", "prefix", "registry.example.com/app2:v1"),
		use("web", "Deployment", "hub", "nginx:v1"),
		use("web", "Deployment", "broken", "::"),
	}
	got := Match("registry.example.com/app", uses)
	assert.DeepEqual(t, got, InRepo{
		Tags: map[string][]Use{
			"v1":     {uses[0], uses[1]},
			"latest": {uses[4]},
		},
		Digests: map[string][]Use{testDigest: {uses[2]}},
	})

	hub := Match("docker.io/library/nginx", uses)
	assert.DeepEqual(t, hub.Tags, map[string][]Use{"v1": {uses[7]}})
}

func TestObjectUses(t *testing.T) {
	// Every place a pod spec and a Pod status name an image.
	body := `{"metadata":{"continue":"next"},"items":[
	 {"metadata":{"name":"p","namespace":"ns"},
	  "spec":{"containers":[{"image":"a:1"}],"initContainers":[{"image":"b:1"}],"ephemeralContainers":[{"image":"c:1"}]},
	  "status":{"containerStatuses":[{"image":"a:1","imageID":"a@` + testDigest + `"}],
	            "initContainerStatuses":[{"image":"b:1","imageID":""}],
	            "ephemeralContainerStatuses":[{"image":"c:1","imageID":"c@` + testDigest + `"}]}},
	 {"metadata":{"name":"d","namespace":"ns"},"spec":{"template":{"spec":{"containers":[{"image":"d:1"}],"initContainers":[{"image":"e:1"}]}}}},
	 {"metadata":{"name":"cj","namespace":"ns"},"spec":{"jobTemplate":{"spec":{"template":{"spec":{"containers":[{"image":"f:1"}]}}}}}}
	]}`
	l, err := decodeList([]byte(body))
	assert.NilError(t, err)
	assert.Equal(t, l.Metadata.Continue, "next")
	var images []string
	for i := range l.Items {
		for _, u := range l.Items[i].uses(nil, "ctx", "K") {
			assert.Check(t, is.Equal(u.Context, "ctx"))
			assert.Check(t, is.Equal(u.Namespace, "ns"))
			images = append(images, u.Name+"="+u.Image)
		}
	}
	assert.DeepEqual(t, images, []string{
		"p=a:1", "p=b:1", "p=c:1", "p=a:1", "p=a@" + testDigest, "p=b:1", "p=c:1", "p=c@" + testDigest,
		"d=d:1", "d=e:1", "cj=f:1",
	})
}
