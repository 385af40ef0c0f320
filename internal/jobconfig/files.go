package jobconfig

import (
	"encoding/json"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/docker-werf/docker-werf/internal/privatefile"
)

// marker identifies a directory as a job config, for Remove and GC.
type marker struct {
	Job     string    `json:"job"`
	Created time.Time `json:"created"`
}

func writeMarker(dir, job string) error {
	data, err := json.Marshal(marker{Job: job, Created: time.Now().UTC()})
	if err != nil {
		return err
	}
	return privatefile.WriteAtomic(dir, markerFile, data)
}

func readMarker(dir string) (marker, error) {
	var m marker
	data, err := os.ReadFile(filepath.Join(dir, markerFile))
	if err != nil {
		return m, err
	}
	return m, json.Unmarshal(data, &m)
}

// copyTree copies regular files and directories only: sockets, devices and
// symlinks (such as docker's run/ sockets) are never carried over. A missing
// source is nothing to copy.
func copyTree(src, dst string) error {
	err := filepath.WalkDir(src, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, path)
		target := filepath.Join(dst, rel)
		switch {
		case d.IsDir():
			return os.MkdirAll(target, 0o700)
		case d.Type().IsRegular():
			return copyFile(path, target)
		default:
			return nil
		}
	})
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	return err
}

func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}
