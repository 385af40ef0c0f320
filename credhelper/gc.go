package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"time"

	"github.com/docker-werf/docker-werf/internal/creds/credstore"
	"github.com/docker-werf/docker-werf/internal/duration"
	"github.com/docker-werf/docker-werf/internal/jsonout"
	"github.com/docker-werf/docker-werf/internal/registry"
)

const (
	envGCOlderThan = "WERF_CREDENTIALS_GC_OLDER_THAN"
	envGCFormat    = "WERF_CREDENTIALS_GC_FORMAT"
)

const gcUsage = `Usage: docker-credential-werf gc --older-than DURATION [--dry-run] [--format json]

Remove the credentials "docker login" saved for CI jobs that are over and for
docker config directories that no longer exist, once unused for DURATION.
Scopes of existing docker config directories are always kept.

DURATION is a number with a unit s, m, h, d or w, combinable: 90m, 36h, 7d,
2w, 1w2d12h.

Options:
  --older-than DURATION   minimum time since last use (env ` + envGCOlderThan + `)
  --dry-run               print what would be removed, remove nothing
  --format json           print one JSON document instead of lines (env ` + envGCFormat + `)
  -h, --help              show this help
`

func runGC(args []string, stdout, stderr io.Writer, env registry.Env) int {
	fs := newFlagSet("gc")
	var age time.Duration
	olderThan := duration.NewValue(&age, 0)
	fs.Var(olderThan, "older-than", "")
	dryRun := fs.Bool("dry-run", false, "")
	format := fs.String("format", "", "")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fmt.Fprint(stdout, gcUsage)
			return exitOK
		}
		return usageError(stderr, "gc", err.Error())
	}
	if fs.NArg() > 0 {
		return usageError(stderr, "gc", "unexpected argument "+printable(fs.Arg(0)))
	}
	if !isSet(fs, "older-than") {
		spec := env(envGCOlderThan)
		if spec == "" {
			return usageError(stderr, "gc", "--older-than is required (or set "+envGCOlderThan+"), e.g. --older-than 7d")
		}
		if err := olderThan.Set(spec); err != nil {
			return usageError(stderr, "gc", fmt.Sprintf("%s: %v", envGCOlderThan, err))
		}
	}
	if !isSet(fs, "format") {
		*format = env(envGCFormat)
	}
	if *format != "" && *format != "json" {
		return usageError(stderr, "gc", fmt.Sprintf("invalid --format %s: expected json or empty", printable(*format)))
	}
	root, err := credstore.Root(env)
	if err != nil {
		fmt.Fprintf(stderr, "%s gc: %v\n", name, err)
		return exitError
	}
	removed, err := credstore.New(root).GC(credstore.GCOptions{OlderThan: age, DryRun: *dryRun})
	if *format == "json" {
		if werr := jsonout.Write(stdout, newGCReport(root, age, *dryRun, removed, err)); werr != nil && err == nil {
			err = werr
		}
		if err != nil {
			fmt.Fprintf(stderr, "%s gc: %v\n", name, err)
			return exitError
		}
		return exitOK
	}
	verb := "removed"
	if *dryRun {
		verb = "would remove"
	}
	for _, r := range removed {
		key := r.Key
		if key == "" {
			key = "(no scope.json)"
		}
		fmt.Fprintf(stdout, "%s %s: %s (last used %s) [%s]\n", verb, key, r.Reason,
			r.LastUsed.UTC().Format(time.RFC3339), r.Dir)
	}
	fmt.Fprintf(stdout, "%s %d credential scope(s) from %s\n", verb, len(removed), root)
	if err != nil {
		fmt.Fprintf(stderr, "%s gc: %v\n", name, err)
		return exitError
	}
	return exitOK
}

// gcReport is gc's --format json document; scripts read its keys, so they
// only ever gain fields.
type gcReport struct {
	Root      string      `json:"root"`
	OlderThan string      `json:"olderThan"`
	DryRun    bool        `json:"dryRun"`
	Removed   []gcRemoved `json:"removed"`
	Error     string      `json:"error,omitempty"`
}

// gcRemoved is a scope gc removed (with dryRun: would remove).
type gcRemoved struct {
	Scope    string `json:"scope,omitempty"` // empty: a directory without scope.json
	CISystem string `json:"ciSystem,omitempty"`
	Dir      string `json:"dir"`
	LastUsed string `json:"lastUsed"` // RFC 3339, UTC
	Reason   string `json:"reason"`
}

func newGCReport(root string, age time.Duration, dryRun bool, removed []credstore.Removed, err error) gcReport {
	r := gcReport{Root: root, OlderThan: duration.Format(age), DryRun: dryRun, Removed: []gcRemoved{}}
	for _, x := range removed {
		r.Removed = append(r.Removed, gcRemoved{Scope: x.Key, CISystem: x.System, Dir: x.Dir,
			LastUsed: x.LastUsed.UTC().Format(time.RFC3339), Reason: x.Reason})
	}
	if err != nil {
		r.Error = err.Error()
	}
	return r
}

func usageError(stderr io.Writer, cmd, msg string) int {
	fmt.Fprintf(stderr, "%s %s: %s\nRun '%s %s --help' for usage; nothing was changed.\n", name, cmd, msg, name, cmd)
	return exitUsage
}

// newFlagSet returns a quiet flag set: errors are reported by the caller.
// The standard library's flag package accepts --name, --name=value and
// --name value like pflag; spf13/pflag is not used because it imports net,
// which links cgo and doubles the helper's start-up time.
func newFlagSet(cmd string) *flag.FlagSet {
	fs := flag.NewFlagSet(cmd, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	return fs
}

func isSet(fs *flag.FlagSet, name string) bool {
	set := false
	fs.Visit(func(f *flag.Flag) { set = set || f.Name == name })
	return set
}
