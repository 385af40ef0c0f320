package e2e

import (
	"bufio"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"
	"gotest.tools/v3/icmd"

	"github.com/docker-werf/docker-werf/e2e/harness"
)

// The CI image is built by `make image` from the top-level Dockerfile on a
// base made here (nothing can be pulled): FROM scratch, busybox and the
// docker CLI of the test tools, with the shared libraries they need. A
// GitLab job then runs inside it the way GitLab's docker executor runs one:
// the project mounted at /builds/<path>, the script in the image's sh (no
// bash there), after_script in a new container; the docker socket and the
// host's network let it build, push and reach the registry on the host.

// buildImageBase makes the base image and returns its tag.
func buildImageBase(h *harness.H, env *harness.Env, tag string) {
	t := h.T
	t.Helper()
	dir := t.TempDir()
	busybox, err := exec.LookPath("busybox")
	if err != nil {
		t.Fatalf("busybox is needed for the image's base (Debian busybox-static; e2e/testdeps.sh installs it): %v", err)
	}
	files := map[string]string{"/bin/busybox": busybox, "/usr/local/bin/docker": harness.Tool(t, harness.ToolDocker)}
	for _, bin := range []string{busybox, files["/usr/local/bin/docker"]} {
		for _, lib := range sharedLibraries(t, bin) {
			files[lib] = lib
		}
	}
	dockerfile := "FROM scratch\n"
	for dst, src := range files {
		p := filepath.Join(dir, "rootfs", dst)
		assert.NilError(t, os.MkdirAll(filepath.Dir(p), 0o755))
		b, err := os.ReadFile(src)
		assert.NilError(t, err)
		assert.NilError(t, os.WriteFile(p, b, 0o755))
	}
	for _, d := range []string{"etc", "root", "tmp"} {
		assert.NilError(t, os.MkdirAll(filepath.Join(dir, "rootfs", d), 0o755))
	}
	harness.WriteFile(t, filepath.Join(dir, "rootfs", "etc", "passwd"), "root:x:0:0:root:/root:/bin/sh\n")
	dockerfile += "COPY rootfs/ /\nRUN [\"/bin/busybox\", \"--install\", \"-s\", \"/bin\"]\nRUN chmod 1777 /tmp\n"
	harness.WriteFile(t, filepath.Join(dir, "Dockerfile"), dockerfile)
	removeImageAtCleanup(h, env, tag)
	res := h.Run(env, harness.Tool(t, harness.ToolDocker), "build", "-q", "-t", tag, dir)
	res.Assert(t, icmd.Success)
}

var lddLine = regexp.MustCompile(`(?:=>\s*)?(/\S+)\s+\(0x`)

// sharedLibraries lists what ldd says bin loads (none for a static binary).
func sharedLibraries(t testing.TB, bin string) []string {
	t.Helper()
	out, err := exec.Command("ldd", bin).CombinedOutput()
	if err != nil { // "not a dynamic executable"
		return nil
	}
	var libs []string
	sc := bufio.NewScanner(strings.NewReader(string(out)))
	for sc.Scan() {
		if m := lddLine.FindStringSubmatch(sc.Text()); m != nil {
			libs = append(libs, m[1])
		}
	}
	return libs
}

func removeImageAtCleanup(h *harness.H, env *harness.Env, tag string) {
	docker := harness.Tool(h.T, harness.ToolDocker)
	h.T.Cleanup(func() { _ = exec.Command(docker, "--config", env.DockerConfig, "rmi", "-f", tag).Run() })
}

// dockerSocketArgs gives a container the engine the tests use.
func dockerSocketArgs() []string {
	host := os.Getenv("DOCKER_HOST")
	if host == "" {
		host = "unix:///var/run/docker.sock"
	}
	if sock, ok := strings.CutPrefix(host, "unix://"); ok {
		return []string{"-v", sock + ":/var/run/docker.sock"}
	}
	return []string{"-e", "DOCKER_HOST=" + host}
}

// TestImageGitLabJob: `make image` on a local base, then the template's
// build job inside the image against the registry on the host.
func TestImageGitLabJob(t *testing.T) {
	harness.RequireEngine(t)
	h := harness.New(t)
	token := h.RandomSecret("job-token-")
	h.Credential("gitlab-ci-token", token)
	reg := harness.StartRegistry(t, harness.Registry3, map[string]string{"gitlab-ci-token": token})
	m := newRunnerMachine(t, h)
	suffix := strings.ToLower(harness.RandomName(""))
	base, image := "docker-werf-e2e-base:"+suffix, "docker-werf-e2e:"+suffix
	buildImageBase(h, m.env, base)

	removeImageAtCleanup(h, m.env, image)
	mk := m.env.Cmd("make", "-o", "build", "image", "BIN="+m.env.Bins.Dir, "BASE_IMAGE="+base, "IMAGE="+image)
	mk.Dir = harness.ModuleRoot(t)
	mk.Timeout = 5 * time.Minute
	h.RunCmd(mk).Assert(t, icmd.Success)

	project, commit := newProject(t, m.env, map[string]string{".gitlab-ci.yml": runnerFile(t, "gitlab", "gitlab-ci.yml")})
	p := loadGitLabPipeline(t, project)
	job := p.job(t, "build")
	const dir = "/builds/group/app"
	vars := gitlabJobVars(reg, "group/app", dir, commit, "501", "gitlab-ci-token", token)
	vars["SYNC_DIR"], vars["JOBS"] = "/builds/sync", "1"
	vars["SSL_CERT_FILE"] = "/etc/docker-werf-e2e/ca.pem"
	for k, v := range p.variables {
		vars[k] = v
	}
	for k, v := range job.Variables {
		vars[k] = v
	}
	assert.Check(t, is.Equal(job.Image, "$DOCKER_WERF_IMAGE"))
	assert.NilError(t, os.Mkdir(filepath.Join(project, "..", "sync"), 0o777))

	// The variables reach docker run by name (-e NAME), their values
	// through its environment, never on its command line.
	kv := make([]string, 0, 2*len(vars))
	args := []string{"run", "--rm", "--network", "host", "-w", dir,
		"-v", project + ":" + dir, "-v", filepath.Join(project, "..", "sync") + ":/builds/sync",
		"-v", m.env.CAFile + ":/etc/docker-werf-e2e/ca.pem:ro"}
	args = append(args, dockerSocketArgs()...)
	for k, v := range vars {
		kv = append(kv, k, v)
		args = append(args, "-e", k)
	}
	jobEnv := m.env.With(kv...)
	inImage := func(script string) *icmd.Result {
		cmd := jobEnv.Cmd(harness.Tool(t, harness.ToolDocker), append(slices.Clone(args), image, "sh", "-c", script)...)
		cmd.Timeout = 3 * time.Minute
		return h.RunCmd(cmd)
	}
	main := inImage(gitlabShellScript(job.BeforeScript, job.Script))
	after := inImage(gitlabShellScript(job.AfterScript))
	out := main.Combined() + after.Combined()
	assert.Assert(t, main.ExitCode == 0 && after.ExitCode == 0, "the job in the image:\n%s", out)
	assert.Check(t, is.Contains(out, "authenticated as gitlab-ci-token"))
	assert.Check(t, strings.HasPrefix(jobLine(t, out, "job-config"), "/tmp/docker-werf-config-"))
	assert.Check(t, is.Contains(jobLine(t, out, "job-store"), `"`+reg.Addr+`":"gitlab-ci-token"`))
	assert.Check(t, !strings.Contains(out, "stored unencrypted"), "docker login bypassed the helper:\n%s", out)
	assertTags(t, "gitlab-ci-token", token, reg.Repo("group/app"), commit, "main", "old-feature")
	m.assertUntouched(t)
}
