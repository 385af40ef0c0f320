package bench

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"sort"
	"sync"
	"testing"
	"time"
)

// The data set: one repository with oldCount tags old-0000.. (to delete) and
// keepCount tags keep-0000.. (to keep), every tag on an image of its own (a
// distinct config, hence a distinct manifest digest), all sharing one small
// layer. It is written straight into the registry's filesystem storage,
// which distribution (2.8 and 3.x alike) reads on every request: no push, no
// same-digest PUT races, the same bytes and
// digests on every run.

const (
	benchRepo = "bench/app"
	oldCount  = 2500
	keepCount = 2500

	mediaTypeManifest = "application/vnd.docker.distribution.manifest.v2+json"
	mediaTypeConfig   = "application/vnd.docker.container.image.v1+json"
	mediaTypeLayer    = "application/vnd.docker.image.rootfs.diff.tar.gzip"
)

// imageCreated is every image's config "created": long ago, so no age rule
// could keep it.
var imageCreated = time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)

type dataset struct {
	oldTags, oldDigests   []string
	keepTags, keepDigests []string
	dirs                  []string // relative to <root>/data, parents first
	// A config and the layer in the repository, for throw-away manifests.
	spareConfig, layer blobRef
	files              []seedFile
}

type blobRef struct {
	digest string
	size   int
}

type seedFile struct {
	rel  string // relative to <root>/data
	data []byte
}

var (
	datasetOnce sync.Once
	theDataset  *dataset
)

func benchDataset() *dataset {
	datasetOnce.Do(func() { theDataset = buildDataset(oldCount, keepCount) })
	return theDataset
}

func digestOf(b []byte) string {
	sum := sha256.Sum256(b)
	return "sha256:" + hex.EncodeToString(sum[:])
}

// buildDataset makes old tags old-NNNN and keep tags keep-NNNN (at least
// four digits).
func buildDataset(old, keep int) *dataset {
	d := &dataset{}
	const v2 = "docker/registry/v2"
	repoDir := path.Join(v2, "repositories", benchRepo)
	dirs := map[string]bool{}
	add := func(rel string, data []byte) {
		d.files = append(d.files, seedFile{rel: rel, data: data})
		for dir := path.Dir(rel); dir != "." && !dirs[dir]; dir = path.Dir(dir) {
			dirs[dir] = true
		}
	}
	blob := func(data []byte) string {
		dg := digestOf(data)
		hx := dg[len("sha256:"):]
		add(path.Join(v2, "blobs/sha256", hx[:2], hx, "data"), data)
		return dg
	}
	link := func(rel, dg string) { add(rel, []byte(dg)) }
	hexOf := func(dg string) string { return dg[len("sha256:"):] }

	layer, diffID := layerTarGz()
	layerDigest := blob(layer)
	d.layer = blobRef{layerDigest, len(layer)}
	link(path.Join(repoDir, "_layers/sha256", hexOf(layerDigest), "link"), layerDigest)

	image := func(tag string) string {
		cfg, _ := json.Marshal(map[string]any{
			"architecture": "amd64",
			"os":           "linux",
			"created":      imageCreated.Format(time.RFC3339),
			"config":       map[string]any{"Labels": map[string]string{"io.docker-werf.bench.tag": tag}},
			"rootfs":       map[string]any{"type": "layers", "diff_ids": []string{diffID}},
			"history":      []any{map[string]any{"created": imageCreated.Format(time.RFC3339), "created_by": "docker-werf bench seed"}},
		})
		cfgDigest := blob(cfg)
		if d.spareConfig.digest == "" {
			d.spareConfig = blobRef{cfgDigest, len(cfg)}
		}
		link(path.Join(repoDir, "_layers/sha256", hexOf(cfgDigest), "link"), cfgDigest)
		man, _ := json.MarshalIndent(map[string]any{
			"schemaVersion": 2,
			"mediaType":     mediaTypeManifest,
			"config":        map[string]any{"mediaType": mediaTypeConfig, "size": len(cfg), "digest": cfgDigest},
			"layers":        []any{map[string]any{"mediaType": mediaTypeLayer, "size": len(layer), "digest": layerDigest}},
		}, "", "   ")
		mDigest := blob(man)
		link(path.Join(repoDir, "_manifests/revisions/sha256", hexOf(mDigest), "link"), mDigest)
		link(path.Join(repoDir, "_manifests/tags", tag, "current/link"), mDigest)
		link(path.Join(repoDir, "_manifests/tags", tag, "index/sha256", hexOf(mDigest), "link"), mDigest)
		return mDigest
	}
	for i := range old {
		tag := fmt.Sprintf("old-%04d", i)
		d.oldTags = append(d.oldTags, tag)
		d.oldDigests = append(d.oldDigests, image(tag))
	}
	for i := range keep {
		tag := fmt.Sprintf("keep-%04d", i)
		d.keepTags = append(d.keepTags, tag)
		d.keepDigests = append(d.keepDigests, image(tag))
	}
	for dir := range dirs {
		d.dirs = append(d.dirs, dir)
	}
	// Shorter paths first puts every parent before its children.
	sort.Slice(d.dirs, func(i, j int) bool {
		if len(d.dirs[i]) != len(d.dirs[j]) {
			return len(d.dirs[i]) < len(d.dirs[j])
		}
		return d.dirs[i] < d.dirs[j]
	})
	return d
}

// layerTarGz is a deterministic gzipped tar of one small file, and its
// diff ID (the digest of the uncompressed tar).
func layerTarGz() ([]byte, string) {
	var tarBuf bytes.Buffer
	tw := tar.NewWriter(&tarBuf)
	content := []byte("docker-werf cleanup benchmark layer\n")
	_ = tw.WriteHeader(&tar.Header{Name: "bench.txt", Mode: 0o644, Size: int64(len(content)), ModTime: imageCreated})
	_, _ = tw.Write(content)
	_ = tw.Close()
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz) // zero ModTime and no name: deterministic
	_, _ = zw.Write(tarBuf.Bytes())
	_ = zw.Close()
	return gz.Bytes(), digestOf(tarBuf.Bytes())
}

// write creates the data set's files below dataDir (the registry's
// storage root) with 8 writers and returns how long that took.
func (d *dataset) write(t testing.TB, dataDir string) time.Duration {
	t.Helper()
	start := time.Now()
	for _, dir := range d.dirs {
		if err := os.Mkdir(filepath.Join(dataDir, dir), 0o755); err != nil && !os.IsExist(err) {
			// The registry may not have created its root yet.
			if err := os.MkdirAll(filepath.Join(dataDir, dir), 0o755); err != nil {
				t.Fatalf("seeding: %v", err)
			}
		}
	}
	const writers = 8
	errs := make(chan error, writers)
	var wg sync.WaitGroup
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < len(d.files); i += writers {
				f := d.files[i]
				if err := os.WriteFile(filepath.Join(dataDir, f.rel), f.data, 0o644); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		t.Fatalf("seeding: %v", err)
	}
	return time.Since(start)
}
