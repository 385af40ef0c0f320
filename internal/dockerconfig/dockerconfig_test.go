package dockerconfig

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"gotest.tools/v3/assert"
)

func decode(t *testing.T, path string) map[string]any {
	t.Helper()
	data, err := os.ReadFile(path)
	assert.NilError(t, err)
	var m map[string]any
	assert.NilError(t, json.Unmarshal(data, &m))
	return m
}

const existing = `{
  "auths": {"https://index.docker.io/v1/": {"auth": "dXNlcjpwYXNz"}, "quay.io": {}},
  "credsStore": "desktop",
  "credHelpers": {"123456789012.dkr.ecr.eu-west-1.amazonaws.com": "ecr-login"},
  "proxies": {"default": {"httpProxy": "http://proxy:3128", "noProxy": "<local>&x"}},
  "experimental": "enabled",
  "someFutureKey": [1, 2.50, {"nested": null}, true]
}
`

func TestAddCredHelpersKeepsEverythingElse(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, FileName)
	assert.NilError(t, os.WriteFile(path, []byte(existing), 0o640))
	before := decode(t, path)

	err := AddCredHelpers(dir, []string{"https://Registry.Example.com:5000/v2/", "docker.io", "ghcr.io/org/repo"}, "werf")
	assert.NilError(t, err)

	after := decode(t, path)
	helpers := after["credHelpers"].(map[string]any)
	assert.DeepEqual(t, helpers, map[string]any{
		"123456789012.dkr.ecr.eu-west-1.amazonaws.com": "ecr-login",
		"registry.example.com:5000":                    "werf",
		"https://index.docker.io/v1/":                  "werf",
		"ghcr.io":                                      "werf",
	})
	delete(after, "credHelpers")
	delete(before, "credHelpers")
	assert.DeepEqual(t, after, before)

	fi, err := os.Stat(path)
	assert.NilError(t, err)
	assert.Equal(t, fi.Mode().Perm(), os.FileMode(0o640), "mode kept")
	data, _ := os.ReadFile(path)
	assert.Assert(t, strings.Contains(string(data), `"<local>&x"`), "no HTML escaping:\n%s", data)
	entries, _ := os.ReadDir(dir)
	assert.Equal(t, len(entries), 1, "no temp file left")
}

func TestAddCredHelpersCreatesFile(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "new", ".docker")
	assert.NilError(t, AddCredHelpers(dir, []string{"registry.example.com"}, "werf"))
	path := filepath.Join(dir, FileName)
	assert.DeepEqual(t, decode(t, path), map[string]any{"credHelpers": map[string]any{"registry.example.com": "werf"}})
	fi, err := os.Stat(path)
	assert.NilError(t, err)
	assert.Equal(t, fi.Mode().Perm(), os.FileMode(0o600))
	di, err := os.Stat(dir)
	assert.NilError(t, err)
	assert.Equal(t, di.Mode().Perm(), os.FileMode(0o700))
}

func TestAddCredHelpersEmptyAndNullFiles(t *testing.T) {
	for _, content := range []string{"", "  \n", "null"} {
		dir := t.TempDir()
		assert.NilError(t, os.WriteFile(filepath.Join(dir, FileName), []byte(content), 0o600))
		assert.NilError(t, AddCredHelpers(dir, []string{"h.example.com"}, "werf"), "content %q", content)
		assert.DeepEqual(t, decode(t, filepath.Join(dir, FileName)), map[string]any{"credHelpers": map[string]any{"h.example.com": "werf"}})
	}
}

func TestAddCredHelpersRefusesCorruptFile(t *testing.T) {
	tests := map[string]string{
		"truncated":        `{"auths": {"x": {}`,
		"not an object":    `[1,2]`,
		"credHelpers list": `{"credHelpers": ["a"]}`,
	}
	for name, content := range tests {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, FileName)
			assert.NilError(t, os.WriteFile(path, []byte(content), 0o600))
			fi, _ := os.Stat(path)
			err := AddCredHelpers(dir, []string{"registry.example.com"}, "werf")
			assert.ErrorContains(t, err, path)
			assert.ErrorContains(t, err, "left unchanged")
			data, _ := os.ReadFile(path)
			assert.Equal(t, string(data), content)
			fi2, _ := os.Stat(path)
			assert.Equal(t, fi2.ModTime(), fi.ModTime())
			entries, _ := os.ReadDir(dir)
			assert.Equal(t, len(entries), 1)
		})
	}
}

func TestAddCredHelpersFollowsSymlink(t *testing.T) {
	dir := t.TempDir()
	target := filepath.Join(dir, "dotfiles-config.json")
	assert.NilError(t, os.WriteFile(target, []byte(`{"auths":{}}`), 0o600))
	cfg := filepath.Join(dir, "docker")
	assert.NilError(t, os.Mkdir(cfg, 0o700))
	assert.NilError(t, os.Symlink(target, filepath.Join(cfg, FileName)))
	assert.NilError(t, AddCredHelpers(cfg, []string{"h.example.com"}, "werf"))
	fi, err := os.Lstat(filepath.Join(cfg, FileName))
	assert.NilError(t, err)
	assert.Assert(t, fi.Mode()&os.ModeSymlink != 0, "symlink kept")
	assert.DeepEqual(t, decode(t, target)["credHelpers"], map[string]any{"h.example.com": "werf"})
}

func TestAddCredHelpersBadInput(t *testing.T) {
	dir := t.TempDir()
	assert.ErrorContains(t, AddCredHelpers(dir, nil, "werf"), "no registry")
	assert.ErrorContains(t, AddCredHelpers(dir, []string{"ftp://x"}, "werf"), "unsupported scheme")
	assert.ErrorContains(t, AddCredHelpers(dir, []string{"h"}, "../evil"), "invalid credential helper name")
	assert.ErrorContains(t, AddCredHelpers("", []string{"h"}, "werf"), "no docker config directory")
	entries, _ := os.ReadDir(dir)
	assert.Equal(t, len(entries), 0, "nothing written")
}

func TestAddCredHelpersUnchangedDoesNotWrite(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, FileName)
	content := `{"credHelpers":{"h.example.com":"werf"},"x":1}`
	assert.NilError(t, os.WriteFile(path, []byte(content), 0o600))
	assert.NilError(t, AddCredHelpers(dir, []string{"https://h.example.com"}, "werf"))
	data, _ := os.ReadFile(path)
	assert.Equal(t, string(data), content)
}

func TestCredHelperKey(t *testing.T) {
	for in, want := range map[string]string{
		"docker.io":                   DockerHubKey,
		"index.docker.io":             DockerHubKey,
		"https://index.docker.io/v1/": DockerHubKey,
		"registry-1.docker.io":        DockerHubKey,
		"Registry.Example.com:5000":   "registry.example.com:5000",
		"https://ghcr.io/v2/":         "ghcr.io",
	} {
		got, err := CredHelperKey(in)
		assert.NilError(t, err)
		assert.Equal(t, got, want, in)
	}
}
