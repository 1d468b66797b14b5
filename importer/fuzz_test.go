package importer

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"io"
	"reflect"
	"testing"
)

// fuzzSeeds returns the seed inputs shared by the fuzz targets.
func fuzzSeeds() []string {
	return []string{
		"",
		"\n",
		`[{"a":1},{"b":[1,2,{"c":"]"}]}, 3, ,]`,
		"[\n{\"objectID\": 5},\n{\"x\": \"\\\"\"}\n]\n",
		"{\"a\":1}\n\n{\"a\":\n{\"objectID\":null}\r\n[]\n",
		"id,name,tags[]\n1,\"a,b\",x|y\n2,\"multi\nline\"\n3,bad\"quote,z\n",
		"\ufeffa,b\r\n1,2\r\n\"unterminated,3\n",
		"x\n007,true,1e999\n",
		"[\"unterminated",
		"{}\n{\"objectID\":\"\"}\n",
	}
}

// FuzzRead checks that Read never panics, in any format, and that every
// line number it reports is within the input.
func FuzzRead(f *testing.F) {
	for _, s := range fuzzSeeds() {
		for format := range 4 {
			f.Add([]byte(s), uint8(format))
		}
	}
	f.Fuzz(func(t *testing.T, data []byte, format uint8) {
		maxLine := bytes.Count(data, []byte("\n")) + 1
		var recs []Record
		stats, err := Read(bytes.NewReader(data), Format(format%4), func(r Record) error {
			recs = append(recs, r)
			return nil
		})
		_ = err // a fatal error is allowed; a panic is not
		if stats.Records != len(recs) {
			t.Fatalf("Stats.Records = %d, %d records seen", stats.Records, len(recs))
		}
		if stats.Lines < 0 || stats.Lines > maxLine {
			t.Fatalf("Stats.Lines = %d, input has at most %d", stats.Lines, maxLine)
		}
		if stats.RejectedCount < len(stats.Rejected) || len(stats.Rejected) > MaxRejections {
			t.Fatalf("rejections: %d kept, %d counted", len(stats.Rejected), stats.RejectedCount)
		}
		prev := 0
		for _, r := range recs {
			if r.Line < 1 || r.Line > maxLine || r.Line < prev {
				t.Fatalf("record line %d out of range 1..%d or out of order (previous %d)", r.Line, maxLine, prev)
			}
			prev = r.Line
			if r.Object == nil {
				t.Fatalf("line %d: nil object", r.Line)
			}
			if id, ok := r.Object["objectID"]; ok {
				if s, ok := id.(string); !ok || s == "" {
					t.Fatalf("line %d: objectID %#v", r.Line, id)
				}
			}
		}
		for _, r := range stats.Rejected {
			if r.Line < 1 || r.Line > maxLine || r.Reason == "" {
				t.Fatalf("rejection %+v out of range 1..%d", r, maxLine)
			}
		}
	})
}

// FuzzCSVRecords checks the CSV scanner against encoding/csv: whenever
// encoding/csv reads the whole input without error, the scanner must find
// the same records, with no problem reported.
func FuzzCSVRecords(f *testing.F) {
	for _, s := range fuzzSeeds() {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) > 4096 {
			return
		}
		cr := csv.NewReader(bytes.NewReader(data))
		cr.FieldsPerRecord = -1
		want, err := cr.ReadAll()
		if err != nil {
			return
		}
		s := &scanner{br: bufio.NewReader(bytes.NewReader(data)), line: 1}
		var got [][]string
		for {
			rec, err := s.readCSVRecord()
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
			if rec.problem != "" {
				t.Fatalf("problem %q in input encoding/csv accepts: %q", rec.problem, data)
			}
			got = append(got, rec.fields)
		}
		if !reflect.DeepEqual(dropEmpty(got), dropEmpty(want)) {
			t.Fatalf("input %q:\n got %q\nwant %q", data, got, want)
		}
	})
}

// dropEmpty removes records made of one empty field: encoding/csv skips
// empty lines, the scanner returns them (and readCSV skips them).
func dropEmpty(recs [][]string) [][]string {
	out := [][]string{}
	for _, r := range recs {
		if len(r) == 1 && r[0] == "" {
			continue
		}
		out = append(out, r)
	}
	return out
}
