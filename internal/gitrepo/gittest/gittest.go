// Package gittest builds git repositories for tests with the git command
// line, with fixed names and dates so that commit SHAs are reproducible.
package gittest

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// T0 is the base time of the fixtures: Day(n) is T0 + n×24h.
var T0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// Day returns T0 plus n days.
func Day(n int) time.Time { return T0.Add(time.Duration(n) * 24 * time.Hour) }

// Env returns an environment for git isolated from the user's and system
// configuration, with fixed author and committer names.
func Env(home string) []string {
	var env []string
	for _, kv := range os.Environ() {
		if k, _, _ := strings.Cut(kv, "="); strings.HasPrefix(k, "GIT_") || k == "HOME" || k == "XDG_CONFIG_HOME" {
			continue
		}
		env = append(env, kv)
	}
	return append(env,
		"HOME="+home, "XDG_CONFIG_HOME="+home, "GIT_CONFIG_NOSYSTEM=1", "GIT_CONFIG_GLOBAL=/dev/null",
		"GIT_AUTHOR_NAME=Test", "GIT_AUTHOR_EMAIL=test@example.com",
		"GIT_COMMITTER_NAME=Test", "GIT_COMMITTER_EMAIL=test@example.com", "LC_ALL=C")
}

// Builder runs git commands in one directory at a settable time.
type Builder struct {
	T   testing.TB
	Dir string
	Env []string
	Now time.Time
}

// NewBuilder returns a Builder for dir (created if missing).
func NewBuilder(t testing.TB, dir string) *Builder {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return &Builder{T: t, Dir: dir, Env: Env(filepath.Dir(dir)), Now: T0}
}

// Git runs git in the builder's directory with author and committer dates
// set to b.Now and returns its trimmed stdout.
func (b *Builder) Git(args ...string) string {
	b.T.Helper()
	out, err := b.try(nil, args...)
	if err != nil {
		b.T.Fatal(err)
	}
	return out
}

// GitInput is Git with stdin.
func (b *Builder) GitInput(stdin []byte, args ...string) string {
	b.T.Helper()
	out, err := b.try(stdin, args...)
	if err != nil {
		b.T.Fatal(err)
	}
	return out
}

func (b *Builder) try(stdin []byte, args ...string) (string, error) {
	cmd := exec.Command("git", append([]string{"-C", b.Dir, "-c", "commit.gpgsign=false", "-c", "tag.gpgsign=false",
		"-c", "init.defaultBranch=main", "-c", "protocol.file.allow=always"}, args...)...)
	date := fmt.Sprintf("@%d +0000", b.Now.Unix())
	cmd.Env = append(append([]string(nil), b.Env...), "GIT_AUTHOR_DATE="+date, "GIT_COMMITTER_DATE="+date)
	if stdin != nil {
		cmd.Stdin = bytes.NewReader(stdin)
	}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("git %s in %s: %v: %s", strings.Join(args, " "), b.Dir, err, stderr.String())
	}
	return strings.TrimSpace(stdout.String()), nil
}

// Commit makes an empty commit with message msg at time at and returns its
// SHA.
func (b *Builder) Commit(at time.Time, msg string) string {
	b.T.Helper()
	b.Now = at
	b.Git("commit", "-q", "--allow-empty", "-m", msg)
	return b.Git("rev-parse", "HEAD")
}

// Fixture is the repository described in New.
type Fixture struct {
	Dir   string            // the repository under test
	Other string            // the repository fetched as remote "origin"
	C     map[string]string // commit name → SHA
}

// New builds, under a temporary directory:
//
//	main:        c1(d1) ─ c2(d2) ─────────── m1(d5) ─ c3(d6) ─ c4(d11)      local main
//	                        └ a1(d3) ─ a2(d4) ┘                 └ c5(d14)  origin/main
//	feature-a:   merged into main by m1 (--no-ff) and deleted
//	feature-b:   c3 ─ b1(d7) ─ b2(d8)                             alive, local only
//	dead:        c3 ─ d1(d9) ─ d2(d10)                            deleted: d1, d2 unreachable
//	release-1:   c4 ─ r1(d15)                                     origin/release-1 only
//	feature/x_y: c4 ─ f1(d16)                                     local, slug differs from name
//
//	tags: v1.0.0 c1 lightweight; v1.0.1 c2 annotated (tagger d2);
//	      v1.0.2 m1 lightweight; v1.0.3 c3 annotated (tagger d12);
//	      v1.0.4 c4 lightweight; v1.0.5 b2 annotated (tagger d13);
//	      v0.9.0 at c1 created and deleted.
//
// Other is a clone of Dir in which c5 and release-1 were committed; Dir has
// it as remote origin, fetched. HEAD of Dir is main (c4).
func New(t testing.TB) *Fixture {
	t.Helper()
	root := t.TempDir()
	fx := &Fixture{Dir: filepath.Join(root, "work"), Other: filepath.Join(root, "other"), C: map[string]string{}}
	b := NewBuilder(t, fx.Dir)
	b.Git("init", "-q", "-b", "main")
	c := fx.C
	c["c1"] = b.Commit(Day(1), "c1")
	b.Git("tag", "v1.0.0")
	b.Git("tag", "v0.9.0")
	c["c2"] = b.Commit(Day(2), "c2")
	b.Git("tag", "-a", "-m", "v1.0.1", "v1.0.1")
	b.Git("checkout", "-q", "-b", "feature-a")
	c["a1"] = b.Commit(Day(3), "a1")
	c["a2"] = b.Commit(Day(4), "a2")
	b.Git("checkout", "-q", "main")
	b.Now = Day(5)
	b.Git("merge", "-q", "--no-ff", "-m", "m1", "feature-a")
	c["m1"] = b.Git("rev-parse", "HEAD")
	b.Git("tag", "v1.0.2")
	b.Git("branch", "-q", "-D", "feature-a")
	c["c3"] = b.Commit(Day(6), "c3")
	b.Git("checkout", "-q", "-b", "feature-b")
	c["b1"] = b.Commit(Day(7), "b1")
	c["b2"] = b.Commit(Day(8), "b2")
	b.Now = Day(13)
	b.Git("tag", "-a", "-m", "v1.0.5", "v1.0.5")
	b.Git("checkout", "-q", "-b", "dead", c["c3"])
	c["d1"] = b.Commit(Day(9), "d1")
	c["d2"] = b.Commit(Day(10), "d2")
	b.Git("checkout", "-q", "main")
	b.Git("branch", "-q", "-D", "dead")
	b.Now = Day(12)
	b.Git("tag", "-a", "-m", "v1.0.3", "v1.0.3", c["c3"])
	c["c4"] = b.Commit(Day(11), "c4")
	b.Git("tag", "v1.0.4")
	b.Git("checkout", "-q", "-b", "feature/x_y")
	c["f1"] = b.Commit(Day(16), "f1")
	b.Git("checkout", "-q", "main")
	b.Git("tag", "-d", "v0.9.0")

	o := NewBuilder(t, fx.Other)
	o.Git("clone", "-q", "file://"+fx.Dir, fx.Other)
	o.Git("checkout", "-q", "main")
	c["c5"] = o.Commit(Day(14), "c5")
	o.Git("checkout", "-q", "-b", "release-1", c["c4"])
	c["r1"] = o.Commit(Day(15), "r1")
	o.Git("checkout", "-q", "main")

	b.Git("remote", "add", "origin", fx.Other)
	b.Git("fetch", "-q", "origin")
	return fx
}
