package github

import (
	"slices"
	"testing"
	"time"

	"github.com/docker-werf/docker-werf/internal/cleanup"
	"github.com/docker-werf/docker-werf/internal/cleanup/cleanuptest"
	"github.com/docker-werf/docker-werf/internal/registry"
)

// backend runs the cleanup contract against the fake GitHub API.
type backend struct {
	f   *fakeGitHub
	reg *Client
}

func (b *backend) Registry() cleanup.Registry {
	if b.reg == nil {
		b.reg = b.f.client(b.f.token, WithPageSize(b.PageSize()))
	}
	return b.reg
}

func (b *backend) Seed(t *testing.T, tags map[string]string) {
	byImage := map[string][]string{}
	for tag, image := range tags {
		byImage[image] = append(byImage[image], tag)
	}
	images := make([]string, 0, len(byImage))
	for image := range byImage {
		images = append(images, image)
	}
	slices.Sort(images)
	base := time.Now().Add(-48 * time.Hour)
	for i, image := range images {
		slices.Sort(byImage[image])
		b.f.add(image, base.Add(time.Duration(i)*time.Minute), byImage[image]...)
	}
}

func (b *backend) Tags(*testing.T) []string   { return b.f.tagList() }
func (b *backend) Writes(*testing.T) []string { return b.f.writeLog() }

func (b *backend) RateLimitNext(*testing.T) {
	b.f.mu.Lock()
	defer b.f.mu.Unlock()
	b.f.limitNext = "primary"
}

func (b *backend) Unauthorized(*testing.T) (cleanup.Registry, string) {
	return b.f.client("ghp_" + "notTheRightTokenAtAll00000000000000"), tokenCredential()
}

func (b *backend) PageSize() int       { return 2 }
func (b *backend) Kind() registry.Kind { return registry.GitHub }

func TestContract(t *testing.T) {
	for _, tc := range []struct {
		name  string
		owner string
		isOrg bool
	}{
		{"organisation", "acme", true},
		{"token's user", "jane", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cleanuptest.Run(t, func(t *testing.T) cleanuptest.Backend {
				return &backend{f: newFakeGitHub(t, tc.owner, tc.isOrg, "tools/app")}
			})
		})
	}
}
