package gitrepo

import (
	"bytes"
	"fmt"
	"sort"
	"strconv"
	"strings"
)

// graph is the commit graph of every commit reachable from any ref or HEAD.
// Commits are numbered in `git rev-list --all` order (newest first, parents
// after children).
type graph struct {
	shas    []string
	times   []int64 // committer time, Unix seconds
	parents [][]int32
	index   map[string]int32
	sorted  []int32 // commit numbers sorted by SHA, for prefix lookups
	order   []int32 // commit numbers newest first: committer time, then rev-list order
}

func (r *Repo) graph() (*graph, error) {
	r.graphOnce.Do(func() { r.g, r.graphErr = r.readGraph() })
	return r.g, r.graphErr
}

// readGraph streams `git rev-list --all --parents --timestamp`, whose lines
// are "<committer time> <sha> <parent sha>...".
func (r *Repo) readGraph() (*graph, error) {
	g := &graph{index: map[string]int32{}}
	var parentSHAs [][]string
	err := r.stream(func(line []byte) error {
		f := bytes.Fields(line)
		if len(f) < 2 {
			return fmt.Errorf("git rev-list in %s: unexpected line %q", r.dir, line)
		}
		t, err := strconv.ParseInt(string(f[0]), 10, 64)
		if err != nil {
			return fmt.Errorf("git rev-list in %s: unexpected line %q", r.dir, line)
		}
		sha := string(f[1])
		if _, dup := g.index[sha]; dup {
			return nil
		}
		g.index[sha] = int32(len(g.shas))
		g.shas = append(g.shas, sha)
		g.times = append(g.times, t)
		var ps []string
		for _, p := range f[2:] {
			ps = append(ps, string(p))
		}
		parentSHAs = append(parentSHAs, ps)
		return nil
	}, "rev-list", "--all", "--parents", "--timestamp")
	if err != nil {
		return nil, err
	}
	g.parents = make([][]int32, len(g.shas))
	for i, ps := range parentSHAs {
		for _, p := range ps {
			// A parent missing from the list would be a grafted or
			// otherwise cut history; it is simply not followed.
			if j, ok := g.index[p]; ok {
				g.parents[i] = append(g.parents[i], j)
			}
		}
	}
	g.sorted = make([]int32, len(g.shas))
	for i := range g.sorted {
		g.sorted[i] = int32(i)
	}
	sort.Slice(g.sorted, func(a, b int) bool { return g.shas[g.sorted[a]] < g.shas[g.sorted[b]] })
	g.order = make([]int32, len(g.shas))
	for i := range g.order {
		g.order[i] = int32(i)
	}
	g.sortNewest(g.order)
	return g, nil
}

// resolve returns the SHAs starting with the lower-case prefix p.
func (g *graph) resolve(p string) []string {
	if _, ok := g.index[p]; ok {
		return []string{p}
	}
	k := sort.Search(len(g.sorted), func(i int) bool { return g.shas[g.sorted[i]] >= p })
	var out []string
	for ; k < len(g.sorted) && strings.HasPrefix(g.shas[g.sorted[k]], p); k++ {
		out = append(out, g.shas[g.sorted[k]])
	}
	return out
}

// reachable returns the commits reachable from starts, newest first by
// committer time, ties in rev-list order.
func (g *graph) reachable(starts []int32) []int32 {
	seen := make([]uint64, (len(g.shas)+63)/64)
	var out []int32
	stack := append([]int32(nil), starts...)
	for len(stack) > 0 {
		i := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if seen[i/64]&(1<<(i%64)) != 0 {
			continue
		}
		seen[i/64] |= 1 << (i % 64)
		out = append(out, i)
		stack = append(stack, g.parents[i]...)
	}
	if len(out) < len(g.shas)/16 {
		g.sortNewest(out)
		return out
	}
	// A large part of the graph: filtering the precomputed order is
	// linear, cheaper than sorting.
	out = out[:0]
	for _, i := range g.order {
		if seen[i/64]&(1<<(i%64)) != 0 {
			out = append(out, i)
		}
	}
	return out
}

func (g *graph) sortNewest(idx []int32) {
	sort.Slice(idx, func(a, b int) bool {
		ta, tb := g.times[idx[a]], g.times[idx[b]]
		if ta != tb {
			return ta > tb
		}
		return idx[a] < idx[b]
	})
}
