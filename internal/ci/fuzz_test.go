package ci

import (
	"strings"
	"testing"
)

func FuzzSlug(f *testing.F) {
	for _, s := range []string{
		"", "main", "feature/JIRA-123", "-data", "da/ta", strings.Repeat("x", 129), "$(rm -rf /)", "a\nb",
		"Café/Straße", "фича", "🚀", "\xff\xfe", strings.Repeat("a", 118) + "/bbbbbbbbbbbbbbbbbbbb", ".", "_",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got := Slug(s)
		if s == "" {
			if got != "" {
				t.Fatalf("Slug(%q) = %q, want empty", s, got)
			}
			return
		}
		if !validTag(got) {
			t.Fatalf("Slug(%q) = %q: not a valid docker tag", s, got)
		}
		if again := Slug(s); again != got {
			t.Fatalf("Slug(%q) not deterministic: %q then %q", s, got, again)
		}
		if Slug(got) != got {
			t.Fatalf("Slug(%q) = %q is not a fixed point", s, got)
		}
		if validTag(s) && got != s {
			t.Fatalf("valid tag %q changed to %q", s, got)
		}
	})
}

// FuzzVariables feeds arbitrary values to every system: reading never
// panics, and the docker tags it derives are always valid.
func FuzzVariables(f *testing.F) {
	f.Add("feature/x", "v1.0.0", "$(id)", "https://user:pw@example.com/a.git")
	f.Add("", "", "", "git@host:a/b.git")
	f.Add("a\nb", "\x00", "'\"`", "::::")
	f.Fuzz(func(t *testing.T, branch, tag, envName, url string) {
		values := map[string]string{}
		for _, s := range systems() {
			for _, n := range s.Commit {
				values[n] = "0123456789abcdef0123456789abcdef01234567"
			}
		}
		for _, n := range []string{
			"CI_COMMIT_BRANCH", "GITHUB_REF_NAME", "GITHUB_HEAD_REF", "BITBUCKET_BRANCH", "CIRCLE_BRANCH",
			"BRANCH_NAME", "CHANGE_BRANCH", "BUILDKITE_BRANCH", "DRONE_BRANCH", "DRONE_SOURCE_BRANCH",
			"TRAVIS_BRANCH", "TRAVIS_PULL_REQUEST_BRANCH", "SYSTEM_PULLREQUEST_SOURCEBRANCH",
		} {
			values[n] = branch
		}
		values["BUILD_SOURCEBRANCH"] = "refs/heads/" + branch
		for _, n := range []string{"CI_COMMIT_TAG", "BITBUCKET_TAG", "CIRCLE_TAG", "TAG_NAME", "BUILDKITE_TAG", "DRONE_TAG", "TRAVIS_TAG"} {
			values[n] = tag
		}
		for _, n := range []string{"CI_ENVIRONMENT_SLUG", "BITBUCKET_DEPLOYMENT_ENVIRONMENT", "DRONE_DEPLOY_TO", "GITHUB_REPOSITORY", "GITHUB_SERVER_URL"} {
			values[n] = envName
		}
		for _, n := range []string{"CI_PROJECT_URL", "GIT_URL", "BUILDKITE_REPO", "CIRCLE_REPOSITORY_URL", "BUILD_REPOSITORY_URI", "CI_REGISTRY_IMAGE", "SYSTEM_COLLECTIONURI"} {
			values[n] = url
		}
		for _, name := range Systems() {
			job, err := ReadJob(name, func(k string) string { return values[k] })
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			vars, err := Variables(job, Options{})
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			for _, v := range vars {
				if (v.Name == "WERF_TAG_GIT_BRANCH" || v.Name == "WERF_TAG_GIT_TAG") && !validTag(v.Value) {
					t.Fatalf("%s: %s=%q", name, v.Name, v.Value)
				}
				if v.Value == "" {
					t.Fatalf("%s: %s is empty", name, v.Name)
				}
			}
		}
	})
}
