package registryapi

import (
	"context"
	"fmt"
	"strconv"
	"sync"
	"time"
)

// TagAt is a tag and the digest it must still point to when it goes.
type TagAt struct {
	Tag    string
	Digest string
}

// UntagAllOptions control UntagAll.
type UntagAllOptions struct {
	// Parallel bounds the requests in flight (at least 1).
	Parallel int
	// Timeout bounds each request once started, even after ctx ends, so
	// that a stop finishes what is in flight (default 5 minutes).
	Timeout time.Duration
	// Done receives each tag's result (nil, or an error as Untag's); calls
	// never overlap. Tags not reached before ctx ended get no call.
	Done func(i int, err error)
}

// maxUntagGroup bounds how many tags share one throw-away manifest. Groups
// start at one tag and grow fourfold, so that a registry failing the first
// DELETE by digest leaves one tag on a throw-away, not hundreds.
const maxUntagGroup = 256

// UntagAll untags every tags[i] that still points to tags[i].Digest.
//
// Where the registry has the OCI tag DELETE it untags each tag as Untag
// does. Elsewhere (distribution 2.x) Untag's overwrite-and-delete costs one
// DELETE by digest per tag, and distribution answers each by reading every
// tag link of the repository to find the tags on that digest: with 5,000
// tags, 80 ms of registry CPU a DELETE, 20 times all other requests of an
// untag together. UntagAll instead checks and overwrites a group of tags
// with one throw-away manifest and deletes it once: one repository scan per
// group. Groups run one after another and each DELETE waits until the
// group's overwrites are answered, because distribution 2.8 fails a DELETE
// half way (manifest gone, tags left) when a tag link is written while it
// reads them.
//
// When ctx ends, no more tags are checked or overwritten, requests in
// flight finish, and the current group's throw-away is deleted.
func (c *Client) UntagAll(ctx context.Context, tags []TagAt, opts UntagAllOptions) {
	var mu sync.Mutex
	done := func(i int, err error) {
		mu.Lock()
		defer mu.Unlock()
		if opts.Done != nil {
			opts.Done(i, err)
		}
	}
	var todo []int
	for i, t := range tags {
		if err := checkTag(t.Tag); err != nil {
			done(i, err)
		} else if err := checkDigest(t.Digest); err != nil {
			done(i, err)
		} else {
			todo = append(todo, i)
		}
	}
	if len(todo) == 0 || ctx.Err() != nil {
		return
	}
	// Like the requests in flight, the set-up finishes once started.
	rctx, cancel := opts.requestContext(ctx)
	tagDelete, err := c.groupCapabilities(rctx)
	cancel()
	if err != nil {
		for _, i := range todo {
			done(i, fmt.Errorf("untag %s of %s: %w", tags[i].Tag, c.repo.Name(), err))
		}
		return
	}
	if tagDelete {
		opts.each(ctx, todo, func(rctx context.Context, i int) { done(i, c.Untag(rctx, tags[i].Tag, tags[i].Digest)) })
		return
	}
	for start, size := 0, 1; start < len(todo) && ctx.Err() == nil; size = min(4*size, maxUntagGroup) {
		end := min(start+size, len(todo))
		c.untagGroup(ctx, tags, todo[start:end], opts, done)
		start = end
	}
}

// groupCapabilities says whether the registry has the tag DELETE and, if
// not, pushes the throw-away manifests' config.
func (c *Client) groupCapabilities(ctx context.Context) (tagDelete bool, err error) {
	hc, err := c.client(ctx, true)
	if err != nil {
		return false, err
	}
	if tagDelete, err = c.capabilities(ctx, hc); err != nil || tagDelete {
		return tagDelete, err
	}
	return false, c.ensureEmptyConfig(ctx, hc)
}

// untagGroup checks each tag of the group and overwrites it with one
// throw-away manifest, then deletes that manifest.
func (c *Client) untagGroup(ctx context.Context, tags []TagAt, group []int, opts UntagAllOptions, done func(int, error)) {
	rctx, cancel := opts.requestContext(ctx)
	defer cancel()
	hc, err := c.client(rctx, true)
	if err != nil {
		for _, i := range group {
			done(i, err)
		}
		return
	}
	body, dig := throwAway("")
	var (
		mu          sync.Mutex
		overwritten []int
	)
	opts.each(ctx, group, func(rctx context.Context, i int) {
		op := "untag " + tags[i].Tag + " of"
		err := c.checkTag(rctx, hc, op, tags[i].Tag, tags[i].Digest)
		if err == nil {
			err = c.putThrowAway(rctx, hc, op, tags[i].Tag, tags[i].Digest, body, dig)
		}
		if err != nil {
			done(i, err)
			return
		}
		mu.Lock()
		overwritten = append(overwritten, i)
		mu.Unlock()
	})
	if len(overwritten) == 0 {
		return
	}
	op := "untag " + strconv.Itoa(len(overwritten)) + " tags of"
	if len(overwritten) == 1 {
		op = "untag " + tags[overwritten[0]].Tag + " of"
	}
	err = c.deleteThrowAwayFully(rctx, hc, op, body, dig)
	for _, i := range overwritten {
		done(i, err)
	}
}

// each runs fn for every index in idx with at most Parallel calls at once;
// it starts no call once ctx has ended, and the calls get a context that
// outlives ctx by up to Timeout.
func (o UntagAllOptions) each(ctx context.Context, idx []int, fn func(context.Context, int)) {
	next := make(chan int)
	var wg sync.WaitGroup
	for range min(max(o.Parallel, 1), len(idx)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				rctx, cancel := o.requestContext(ctx)
				fn(rctx, i)
				cancel()
			}
		}()
	}
feed:
	for _, i := range idx {
		if ctx.Err() != nil {
			break
		}
		select {
		case next <- i:
		case <-ctx.Done():
			break feed
		}
	}
	close(next)
	wg.Wait()
}

func (o UntagAllOptions) requestContext(ctx context.Context) (context.Context, context.CancelFunc) {
	timeout := o.Timeout
	if timeout <= 0 {
		timeout = 5 * time.Minute
	}
	return context.WithTimeout(context.WithoutCancel(ctx), timeout)
}
