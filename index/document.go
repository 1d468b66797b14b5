package index

import (
	"bytes"
	"encoding/json"
	"math"
	"slices"
	"strconv"
	"strings"
	"unicode"

	"github.com/blevesearch/bleve/v2/analysis"
	"github.com/blevesearch/bleve/v2/document"
	bindex "github.com/blevesearch/bleve_index_api"
)

// Names of the fields of a Bleve document built from a record.
const (
	// FieldSource holds the record's JSON (objectID included), stored only, not indexed.
	// Fetch it with SearchRequest.Fields = []string{FieldSource}; it comes back as a string.
	FieldSource = "_source"
	// FieldTags holds each _tags element as one exact term (with doc values).
	FieldTags = "_tags"
	// FieldExists holds one exact term per attribute path present in the record, leaf or
	// intermediate object ("authors" and "authors.main"); null values and empty arrays do
	// not count.
	FieldExists = "_exists"
)

// MaxRecordBytes is the largest record accepted, measured as its stored JSON.
const MaxRecordBytes = 100 << 10

// MaxDepth is the deepest nesting of objects and arrays accepted in a record.
const MaxDepth = 32

// Indexing options of each kind of field.
const (
	textOptions       = bindex.IndexField
	facetOptions      = bindex.IndexField | bindex.DocValues
	facetLowerOptions = bindex.IndexField
	numericOptions    = bindex.IndexField | bindex.DocValues
	tagOptions        = bindex.IndexField | bindex.DocValues
	existsOptions     = bindex.IndexField
	sourceOptions     = bindex.StoreField
)

// TextField names the analyzed text field of a searchable attribute: every string at or
// under the attribute's path.
func TextField(attr string) string { return "t." + attr }

// FacetField names the exact-value field of a faceted attribute: every leaf value at or
// under the path as one term (numbers in shortest decimal text, booleans "true"/"false").
// It has doc values, so term facets read it.
func FacetField(attr string) string { return "f." + attr }

// FacetLowerField names the lowercased copy of FacetField, for case-insensitive facet
// filters with a TermQuery on the lowercased value.
func FacetLowerField(attr string) string { return "fl." + attr }

// NumericField names the numeric field of an attribute path: every number at that path
// (booleans as 1 and 0), for numeric filters, sorting and customRanking. Every numeric leaf
// is indexed, faceted or not.
func NumericField(attr string) string { return "n." + attr }

// FacetValue returns the facet term of a JSON leaf as FacetField indexes it: strings as is,
// numbers in shortest decimal text ("10", "9.99"), booleans "true"/"false". ok is false for
// null and non-leaf values.
func FacetValue(v any) (string, bool) {
	switch v := v.(type) {
	case string:
		return v, true
	case bool:
		return strconv.FormatBool(v), true
	}
	if f, ok := numberValue(v); ok {
		return strconv.FormatFloat(f, 'f', -1, 64), true
	}
	if n, ok := v.(json.Number); ok {
		return n.String(), true
	}
	return "", false
}

// numberValue returns the float value of a JSON number (json.Number or a Go number).
func numberValue(v any) (float64, bool) {
	var f float64
	switch v := v.(type) {
	case json.Number:
		x, err := strconv.ParseFloat(v.String(), 64)
		if err != nil {
			return 0, false
		}
		f = x
	case float64:
		f = v
	case float32:
		f = float64(v)
	case int:
		f = float64(v)
	case int64:
		f = float64(v)
	case int32:
		f = float64(v)
	case uint64:
		f = float64(v)
	default:
		return 0, false
	}
	if math.IsInf(f, 0) || math.IsNaN(f) {
		return 0, false
	}
	return f, true
}

// DecodeRecord decodes one JSON object, keeping numbers as json.Number so they keep their
// digits. The error wraps ErrInvalidObject.
func DecodeRecord(data []byte) (map[string]any, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, errorf(ErrInvalidObject, "record is not valid JSON: %v", err)
	}
	if dec.More() {
		return nil, errorf(ErrInvalidObject, "record has trailing data after the JSON object")
	}
	m, ok := v.(map[string]any)
	if !ok {
		return nil, errorf(ErrInvalidObject, "record must be a JSON object")
	}
	return m, nil
}

// encodeRecord marshals a record without HTML escaping.
func encodeRecord(rec map[string]any) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(rec); err != nil {
		return nil, err
	}
	return bytes.TrimRight(b.Bytes(), "\n"), nil
}

// normalizeRecord returns a deep copy of body in canonical JSON types (map[string]any,
// []any, string, json.Number, bool, nil), whatever Go types the caller used.
func normalizeRecord(body map[string]any) (map[string]any, error) {
	data, err := encodeRecord(body)
	if err != nil {
		return nil, errorf(ErrInvalidObject, "record cannot be encoded as JSON: %v", err)
	}
	return DecodeRecord(data)
}

// objectIDOf reads the objectID of a record: a string, or a number converted to its text.
func objectIDOf(rec map[string]any) (string, bool, error) {
	v, ok := rec["objectID"]
	if !ok || v == nil {
		return "", false, nil
	}
	switch v := v.(type) {
	case string:
		return v, true, nil
	case json.Number:
		return v.String(), true, nil
	}
	if f, ok := numberValue(v); ok {
		return strconv.FormatFloat(f, 'f', -1, 64), true, nil
	}
	return "", false, errorf(ErrInvalidObject, "objectID must be a string or a number")
}

// leaf is one scalar value of a record with its attribute path (arrays add no segment).
type leaf struct {
	path  string
	value any // string, json.Number or bool
}

type flatRecord struct {
	leaves []leaf
	exists []string
}

// flatten walks a record; it rejects bad attribute names and too deep nesting.
func flatten(rec map[string]any) (*flatRecord, error) {
	fr := &flatRecord{}
	if err := walkObject("", rec, 1, fr); err != nil {
		return nil, err
	}
	slices.Sort(fr.exists)
	fr.exists = slices.Compact(fr.exists)
	return fr, nil
}

func walkObject(prefix string, obj map[string]any, depth int, fr *flatRecord) error {
	if depth > MaxDepth {
		return errorf(ErrInvalidObject, "attribute %q: nesting deeper than %d levels", prefix, MaxDepth)
	}
	keys := make([]string, 0, len(obj))
	for k := range obj {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		if k == "" {
			return errorf(ErrInvalidObject, "attribute name under %q must not be empty", prefix)
		}
		if strings.IndexFunc(k, unicode.IsControl) >= 0 {
			return errorf(ErrInvalidObject, "attribute name %q must not contain control characters", k)
		}
		path := k
		if prefix != "" {
			path = prefix + "." + k
		}
		if err := walkValue(path, obj[k], depth, fr); err != nil {
			return err
		}
	}
	return nil
}

// walkValue records v found at path; it returns whether anything non-null was found.
func walkValue(path string, v any, depth int, fr *flatRecord) error {
	switch v := v.(type) {
	case nil:
		return nil
	case map[string]any:
		fr.exists = append(fr.exists, path)
		return walkObject(path, v, depth+1, fr)
	case []any:
		if depth+1 > MaxDepth {
			return errorf(ErrInvalidObject, "attribute %q: nesting deeper than %d levels", path, MaxDepth)
		}
		for _, e := range v {
			if err := walkValue(path, e, depth+1, fr); err != nil {
				return err
			}
		}
		return nil
	case string, bool, json.Number:
		fr.exists = append(fr.exists, path)
		fr.leaves = append(fr.leaves, leaf{path: path, value: v})
		return nil
	}
	if _, ok := numberValue(v); ok {
		fr.exists = append(fr.exists, path)
		fr.leaves = append(fr.leaves, leaf{path: path, value: v})
		return nil
	}
	return errorf(ErrInvalidObject, "attribute %q: unsupported value of type %T", path, v)
}

// under reports whether path is attr or below it.
func under(path, attr string) bool {
	return path == attr || (len(path) > len(attr) && path[len(attr)] == '.' && strings.HasPrefix(path, attr))
}

// notAutoSearchable lists attributes left out of text fields when every attribute is
// searchable.
func notAutoSearchable(path string) bool {
	return path == "objectID" || under(path, "_tags") || under(path, "_highlightResult") || under(path, "_snippetResult")
}

// buildDocument turns a record (canonical JSON types, objectID set) and its stored JSON into
// the Bleve document of spec. text analyzes text fields.
func buildDocument(id string, rec map[string]any, source []byte, spec fieldSpec, text analysis.Analyzer) (*document.Document, error) {
	fr, err := flatten(rec)
	if err != nil {
		return nil, err
	}
	doc := document.NewDocument(id)
	doc.AddField(document.NewTextFieldCustom(FieldSource, nil, source, sourceOptions, nil))

	addText := func(field, s string) {
		if s != "" {
			doc.AddField(document.NewTextFieldCustom(field, nil, []byte(s), textOptions, text))
		}
	}
	if spec.AllText {
		for _, l := range fr.leaves {
			if s, ok := l.value.(string); ok && !notAutoSearchable(l.path) {
				addText(TextField(l.path), s)
			}
		}
	} else {
		for _, attr := range spec.Text {
			for _, l := range fr.leaves {
				if s, ok := l.value.(string); ok && under(l.path, attr) {
					addText(TextField(attr), s)
				}
			}
		}
	}
	for _, attr := range spec.Facets {
		for _, l := range fr.leaves {
			if !under(l.path, attr) {
				continue
			}
			v, ok := FacetValue(l.value)
			if !ok || v == "" {
				continue
			}
			doc.AddField(document.NewTextFieldCustom(FacetField(attr), nil, []byte(v), facetOptions, nil))
			doc.AddField(document.NewTextFieldCustom(FacetLowerField(attr), nil, []byte(strings.ToLower(v)), facetLowerOptions, nil))
		}
	}
	for _, l := range fr.leaves {
		switch v := l.value.(type) {
		case string:
		case bool:
			n := 0.0
			if v {
				n = 1
			}
			doc.AddField(document.NewNumericFieldWithIndexingOptions(NumericField(l.path), nil, n, numericOptions))
		default:
			if f, ok := numberValue(v); ok {
				doc.AddField(document.NewNumericFieldWithIndexingOptions(NumericField(l.path), nil, f, numericOptions))
			}
		}
	}
	for _, l := range fr.leaves {
		if l.path != FieldTags {
			continue
		}
		if v, ok := FacetValue(l.value); ok && v != "" {
			doc.AddField(document.NewTextFieldCustom(FieldTags, nil, []byte(v), tagOptions, nil))
		}
	}
	for _, p := range fr.exists {
		doc.AddField(document.NewTextFieldCustom(FieldExists, nil, []byte(p), existsOptions, nil))
	}
	return doc, nil
}
