package jobconfig

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/docker-werf/docker-werf/internal/privatefile"
)

// Remove deletes a job config directory that Create made. Anything else (no
// marker, a symlink, another user's directory) is refused, because the path
// comes from the environment of a job that may have been tampered with.
func Remove(dir string) error {
	if err := Check(dir); err != nil {
		return fmt.Errorf("refusing to remove %s: %w", dir, err)
	}
	if err := os.RemoveAll(dir); err != nil {
		return fmt.Errorf("removing %s: %w", dir, err)
	}
	return nil
}

// Check reports why dir is not a job config directory this user may remove,
// or nil when it is one.
func Check(dir string) error {
	fi, err := os.Lstat(dir)
	if err != nil {
		return err
	}
	if !fi.IsDir() {
		return errors.New("not a directory")
	}
	if !strings.HasPrefix(filepath.Base(dir), DirPrefix) {
		return fmt.Errorf("not a docker werf job config (its name does not start with %s)", DirPrefix)
	}
	if uid, ok := privatefile.Owner(fi); ok && uid != os.Geteuid() {
		return fmt.Errorf("it belongs to uid %d, not to the current user", uid)
	}
	if _, err := readMarker(dir); err != nil {
		return fmt.Errorf("not a docker werf job config (no readable %s)", markerFile)
	}
	return nil
}

// GC removes the job config directories in root whose last use is older
// than olderThan, except keep (the calling job's own). Last use is the
// newest modification time of the directory's files, which docker login,
// BuildKit's token seed and every ci-env of the job refresh. It returns
// what it removed.
func GC(root string, olderThan time.Duration, keep string, now time.Time) ([]string, error) {
	entries, err := os.ReadDir(root)
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", root, err)
	}
	var removed []string
	for _, e := range entries {
		dir := filepath.Join(root, e.Name())
		if !strings.HasPrefix(e.Name(), DirPrefix) || dir == keep || Check(dir) != nil {
			continue
		}
		if now.Sub(lastUse(dir)) < olderThan {
			continue
		}
		if err := os.RemoveAll(dir); err != nil {
			return removed, fmt.Errorf("removing %s: %w", dir, err)
		}
		removed = append(removed, dir)
	}
	return removed, nil
}

func lastUse(dir string) time.Time {
	var newest time.Time
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if fi, err := e.Info(); err == nil && fi.ModTime().After(newest) {
			newest = fi.ModTime()
		}
	}
	return newest
}

// FindByJob returns the job config directories in root that Create made
// for job: how a cleanup step that runs in a fresh shell (GitLab's
// after_script, Bitbucket's after-script) finds the job's config without
// DOCKER_CONFIG.
func FindByJob(root, job string) []string {
	entries, err := os.ReadDir(root)
	if err != nil {
		return nil
	}
	var found []string
	for _, e := range entries {
		dir := filepath.Join(root, e.Name())
		if !strings.HasPrefix(e.Name(), DirPrefix) || Check(dir) != nil {
			continue
		}
		if m, err := readMarker(dir); err == nil && m.Job == job {
			found = append(found, dir)
		}
	}
	return found
}
