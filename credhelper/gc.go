package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/docker-werf/docker-werf/internal/creds/credstore"
	"github.com/docker-werf/docker-werf/internal/registry"
)

const envGCOlderThan = "WERF_CREDENTIALS_GC_OLDER_THAN"

const gcUsage = `Usage: docker-credential-werf gc --older-than DURATION [--dry-run]

Remove the credentials "docker login" saved for CI jobs that are over and for
docker config directories that no longer exist, once unused for DURATION.
Scopes of existing docker config directories are always kept.

DURATION is a Go duration (90m, 36h) or a number of days (7d, 1d12h).

Options:
  --older-than DURATION   minimum time since last use (env ` + envGCOlderThan + `)
  --dry-run               print what would be removed, remove nothing
  -h, --help              show this help
`

func runGC(args []string, stdout, stderr io.Writer, env registry.Env) int {
	fs := newFlagSet("gc")
	olderThan := fs.String("older-than", "", "")
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
	spec, from := *olderThan, "--older-than"
	if !isSet(fs, "older-than") {
		spec, from = env(envGCOlderThan), envGCOlderThan
	}
	if spec == "" {
		return usageError(stderr, "gc", "--older-than is required (or set "+envGCOlderThan+"), e.g. --older-than 7d")
	}
	age, err := parseAge(spec)
	if err != nil {
		return usageError(stderr, "gc", fmt.Sprintf("invalid %s %s: %v", from, printable(spec), err))
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

// parseAge parses a Go duration with an optional leading number of days:
// "7d", "1d12h", "36h".
func parseAge(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	var days time.Duration
	if i := strings.IndexByte(s, 'd'); i > 0 {
		n, err := strconv.ParseUint(s[:i], 10, 16)
		if err != nil {
			return 0, fmt.Errorf("expected a duration such as 7d, 36h or 90m")
		}
		days, s = time.Duration(n)*24*time.Hour, s[i+1:]
		if s == "" {
			return days, nil
		}
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		return 0, fmt.Errorf("expected a duration such as 7d, 36h or 90m")
	}
	if d < 0 {
		return 0, fmt.Errorf("must not be negative")
	}
	return days + d, nil
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
