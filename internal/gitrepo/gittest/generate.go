package gittest

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// Spec describes a generated repository: a linear main of MainCommits
// commits, Branches branches feature/f-NNN forking off main at evenly spaced
// commits with CommitsPerBranch commits each, and Tags lightweight tags
// vN.0.0 on evenly spaced main commits. Commit k (counting main first) is
// committed at Base + k hours.
type Spec struct {
	MainCommits      int
	Branches         int
	CommitsPerBranch int
	Tags             int
	Base             time.Time
}

// Generated is what Generate built.
type Generated struct {
	Dir      string
	Commits  []string // every commit SHA, main first, in creation order
	Times    []time.Time
	Branches []string // branch names
	Tags     []string // tag names
}

// Generate builds the repository described by spec in dir with one
// `git fast-import` run.
func Generate(tb testing.TB, dir string, spec Spec) *Generated {
	tb.Helper()
	b := NewBuilder(tb, dir)
	b.Git("init", "-q", "-b", "main")
	var stream bytes.Buffer
	w := bufio.NewWriter(&stream)
	g := &Generated{Dir: dir}
	mark := 0
	commit := func(ref string, from int) int {
		mark++
		t := spec.Base.Add(time.Duration(mark) * time.Hour)
		g.Times = append(g.Times, t.UTC())
		msg := fmt.Sprintf("commit %d", mark)
		fmt.Fprintf(w, "commit %s\nmark :%d\ncommitter Test <test@example.com> %d +0000\ndata %d\n%s\n", ref, mark, t.Unix(), len(msg), msg)
		if from > 0 {
			fmt.Fprintf(w, "from :%d\n", from)
		}
		fmt.Fprint(w, "\n")
		return mark
	}
	mainMarks := make([]int, spec.MainCommits)
	for i := range mainMarks {
		prev := 0
		if i > 0 {
			prev = mainMarks[i-1]
		}
		mainMarks[i] = commit("refs/heads/main", prev)
	}
	for k := 0; k < spec.Branches; k++ {
		name := fmt.Sprintf("feature/f-%03d", k)
		g.Branches = append(g.Branches, name)
		fork := mainMarks[k*spec.MainCommits/max(spec.Branches, 1)]
		prev := fork
		for j := 0; j < spec.CommitsPerBranch; j++ {
			prev = commit("refs/heads/"+name, prev)
		}
		if spec.CommitsPerBranch == 0 {
			fmt.Fprintf(w, "reset refs/heads/%s\nfrom :%d\n\n", name, fork)
		}
	}
	for k := 0; k < spec.Tags; k++ {
		name := fmt.Sprintf("v%d.0.0", k)
		g.Tags = append(g.Tags, name)
		fmt.Fprintf(w, "reset refs/tags/%s\nfrom :%d\n\n", name, mainMarks[k*spec.MainCommits/max(spec.Tags, 1)])
	}
	if err := w.Flush(); err != nil {
		tb.Fatal(err)
	}
	marks := filepath.Join(filepath.Dir(dir), filepath.Base(dir)+".marks")
	b.GitInput(stream.Bytes(), "fast-import", "--quiet", "--export-marks="+marks)
	data, err := os.ReadFile(marks)
	if err != nil {
		tb.Fatal(err)
	}
	bySHA := make([]string, mark+1)
	for _, l := range strings.Split(strings.TrimSpace(string(data)), "\n") {
		var m int
		var sha string
		if _, err := fmt.Sscanf(l, ":%d %s", &m, &sha); err != nil {
			tb.Fatalf("marks line %q: %v", l, err)
		}
		bySHA[m] = sha
	}
	g.Commits = bySHA[1:]
	b.Git("symbolic-ref", "HEAD", "refs/heads/main")
	return g
}
