package e2e

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/docker-werf/docker-werf/e2e/harness"
)

// The credential helper runs on every docker pull and push, and docker runs
// the plugin's metadata command on every `docker --help`: their whole-process
// latency matters more than anything inside them. A Go hello-world is the
// floor any Go binary pays.

const helloWorld = "package main\n\nimport \"os\"\n\nfunc main() { os.Stdout.WriteString(\"hello\\n\") }\n"

func BenchmarkProcessHelloWorld(b *testing.B) {
	dir := b.TempDir()
	writeFile(b, filepath.Join(dir, "go.mod"), "module hello\n\ngo 1.26\n")
	writeFile(b, filepath.Join(dir, "main.go"), helloWorld)
	bin := filepath.Join(dir, "hello")
	build := exec.Command("go", "build", "-trimpath", "-ldflags=-s -w", "-o", bin, ".")
	build.Dir, build.Env = dir, append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		b.Fatalf("building hello-world: %v\n%s", err, out)
	}
	benchProcess(b, nil, "", bin)
}

func BenchmarkProcessCredentialHelperGet(b *testing.B) {
	helper := harness.Binaries(b).Helper
	env := []string{"HOME=" + b.TempDir(), "WERF_CREDENTIALS_DIR=" + filepath.Join(b.TempDir(), "store"), "PATH=" + os.Getenv("PATH")}
	store := exec.Command(helper, "store")
	store.Env = env
	store.Stdin = strings.NewReader(`{"ServerURL":"registry.example.com","Username":"bench","Secret":"bench-secret"}`)
	if out, err := store.CombinedOutput(); err != nil {
		b.Fatalf("store: %v\n%s", err, out)
	}
	b.Run("stored", func(b *testing.B) { benchProcess(b, env, "registry.example.com", helper, "get") })
	b.Run("not-found", func(b *testing.B) { benchProcess(b, env, "elsewhere.example.com", helper, "get") })
}

func BenchmarkProcessPluginMetadata(b *testing.B) {
	plugin := harness.Binaries(b).Plugin
	benchProcess(b, []string{"HOME=" + b.TempDir()}, "", plugin, "docker-cli-plugin-metadata")
}

// benchProcess runs the command b.N times and reports the median and p90 wall
// time of one run next to the mean that ns/op gives.
func benchProcess(b *testing.B, env []string, stdin string, name string, args ...string) {
	b.Helper()
	times := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for range b.N {
		cmd := exec.Command(name, args...)
		cmd.Env = env
		cmd.Stdin = strings.NewReader(stdin)
		var out bytes.Buffer
		cmd.Stdout = &out
		start := time.Now()
		err := cmd.Run()
		times = append(times, time.Since(start))
		// get of a foreign host exits 1 with the not-found message, as the
		// protocol says; anything else is a broken benchmark.
		if err != nil && !strings.Contains(out.String(), "credentials not found") {
			b.Fatalf("%s %v: %v: %s", name, args, err, out.String())
		}
	}
	b.StopTimer()
	slices.Sort(times)
	b.ReportMetric(float64(times[len(times)/2].Microseconds())/1000, "ms-median")
	b.ReportMetric(float64(times[len(times)*9/10].Microseconds())/1000, "ms-p90")
}

func writeFile(tb testing.TB, path, content string) {
	tb.Helper()
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		tb.Fatal(err)
	}
}

// BenchmarkProcessCIEnv is the first step of every CI job: a GitLab branch
// job's `docker werf ci-env`, from the plugin binary, with a copied source
// config and the CI registry sent to the helper.
func BenchmarkProcessCIEnv(b *testing.B) {
	bins := harness.Binaries(b)
	home := b.TempDir()
	source := filepath.Join(home, ".docker")
	if err := os.MkdirAll(source, 0o700); err != nil {
		b.Fatal(err)
	}
	writeFile(b, filepath.Join(source, "config.json"), `{"auths":{"other.example.com":{"auth":"dTpw"}}}`)
	env := []string{"HOME=" + home, "PATH=" + bins.Dir + ":/usr/bin:/bin", "TMPDIR=" + b.TempDir(),
		"WERF_CREDENTIALS_DIR=" + filepath.Join(home, "creds"), "GITLAB_CI=true", "CI_JOB_ID=1",
		"CI_COMMIT_SHA=0123456789abcdef0123456789abcdef01234567", "CI_COMMIT_BRANCH=main", "CI_COMMIT_REF_NAME=main",
		"CI_PROJECT_URL=https://gitlab.example.com/g/p", "CI_REGISTRY=registry.example.com",
		"CI_REGISTRY_IMAGE=registry.example.com/g/p", "CI_JOB_TOKEN=bench-token"}
	benchProcess(b, env, "", bins.Plugin, "werf", "ci-env")
}
