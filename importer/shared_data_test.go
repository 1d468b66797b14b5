package importer

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"testing"
)

// sharedData returns the path of a shared data set, or skips the test.
func sharedData(tb testing.TB, name string) string {
	tb.Helper()
	path := filepath.Join("..", "..", "shared", "data", name)
	if _, err := os.Stat(path); err != nil {
		tb.Skipf("shared data set %s not available (%v)", name, err)
	}
	return path
}

// TestSharedDataSets reads the first 2 MB of each real data set as NDJSON
// and, rewritten as one JSON array, as JSON: every record is read and none
// rejected. (The benchmarks read a whole file.)
func TestSharedDataSets(t *testing.T) {
	for _, name := range []string{"tldr-pages.ndjson", "geonames-cities.ndjson"} {
		data, err := os.ReadFile(sharedData(t, name))
		if err != nil {
			t.Fatal(err)
		}
		if len(data) > 2<<20 {
			data = data[:bytes.LastIndexByte(data[:2<<20], '\n')+1]
		}
		want := bytes.Count(data, []byte("\n"))
		count := func(r io.Reader, f Format) Stats {
			stats, err := Read(r, f, func(Record) error { return nil })
			if err != nil {
				t.Fatalf("%s as %v: %v", name, f, err)
			}
			return stats
		}
		stats := count(bytes.NewReader(data), FormatAuto)
		if stats.Records != want || stats.RejectedCount != 0 || stats.Lines != want {
			t.Errorf("%s: %+v, want %d records", name, stats, want)
		}
		array := append([]byte("[\n"), bytes.ReplaceAll(bytes.TrimSpace(data), []byte("}\n{"), []byte("},\n{"))...)
		array = append(array, "\n]\n"...)
		stats = count(bytes.NewReader(array), FormatAuto)
		if stats.Records != want || stats.RejectedCount != 0 {
			t.Errorf("%s as a JSON array: %d records, %d rejected", name, stats.Records, stats.RejectedCount)
		}
	}
}

func BenchmarkReadNDJSON(b *testing.B) {
	data, err := os.ReadFile(sharedData(b, "tldr-pages.ndjson"))
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		if _, err := Read(bytes.NewReader(data), FormatNDJSON, func(Record) error { return nil }); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkReadJSONArray(b *testing.B) {
	data, err := os.ReadFile(sharedData(b, "tldr-pages.ndjson"))
	if err != nil {
		b.Fatal(err)
	}
	data = append([]byte("["), append(bytes.ReplaceAll(bytes.TrimSpace(data), []byte("}\n{"), []byte("},\n{")), ']')...)
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		if _, err := Read(bytes.NewReader(data), FormatJSON, func(Record) error { return nil }); err != nil {
			b.Fatal(err)
		}
	}
}
