package ci

import (
	"net/url"
	"strconv"
	"strings"
	"sync"

	"github.com/docker-werf/docker-werf/internal/registry"
)

// Colour: "on" where the system's web log renders ANSI colours (werf sets
// it for GitLab and GitHub); systems without that, or where it is not
// confirmed, get nothing, which leaves werf's default (colour only on a
// terminal) and keeps escape codes out of plain logs.
var colorOn = constant("on", "renders ANSI colours in job logs")

// systems is the one table of CI systems: how each is detected, its job
// key and where each werf variable comes from. Order is detection order,
// most specific first: Forgejo runners mirror FORGEJO_* into GITHUB_* and
// may set GITEA_ACTIONS too, Gitea's act_runner sets GITHUB_ACTIONS, and
// Woodpecker used to export DRONE_* compatibility variables. Each entry cites
// the page that documents its variables (detection also follows
// semantic-release/env-ci and https://github.com/watson/ci-info); values
// derived from several variables say so in their source. Built on first use,
// so that the credential helper, which only detects, pays nothing for it at
// start-up.
var systems = sync.OnceValue(func() []spec {
	return []spec{
		{
			// https://docs.gitlab.com/ci/variables/predefined_variables/
			Name: "gitlab",
			Detect: detection{
				When: when(all(varIs("GITLAB_CI", "true"))),
				Key:  []part{req("CI_JOB_ID")},
			},
			Doc: "https://docs.gitlab.com/ci/variables/predefined_variables/",
			Kinds: []kindRule{
				{KindTag, isSet("CI_COMMIT_TAG")},
				{KindMergeRequest, anyOf(isSet("CI_MERGE_REQUEST_IID"), isSet("CI_EXTERNAL_PULL_REQUEST_IID"))},
				{KindBranch, anyOf(isSet("CI_COMMIT_BRANCH"), isSet("CI_COMMIT_REF_NAME"))},
			},
			Commit: []string{"CI_COMMIT_SHA"},
			Tag:    env("CI_COMMIT_TAG"),
			// CI_COMMIT_BRANCH is GitLab ≥ 12.6; CI_COMMIT_REF_NAME is what werf 1.0 read.
			Branch: env("CI_COMMIT_BRANCH", "CI_COMMIT_REF_NAME"),
			SourceBranch: env("CI_MERGE_REQUEST_SOURCE_BRANCH_NAME", "CI_EXTERNAL_PULL_REQUEST_SOURCE_BRANCH_NAME",
				"CI_COMMIT_REF_NAME"),
			ProjectURL:  projectURL("CI_PROJECT_URL"),
			PipelineURL: env("CI_PIPELINE_URL"),
			JobURL:      env("CI_JOB_URL"),
			Repo:        env("CI_REGISTRY_IMAGE"),
			Registry:    env("CI_REGISTRY"),
			Env:         env("CI_ENVIRONMENT_SLUG"),
			Color:       gitlabColor,
			Annotations: []annotation{
				{Name: "GITLAB_CI_PIPELINE_URL", Key: "gitlab.ci.werf.io/pipeline-url"},
				{Name: "GITLAB_CI_JOB_URL", Key: "gitlab.ci.werf.io/job-url", Job: true},
			},
		},
		// https://forgejo.org/docs/latest/user/actions/reference/ (FORGEJO_*
		// mirrors of GITHUB_*) and https://forgejo.org/docs/latest/user/packages/container/.
		// Forgejo's run pages are numbered per repository (run_number).
		actions("forgejo", "FORGEJO_", "https://forgejo.org/docs/latest/user/actions/reference/", "RUN_NUMBER"),
		// https://docs.gitea.com/usage/actions/comparison (GitHub's variables,
		// GITEA_ACTIONS=true) and https://docs.gitea.com/usage/packages/container
		// ({registry}/{owner}/{image} on the instance's own host). Gitea ≥ 1.26
		// addresses runs by ID in the web UI (go-gitea/gitea#36842).
		actions("gitea", "GITEA_", "https://docs.gitea.com/usage/actions/comparison", "RUN_ID"),
		// https://docs.github.com/en/actions/reference/workflows-and-actions/variables
		// No variable names the job's environment
		// (actions/runner#1369), so WERF_ENV comes only from Options.
		actions("github", "GITHUB_", "https://docs.github.com/en/actions/reference/workflows-and-actions/variables",
			"RUN_ID"),
		{
			// https://support.atlassian.com/bitbucket-cloud/docs/variables-and-secrets/
			// BITBUCKET_BRANCH is the source branch, also in pull-request pipelines.
			Name: "bitbucket",
			Detect: detection{
				When: when(all(set("BITBUCKET_BUILD_NUMBER"))),
				Key:  []part{req("BITBUCKET_STEP_UUID"), opt("BITBUCKET_STEP_RUN_NUMBER")},
			},
			Doc: "https://support.atlassian.com/bitbucket-cloud/docs/variables-and-secrets/",
			Kinds: []kindRule{
				{KindTag, isSet("BITBUCKET_TAG")},
				{KindMergeRequest, isSet("BITBUCKET_PR_ID")},
				{KindBranch, isSet("BITBUCKET_BRANCH")},
			},
			Commit:       []string{"BITBUCKET_COMMIT"},
			Tag:          env("BITBUCKET_TAG"),
			Branch:       env("BITBUCKET_BRANCH"),
			SourceBranch: env("BITBUCKET_BRANCH"),
			ProjectURL:   either(projectURL("BITBUCKET_GIT_HTTP_ORIGIN"), joined("https://bitbucket.org/", "$BITBUCKET_REPO_FULL_NAME")),
			// The pipeline page, /<workspace>/<repo>/pipelines/results/<build number> [D].
			PipelineURL: derived([]string{"BITBUCKET_REPO_FULL_NAME", "BITBUCKET_BUILD_NUMBER"}, func(get getter) string {
				name, n := get("BITBUCKET_REPO_FULL_NAME"), get("BITBUCKET_BUILD_NUMBER")
				if name == "" || n == "" {
					return ""
				}
				return "https://bitbucket.org/" + name + "/pipelines/results/" + url.PathEscape(n)
			}),
			Env: env("BITBUCKET_DEPLOYMENT_ENVIRONMENT"),
			// Colour rendering in Bitbucket's log viewer is not confirmed: left to werf.
			Annotations: []annotation{{Name: "BITBUCKET_PIPELINES_PIPELINE_URL", Key: "bitbucket.ci.werf.io/pipeline-url"}},
		},
		{
			// https://learn.microsoft.com/en-us/azure/devops/pipelines/build/variables
			// (Build.SourceBranch is a full ref: refs/heads/…, refs/tags/…,
			// refs/pull/<n>/merge; System.PullRequest.SourceBranch is a full ref
			// for Azure Repos and a bare name for GitHub; Environment.Name only in
			// deployment jobs).
			Name: "azure-pipelines",
			Detect: detection{
				When: when(all(varIs("TF_BUILD", "true"))),
				Key:  []part{req("SYSTEM_JOBID"), opt("BUILD_BUILDID"), opt("SYSTEM_JOBATTEMPT")},
			},
			Doc: "https://learn.microsoft.com/en-us/azure/devops/pipelines/build/variables",
			Kinds: []kindRule{
				{KindTag, hasPrefix("BUILD_SOURCEBRANCH", "refs/tags/")},
				{KindMergeRequest, anyOf(equals("BUILD_REASON", "PullRequest"), isSet("SYSTEM_PULLREQUEST_PULLREQUESTID"))},
				{KindBranch, hasPrefix("BUILD_SOURCEBRANCH", "refs/heads/")},
			},
			Commit:       []string{"BUILD_SOURCEVERSION"},
			Tag:          withoutPrefix("BUILD_SOURCEBRANCH", "refs/tags/"),
			Branch:       withoutPrefix("BUILD_SOURCEBRANCH", "refs/heads/"),
			SourceBranch: trimPrefix("SYSTEM_PULLREQUEST_SOURCEBRANCH", "refs/heads/"),
			ProjectURL:   projectURL("BUILD_REPOSITORY_URI"),
			PipelineURL:  azureBuildURL(""),
			JobURL:       azureBuildURL("SYSTEM_JOBID"),
			Env:          env("ENVIRONMENT_NAME"),
			TempDir:      env("AGENT_TEMPDIRECTORY"),
			Color:        colorOn,
			Annotations: []annotation{
				{Name: "AZURE_PIPELINES_BUILD_URL", Key: "azure-pipelines.ci.werf.io/build-url"},
				{Name: "AZURE_PIPELINES_JOB_URL", Key: "azure-pipelines.ci.werf.io/job-url", Job: true},
			},
		},
		{
			// https://circleci.com/docs/variables/ (CIRCLE_PULL_REQUEST is the
			// PR's URL; CIRCLE_REPOSITORY_URL is usually an SSH clone URL).
			Name: "circleci",
			Detect: detection{
				When: when(all(varIs("CIRCLECI", "true"))),
				Key:  []part{req("CIRCLE_WORKFLOW_JOB_ID")},
			},
			Doc: "https://circleci.com/docs/variables/",
			Kinds: []kindRule{
				{KindTag, isSet("CIRCLE_TAG")},
				{KindMergeRequest, anyOf(isSet("CIRCLE_PULL_REQUEST"), isSet("CIRCLE_PR_NUMBER"))},
				{KindBranch, isSet("CIRCLE_BRANCH")},
			},
			Commit:       []string{"CIRCLE_SHA1"},
			Tag:          env("CIRCLE_TAG"),
			Branch:       env("CIRCLE_BRANCH"),
			SourceBranch: env("CIRCLE_BRANCH"),
			ProjectURL:   projectURL("CIRCLE_REPOSITORY_URL"),
			// The workflow page on CircleCI cloud [D]; not derived on CircleCI server.
			PipelineURL: derived([]string{"CIRCLE_WORKFLOW_ID", "CIRCLE_BUILD_URL"}, func(get getter) string {
				id := get("CIRCLE_WORKFLOW_ID")
				switch hostOf(get("CIRCLE_BUILD_URL")) {
				case "circleci.com", "app.circleci.com":
					if id != "" {
						return "https://app.circleci.com/pipelines/workflows/" + url.PathEscape(id)
					}
				}
				return ""
			}),
			JobURL: env("CIRCLE_BUILD_URL"),
			Color:  colorOn,
			Annotations: []annotation{
				{Name: "CIRCLECI_WORKFLOW_URL", Key: "circleci.ci.werf.io/workflow-url"},
				{Name: "CIRCLECI_JOB_URL", Key: "circleci.ci.werf.io/job-url", Job: true},
			},
		},
		{
			// https://www.jenkins.io/doc/book/pipeline/jenkins-file/#using-environment-variables
			// (<jenkins>/env-vars.html: BRANCH_NAME, TAG_NAME, CHANGE_ID,
			// CHANGE_BRANCH, BUILD_URL, WORKSPACE_TMP) and
			// https://plugins.jenkins.io/git/#plugin-content-environment-variables
			// (GIT_COMMIT, GIT_BRANCH, GIT_LOCAL_BRANCH, GIT_URL). For a change
			// request BRANCH_NAME is e.g. "PR-12", so only CHANGE_BRANCH names
			// the source branch.
			Name: "jenkins",
			Detect: detection{
				// BUILD_TAG is jenkins-${JOB_NAME}-${BUILD_NUMBER}; EXECUTOR_NUMBER
				// tells apart parallel branches of one build on one agent.
				When: when(
					all(set("JENKINS_URL"), set("BUILD_TAG")),
					all(set("JENKINS_HOME"), set("BUILD_TAG")),
				),
				Key: []part{req("BUILD_TAG"), opt("EXECUTOR_NUMBER"), opt("NODE_NAME")},
			},
			Doc: "https://www.jenkins.io/doc/book/pipeline/jenkins-file/#using-environment-variables",
			Kinds: []kindRule{
				{KindTag, isSet("TAG_NAME")},
				{KindMergeRequest, isSet("CHANGE_ID")},
				{KindBranch, anyOf(isSet("BRANCH_NAME"), isSet("GIT_LOCAL_BRANCH"), isSet("GIT_BRANCH"))},
			},
			Commit:       []string{"GIT_COMMIT"},
			Tag:          env("TAG_NAME"),
			Branch:       either(env("BRANCH_NAME", "GIT_LOCAL_BRANCH"), trimPrefix("GIT_BRANCH", "origin/")),
			SourceBranch: env("CHANGE_BRANCH"),
			ProjectURL:   projectURL("GIT_URL"),
			PipelineURL:  env("BUILD_URL"),
			TempDir:      env("WORKSPACE_TMP"),
			// Colour needs the AnsiColor plugin: left to werf.
			Annotations: []annotation{{Name: "JENKINS_BUILD_URL", Key: "jenkins.ci.werf.io/build-url"}},
		},
		{
			// https://buildkite.com/docs/pipelines/environment-variables
			// (BUILDKITE_PULL_REQUEST is a number or "false"; BUILDKITE_BRANCH
			// is the PR's head branch; terminal-to-html renders colours).
			Name: "buildkite",
			Detect: detection{
				When: when(all(varIs("BUILDKITE", "true"))),
				Key:  []part{req("BUILDKITE_JOB_ID"), opt("BUILDKITE_RETRY_COUNT")},
			},
			Doc: "https://buildkite.com/docs/pipelines/environment-variables",
			Kinds: []kindRule{
				{KindTag, isSet("BUILDKITE_TAG")},
				{KindMergeRequest, isPullRequest("BUILDKITE_PULL_REQUEST")},
				{KindBranch, isSet("BUILDKITE_BRANCH")},
			},
			Commit:       []string{"BUILDKITE_COMMIT"},
			Tag:          env("BUILDKITE_TAG"),
			Branch:       env("BUILDKITE_BRANCH"),
			SourceBranch: env("BUILDKITE_BRANCH"),
			ProjectURL:   projectURL("BUILDKITE_REPO"),
			PipelineURL:  env("BUILDKITE_BUILD_URL"),
			JobURL:       joined("$BUILDKITE_BUILD_URL", "#", "$BUILDKITE_JOB_ID"),
			Color:        colorOn,
			Annotations: []annotation{
				{Name: "BUILDKITE_BUILD_URL", Key: "buildkite.ci.werf.io/build-url"},
				{Name: "BUILDKITE_JOB_URL", Key: "buildkite.ci.werf.io/job-url", Job: true},
			},
		},
		{
			// https://woodpecker-ci.org/docs/usage/environment
			// (CI_COMMIT_BRANCH is the target branch of a pull request,
			// CI_COMMIT_SOURCE_BRANCH its source; CI_PIPELINE_DEPLOY_TARGET on
			// deployments).
			Name: "woodpecker",
			Detect: detection{
				When: when(all(varIs("CI", "woodpecker"))),
				Key:  []part{req("CI_REPO"), req("CI_PIPELINE_NUMBER"), opt("CI_WORKFLOW_NUMBER"), opt("CI_STEP_NUMBER")},
			},
			Doc: "https://woodpecker-ci.org/docs/usage/environment",
			Kinds: []kindRule{
				{KindTag, anyOf(equals("CI_PIPELINE_EVENT", "tag"), isSet("CI_COMMIT_TAG"))},
				{KindMergeRequest, anyOf(equals("CI_PIPELINE_EVENT", "pull_request", "pull_request_closed"),
					isSet("CI_COMMIT_PULL_REQUEST"))},
				{KindBranch, isSet("CI_COMMIT_BRANCH")},
			},
			Commit:       []string{"CI_COMMIT_SHA"},
			Tag:          env("CI_COMMIT_TAG"),
			Branch:       env("CI_COMMIT_BRANCH"),
			SourceBranch: env("CI_COMMIT_SOURCE_BRANCH"),
			ProjectURL:   projectURL("CI_REPO_URL", "CI_REPO_LINK"),
			PipelineURL:  env("CI_PIPELINE_URL"),
			JobURL:       env("CI_STEP_URL"),
			Env:          env("CI_PIPELINE_DEPLOY_TARGET"),
			Color:        colorOn,
			Annotations: []annotation{
				{Name: "WOODPECKER_PIPELINE_URL", Key: "woodpecker.ci.werf.io/pipeline-url"},
				{Name: "WOODPECKER_STEP_URL", Key: "woodpecker.ci.werf.io/step-url", Job: true},
			},
		},
		{
			// https://docs.drone.io/pipeline/environment/reference/
			// (DRONE_BRANCH is the target branch of a pull request,
			// DRONE_SOURCE_BRANCH its source; DRONE_DEPLOY_TO on promotions).
			Name: "drone",
			Detect: detection{
				// Build numbers count per repository, hence DRONE_REPO.
				When: when(all(varIs("DRONE", "true"))),
				Key:  []part{opt("DRONE_REPO"), req("DRONE_BUILD_NUMBER"), opt("DRONE_STAGE_NUMBER"), opt("DRONE_STEP_NUMBER")},
			},
			Doc: "https://docs.drone.io/pipeline/environment/reference/",
			Kinds: []kindRule{
				{KindTag, anyOf(isSet("DRONE_TAG"), equals("DRONE_BUILD_EVENT", "tag"))},
				{KindMergeRequest, anyOf(equals("DRONE_BUILD_EVENT", "pull_request"), isSet("DRONE_PULL_REQUEST"))},
				{KindBranch, isSet("DRONE_BRANCH")},
			},
			Commit:       []string{"DRONE_COMMIT_SHA", "DRONE_COMMIT"},
			Tag:          env("DRONE_TAG"),
			Branch:       env("DRONE_BRANCH"),
			SourceBranch: env("DRONE_SOURCE_BRANCH"),
			ProjectURL:   projectURL("DRONE_REPO_LINK", "DRONE_GIT_HTTP_URL"),
			PipelineURL:  env("DRONE_BUILD_LINK"),
			Env:          env("DRONE_DEPLOY_TO"),
			Color:        colorOn,
			Annotations:  []annotation{{Name: "DRONE_BUILD_URL", Key: "drone.ci.werf.io/build-url"}},
		},
		{
			// https://www.jetbrains.com/help/teamcity/predefined-build-parameters.html
			// Only build.vcs.number is exported to the environment
			// (BUILD_VCS_NUMBER, single VCS root); the branch, teamcity.serverUrl
			// and the build ID are configuration parameters, so branch and tag
			// must come from Options. The build log renders ANSI colours:
			// https://www.jetbrains.com/help/teamcity/build-log.html#ANSI-style+Coloring+in+Build+Log
			Name: "teamcity",
			Detect: detection{
				// teamcity.build.id is only in the properties file; the build
				// number is unique within a build configuration.
				When: when(all(set("TEAMCITY_VERSION"))),
				Key:  []part{opt("TEAMCITY_PROJECT_NAME"), opt("TEAMCITY_BUILDCONF_NAME"), req("BUILD_NUMBER")},
			},
			Doc:    "https://www.jetbrains.com/help/teamcity/predefined-build-parameters.html",
			Commit: []string{"BUILD_VCS_NUMBER"},
			Color:  colorOn,
		},
		{
			// https://docs.travis-ci.com/user/environment-variables/#default-environment-variables
			// (TRAVIS_BRANCH is the target branch of a PR and the tag name of a
			// tag build; TRAVIS_PULL_REQUEST is a number or "false"). The slug
			// has no host, so there is no project URL.
			Name: "travis",
			Detect: detection{
				When: when(all(varIs("TRAVIS", "true"))),
				Key:  []part{req("TRAVIS_JOB_ID")},
			},
			Doc: "https://docs.travis-ci.com/user/environment-variables/#default-environment-variables",
			Kinds: []kindRule{
				{KindTag, isSet("TRAVIS_TAG")},
				{KindMergeRequest, isPullRequest("TRAVIS_PULL_REQUEST")},
				{KindBranch, isSet("TRAVIS_BRANCH")},
			},
			Commit:       []string{"TRAVIS_COMMIT"},
			Tag:          env("TRAVIS_TAG"),
			Branch:       env("TRAVIS_BRANCH"),
			SourceBranch: env("TRAVIS_PULL_REQUEST_BRANCH"),
			PipelineURL:  env("TRAVIS_BUILD_WEB_URL"),
			JobURL:       env("TRAVIS_JOB_WEB_URL"),
			Color:        colorOn,
			Annotations: []annotation{
				{Name: "TRAVIS_BUILD_URL", Key: "travis.ci.werf.io/build-url"},
				{Name: "TRAVIS_JOB_URL", Key: "travis.ci.werf.io/job-url", Job: true},
			},
		},
	}
})

// actions describes GitHub Actions and its clones, which set GitHub's
// variables; Forgejo also sets FORGEJO_* copies (read first), and so may
// Gitea with GITEA_*. runSuffix names the variable (without prefix) whose
// value the web UI uses in /actions/runs/<n>.
func actions(name, prefix, doc, runSuffix string) spec {
	names := func(suffix string) []string {
		if prefix == "GITHUB_" {
			return []string{"GITHUB_" + suffix}
		}
		return []string{prefix + suffix, "GITHUB_" + suffix}
	}
	anyName := func(suffix string, c func(string) cond) cond {
		var cs []cond
		for _, n := range names(suffix) {
			cs = append(cs, c(n))
		}
		return anyOf(cs...)
	}
	equalTo := func(value string) func(string) cond {
		return func(n string) cond { return equals(n, value) }
	}
	// read returns the first set variable for each suffix, and the names
	// used, or "" when one is missing. The GitHub.com server URL is implied.
	read := func(get getter, suffixes ...string) ([]string, []string) {
		var values, used []string
		for _, sfx := range suffixes {
			v, from := firstOf(get, names(sfx))
			if v == "" && sfx == "SERVER_URL" && name == "github" {
				v, from = "https://github.com", "github.com (GITHUB_SERVER_URL unset)"
			}
			if v == "" {
				return nil, nil
			}
			values, used = append(values, v), append(used, from)
		}
		return values, used
	}
	var key []part
	for _, sfx := range []string{"RUN_ID", "RUN_ATTEMPT", "JOB"} {
		key = append(key, part{Vars: names(sfx), Optional: sfx == "RUN_ATTEMPT"})
	}
	s := spec{
		Name: name,
		Doc:  doc,
		// GITHUB_JOB is the job's id in the workflow, the same for every
		// matrix leg; RUNNER_NAME and RUNNER_TEMP tell apart legs running
		// at the same time on one machine (each runner has its own).
		Detect: detection{
			When: when(all(varIs(strings.TrimSuffix(prefix, "_")+"_ACTIONS", "true"))),
			Key:  append(key, opt("RUNNER_NAME"), opt("RUNNER_TEMP")),
		},
		Kinds: []kindRule{
			{KindTag, anyOf(anyName("REF_TYPE", equalTo("tag")), anyName("REF", func(n string) cond {
				return hasPrefix(n, "refs/tags/")
			}))},
			{KindMergeRequest, anyName("HEAD_REF", isSet)},
			{KindBranch, anyOf(anyName("REF_TYPE", equalTo("branch")), anyName("REF", func(n string) cond {
				return hasPrefix(n, "refs/heads/")
			}))},
		},
		Commit:       names("SHA"),
		Tag:          either(env(names("REF_NAME")...), withoutPrefix("GITHUB_REF", "refs/tags/")),
		Branch:       either(env(names("REF_NAME")...), withoutPrefix("GITHUB_REF", "refs/heads/")),
		SourceBranch: env(names("HEAD_REF")...),
		ProjectURL: derivedUsing(func(get getter) (string, []string) {
			v, used := read(get, "SERVER_URL", "REPOSITORY")
			if v == nil {
				return "", nil
			}
			return webURL(strings.TrimSuffix(v[0], "/") + "/" + v[1]), used
		}),
		PipelineURL: derivedUsing(func(get getter) (string, []string) {
			v, used := read(get, "SERVER_URL", "REPOSITORY", runSuffix)
			if v == nil {
				return "", nil
			}
			page := webURL(strings.TrimSuffix(v[0], "/") + "/" + v[1])
			if page == "" {
				return "", nil
			}
			return page + "/actions/runs/" + url.PathEscape(v[2]), used
		}),
		Repo: derivedUsing(func(get getter) (string, []string) {
			v, used := read(get, "SERVER_URL", "REPOSITORY")
			if v == nil {
				return "", nil
			}
			host, err := registry.HostKey(v[0])
			if err != nil {
				return "", nil
			}
			if name == "github" {
				// GitHub.com's registry is ghcr.io. GitHub Enterprise
				// Server and GHE.com registries are not derived.
				if host != "github.com" {
					return "", nil
				}
				host = "ghcr.io"
			}
			return host + "/" + strings.ToLower(v[1]), used
		}),
		TempDir: env("RUNNER_TEMP"),
		Color:   colorOn,
		Annotations: []annotation{{
			Name: strings.ToUpper(name) + "_ACTIONS_RUN_URL",
			Key:  name + ".ci.werf.io/workflow-run-url",
		}},
	}
	if name == "github" {
		// Set only when the workflow maps it: env: GITHUB_TOKEN: ${{ github.token }}.
		s.Token = env("GITHUB_TOKEN")
	}
	return s
}

// gitlabColor is werf's rule: on, except for GitLab 12.1.4 up to 12.2.0,
// whose job log mangled colour codes.
func gitlabColor(get getter) (string, string) {
	v := get("CI_SERVER_VERSION")
	parts := strings.SplitN(v, ".", 3)
	if len(parts) == 3 {
		patch := parts[2]
		if i := strings.IndexFunc(patch, func(r rune) bool { return r < '0' || r > '9' }); i >= 0 {
			patch = patch[:i]
		}
		if p, err := strconv.Atoi(patch); err == nil && parts[0] == "12" && parts[1] == "1" && p >= 4 {
			return "off", "derived from CI_SERVER_VERSION (GitLab 12.1.4–12.1.x log bug)"
		}
	}
	return "on", "renders ANSI colours in job logs"
}

// azureBuildURL is the build results page,
// $(System.CollectionUri)$(System.TeamProject)/_build/results?buildId=$(Build.BuildId),
// plus "&view=logs&j=<job id>" for a job when jobVar is given [D].
func azureBuildURL(jobVar string) source {
	from := []string{"SYSTEM_COLLECTIONURI", "SYSTEM_TEAMPROJECT", "BUILD_BUILDID"}
	if jobVar != "" {
		from = append(from, jobVar)
	}
	return derived(from, func(get getter) string {
		coll, project, id := get("SYSTEM_COLLECTIONURI"), get("SYSTEM_TEAMPROJECT"), get("BUILD_BUILDID")
		if coll == "" || project == "" || id == "" {
			return ""
		}
		u := strings.TrimSuffix(coll, "/") + "/" + url.PathEscape(project) + "/_build/results?buildId=" +
			url.QueryEscape(id)
		if jobVar != "" {
			job := get(jobVar)
			if job == "" {
				return ""
			}
			u += "&view=logs&j=" + url.QueryEscape(job)
		}
		return u
	})
}
