package gitlab

import (
	"slices"
	"testing"
	"time"

	"github.com/docker-werf/docker-werf/internal/cleanup"
	"github.com/docker-werf/docker-werf/internal/cleanup/cleanuptest"
	"github.com/docker-werf/docker-werf/internal/registry"
)

const contractPath = "group/project/app"

// backend runs the cleanup contract against the fake GitLab API, with a
// personal access token or a job token.
type backend struct {
	f   *fakeGitLab
	job bool
	reg *Client
}

func (b *backend) creds(valid bool) Credentials {
	if b.job {
		if valid {
			return Credentials{JobToken: b.f.jobToken}
		}
		return Credentials{JobToken: "glcbt-expired000000000000"}
	}
	if valid {
		return Credentials{Token: b.f.token}
	}
	return Credentials{Token: "glpat-wrong0000000000000000"}
}

func (b *backend) Registry() cleanup.Registry {
	if b.reg == nil {
		b.reg = b.f.client(contractPath, b.creds(true), WithPageSize(b.PageSize()))
	}
	return b.reg
}

func (b *backend) Seed(t *testing.T, tags map[string]string) {
	var images []string
	for _, image := range tags {
		images = append(images, image)
	}
	slices.Sort(images)
	images = slices.Compact(images)
	base := time.Now().Add(-48 * time.Hour)
	for tag, image := range tags {
		b.f.tag(contractPath, tag, image, base.Add(time.Duration(slices.Index(images, image))*time.Minute))
	}
}

func (b *backend) Tags(*testing.T) []string   { return b.f.tagList(contractPath) }
func (b *backend) Writes(*testing.T) []string { return b.f.writeLog() }

func (b *backend) RateLimitNext(*testing.T) {
	b.f.mu.Lock()
	defer b.f.mu.Unlock()
	b.f.limitNext = true
}

func (b *backend) Unauthorized(*testing.T) (cleanup.Registry, string) {
	want := tokenCredential()
	if b.job {
		want = "GitLab refused CI_JOB_TOKEN"
	}
	return b.f.client(contractPath, b.creds(false)), want
}

func (b *backend) PageSize() int       { return 2 }
func (b *backend) Kind() registry.Kind { return registry.GitLab }

func TestContract(t *testing.T) {
	for _, job := range []bool{false, true} {
		name := "personal access token"
		if job {
			name = "job token"
		}
		t.Run(name, func(t *testing.T) {
			cleanuptest.Run(t, func(t *testing.T) cleanuptest.Backend {
				f := newFakeGitLab(t)
				f.addProject(7, "group/project", "", "app")
				f.jobProject = 7
				return &backend{f: f, job: job}
			})
		})
	}
}
