package filter

import (
	"encoding/json"
	"errors"
	"strconv"
	"strings"
)

// ParseListValue turns the value of facetFilters, numericFilters or tagFilters as found in a
// v4 params string into what ParseFacetFilters, ParseNumericFilters and ParseTagFilters take:
// text starting with '[' (after leading whitespace) is decoded as JSON, giving []any of
// strings and []any; anything else is returned as is, a string. Malformed JSON is a
// *SyntaxError with Param "list"; text longer than MaxFilterLength wraps ErrTooLong.
func ParseListValue(s string) (any, error) {
	if len(s) > MaxFilterLength {
		return nil, tooLong("list", len(s))
	}
	t := strings.TrimSpace(s)
	if !strings.HasPrefix(t, "[") {
		return s, nil
	}
	var v any
	if err := json.Unmarshal([]byte(t), &v); err != nil {
		se := &SyntaxError{Param: "list", Expected: "a JSON array", Found: quoteFound(err.Error())}
		var js *json.SyntaxError
		if errors.As(err, &js) {
			se.Column = column(t, int(js.Offset))
		}
		return nil, se
	}
	return v, nil
}

// ParseFacetFilters parses Algolia's facetFilters, given as a decoded JSON value: a flat
// array is an AND of its elements, an inner array an OR of its elements, and each element a
// string "attribute:value". The attribute ends at the first ':' not escaped as "\:"; the
// value is taken literally, except that "attr:-value" is NOT attr:value, "attr:\-value" is
// the value "-value", and one pair of surrounding double quotes is removed
// ("brand:\"Acme Inc\"" is brand = Acme Inc). Whitespace around attribute and value is
// trimmed. The attribute _tags gives a Tag.
//
// A string (rather than an array) is one filter, or, when it holds a comma or starts with '(',
// the comma form: "a:1,(b:2,c:3)" is a:1 AND (b:2 OR c:3). Commas and parentheses inside
// double quotes do not count. Empty inner arrays are ignored; an empty array or string is no
// filter (nil). Arrays nest at most two deep. Errors are *SyntaxError values with Param
// "facetFilters" and Element the 1-based position of the faulty element ("2", "2.1").
func ParseFacetFilters(v any) (Node, error) {
	return parseList("facetFilters", v, facetElement)
}

// ParseNumericFilters parses Algolia's numericFilters, in the shapes ParseFacetFilters takes
// (flat array = AND, inner array = OR, comma string form), each element a comparison
// "price>=15", "price = 10", "price!=3" or a range "price:10 TO 20".
func ParseNumericFilters(v any) (Node, error) {
	return parseList("numericFilters", v, numericElement)
}

// ParseTagFilters parses Algolia's tagFilters, in the shapes ParseFacetFilters takes (flat
// array = AND, inner array = OR), each element a tag value taken literally after trimming
// whitespace and one pair of surrounding double quotes; "-tag" is NOT tag and "\-tag" the tag
// "-tag". The string form "a,b" is a AND b and "(a,b),c" is (a OR b) AND c.
func ParseTagFilters(v any) (Node, error) {
	return parseList("tagFilters", v, tagElement)
}

// elemParser parses one element of an array form. Its errors are *SyntaxError values whose
// Param and Element the caller fills in.
type elemParser func(s string) (Node, error)

// jsonKind names the JSON type of v for errors.
func jsonKind(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case bool:
		return "a boolean"
	case float64, json.Number, int, int64:
		return "a number"
	case string:
		return "a string"
	case []any, []string:
		return "an array"
	case map[string]any:
		return "an object"
	}
	return "a value of an unsupported type"
}

// parseList parses an array form or its string form.
func parseList(param string, v any, elem elemParser) (Node, error) {
	switch x := v.(type) {
	case nil:
		return nil, nil
	case string:
		return parseCommaString(param, x, elem)
	case []string:
		arr := make([]any, len(x))
		for i, s := range x {
			arr[i] = s
		}
		return parseArray(param, arr, elem)
	case []any:
		return parseArray(param, x, elem)
	}
	return nil, &SyntaxError{Param: param, Expected: "an array or a string", Found: jsonKind(v)}
}

// element parses one element and names it in its error.
func element(param, pos, s string, elem elemParser) (Node, error) {
	n, err := elem(s)
	if err != nil {
		var se *SyntaxError
		if errors.As(err, &se) {
			se.Param, se.Element = param, pos
		}
		return nil, err
	}
	return n, nil
}

// orOf returns the OR of nodes: nil, the node itself, or an Or.
func orOf(nodes []Node) Node {
	switch len(nodes) {
	case 0:
		return nil
	case 1:
		return nodes[0]
	}
	return Or{Nodes: nodes}
}

// andOf returns the AND of nodes: nil, the node itself, or an And.
func andOf(nodes []Node) Node {
	switch len(nodes) {
	case 0:
		return nil
	case 1:
		return nodes[0]
	}
	return And{Nodes: nodes}
}

// parseArray parses the array form: outer AND, inner OR.
func parseArray(param string, arr []any, elem elemParser) (Node, error) {
	size := 0
	for _, e := range arr {
		size++
		switch x := e.(type) {
		case string:
			size += len(x)
		case []any:
			for _, f := range x {
				size++
				if s, ok := f.(string); ok {
					size += len(s)
				}
			}
		}
		if size > MaxFilterLength {
			return nil, tooLong(param, size)
		}
	}
	var ands []Node
	for i, e := range arr {
		pos := strconv.Itoa(i + 1)
		switch x := e.(type) {
		case string:
			n, err := element(param, pos, x, elem)
			if err != nil {
				return nil, err
			}
			ands = append(ands, n)
		case []any:
			var ors []Node
			for j, f := range x {
				ipos := pos + "." + strconv.Itoa(j+1)
				s, ok := f.(string)
				if !ok {
					exp := "a string"
					if _, nested := f.([]any); nested {
						exp = "a string (arrays nest at most two deep)"
					}
					return nil, &SyntaxError{Param: param, Element: ipos, Expected: exp, Found: jsonKind(f)}
				}
				n, err := element(param, ipos, s, elem)
				if err != nil {
					return nil, err
				}
				ors = append(ors, n)
			}
			if n := orOf(ors); n != nil {
				ands = append(ands, n)
			}
		default:
			return nil, &SyntaxError{Param: param, Element: pos, Expected: "a string or an array of strings", Found: jsonKind(e)}
		}
	}
	return andOf(ands), nil
}

// segment is a piece of a comma string and its byte offset.
type segment struct {
	text string
	off  int
}

// splitCommas splits s at the commas that are outside double quotes and parentheses. off is
// the offset of s in whole, for error columns.
func splitCommas(param, whole string, s string, off int) ([]segment, error) {
	var segs []segment
	depth, start := 0, 0
	inQuote := false
	open, openParen := -1, -1
	for i := 0; i < len(s); i++ {
		c := s[i]
		if inQuote {
			switch c {
			case '\\':
				i++
			case '"':
				inQuote = false
			}
			continue
		}
		switch c {
		case '"':
			inQuote = true
			open = i
		case '(':
			if depth == 0 {
				openParen = i
			}
			depth++
		case ')':
			depth--
			if depth < 0 {
				return nil, &SyntaxError{Param: param, Column: column(whole, off+i), Expected: "',' or end of input (this ')' closes no '(')", Found: "')'"}
			}
		case ',':
			if depth == 0 {
				segs = append(segs, segment{s[start:i], off + start})
				start = i + 1
			}
		}
	}
	if inQuote {
		return nil, &SyntaxError{Param: param, Column: column(whole, off+len(s)), Expected: "'\"' to close the string opened at column " + strconv.Itoa(column(whole, off+open)), Found: endOfInput}
	}
	if depth > 0 {
		return nil, &SyntaxError{Param: param, Column: column(whole, off+len(s)), Expected: "')' to close the '(' at column " + strconv.Itoa(column(whole, off+openParen)), Found: endOfInput}
	}
	return append(segs, segment{s[start:], off + start}), nil
}

// trimSegment trims whitespace from a segment, keeping its offset right.
func trimSegment(sg segment) segment {
	t := strings.TrimLeft(sg.text, " \t\r\n")
	off := sg.off + len(sg.text) - len(t)
	return segment{strings.TrimRight(t, " \t\r\n"), off}
}

// groupBody returns the inside of a segment that is one parenthesised group, "(...)".
func groupBody(s string) (string, bool) {
	if len(s) < 2 || s[0] != '(' || s[len(s)-1] != ')' {
		return "", false
	}
	depth := 0
	inQuote := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		if inQuote {
			switch c {
			case '\\':
				i++
			case '"':
				inQuote = false
			}
			continue
		}
		switch c {
		case '"':
			inQuote = true
		case '(':
			depth++
		case ')':
			depth--
			if depth == 0 {
				return s[1:i], i == len(s)-1
			}
		}
	}
	return "", false
}

// parseCommaString parses the string form of an array parameter: one element, or a comma
// list "a,(b,c)" whose groups are ORs.
func parseCommaString(param, s string, elem elemParser) (Node, error) {
	if len(s) > MaxFilterLength {
		return nil, tooLong(param, len(s))
	}
	t := strings.TrimSpace(s)
	if t == "" {
		return nil, nil
	}
	if t[0] != '(' && !hasUnquotedComma(t) {
		// Not the comma form: one filter, whatever its parentheses.
		return element(param, "", t, elem)
	}
	segs, err := splitCommas(param, s, s, 0)
	if err != nil {
		return nil, err
	}
	if len(segs) == 1 && t[0] != '(' {
		// The commas were all inside one element's parentheses.
		return element(param, "", t, elem)
	}
	var ands []Node
	for i, sg := range segs {
		sg = trimSegment(sg)
		pos := strconv.Itoa(i + 1)
		if sg.text == "" {
			return nil, &SyntaxError{Param: param, Element: pos, Column: column(s, sg.off), Expected: "a filter", Found: describeComma(s, sg.off)}
		}
		if sg.text[0] != '(' {
			n, err := element(param, pos, sg.text, elem)
			if err != nil {
				return nil, err
			}
			ands = append(ands, n)
			continue
		}
		body, whole := groupBody(sg.text)
		if !whole {
			return nil, &SyntaxError{Param: param, Element: pos, Column: column(s, sg.off), Expected: "a group \"(a,b)\" followed by ',' or end of input", Found: quoteFound(sg.text)}
		}
		inner, err := splitCommas(param, s, body, sg.off+1)
		if err != nil {
			return nil, err
		}
		var ors []Node
		for j, in := range inner {
			in = trimSegment(in)
			ipos := pos + "." + strconv.Itoa(j+1)
			if in.text == "" {
				return nil, &SyntaxError{Param: param, Element: ipos, Column: column(s, in.off), Expected: "a filter", Found: describeComma(s, in.off)}
			}
			if in.text[0] == '(' {
				return nil, &SyntaxError{Param: param, Element: ipos, Column: column(s, in.off), Expected: "a filter (groups do not nest)", Found: "'('"}
			}
			n, err := element(param, ipos, in.text, elem)
			if err != nil {
				return nil, err
			}
			ors = append(ors, n)
		}
		ands = append(ands, orOf(ors))
	}
	return andOf(ands), nil
}

// hasUnquotedComma reports whether s holds a comma outside double quotes.
func hasUnquotedComma(s string) bool {
	inQuote := false
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case inQuote && c == '\\':
			i++
		case c == '"':
			inQuote = !inQuote
		case !inQuote && c == ',':
			return true
		}
	}
	return false
}

// describeComma renders what is at byte offset off of a comma string, for errors.
func describeComma(s string, off int) string {
	if off >= len(s) {
		return endOfInput
	}
	switch s[off] {
	case ',', ')':
		return "'" + s[off:off+1] + "'"
	}
	return quoteFound(s[off:])
}

// unquote removes one pair of surrounding double quotes.
func unquote(s string) string {
	if len(s) >= 2 && s[0] == '"' && s[len(s)-1] == '"' {
		return s[1 : len(s)-1]
	}
	return s
}

// negation splits a leading '-' (NOT) or "\-" (a literal minus) off s.
func negation(s string) (rest string, neg bool) {
	switch {
	case strings.HasPrefix(s, `\-`):
		return s[1:], false
	case strings.HasPrefix(s, "-"):
		return s[1:], true
	}
	return s, false
}

// facetElement parses one facetFilters element, "attribute:value".
func facetElement(s string) (Node, error) {
	t := strings.TrimSpace(s)
	colon := -1
	for i := 0; i < len(t); i++ {
		if t[i] == '\\' {
			i++
			continue
		}
		if t[i] == ':' {
			colon = i
			break
		}
	}
	if colon < 0 {
		return nil, &SyntaxError{Expected: `"attribute:value"`, Found: quoteFound(s)}
	}
	attr := unquote(strings.ReplaceAll(strings.TrimSpace(t[:colon]), `\:`, ":"))
	if attr == "" {
		return nil, &SyntaxError{Expected: "an attribute before ':'", Found: quoteFound(s)}
	}
	val, neg := negation(strings.TrimSpace(t[colon+1:]))
	if val == "" {
		exp := "a value after ':'"
		if neg {
			exp = "a value after ':-'"
		}
		return nil, &SyntaxError{Expected: exp, Found: quoteFound(s)}
	}
	n := facetOrTag(attr, unquote(val))
	if neg {
		n = Not{Node: n}
	}
	return n, nil
}

// numericElement parses one numericFilters element, "attr<op>number" or "attr:min TO max".
func numericElement(s string) (Node, error) {
	n, err := parseSingle("numericFilters", s)
	if err != nil {
		return nil, err
	}
	switch n.(type) {
	case Numeric, Range:
		return n, nil
	}
	return nil, &SyntaxError{Expected: `"attribute<op>number" or "attribute:min TO max"`, Found: quoteFound(s)}
}

// tagElement parses one tagFilters element, "tag" or "-tag".
func tagElement(s string) (Node, error) {
	val, neg := negation(strings.TrimSpace(s))
	if val == "" {
		exp := "a tag"
		if neg {
			exp = "a tag after '-'"
		}
		return nil, &SyntaxError{Expected: exp, Found: quoteFound(s)}
	}
	var n Node = Tag{Value: unquote(val)}
	if neg {
		n = Not{Node: n}
	}
	return n, nil
}
