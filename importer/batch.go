package importer

import (
	"context"
	"fmt"
)

// DefaultBatchSize is the number of records per batch when Batcher.Size is 0.
const DefaultBatchSize = 1000

// Sink receives batches of records.
type Sink interface {
	// Send stores the records, all or nothing as far as the caller can
	// tell, and returns when they are stored (or searchable, for a sink
	// that can tell). It must not keep records after it returns.
	Send(ctx context.Context, records []map[string]any) error
}

// Batcher groups records into batches of Size and sends them to Sink, in
// order, one at a time. After the first failed Send it sends nothing more:
// Add and Flush return that failure, as a *BatchError, from then on. A
// Batcher is not safe for concurrent use.
type Batcher struct {
	// Sink receives the batches.
	Sink Sink
	// Size is the number of records per batch; 0 means DefaultBatchSize.
	Size int
	// OnSent, if not nil, is called with the number of records after each
	// successful Send.
	OnSent func(n int)

	batch     []map[string]any
	firstLine int
	lastLine  int
	sent      int
	err       error
}

// BatchError is a failed Send, with the input lines of the batch.
type BatchError struct {
	// FirstLine and LastLine are the input lines where the batch's first
	// and last records start.
	FirstLine, LastLine int
	// Records is the number of records in the batch.
	Records int
	// Err is the Sink's error.
	Err error
}

// Error implements error.
func (e *BatchError) Error() string {
	return fmt.Sprintf("importer: batch of %d records from lines %d-%d failed: %v", e.Records, e.FirstLine, e.LastLine, e.Err)
}

// Unwrap returns the Sink's error.
func (e *BatchError) Unwrap() error { return e.Err }

// Add appends a record to the current batch and sends the batch when it is
// full. It returns ctx's error if ctx is done.
func (b *Batcher) Add(ctx context.Context, r Record) error {
	if b.err != nil {
		return b.err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	if len(b.batch) == 0 {
		b.firstLine = r.Line
		b.batch = make([]map[string]any, 0, b.size())
	}
	b.batch = append(b.batch, r.Object)
	b.lastLine = r.Line
	if len(b.batch) >= b.size() {
		return b.send(ctx)
	}
	return nil
}

// Flush sends the records added since the last batch, if any.
func (b *Batcher) Flush(ctx context.Context) error {
	if b.err != nil {
		return b.err
	}
	if len(b.batch) == 0 {
		return nil
	}
	return b.send(ctx)
}

// Sent returns the number of records sent successfully.
func (b *Batcher) Sent() int { return b.sent }

func (b *Batcher) size() int {
	if b.Size <= 0 {
		return DefaultBatchSize
	}
	return b.Size
}

func (b *Batcher) send(ctx context.Context) error {
	batch := b.batch
	b.batch = nil
	if err := b.Sink.Send(ctx, batch); err != nil {
		b.err = &BatchError{FirstLine: b.firstLine, LastLine: b.lastLine, Records: len(batch), Err: err}
		return b.err
	}
	b.sent += len(batch)
	if b.OnSent != nil {
		b.OnSent(len(batch))
	}
	return nil
}
