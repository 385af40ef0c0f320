package credstore

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/docker-werf/docker-werf/internal/privatefile"
)

// staleTempAge is how old a temp file of credentials.json or scope.json
// must be before it counts as left behind: a writer renames its own within
// moments, while one killed before the rename (kill -9, power loss) leaves
// it, with the secrets it was about to store, for good.
const staleTempAge = time.Minute

// removeStaleTemps removes the temp files killed writers left in a scope
// directory (privatefile.TempPattern of the store's files) once older than
// staleTempAge, so that no secret outlives its erase or its job's gc.
func removeStaleTemps(dir string, now time.Time) error {
	stale, err := staleTemps(dir, now)
	for _, p := range stale {
		if rerr := os.Remove(p); rerr != nil && !errors.Is(rerr, os.ErrNotExist) {
			err = errors.Join(err, fmt.Errorf("removing %s: %w", p, rerr))
		}
	}
	return err
}

// staleTemps lists the paths removeStaleTemps removes.
func staleTemps(dir string, now time.Time) ([]string, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, nil
		}
		return nil, fmt.Errorf("reading %s: %w", dir, err)
	}
	var stale []string
	for _, e := range entries {
		if !isTempName(e.Name()) {
			continue
		}
		if fi, err := e.Info(); err == nil && fi.Mode().IsRegular() && now.Sub(fi.ModTime()) >= staleTempAge {
			stale = append(stale, filepath.Join(dir, e.Name()))
		}
	}
	return stale, nil
}

func isTempName(n string) bool {
	for _, f := range []string{credentialsFile, scopeFile} {
		if ok, _ := filepath.Match(privatefile.TempPattern(f), n); ok {
			return true
		}
	}
	return false
}
