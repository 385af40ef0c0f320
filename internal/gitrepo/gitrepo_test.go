package gitrepo_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"

	"github.com/docker-werf/docker-werf/internal/gitrepo"
	"github.com/docker-werf/docker-werf/internal/gitrepo/gittest"
)

func TestBranches(t *testing.T) {
	fx := gittest.New(t)
	r, err := gitrepo.Open(fx.Dir)
	assert.NilError(t, err)
	bs, err := r.Branches()
	assert.NilError(t, err)
	day := gittest.Day
	assert.DeepEqual(t, bs, []gitrepo.Branch{
		{Name: "feature-b", Commit: fx.C["b2"], Time: day(8), Refs: []string{"refs/heads/feature-b"}, Tips: []string{fx.C["b2"]}},
		{Name: "feature/x_y", Commit: fx.C["f1"], Time: day(16), Refs: []string{"refs/heads/feature/x_y"}, Tips: []string{fx.C["f1"]}},
		{Name: "main", Commit: fx.C["c5"], Time: day(14), Refs: []string{"refs/heads/main", "refs/remotes/origin/main"},
			Tips: []string{fx.C["c5"], fx.C["c4"]}},
		{Name: "release-1", Commit: fx.C["r1"], Time: day(15), Refs: []string{"refs/remotes/origin/release-1"}, Tips: []string{fx.C["r1"]}},
	})
}

func TestTags(t *testing.T) {
	fx := gittest.New(t)
	r, err := gitrepo.Open(fx.Dir)
	assert.NilError(t, err)
	tags, err := r.Tags()
	assert.NilError(t, err)
	day := gittest.Day
	assert.DeepEqual(t, tags, []gitrepo.Tag{
		{Name: "v1.0.0", Commit: fx.C["c1"], Time: day(1)},
		{Name: "v1.0.1", Commit: fx.C["c2"], Time: day(2), Annotated: true},
		{Name: "v1.0.2", Commit: fx.C["m1"], Time: day(5)},
		{Name: "v1.0.3", Commit: fx.C["c3"], Time: day(12), Annotated: true},
		{Name: "v1.0.4", Commit: fx.C["c4"], Time: day(11)},
		{Name: "v1.0.5", Commit: fx.C["b2"], Time: day(13), Annotated: true},
	})
}

func TestHasCommit(t *testing.T) {
	fx := gittest.New(t)
	r, err := gitrepo.Open(fx.Dir)
	assert.NilError(t, err)
	n, err := r.NumCommits()
	assert.NilError(t, err)
	assert.Check(t, is.Equal(n, 12)) // c1-c5, a1, a2, m1, b1, b2, r1, f1
	tests := []struct {
		name, sha string
		want      bool
		wantErr   string
	}{
		{name: "main", sha: fx.C["c1"], want: true},
		{name: "merged branch", sha: fx.C["a1"], want: true},
		{name: "remote only", sha: fx.C["r1"], want: true},
		{name: "remote main ahead", sha: fx.C["c5"], want: true},
		{name: "upper case", sha: strings.ToUpper(fx.C["b2"]), want: true},
		{name: "short", sha: fx.C["b1"][:7], want: true},
		{name: "deleted branch", sha: fx.C["d1"], want: false},
		{name: "deleted branch short", sha: fx.C["d2"][:10], want: false},
		{name: "unknown", sha: "0123456789abcdef0123456789abcdef01234567", want: false},
		{name: "too short", sha: fx.C["c1"][:6], wantErr: `invalid commit SHA "` + fx.C["c1"][:6] + `": want 7 to 64 hex digits`},
		{name: "not hex", sha: "main", wantErr: `invalid commit SHA "main": want 7 to 64 hex digits`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := r.HasCommit(tc.sha)
			if tc.wantErr != "" {
				assert.Error(t, err, tc.wantErr)
				return
			}
			assert.NilError(t, err)
			assert.Check(t, is.Equal(got, tc.want))
		})
	}
}

func TestHistory(t *testing.T) {
	fx := gittest.New(t)
	r, err := gitrepo.Open(fx.Dir)
	assert.NilError(t, err)
	names := func(cs []gitrepo.Commit) string {
		byS := map[string]string{}
		for n, s := range fx.C {
			byS[s] = n
		}
		var out []string
		for i, c := range cs {
			out = append(out, byS[c.SHA])
			if i > 0 && c.Time.After(cs[i-1].Time) {
				t.Errorf("history not newest first at %d", i)
			}
		}
		return strings.Join(out, " ")
	}
	tests := []struct {
		name string
		revs []string
		want string
	}{
		{name: "local main", revs: []string{"main"}, want: "c4 c3 m1 a2 a1 c2 c1"},
		{name: "main tips", revs: []string{fx.C["c5"], fx.C["c4"]}, want: "c5 c4 c3 m1 a2 a1 c2 c1"},
		{name: "remote branch", revs: []string{"origin/release-1"}, want: "r1 c4 c3 m1 a2 a1 c2 c1"},
		{name: "feature-b", revs: []string{"refs/heads/feature-b"}, want: "b2 b1 c3 m1 a2 a1 c2 c1"},
		{name: "annotated tag", revs: []string{"v1.0.1"}, want: "c2 c1"},
		{name: "short sha", revs: []string{fx.C["a2"][:8]}, want: "a2 a1 c2 c1"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h, err := r.History(tc.revs...)
			assert.NilError(t, err)
			assert.Check(t, is.Equal(names(h), tc.want))
		})
	}
	_, err = r.History("no-such-branch")
	assert.Error(t, err, `unknown revision "no-such-branch" in `+fx.Dir)
	_, err = r.History(fx.C["d2"])
	assert.Error(t, err, `revision "`+fx.C["d2"]+`" (`+fx.C["d2"]+`) in `+fx.Dir+` is not reachable from any ref`)

	ct, ok, err := r.CommitTime(fx.C["b1"])
	assert.NilError(t, err)
	assert.Check(t, ok)
	assert.Check(t, is.Equal(ct, gittest.Day(7)))
}

func TestOpenErrors(t *testing.T) {
	fx := gittest.New(t)
	tmp := t.TempDir()
	notRepo := filepath.Join(tmp, "plain")
	assert.NilError(t, os.Mkdir(notRepo, 0o755))
	file := filepath.Join(tmp, "file")
	assert.NilError(t, os.WriteFile(file, nil, 0o644))

	shallow := filepath.Join(tmp, "shallow")
	b := gittest.NewBuilder(t, tmp)
	b.Git("clone", "-q", "--depth", "1", "file://"+fx.Dir, shallow)

	tests := []struct {
		name, dir string
		is        error
		want      string
	}{
		{name: "not a repository", dir: notRepo, is: gitrepo.ErrNotRepository,
			want: "not a git repository: " + notRepo + " (give --git-dir)"},
		{name: "missing", dir: filepath.Join(tmp, "missing"), is: gitrepo.ErrNotRepository,
			want: "not a git repository: " + filepath.Join(tmp, "missing") + " (give --git-dir): no such file or directory"},
		{name: "file", dir: file, is: gitrepo.ErrNotRepository,
			want: "not a git repository: " + file + " (give --git-dir): not a directory"},
		{name: "shallow", dir: shallow, is: gitrepo.ErrShallow,
			want: "shallow clone: " + shallow + " has only part of its history, and cleanup by git history would take images of the missing commits for images of deleted ones; " +
				"fetch the full history with `git -C " + shallow + " fetch --unshallow` (GitLab CI: set the variable GIT_DEPTH: 0; GitHub Actions: actions/checkout with fetch-depth: 0)"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := gitrepo.Open(tc.dir)
			assert.Error(t, err, tc.want)
			assert.Check(t, errors.Is(err, tc.is))
		})
	}

	t.Run("git missing", func(t *testing.T) {
		t.Setenv("PATH", tmp)
		_, err := gitrepo.Open(fx.Dir)
		assert.Error(t, err, "git not found in PATH: reading the git repository "+fx.Dir+" needs the git command line")
		assert.Check(t, errors.Is(err, gitrepo.ErrGitMissing))
	})

	t.Run("subdirectory and GIT_DIR ignored", func(t *testing.T) {
		sub := filepath.Join(fx.Dir, "sub")
		assert.NilError(t, os.Mkdir(sub, 0o755))
		t.Setenv("GIT_DIR", shallow+"/.git")
		r, err := gitrepo.Open(sub)
		assert.NilError(t, err)
		assert.Check(t, is.Equal(r.GitDir(), filepath.Join(fx.Dir, ".git")))
	})
}

func TestReadOnly(t *testing.T) {
	fx := gittest.New(t)
	snap := func() string {
		var sb strings.Builder
		err := filepath.Walk(filepath.Join(fx.Dir, ".git"), func(p string, fi os.FileInfo, err error) error {
			if err != nil {
				return err
			}
			sb.WriteString(p + " " + fi.ModTime().Format(time.RFC3339Nano) + "\n")
			return nil
		})
		assert.NilError(t, err)
		return sb.String()
	}
	before := snap()
	r, err := gitrepo.Open(fx.Dir)
	assert.NilError(t, err)
	_, err = r.Branches()
	assert.NilError(t, err)
	_, err = r.History("main", "v1.0.5")
	assert.NilError(t, err)
	_, err = r.HasCommit(fx.C["c1"])
	assert.NilError(t, err)
	assert.Equal(t, snap(), before)
}
