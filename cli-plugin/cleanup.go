package main

import (
	"time"

	"github.com/docker/cli/cli/command"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/docker-werf/docker-werf/internal/duration"
	"github.com/docker-werf/docker-werf/internal/flagenv"
	"github.com/docker-werf/docker-werf/internal/registryapi"
)

type cleanupOptions struct {
	repo       string
	registry   repoOptions
	connection connectionOptions
	native     nativeCredentials

	gitDir           string
	gitRefs          bool
	noKeepPolicies   bool
	policyFile       string
	werfConfig       string
	gitTagLimit      int
	gitTagExpiryDays int
	gitCommitLimit   int
	gitCommitExpiry  int
	keepTags         []string
	tagFilter        string
	keepLast         int
	olderThan        time.Duration
	keepYoungerThan  time.Duration
	keepList         string
	protected        []string
	dryRun           bool
	quiet            bool
	deleteManifests  bool
	format           string
	report           string
	imageCacheDir    string
	noImageCache     bool
	kube             kubeOptions
}

// connectionOptions say how to reach and log in to the registry; cleanup and
// purge share them.
type connectionOptions struct {
	username       string
	password       string
	insecure       bool
	parallel       int
	requestTimeout time.Duration
	timeout        time.Duration
	skipTLSVerify  bool
}

func newCleanupCommand(dockerCLI command.Cli) *cobra.Command {
	var opts cleanupOptions
	cmd := &cobra.Command{
		Use:   "cleanup [OPTIONS]",
		Short: "Delete the tags of a repository that no policy keeps, and never one that a policy keeps",
		Long: `Delete the tags of --repo that no policy keeps.

Policies: git references from --git-dir (branch, git-tag and commit tags whose
reference is gone), werf's keepPolicies (werf.yaml, --policy or werf's
defaults), and tag rules (--keep-tag, --tag-filter, --keep-last,
--older-than). Always kept: tags younger than --keep-younger-than, tags in
--keep-list and --protected tags (default: latest, stable, main, master,
staging, production). A tag kept by any policy is kept.

Safety: each tag is untagged on its own (the OCI tag delete where the
registry has it, else by overwriting the tag with a throw-away manifest
unique to the run and deleting that, once for a group of tags), so no other
tag on the same digest, no child of a kept index and no subject of a kept
referrer is touched. A tag pushed during the run is kept. Each tag is
checked again right before the request that removes it: a tag pushed again
before that check is kept (moved), one pushed while that request is on its
way is lost, as no registry API lets the request depend on the tag. --dry-run
writes nothing. An
interrupted run, even a killed one, is finished by running it again.`,
		Example: `  docker werf cleanup --repo registry.example.com/app --dry-run
  docker werf cleanup --repo registry.example.com/app --git-dir . --report cleanup.json
  docker werf cleanup --repo registry.example.com/app --keep-last 20 --older-than 30d`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runCleanup(cmd.Context(), dockerCLI, opts, cmd.Flags())
		},
	}
	fs := cmd.Flags()
	addRepoArg(fs, &opts.repo)
	addRepoFlags(fs, &opts.registry)
	addConnectionFlags(fs, &opts.connection, "WERF_CLEANUP")
	opts.native = addNativeCredentialFlags(fs)
	addPolicyFlags(fs, &opts)
	addKubeFlags(fs, &opts.kube)
	fs.BoolVar(&opts.dryRun, "dry-run", false, "Show what would be deleted; send no write request")
	flagenv.Bind(fs, "dry-run", "WERF_DRY_RUN")
	fs.BoolVarP(&opts.quiet, "quiet", "q", false, "Show only the deletions and the summary, not the kept tags")
	flagenv.Bind(fs, "quiet", "WERF_CLEANUP_QUIET")
	fs.BoolVar(&opts.deleteManifests, "delete-manifests", false,
		"Delete a manifest whole when every tag on it goes, so the registry frees it without untagged-manifest garbage collection; "+
			"on distribution (2.8 and 3) much slower than untagging, since each digest delete reads every tag of the repository; "+
			"the tags are listed again right before each delete, and a tag pushed onto the manifest after that listing goes too")
	flagenv.Bind(fs, "delete-manifests", "WERF_CLEANUP_DELETE_MANIFESTS")
	fs.StringVar(&opts.report, "report", "", "Also write every tag with its decision, reason and outcome as JSON to this file")
	flagenv.Bind(fs, "report", "WERF_CLEANUP_REPORT")
	fs.StringVar(&opts.imageCacheDir, "image-cache-dir", "",
		"Directory of the image cache, what earlier runs read of each image (default: docker-werf/images in the user's cache directory)")
	flagenv.Bind(fs, "image-cache-dir", "WERF_IMAGE_CACHE_DIR")
	fs.BoolVar(&opts.noImageCache, "no-image-cache", false, "Read every image from the registry, and remember nothing for the next run")
	flagenv.Bind(fs, "no-image-cache", "WERF_NO_IMAGE_CACHE")
	addFormatFlag(cmd, &opts.format, "WERF_CLEANUP_FORMAT")
	return cmd
}

func addRepoArg(fs *pflag.FlagSet, repo *string) {
	fs.StringVar(repo, "repo", "", "Repository to clean, e.g. registry.example.com/group/app (required)")
	flagenv.Bind(fs, "repo", "WERF_REPO")
}

// addConnectionFlags adds the registry connection flags; the run's limits
// are the command's own (cmdVars is WERF_CLEANUP or WERF_PURGE), so a limit
// set for one command does not bound the other.
func addConnectionFlags(fs *pflag.FlagSet, o *connectionOptions, cmdVars string) {
	fs.StringVar(&o.username, "registry-username", "", "Registry user (default: the docker config's credentials)")
	flagenv.Bind(fs, "registry-username", "WERF_REGISTRY_USERNAME")
	fs.StringVar(&o.password, "registry-password", "", "Registry password or token (prefer the variable)")
	flagenv.Bind(fs, "registry-password", "WERF_REGISTRY_PASSWORD")
	fs.BoolVar(&o.insecure, "insecure-registry", false, "Allow plain HTTP to the registry")
	flagenv.Bind(fs, "insecure-registry", "WERF_INSECURE_REGISTRY")
	fs.BoolVar(&o.skipTLSVerify, "skip-tls-verify-registry", false,
		"Accept any TLS certificate of the registry (better: its CA in /etc/docker/certs.d/HOST[:PORT]/ca.crt, or SSL_CERT_FILE)")
	flagenv.Bind(fs, "skip-tls-verify-registry", "WERF_SKIP_TLS_VERIFY_REGISTRY")
	fs.IntVar(&o.parallel, "parallel", 8, "Requests in flight at once")
	// Not werf's WERF_PARALLEL: werf reads it as a boolean (run stages in
	// parallel), which a CI job may set for werf's own sake.
	flagenv.Bind(fs, "parallel", cmdVars+"_PARALLEL")
	fs.Var(duration.NewValue(&o.requestTimeout, registryapi.DefaultRequestTimeout), "request-timeout",
		"Longest wait for one answer of the registry, its body included; a slower one is retried (up to 6 times)")
	flagenv.Bind(fs, "request-timeout", cmdVars+"_REQUEST_TIMEOUT")
	fs.Var(duration.NewValue(&o.timeout, 0), "timeout",
		"Stop the run after this long (e.g. 30m; 0: no limit): deletions in flight finish, the rest are left for the next run")
	flagenv.Bind(fs, "timeout", cmdVars+"_TIMEOUT")
}

func addPolicyFlags(fs *pflag.FlagSet, o *cleanupOptions) {
	str := func(p *string, name, def, env, usage string) {
		fs.StringVar(p, name, def, usage)
		flagenv.Bind(fs, name, env)
	}
	integer := func(p *int, name string, def int, env, usage string) {
		fs.IntVar(p, name, def, usage)
		flagenv.Bind(fs, name, env)
	}
	str(&o.gitDir, "git-dir", "", "WERF_GIT_DIR", "Git repository whose references and history the policies read (default: the current directory, when it is one)")
	fs.BoolVar(&o.gitRefs, "git-refs", true, "Delete tags named after a branch, git tag or commit that is gone (needs a git repository)")
	flagenv.Bind(fs, "git-refs", "WERF_CLEANUP_GIT_REFS")
	fs.BoolVar(&o.noKeepPolicies, "no-keep-policies", false, "Do not apply werf's keepPolicies")
	flagenv.Bind(fs, "no-keep-policies", "WERF_CLEANUP_NO_KEEP_POLICIES")
	str(&o.policyFile, "policy", "", "WERF_CLEANUP_POLICY", "File with keepPolicies in werf.yaml's format (instead of werf.yaml's)")
	str(&o.werfConfig, "werf-config", "", "WERF_CONFIG", "werf.yaml to read cleanup settings from (default: werf.yaml or werf.yml in the git directory)")
	integer(&o.gitTagLimit, "git-tag-strategy-limit", -1, "WERF_GIT_TAG_STRATEGY_LIMIT", "Keep at most this many images of git tags, newest first (-1: no limit)")
	integer(&o.gitTagExpiryDays, "git-tag-strategy-expiry-days", -1, "WERF_GIT_TAG_STRATEGY_EXPIRY_DAYS", "Delete images of git tags older than this many days (-1: never)")
	integer(&o.gitCommitLimit, "git-commit-strategy-limit", -1, "WERF_GIT_COMMIT_STRATEGY_LIMIT", "Keep at most this many images of commits, newest first (-1: no limit)")
	integer(&o.gitCommitExpiry, "git-commit-strategy-expiry-days", -1, "WERF_GIT_COMMIT_STRATEGY_EXPIRY_DAYS", "Delete images of commits older than this many days (-1: never)")
	fs.StringArrayVar(&o.keepTags, "keep-tag", nil, "Always keep tags matching this regular expression (whole tag; repeatable)")
	flagenv.Bind(fs, "keep-tag", "WERF_KEEP_TAG")
	str(&o.tagFilter, "tag-filter", "", "WERF_TAG_FILTER", "Only consider tags matching this regular expression (whole tag)")
	integer(&o.keepLast, "keep-last", 0, "WERF_KEEP_LAST", "Keep the newest N tags by creation time")
	dur := func(p *time.Duration, name string, def time.Duration, env, usage string) {
		fs.Var(duration.NewValue(p, def), name, usage)
		flagenv.Bind(fs, name, env)
	}
	dur(&o.olderThan, "older-than", 0, "WERF_OLDER_THAN", "Delete only tags older than this (e.g. 30d, 12h)")
	dur(&o.keepYoungerThan, "keep-younger-than", 2*time.Hour, "WERF_KEEP_YOUNGER_THAN", "Always keep tags younger than this (0 to turn off)")
	str(&o.keepList, "keep-list", "", "WERF_KEEP_LIST", "File of tags to always keep, one per line")
	fs.StringArrayVar(&o.protected, "protected", nil, "Always keep tags matching this regular expression, instead of the defaults (repeatable)")
	flagenv.Bind(fs, "protected", "WERF_PROTECTED")
}
