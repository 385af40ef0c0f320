package policy

import (
	"fmt"
	"io"
	"os"
)

// Largest files cleanup reads from the user: far above any real keep list,
// policy file or werf.yaml, far below what would hurt (a keep list that is
// /dev/zero or a log file given by mistake).
const (
	MaxKeepListSize   = 16 << 20
	MaxPolicyFileSize = 1 << 20
	MaxWerfConfigSize = 16 << 20
)

// readCapped reads a file the user named, refusing one larger than limit
// without reading more than limit+1 bytes of it.
func readCapped(what, path string, limit int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", what, err)
	}
	defer f.Close()
	if fi, err := f.Stat(); err == nil && fi.IsDir() {
		return nil, fmt.Errorf("reading %s %s: is a directory, expected a file", what, path)
	}
	data, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, fmt.Errorf("reading %s %s: %w", what, path, err)
	}
	if int64(len(data)) > limit {
		return nil, fmt.Errorf("reading %s %s: larger than %d MiB, expected a small text file", what, path, limit>>20)
	}
	return data, nil
}
