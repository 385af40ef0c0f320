// Package demo is `make demo`: docker-werf's main job, told as a short run a
// person reads. Two GitLab CI jobs share one runner (one machine user, one
// HOME, one ~/.docker); each prepares itself with `docker werf ci-env` and
// logs in as its own user through docker-credential-werf, and neither sees
// or logs out the other. Then a cleanup job shows, with a dry run, why each
// tag of the project's repository goes or stays, and deletes.
//
// Everything is real: the built binaries, the docker CLI, sh, git and
// Debian's docker-registry (CNCF distribution 2.8) with TLS and htpasswd
// users. Only the earlier pipelines' images are pushed from this process.
// `make test` runs TestDemo too and checks the narration for the decisions;
// `make demo` runs it with -narrate, which prints the narration.
package demo

import (
	"bytes"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"text/tabwriter"
	"time"

	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"
	"gotest.tools/v3/icmd"

	"github.com/docker-werf/docker-werf/e2e/harness"
	"github.com/docker-werf/docker-werf/internal/ci"
	"github.com/docker-werf/docker-werf/internal/gitrepo/gittest"
)

var narrate = flag.Bool("narrate", false, "print the demo's narration on stdout (make demo)")

func TestMain(m *testing.M) { harness.Main(m) }

// TestDemo runs the demo and checks that its narration holds what it claims:
// each job's own login, the logout that leaves the other job alone, and
// each tag's decision, in the dry run and the real run.
func TestDemo(t *testing.T) {
	var story bytes.Buffer
	var w io.Writer = &story
	if *narrate {
		w = io.MultiWriter(&story, os.Stdout)
	}
	d := newDemo(t, w)
	d.twoJobs()
	left := d.cleanup()
	text := story.String()

	jobs, _, _ := strings.Cut(text, "2. The nightly cleanup")
	access := strings.Split(jobs, "$ docker werf registry info | grep Access\n")
	assert.Assert(t, is.Len(access, 4), "want three access checks")
	for i, who := range []string{"alice", "bob", "alice"} {
		assert.Check(t, is.Contains(lineWith(access[i+1], "Access:"), "authenticated as "+who))
	}
	for _, want := range []string{
		"Removing login credentials for " + d.reg.Addr,
		"Would delete (4; dry run, nothing is deleted)",
		"Deletions (4):",
	} {
		assert.Check(t, is.Contains(text, want))
	}
	// The dry run names every tag with its decision; the real run, the
	// deleted ones.
	for _, run := range []string{dryRunHeading, realRunHeading} {
		part := section(text, run)
		for tag, reason := range d.want {
			row := rowOf(part, tag)
			if run == realRunHeading && !d.deletes(tag) {
				assert.Check(t, is.Len(row, 0), "the real run (--quiet) lists the kept tag %s", tag)
				continue
			}
			assert.Check(t, slices.Contains(row, reason), "%s: tag %s: want reason %s, got %q", run, tag, reason, row)
			if run == realRunHeading {
				assert.Check(t, slices.Contains(row, "deleted"), "tag %s: %q", tag, row)
			}
		}
	}
	assert.Check(t, is.DeepEqual(left, d.kept()))
}

const (
	dryRunHeading  = "[job 1003] $ docker werf cleanup --dry-run"
	realRunHeading = "[job 1003] $ docker werf cleanup --quiet\n"
)

// section returns text from heading up to the next command prompt of a job.
func section(text, heading string) string {
	i := strings.Index(text, heading)
	if i < 0 {
		return ""
	}
	rest := text[i+len(heading):]
	if j := strings.Index(rest, "\n[job "); j >= 0 {
		rest = rest[:j]
	}
	return rest
}

// lineWith returns the first line of text holding s, or "".
func lineWith(text, s string) string {
	for _, l := range strings.Split(text, "\n") {
		if strings.Contains(l, s) {
			return l
		}
	}
	return ""
}

// rowOf returns the words of the first table row of text with the word
// tag, or nil.
func rowOf(text, tag string) []string {
	for _, l := range strings.Split(text, "\n") {
		if f := strings.Fields(l); slices.Contains(f, tag) {
			return f
		}
	}
	return nil
}

type demo struct {
	t      *testing.T
	h      *harness.H
	out    io.Writer
	reg    *harness.Registry
	repo   string
	runner *harness.Env
	pass   map[string]string // user → password
	want   map[string]string // tag → the reason cleanup must give
}

// job is one CI job on the runner: the runner's environment with the job's
// own variables, and those its ci-env exported.
type job struct {
	id  string
	env *harness.Env
	dir string // working directory: the runner's HOME, or the checkout
}

func newDemo(t *testing.T, out io.Writer) *demo {
	d := &demo{t: t, h: harness.New(t), out: out, pass: map[string]string{}, want: map[string]string{}}
	for _, user := range []string{"alice", "bob"} {
		d.pass[user] = d.h.RandomSecret(user + "-")
		d.h.Credential(user, d.pass[user])
	}
	d.reg = harness.StartRegistry(t, harness.Registry28, d.pass)
	d.repo = d.reg.Repo("shop/app")
	d.runner = harness.NewEnv(t)
	// ci-env puts each job's docker config under the Env's own TMPDIR,
	// in the demo's directory, removed at the end.
	d.say("docker-werf demo\n")
	d.say("A registry runs at %s: CNCF distribution 2.8 (Debian's docker-registry), TLS, users alice and bob.", d.reg.Addr)
	d.say("One runner, one machine user: every job below has the same HOME and the same ~/.docker/config.json.\n")
	return d
}

func (d *demo) say(format string, args ...any) {
	fmt.Fprintf(d.out, format+"\n", args...)
}

// newJob is GitLab job id, on the runner, of a push to main at commit.
func (d *demo) newJob(id, user, commit, dir string) *job {
	env := d.runner.With("CI", "true", "GITLAB_CI", "true", "CI_JOB_ID", id, "CI_PIPELINE_ID", "77",
		"CI_PROJECT_URL", "https://gitlab.example.com/shop/app", "CI_COMMIT_SHA", commit, "CI_COMMIT_BRANCH", "main",
		// a masked CI/CD variable of the project
		"REGISTRY_PASSWORD", d.pass[user])
	if dir == "" {
		dir = d.runner.Home
	}
	return &job{id: id, env: env, dir: dir}
}

// run runs script in sh as a step of j, prints it and its output, and
// fails the demo when it fails.
func (d *demo) run(j *job, script string) string {
	d.t.Helper()
	res := d.sh(j, script)
	// Progress and warnings (stderr) first, then the result (stdout).
	d.show(j, script, res.Stderr()+res.Stdout())
	res.Assert(d.t, icmd.Success)
	return res.Stdout()
}

// sh runs script in sh as j, in its directory.
func (d *demo) sh(j *job, script string) *icmd.Result {
	cmd := j.env.Cmd("sh", "-c", script)
	cmd.Dir = j.dir
	return d.h.RunCmd(cmd)
}

func (d *demo) show(j *job, script, output string) {
	prompt := "[job " + j.id + "] "
	fmt.Fprintf(d.out, "%s$ %s\n", prompt, script)
	indent := strings.Repeat(" ", len(prompt))
	for _, l := range strings.Split(strings.TrimRight(output, "\n"), "\n") {
		if l != "" {
			l = indent + l
		}
		fmt.Fprintln(d.out, l)
	}
}

// ciEnv runs the job's first line, `eval "$(docker werf ci-env gitlab)"`,
// and carries what it exported into the job's later steps (each step is a
// new sh, as in GitLab's script lines run by one shell).
func (d *demo) ciEnv(j *job) {
	d.t.Helper()
	line := `eval "$(docker werf ci-env gitlab --repo ` + d.repo + ` || echo exit 1)"`
	// Only what ci-env exported is read back: the job's secret variables
	// are not in this step's environment, so not in its output.
	env := j.env.With()
	env.Unset("REGISTRY_PASSWORD")
	res := d.sh(&job{id: j.id, env: env, dir: j.dir}, line+` && env -0`)
	res.Assert(d.t, icmd.Success)
	var werfVars []string
	for _, kv := range strings.Split(res.Stdout(), "\x00") {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k != "DOCKER_CONFIG" && !strings.HasPrefix(k, "WERF_") {
			continue
		}
		j.env = j.env.With(k, v)
		if strings.HasPrefix(k, "WERF_") {
			werfVars = append(werfVars, k)
		}
	}
	cfg := j.env.Get("DOCKER_CONFIG")
	assert.Assert(d.t, cfg != "" && cfg != d.runner.DockerConfig, "ci-env gave job %s no docker config of its own: %q", j.id, cfg)
	d.show(j, line, fmt.Sprintf("DOCKER_CONFIG=$TMPDIR/%s   (this job's own docker config, credsStore werf)\n"+
		"and %d WERF_* variables: WERF_REPO=%s, WERF_TAG_GIT_BRANCH=%s, ...",
		filepath.Base(cfg), len(werfVars), j.env.Get("WERF_REPO"), j.env.Get("WERF_TAG_GIT_BRANCH")))
}

func (d *demo) login(j *job, user string) {
	d.t.Helper()
	d.run(j, `echo "$REGISTRY_PASSWORD" | docker login `+d.reg.Addr+` -u `+user+` --password-stdin`)
}

func (d *demo) access(j *job) string {
	d.t.Helper()
	return d.run(j, `docker werf registry info | grep Access`)
}

// twoJobs is the first half: two jobs at once, each with its own login.
func (d *demo) twoJobs() {
	t := d.t
	d.say("1. Two GitLab CI jobs run at once; each logs in to the registry as its own user.\n")
	sha := strings.Repeat("4c", 20)
	a, b := d.newJob("1001", "alice", sha, ""), d.newJob("1002", "bob", sha, "")
	d.ciEnv(a)
	d.ciEnv(b)
	d.login(a, "alice")
	d.login(b, "bob")
	// The logins went to each job's store (0600 files in a 0700 directory
	// per job), never into a config.json.
	for _, f := range []string{d.runner.ConfigFile(), filepath.Join(a.env.Get("DOCKER_CONFIG"), "config.json"),
		filepath.Join(b.env.Get("DOCKER_CONFIG"), "config.json")} {
		d.h.AssertNoSecretInFile(f)
	}
	assert.Check(t, is.Contains(d.access(a), "authenticated as alice"))
	assert.Check(t, is.Contains(d.access(b), "authenticated as bob"))
	d.run(b, `docker logout `+d.reg.Addr)
	d.run(b, `docker werf ci-env --cleanup`)
	assert.Check(t, is.Contains(d.access(a), "authenticated as alice"))
	d.say("Job 1001 is still alice: job 1002's login and logout went to job 1002's own store.")
	d.run(a, `cat "$DOCKER_CONFIG/config.json"`)
	d.run(a, `docker werf ci-env --cleanup`)
	_, err := os.Stat(a.env.Get("DOCKER_CONFIG"))
	assert.Check(t, os.IsNotExist(err), "job 1001's docker config is still there after ci-env --cleanup: %v", err)
	d.say("\nNo password is in ~/.docker/config.json, in a job's config.json or in any output above (the demo checks).\n")
}

// cleanup is the second half: the repository earlier pipelines filled, a
// dry run, the real run. It returns the tags left.
func (d *demo) cleanup() []string {
	t := d.t
	d.say("2. The nightly cleanup job of the project.\n")
	now := time.Now()
	ago := func(days int) time.Time { return now.Add(-time.Duration(days) * 24 * time.Hour) }

	// The project's git history, as the cleanup job's checkout has it.
	checkout := filepath.Join(d.runner.Root, "checkout")
	g := gittest.NewBuilder(t, checkout)
	g.Git("init", "-q", "-b", "main")
	c0 := g.Commit(ago(40), "first release")
	c1 := g.Commit(ago(20), "add the shop")
	g.Git("tag", "v1.0.0")
	c2 := g.Commit(ago(12), "add the cart")
	g.Git("tag", "v1.1.0-rc1")
	g.Git("checkout", "-q", "-b", "feature/search")
	s1 := g.Commit(ago(10), "search, abandoned")
	g.Git("checkout", "-q", "main")
	c3 := g.Commit(ago(3), "fix the cart")
	g.Git("checkout", "-q", "-b", "feature/login")
	l1 := g.Commit(ago(2), "log in")
	g.Git("checkout", "-q", "main")
	c4 := g.Commit(ago(1), "speed up")
	g.Git("branch", "-q", "-D", "feature/search")
	g.Git("tag", "-d", "v1.1.0-rc1")

	// What earlier pipelines pushed: werf's tags of branches, git tags and
	// commits, each image labelled with its commit.
	p := harness.NewPusher(t, "alice", d.pass["alice"])
	type pushed struct {
		tag, commit, why string
		built            time.Time
		keep             string // the reason cleanup must give
		sameAs           string // another tag of the same image
	}
	images := []pushed{
		{"main", c4, "branch main", ago(1), "protected", ""},
		{c4, c4, "commit on main", ago(1), "git-commit", ""},
		{ci.Slug("feature/login"), l1, "branch feature/login", ago(2), "git-branch", ""},
		{"v1.0.0", c1, "git tag v1.0.0", ago(20), "git-tag", ""},
		{c2, c2, "commit on main", ago(12), "git-commit", ""},
		{"v1.1.0-rc1", c2, "git tag v1.1.0-rc1, since deleted; the same image as " + short(c2), ago(12), "git-tag-gone", c2},
		{ci.Slug("feature/search"), s1, "branch feature/search, since deleted", ago(10), "commit-gone", ""},
		{s1, s1, "commit of the deleted branch only", ago(10), "commit-gone", ""},
		{c0, c0, "commit on main", ago(40), "git-commit-expired", ""},
		{"feature-wip", c3, "an unknown branch, pushed minutes ago", now.Add(-10 * time.Minute), "young", ""},
	}
	for _, im := range images {
		if im.sameAs != "" {
			p.Tag(d.repo+":"+im.sameAs, im.tag)
		} else {
			p.Push(d.repo+":"+im.tag, p.Image(im.built, map[string]string{"org.opencontainers.image.revision": im.commit}))
		}
		d.want[im.tag] = im.keep
	}
	d.say("Earlier pipelines pushed %d tags to %s:", len(images), d.repo)
	tw := tabwriter.NewWriter(d.out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "  TAG\tBUILT\tFROM")
	for _, im := range images {
		fmt.Fprintf(tw, "  %s\t%s\t%s\n", im.tag, age(now.Sub(im.built)), im.why)
	}
	assert.NilError(t, tw.Flush())
	d.say("\nIn git, main has 5 commits and tag v1.0.0; feature/login is alive; feature/search and tag v1.1.0-rc1 are deleted.")
	d.say("The cleanup job runs in the project's checkout, with werf's default keep policies (no werf.yaml).\n")

	j := d.newJob("1003", "alice", c4, checkout)
	d.ciEnv(j)
	d.login(j, "alice")
	d.run(j, `docker werf cleanup --dry-run`)
	d.say("\nThe dry run wrote nothing. The real run; --quiet leaves out the kept tags:\n")
	d.run(j, `docker werf cleanup --quiet`)
	d.run(j, `docker werf ci-env --cleanup`)
	left := p.Tags(d.repo)
	slices.Sort(left)
	d.say("\nLeft in %s: %s.", d.repo, strings.Join(left, ", "))
	assert.Check(t, slices.Contains(left, c2), "the tag of commit %s went with v1.1.0-rc1, which shares its image", c2)
	d.say("v1.1.0-rc1 is gone and %s, the same image, stays: cleanup removes a tag, never an image a kept tag needs.", short(c2))
	d.say("The demo stops the registry and removes everything it made.")
	return left
}

// kept lists the tags the cleanup must keep.
func (d *demo) kept() []string {
	var out []string
	for tag := range d.want {
		if !d.deletes(tag) {
			out = append(out, tag)
		}
	}
	slices.Sort(out)
	return out
}

// deletes says whether the cleanup must delete tag.
func (d *demo) deletes(tag string) bool {
	switch d.want[tag] {
	case "git-tag-gone", "commit-gone", "git-commit-expired":
		return true
	}
	return false
}

func short(sha string) string { return sha[:7] }

func age(d time.Duration) string {
	if d < time.Hour {
		return fmt.Sprintf("%d minutes ago", int(d.Minutes()))
	}
	days := int(d.Hours()/24 + 0.5)
	if days == 1 {
		return "1 day ago"
	}
	return fmt.Sprintf("%d days ago", days)
}
