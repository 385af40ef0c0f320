package ci

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"
	"gotest.tools/v3/golden"

	"github.com/docker-werf/docker-werf/internal/registry"
)

// fixture is a testdata/<system>/<case>.env file: KEY=VALUE lines, the
// value verbatim to the end of the line, as the CI system sets it;
// "#option Field=value" lines fill Options; other "#" lines are comments.
type fixture struct {
	env  map[string]string
	opts Options
}

func readFixture(t *testing.T, path string) fixture {
	t.Helper()
	f, err := os.Open(path)
	assert.NilError(t, err)
	defer f.Close()
	fx := fixture{env: map[string]string{}}
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		if opt, ok := strings.CutPrefix(line, "#option "); ok {
			k, v, _ := strings.Cut(opt, "=")
			switch k {
			case "Repo":
				fx.opts.Repo = v
			case "Env":
				fx.opts.Env = v
			case "Branch":
				fx.opts.Branch = v
			case "Tag":
				fx.opts.Tag = v
			case "Commit":
				fx.opts.Commit = v
			case "ProjectURL":
				fx.opts.ProjectURL = v
			default:
				t.Fatalf("%s:%d: unknown option %q", path, n, k)
			}
			continue
		}
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		assert.Assert(t, ok, "%s:%d: expected KEY=VALUE", path, n)
		fx.env[k] = v
	}
	assert.NilError(t, sc.Err())
	return fx
}

func (fx fixture) lookup(k string) string { return fx.env[k] }

// render writes the golden form: a header with the job's kind, temp dir and
// notes, then one "NAME=VALUE  # source [section, overwrite|keep, secret]"
// line per variable. Secrets are masked; values with control characters
// are quoted.
func render(job Job, vars []Var) string {
	var b strings.Builder
	fmt.Fprintf(&b, "# system=%s kind=%s temp-dir=%q\n", job.System, job.Kind, job.TempDir)
	for _, n := range job.Notes {
		fmt.Fprintf(&b, "# note: %s\n", n)
	}
	for _, v := range vars {
		value := v.Value
		if v.Secret {
			value = "<secret>"
		} else if strings.ContainsFunc(value, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
			value = strconv.Quote(value)
		}
		flags := []string{v.Section, "keep"}
		if v.Overwrite {
			flags[1] = "overwrite"
		}
		if v.Secret {
			flags = append(flags, "secret")
		}
		fmt.Fprintf(&b, "%s=%s  # %s [%s]\n", v.Name, value, v.Source, strings.Join(flags, ", "))
	}
	return b.String()
}

func TestGolden(t *testing.T) {
	for _, system := range Systems() {
		files, err := filepath.Glob(filepath.Join("testdata", system, "*.env"))
		assert.NilError(t, err)
		for _, want := range []string{"branch", "tag", "pr"} {
			assert.Check(t, slices.Contains(files, filepath.Join("testdata", system, want+".env")),
				"missing testdata/%s/%s.env", system, want)
		}
		for _, file := range files {
			name := strings.TrimSuffix(filepath.Base(file), ".env")
			t.Run(system+"/"+name, func(t *testing.T) {
				fx := readFixture(t, file)
				job, err := ReadJob(system, fx.lookup)
				assert.NilError(t, err)
				vars, err := Variables(job, fx.opts)
				assert.NilError(t, err)
				golden.Assert(t, render(applyOptions(job, fx.opts), vars), filepath.Join(system, name+".golden"))
				checkInvariants(t, job, vars)
			})
		}
	}
}

// checkInvariants holds for every fixture: the kinds match the file name,
// tags are valid, names are unique, nothing is empty.
func checkInvariants(t *testing.T, job Job, vars []Var) {
	t.Helper()
	seen := map[string]bool{}
	for _, v := range vars {
		assert.Check(t, !seen[v.Name], "duplicate %s", v.Name)
		seen[v.Name] = true
		assert.Check(t, v.Value != "", "%s is empty", v.Name)
		assert.Check(t, v.Source != "", "%s has no source", v.Name)
		assert.Check(t, strings.HasPrefix(v.Name, "WERF_"), v.Name)
		if v.Name == "WERF_TAG_GIT_TAG" || v.Name == "WERF_TAG_GIT_BRANCH" {
			assert.Check(t, validTag(v.Value), "%s=%q", v.Name, v.Value)
		}
	}
	assert.Check(t, !(job.Branch != "" && job.Tag != ""), "both branch and tag")
}

func TestKindsOfFixtures(t *testing.T) {
	for _, system := range Systems() {
		for file, want := range map[string]Kind{"branch": KindBranch, "tag": KindTag, "pr": KindMergeRequest} {
			if system == "teamcity" && file == "pr" || system == Generic && file == "pr" {
				want = KindOther // neither can tell a merge request from the environment
			}
			fx := readFixture(t, filepath.Join("testdata", system, file+".env"))
			job, err := ReadJob(system, fx.lookup)
			assert.NilError(t, err)
			vars, err := Variables(job, fx.opts)
			assert.NilError(t, err)
			assert.Check(t, is.Equal(applyOptions(job, fx.opts).Kind, want), "%s/%s", system, file)
			names := map[string]bool{}
			for _, v := range vars {
				names[v.Name] = true
			}
			switch want {
			case KindTag:
				assert.Check(t, names["WERF_TAG_GIT_TAG"] && names["WERF_ADD_ANNOTATION_CI_GIT_TAG"], "%s/%s", system, file)
			case KindBranch, KindMergeRequest:
				assert.Check(t, names["WERF_TAG_GIT_BRANCH"], "%s/%s", system, file)
			}
		}
	}
}

func TestEverySystemIsDetectedAndKeyed(t *testing.T) {
	got := Systems()
	assert.Equal(t, got[len(got)-1], Generic)
	for _, s := range systems() {
		assert.Check(t, len(s.Detect.When) > 0, "%s has no detection rule", s.Name)
		required := slices.ContainsFunc(s.Detect.Key, func(p part) bool { return !p.Optional })
		assert.Check(t, required, "%s: a job key of optional parts only is never missing", s.Name)
	}
}

func TestDetectedSystemReadsFixture(t *testing.T) {
	// Each fixture is detected as its own system, so the command can pass
	// Detect's name to ReadJob.
	for _, system := range Systems() {
		if system == Generic {
			continue
		}
		fx := readFixture(t, filepath.Join("testdata", system, "branch.env"))
		got, ok := Detect(fx.lookup)
		assert.Check(t, ok, system)
		assert.Check(t, is.Equal(got.Name, system))
	}
}

func TestReadJobErrors(t *testing.T) {
	tests := []struct {
		system string
		env    map[string]string
		want   string
	}{
		{system: "buildkite", env: map[string]string{"BUILDKITE_COMMIT": "HEAD"},
			want: `buildkite: BUILDKITE_COMMIT is "HEAD", not a commit SHA (needed for WERF_ADD_ANNOTATION_CI_COMMIT)`},
		{system: "teamcity", env: map[string]string{"BUILD_VCS_NUMBER": "$(id)\n"},
			want: `teamcity: BUILD_VCS_NUMBER is "$(id)", not a commit SHA (needed for WERF_ADD_ANNOTATION_CI_COMMIT)`},
		{system: "nope", want: `unknown CI system "nope": expected one of gitlab, forgejo, gitea, github, bitbucket, ` +
			`azure-pipelines, circleci, jenkins, buildkite, woodpecker, drone, teamcity, travis, generic`},
	}
	for _, tc := range tests {
		t.Run(tc.system, func(t *testing.T) {
			_, err := ReadJob(tc.system, func(k string) string { return tc.env[k] })
			assert.Error(t, err, tc.want)
		})
	}
}

// TestReadJobMissingCommit: a job without its commit SHA (a local run of a
// CI script) is read, with no commit annotation, and says which variable
// was missing.
func TestReadJobMissingCommit(t *testing.T) {
	tests := []struct {
		system string
		env    map[string]string
		want   string
	}{
		{"gitlab", map[string]string{"GITLAB_CI": "true"}, "CI_COMMIT_SHA"},
		{"github", map[string]string{"GITHUB_ACTIONS": "true", "GITHUB_SHA": "  "}, "GITHUB_SHA"},
		{"forgejo", nil, "FORGEJO_SHA (or GITHUB_SHA)"},
		{"drone", map[string]string{"DRONE": "true"}, "DRONE_COMMIT_SHA (or DRONE_COMMIT)"},
		{"woodpecker", map[string]string{"CI": "woodpecker", "CI_PIPELINE_NUMBER": "3"}, "CI_COMMIT_SHA"},
		{"travis", nil, "TRAVIS_COMMIT"},
	}
	for _, tc := range tests {
		t.Run(tc.system, func(t *testing.T) {
			job, err := ReadJob(tc.system, func(k string) string { return tc.env[k] })
			assert.NilError(t, err)
			assert.Check(t, is.Equal(job.MissingCommit, tc.want))
			vars, err := Variables(job, Options{})
			assert.NilError(t, err)
			assert.Check(t, !slices.ContainsFunc(vars, func(v Var) bool { return v.Name == "WERF_ADD_ANNOTATION_CI_COMMIT" }))
		})
	}
}

func TestReadJobNilEnv(t *testing.T) {
	job, err := ReadJob("generic", nil)
	assert.NilError(t, err)
	assert.Equal(t, job.Kind, KindOther)
	job, err = ReadJob("travis", nil)
	assert.NilError(t, err)
	assert.Equal(t, job.MissingCommit, "TRAVIS_COMMIT")
}

func TestReadJobSystemNameIsCaseInsensitive(t *testing.T) {
	job, err := ReadJob(" GitLab ", func(k string) string {
		return map[string]string{"CI_COMMIT_SHA": "0123456789abcdef0123456789abcdef01234567"}[k]
	})
	assert.NilError(t, err)
	assert.Equal(t, job.System, "gitlab")
}

func TestOptionsOverride(t *testing.T) {
	fx := readFixture(t, filepath.Join("testdata", "gitlab", "branch.env"))
	job, err := ReadJob("gitlab", fx.lookup)
	assert.NilError(t, err)
	vars, err := Variables(job, Options{Repo: "quay.io/acme/backend", Env: "qa", Tag: "v9"})
	assert.NilError(t, err)
	got := map[string]Var{}
	for _, v := range vars {
		got[v.Name] = v
	}
	assert.Equal(t, got["WERF_REPO"].Value, "quay.io/acme/backend")
	assert.Equal(t, got["WERF_REPO"].Source, "--repo")
	assert.Assert(t, got["WERF_REPO"].Overwrite)
	// Not on CI_REGISTRY: werf detects quay itself.
	assert.Assert(t, is.Len(got["WERF_REPO_CONTAINER_REGISTRY"].Value, 0))
	assert.Equal(t, got["WERF_ENV"].Value, "qa")
	assert.Equal(t, got["WERF_TAG_GIT_TAG"].Value, "v9")
	assert.Assert(t, is.Len(got["WERF_TAG_GIT_BRANCH"].Value, 0))
	// The job itself is not changed.
	assert.Equal(t, job.Sources["Repo"], "CI_REGISTRY_IMAGE")
}

func TestInvalidRepoOption(t *testing.T) {
	_, err := Variables(Job{System: Generic}, Options{Repo: "Registry.example.com/App"})
	assert.ErrorContains(t, err, "upper-case")
}

func TestInvalidDerivedRepoIsANote(t *testing.T) {
	env := map[string]string{
		"GITHUB_SHA": "ffac537e6cbbf934b08745a378932722df287a53", "GITHUB_REPOSITORY": "octo-org/.github",
		"GITHUB_SERVER_URL": "https://github.com",
	}
	job, err := ReadJob("github", func(k string) string { return env[k] })
	assert.NilError(t, err)
	assert.Equal(t, job.Repo, "")
	assert.Assert(t, is.Len(job.Notes, 1))
	assert.ErrorContains(t, fmt.Errorf("%s", job.Notes[0]), "ghcr.io/octo-org/.github")
}

func TestGitHubEnterpriseHasNoRepo(t *testing.T) {
	env := map[string]string{
		"GITHUB_SHA": "ffac537e6cbbf934b08745a378932722df287a53", "GITHUB_REPOSITORY": "team/app",
		"GITHUB_SERVER_URL": "https://github.acme.internal", "GITHUB_RUN_ID": "77",
	}
	job, err := ReadJob("github", func(k string) string { return env[k] })
	assert.NilError(t, err)
	assert.Equal(t, job.Repo, "")
	assert.Equal(t, job.ProjectURL, "https://github.acme.internal/team/app")
	assert.Equal(t, job.PipelineURL, "https://github.acme.internal/team/app/actions/runs/77")
}

func TestHostileValuesAreCarried(t *testing.T) {
	branch := "x\"; $(touch /tmp/pwned) `id` '\n\x00"
	env := map[string]string{
		"CI_COMMIT_SHA": "1ecfd275763eff1d6b4844ea3168962458c9f27a", "CI_COMMIT_BRANCH": branch,
		"CI_ENVIRONMENT_SLUG": "$(id)", "CI_PROJECT_URL": "https://gitlab.com/a/b'$(id)",
	}
	job, err := ReadJob("gitlab", func(k string) string { return env[k] })
	assert.NilError(t, err)
	vars, err := Variables(job, Options{})
	assert.NilError(t, err)
	got := map[string]string{}
	for _, v := range vars {
		got[v.Name] = v.Value
	}
	assert.Equal(t, got["WERF_ENV"], "$(id)") // carried; the renderer quotes
	assert.Assert(t, validTag(got["WERF_TAG_GIT_BRANCH"]), got["WERF_TAG_GIT_BRANCH"])
	assert.Equal(t, got["WERF_TAG_GIT_BRANCH"], Slug(strings.TrimSpace(branch)))
	assert.Equal(t, got["WERF_ADD_ANNOTATION_PROJECT_GIT"], "project.werf.io/git=https://gitlab.com/a/b%27$%28id%29")
}

func TestGitHubToken(t *testing.T) {
	fx := readFixture(t, filepath.Join("testdata", "github", "branch.env"))
	job, err := ReadJob("github", fx.lookup)
	assert.NilError(t, err)
	vars, err := Variables(job, Options{})
	assert.NilError(t, err)
	i := slices.IndexFunc(vars, func(v Var) bool { return v.Name == "WERF_REPO_GITHUB_TOKEN" })
	assert.Assert(t, i >= 0)
	assert.Equal(t, vars[i].Value, fx.env["GITHUB_TOKEN"])
	assert.Assert(t, vars[i].Secret && !vars[i].Overwrite)
	for _, v := range vars {
		if v.Name != "WERF_REPO_GITHUB_TOKEN" {
			assert.Check(t, !v.Secret, v.Name)
			assert.Check(t, !strings.Contains(v.Value, fx.env["GITHUB_TOKEN"]), v.Name)
		}
	}
}

func TestWebURL(t *testing.T) {
	for in, want := range map[string]string{
		"https://gitlab.com/acme/app":                                   "https://gitlab.com/acme/app",
		"https://github.com/acme/app.git":                               "https://github.com/acme/app",
		"https://github.com/acme/app/":                                  "https://github.com/acme/app",
		"HTTPS://bot:ghp_x@github.com/acme/app.git?x=1#frag":            "https://github.com/acme/app",
		"git@github.com:acme/app.git":                                   "https://github.com/acme/app",
		"org-123@bitbucket.org:acme/app.git":                            "https://bitbucket.org/acme/app",
		"ssh://git@git.example.com:2222/group/sub/app.git":              "https://git.example.com/group/sub/app",
		"https://fabrikam@dev.azure.com/fabrikam/My%20Project/_git/web": "https://dev.azure.com/fabrikam/My%20Project/_git/web",
		"http://bitbucket.org/acme/app":                                 "http://bitbucket.org/acme/app",
		"/srv/git/app.git":                                              "",
		"file:///srv/git/app.git":                                       "",
		"C:\\repos\\app":                                                "",
		"":                                                              "",
	} {
		assert.Check(t, is.Equal(webURL(in), want), "%q", in)
	}
}

func TestContainerRegistry(t *testing.T) {
	tests := []struct {
		repo, ciRegistry, want string
	}{
		{"registry.example.com:5050/a/b", "registry.example.com:5050", "gitlab"},
		{"registry.example.com:5050/a/b", "registry.other.com", ""},
		{"registry.gitlab.com/a/b", "", "gitlab"},
		{"ghcr.io/a/b", "", "github"},
		{"quay.io/a/b", "", ""},
		{"harbor.example.com/a/b", "registry.example.com", ""},
	}
	for _, tc := range tests {
		repo, err := registry.ParseRepository(tc.repo, "", registryEnv(tc.ciRegistry))
		assert.NilError(t, err)
		got, why := containerRegistry(repo, tc.ciRegistry)
		assert.Check(t, is.Equal(got, tc.want), tc.repo)
		assert.Check(t, (got == "") == (why == ""), tc.repo)
	}
}

func TestGitLabColor(t *testing.T) {
	for version, want := range map[string]string{
		"": "on", "12.1.3": "on", "12.1.4": "off", "12.1.17-ee": "off", "12.2.0": "on", "18.5.0-pre": "on",
		"112.1.4": "on",
	} {
		got, _ := gitlabColor(func(k string) string {
			if k == "CI_SERVER_VERSION" {
				return version
			}
			return ""
		})
		assert.Check(t, is.Equal(got, want), version)
	}
}

func TestVariablesOrderIsStable(t *testing.T) {
	fx := readFixture(t, filepath.Join("testdata", "gitlab", "tag.env"))
	job, err := ReadJob("gitlab", fx.lookup)
	assert.NilError(t, err)
	first, err := Variables(job, Options{})
	assert.NilError(t, err)
	for range 20 {
		again, err := Variables(job, Options{})
		assert.NilError(t, err)
		assert.DeepEqual(t, again, first)
	}
	sections := []string{SectionRepo, SectionTagging, SectionDeploy, SectionCleanup, SectionOther}
	last := 0
	for _, v := range first {
		i := slices.Index(sections, v.Section)
		assert.Assert(t, i >= last, "%s in section %s after %s", v.Name, v.Section, sections[last])
		last = i
	}
}

func TestMissingCommitCanComeFromOptions(t *testing.T) {
	env := map[string]string{"TEAMCITY_VERSION": "2025.03", "BUILD_NUMBER": "7"}
	job, err := ReadJob("teamcity", func(k string) string { return env[k] })
	assert.NilError(t, err)
	assert.Equal(t, job.MissingCommit, "BUILD_VCS_NUMBER")
	assert.Equal(t, job.System, "teamcity")
	assert.Equal(t, job.ColorMode, "on")
	vars, err := Variables(job, Options{Commit: "0123456789abcdef0123456789abcdef01234567"})
	assert.NilError(t, err)
	i := slices.IndexFunc(vars, func(v Var) bool { return v.Name == "WERF_ADD_ANNOTATION_CI_COMMIT" })
	assert.Assert(t, i >= 0)
	assert.Equal(t, vars[i].Source, "--commit")
}
