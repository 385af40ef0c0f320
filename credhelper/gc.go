package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"time"

	"github.com/docker-werf/docker-werf/internal/creds/credstore"
	"github.com/docker-werf/docker-werf/internal/duration"
	"github.com/docker-werf/docker-werf/internal/registry"
)

const envGCOlderThan = "WERF_CREDENTIALS_GC_OLDER_THAN"

const gcUsage = `Usage: docker-credential-werf gc --older-than DURATION [--dry-run]

Remove the credentials "docker login" saved for CI jobs that are over and for
docker config directories that no longer exist, once unused for DURATION.
Scopes of existing docker config directories are always kept.

DURATION is a number with a unit s, m, h, d or w, combinable: 90m, 36h, 7d,
2w, 1w2d12h.

Options:
  --older-than DURATION   minimum time since last use (env ` + envGCOlderThan + `)
  --dry-run               print what would be removed, remove nothing
  -h, --help              show this help
`

func runGC(args []string, stdout, stderr io.Writer, env registry.Env) int {
	fs := newFlagSet("gc")
	var age time.Duration
	olderThan := duration.NewValue(&age, 0)
	fs.Var(olderThan, "older-than", "")
	dryRun := fs.Bool("dry-run", false, "")
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
	root, err := credstore.Root(env)
	if err != nil {
		fmt.Fprintf(stderr, "%s gc: %v\n", name, err)
		return exitError
	}
	removed, err := credstore.New(root).GC(credstore.GCOptions{OlderThan: age, DryRun: *dryRun})
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
