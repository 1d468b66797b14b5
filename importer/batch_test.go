package importer

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
)

// fakeSink records batches and fails on the batch numbered failAt (1-based).
type fakeSink struct {
	batches [][]map[string]any
	failAt  int
	err     error
}

func (f *fakeSink) Send(_ context.Context, records []map[string]any) error {
	f.batches = append(f.batches, records)
	if len(f.batches) == f.failAt {
		return f.err
	}
	return nil
}

func (f *fakeSink) sizes() []int {
	out := []int{}
	for _, b := range f.batches {
		out = append(out, len(b))
	}
	return out
}

func ndjsonOf(n int) string {
	var b strings.Builder
	for i := range n {
		fmt.Fprintf(&b, "{\"i\":%d}\n", i)
	}
	return b.String()
}

func TestBatcherBoundaries(t *testing.T) {
	ctx := context.Background()
	for _, tt := range []struct {
		n, size int
		want    []int
	}{
		{0, 3, []int{}},
		{1, 3, []int{1}},
		{3, 3, []int{3}},
		{7, 3, []int{3, 3, 1}},
		{2500, 0, []int{1000, 1000, 500}},
	} {
		sink := &fakeSink{}
		var sentCalls []int
		b := &Batcher{Sink: sink, Size: tt.size, OnSent: func(n int) { sentCalls = append(sentCalls, n) }}
		_, err := Read(strings.NewReader(ndjsonOf(tt.n)), FormatNDJSON, func(r Record) error { return b.Add(ctx, r) })
		if err == nil {
			err = b.Flush(ctx)
		}
		if err != nil {
			t.Fatal(err)
		}
		if got := sink.sizes(); fmt.Sprint(got) != fmt.Sprint(tt.want) {
			t.Errorf("n=%d size=%d: batches %v, want %v", tt.n, tt.size, got, tt.want)
		}
		if fmt.Sprint(sentCalls) != fmt.Sprint(tt.want) && !(len(sentCalls) == 0 && len(tt.want) == 0) {
			t.Errorf("OnSent calls %v", sentCalls)
		}
		if b.Sent() != tt.n {
			t.Errorf("Sent() = %d, want %d", b.Sent(), tt.n)
		}
		// Order is kept.
		i := 0
		for _, batch := range sink.batches {
			for _, obj := range batch {
				if obj["i"].(fmt.Stringer).String() != fmt.Sprint(i) {
					t.Fatalf("record %d out of order: %v", i, obj)
				}
				i++
			}
		}
	}
}

func TestBatcherError(t *testing.T) {
	ctx := context.Background()
	boom := errors.New("boom")
	sink := &fakeSink{failAt: 2, err: boom}
	b := &Batcher{Sink: sink, Size: 3}
	stats, err := Read(strings.NewReader(ndjsonOf(10)), FormatNDJSON, func(r Record) error { return b.Add(ctx, r) })
	if !errors.Is(err, boom) {
		t.Fatalf("err = %v, want boom", err)
	}
	var be *BatchError
	if !errors.As(err, &be) || be.FirstLine != 4 || be.LastLine != 6 || be.Records != 3 {
		t.Fatalf("err = %#v, want a BatchError for lines 4-6", err)
	}
	if !strings.Contains(err.Error(), "lines 4-6") {
		t.Errorf("error text %q", err)
	}
	if stats.Records != 6 || len(sink.batches) != 2 || b.Sent() != 3 {
		t.Errorf("records read %d, batches %d, sent %d", stats.Records, len(sink.batches), b.Sent())
	}
	// Nothing more is sent after a failure.
	if err := b.Add(ctx, Record{Line: 99, Object: map[string]any{}}); !errors.Is(err, boom) {
		t.Errorf("Add after failure: %v", err)
	}
	if err := b.Flush(ctx); !errors.Is(err, boom) {
		t.Errorf("Flush after failure: %v", err)
	}
	if len(sink.batches) != 2 {
		t.Errorf("sent after failure: %d batches", len(sink.batches))
	}
}

func TestBatcherFlushError(t *testing.T) {
	ctx := context.Background()
	boom := errors.New("boom")
	sink := &fakeSink{failAt: 1, err: boom}
	b := &Batcher{Sink: sink, Size: 10}
	for i := 1; i <= 4; i++ {
		if err := b.Add(ctx, Record{Line: i * 2, Object: map[string]any{}}); err != nil {
			t.Fatal(err)
		}
	}
	err := b.Flush(ctx)
	var be *BatchError
	if !errors.As(err, &be) || be.FirstLine != 2 || be.LastLine != 8 || be.Records != 4 {
		t.Fatalf("err = %v", err)
	}
}

func TestBatcherCanceled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	b := &Batcher{Sink: &fakeSink{}}
	if err := b.Add(ctx, Record{Line: 1, Object: map[string]any{}}); !errors.Is(err, context.Canceled) {
		t.Errorf("err = %v", err)
	}
}
