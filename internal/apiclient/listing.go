package apiclient

import (
	"sync"
	"time"
)

// Listing is the listing cache of a native client: the entries of the last
// complete tag listing, each answered once while the listing is recent, and
// what the listings and lookups said of each digest (vendor data D and the
// time of each tag pointing to it). T is the vendor's tag entry; the hooks
// say what of it the cache needs. The zero value needs only the hooks.
type Listing[T, D any] struct {
	// Name is the tag an entry describes.
	Name func(T) string
	// Digest is the digest an entry points to; "" keeps the entry out of
	// the digests.
	Digest func(T) string
	// Time is the entry's time (created, pushed, updated).
	Time func(T) time.Time
	// Note records an entry's vendor data on its digest's D.
	Note func(d *D, t T)

	mu       sync.Mutex
	listed   map[string]T // tag -> the last listing's entry, until Take takes it
	listedAt time.Time
	digests  map[string]*digestEntry[D]
}

type digestEntry[D any] struct {
	info  D
	times map[string]time.Time // tag -> Time of its entry
}

// Remember replaces what the cache knows with a complete listing made at
// now.
func (l *Listing[T, D]) Remember(now time.Time, tags []T) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.listed = make(map[string]T, len(tags))
	l.digests = map[string]*digestEntry[D]{}
	l.listedAt = now
	for _, t := range tags {
		l.listed[l.Name(t)] = t
		l.noteLocked(t)
	}
}

// RememberOne updates what the cache knows of one tag.
func (l *Listing[T, D]) RememberOne(t T) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.forgetLocked(l.Name(t))
	l.noteLocked(t)
}

// Forget drops a tag that is gone.
func (l *Listing[T, D]) Forget(tag string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.forgetLocked(tag)
}

func (l *Listing[T, D]) forgetLocked(tag string) {
	delete(l.listed, tag)
	for _, d := range l.digests {
		delete(d.times, tag)
	}
}

func (l *Listing[T, D]) noteLocked(t T) {
	dig := l.Digest(t)
	if dig == "" {
		return
	}
	if l.digests == nil {
		l.digests = map[string]*digestEntry[D]{}
	}
	d := l.digests[dig]
	if d == nil {
		d = &digestEntry[D]{times: map[string]time.Time{}}
		l.digests[dig] = d
	}
	l.Note(&d.info, t)
	d.times[l.Name(t)] = l.Time(t)
}

// Take returns the last listing's entry for tag if the listing is no older
// than maxAge at now and usable (nil: any) says yes, once: a second Take of
// the same tag gives false, and the client asks the API.
func (l *Listing[T, D]) Take(tag string, now time.Time, maxAge time.Duration, usable func(T) bool) (T, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	t, ok := l.listed[tag]
	if !ok || now.Sub(l.listedAt) > maxAge || (usable != nil && !usable(t)) {
		var zero T
		return zero, false
	}
	delete(l.listed, tag)
	return t, true
}

// DigestInfo returns, under the cache's lock, view(D) of what the cache knows
// of a digest (view of the zero D when nothing) and the earliest non-zero
// time among its tags.
func DigestInfo[T, D, V any](l *Listing[T, D], dig string, view func(D) V) (V, time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	d := l.digests[dig]
	if d == nil {
		var zero D
		return view(zero), time.Time{}
	}
	var created time.Time
	for _, ts := range d.times {
		if !ts.IsZero() && (created.IsZero() || ts.Before(created)) {
			created = ts
		}
	}
	return view(d.info), created
}
