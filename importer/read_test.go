package importer

import (
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
)

// readAll reads input and collects the records.
func readAll(tb testing.TB, input string, format Format) ([]Record, Stats, error) {
	tb.Helper()
	var recs []Record
	stats, err := Read(strings.NewReader(input), format, func(r Record) error {
		recs = append(recs, r)
		return nil
	})
	return recs, stats, err
}

// mustReadAll is readAll that fails the test on error.
func mustReadAll(tb testing.TB, input string, format Format) ([]Record, Stats) {
	tb.Helper()
	recs, stats, err := readAll(tb, input, format)
	if err != nil {
		tb.Fatalf("Read: %v", err)
	}
	return recs, stats
}

func lines(recs []Record) []int {
	out := []int{}
	for _, r := range recs {
		out = append(out, r.Line)
	}
	return out
}

func rejectedLines(s Stats) []int {
	out := []int{}
	for _, r := range s.Rejected {
		out = append(out, r.Line)
	}
	return out
}

func wantLines(t *testing.T, what string, got, want []int) {
	t.Helper()
	if !reflect.DeepEqual(got, want) {
		t.Errorf("%s lines = %v, want %v", what, got, want)
	}
}

func TestNDJSON(t *testing.T) {
	input := `{"objectID":"a","n":1.5,"big":12345678901234567890}
{"objectID":2}

  {"title":"no id"}  
not json
[1,2]
{"a":1} {"b":2}
{"objectID":null}
{"objectID":""}
{"unterminated":
{"last":true}`
	recs, stats := mustReadAll(t, input, FormatNDJSON)
	wantLines(t, "record", lines(recs), []int{1, 2, 4, 11})
	wantLines(t, "rejected", rejectedLines(stats), []int{5, 6, 7, 8, 9, 10})
	if stats.Records != 4 || stats.RejectedCount != 6 || stats.Lines != 11 {
		t.Errorf("stats = %+v", stats)
	}
	if got := recs[0].Object["n"]; got != json.Number("1.5") {
		t.Errorf("n = %#v, want json.Number", got)
	}
	if got := recs[0].Object["big"]; got != json.Number("12345678901234567890") {
		t.Errorf("big = %#v, want the exact json.Number", got)
	}
	if got := recs[1].Object["objectID"]; got != "2" {
		t.Errorf("numeric objectID = %#v, want \"2\"", got)
	}
	reasons := map[int]string{5: "invalid JSON: invalid character", 6: "not a JSON object (found an array)", 7: "after the object",
		8: "objectID must be a string or a number, not null", 9: "objectID is empty", 10: "invalid JSON"}
	for _, r := range stats.Rejected {
		if !strings.Contains(r.Reason, reasons[r.Line]) {
			t.Errorf("line %d: reason %q, want it to contain %q", r.Line, r.Reason, reasons[r.Line])
		}
	}
}

func TestNDJSONCRLFAndTrailingNewline(t *testing.T) {
	recs, stats := mustReadAll(t, "{\"a\":1}\r\n\r\n{\"a\":2}\r\n", FormatNDJSON)
	wantLines(t, "record", lines(recs), []int{1, 3})
	if stats.Lines != 3 || stats.RejectedCount != 0 {
		t.Errorf("stats = %+v", stats)
	}
}

func TestJSONArray(t *testing.T) {
	input := `[
  {"objectID": "a", "tags": ["x", "y"], "nested": {"s": "a ] tricky, \" string"}},
  42,
  {"b": tru},
  {"c": 1}, "str",
  {
    "multi": "line"
  },
  ,
  {"objectID": {"no": 1}}
]
`
	recs, stats := mustReadAll(t, input, FormatJSON)
	wantLines(t, "record", lines(recs), []int{2, 5, 6})
	wantLines(t, "rejected", rejectedLines(stats), []int{3, 4, 5, 9, 10})
	if stats.Lines != 11 {
		t.Errorf("lines = %d", stats.Lines)
	}
	if got := recs[0].Object["nested"].(map[string]any)["s"]; got != `a ] tricky, " string` {
		t.Errorf("nested string = %q", got)
	}
	if !strings.Contains(stats.Rejected[0].Reason, "found a number") {
		t.Errorf("reason %q", stats.Rejected[0].Reason)
	}
}

func TestJSONArrayEdgeCases(t *testing.T) {
	tests := []struct {
		name    string
		input   string
		records int
		rejects int
		wantErr string
	}{
		{name: "empty input", input: ""},
		{name: "white space", input: " \n "},
		{name: "empty array", input: "[]"},
		{name: "empty array spaced", input: "[ \n ]\n"},
		{name: "trailing comma", input: `[{"a":1},]`, records: 1, rejects: 1},
		{name: "leading comma", input: `[,{"a":1}]`, records: 1, rejects: 1},
		{name: "not an array", input: `{"a":1}`, wantErr: "expected '['"},
		{name: "unterminated", input: `[{"a":1}, {"b": "oops}]`, records: 1, wantErr: "element that starts at line 1"},
		{name: "missing bracket", input: `[{"a":1}`, wantErr: "unexpected end of input"},
		{name: "data after", input: `[{"a":1}] x`, records: 1, wantErr: "after the JSON array"},
		{name: "bom", input: "\ufeff[{\"a\":1}]", records: 1},
		{name: "mismatched brace rejected", input: `[{"a":1}}, {"b":2}]`, records: 1, rejects: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			recs, stats, err := readAll(t, tt.input, FormatJSON)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
			} else if err != nil {
				t.Fatal(err)
			}
			if len(recs) != tt.records || stats.RejectedCount != tt.rejects {
				t.Errorf("records %d rejects %d (%+v), want %d %d", len(recs), stats.RejectedCount, stats.Rejected, tt.records, tt.rejects)
			}
		})
	}
}

func TestCSV(t *testing.T) {
	input := "objectID, title ,price,stock,active,zip,tags[],note\r\n" +
		"1,Hello,9.99,3,true,02134,a|b| |3,\r\n" +
		"\r\n" +
		"2,\"Quoted, with comma\",,-4,false,90210,,\"multi\nline \"\"note\"\"\"\r\n" +
		"3,short\r\n" +
		"4,Bad \"quote,1,1,true,1,x,y\r\n" +
		",,,,,,,\r\n" +
		"007,big,1e3,12345678901234567890,TRUE,1.50,one,\r\n"
	recs, stats := mustReadAll(t, input, FormatCSV)
	wantLines(t, "record", lines(recs), []int{2, 4, 9})
	wantLines(t, "rejected", rejectedLines(stats), []int{6, 7})

	want := []map[string]any{
		{"objectID": "1", "title": "Hello", "price": json.Number("9.99"), "stock": json.Number("3"),
			"active": true, "zip": "02134", "tags": []any{"a", "b", json.Number("3")}},
		{"objectID": "2", "title": "Quoted, with comma", "stock": json.Number("-4"), "active": false,
			"zip": json.Number("90210"), "note": "multi\nline \"note\""},
		{"objectID": "007", "title": "big", "price": json.Number("1e3"), "stock": "12345678901234567890",
			"active": "TRUE", "zip": json.Number("1.50"), "tags": []any{"one"}},
	}
	for i := range want {
		if !reflect.DeepEqual(recs[i].Object, want[i]) {
			t.Errorf("record %d:\n got %#v\nwant %#v", i, recs[i].Object, want[i])
		}
	}
	if !strings.Contains(stats.Rejected[0].Reason, "2 cells, the header has 8") {
		t.Errorf("reason %q", stats.Rejected[0].Reason)
	}
	if !strings.Contains(stats.Rejected[1].Reason, "bare") {
		t.Errorf("reason %q", stats.Rejected[1].Reason)
	}
}

func TestCSVInference(t *testing.T) {
	tests := map[string]any{
		"0": json.Number("0"), "-0": json.Number("-0"), "42": json.Number("42"), "-1.25e-3": json.Number("-1.25e-3"),
		"9007199254740992": json.Number("9007199254740992"), "9007199254740993": "9007199254740993",
		"007": "007", "+1": "+1", "1.": "1.", ".5": ".5", "1e": "1e", "0x10": "0x10", "NaN": "NaN", "Inf": "Inf",
		"1e999": "1e999", " 1": " 1", "1,000": "1,000", "true": true, "false": false, "True": "True",
		"yes": "yes", "": nil,
	}
	for in, want := range tests {
		got, ok := csvValue(csvColumn{name: "v"}, in)
		if !ok {
			got = nil
		}
		if got != want {
			t.Errorf("%q -> %#v, want %#v", in, got, want)
		}
	}
}

func TestCSVHeaderErrors(t *testing.T) {
	for input, want := range map[string]string{
		"a,,b\n1,2,3\n":        "column 2 has no name",
		"a,b,a\n":              `"a" appears twice`,
		"a,a[]\n":              `"a" appears twice`,
		"a,\"b\n":              "quoted field not closed",
		"x,[]\n":               "column 2 has no name",
		"\n\n \n,,\n a , b \n": "",
	} {
		_, _, err := readAll(t, input, FormatCSV)
		if want == "" {
			if err != nil {
				t.Errorf("%q: %v", input, err)
			}
			continue
		}
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: err = %v, want %q", input, err, want)
		}
	}
}

func TestCSVUnterminatedQuoteRejectsLastRecord(t *testing.T) {
	recs, stats := mustReadAll(t, "a,b\n1,2\n3,\"4\n5,6\n", FormatCSV)
	wantLines(t, "record", lines(recs), []int{2})
	wantLines(t, "rejected", rejectedLines(stats), []int{3})
}

func TestAutoDetect(t *testing.T) {
	tests := []struct {
		input string
		want  Format
	}{
		{"\n\t [{\"a\":1}]", FormatJSON},
		{"  {\"a\":1}\n{\"a\":2}", FormatNDJSON},
		{"a,b\n1,2\n", FormatCSV},
		{"\ufeff{\"a\":1}", FormatNDJSON},
		{"", FormatCSV},
	}
	for _, tt := range tests {
		// Compare with reading in the expected format.
		gotRecs, gotStats, gotErr := readAll(t, tt.input, FormatAuto)
		wantRecs, wantStats, wantErr := readAll(t, tt.input, tt.want)
		if !reflect.DeepEqual(gotRecs, wantRecs) || !reflect.DeepEqual(gotStats, wantStats) || (gotErr == nil) != (wantErr == nil) {
			t.Errorf("%q: auto read differs from %v read", tt.input, tt.want)
		}
	}
	recs, _ := mustReadAll(t, "\n\n{\"a\":1}\n", FormatAuto)
	wantLines(t, "auto ndjson", lines(recs), []int{3})
	recs, _ = mustReadAll(t, "x,y\n1,2\n", FormatAuto)
	if len(recs) != 1 || recs[0].Object["x"] != json.Number("1") {
		t.Errorf("auto csv: %+v", recs)
	}
}

func TestFormatFromPath(t *testing.T) {
	for path, want := range map[string]Format{
		"a.json": FormatJSON, "dir.d/B.JSON": FormatJSON, "x.ndjson": FormatNDJSON, "x.jsonl": FormatNDJSON,
		"x.csv": FormatCSV, "x.txt": FormatAuto, "noext": FormatAuto, "-": FormatAuto,
	} {
		if got := FormatFromPath(path); got != want {
			t.Errorf("%s: %v, want %v", path, got, want)
		}
	}
	for _, f := range []Format{FormatAuto, FormatJSON, FormatNDJSON, FormatCSV} {
		got, err := ParseFormat(f.String())
		if err != nil || got != f {
			t.Errorf("ParseFormat(%q) = %v, %v", f.String(), got, err)
		}
	}
	if _, err := ParseFormat("xml"); err == nil {
		t.Error("ParseFormat(xml): no error")
	}
}

func TestOversizeRecords(t *testing.T) {
	big := strings.Repeat("x", MaxRecordBytes)
	ndjson := `{"a":1}` + "\n" + `{"big":"` + big + `"}` + "\n" + `{"a":2}` + "\n"
	recs, stats := mustReadAll(t, ndjson, FormatNDJSON)
	wantLines(t, "ndjson record", lines(recs), []int{1, 3})
	wantLines(t, "ndjson rejected", rejectedLines(stats), []int{2})
	if !strings.Contains(stats.Rejected[0].Reason, "larger than") {
		t.Errorf("reason %q", stats.Rejected[0].Reason)
	}

	array := "[{\"a\":1},\n{\"big\":\"" + big + "\", \"x\": [1,2]},\n{\"a\":2}]"
	recs, stats = mustReadAll(t, array, FormatJSON)
	wantLines(t, "json record", lines(recs), []int{1, 3})
	wantLines(t, "json rejected", rejectedLines(stats), []int{2})

	csv := "a,b\n1,2\n\"" + big + "\",3\n4,5\n"
	recs, stats = mustReadAll(t, csv, FormatCSV)
	wantLines(t, "csv record", lines(recs), []int{2, 4})
	wantLines(t, "csv rejected", rejectedLines(stats), []int{3})

	// Just under the limit is accepted.
	fits := `{"s":"` + strings.Repeat("y", MaxRecordBytes-10) + `"}`
	recs, _ = mustReadAll(t, fits, FormatNDJSON)
	if len(recs) != 1 {
		t.Errorf("record just under the limit rejected")
	}
}

func TestRejectionCap(t *testing.T) {
	var b strings.Builder
	for range MaxRejections + 5 {
		b.WriteString("nope\n")
	}
	b.WriteString(`{"ok":1}`)
	var live int
	rd := Reader{Format: FormatNDJSON, OnReject: func(Rejection) { live++ }}
	stats, err := rd.Read(strings.NewReader(b.String()), func(Record) error { return nil })
	if err != nil {
		t.Fatal(err)
	}
	if len(stats.Rejected) != MaxRejections || stats.RejectedCount != MaxRejections+5 || live != MaxRejections+5 || stats.Records != 1 {
		t.Errorf("kept %d, count %d, live %d, records %d", len(stats.Rejected), stats.RejectedCount, live, stats.Records)
	}
}

func TestCallbackErrorStops(t *testing.T) {
	stop := errors.New("stop")
	for _, f := range []Format{FormatNDJSON, FormatJSON, FormatCSV} {
		input := map[Format]string{
			FormatNDJSON: "{\"a\":1}\n{\"a\":2}\n{\"a\":3}\n",
			FormatJSON:   `[{"a":1},{"a":2},{"a":3}]`,
			FormatCSV:    "a\n1\n2\n3\n",
		}[f]
		n := 0
		stats, err := Read(strings.NewReader(input), f, func(Record) error {
			n++
			if n == 2 {
				return stop
			}
			return nil
		})
		if err != stop || n != 2 || stats.Records != 2 {
			t.Errorf("%v: err %v, calls %d, stats %+v", f, err, n, stats)
		}
	}
}
