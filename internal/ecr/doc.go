// Package ecr is the cleanup backend for Amazon ECR private registries
// (<account>.dkr.ecr.<region>.amazonaws.com), on the ECR API through the
// AWS SDK for Go v2.
//
// The account (registry id) and the region come from the repository host;
// credentials from the SDK's default chain (environment, shared config and
// credentials files and profiles, SSO, web identity / IRSA, ECS and EC2
// roles) unless Credentials.Provider is set.
//
//   - [Client.Tags] lists the repository with DescribeImages (tagStatus
//     TAGGED, imageStatus ACTIVE, maxResults up to 1000, following nextToken
//     to the end). Archived images (ECR's archive storage class, and those
//     being restored, ACTIVATING) are left alone: cleanup neither lists nor
//     deletes them, since their manifests and configs cannot be read until
//     they are restored, so no policy can be applied to them; ECR lifecycle
//     policies manage the archive. Every
//     image detail (digest, tags, imagePushedAt, manifest media type,
//     subject) is kept, so that [Client.Resolve] answers from that listing
//     while it is fresh (WithListingMaxAge) instead of one request per tag.
//   - [Client.Resolve] otherwise asks DescribeImages for imageIds
//     [{imageTag}]; ImageNotFoundException is registryapi.ErrNotFound.
//   - [Client.Inspect] takes Created from imagePushedAt and the subject from
//     subjectManifestDigest; the revision label, index children and
//     annotations come from the Docker Registry API (WithRegistryAPI; by default a
//     registryapi.Client logged in with a GetAuthorizationToken token).
//   - [Client.Untag] is BatchDeleteImage with imageIds [{imageTag, imageDigest}]:
//     ECR removes only that tag, and only while it still points to the
//     expected digest (failureCode ImageTagDoesNotMatchDigest otherwise, which
//     is registryapi.ErrTagMoved). The image goes with its last tag.
//   - [Client.DeleteManifest] is BatchDeleteImage with imageIds [{imageDigest}],
//     which deletes the image and every tag on it.
//
// BatchDeleteImage answers partial failures inside a 200 response:
// ImageNotFound is registryapi.ErrNotFound (gone), ImageTagDoesNotMatchDigest
// is registryapi.ErrTagMoved, ImageReferencedByManifestList is
// [ErrReferencedByManifestList] (ECR keeps images that a manifest list
// refers to), anything else an error naming the code and reason.
//
// Throttling (ThrottlingException and the other AWS throttle codes, and any
// 429) and 5xx answers are retried by the SDK's standard retryer, with up to
// DefaultMaxAttempts attempts, exponential backoff with jitter up to 20 s and
// no client-side retry quota; AWS_MAX_ATTEMPTS still overrides the attempts.
package ecr
