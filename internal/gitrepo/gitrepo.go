// Package gitrepo reads a local git repository through the git command line,
// for cleanup policies that depend on branches, tags and commit history.
//
// Every call runs `git -C DIR …` with LC_ALL=C, GIT_TERMINAL_PROMPT=0,
// GIT_OPTIONAL_LOCKS=0, GIT_NO_REPLACE_OBJECTS=1, GIT_NO_LAZY_FETCH=1 (a
// partial clone never fetches), no pager and without the repository-selecting GIT_*
// variables of the caller's environment (GIT_DIR, GIT_WORK_TREE, …), so a
// hook environment cannot redirect it. Nothing is ever written to the
// repository: only rev-parse, for-each-ref, remote and rev-list are used.
//
// The commit graph (every commit reachable from any ref or HEAD, with its
// committer time and parents) is read once, lazily, by a single streamed
// `git rev-list --all --parents --timestamp` and kept in memory; HasCommit,
// Resolve and History are answered from it. Branches and tags are read once
// with `git for-each-ref`. A Repo is safe for concurrent use.
//
// Like werf, Open refuses shallow clones: their history is cut, so images of
// commits beyond the cut would look like images of deleted commits.
package gitrepo

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Errors returned by Open, for errors.Is.
var (
	ErrNotRepository = errors.New("not a git repository")
	ErrShallow       = errors.New("shallow clone")
	ErrGitMissing    = errors.New("git not found")
)

// Repo is an opened git repository. Use Open.
type Repo struct {
	dir    string // absolute directory given to Open
	gitDir string // absolute git directory
	git    string // path of the git executable
	env    []string

	refsOnce sync.Once
	refsErr  error
	branches []Branch
	tags     []Tag

	graphOnce sync.Once
	graphErr  error
	g         *graph
}

// Branch is a branch name, local or remote-tracking, with the remote prefix
// removed: refs/heads/main, refs/remotes/origin/main and
// refs/remotes/upstream/main are all the branch "main".
type Branch struct {
	Name string
	// Commit is the tip: when the refs carrying this name point at
	// different commits, the one with the newest committer time (on a tie
	// the first of Refs in the order origin, local, other remotes).
	Commit string
	// Time is the committer time of Commit.
	Time time.Time
	// Refs are the full names of the refs carrying this branch name,
	// sorted.
	Refs []string
	// Tips are the distinct commits of Refs, Commit first. Usually one.
	Tips []string
}

// Tag is a git tag.
type Tag struct {
	Name string
	// Commit is the commit the tag points at, peeled through annotated
	// tags; "" when the tag points at a tree or a blob.
	Commit string
	// Time is the tagger date of an annotated tag and otherwise (or when
	// the tag object has no tagger) the committer time of Commit.
	Time time.Time
	// Annotated reports whether the tag is a tag object.
	Annotated bool
}

// Commit is a commit with its committer time.
type Commit struct {
	SHA  string
	Time time.Time
}

// Open checks that dir is a complete (non-shallow) git repository, or a
// directory inside one, and returns a Repo for it. Nothing is read yet
// beyond that check.
func Open(dir string) (*Repo, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("%w: %s (give --git-dir): %v", ErrNotRepository, dir, err)
	}
	git, err := exec.LookPath("git")
	if err != nil {
		return nil, fmt.Errorf("%w in PATH: reading the git repository %s needs the git command line", ErrGitMissing, abs)
	}
	if fi, err := os.Stat(abs); err != nil {
		return nil, fmt.Errorf("%w: %s (give --git-dir): %v", ErrNotRepository, abs, errors.Unwrap(err))
	} else if !fi.IsDir() {
		return nil, fmt.Errorf("%w: %s (give --git-dir): not a directory", ErrNotRepository, abs)
	}
	r := &Repo{dir: abs, git: git, env: gitEnv(os.Environ())}
	out, err := r.output("rev-parse", "--absolute-git-dir", "--is-shallow-repository")
	if err != nil {
		var ge *gitError
		if errors.As(err, &ge) && strings.Contains(ge.stderr, "not a git repository") {
			return nil, fmt.Errorf("%w: %s (give --git-dir)", ErrNotRepository, abs)
		}
		return nil, err
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	if len(lines) != 2 {
		return nil, fmt.Errorf("git rev-parse in %s: unexpected output %q", abs, out)
	}
	r.gitDir = lines[0]
	switch lines[1] {
	case "false":
	case "true":
		return nil, fmt.Errorf("%w: %s has only part of its history, and cleanup by git history would take images of the missing commits for images of deleted ones; "+
			"fetch the full history with `git -C %s fetch --unshallow` (GitLab CI: set the variable GIT_DEPTH: 0; GitHub Actions: actions/checkout with fetch-depth: 0)",
			ErrShallow, abs, abs)
	default:
		return nil, fmt.Errorf("git rev-parse --is-shallow-repository in %s: unexpected output %q (git 2.15 or later is needed)", abs, lines[1])
	}
	return r, nil
}

// Dir returns the absolute directory given to Open.
func (r *Repo) Dir() string { return r.dir }

// GitDir returns the absolute path of the git directory.
func (r *Repo) GitDir() string { return r.gitDir }

// Branches returns every branch name, local and remote-tracking of any
// remote, deduplicated by name and sorted by name. Symbolic refs such as
// refs/remotes/origin/HEAD are skipped.
func (r *Repo) Branches() ([]Branch, error) {
	if err := r.loadRefs(); err != nil {
		return nil, err
	}
	return r.branches, nil
}

// Tags returns every tag, sorted by name.
func (r *Repo) Tags() ([]Tag, error) {
	if err := r.loadRefs(); err != nil {
		return nil, err
	}
	return r.tags, nil
}

// NumCommits returns the number of commits reachable from any ref.
func (r *Repo) NumCommits() (int, error) {
	g, err := r.graph()
	if err != nil {
		return 0, err
	}
	return len(g.shas), nil
}

// HasCommit reports whether a commit reachable from some ref (a branch, a
// remote-tracking branch, a tag, any other ref under refs/, or HEAD) has the
// SHA sha, or starts with it when sha is abbreviated (at least 7 hex
// digits). Unreachable commits, such as those of a deleted branch, do not
// count even while they are still in the object database.
func (r *Repo) HasCommit(sha string) (bool, error) {
	m, err := r.Resolve(sha)
	return len(m) > 0, err
}

// Resolve returns the full SHAs of the reachable commits (see HasCommit)
// whose SHA starts with sha: none, one, or several for an ambiguous
// abbreviation. sha must be 7 to 64 hex digits, in either case; anything
// else is an error.
func (r *Repo) Resolve(sha string) ([]string, error) {
	if !IsHex(sha, 7) {
		return nil, fmt.Errorf("invalid commit SHA %q: want 7 to 64 hex digits", sha)
	}
	g, err := r.graph()
	if err != nil {
		return nil, err
	}
	return g.resolve(strings.ToLower(sha)), nil
}

// CommitTime returns the committer time of a reachable commit given by its
// full SHA.
func (r *Repo) CommitTime(sha string) (time.Time, bool, error) {
	g, err := r.graph()
	if err != nil {
		return time.Time{}, false, err
	}
	i, ok := g.index[strings.ToLower(sha)]
	if !ok {
		return time.Time{}, false, nil
	}
	return time.Unix(g.times[i], 0).UTC(), true, nil
}

// History returns the commits reachable from any of revs (the history of a
// reference, all parents followed, as werf scans it), newest first: by
// committer time, ties in `git rev-list` order. A rev is a full or
// abbreviated commit SHA or anything `git rev-parse` accepts (a branch, tag
// or remote-tracking branch name); revisions other than reachable SHAs cost
// one git call each.
func (r *Repo) History(revs ...string) ([]Commit, error) {
	g, err := r.graph()
	if err != nil {
		return nil, err
	}
	starts := make([]int32, 0, len(revs))
	for _, rev := range revs {
		i, err := r.revIndex(g, rev)
		if err != nil {
			return nil, err
		}
		starts = append(starts, i)
	}
	idx := g.reachable(starts)
	out := make([]Commit, len(idx))
	for k, i := range idx {
		out[k] = Commit{SHA: g.shas[i], Time: time.Unix(g.times[i], 0).UTC()}
	}
	return out, nil
}

func (r *Repo) revIndex(g *graph, rev string) (int32, error) {
	if IsHex(rev, 7) {
		m := g.resolve(strings.ToLower(rev))
		if len(m) == 1 {
			return g.index[m[0]], nil
		}
	}
	out, err := r.output("rev-parse", "--verify", "--quiet", "--end-of-options", rev+"^{commit}")
	if err != nil {
		return 0, fmt.Errorf("unknown revision %q in %s", rev, r.dir)
	}
	sha := strings.TrimSpace(string(out))
	i, ok := g.index[sha]
	if !ok {
		return 0, fmt.Errorf("revision %q (%s) in %s is not reachable from any ref", rev, sha, r.dir)
	}
	return i, nil
}

// IsHex reports whether s is min to 64 hex digits.
func IsHex(s string, min int) bool {
	if len(s) < min || len(s) > 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
			return false
		}
	}
	return true
}

// loadRefs reads branches, tags and remotes once.
func (r *Repo) loadRefs() error {
	r.refsOnce.Do(func() { r.refsErr = r.readRefs() })
	return r.refsErr
}

const refFormat = "%(refname)%00%(symref)%00%(objecttype)%00%(objectname)%00%(*objecttype)%00%(*objectname)%00%(taggerdate:raw)%00%(committerdate:raw)%00%(*committerdate:raw)"

func (r *Repo) readRefs() error {
	rout, err := r.output("remote")
	if err != nil {
		return err
	}
	remotes := strings.Fields(string(rout))
	// Longest remote names first, so "a/b" wins over "a" when stripping.
	sort.Slice(remotes, func(i, j int) bool { return len(remotes[i]) > len(remotes[j]) })

	out, err := r.output("for-each-ref", "--format="+refFormat, "refs/heads", "refs/remotes", "refs/tags")
	if err != nil {
		return err
	}
	byName := map[string]*Branch{}
	type tipInfo struct {
		ref, commit string
		t           time.Time
	}
	tips := map[string][]tipInfo{}
	for _, line := range strings.Split(string(out), "\n") {
		if line == "" {
			continue
		}
		f := strings.Split(line, "\x00")
		if len(f) != 9 {
			return fmt.Errorf("git for-each-ref in %s: unexpected line %q", r.dir, line)
		}
		ref, symref, otype, oname := f[0], f[1], f[2], f[3]
		if symref != "" {
			continue
		}
		switch {
		case strings.HasPrefix(ref, "refs/tags/"):
			t := Tag{Name: strings.TrimPrefix(ref, "refs/tags/")}
			switch otype {
			case "commit":
				t.Commit = oname
				t.Time = rawTime(f[7])
			case "tag":
				t.Annotated = true
				t.Time = rawTime(f[6])
				switch f[4] {
				case "commit":
					t.Commit = f[5]
					if t.Time.IsZero() {
						t.Time = rawTime(f[8])
					}
				case "tag": // a tag of a tag: peel fully
					c, err := r.output("rev-parse", "--verify", "--quiet", "--end-of-options", ref+"^{commit}")
					if err == nil {
						t.Commit = strings.TrimSpace(string(c))
					}
				}
			}
			r.tags = append(r.tags, t)
		case strings.HasPrefix(ref, "refs/heads/") || strings.HasPrefix(ref, "refs/remotes/"):
			if otype != "commit" {
				continue
			}
			name := branchName(ref, remotes)
			if name == "" || name == "HEAD" {
				continue
			}
			b := byName[name]
			if b == nil {
				b = &Branch{Name: name}
				byName[name] = b
			}
			b.Refs = append(b.Refs, ref)
			tips[name] = append(tips[name], tipInfo{ref, oname, rawTime(f[7])})
		}
	}
	for name, b := range byName {
		ts := tips[name]
		sort.SliceStable(ts, func(i, j int) bool {
			if !ts[i].t.Equal(ts[j].t) {
				return ts[i].t.After(ts[j].t)
			}
			return refRank(ts[i].ref) < refRank(ts[j].ref)
		})
		b.Commit, b.Time = ts[0].commit, ts[0].t
		seen := map[string]bool{}
		for _, t := range ts {
			if !seen[t.commit] {
				seen[t.commit] = true
				b.Tips = append(b.Tips, t.commit)
			}
		}
		sort.Strings(b.Refs)
		r.branches = append(r.branches, *b)
	}
	sort.Slice(r.branches, func(i, j int) bool { return r.branches[i].Name < r.branches[j].Name })
	sort.Slice(r.tags, func(i, j int) bool { return r.tags[i].Name < r.tags[j].Name })
	return nil
}

// refRank orders refs carrying the same branch name for tie-breaking:
// origin first (werf reads only origin), then local, then other remotes.
func refRank(ref string) int {
	switch {
	case strings.HasPrefix(ref, "refs/remotes/origin/"):
		return 0
	case strings.HasPrefix(ref, "refs/heads/"):
		return 1
	}
	return 2
}

// branchName strips refs/heads/ or refs/remotes/<remote>/ from ref.
func branchName(ref string, remotes []string) string {
	if n, ok := strings.CutPrefix(ref, "refs/heads/"); ok {
		return n
	}
	rest := strings.TrimPrefix(ref, "refs/remotes/")
	for _, rm := range remotes {
		if n, ok := strings.CutPrefix(rest, rm+"/"); ok {
			return n
		}
	}
	// A remote-tracking ref of a remote that is no longer configured.
	if _, n, ok := strings.Cut(rest, "/"); ok {
		return n
	}
	return ""
}

// rawTime parses git's raw date ("1700000000 +0100").
func rawTime(s string) time.Time {
	sec, _, _ := strings.Cut(s, " ")
	n, err := strconv.ParseInt(sec, 10, 64)
	if err != nil || sec == "" {
		return time.Time{}
	}
	return time.Unix(n, 0).UTC()
}

// gitEnv returns env without the variables that make git look at another
// repository or index, plus the settings every call needs.
func gitEnv(env []string) []string {
	drop := map[string]bool{
		"GIT_DIR": true, "GIT_WORK_TREE": true, "GIT_COMMON_DIR": true, "GIT_INDEX_FILE": true,
		"GIT_OBJECT_DIRECTORY": true, "GIT_ALTERNATE_OBJECT_DIRECTORIES": true, "GIT_NAMESPACE": true,
		"GIT_PREFIX": true, "GIT_CEILING_DIRECTORIES": true, "GIT_DISCOVERY_ACROSS_FILESYSTEM": true,
		"GIT_TERMINAL_PROMPT": true, "GIT_OPTIONAL_LOCKS": true, "GIT_PAGER": true, "PAGER": true,
		"GIT_NO_REPLACE_OBJECTS": true, "GIT_REPLACE_REF_BASE": true, "GIT_SHALLOW_FILE": true, "GIT_NO_LAZY_FETCH": true,
		"LC_ALL": true, "LANG": true, "LANGUAGE": true,
	}
	out := make([]string, 0, len(env)+6)
	for _, kv := range env {
		k, _, _ := strings.Cut(kv, "=")
		if !drop[k] {
			out = append(out, kv)
		}
	}
	return append(out, "LC_ALL=C", "GIT_TERMINAL_PROMPT=0", "GIT_OPTIONAL_LOCKS=0", "GIT_PAGER=cat", "PAGER=cat",
		"GIT_NO_REPLACE_OBJECTS=1", "GIT_NO_LAZY_FETCH=1")
}

type gitError struct {
	args   []string
	dir    string
	err    error
	stderr string
}

func (e *gitError) Error() string {
	msg := strings.TrimSpace(e.stderr)
	if msg == "" {
		msg = e.err.Error()
	}
	return fmt.Sprintf("git %s in %s: %s", strings.Join(e.args, " "), e.dir, msg)
}

func (e *gitError) Unwrap() error { return e.err }

func (r *Repo) command(args ...string) *exec.Cmd {
	cmd := exec.Command(r.git, append([]string{"--no-pager", "-C", r.dir}, args...)...)
	cmd.Env = r.env
	cmd.Stdin = nil
	return cmd
}

// output runs git and returns its stdout.
func (r *Repo) output(args ...string) ([]byte, error) {
	cmd := r.command(args...)
	var stdout bytes.Buffer
	stderr := &limitedBuffer{max: 8 << 10}
	cmd.Stdout, cmd.Stderr = &stdout, stderr
	if err := cmd.Run(); err != nil {
		return nil, &gitError{args: args, dir: r.dir, err: err, stderr: stderr.String()}
	}
	return stdout.Bytes(), nil
}

// stream runs git and calls line for every line of its stdout, without
// holding the whole output in memory.
func (r *Repo) stream(line func([]byte) error, args ...string) error {
	cmd := r.command(args...)
	stderr := &limitedBuffer{max: 8 << 10}
	cmd.Stderr = stderr
	pipe, err := cmd.StdoutPipe()
	if err != nil {
		return err
	}
	if err := cmd.Start(); err != nil {
		return &gitError{args: args, dir: r.dir, err: err}
	}
	br := bufio.NewReaderSize(pipe, 64<<10)
	var perr error
	for {
		b, err := br.ReadSlice('\n')
		if err == bufio.ErrBufferFull {
			// A line longer than the buffer (an octopus merge with
			// hundreds of parents): collect it.
			long := append([]byte(nil), b...)
			for err == bufio.ErrBufferFull {
				b, err = br.ReadSlice('\n')
				long = append(long, b...)
			}
			b = long
		}
		if len(b) > 0 && perr == nil {
			perr = line(bytes.TrimRight(b, "\n"))
		}
		if err != nil {
			if err != io.EOF && perr == nil {
				perr = err
			}
			break
		}
	}
	if perr != nil {
		_, _ = io.Copy(io.Discard, pipe)
	}
	werr := cmd.Wait()
	if werr != nil {
		return &gitError{args: args, dir: r.dir, err: werr, stderr: stderr.String()}
	}
	return perr
}

// limitedBuffer keeps the first max bytes written to it.
type limitedBuffer struct {
	buf bytes.Buffer
	max int
}

func (b *limitedBuffer) Write(p []byte) (int, error) {
	if room := b.max - b.buf.Len(); room > 0 {
		if len(p) > room {
			b.buf.Write(p[:room])
		} else {
			b.buf.Write(p)
		}
	}
	return len(p), nil
}

func (b *limitedBuffer) String() string { return b.buf.String() }
