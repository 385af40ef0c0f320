package apitest

import (
	"context"
	"slices"
	"testing"
	"time"
)

func TestClock(t *testing.T) {
	var c Clock
	start := c.Now()
	if err := c.Sleep(context.Background(), time.Hour); err != nil {
		t.Fatal(err)
	}
	if d := c.Now().Sub(start); d < time.Hour {
		t.Errorf("Now advanced %v after Sleep(1h)", d)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := c.Sleep(ctx, time.Minute); err == nil {
		t.Error("Sleep with a done context gave no error")
	}
	if w := c.Waited(); !slices.Equal(w, []time.Duration{time.Hour}) {
		t.Errorf("Waited() = %v", w)
	}
	if c.Transport() == nil {
		t.Error("Transport() = nil")
	}
}
