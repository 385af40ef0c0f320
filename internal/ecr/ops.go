package ecr

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsecr "github.com/aws/aws-sdk-go-v2/service/ecr"
	"github.com/aws/aws-sdk-go-v2/service/ecr/types"

	"github.com/docker-werf/docker-werf/internal/apiclient"
	"github.com/docker-werf/docker-werf/internal/cleanup"
	"github.com/docker-werf/docker-werf/internal/registryapi"
)

// ErrReferencedByManifestList is wrapped by the error of an untag or delete
// that ECR refused because a manifest list (image index) in the repository
// refers to the image (failureCode ImageReferencedByManifestList). The tag
// or image was kept.
var ErrReferencedByManifestList = fmt.Errorf("kept: a manifest list in the repository refers to the image "+
	"(ECR ImageReferencedByManifestList): %w", cleanup.ErrProtected)

// firstPage is the cursor apiclient.Pages starts DescribeImages with: the
// first request carries no nextToken, the later ones the previous answer's.
const firstPage = "(first page)"

func checkDigest(d string) error {
	if !registryapi.ValidSHA256(d) {
		return fmt.Errorf("invalid digest %q", d)
	}
	return nil
}

// checkTag accepts what ECR accepts as an image tag (1 to 300 characters).
func checkTag(tag string) error {
	if tag == "" || len(tag) > 300 || strings.ContainsAny(tag, "/:@ \t\r\n") {
		return fmt.Errorf("invalid tag %q", tag)
	}
	return nil
}

// Tags lists every tag of the repository with DescribeImages, following
// nextToken to the end, and remembers each image's details. A repository ECR
// does not know has no tags.
func (c *Client) Tags(ctx context.Context) ([]string, error) {
	const op = "listing tags of"
	started := c.now()
	in := &awsecr.DescribeImagesInput{
		RepositoryName: aws.String(c.repo.Path),
		RegistryId:     aws.String(c.account),
		// Active images only, said outright rather than left to the API's
		// default: archived ones (and those being restored) are left alone,
		// see the package doc.
		Filter: &types.DescribeImagesFilter{TagStatus: types.TagStatusTagged,
			ImageStatus: types.ImageStatusFilterActive},
		MaxResults: aws.Int32(int32(c.pageSize)),
	}
	l := &listing{started: started, byTag: map[string]*image{}}
	var found []*image
	err := apiclient.Pages(firstPage, func(page int, token string) (string, error) {
		if page > 0 {
			in.NextToken = aws.String(token)
		}
		out, err := c.api.DescribeImages(ctx, in)
		if err != nil {
			if page == 0 && isCode(err, "RepositoryNotFoundException") {
				return "", nil // no tags
			}
			return "", c.apiError(op, "ecr:DescribeImages", err)
		}
		for i := range out.ImageDetails {
			img := fromDetail(&out.ImageDetails[i])
			if img.digest == "" {
				continue
			}
			found = append(found, img)
			for _, t := range img.tags {
				l.byTag[t] = img
			}
		}
		return aws.ToString(out.NextToken), nil
	})
	if errors.Is(err, apiclient.ErrEndlessPagination) {
		return nil, fmt.Errorf("%s %s: DescribeImages: %w", op, c.name, err)
	}
	if err != nil {
		return nil, err
	}
	c.setListing(l, found)
	tags := make([]string, 0, len(l.byTag))
	for t := range l.byTag {
		tags = append(tags, t)
	}
	slices.Sort(tags)
	return tags, nil
}

func (c *Client) setListing(l *listing, found []*image) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.listing = l
	for _, img := range found {
		c.images[img.digest] = img
	}
}

func fromDetail(d *types.ImageDetail) *image {
	img := &image{
		digest:    aws.ToString(d.ImageDigest),
		mediaType: aws.ToString(d.ImageManifestMediaType),
		artifact:  aws.ToString(d.ArtifactMediaType),
		subject:   aws.ToString(d.SubjectManifestDigest),
		status:    string(d.ImageStatus),
		tags:      slices.Clone(d.ImageTags),
	}
	if d.ImagePushedAt != nil {
		img.pushedAt = d.ImagePushedAt.UTC()
	}
	return img
}

func (img *image) descriptor() registryapi.Descriptor {
	return registryapi.Descriptor{Digest: img.digest, MediaType: img.mediaType}
}

// Resolve returns the descriptor a tag points to: from the last listing
// while it is fresh, otherwise with DescribeImages. A missing tag gives an
// error wrapping registryapi.ErrNotFound.
func (c *Client) Resolve(ctx context.Context, tag string) (registryapi.Descriptor, error) {
	if err := checkTag(tag); err != nil {
		return registryapi.Descriptor{}, err
	}
	if img := c.fromListing(tag); img != nil {
		return img.descriptor(), nil
	}
	img, err := c.describe(ctx, "resolving tag "+tag+" of", types.ImageIdentifier{ImageTag: aws.String(tag)})
	if err != nil {
		return registryapi.Descriptor{}, err
	}
	if !slices.Contains(img.tags, tag) {
		return registryapi.Descriptor{}, fmt.Errorf("resolving tag %s of %s: DescribeImages answered image %s, "+
			"which does not carry the tag", tag, c.name, img.digest)
	}
	return img.descriptor(), nil
}

func (c *Client) fromListing(tag string) *image {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.listing == nil || c.listingMaxAge <= 0 || c.now().Sub(c.listing.started) > c.listingMaxAge {
		return nil
	}
	return c.listing.byTag[tag]
}

// describe asks DescribeImages about one image and remembers the answer.
func (c *Client) describe(ctx context.Context, op string, id types.ImageIdentifier) (*image, error) {
	out, err := c.api.DescribeImages(ctx, &awsecr.DescribeImagesInput{
		RepositoryName: aws.String(c.repo.Path),
		RegistryId:     aws.String(c.account),
		ImageIds:       []types.ImageIdentifier{id},
	})
	if err != nil {
		return nil, c.apiError(op, "ecr:DescribeImages", err)
	}
	if len(out.ImageDetails) != 1 || aws.ToString(out.ImageDetails[0].ImageDigest) == "" {
		return nil, fmt.Errorf("%s %s: DescribeImages answered %d images for one image id",
			op, c.name, len(out.ImageDetails))
	}
	img := fromDetail(&out.ImageDetails[0])
	c.mu.Lock()
	c.images[img.digest] = img
	c.mu.Unlock()
	return img, nil
}

// Inspect returns what cleanup needs of the image d points to: Created is
// ECR's imagePushedAt, the subject ECR's subjectManifestDigest; the
// revision, labels, annotations and an index's children come from the image
// reader. Archived images are not read (ECR cannot serve them before they
// are restored).
func (c *Client) Inspect(ctx context.Context, d registryapi.Descriptor) (registryapi.Image, error) {
	if err := checkDigest(d.Digest); err != nil {
		return registryapi.Image{}, err
	}
	op := "inspecting " + d.Digest + " in"
	c.mu.Lock()
	img := c.images[d.Digest]
	c.mu.Unlock()
	if img == nil {
		var err error
		if img, err = c.describe(ctx, op, types.ImageIdentifier{ImageDigest: aws.String(d.Digest)}); err != nil {
			return registryapi.Image{}, err
		}
	}
	out := registryapi.Image{Descriptor: d, Created: img.pushedAt}
	if out.MediaType == "" {
		out.MediaType = img.mediaType
	}
	out.IsIndex = isIndexType(out.MediaType)
	if img.subject != "" {
		out.Subject = &registryapi.Descriptor{Digest: img.subject}
	}
	reader, err := c.imageReader()
	if err != nil {
		return registryapi.Image{}, fmt.Errorf("%s %s: %w", op, c.name, err)
	}
	if reader == nil || (img.status != "" && img.status != string(types.ImageStatusActive)) {
		return out, nil
	}
	full, err := reader.Inspect(ctx, d)
	if err != nil {
		if errors.Is(err, registryapi.ErrUnauthorized) {
			err = fmt.Errorf("%w; reading manifests and image configs needs ecr:GetAuthorizationToken, "+
				"ecr:BatchGetImage and ecr:GetDownloadUrlForLayer", err)
		}
		return registryapi.Image{}, fmt.Errorf("%s %s: reading the manifest: %w", op, c.name, err)
	}
	out.IsIndex = out.IsIndex || full.IsIndex
	out.Children, out.Labels, out.Annotations, out.Revision = full.Children, full.Labels, full.Annotations, full.Revision
	if out.ArtifactType == "" {
		out.ArtifactType = full.ArtifactType
	}
	if full.Subject != nil {
		out.Subject = full.Subject
	}
	if out.Created.IsZero() {
		out.Created = full.Created
	}
	return out, nil
}

func isIndexType(mt string) bool {
	return mt == registryapi.MediaTypeOCIIndex || mt == registryapi.MediaTypeDockerList
}

// Untag removes exactly one tag with BatchDeleteImage, naming both the tag
// and the digest it must still point to. ECR deletes the image with its last
// tag. A tag on another digest gives registryapi.ErrTagMoved, a missing tag
// registryapi.ErrNotFound.
func (c *Client) Untag(ctx context.Context, tag, expect string) error {
	if err := checkTag(tag); err != nil {
		return err
	}
	if err := checkDigest(expect); err != nil {
		return err
	}
	op := "untagging " + tag + " of"
	f, err := c.batchDelete(ctx, op, types.ImageIdentifier{ImageTag: aws.String(tag), ImageDigest: aws.String(expect)})
	if err != nil {
		return err
	}
	if f == nil {
		c.forget(func(img *image) bool { return img.digest == expect }, tag)
		return nil
	}
	switch f.FailureCode {
	case types.ImageFailureCodeImageTagDoesNotMatchDigest:
		return fmt.Errorf("%s %s: %w (%s)", op, c.name, registryapi.ErrTagMoved, failureText(f))
	case types.ImageFailureCodeImageNotFound:
		// The tag is gone, or (should ECR answer so) it points elsewhere.
		img, err := c.describe(ctx, op, types.ImageIdentifier{ImageTag: aws.String(tag)})
		switch {
		case errors.Is(err, registryapi.ErrNotFound):
			return fmt.Errorf("%s %s: %w", op, c.name, registryapi.ErrNotFound)
		case err != nil:
			return err
		case img.digest != expect:
			return fmt.Errorf("%s %s: %w (now on %s)", op, c.name, registryapi.ErrTagMoved, img.digest)
		}
		return fmt.Errorf("%s %s: BatchDeleteImage answered ImageNotFound, but the tag is on %s", op, c.name, expect)
	}
	return c.failureError(op, f)
}

// DeleteManifest deletes the image with BatchDeleteImage by digest, and with
// it every tag on it. A missing image gives registryapi.ErrNotFound; an image
// a manifest list refers to is kept with ErrReferencedByManifestList.
func (c *Client) DeleteManifest(ctx context.Context, digest string) error {
	if err := checkDigest(digest); err != nil {
		return err
	}
	op := "deleting image " + digest + " from"
	f, err := c.batchDelete(ctx, op, types.ImageIdentifier{ImageDigest: aws.String(digest)})
	if err != nil {
		return err
	}
	if f == nil {
		c.forget(func(img *image) bool { return img.digest == digest }, "")
		return nil
	}
	return c.failureError(op, f)
}

// batchDelete sends one BatchDeleteImage and returns the failure for id, or
// nil when ECR reports it deleted.
func (c *Client) batchDelete(ctx context.Context, op string, id types.ImageIdentifier) (*types.ImageFailure, error) {
	out, err := c.api.BatchDeleteImage(ctx, &awsecr.BatchDeleteImageInput{
		RepositoryName: aws.String(c.repo.Path),
		RegistryId:     aws.String(c.account),
		ImageIds:       []types.ImageIdentifier{id},
	})
	if err != nil {
		if isCode(err, "RepositoryNotFoundException") {
			return nil, fmt.Errorf("%s %s: %w (%v)", op, c.name, registryapi.ErrNotFound, apiMessage(err))
		}
		return nil, c.apiError(op, "ecr:BatchDeleteImage", err)
	}
	if len(out.Failures) > 0 {
		return &out.Failures[0], nil
	}
	if len(out.ImageIds) == 0 {
		return nil, fmt.Errorf("%s %s: BatchDeleteImage answered neither a deletion nor a failure", op, c.name)
	}
	return nil, nil
}

// failureError turns a BatchDeleteImage failure into an error.
func (c *Client) failureError(op string, f *types.ImageFailure) error {
	switch f.FailureCode {
	case types.ImageFailureCodeImageNotFound:
		return fmt.Errorf("%s %s: %w (%s)", op, c.name, registryapi.ErrNotFound, failureText(f))
	case types.ImageFailureCodeImageReferencedByManifestList:
		return fmt.Errorf("%s %s: %w: %s", op, c.name, ErrReferencedByManifestList, failureText(f))
	}
	return fmt.Errorf("%s %s: BatchDeleteImage failed: %s", op, c.name, failureText(f))
}

func failureText(f *types.ImageFailure) string {
	s := string(f.FailureCode)
	if r := aws.ToString(f.FailureReason); r != "" {
		s += ": " + apiclient.Truncate(r, 300)
	}
	return s
}

// forget drops what a deletion made stale: the tag (if given) or every tag
// of the matching images from the listing, and the images themselves when
// the whole image went.
func (c *Client) forget(match func(*image) bool, tag string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.listing == nil {
		return
	}
	for t, img := range c.listing.byTag {
		if match(img) && (tag == "" || t == tag) {
			delete(c.listing.byTag, t)
		}
	}
	if tag == "" {
		for d, img := range c.images {
			if match(img) {
				delete(c.images, d)
			}
		}
	}
}
