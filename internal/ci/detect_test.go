package ci

import (
	"testing"

	"gotest.tools/v3/assert"

	"github.com/docker-werf/docker-werf/internal/registry"
)

func envOf(kv map[string]string) registry.Env {
	return func(k string) string { return kv[k] }
}

func TestDetect(t *testing.T) {
	tests := []struct {
		name string
		env  map[string]string
		want System
		ok   bool
	}{
		{name: "none", env: map[string]string{"HOME": "/home/u", "CI": "true"}},
		{name: "gitlab disabled", env: map[string]string{"GITLAB_CI": "false", "CI_JOB_ID": "1"}},
		{
			name: "gitlab",
			env: map[string]string{
				"CI": "true", "GITLAB_CI": "true", "CI_JOB_ID": "7412345", "CI_PIPELINE_ID": "99",
				"CI_CONCURRENT_ID": "3", "CI_REGISTRY": "registry.gitlab.com", "CI_JOB_TOKEN": "tok",
			},
			want: System{Name: "gitlab", JobKey: "7412345"}, ok: true,
		},
		{
			name: "gitlab without job id",
			env:  map[string]string{"GITLAB_CI": "true"},
			want: System{Name: "gitlab"}, ok: true,
		},
		{
			name: "github",
			env: map[string]string{
				"CI": "true", "GITHUB_ACTIONS": "true", "GITHUB_RUN_ID": "9876543210", "GITHUB_RUN_ATTEMPT": "2",
				"GITHUB_JOB": "build", "GITHUB_RUN_NUMBER": "17", "RUNNER_NAME": "GitHub Actions 12",
				"RUNNER_TEMP": "/home/runner/work/_temp",
			},
			want: System{Name: "github", JobKey: "9876543210/2/build/GitHub Actions 12/%2Fhome%2Frunner%2Fwork%2F_temp"},
			ok:   true,
		},
		{
			name: "github minimal",
			env:  map[string]string{"GITHUB_ACTIONS": "true", "GITHUB_RUN_ID": "5", "GITHUB_JOB": "test"},
			want: System{Name: "github", JobKey: "5//test//"}, ok: true,
		},
		{
			name: "github without job",
			env:  map[string]string{"GITHUB_ACTIONS": "true", "GITHUB_RUN_ID": "5"},
			want: System{Name: "github"}, ok: true,
		},
		{
			name: "forgejo mirrors github variables",
			env: map[string]string{
				"FORGEJO_ACTIONS": "true", "GITEA_ACTIONS": "true", "GITHUB_ACTIONS": "true",
				"GITHUB_RUN_ID": "42", "GITHUB_RUN_ATTEMPT": "1", "GITHUB_JOB": "lint", "RUNNER_NAME": "fj-1",
			},
			want: System{Name: "forgejo", JobKey: "42/1/lint/fj-1/"}, ok: true,
		},
		{
			name: "forgejo own variables win",
			env: map[string]string{
				"FORGEJO_ACTIONS": "true", "FORGEJO_RUN_ID": "43", "GITHUB_RUN_ID": "42", "GITHUB_JOB": "lint",
			},
			want: System{Name: "forgejo", JobKey: "43//lint//"}, ok: true,
		},
		{
			name: "gitea",
			env: map[string]string{
				"GITEA_ACTIONS": "true", "GITHUB_ACTIONS": "true", "GITHUB_RUN_ID": "8", "GITHUB_JOB": "build",
				"RUNNER_NAME": "act", "RUNNER_TEMP": "/tmp/act",
			},
			want: System{Name: "gitea", JobKey: "8//build/act/%2Ftmp%2Fact"}, ok: true,
		},
		{
			name: "azure pipelines",
			env: map[string]string{
				"TF_BUILD": "True", "SYSTEM_JOBID": "12f1170f-54f2-53f3-20dd-22fc7dff55f9", "BUILD_BUILDID": "311",
				"SYSTEM_JOBATTEMPT": "1", "AGENT_TEMPDIRECTORY": "/a/_temp",
			},
			want: System{Name: "azure-pipelines", JobKey: "12f1170f-54f2-53f3-20dd-22fc7dff55f9/311/1"}, ok: true,
		},
		{
			name: "circleci",
			env: map[string]string{
				"CI": "true", "CIRCLECI": "true", "CIRCLE_WORKFLOW_JOB_ID": "a5d4-11", "CIRCLE_BUILD_NUM": "12",
			},
			want: System{Name: "circleci", JobKey: "a5d4-11"}, ok: true,
		},
		{
			name: "buildkite",
			env: map[string]string{
				"CI": "true", "BUILDKITE": "true", "BUILDKITE_JOB_ID": "0188-aaaa", "BUILDKITE_BUILD_ID": "0188-bbbb",
				"BUILDKITE_RETRY_COUNT": "0",
			},
			want: System{Name: "buildkite", JobKey: "0188-aaaa/0"}, ok: true,
		},
		{
			name: "bitbucket",
			env: map[string]string{
				"CI": "true", "BITBUCKET_BUILD_NUMBER": "155", "BITBUCKET_PIPELINE_UUID": "{p-1}",
				"BITBUCKET_STEP_UUID": "{s-1}",
			},
			want: System{Name: "bitbucket", JobKey: "{s-1}/"}, ok: true,
		},
		{
			name: "jenkins",
			env: map[string]string{
				"JENKINS_URL": "https://ci.example.com/", "BUILD_TAG": "jenkins-app-main-12", "BUILD_NUMBER": "12",
				"EXECUTOR_NUMBER": "1", "NODE_NAME": "agent-3",
			},
			want: System{Name: "jenkins", JobKey: "jenkins-app-main-12/1/agent-3"}, ok: true,
		},
		{
			name: "jenkins home only",
			env:  map[string]string{"JENKINS_HOME": "/var/jenkins_home", "BUILD_TAG": "jenkins-x-1", "EXECUTOR_NUMBER": "0"},
			want: System{Name: "jenkins", JobKey: "jenkins-x-1/0/"}, ok: true,
		},
		{name: "jenkins home without build", env: map[string]string{"JENKINS_HOME": "/var/jenkins_home"}},
		{
			name: "woodpecker",
			env: map[string]string{
				"CI": "woodpecker", "CI_REPO": "org/app", "CI_PIPELINE_NUMBER": "31", "CI_WORKFLOW_NUMBER": "2",
				"CI_STEP_NUMBER": "4", "DRONE": "true", "DRONE_BUILD_NUMBER": "31",
			},
			want: System{Name: "woodpecker", JobKey: "org%2Fapp/31/2/4"}, ok: true,
		},
		{
			name: "drone",
			env: map[string]string{
				"CI": "true", "DRONE": "true", "DRONE_REPO": "org/app", "DRONE_BUILD_NUMBER": "5",
				"DRONE_STAGE_NUMBER": "1", "DRONE_STEP_NUMBER": "3",
			},
			want: System{Name: "drone", JobKey: "org%2Fapp/5/1/3"}, ok: true,
		},
		{
			name: "teamcity",
			env: map[string]string{
				"TEAMCITY_VERSION": "2025.03 (build 187133)", "BUILD_NUMBER": "120",
				"TEAMCITY_PROJECT_NAME": "App", "TEAMCITY_BUILDCONF_NAME": "Build",
			},
			want: System{Name: "teamcity", JobKey: "App/Build/120"}, ok: true,
		},
		{
			name: "travis",
			env:  map[string]string{"CI": "true", "TRAVIS": "true", "TRAVIS_JOB_ID": "4242", "TRAVIS_BUILD_ID": "4240"},
			want: System{Name: "travis", JobKey: "4242"}, ok: true,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := Detect(envOf(tc.env))
			assert.Equal(t, ok, tc.ok)
			assert.DeepEqual(t, got, tc.want)
		})
	}
}

func TestDetectNilEnv(t *testing.T) {
	_, ok := Detect(nil)
	assert.Assert(t, !ok)
}

func TestMatrixLegsAreDistinct(t *testing.T) {
	base := map[string]string{
		"GITHUB_ACTIONS": "true", "GITHUB_RUN_ID": "100", "GITHUB_RUN_ATTEMPT": "1", "GITHUB_JOB": "test",
	}
	leg := func(runner, temp string) string {
		env := map[string]string{"RUNNER_NAME": runner, "RUNNER_TEMP": temp}
		for k, v := range base {
			env[k] = v
		}
		s, ok := Detect(envOf(env))
		assert.Assert(t, ok)
		return s.JobKey
	}
	a := leg("runner-1", "/srv/r1/_work/_temp")
	b := leg("runner-2", "/srv/r2/_work/_temp")
	assert.Assert(t, a != b)
}

func TestJobKeyEscaping(t *testing.T) {
	// "a/b" + "c" must not collide with "a" + "b/c".
	one, _ := Detect(envOf(map[string]string{"DRONE": "true", "DRONE_REPO": "a/b", "DRONE_BUILD_NUMBER": "c"}))
	two, _ := Detect(envOf(map[string]string{"DRONE": "true", "DRONE_REPO": "a", "DRONE_BUILD_NUMBER": "b/c"}))
	assert.Assert(t, one.JobKey != two.JobKey, "%q == %q", one.JobKey, two.JobKey)
}

func TestTruthy(t *testing.T) {
	for v, want := range map[string]bool{
		"1": true, "true": true, "TRUE": true, "Yes": true, " yes ": true,
		"": false, "0": false, "false": false, "no": false, "on": false,
	} {
		assert.Equal(t, Truthy(v), want, "value %q", v)
	}
}

// detected is Systems without "generic", in detection order.
func detected() []string {
	names := Systems()
	return names[:len(names)-1]
}

func TestDetectionOrder(t *testing.T) {
	names := detected()
	assert.Equal(t, names[0], "gitlab")
	idx := map[string]int{}
	for i, n := range names {
		idx[n] = i
	}
	assert.Assert(t, idx["forgejo"] < idx["gitea"] && idx["gitea"] < idx["github"])
	assert.Assert(t, idx["woodpecker"] < idx["drone"])
	assert.Equal(t, len(names), 13)
}

func TestRecognised(t *testing.T) {
	got := Recognised()
	assert.Equal(t, len(got), len(detected()))
	assert.Equal(t, got[0], "gitlab (GITLAB_CI=true)")
	for i, name := range detected() {
		assert.Check(t, len(got[i]) > len(name)+2 && got[i][:len(name)+2] == name+" (", got[i])
	}
}
