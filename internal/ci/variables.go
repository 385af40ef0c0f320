// Annotations per system (werf's own for GitLab and GitHub, analogous names
// elsewhere; every system also gets werf's project.werf.io/git,
// ci.werf.io/commit and, on tag builds, ci.werf.io/tag):
//
//	system           variable (WERF_ADD_ANNOTATION_…)   annotation key = value
//	gitlab           GITLAB_CI_PIPELINE_URL            gitlab.ci.werf.io/pipeline-url = CI_PIPELINE_URL
//	                 GITLAB_CI_JOB_URL                 gitlab.ci.werf.io/job-url = CI_JOB_URL
//	github           GITHUB_ACTIONS_RUN_URL            github.ci.werf.io/workflow-run-url = run page
//	gitea            GITEA_ACTIONS_RUN_URL             gitea.ci.werf.io/workflow-run-url = run page
//	forgejo          FORGEJO_ACTIONS_RUN_URL           forgejo.ci.werf.io/workflow-run-url = run page
//	bitbucket        BITBUCKET_PIPELINES_PIPELINE_URL  bitbucket.ci.werf.io/pipeline-url = pipeline page
//	azure-pipelines  AZURE_PIPELINES_BUILD_URL         azure-pipelines.ci.werf.io/build-url = build results page
//	                 AZURE_PIPELINES_JOB_URL           azure-pipelines.ci.werf.io/job-url = job log page
//	circleci         CIRCLECI_WORKFLOW_URL             circleci.ci.werf.io/workflow-url = workflow page
//	                 CIRCLECI_JOB_URL                  circleci.ci.werf.io/job-url = CIRCLE_BUILD_URL
//	jenkins          JENKINS_BUILD_URL                 jenkins.ci.werf.io/build-url = BUILD_URL
//	buildkite        BUILDKITE_BUILD_URL               buildkite.ci.werf.io/build-url = BUILDKITE_BUILD_URL
//	                 BUILDKITE_JOB_URL                 buildkite.ci.werf.io/job-url = build URL#job id
//	drone            DRONE_BUILD_URL                   drone.ci.werf.io/build-url = DRONE_BUILD_LINK
//	woodpecker       WOODPECKER_PIPELINE_URL           woodpecker.ci.werf.io/pipeline-url = CI_PIPELINE_URL
//	                 WOODPECKER_STEP_URL               woodpecker.ci.werf.io/step-url = CI_STEP_URL
//	travis           TRAVIS_BUILD_URL                  travis.ci.werf.io/build-url = TRAVIS_BUILD_WEB_URL
//	                 TRAVIS_JOB_URL                    travis.ci.werf.io/job-url = TRAVIS_JOB_WEB_URL
//	teamcity, generic  none (TeamCity puts no server URL in the environment)

package ci

import (
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"sync"

	"github.com/docker-werf/docker-werf/internal/registry"
)

// Generic is the system whose job data all comes from Options.
const Generic = "generic"

// Kind is what a CI job builds.
type Kind string

// The kinds of job.
const (
	KindBranch       Kind = "branch"
	KindTag          Kind = "tag"
	KindMergeRequest Kind = "merge-request"
	KindOther        Kind = "other" // schedules, manual runs on a detached commit, generic
)

// Sections group variables as werf's output does (under "# REPO" etc.).
const (
	SectionRepo    = "REPO"
	SectionTagging = "TAGGING"
	SectionDeploy  = "DEPLOY"
	SectionCleanup = "CLEANUP"
	SectionOther   = "OTHER"
)

// Var is one variable to export.
type Var struct {
	Name  string
	Value string
	// Source says where Value came from: an environment variable name,
	// "derived from A, B", "werf ci-env default", or the option's flag
	// ("--repo") for a value from Options.
	Source string
	// Section is one of the Section constants.
	Section string
	// Overwrite is werf's rule for a variable already set in the job's
	// environment: true replaces it, false keeps the existing value (werf
	// prints "# skip export" then). Values from Options always overwrite.
	Overwrite bool
	// Secret marks a credential: the renderer must not echo it, and should
	// keep it out of files other users can read.
	Secret bool
}

// Job is what one CI job's environment says about it. Empty fields are
// unknown. Values are verbatim (trimmed of surrounding white space).
type Job struct {
	System string
	Kind   Kind
	// Branch is the branch built; for a merge request, its source branch.
	// Set only for KindBranch and KindMergeRequest.
	Branch string
	// Tag is the git tag built; set only for KindTag.
	Tag    string
	Commit string
	// ProjectURL is the project's web page, without credentials.
	ProjectURL  string
	PipelineURL string
	JobURL      string
	// Repo is a registry repository the CI system provides for the project
	// (GitLab's CI_REGISTRY_IMAGE, ghcr.io/<owner>/<repo>, …), checked with
	// registry.ParseRepository.
	Repo string
	// Registry is the host[:port] of the CI system's own registry (GitLab's
	// CI_REGISTRY), used to recognise a repository on it.
	Registry string
	// Env is the deployment environment (WERF_ENV).
	Env string
	// Token is a registry API token for cleanup (GitHub's GITHUB_TOKEN).
	Token string
	// TempDir is the job's own temporary directory, for the private docker
	// config: RUNNER_TEMP (GitHub, Gitea, Forgejo; emptied before and after
	// each job), AGENT_TEMPDIRECTORY (Azure; cleaned after each job) or
	// WORKSPACE_TMP (Jenkins; "<workspace>@tmp", one per concurrent
	// workspace, not cleaned). Empty means the system temp dir, which is
	// per job on TeamCity (TMPDIR) and in container-based systems.
	TempDir string
	// ColorMode is "on", "off", or "" to leave werf's default (colour only
	// on a terminal): "on" for systems whose web logs render ANSI colours.
	ColorMode string
	// ReleaseChannel is trdl's werf channel (TRDL_USE_WERF_GROUP_CHANNEL).
	ReleaseChannel string
	// Sources maps a field name ("Branch", "Commit", …) to where its value
	// came from, for Var.Source.
	Sources map[string]string
	// Annotations are the system's own WERF_ADD_ANNOTATION_* variables.
	Annotations []Annotation
	// MissingCommit names the variables of the commit SHA when none is set
	// (a local run of a CI script): there is then no
	// WERF_ADD_ANNOTATION_CI_COMMIT, unless Options give the commit.
	MissingCommit string
	// Notes are things the user should hear about, e.g. a derived
	// repository address that is not valid.
	Notes []string
}

// Annotation is one CI-specific annotation: WERF_ADD_ANNOTATION_<Name> is
// set to "<Key>=<Value>".
type Annotation struct {
	Name, Key, Value, Source string
}

// Options are explicit inputs (flags or WERF_* variables the caller read);
// each non-empty field overrides what the CI system says. For the generic
// system they are the only input.
type Options struct {
	Repo       string // --repo / WERF_REPO
	Env        string // --env / WERF_ENV
	Branch     string // --branch: makes the job a branch build (unless Tag is set)
	Tag        string // --tag: makes the job a tag build
	Commit     string // --commit
	ProjectURL string // --project-url
}

// werf's defaults for the emitted settings (https://werf.io/docs/latest/reference/cli/werf_ci_env.html).
const (
	gitTagStrategyLimit         = "10"
	gitTagStrategyExpiryDays    = "30"
	gitCommitStrategyLimit      = "50"
	gitCommitStrategyExpiryDays = "30"
	logTerminalWidth            = "130"
	werfDefault                 = "werf ci-env default"
)

// Systems returns the names ReadJob accepts: the CI systems Detect knows,
// in detection order, then "generic".
func Systems() []string {
	names := make([]string, 0, len(systems())+1)
	for _, s := range systems() {
		names = append(names, s.Name)
	}
	return append(names, Generic)
}

// ReadJob reads one job of the named system from env (nil is an empty
// environment). It fails for an unknown system, and when the commit SHA
// (which WERF_ADD_ANNOTATION_CI_COMMIT needs) is malformed: then the job is
// not what the caller said it is. The error names the system and the
// variable. Even then the Job read so far is returned, for a caller that has
// the commit from Options. A missing commit is no error (a local run of a CI
// script has none): Job.MissingCommit says so.
func ReadJob(system string, env registry.Env) (Job, error) {
	name := strings.ToLower(strings.TrimSpace(system))
	if name == Generic {
		return Job{System: Generic, Kind: KindOther, Sources: map[string]string{}}, nil
	}
	i := slices.IndexFunc(systems(), func(s spec) bool { return s.Name == name })
	if i < 0 {
		return Job{}, fmt.Errorf("unknown CI system %q: expected one of %s", system, strings.Join(Systems(), ", "))
	}
	return systems()[i].read(lookup(env))
}

// lookup returns env with values trimmed, nil meaning an empty environment.
func lookup(env registry.Env) getter {
	return func(k string) string {
		if env == nil {
			return ""
		}
		return strings.TrimSpace(env(k))
	}
}

// binding says which source fills which Job field.
type binding struct {
	name string
	dst  *string
	src  source
}

var commitSHA = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[0-9a-fA-F]{7,64}$`) })

func (s *spec) read(get getter) (Job, error) {
	job := Job{System: s.Name, Kind: KindOther, Sources: map[string]string{}}
	for _, r := range s.Kinds {
		if r.When(get) {
			job.Kind = r.Kind
			break
		}
	}
	var errs []error
	job.Commit, job.Sources["Commit"] = firstOf(get, s.Commit)
	switch {
	case job.Commit == "":
		// One annotation less, not a broken job.
		job.MissingCommit = orList(s.Commit)
		delete(job.Sources, "Commit")
	case !commitSHA().MatchString(job.Commit):
		errs = append(errs, fmt.Errorf("%s: %s is %s, not a commit SHA (needed for WERF_ADD_ANNOTATION_CI_COMMIT)",
			s.Name, job.Sources["Commit"], quote(job.Commit)))
	}

	fields := []binding{
		{"ProjectURL", &job.ProjectURL, s.ProjectURL},
		{"PipelineURL", &job.PipelineURL, s.PipelineURL},
		{"JobURL", &job.JobURL, s.JobURL},
		{"Repo", &job.Repo, s.Repo},
		{"Registry", &job.Registry, s.Registry},
		{"Env", &job.Env, s.Env},
		{"Token", &job.Token, s.Token},
		{"TempDir", &job.TempDir, s.TempDir},
		{"ColorMode", &job.ColorMode, s.Color},
		{"ReleaseChannel", &job.ReleaseChannel, env("TRDL_USE_WERF_GROUP_CHANNEL")},
	}
	switch job.Kind {
	case KindTag:
		fields = append(fields, binding{"Tag", &job.Tag, s.Tag})
	case KindBranch:
		fields = append(fields, binding{"Branch", &job.Branch, s.Branch})
	case KindMergeRequest:
		fields = append(fields, binding{"Branch", &job.Branch, s.SourceBranch})
	}
	for _, f := range fields {
		if f.src == nil {
			continue
		}
		if v, from := f.src(get); v != "" {
			*f.dst, job.Sources[f.name] = v, from
		}
	}
	if job.Repo != "" {
		if _, err := registry.ParseRepository(job.Repo, "", nil); err != nil {
			job.Notes = append(job.Notes, fmt.Sprintf("%s: not setting WERF_REPO from %s: %v",
				s.Name, job.Sources["Repo"], err))
			job.Repo = ""
			delete(job.Sources, "Repo")
		}
	}
	for _, a := range s.Annotations {
		url, from := job.PipelineURL, job.Sources["PipelineURL"]
		if a.Job {
			url, from = job.JobURL, job.Sources["JobURL"]
		}
		if url != "" {
			job.Annotations = append(job.Annotations, Annotation{Name: a.Name, Key: a.Key, Value: url, Source: from})
		}
	}
	return job, errors.Join(errs...)
}

// Variables returns the WERF_* variables for job, with opts applied, in a
// stable order: REPO, TAGGING, DEPLOY, CLEANUP, OTHER, as werf groups them.
// Variables with no value are left out. It fails only for an invalid
// opts.Repo.
func Variables(job Job, opts Options) ([]Var, error) {
	job = applyOptions(job, opts)
	var vars []Var
	add := func(name, value, source, section string, overwrite bool) {
		if value != "" {
			vars = append(vars, Var{Name: name, Value: value, Source: source, Section: section, Overwrite: overwrite})
		}
	}
	src := func(field string) string { return job.Sources[field] }
	given := func(field string) bool { return strings.HasPrefix(src(field), "--") }

	// REPO
	if job.Repo != "" {
		repo, err := registry.ParseRepository(job.Repo, "", registryEnv(job.Registry))
		if err != nil {
			return nil, err
		}
		add("WERF_REPO", job.Repo, src("Repo"), SectionRepo, given("Repo"))
		add("WERF_IMAGES_REPO", job.Repo, src("Repo")+" (werf < 1.2 name)", SectionRepo, given("Repo"))
		if kind, why := containerRegistry(repo, job.Registry); kind != "" {
			add(ContainerRegistryVar, kind, why, SectionRepo, false)
			add(DetectedRegistryVar, kind+"@"+job.Repo, "the registry kind above belongs to WERF_REPO's registry only",
				SectionRepo, true)
		}
	}

	// TAGGING (werf 1.0 tagging strategy; slugged like werf's slug.DockerTag)
	add("WERF_TAG_GIT_TAG", Slug(job.Tag), "slug of "+src("Tag"), SectionTagging, true)
	add("WERF_TAG_GIT_BRANCH", Slug(job.Branch), "slug of "+src("Branch"), SectionTagging, true)

	// DEPLOY
	add("WERF_ENV", job.Env, src("Env"), SectionDeploy, given("Env"))
	annotate := func(name, key, value, source string) {
		if value != "" {
			add("WERF_ADD_ANNOTATION_"+name, key+"="+value, source, SectionDeploy, true)
		}
	}
	annotate("WERF_RELEASE_CHANNEL", "werf.io/release-channel", job.ReleaseChannel, src("ReleaseChannel"))
	annotate("PROJECT_GIT", "project.werf.io/git", job.ProjectURL, src("ProjectURL"))
	annotate("CI_COMMIT", "ci.werf.io/commit", job.Commit, src("Commit"))
	annotate("CI_GIT_TAG", "ci.werf.io/tag", job.Tag, src("Tag"))
	for _, a := range job.Annotations {
		annotate(a.Name, a.Key, a.Value, a.Source)
	}

	// CLEANUP
	if job.Token != "" {
		vars = append(vars, Var{Name: "WERF_REPO_GITHUB_TOKEN", Value: job.Token, Source: src("Token"),
			Section: SectionCleanup, Secret: true})
	}
	add("WERF_GIT_TAG_STRATEGY_LIMIT", gitTagStrategyLimit, werfDefault, SectionCleanup, false)
	add("WERF_GIT_TAG_STRATEGY_EXPIRY_DAYS", gitTagStrategyExpiryDays, werfDefault, SectionCleanup, false)
	add("WERF_GIT_COMMIT_STRATEGY_LIMIT", gitCommitStrategyLimit, werfDefault, SectionCleanup, false)
	add("WERF_GIT_COMMIT_STRATEGY_EXPIRY_DAYS", gitCommitStrategyExpiryDays, werfDefault, SectionCleanup, false)

	// OTHER
	add("WERF_LOG_COLOR_MODE", job.ColorMode, src("ColorMode"), SectionOther, false)
	add("WERF_LOG_PROJECT_DIR", "1", werfDefault, SectionOther, false)
	add("WERF_ENABLE_PROCESS_EXTERMINATOR", "1", werfDefault, SectionOther, false)
	add("WERF_LOG_TERMINAL_WIDTH", logTerminalWidth, werfDefault, SectionOther, false)
	return vars, nil
}

// applyOptions overrides the job's fields with the non-empty options. A
// given tag makes the job a tag build; a given branch makes it a branch
// build unless it is a merge request, whose source branch it then names.
func applyOptions(job Job, o Options) Job {
	sources := make(map[string]string, len(job.Sources)+6)
	for k, v := range job.Sources {
		sources[k] = v
	}
	job.Sources = sources
	set := func(field string, dst *string, value, flag string) {
		if v := strings.TrimSpace(value); v != "" {
			*dst, job.Sources[field] = v, flag
		}
	}
	set("Repo", &job.Repo, o.Repo, "--repo")
	set("Env", &job.Env, o.Env, "--env")
	set("Commit", &job.Commit, o.Commit, "--commit")
	set("ProjectURL", &job.ProjectURL, o.ProjectURL, "--project-url")
	switch {
	case strings.TrimSpace(o.Tag) != "":
		job.Kind, job.Branch = KindTag, ""
		set("Tag", &job.Tag, o.Tag, "--tag")
	case strings.TrimSpace(o.Branch) != "":
		if job.Kind != KindMergeRequest {
			job.Kind, job.Tag = KindBranch, ""
		}
		set("Branch", &job.Branch, o.Branch, "--branch")
	}
	return job
}

// ContainerRegistryVar names the registry kind of WERF_REPO for werf (and
// for docker werf's --repo-container-registry).
const ContainerRegistryVar = "WERF_REPO_CONTAINER_REGISTRY"

// DetectedRegistryVar records, as KIND@REPO, that ci-env set
// ContainerRegistryVar to KIND for the repository REPO. werf applies the kind
// to WERF_REPO only; docker werf's commands take any --repo, and apply the
// kind ci-env detected only on REPO's registry. An override the user sets
// (another kind, or the flag) applies everywhere.
const DetectedRegistryVar = "WERF_REPO_CONTAINER_REGISTRY_DETECTED"

// DetectedRegistry parses DetectedRegistryVar's value.
func DetectedRegistry(value string) (kind, repo string, ok bool) {
	kind, repo, ok = strings.Cut(value, "@")
	return kind, repo, ok && kind != "" && repo != ""
}

// containerRegistry returns the WERF_REPO_CONTAINER_REGISTRY value werf
// needs for repo, and why. Only GitLab and GitHub get one: werf's GitLab
// pattern (^gitlab\.com) never matches a GitLab registry, so like werf's
// ci-env this names it when the repository is on the job's CI_REGISTRY (or
// on registry.gitlab.com); ghcr.io is named too, which werf would also
// detect. Every other registry is left to werf's detection.
func containerRegistry(repo registry.Repository, ciRegistry string) (string, string) {
	switch repo.Kind {
	case registry.GitLab:
		if ciRegistry != "" && registry.DetectKind(repo.Host, nil) != registry.GitLab {
			return string(registry.GitLab), "derived: WERF_REPO is on CI_REGISTRY " + ciRegistry
		}
		return string(registry.GitLab), "derived: WERF_REPO is on GitLab's registry " + repo.Host
	case registry.GitHub:
		return string(registry.GitHub), "derived: WERF_REPO is on GitHub's registry " + repo.Host
	}
	return "", ""
}

// registryEnv exposes the job's CI_REGISTRY to registry detection.
func registryEnv(ciRegistry string) registry.Env {
	return func(k string) string {
		if k == "CI_REGISTRY" {
			return ciRegistry
		}
		return ""
	}
}

func orList(names []string) string {
	if len(names) == 1 {
		return names[0]
	}
	return names[0] + " (or " + strings.Join(names[1:], ", ") + ")"
}
