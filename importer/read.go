// Package importer reads records from JSON, NDJSON and CSV files and sends
// them in batches to a keyhole (or Algolia-compatible) server. It holds the
// logic behind `keyhole import --index NAME FILE`.
//
// A typical import:
//
//	sink := &importer.HTTPSink{BaseURL: url, Index: name, APIKey: key}
//	progress := importer.NewProgress(os.Stderr, isTerminal, 0)
//	b := &importer.Batcher{Sink: sink, OnSent: progress.AddSent}
//	rd := importer.Reader{Format: importer.FormatFromPath(path), OnReject: func(importer.Rejection) { progress.AddRejected(1) }}
//	stats, err := rd.Read(f, func(r importer.Record) error { return b.Add(ctx, r) })
//	if err == nil {
//		err = b.Flush(ctx)
//	}
//	progress.Finish()
//
// Records that cannot be read (malformed, not an object, too large) are
// rejected, not fatal: they are reported in [Stats] with their line number and
// reading goes on.
package importer

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strings"
)

// MaxRecordBytes is the largest record the reader accepts, in bytes of
// input. A larger record is rejected without being held in memory.
const MaxRecordBytes = 1 << 20

// MaxRejections is how many rejections Stats.Rejected keeps; further ones are
// only counted in Stats.RejectedCount.
const MaxRejections = 1000

// Format is an input file format.
type Format int

const (
	// FormatAuto sniffs the format from the first non-space byte: '[' is
	// FormatJSON, '{' is FormatNDJSON, anything else FormatCSV.
	FormatAuto Format = iota
	// FormatJSON is a JSON array of objects, read as a stream.
	FormatJSON
	// FormatNDJSON is one JSON object per line; blank lines are skipped.
	FormatNDJSON
	// FormatCSV is comma-separated values (RFC 4180) with a header row;
	// see Reader for how cells become attributes.
	FormatCSV
)

// String returns the format's name as ParseFormat accepts it.
func (f Format) String() string {
	switch f {
	case FormatAuto:
		return "auto"
	case FormatJSON:
		return "json"
	case FormatNDJSON:
		return "ndjson"
	case FormatCSV:
		return "csv"
	}
	return fmt.Sprintf("Format(%d)", int(f))
}

// ParseFormat parses a format name: auto, json, ndjson (or jsonl), csv.
func ParseFormat(s string) (Format, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "", "auto":
		return FormatAuto, nil
	case "json":
		return FormatJSON, nil
	case "ndjson", "jsonl":
		return FormatNDJSON, nil
	case "csv":
		return FormatCSV, nil
	}
	return FormatAuto, fmt.Errorf("importer: unknown format %q (want auto, json, ndjson or csv)", s)
}

// FormatFromPath returns the format implied by a file name's extension:
// .json, .ndjson or .jsonl, .csv (in any case). Anything else is FormatAuto.
func FormatFromPath(path string) Format {
	switch strings.ToLower(filepath.Ext(path)) {
	case ".json":
		return FormatJSON
	case ".ndjson", ".jsonl":
		return FormatNDJSON
	case ".csv":
		return FormatCSV
	}
	return FormatAuto
}

// Record is one object read from the input.
type Record struct {
	// Line is the 1-based line of the input where the record starts.
	Line int
	// Object is the record. Numbers are json.Number; an "objectID" is
	// always a non-empty string (a numeric objectID is turned into its text).
	Object map[string]any
}

// Rejection is a record that could not be read.
type Rejection struct {
	// Line is the 1-based line where the record starts.
	Line int
	// Reason says what was wrong.
	Reason string
}

// Stats summarizes a Read.
type Stats struct {
	// Records is how many records were handed to the callback.
	Records int
	// Rejected holds the first MaxRejections rejections, in input order.
	Rejected []Rejection
	// RejectedCount is the total number of rejections.
	RejectedCount int
	// Lines is how many lines were read.
	Lines int
}

// Reader reads records in one format.
//
// For every format a record is rejected (reported in Stats and to OnReject,
// not fatal) when it is larger than MaxRecordBytes, is not a JSON object or
// is not valid JSON, or has an "objectID" that is not a non-empty string or a
// number.
//
// JSON arrays are read as a stream, element by element, so a file of any size
// is read in bounded memory. Elements are delimited by scanning brackets and
// strings, so a syntax error inside an element rejects only that element; but
// an error that unbalances brackets or quotes (an unterminated string, a
// missing closing brace) makes the rest of the array unreadable and ends the
// Read with an error, as does text after the array.
//
// NDJSON is read line by line; a bad line is rejected and reading goes on
// with the next.
//
// CSV follows RFC 4180 (quoted fields may hold commas, quotes doubled, and
// line breaks; CRLF or LF). The first row names the attributes; names are
// trimmed and must be unique and non-empty, else Read fails. Each later row
// becomes one object: an empty cell is omitted; "true" and "false" become
// booleans; a cell that is a JSON number becomes a json.Number, except an
// integer beyond ±2^53 (which a float64 cannot hold exactly, such as a card
// or phone number) or a number with leading zeros such as 007, both kept as
// text; any other cell is a string, untrimmed. The objectID column is always
// text. A header ending in "[]", such as "tags[]", makes a list attribute
// ("tags"): its cell is split on '|', items are trimmed, empty items dropped,
// and each item typed like a cell. Blank lines and rows whose cells are all
// empty are skipped. A row with a different number of cells than the header,
// or with a misplaced quote, is rejected.
type Reader struct {
	// Format is the input format; FormatAuto sniffs it.
	Format Format
	// OnReject, if not nil, is called for each rejection as it happens (for
	// example to update a progress display).
	OnReject func(Rejection)
}

// Read reads records from r in the given format and calls fn for each; see
// Reader.
func Read(r io.Reader, format Format, fn func(Record) error) (Stats, error) {
	return Reader{Format: format}.Read(r, fn)
}

// Read reads records from r and calls fn for each, in input order. It stops
// at the first error from fn and returns it unchanged, or at a fatal read
// error. The Stats are valid in every case.
func (rd Reader) Read(r io.Reader, fn func(Record) error) (Stats, error) {
	s := &scanner{br: bufio.NewReaderSize(r, 64<<10), line: 1, rd: rd, fn: fn}
	err := s.run()
	switch {
	case !s.sawByte:
		s.stats.Lines = 0
	case s.lastByteNL:
		s.stats.Lines = s.line - 1
	default:
		s.stats.Lines = s.line
	}
	return s.stats, err
}

// scanner is the shared state of one Read.
type scanner struct {
	br         *bufio.Reader
	line       int  // line of the next byte
	lastByteNL bool // the last byte read was '\n'
	sawByte    bool // at least one byte was read
	rd         Reader
	fn         func(Record) error
	stats      Stats
	buf        []byte // scratch for the current record
}

// errStop wraps an error from fn so that it is returned unchanged.
type errStop struct{ err error }

func (e errStop) Error() string { return e.err.Error() }

func (s *scanner) run() error {
	if err := s.skipBOM(); err != nil {
		return err
	}
	format := s.rd.Format
	if format == FormatAuto {
		var err error
		if format, err = s.sniff(); err != nil {
			return err
		}
	}
	var err error
	switch format {
	case FormatJSON:
		err = s.readJSONArray()
	case FormatNDJSON:
		err = s.readNDJSON()
	case FormatCSV:
		err = s.readCSV()
	default:
		return fmt.Errorf("importer: unknown format %v", format)
	}
	var stop errStop
	if errors.As(err, &stop) {
		return stop.err
	}
	return err
}

// readByte reads one byte, keeping the line count.
func (s *scanner) readByte() (byte, error) {
	c, err := s.br.ReadByte()
	if err != nil {
		return 0, err
	}
	s.sawByte = true
	s.lastByteNL = c == '\n'
	if c == '\n' {
		s.line++
	}
	return c, nil
}

// unreadByte puts back the last byte read by readByte.
func (s *scanner) unreadByte(c byte) {
	_ = s.br.UnreadByte()
	if c == '\n' {
		s.line--
	}
}

// skipBOM drops a UTF-8 byte order mark.
func (s *scanner) skipBOM() error {
	b, err := s.br.Peek(3)
	if err != nil && err != io.EOF && !errors.Is(err, bufio.ErrBufferFull) {
		return fmt.Errorf("importer: read: %w", err)
	}
	if bytes.Equal(b, []byte{0xEF, 0xBB, 0xBF}) {
		_, _ = s.br.Discard(3)
		s.sawByte = true
	}
	return nil
}

// sniff picks a format from the first non-space byte, without consuming it.
func (s *scanner) sniff() (Format, error) {
	for n := 1; ; n++ {
		b, err := s.br.Peek(n)
		if len(b) < n {
			if err != nil && err != io.EOF && !errors.Is(err, bufio.ErrBufferFull) {
				return 0, fmt.Errorf("importer: read: %w", err)
			}
			// Only white space (or nothing, or more white space than the
			// buffer holds): CSV skips blank lines.
			return FormatCSV, nil
		}
		switch b[n-1] {
		case ' ', '\t', '\r', '\n':
			continue
		case '[':
			return FormatJSON, nil
		case '{':
			return FormatNDJSON, nil
		}
		return FormatCSV, nil
	}
}

// reject records a rejection.
func (s *scanner) reject(line int, format string, args ...any) {
	rej := Rejection{Line: line, Reason: fmt.Sprintf(format, args...)}
	s.stats.RejectedCount++
	if len(s.stats.Rejected) < MaxRejections {
		s.stats.Rejected = append(s.stats.Rejected, rej)
	}
	if s.rd.OnReject != nil {
		s.rd.OnReject(rej)
	}
}

// emit hands a record to fn.
func (s *scanner) emit(line int, obj map[string]any) error {
	if reason := normalizeObjectID(obj); reason != "" {
		s.reject(line, "%s", reason)
		return nil
	}
	s.stats.Records++
	if err := s.fn(Record{Line: line, Object: obj}); err != nil {
		return errStop{err}
	}
	return nil
}

// emitJSON parses raw as one JSON object and emits or rejects it.
func (s *scanner) emitJSON(line int, raw []byte) error {
	obj, reason := parseObject(raw)
	if reason != "" {
		s.reject(line, "%s", reason)
		return nil
	}
	return s.emit(line, obj)
}

// parseObject parses one JSON object, numbers as json.Number. It returns
// a reason when raw is not exactly one object.
func parseObject(raw []byte) (map[string]any, string) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 {
		return nil, "empty record"
	}
	if raw[0] != '{' {
		if !json.Valid(raw) {
			var v any
			err := json.Unmarshal(raw, &v)
			if err == nil {
				err = errors.New("not a single JSON value")
			}
			return nil, "invalid JSON: " + strings.TrimPrefix(err.Error(), "json: ")
		}
		kind := "a number"
		switch raw[0] {
		case '[':
			kind = "an array"
		case '"':
			kind = "a string"
		case 't', 'f':
			kind = "a boolean"
		case 'n':
			kind = "null"
		}
		return nil, "not a JSON object (found " + kind + ")"
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var obj map[string]any
	if err := dec.Decode(&obj); err != nil {
		return nil, "invalid JSON: " + strings.TrimPrefix(err.Error(), "json: ")
	}
	if rest := bytes.TrimSpace(raw[dec.InputOffset():]); len(rest) > 0 {
		return nil, "invalid JSON: unexpected data after the object"
	}
	if obj == nil { // cannot happen after '{', but keep Object non-nil
		obj = map[string]any{}
	}
	return obj, ""
}

// normalizeObjectID checks the objectID attribute and turns a number into
// its text. It returns a reason when the objectID is unusable.
func normalizeObjectID(obj map[string]any) string {
	v, ok := obj["objectID"]
	if !ok {
		return ""
	}
	switch id := v.(type) {
	case string:
		if id == "" {
			return "objectID is empty"
		}
		return ""
	case json.Number:
		obj["objectID"] = id.String()
		return ""
	}
	return fmt.Sprintf("objectID must be a string or a number, not %s", typeName(v))
}

func typeName(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case bool:
		return "a boolean"
	case map[string]any:
		return "an object"
	case []any:
		return "an array"
	}
	return fmt.Sprintf("%T", v)
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\r' || c == '\n' }

// skipSpace skips JSON white space.
func (s *scanner) skipSpace() error {
	for {
		c, err := s.readByte()
		if err != nil {
			return err
		}
		if !isSpace(c) {
			s.unreadByte(c)
			return nil
		}
	}
}

// readNDJSON reads one object per line.
func (s *scanner) readNDJSON() error {
	for {
		line := s.line
		raw, oversize, err := s.readLine()
		if err != nil && err != io.EOF {
			return fmt.Errorf("importer: read: %w", err)
		}
		switch {
		case oversize:
			s.reject(line, "record larger than %d bytes", MaxRecordBytes)
		case len(bytes.TrimSpace(raw)) == 0:
			// blank line
		default:
			if err := s.emitJSON(line, raw); err != nil {
				return err
			}
		}
		if err == io.EOF {
			return nil
		}
	}
}

// readLine reads up to and including '\n' (or EOF), keeping at most
// MaxRecordBytes bytes in s.buf; it returns io.EOF with the last line.
func (s *scanner) readLine() (line []byte, oversize bool, err error) {
	s.buf = s.buf[:0]
	for {
		chunk, err := s.br.ReadSlice('\n')
		if len(chunk) > 0 {
			s.sawByte = true
			s.lastByteNL = chunk[len(chunk)-1] == '\n'
			if s.lastByteNL {
				s.line++
			}
			if len(s.buf)+len(chunk) > MaxRecordBytes+2 { // room for "\r\n"
				oversize = true
			} else if !oversize {
				s.buf = append(s.buf, chunk...)
			}
		}
		switch {
		case err == nil:
			return s.buf, oversize, nil
		case errors.Is(err, bufio.ErrBufferFull):
			continue
		default:
			return s.buf, oversize, err
		}
	}
}

// readJSONArray reads a JSON array element by element.
func (s *scanner) readJSONArray() error {
	if err := s.skipSpace(); err != nil {
		if err == io.EOF {
			return nil // empty input
		}
		return fmt.Errorf("importer: read: %w", err)
	}
	line := s.line
	c, err := s.readByte()
	if err != nil {
		return fmt.Errorf("importer: read: %w", err)
	}
	if c != '[' {
		return fmt.Errorf("importer: line %d: expected '[' at the start of a JSON array, found %q", line, rune(c))
	}
	arrayLine := line
	for first := true; ; first = false {
		if err := s.skipSpace(); err != nil {
			if err == io.EOF {
				return fmt.Errorf("importer: line %d: unexpected end of input in the JSON array that starts at line %d", s.line, arrayLine)
			}
			return fmt.Errorf("importer: read: %w", err)
		}
		start := s.line
		raw, oversize, term, err := s.scanElement()
		if err != nil {
			if err == io.EOF {
				return fmt.Errorf("importer: line %d: unexpected end of input in the JSON array element that starts at line %d "+
					"(unbalanced brackets or an unterminated string?)", s.line, start)
			}
			return fmt.Errorf("importer: read: %w", err)
		}
		switch {
		case oversize:
			s.reject(start, "record larger than %d bytes", MaxRecordBytes)
		case len(bytes.TrimSpace(raw)) == 0:
			if !(first && term == ']') {
				s.reject(start, "missing array element (extra comma?)")
			}
		default:
			if err := s.emitJSON(start, raw); err != nil {
				return err
			}
		}
		if term == ']' {
			break
		}
	}
	if err := s.skipSpace(); err != io.EOF {
		if err != nil {
			return fmt.Errorf("importer: read: %w", err)
		}
		return fmt.Errorf("importer: line %d: unexpected data after the JSON array", s.line)
	}
	return nil
}

// scanElement reads one array element up to the ',' or ']' that ends it at
// depth 0, outside strings. It keeps at most MaxRecordBytes bytes; term is the
// terminating byte.
func (s *scanner) scanElement() (raw []byte, oversize bool, term byte, err error) {
	s.buf = s.buf[:0]
	depth := 0
	inString, escaped := false, false
	for {
		c, err := s.readByte()
		if err != nil {
			return nil, false, 0, err
		}
		switch {
		case inString:
			switch {
			case escaped:
				escaped = false
			case c == '\\':
				escaped = true
			case c == '"':
				inString = false
			}
		case c == '"':
			inString = true
		case c == '{' || c == '[':
			depth++
		case c == '}' || c == ']':
			if depth == 0 && c == ']' {
				return s.buf, oversize, c, nil
			}
			if depth > 0 {
				depth--
			}
		case c == ',' && depth == 0:
			return s.buf, oversize, c, nil
		}
		if len(s.buf) < MaxRecordBytes {
			s.buf = append(s.buf, c)
		} else if !isSpace(c) {
			oversize = true
		}
	}
}
