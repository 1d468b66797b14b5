// Package query is keyhole's search layer: the request model (Algolia search parameters, as
// JSON fields or a params string), the merge of a principal's restrictions into a request, the
// translation of requests to Bleve queries, and the shaping of results (hits, highlights,
// snippets, facets). Every read goes through Service, whose methods require a principal.
package query

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/keyhole-search/keyhole/query/filter"
)

// ErrInvalidParam is wrapped by every error about a bad search parameter.
var ErrInvalidParam = errors.New("invalid search parameter")

// ParamError says which parameter is wrong and why.
type ParamError struct {
	Param  string
	Reason string
}

func (e *ParamError) Error() string {
	return fmt.Sprintf("Invalid value for parameter %s: %s", e.Param, e.Reason)
}

// Unwrap makes errors.Is(err, ErrInvalidParam) hold.
func (e *ParamError) Unwrap() error { return ErrInvalidParam }

func paramErr(name, format string, args ...any) error {
	return &ParamError{Param: name, Reason: fmt.Sprintf(format, args...)}
}

// MaxHitsPerPage is the largest hitsPerPage (and length) a request may ask for.
const MaxHitsPerPage = 1000

// Params is one search request in Algolia's vocabulary. A nil pointer or slice means "not
// given", so that index settings and a key's overrides can tell what the request said.
type Params struct {
	Query   string
	Filters string
	// FacetFilters, NumericFilters and TagFilters are the decoded array or string forms.
	FacetFilters   any
	NumericFilters any
	TagFilters     any

	Facets            []string
	MaxValuesPerFacet *int
	SortFacetValuesBy string

	Page        *int
	HitsPerPage *int
	Offset      *int
	Length      *int

	AttributesToRetrieve         []string
	AttributesToHighlight        []string
	AttributesToSnippet          []string
	HighlightPreTag              *string
	HighlightPostTag             *string
	SnippetEllipsisText          *string
	RestrictSearchableAttributes []string
	TypoTolerance                *string // "true", "false", "min", "strict"

	FacetQuery   string
	MaxFacetHits *int
	UserToken    string

	// SortAttr, when set, orders hits by that numeric attribute before relevance (SortDesc
	// for descending). It is not an Algolia parameter: the AddSearch dialect's sort uses it.
	SortAttr string
	SortDesc bool

	// given records the names of the parameters that were set, for the params echo.
	given []string
}

// value is one raw parameter value: decoded JSON (with json.Number) or the text of a params
// string.
type value struct {
	v        any
	fromText bool
}

// DecodeJSONParams decodes a v5 request object (parameters as JSON fields). A "params" member
// holding a v4 params string is applied first, then the JSON fields. Keys listed in skip (such
// as "indexName" or "type" of a multi-query entry) are ignored.
func DecodeJSONParams(raw map[string]json.RawMessage, skip ...string) (Params, error) {
	var p Params
	if ps, ok := raw["params"]; ok {
		var s string
		if err := json.Unmarshal(ps, &s); err != nil {
			return p, paramErr("params", "expected a string")
		}
		if err := p.applyParamsString(s); err != nil {
			return p, err
		}
	}
	names := make([]string, 0, len(raw))
	for k := range raw {
		names = append(names, k)
	}
	sort.Strings(names)
outer:
	for _, k := range names {
		if k == "params" {
			continue
		}
		for _, s := range skip {
			if k == s {
				continue outer
			}
		}
		v, err := decodeJSONValue(raw[k])
		if err != nil {
			return p, paramErr(k, "invalid JSON")
		}
		if err := p.set(k, value{v: v}); err != nil {
			return p, err
		}
	}
	return p, nil
}

func decodeJSONValue(b json.RawMessage) (any, error) {
	dec := json.NewDecoder(strings.NewReader(string(b)))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	return v, nil
}

// DecodeParamsString decodes a v4 params string ("query=a&hitsPerPage=2&facets=%5B...%5D").
func DecodeParamsString(s string) (Params, error) {
	var p Params
	err := p.applyParamsString(s)
	return p, err
}

func (p *Params) applyParamsString(s string) error {
	vals, err := url.ParseQuery(s)
	if err != nil {
		return paramErr("params", "not a valid URL-encoded string")
	}
	return p.ApplyValues(vals)
}

// ApplyValues sets every parameter in vals (text values, as in a params string or a key's
// restrictions), overriding what p holds.
func (p *Params) ApplyValues(vals url.Values) error {
	names := make([]string, 0, len(vals))
	for k := range vals {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		vs := vals[k]
		if len(vs) == 0 {
			continue
		}
		if err := p.set(k, value{v: vs[len(vs)-1], fromText: true}); err != nil {
			return err
		}
	}
	return nil
}

// set applies one parameter. Unknown parameters are ignored, as Algolia does.
func (p *Params) set(name string, v value) error {
	var err error
	known := true
	switch name {
	case "query":
		p.Query, err = v.str(name)
		if err == nil {
			err = checkText(name, p.Query, MaxQueryBytes, "MaxQueryBytes")
		}
	case "filters":
		p.Filters, err = v.str(name)
	case "facetFilters":
		p.FacetFilters, err = v.list(name)
	case "numericFilters":
		p.NumericFilters, err = v.list(name)
	case "tagFilters":
		p.TagFilters, err = v.list(name)
	case "facets":
		p.Facets, err = v.attrs(name, MaxFacets, "MaxFacets")
	case "maxValuesPerFacet":
		p.MaxValuesPerFacet, err = v.intIn(name, 0, 1000)
	case "sortFacetValuesBy":
		p.SortFacetValuesBy, err = v.str(name)
		if err == nil && p.SortFacetValuesBy != "count" && p.SortFacetValuesBy != "alpha" {
			err = paramErr(name, "expected \"count\" or \"alpha\"")
		}
	case "page":
		p.Page, err = v.intIn(name, 0, math.MaxInt32)
	case "hitsPerPage":
		p.HitsPerPage, err = v.intIn(name, 0, MaxHitsPerPage)
	case "offset":
		p.Offset, err = v.intIn(name, 0, math.MaxInt32)
	case "length":
		p.Length, err = v.intIn(name, 0, MaxHitsPerPage)
	case "attributesToRetrieve":
		p.AttributesToRetrieve, err = v.attrs(name, MaxAttributes, "MaxAttributes")
	case "attributesToHighlight":
		p.AttributesToHighlight, err = v.attrs(name, MaxAttributes, "MaxAttributes")
	case "attributesToSnippet":
		p.AttributesToSnippet, err = v.attrs(name, MaxAttributes, "MaxAttributes")
	case "highlightPreTag":
		p.HighlightPreTag, err = v.strPtr(name)
	case "highlightPostTag":
		p.HighlightPostTag, err = v.strPtr(name)
	case "snippetEllipsisText":
		p.SnippetEllipsisText, err = v.strPtr(name)
	case "restrictSearchableAttributes":
		p.RestrictSearchableAttributes, err = v.attrs(name, MaxAttributes, "MaxAttributes")
	case "typoTolerance":
		var s string
		s, err = v.scalarText(name)
		if err == nil {
			switch s {
			case "true", "false", "min", "strict":
				p.TypoTolerance = &s
			default:
				err = paramErr(name, "expected true, false, \"min\" or \"strict\"")
			}
		}
	case "facetQuery":
		p.FacetQuery, err = v.str(name)
		if err == nil {
			err = checkText(name, p.FacetQuery, MaxFacetQueryBytes, "MaxFacetQueryBytes")
		}
	case "maxFacetHits":
		p.MaxFacetHits, err = v.intIn(name, 1, 100)
	case "userToken":
		p.UserToken, err = v.str(name)
	default:
		known = false
	}
	if err != nil {
		return err
	}
	if known {
		p.given = append(p.given, name)
	}
	return nil
}

// str returns a string parameter; invalid UTF-8 is refused (it would otherwise be replaced,
// silently, somewhere between here and the index).
func (v value) str(name string) (string, error) {
	switch x := v.v.(type) {
	case string:
		if !utf8.ValidString(x) {
			return "", paramErr(name, "invalid UTF-8 in %s", name)
		}
		return x, nil
	case nil:
		return "", nil
	}
	return "", paramErr(name, "expected a string")
}

func (v value) strPtr(name string) (*string, error) {
	s, err := v.str(name)
	if err != nil {
		return nil, err
	}
	return &s, nil
}

// scalarText returns a string, number or boolean as text.
func (v value) scalarText(name string) (string, error) {
	switch x := v.v.(type) {
	case string:
		return x, nil
	case json.Number:
		return x.String(), nil
	case bool:
		return strconv.FormatBool(x), nil
	}
	return "", paramErr(name, "expected a scalar value")
}

func (v value) intIn(name string, lo, hi int) (*int, error) {
	var n int64
	switch x := v.v.(type) {
	case json.Number:
		i, err := x.Int64()
		if err != nil {
			// A float: accepted when integral (2.0, 1e3) and in range; 1e400 (out of
			// float64's range), -0.5 and NaN-like text are refused here, cleanly.
			f, ferr := x.Float64()
			if errors.Is(ferr, strconv.ErrRange) || (ferr == nil && (f > float64(math.MaxInt32) || f < -float64(math.MaxInt32))) {
				return nil, paramErr(name, "must be between %d and %d, got %s", lo, hi, truncate(x.String(), 32))
			}
			if ferr != nil || f != math.Trunc(f) {
				return nil, paramErr(name, "expected an integer, got %s", truncate(x.String(), 32))
			}
			i = int64(f)
		}
		n = i
	case string:
		i, err := strconv.ParseInt(strings.TrimSpace(x), 10, 64)
		if errors.Is(err, strconv.ErrRange) {
			return nil, paramErr(name, "must be between %d and %d, got %q", lo, hi, truncate(x, 32))
		}
		if err != nil {
			return nil, paramErr(name, "expected an integer, got %q", truncate(x, 32))
		}
		n = i
	default:
		return nil, paramErr(name, "expected an integer")
	}
	if n < int64(lo) || n > int64(hi) {
		return nil, paramErr(name, "must be between %d and %d, got %d", lo, hi, n)
	}
	i := int(n)
	return &i, nil
}

// attrs is strings with the list's limits: at most max entries (limitName names the limit in
// the message), no invalid UTF-8, no control characters.
func (v value) attrs(name string, max int, limitName string) ([]string, error) {
	out, err := v.strings(name)
	if err != nil {
		return nil, err
	}
	if err := checkAttrs(name, out, max, limitName); err != nil {
		return nil, err
	}
	return out, nil
}

// strings accepts a JSON array of strings, or text: a JSON array, or a comma-separated list.
func (v value) strings(name string) ([]string, error) {
	switch x := v.v.(type) {
	case nil:
		return nil, nil
	case []any:
		out := make([]string, 0, len(x))
		for i, e := range x {
			s, ok := e.(string)
			if !ok {
				return nil, paramErr(name, "element %d is not a string", i+1)
			}
			out = append(out, s)
		}
		return out, nil
	case string:
		t := strings.TrimSpace(x)
		if strings.HasPrefix(t, "[") {
			var arr []string
			if err := json.Unmarshal([]byte(t), &arr); err != nil {
				return nil, paramErr(name, "expected a JSON array of strings")
			}
			return arr, nil
		}
		if t == "" {
			return []string{}, nil
		}
		parts := strings.Split(t, ",")
		for i := range parts {
			parts[i] = strings.TrimSpace(parts[i])
		}
		return parts, nil
	}
	return nil, paramErr(name, "expected an array of strings")
}

// list keeps an array (or string) filter value for the filter package's array parsers.
func (v value) list(name string) (any, error) {
	if err := checkListText(name, v.v); err != nil {
		return nil, err
	}
	switch x := v.v.(type) {
	case nil:
		return nil, nil
	case []any:
		return x, nil
	case string:
		if v.fromText {
			lv, err := filter.ParseListValue(x)
			if err != nil {
				return nil, paramErr(name, "%v", err)
			}
			return lv, nil
		}
		return x, nil
	}
	return nil, paramErr(name, "expected an array or a string")
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// Encode renders the parameters that were given as a params string (the "params" field of a
// response). It echoes only what the request itself said, never a key's restrictions.
func (p *Params) Encode() string {
	vals := url.Values{}
	for _, name := range p.given {
		switch name {
		case "query":
			vals.Set(name, p.Query)
		case "filters":
			vals.Set(name, p.Filters)
		case "page":
			vals.Set(name, strconv.Itoa(*p.Page))
		case "hitsPerPage":
			vals.Set(name, strconv.Itoa(*p.HitsPerPage))
		case "facets":
			b, _ := json.Marshal(p.Facets)
			vals.Set(name, string(b))
		case "facetFilters", "numericFilters", "tagFilters":
			var x any
			switch name {
			case "facetFilters":
				x = p.FacetFilters
			case "numericFilters":
				x = p.NumericFilters
			default:
				x = p.TagFilters
			}
			if s, ok := x.(string); ok {
				vals.Set(name, s)
			} else {
				b, _ := json.Marshal(x)
				vals.Set(name, string(b))
			}
		}
	}
	return vals.Encode()
}

// RequestFilter parses the request's filters, facetFilters, numericFilters and tagFilters
// into one tree (their AND, as separate subtrees).
func (p *Params) RequestFilter() (filter.Node, error) {
	var nodes []filter.Node
	if strings.TrimSpace(p.Filters) != "" {
		n, err := filter.Parse(p.Filters)
		if err != nil {
			return nil, &ParamError{Param: "filters", Reason: err.Error()}
		}
		nodes = append(nodes, n)
	}
	type arr struct {
		name  string
		v     any
		parse func(any) (filter.Node, error)
	}
	for _, a := range []arr{
		{"facetFilters", p.FacetFilters, filter.ParseFacetFilters},
		{"numericFilters", p.NumericFilters, filter.ParseNumericFilters},
		{"tagFilters", p.TagFilters, filter.ParseTagFilters},
	} {
		if a.v == nil {
			continue
		}
		n, err := a.parse(a.v)
		if err != nil {
			return nil, &ParamError{Param: a.name, Reason: err.Error()}
		}
		nodes = append(nodes, n)
	}
	tree := filter.Conj(nodes...)
	if err := checkFilterLeaves(tree); err != nil {
		return nil, err
	}
	return tree, nil
}
