package registry

import (
	"strings"
	"testing"

	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"
)

func TestKinds(t *testing.T) {
	want := []Kind{"default", "dockerhub", "ecr", "acr", "gcr", "github", "gitlab", "harbor", "quay", "jfrog", "nexus", "yandex", "selectel"}
	assert.DeepEqual(t, Kinds(), want)

	k := Kinds()
	k[0] = "changed"
	assert.Equal(t, Kinds()[0], Default, "Kinds must return a copy")
}

func TestParseKind(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want Kind
	}{
		{"", ""},
		{"auto", ""},
		{"AUTO", ""},
		{" auto ", ""},
		{"default", Default},
		{"DockerHub", DockerHub},
		{"ECR", ECR},
		{"gitlab", GitLab},
		{"Selectel", Selectel},
		{"jfrog", JFrog},
	} {
		t.Run(tc.in, func(t *testing.T) {
			got, err := ParseKind(tc.in)
			assert.NilError(t, err)
			assert.Equal(t, got, tc.want)
		})
	}
	for _, k := range Kinds() {
		t.Run(string(k), func(t *testing.T) {
			got, err := ParseKind(string(k))
			assert.NilError(t, err)
			assert.Equal(t, got, k)
		})
	}
}

func TestParseKindErrors(t *testing.T) {
	const names = "auto, default, dockerhub, ecr, acr, gcr, github, gitlab, harbor, quay, jfrog, nexus, yandex, selectel"
	for _, in := range []string{"foo", "docker-hub", "gitlab.com", "artifactory"} {
		t.Run(in, func(t *testing.T) {
			_, err := ParseKind(in)
			assert.Error(t, err, `unknown container registry "`+in+`": expected one of `+names)
		})
	}
	t.Run("long input is truncated", func(t *testing.T) {
		_, err := ParseKind(strings.Repeat("x", 1<<20))
		assert.ErrorContains(t, err, "(1048576 bytes)")
		assert.Check(t, len(err.Error()) < 400, "error is %d bytes", len(err.Error()))
	})
	t.Run("nothing but whitespace means auto", func(t *testing.T) {
		k, err := ParseKind(" \t")
		assert.NilError(t, err)
		assert.Check(t, is.Equal(k, Kind("")))
	})
}
