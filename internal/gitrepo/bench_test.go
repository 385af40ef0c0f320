package gitrepo_test

import (
	"path/filepath"
	"testing"

	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"

	"github.com/docker-werf/docker-werf/internal/gitrepo"
	"github.com/docker-werf/docker-werf/internal/gitrepo/gittest"
)

func TestGenerated(t *testing.T) {
	g := gittest.Generate(t, filepath.Join(t.TempDir(), "r"), gittest.Spec{MainCommits: 50, Branches: 5, CommitsPerBranch: 3, Tags: 4, Base: gittest.T0})
	r, err := gitrepo.Open(g.Dir)
	assert.NilError(t, err)
	n, err := r.NumCommits()
	assert.NilError(t, err)
	assert.Check(t, is.Equal(n, 65))
	bs, err := r.Branches()
	assert.NilError(t, err)
	assert.Check(t, is.Len(bs, 6))
	h, err := r.History("feature/f-004")
	assert.NilError(t, err)
	// Forks at main commit 40 (0-based): 41 main commits plus 3.
	assert.Check(t, is.Len(h, 44))
	assert.Check(t, is.Equal(h[0].SHA, g.Commits[len(g.Commits)-1]))
	assert.Check(t, is.Equal(h[0].Time, g.Times[len(g.Times)-1]))
}

// BenchmarkOpenAndHistory10k: a repository of 10,000 commits (8,000 on main,
// 100 branches of 20), opened and read cold each iteration: refs, the whole
// graph (one rev-list), and the history of every branch.
func BenchmarkOpenAndHistory10k(b *testing.B) {
	g := gittest.Generate(b, filepath.Join(b.TempDir(), "r"), gittest.Spec{MainCommits: 8000, Branches: 100, CommitsPerBranch: 20, Tags: 100, Base: gittest.T0})
	b.ResetTimer()
	for b.Loop() {
		r, err := gitrepo.Open(g.Dir)
		if err != nil {
			b.Fatal(err)
		}
		bs, err := r.Branches()
		if err != nil {
			b.Fatal(err)
		}
		if n, err := r.NumCommits(); err != nil || n != 10000 {
			b.Fatal(n, err)
		}
		for _, br := range bs {
			if _, err := r.History(br.Tips...); err != nil {
				b.Fatal(err)
			}
		}
	}
}
