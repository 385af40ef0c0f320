package ci

import "strings"

// A cond tests one variable.
type cond struct {
	Var string
	// Value is what the variable must equal (case-insensitively); empty
	// means any non-empty value; "true" accepts every Truthy value.
	Value string
}

// A part is one component of a job key: the value of the first non-empty
// variable in Vars. A required part that is missing leaves the job key empty.
type part struct {
	Vars     []string
	Optional bool
}

// A rule describes one CI system.
type rule struct {
	Name string
	// When is a disjunction of conjunctions: the system is detected when
	// every cond of at least one group holds.
	When [][]cond
	// Key lists the job-key components, in order.
	Key []part
}

func all(c ...cond) []cond           { return c }
func is(v, value string) cond        { return cond{Var: v, Value: value} }
func set(v string) cond              { return cond{Var: v} }
func req(vars ...string) part        { return part{Vars: vars} }
func opt(vars ...string) part        { return part{Vars: vars, Optional: true} }
func when(groups ...[]cond) [][]cond { return groups }

// table is the detection table, most specific system first. Sources: the
// vendors' documentation and semantic-release/env-ci, watson/ci-info
// (https://github.com/watson/ci-info). Forgejo runners mirror FORGEJO_* into GITHUB_*
// and may set GITEA_ACTIONS too, Gitea's act_runner sets GITHUB_ACTIONS, so
// the order forgejo, gitea, github matters; Woodpecker used to export DRONE_*
// compatibility variables, so it precedes Drone.
var table = []rule{
	{
		Name: "gitlab",
		When: when(all(is("GITLAB_CI", "true"))),
		Key:  []part{req("CI_JOB_ID")},
	},
	{
		Name: "forgejo",
		When: when(all(is("FORGEJO_ACTIONS", "true"))),
		Key: []part{
			req("FORGEJO_RUN_ID", "GITHUB_RUN_ID"),
			opt("FORGEJO_RUN_ATTEMPT", "GITHUB_RUN_ATTEMPT"),
			req("FORGEJO_JOB", "GITHUB_JOB"),
			opt("RUNNER_NAME"),
			opt("RUNNER_TEMP"),
		},
	},
	{
		Name: "gitea",
		When: when(all(is("GITEA_ACTIONS", "true"))),
		Key: []part{
			req("GITEA_RUN_ID", "GITHUB_RUN_ID"),
			opt("GITEA_RUN_ATTEMPT", "GITHUB_RUN_ATTEMPT"),
			req("GITEA_JOB", "GITHUB_JOB"),
			opt("RUNNER_NAME"),
			opt("RUNNER_TEMP"),
		},
	},
	{
		// GITHUB_JOB is the job's id in the workflow, the same for every
		// matrix leg; RUNNER_NAME and RUNNER_TEMP tell apart legs running
		// at the same time on one machine (each runner has its own).
		Name: "github",
		When: when(all(is("GITHUB_ACTIONS", "true"))),
		Key: []part{
			req("GITHUB_RUN_ID"),
			opt("GITHUB_RUN_ATTEMPT"),
			req("GITHUB_JOB"),
			opt("RUNNER_NAME"),
			opt("RUNNER_TEMP"),
		},
	},
	{
		Name: "azure-pipelines",
		When: when(all(is("TF_BUILD", "true"))),
		Key:  []part{req("SYSTEM_JOBID"), opt("BUILD_BUILDID"), opt("SYSTEM_JOBATTEMPT")},
	},
	{
		Name: "circleci",
		When: when(all(is("CIRCLECI", "true"))),
		Key:  []part{req("CIRCLE_WORKFLOW_JOB_ID")},
	},
	{
		Name: "buildkite",
		When: when(all(is("BUILDKITE", "true"))),
		Key:  []part{req("BUILDKITE_JOB_ID"), opt("BUILDKITE_RETRY_COUNT")},
	},
	{
		Name: "bitbucket",
		When: when(all(set("BITBUCKET_BUILD_NUMBER"))),
		Key:  []part{req("BITBUCKET_STEP_UUID"), opt("BITBUCKET_STEP_RUN_NUMBER")},
	},
	{
		// BUILD_TAG is jenkins-${JOB_NAME}-${BUILD_NUMBER}; EXECUTOR_NUMBER
		// tells apart parallel branches of one build on one agent.
		Name: "jenkins",
		When: when(
			all(set("JENKINS_URL"), set("BUILD_TAG")),
			all(set("JENKINS_HOME"), set("BUILD_TAG")),
		),
		Key: []part{req("BUILD_TAG"), opt("EXECUTOR_NUMBER"), opt("NODE_NAME")},
	},
	{
		Name: "woodpecker",
		When: when(all(is("CI", "woodpecker"))),
		Key: []part{
			req("CI_REPO"),
			req("CI_PIPELINE_NUMBER"),
			opt("CI_WORKFLOW_NUMBER"),
			opt("CI_STEP_NUMBER"),
		},
	},
	{
		// Build numbers count per repository, hence DRONE_REPO.
		Name: "drone",
		When: when(all(is("DRONE", "true"))),
		Key: []part{
			opt("DRONE_REPO"),
			req("DRONE_BUILD_NUMBER"),
			opt("DRONE_STAGE_NUMBER"),
			opt("DRONE_STEP_NUMBER"),
		},
	},
	{
		// teamcity.build.id is only in the properties file; the build
		// number is unique within a build configuration.
		Name: "teamcity",
		When: when(all(set("TEAMCITY_VERSION"))),
		Key:  []part{opt("TEAMCITY_PROJECT_NAME"), opt("TEAMCITY_BUILDCONF_NAME"), req("BUILD_NUMBER")},
	},
	{
		Name: "travis",
		When: when(all(is("TRAVIS", "true"))),
		Key:  []part{req("TRAVIS_JOB_ID")},
	},
}

func (r *rule) matches(get func(string) string) bool {
	for _, group := range r.When {
		ok := true
		for _, c := range group {
			if !c.holds(get(c.Var)) {
				ok = false
				break
			}
		}
		if ok {
			return true
		}
	}
	return false
}

func (c cond) holds(v string) bool {
	switch c.Value {
	case "":
		return strings.TrimSpace(v) != ""
	case "true":
		return Truthy(v)
	}
	return strings.EqualFold(strings.TrimSpace(v), c.Value)
}

// jobKey joins the parts with "/", each escaped so that "/" inside a value
// cannot make two different variable sets give the same key. A missing
// optional part leaves an empty component, keeping positions fixed.
func (r *rule) jobKey(get func(string) string) string {
	var b strings.Builder
	for i, p := range r.Key {
		v := ""
		for _, name := range p.Vars {
			if v = strings.TrimSpace(get(name)); v != "" {
				break
			}
		}
		if v == "" && !p.Optional {
			return ""
		}
		if i > 0 {
			b.WriteByte('/')
		}
		b.WriteString(escape(v))
	}
	return b.String()
}

func escape(v string) string {
	if !strings.ContainsAny(v, "%/") {
		return v
	}
	return strings.NewReplacer("%", "%25", "/", "%2F").Replace(v)
}
