package importer

import (
	"strings"
	"testing"
	"time"
)

// fakeClock is a settable clock.
type fakeClock struct{ t time.Time }

func (c *fakeClock) now() time.Time { return c.t }

func (c *fakeClock) advance(d time.Duration) { c.t = c.t.Add(d) }

func TestProgressNotTerminal(t *testing.T) {
	var out strings.Builder
	clock := &fakeClock{t: time.Unix(1000, 0)}
	p := newProgress(&out, false, 5*time.Second, clock.now)

	clock.advance(time.Second)
	p.AddSent(1000) // too soon: nothing written
	if out.Len() != 0 {
		t.Fatalf("wrote %q before the interval", out.String())
	}
	clock.advance(4 * time.Second)
	p.AddSent(1000)
	p.AddRejected(2) // same instant: no second line
	clock.advance(5 * time.Second)
	p.AddRejected(1)
	clock.advance(100 * time.Millisecond)
	p.Finish()
	p.Finish() // idempotent
	p.AddSent(5)

	want := "2000 records sent, 0 rejected, 400 records/s\n" +
		"2000 records sent, 3 rejected, 200 records/s\n" +
		"done: 2000 records imported, 3 rejected, in 10.1s (198 records/s)\n"
	if out.String() != want {
		t.Errorf("got\n%q\nwant\n%q", out.String(), want)
	}
	if strings.Contains(out.String(), "\r") {
		t.Error("carriage return written to a non-terminal")
	}
}

func TestProgressTerminal(t *testing.T) {
	var out strings.Builder
	clock := &fakeClock{t: time.Unix(1000, 0)}
	p := newProgress(&out, true, time.Hour, clock.now)

	clock.advance(time.Second)
	p.AddSent(12345)
	clock.advance(100 * time.Millisecond)
	p.AddSent(1) // throttled
	clock.advance(time.Second)
	p.AddSent(1)
	clock.advance(time.Second)
	p.Finish()

	got := out.String()
	if strings.Count(got, "\n") != 1 || !strings.HasSuffix(got, "\n") {
		t.Errorf("want one final newline: %q", got)
	}
	parts := strings.Split(strings.TrimSuffix(got, "\n"), "\r")
	// "", first draw, second draw, summary.
	if len(parts) != 4 || parts[0] != "" {
		t.Fatalf("got %q", got)
	}
	if parts[1] != "12345 records sent, 0 rejected, 12345 records/s" {
		t.Errorf("first draw %q", parts[1])
	}
	if !strings.HasPrefix(parts[3], "done: 12347 records imported, 0 rejected, in 3.1s") {
		t.Errorf("summary %q", parts[3])
	}
	if len(parts[3]) < len(parts[2]) {
		t.Errorf("summary %q does not cover the previous line %q", parts[3], parts[2])
	}
}

func TestProgressWithBatcherSignature(t *testing.T) {
	p := NewProgress(&strings.Builder{}, false, 0)
	b := &Batcher{OnSent: p.AddSent}
	_ = b
	if p.interval != DefaultProgressInterval {
		t.Errorf("interval %v", p.interval)
	}
}
