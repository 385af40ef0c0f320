// Package policy decides which tags of a container repository
// `docker werf cleanup` keeps, and why. It only decides: listing tags and
// deleting them safely (shared digests, multi-platform children) happen
// elsewhere.
//
// Decide takes every tag with its digest, creation time and, when known,
// the commit it was built from, an optional git repository (package
// gitrepo), a Config and the current time, and returns exactly one
// Decision per tag, sorted by tag name, each with a stable Reason code and a
// human Detail.
//
// # Precedence
//
// 1. Always kept, first match wins, in this order:
//   - "protected": matches a Config.Protected pattern (default: latest,
//     stable, main, master, staging, production);
//   - "keep-list": listed in the keep-list file;
//   - "young": created less than KeepYoungerThan ago (default 2h, werf's
//     keepImagesBuiltWithinLastNHours);
//   - "keep-tag": matches a KeepTag pattern.
//
// 2. "filtered-out" (kept): does not match TagFilter. Only tags inside the
// filter are ever deleted.
//
// 3. Signature, attestation and SBOM tags (sha256-<64 hex>[.sig|.att|…],
// cosign and the OCI referrers tag schema) follow the image they refer to:
// "referrer-of-kept" while some tag of the subject digest is kept,
// "referrer-of-deleted" when every tag of it is deleted, and
// "referrer-unknown-subject" (kept) when no listed tag has that digest.
//
// 4. Every other tag is put to each configured rule family, which votes
// keep, delete or nothing:
//
//   - Git references (Config.GitRefs, needs a repository), werf 1.0's
//     tagging-strategy cleanup for tags made from ci-env's
//     WERF_TAG_GIT_BRANCH / WERF_TAG_GIT_TAG / commit SHAs, compared by
//     werf's docker-tag slug (ci.Slug):
//     the slug of a live branch: "git-branch" (keep);
//     the slug of a live git tag: "git-tag" (keep), unless created more than
//     GitTagStrategyExpiryDays ago ("git-tag-expired") or, of the rest, not
//     among the GitTagStrategyLimit newest ("git-tag-limit");
//     a commit SHA (7–40 or 64 hex digits) of a commit on some ref:
//     "git-commit" (keep), with GitCommitStrategyExpiryDays and
//     GitCommitStrategyLimit likewise ("git-commit-expired",
//     "git-commit-limit");
//     a commit SHA on no ref, or an image whose known commit is on no ref:
//     "commit-gone" (delete);
//     anything else is the tag of a deleted reference: "git-tag-gone" when it
//     looks like a version (v1.2, 1.2.3-rc1), else "git-branch-gone"
//     (delete).
//   - Keep policies (werf's cleanup.keepPolicies; werf's documented
//     defaults when none are given; on whenever a repository is given,
//     unless DisableKeepPolicies): for images whose commit is known, the
//     images kept by some policy for some reference: "keep-policy" (the
//     Detail names the reference, the commit and the policy); images of
//     live commits kept by none: "no-policy" (delete); images whose commit
//     is gone: "commit-gone" (delete); images without a known commit: no
//     vote ("unknown-commit" if nothing else decides).
//   - Tag rules (KeepLast, OlderThan; no git needed): the KeepLast newest by
//     creation time: "keep-last" (keep); the others, when OlderThan is set:
//     "older-than" (delete) if created longer ago, else no vote
//     ("not-older-than", or "unknown-created" for an unknown creation time);
//     without OlderThan: "beyond-keep-last" (delete).
//
// Several families combine as a union of keeps: a tag kept by any family is
// kept; otherwise a tag some family deletes is deleted; otherwise it is kept
// ("unknown-commit", "not-older-than", "unknown-created", or "no-rule" when
// nothing applies, e.g. without a repository and without tag rules). The
// Reason is that of the first family, in the order above, that voted the
// winning way; Detail lists the other reasons once each ("(also older-than)").
// So adding a family never deletes a tag another family keeps, and nothing
// is deleted unless a configured rule says so.
//
// Counting rules (KeepLast, the git-tag and git-commit limits,
// imagesPerReference.last) rank only the tags inside the filter that no
// explicit keep rule (protected, keep-list, keep-tag) already keeps, like
// werf sets aside images used in Kubernetes and GitLab its name_regex_keep
// matches. Young tags do count: werf applies its built-within-2-hours rule
// after its git policies.
//
// # Keep policies
//
// A policy selects branches (local and remote-tracking of any remote, named
// without the remote prefix) or git tags whose whole name matches
// references.branch|tag ("/regexp/" or a literal name), then narrows them
// with references.limit: last N by reference time (branch: committer time
// of its tip; tag: tagger date, else commit time), in D (time after now−D),
// operator And (default) or Or. The last policy selecting a reference sets
// its imagesPerReference, so list policies from general to specific. A
// branch's history is every commit reachable from its tips; a tag's is only
// its commit. Among the commits of that history that images were built
// from, imagesPerReference keeps the newest last (by committer time) and/or
// those committed within in; images built from the same commit count as
// one. Omitted limits mean no limit (werf's code; for tags that is one
// image, as only the tagged commit is scanned). last: 0 keeps nothing.
//
// # Parsing
//
// ParseDuration accepts Go durations plus d and w ("7d", "2w", "1w2d12h").
// ParseRegexp(s) anchor patterns to whole tags. LoadKeepList, LoadPolicyFile
// and LoadWerfConfig report problems with file and line; unknown YAML keys
// are errors, with a suggestion for likely typos.
package policy
