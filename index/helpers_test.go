package index

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"os"
	"sync"
	"testing"
)

// syncBuffer is a goroutine-safe log sink.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// MustOpen opens a Manager on dir and closes it at cleanup; logs go to the returned buffer.
func MustOpen(tb testing.TB, dir string) (*Manager, *syncBuffer) {
	tb.Helper()
	logs := &syncBuffer{}
	m, err := Open(dir, slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})))
	if err != nil {
		tb.Fatalf("Open(%s): %v", dir, err)
	}
	tb.Cleanup(func() { _ = m.Close() })
	return m, logs
}

// MustIndex returns the named index, created if needed.
func MustIndex(tb testing.TB, m *Manager, name string) *Index {
	tb.Helper()
	ix, err := m.GetOrCreate(name)
	if err != nil {
		tb.Fatalf("GetOrCreate(%q): %v", name, err)
	}
	return ix
}

// MustWrite writes ops and fails the test on error.
func MustWrite(tb testing.TB, ix *Index, ops ...Op) (int64, []string) {
	tb.Helper()
	task, ids, err := ix.Write(context.Background(), ops)
	if err != nil {
		tb.Fatalf("Write: %v", err)
	}
	return task, ids
}

// MustRecord decodes a JSON record literal.
func MustRecord(tb testing.TB, s string) map[string]any {
	tb.Helper()
	rec, err := DecodeRecord([]byte(s))
	if err != nil {
		tb.Fatalf("DecodeRecord(%s): %v", s, err)
	}
	return rec
}

// MustSource returns the record objectID as a decoded map (nil when missing).
func MustSource(tb testing.TB, ix *Index, id string) map[string]any {
	tb.Helper()
	src, err := ix.Source(context.Background(), id)
	if err != nil {
		return nil
	}
	return MustRecord(tb, string(src))
}

// MustSettings applies a settings patch written as JSON.
func MustSettings(tb testing.TB, ix *Index, patch string) int64 {
	tb.Helper()
	var p map[string]json.RawMessage
	if err := json.Unmarshal([]byte(patch), &p); err != nil {
		tb.Fatal(err)
	}
	task, err := ix.SetSettings(context.Background(), p)
	if err != nil {
		tb.Fatalf("SetSettings(%s): %v", patch, err)
	}
	return task
}

func add(body string) Op { return Op{Action: ActionAddObject, Body: mustRecordNoTB(body)} }

func update(body string) Op { return Op{Action: ActionUpdateObject, Body: mustRecordNoTB(body)} }

func mustRecordNoTB(s string) map[string]any {
	rec, err := DecodeRecord([]byte(s))
	if err != nil {
		panic(err)
	}
	return rec
}

func osReadDir(dir string) ([]string, error) {
	entries, err := os.ReadDir(dir)
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	return names, err
}
