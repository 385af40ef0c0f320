package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/spf13/pflag"

	"github.com/docker-werf/docker-werf/internal/gitrepo"
	"github.com/docker-werf/docker-werf/internal/policy"
)

// errCleanupDisabled stops a cleanup that werf.yaml turned off.
var errCleanupDisabled = errors.New("cleanup is disabled in werf.yaml (cleanup.disable: true)")

// policyConfig builds the policy configuration and opens the git repository
// the policies read (nil when there is none). Every input is checked before
// anything is sent to the registry.
func policyConfig(opts cleanupOptions, fs *pflag.FlagSet, stderr io.Writer) (policy.Config, *gitrepo.Repo, error) {
	cfg := policy.DefaultConfig()
	repo, err := openGitDir(opts.gitDir, stderr)
	if err != nil {
		return cfg, nil, err
	}
	cfg.GitRefs = opts.gitRefs && repo != nil
	cfg.DisableKeepPolicies = opts.noKeepPolicies
	cfg.GitTagStrategyLimit, cfg.GitTagStrategyExpiryDays = opts.gitTagLimit, opts.gitTagExpiryDays
	cfg.GitCommitStrategyLimit, cfg.GitCommitStrategyExpiryDays = opts.gitCommitLimit, opts.gitCommitExpiry
	cfg.KeepLast = opts.keepLast
	if err := applyWerfConfig(&cfg, opts, repo, fs); err != nil {
		return cfg, nil, err
	}
	if opts.policyFile != "" {
		if cfg.KeepPolicies, err = policy.LoadPolicyFile(opts.policyFile); err != nil {
			return cfg, nil, err
		}
		cfg.PolicySource = opts.policyFile
	}
	if err := applyTagRules(&cfg, opts, fs); err != nil {
		return cfg, nil, err
	}
	if err := cfg.Validate(); err != nil {
		return cfg, nil, err
	}
	return cfg, repo, nil
}

// openGitDir opens --git-dir, or the current directory when it is a git
// repository. A shallow clone is refused: its history would make every older
// commit look gone.
func openGitDir(dir string, stderr io.Writer) (*gitrepo.Repo, error) {
	if dir != "" {
		return gitrepo.Open(dir)
	}
	repo, err := gitrepo.Open(".")
	if errors.Is(err, gitrepo.ErrNotRepository) || errors.Is(err, gitrepo.ErrGitMissing) {
		fmt.Fprintln(stderr, "Notice: no git repository here (give --git-dir); only the tag rules apply")
		return nil, nil
	}
	return repo, err
}

func applyWerfConfig(cfg *policy.Config, opts cleanupOptions, repo *gitrepo.Repo, fs *pflag.FlagSet) error {
	path := opts.werfConfig
	if path == "" && repo != nil {
		for _, name := range []string{"werf.yaml", "werf.yml"} {
			if p := filepath.Join(repo.Dir(), name); fileExists(p) {
				path = p
				break
			}
		}
	}
	if path == "" {
		return nil
	}
	wc, err := policy.LoadWerfConfig(path)
	if err != nil {
		return err
	}
	if wc.Disable {
		return errCleanupDisabled
	}
	if wc.KeepPolicies != nil {
		cfg.KeepPolicies, cfg.PolicySource = wc.KeepPolicies, path
	}
	cfg.DisableKeepPolicies = cfg.DisableKeepPolicies || wc.DisableGitHistoryBasedPolicy
	// --without-kube, given either way (WERF_WITHOUT_KUBE sets it too), wins
	// over cleanup.disableKubernetesBasedPolicy.
	wc.ApplyKubernetes(cfg, fs.Changed("without-kube"))
	if !fs.Changed("keep-younger-than") && os.Getenv("WERF_KEEP_YOUNGER_THAN") == "" {
		if wc.DisableBuiltWithinLastNHoursPolicy {
			cfg.KeepYoungerThan = 0
		} else if h := wc.KeepImagesBuiltWithinLastNHours; h != nil {
			cfg.KeepYoungerThan = time.Duration(*h) * time.Hour
		}
	}
	return nil
}

func applyTagRules(cfg *policy.Config, opts cleanupOptions, fs *pflag.FlagSet) error {
	var err error
	if cfg.KeepTag, err = policy.ParseRegexps("--keep-tag", opts.keepTags); err != nil {
		return err
	}
	if opts.tagFilter != "" {
		if cfg.TagFilter, err = policy.ParseRegexp("--tag-filter", opts.tagFilter); err != nil {
			return err
		}
	}
	if len(opts.protected) > 0 {
		if cfg.Protected, err = policy.ParseRegexps("--protected", opts.protected); err != nil {
			return err
		}
	}
	cfg.OlderThan = opts.olderThan
	if fs.Changed("keep-younger-than") || os.Getenv("WERF_KEEP_YOUNGER_THAN") != "" {
		cfg.KeepYoungerThan = opts.keepYoungerThan
	}
	if opts.keepList != "" {
		if cfg.KeepList, err = policy.LoadKeepList(opts.keepList); err != nil {
			return err
		}
	}
	if opts.keepLast < 0 {
		return fmt.Errorf("invalid --keep-last %d: expected 0 (off) or more", opts.keepLast)
	}
	return nil
}

func fileExists(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && fi.Mode().IsRegular()
}
