package apiclient

import (
	"testing"
	"time"
)

type entry struct {
	name, digest string
	at           time.Time
}

func TestListing(t *testing.T) {
	l := Listing[entry, int]{
		Name:   func(e entry) string { return e.name },
		Digest: func(e entry) string { return e.digest },
		Time:   func(e entry) time.Time { return e.at },
		Note:   func(n *int, e entry) { *n++ },
	}
	t0 := time.Unix(1000, 0)
	l.Remember(t0, []entry{{"a", "d1", t0.Add(2 * time.Second)}, {"b", "d1", t0.Add(time.Second)}, {"c", "", t0}})
	if _, ok := l.Take("a", t0.Add(time.Minute+time.Second), time.Minute, nil); ok {
		t.Error("Take answered from a listing older than maxAge")
	}
	if e, ok := l.Take("a", t0, time.Minute, nil); !ok || e.digest != "d1" {
		t.Errorf("Take(a) = %v, %v", e, ok)
	}
	if _, ok := l.Take("a", t0, time.Minute, nil); ok {
		t.Error("Take answered the same tag twice")
	}
	if _, ok := l.Take("c", t0, time.Minute, func(entry) bool { return false }); ok {
		t.Error("Take answered an entry usable refused")
	}
	n, created := DigestInfo(&l, "d1", func(n int) int { return n })
	if n != 2 || !created.Equal(t0.Add(time.Second)) {
		t.Errorf("DigestInfo(d1) = %d, %v", n, created)
	}
	l.Forget("b")
	if _, created = DigestInfo(&l, "d1", func(n int) int { return n }); !created.Equal(t0.Add(2 * time.Second)) {
		t.Errorf("after Forget(b), DigestInfo(d1) created %v", created)
	}
	l.RememberOne(entry{"a", "d2", t0})
	if _, created = DigestInfo(&l, "d1", func(n int) int { return n }); !created.IsZero() {
		t.Errorf("after a moved to d2, DigestInfo(d1) created %v", created)
	}
	if n, _ = DigestInfo(&l, "nope", func(n int) int { return n }); n != 0 {
		t.Errorf("DigestInfo(nope) = %d", n)
	}
}
