// Package imagecache remembers, between cleanup runs, what the inventory
// read of each manifest of a repository: whether it is an index and its
// children, its subject, creation time and commit. A manifest never
// changes (its digest is the hash of its bytes), so an entry stays true, and
// the next run reads the configs of new images only: on a nightly cleanup,
// nearly every config read of the run.
//
// The cache is one JSON file per repository in a directory that belongs to
// the user and no one else may write (it decides what looks old enough to
// delete). A file that does not parse is replaced, never trusted in part.
package imagecache

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/docker-werf/docker-werf/internal/privatefile"
	"github.com/docker-werf/docker-werf/internal/registryapi"
)

// version changes whenever an entry's meaning does; a file of another
// version is ignored.
const version = 1

// MaxUnused drops entries no run has used for this long.
const MaxUnused = 90 * 24 * time.Hour

// entry is one manifest.
type entry struct {
	MediaType    string    `json:"mediaType,omitempty"`
	ArtifactType string    `json:"artifactType,omitempty"`
	Index        bool      `json:"index,omitempty"`
	Children     []string  `json:"children,omitempty"`
	Subject      string    `json:"subject,omitempty"`
	Created      time.Time `json:"created,omitzero"`
	Revision     string    `json:"revision,omitempty"`
	Used         int64     `json:"used"` // unix seconds
}

type file struct {
	Version    int              `json:"version"`
	Repository string           `json:"repository"`
	Images     map[string]entry `json:"images"`
}

// Cache is the cache of one repository. It is safe for concurrent use.
type Cache struct {
	path, repository string
	now              func() time.Time

	mu     sync.Mutex
	images map[string]entry
	hits   int
}

// DefaultDir is docker-werf/images in the user's cache directory
// ($XDG_CACHE_HOME or ~/.cache on Linux).
func DefaultDir() (string, error) {
	base, err := os.UserCacheDir()
	if err != nil {
		return "", fmt.Errorf("no cache directory for the image cache: %w", err)
	}
	return filepath.Join(base, "docker-werf", "images"), nil
}

// Open reads the cache of repository (host/path) in dir. It fails when dir
// or the file could be written by someone else; a missing dir or file, or
// a file that does not parse or is of another version or repository, gives
// an empty cache. Open writes nothing.
func Open(dir, repository string) (*Cache, error) {
	sum := sha256.Sum256([]byte(repository))
	c := &Cache{path: filepath.Join(dir, hex.EncodeToString(sum[:12])+".json"), repository: repository,
		now: time.Now, images: map[string]entry{}}
	switch fi, err := os.Lstat(dir); {
	case errors.Is(err, os.ErrNotExist):
		return c, nil
	case err != nil:
		return nil, fmt.Errorf("image cache directory: %w", err)
	case !fi.IsDir():
		return nil, &UnsafeError{dir, "not a directory"}
	default:
		if err := checkPrivate(dir, fi); err != nil {
			return nil, err
		}
	}
	data, err := readPrivateFile(c.path)
	if err != nil || data == nil {
		return c, err
	}
	var f file
	if json.Unmarshal(data, &f) == nil && f.Version == version && f.Repository == repository && f.Images != nil {
		c.images = f.Images
	}
	return c, nil
}

// Path is the cache file.
func (c *Cache) Path() string { return c.path }

// Hits is how many lookups found their image.
func (c *Cache) Hits() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.hits
}

// Image returns what was remembered of the manifest with this digest.
func (c *Cache) Image(digest string) (registryapi.Image, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.images[digest]
	if !ok {
		return registryapi.Image{}, false
	}
	c.hits++
	e.Used = c.now().Unix()
	c.images[digest] = e
	img := registryapi.Image{Descriptor: registryapi.Descriptor{Digest: digest, MediaType: e.MediaType, ArtifactType: e.ArtifactType},
		IsIndex: e.Index, Created: e.Created, Revision: e.Revision}
	for _, ch := range e.Children {
		img.Children = append(img.Children, registryapi.Descriptor{Digest: ch})
	}
	if e.Subject != "" {
		img.Subject = &registryapi.Descriptor{Digest: e.Subject}
	}
	return img, true
}

// Remember stores what the inventory needs of img, unless it may still
// change: an index whose image children are not all there yet.
func (c *Cache) Remember(img registryapi.Image) {
	if !registryapi.ValidSHA256(img.Digest) || img.MissingChildren {
		return
	}
	e := entry{MediaType: img.MediaType, ArtifactType: img.ArtifactType, Index: img.IsIndex,
		Created: img.Created.UTC(), Revision: img.Revision}
	for _, ch := range img.Children {
		e.Children = append(e.Children, ch.Digest)
	}
	if img.Subject != nil {
		e.Subject = img.Subject.Digest
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	e.Used = c.now().Unix()
	c.images[img.Digest] = e
}

// Save writes the cache (mode 0600, atomically; the directory is created
// with mode 0700), without the entries no run has used for MaxUnused.
func (c *Cache) Save() error {
	if err := ensurePrivateDir(filepath.Dir(c.path)); err != nil {
		return err
	}
	c.mu.Lock()
	f := file{Version: version, Repository: c.repository, Images: make(map[string]entry, len(c.images))}
	oldest := c.now().Add(-MaxUnused).Unix()
	for d, e := range c.images {
		if e.Used >= oldest {
			f.Images[d] = e
		}
	}
	c.mu.Unlock()
	data, err := json.Marshal(f)
	if err != nil {
		return err
	}
	return privatefile.WriteAtomic(filepath.Dir(c.path), filepath.Base(c.path), data)
}

// UnsafeError is a cache directory or file that someone else could write.
type UnsafeError struct {
	Path, Problem string
}

func (e *UnsafeError) Error() string {
	return fmt.Sprintf("refusing the image cache %s: %s; remove it, or pass --image-cache-dir with a directory of your own (mode 0700)",
		e.Path, e.Problem)
}

func ensurePrivateDir(dir string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("creating the image cache directory: %w", err)
	}
	fi, err := os.Lstat(dir)
	if err != nil {
		return fmt.Errorf("image cache directory: %w", err)
	}
	if !fi.IsDir() {
		return &UnsafeError{dir, "not a directory"}
	}
	return checkPrivate(dir, fi)
}

// readPrivateFile reads path unless it is missing (nil, nil); it refuses
// anything but a regular file of the user's that only the user can write.
func readPrivateFile(path string) ([]byte, error) {
	fi, err := os.Lstat(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("image cache: %w", err)
	}
	if !fi.Mode().IsRegular() {
		return nil, &UnsafeError{path, "not a regular file"}
	}
	if err := checkPrivate(path, fi); err != nil {
		return nil, err
	}
	return os.ReadFile(path)
}

// checkPrivate refuses what another user owns or may write: such a cache
// could make images look old enough to delete.
func checkPrivate(path string, fi os.FileInfo) error {
	if uid, ok := privatefile.Owner(fi); ok && uid != os.Geteuid() {
		return &UnsafeError{path, fmt.Sprintf("it belongs to uid %d, not to the current user (uid %d)", uid, os.Geteuid())}
	}
	if perm := fi.Mode().Perm(); privatefile.PermsMeaningful && perm&0o022 != 0 {
		return &UnsafeError{path, fmt.Sprintf("it has mode %04o: others may write it", perm)}
	}
	return nil
}
