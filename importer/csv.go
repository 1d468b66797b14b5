package importer

import (
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// csvColumn is one header cell.
type csvColumn struct {
	name string // attribute name
	list bool   // header was "name[]"
}

// csvRecord is one CSV record as read.
type csvRecord struct {
	line     int
	fields   []string
	oversize bool
	problem  string // first syntax problem, if any
}

// readCSV reads a header row and then one object per row.
func (s *scanner) readCSV() error {
	var cols []csvColumn
	for {
		rec, err := s.readCSVRecord()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return fmt.Errorf("importer: read: %w", err)
		}
		if !rec.oversize && rec.problem == "" && allBlank(rec.fields) {
			continue // blank line, or a row of empty cells
		}
		if cols == nil {
			if cols, err = csvHeader(rec); err != nil {
				return err
			}
			continue
		}
		switch {
		case rec.oversize:
			s.reject(rec.line, "record larger than %d bytes", MaxRecordBytes)
		case rec.problem != "":
			s.reject(rec.line, "invalid CSV: %s", rec.problem)
		case len(rec.fields) != len(cols):
			s.reject(rec.line, "row has %d cells, the header has %d", len(rec.fields), len(cols))
		default:
			obj := make(map[string]any, len(cols))
			for i, col := range cols {
				if v, ok := csvValue(col, rec.fields[i]); ok {
					obj[col.name] = v
				}
			}
			if err := s.emit(rec.line, obj); err != nil {
				return err
			}
		}
	}
}

// csvHeader turns the first row into columns.
func csvHeader(rec csvRecord) ([]csvColumn, error) {
	switch {
	case rec.oversize:
		return nil, fmt.Errorf("importer: line %d: CSV header larger than %d bytes", rec.line, MaxRecordBytes)
	case rec.problem != "":
		return nil, fmt.Errorf("importer: line %d: invalid CSV header: %s", rec.line, rec.problem)
	}
	cols := make([]csvColumn, len(rec.fields))
	seen := make(map[string]bool, len(rec.fields))
	for i, f := range rec.fields {
		name := strings.TrimSpace(f)
		list := false
		if base, ok := strings.CutSuffix(name, "[]"); ok {
			name, list = strings.TrimSpace(base), true
		}
		if name == "" {
			return nil, fmt.Errorf("importer: line %d: CSV header: column %d has no name", rec.line, i+1)
		}
		if seen[name] {
			return nil, fmt.Errorf("importer: line %d: CSV header: column %q appears twice", rec.line, name)
		}
		seen[name] = true
		cols[i] = csvColumn{name: name, list: list}
	}
	return cols, nil
}

// csvValue types one cell; ok is false when the attribute is omitted.
func csvValue(col csvColumn, cell string) (any, bool) {
	if cell == "" {
		return nil, false
	}
	if col.name == "objectID" && !col.list {
		return cell, true
	}
	if !col.list {
		return inferCell(cell), true
	}
	var items []any
	for item := range strings.SplitSeq(cell, "|") {
		if item = strings.TrimSpace(item); item != "" {
			items = append(items, inferCell(item))
		}
	}
	if len(items) == 0 {
		return nil, false
	}
	return items, true
}

// inferCell turns "true"/"false" into a bool, a JSON number into a
// json.Number (unless float64 would lose an integer's digits), and leaves
// anything else a string.
func inferCell(cell string) any {
	switch cell {
	case "true":
		return true
	case "false":
		return false
	}
	if isJSONNumber(cell) {
		if !strings.ContainsAny(cell, ".eE") {
			n, err := strconv.ParseInt(cell, 10, 64)
			if err != nil || n > 1<<53 || n < -(1<<53) {
				return cell
			}
			return json.Number(cell)
		}
		if _, err := strconv.ParseFloat(cell, 64); err != nil {
			return cell // out of range
		}
		return json.Number(cell)
	}
	return cell
}

// isJSONNumber reports whether s matches JSON's number grammar exactly.
func isJSONNumber(s string) bool {
	i := 0
	if i < len(s) && s[i] == '-' {
		i++
	}
	digits := func() int {
		n := 0
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
			n++
		}
		return n
	}
	switch {
	case i < len(s) && s[i] == '0':
		i++
	case digits() == 0:
		return false
	}
	if i < len(s) && s[i] == '.' {
		i++
		if digits() == 0 {
			return false
		}
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		i++
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			i++
		}
		if digits() == 0 {
			return false
		}
	}
	return i == len(s)
}

func allBlank(fields []string) bool {
	for _, f := range fields {
		if strings.TrimSpace(f) != "" {
			return false
		}
	}
	return true
}

// CSV scanner states.
const (
	csvFieldStart = iota
	csvUnquoted
	csvQuoted
	csvQuoteInQuoted // a '"' inside a quoted field: end, or first half of ""
)

// readCSVRecord reads one RFC 4180 record. It returns io.EOF when the input
// has no more bytes. A CRLF is read as LF everywhere, and a CR at the very
// end of the input is dropped, as encoding/csv does.
func (s *scanner) readCSVRecord() (csvRecord, error) {
	rec := csvRecord{line: s.line}
	s.buf = s.buf[:0]
	var ends []int
	state := csvFieldStart
	problem := func(p string) {
		if rec.problem == "" {
			rec.problem = p
		}
	}
	appendByte := func(c byte) {
		if len(s.buf) < MaxRecordBytes {
			s.buf = append(s.buf, c)
		} else {
			rec.oversize = true
		}
	}
	finish := func() csvRecord {
		ends = append(ends, len(s.buf))
		rec.fields = make([]string, len(ends))
		start := 0
		for i, end := range ends {
			rec.fields[i] = string(s.buf[start:end])
			start = end
		}
		return rec
	}
	for n := 0; ; n++ {
		c, err := s.readByte()
		if err == io.EOF {
			if n == 0 {
				return rec, io.EOF
			}
			if state == csvQuoted {
				problem(fmt.Sprintf("quoted field not closed before the end of input (opened on line %d or later)", rec.line))
			}
			return finish(), nil
		}
		if err != nil {
			return rec, err
		}
		if c == '\r' {
			next, err := s.readByte()
			switch {
			case err == io.EOF:
				c = '\n'
			case err != nil:
				return rec, err
			case next == '\n':
				c = '\n'
			default:
				s.unreadByte(next)
			}
		}
		switch state {
		case csvFieldStart:
			switch c {
			case '"':
				state = csvQuoted
			case ',':
				ends = append(ends, len(s.buf))
			case '\n':
				return finish(), nil
			default:
				appendByte(c)
				state = csvUnquoted
			}
		case csvUnquoted:
			switch c {
			case ',':
				ends = append(ends, len(s.buf))
				state = csvFieldStart
			case '\n':
				return finish(), nil
			case '"':
				problem(fmt.Sprintf("bare %q in a field that does not start with a quote (line %d)", '"', s.line))
				appendByte(c)
			default:
				appendByte(c)
			}
		case csvQuoted:
			if c == '"' {
				state = csvQuoteInQuoted
			} else {
				appendByte(c)
			}
		case csvQuoteInQuoted:
			switch c {
			case '"':
				appendByte(c)
				state = csvQuoted
			case ',':
				ends = append(ends, len(s.buf))
				state = csvFieldStart
			case '\n':
				return finish(), nil
			default:
				problem(fmt.Sprintf("extraneous %q in a quoted field (line %d)", '"', s.line))
				appendByte(c)
				state = csvUnquoted
			}
		}
	}
}
