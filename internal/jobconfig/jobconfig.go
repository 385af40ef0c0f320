// Package jobconfig makes, removes and garbage-collects the private docker
// config directory of one CI job. Parallel jobs on one runner each get their
// own, so no job's login, logout or credential helper state reaches another;
// registry credentials stay out of it where docker-credential-werf serves
// them.
package jobconfig

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"

	"github.com/docker-werf/docker-werf/internal/dockerconfig"
	"github.com/docker-werf/docker-werf/internal/privatefile"
)

const (
	// DirPrefix starts the name of every job config directory, so GC never
	// looks at anything else in a shared temp dir.
	DirPrefix  = "docker-werf-config-"
	markerFile = ".docker-werf-job.json"
	helperName = "werf"
)

// Mode says what the new config starts from.
type Mode int

const (
	// CopySource carries over the source config.json: inline auths,
	// credHelpers, proxies, plugin settings, the current context.
	CopySource Mode = iota
	// FromAuthConfig starts from the JSON in $DOCKER_AUTH_CONFIG.
	FromAuthConfig
	// Empty starts with nothing.
	Empty
)

// Options describe the job's config.
type Options struct {
	Mode Mode
	// SourceDir is the docker config directory to carry over; its
	// cli-plugins directory stays reachable in every mode.
	SourceDir string
	// AuthConfig is $DOCKER_AUTH_CONFIG, for FromAuthConfig.
	AuthConfig string
	// KeepCredsStore keeps the source's credsStore, which is shared by every
	// job on the machine.
	KeepCredsStore bool
	// TempRoot is where the directory is made.
	TempRoot string
	// Job names the job in the marker (a scope key; not secret).
	Job string
	// HelperHosts are the registries docker-credential-werf answers for.
	HelperHosts []string
	// StoreAuth stores, in the new directory's credential scope, each
	// credential the starting config holds inline: unless KeepCredsStore
	// keeps a credsStore, the config names docker-credential-werf as its
	// credsStore, so that every docker login of the job goes to the job's
	// scope instead of config.json, and the inline credentials move there
	// too. Needed when the starting config has inline credentials.
	StoreAuth func(dir string, a Auth) error
}

// Create makes the job's directory (0700, config.json 0600) and returns its
// path. On error nothing is left behind.
func Create(opts Options) (string, error) {
	cfg, err := initialConfig(opts)
	if err != nil {
		return "", err
	}
	if err := addPluginDirs(cfg, opts.SourceDir); err != nil {
		return "", err
	}
	if err := addCredHelpers(cfg, opts.HelperHosts); err != nil {
		return "", err
	}
	var inline []Auth
	if !opts.KeepCredsStore || !hasCredsStore(cfg) {
		// Without a credsStore docker writes every login that no credHelper
		// takes into config.json, in base64; and with no auth at all it
		// would pick the machine's keychain (pass, secretservice), shared
		// by every job. The helper keeps them in this job's scope instead.
		if inline, err = takeInlineAuths(cfg); err != nil {
			return "", err
		}
		if len(inline) > 0 && opts.StoreAuth == nil {
			return "", errors.New("jobconfig: the source config has inline credentials and Options.StoreAuth is nil")
		}
		cfg["credsStore"] = mustJSON(helperName)
	}
	dir, err := os.MkdirTemp(opts.TempRoot, DirPrefix)
	if err != nil {
		return "", fmt.Errorf("cannot create the job's docker config directory in %s: %w (set --tmp-dir or TMPDIR to a writable directory)",
			opts.TempRoot, errors.Unwrap(err))
	}
	for _, a := range inline {
		if err := opts.StoreAuth(dir, a); err != nil {
			_ = os.RemoveAll(dir)
			return "", fmt.Errorf("moving the docker config's credentials for %s to docker-credential-werf: %w", a.Server, err)
		}
	}
	if err := populate(dir, cfg, opts); err != nil {
		_ = os.RemoveAll(dir)
		return "", err
	}
	return dir, nil
}

func populate(dir string, cfg map[string]json.RawMessage, opts Options) error {
	if err := os.Chmod(dir, 0o700); err != nil {
		return err
	}
	if opts.Mode == CopySource && cfg["currentContext"] != nil {
		if err := copyTree(filepath.Join(opts.SourceDir, "contexts"), filepath.Join(dir, "contexts")); err != nil {
			return fmt.Errorf("copying docker contexts from %s: %w", opts.SourceDir, err)
		}
	}
	data, err := json.MarshalIndent(cfg, "", "\t")
	if err != nil {
		return err
	}
	if err := privatefile.WriteAtomic(dir, dockerconfig.FileName, append(data, '\n')); err != nil {
		return err
	}
	return writeMarker(dir, opts.Job)
}

func initialConfig(opts Options) (map[string]json.RawMessage, error) {
	switch opts.Mode {
	case Empty:
		return map[string]json.RawMessage{}, nil
	case FromAuthConfig:
		return parseAuthConfig(opts.AuthConfig)
	default:
		cfg, err := readSource(opts.SourceDir)
		if err == nil && !opts.KeepCredsStore {
			delete(cfg, "credsStore")
		}
		return cfg, err
	}
}

// readSource reads the source config.json; a missing directory or file is an
// empty config, as docker treats it.
func readSource(dir string) (map[string]json.RawMessage, error) {
	path := filepath.Join(dir, dockerconfig.FileName)
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return map[string]json.RawMessage{}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading the source docker config: %w", err)
	}
	cfg := map[string]json.RawMessage{}
	if err := json.Unmarshal(data, &cfg); err != nil {
		return nil, fmt.Errorf("the source docker config %s is not a valid JSON object: %v "+
			"(fix it, or choose another with --docker-config, or start empty with --empty-docker-config)", path, err)
	}
	return cfg, nil
}

// parseAuthConfig reads $DOCKER_AUTH_CONFIG. Its errors never quote the
// value: it holds credentials.
func parseAuthConfig(value string) (map[string]json.RawMessage, error) {
	if value == "" {
		return nil, errors.New("DOCKER_AUTH_CONFIG is empty or not set (needed by --docker-auth-config)")
	}
	cfg := map[string]json.RawMessage{}
	if err := json.Unmarshal([]byte(value), &cfg); err != nil {
		var syntax *json.SyntaxError
		if errors.As(err, &syntax) {
			return nil, fmt.Errorf("DOCKER_AUTH_CONFIG is not valid JSON (error at byte %d); expected {\"auths\": {...}}", syntax.Offset)
		}
		return nil, errors.New(`DOCKER_AUTH_CONFIG is not a JSON object; expected {"auths": {...}}`)
	}
	if cfg["auths"] == nil && cfg["credHelpers"] == nil {
		return nil, errors.New(`DOCKER_AUTH_CONFIG has neither "auths" nor "credHelpers"; expected {"auths": {...}}`)
	}
	return cfg, nil
}

// addPluginDirs keeps the source's plugin directories reachable: docker
// looks in $DOCKER_CONFIG/cli-plugins, which moves with DOCKER_CONFIG.
func addPluginDirs(cfg map[string]json.RawMessage, sourceDir string) error {
	var dirs []string
	if raw := cfg["cliPluginsExtraDirs"]; raw != nil {
		if err := json.Unmarshal(raw, &dirs); err != nil {
			return fmt.Errorf("cliPluginsExtraDirs in the docker config is not a list of paths: %v", err)
		}
	}
	if sourceDir != "" {
		p := filepath.Join(sourceDir, "cli-plugins")
		if fi, err := os.Stat(p); err == nil && fi.IsDir() && !slices.Contains(dirs, p) {
			dirs = append(dirs, p)
		}
	}
	if len(dirs) > 0 {
		cfg["cliPluginsExtraDirs"] = mustJSON(dirs)
	}
	return nil
}

func addCredHelpers(cfg map[string]json.RawMessage, hosts []string) error {
	if len(hosts) == 0 {
		return nil
	}
	helpers := map[string]string{}
	if raw := cfg["credHelpers"]; raw != nil {
		if err := json.Unmarshal(raw, &helpers); err != nil {
			return fmt.Errorf("credHelpers in the docker config is not an object of strings: %v", err)
		}
	}
	for _, h := range hosts {
		key, err := dockerconfig.CredHelperKey(h)
		if err != nil {
			return fmt.Errorf("registry %w", err)
		}
		helpers[key] = helperName
	}
	cfg["credHelpers"] = mustJSON(helpers)
	return nil
}

func hasCredsStore(cfg map[string]json.RawMessage) bool {
	var store string
	_ = json.Unmarshal(cfg["credsStore"], &store)
	return store != ""
}

func mustJSON(v any) json.RawMessage {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}
