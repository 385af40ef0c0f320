// Package dockerconfig edits the docker CLI's config.json without the docker
// CLI's packages (the credential helper must start fast): it adds credHelpers
// entries and leaves every other key as it was.
package dockerconfig

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/docker-werf/docker-werf/internal/registry"
)

// FileName is the config file's name inside the config directory.
const FileName = "config.json"

// DockerHubKey is the key docker uses for Docker Hub in config.json.
const DockerHubKey = "https://index.docker.io/v1/"

// CredHelperKey returns the credHelpers key docker looks up for a registry
// address: its host key (registry.HostKey), or DockerHubKey for Docker Hub.
func CredHelperKey(host string) (string, error) {
	k, err := registry.HostKey(host)
	if err != nil {
		return "", err
	}
	if k == registry.DockerHubHost {
		return DockerHubKey, nil
	}
	return k, nil
}

// AddCredHelpers sets credHelpers[<key of host>] = helper in
// configDir/config.json for every host. The file is replaced atomically
// (temp file in the same directory, fsync, rename) and keeps its mode (and,
// when run as root, its owner); a missing file is created with mode 0600,
// and a missing directory with mode 0700. Every other key keeps its JSON
// value (re-indented; key order becomes alphabetical, as docker writes it).
// A file that is not valid JSON, or whose credHelpers is not an object, is
// an error naming the path, and the file is left untouched. A symlinked
// config.json is followed, as docker does.
func AddCredHelpers(configDir string, hosts []string, helper string) error {
	if configDir == "" {
		return errors.New("no docker config directory given")
	}
	if err := validHelper(helper); err != nil {
		return err
	}
	if len(hosts) == 0 {
		return errors.New("no registry given")
	}
	keys := make([]string, 0, len(hosts))
	for _, h := range hosts {
		k, err := CredHelperKey(h)
		if err != nil {
			return err
		}
		keys = append(keys, k)
	}

	path := filepath.Join(configDir, FileName)
	if real, err := filepath.EvalSymlinks(path); err == nil {
		path = real
	}
	data, fi, err := readConfig(path)
	if err != nil {
		return err
	}
	top := map[string]json.RawMessage{}
	if len(bytes.TrimSpace(data)) > 0 {
		if err := json.Unmarshal(data, &top); err != nil {
			return fmt.Errorf("%s is not valid JSON (%v); fix or remove it, it was left unchanged", path, err)
		}
		if top == nil { // the file holds "null"
			top = map[string]json.RawMessage{}
		}
	}
	helpers := map[string]json.RawMessage{}
	if raw, ok := top["credHelpers"]; ok && !bytes.Equal(bytes.TrimSpace(raw), []byte("null")) {
		if err := json.Unmarshal(raw, &helpers); err != nil {
			return fmt.Errorf("%s: credHelpers is not an object of strings (%v); fix it, the file was left unchanged", path, err)
		}
	}
	value, _ := json.Marshal(helper)
	changed := false
	for _, k := range keys {
		if old, ok := helpers[k]; !ok || !bytes.Equal(old, value) {
			helpers[k] = value
			changed = true
		}
	}
	if !changed && fi != nil {
		return nil
	}
	if top["credHelpers"], err = encode(helpers, false); err != nil {
		return err
	}
	out, err := encode(top, true)
	if err != nil {
		return err
	}
	if fi == nil {
		if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
			return fmt.Errorf("creating docker config directory: %w", err)
		}
	}
	return writeAtomic(path, out, fi)
}

func validHelper(h string) error {
	if h == "" {
		return errors.New("empty credential helper name")
	}
	for i := 0; i < len(h); i++ {
		c := h[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_' || c == '.') {
			return fmt.Errorf("invalid credential helper name %q: use letters, digits, '.', '-' and '_'", h)
		}
	}
	return nil
}

func readConfig(path string) ([]byte, os.FileInfo, error) {
	fi, err := os.Stat(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil, nil
	}
	if err != nil {
		return nil, nil, err
	}
	if !fi.Mode().IsRegular() {
		return nil, nil, fmt.Errorf("%s is not a regular file", path)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, nil, err
	}
	return data, fi, nil
}

// encode marshals without HTML escaping (docker's "<token>" and friends stay
// readable), tab-indented like docker when indent is set.
func encode(v any, indent bool) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if indent {
		enc.SetIndent("", "\t")
	}
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	if !indent {
		return bytes.TrimRight(buf.Bytes(), "\n"), nil
	}
	return buf.Bytes(), nil
}

// writeAtomic replaces path with data, keeping the mode and owner of the
// existing file (fi) or using 0600 for a new one.
func writeAtomic(path string, data []byte, fi os.FileInfo) error {
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".*.tmp")
	if err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	name := tmp.Name()
	done := false
	defer func() {
		if !done {
			_ = tmp.Close()
			_ = os.Remove(name)
		}
	}()
	mode := os.FileMode(0o600)
	if fi != nil {
		mode = fi.Mode().Perm()
		keepOwner(tmp, fi)
	}
	if err := tmp.Chmod(mode); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if _, err := tmp.Write(data); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if err := tmp.Sync(); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if err := os.Rename(name, path); err != nil {
		return fmt.Errorf("replacing %s: %w", path, err)
	}
	done = true
	return nil
}
