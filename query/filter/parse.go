package filter

import (
	"fmt"
	"strings"
)

// Parse parses a filter in Algolia's filters syntax into a tree. An empty or whitespace-only
// string gives (nil, nil): no filter.
//
// The syntax:
//
//	attr:value  attr:"quoted value"  attr:'single quoted'  "quoted attr":value  a.b.c:value
//	attr:true   attr:false                      Facet (Value "true"/"false")
//	attr < 10   attr<=10  attr = 10  attr != 10  attr >= -1.5  attr>1e3   Numeric
//	attr:10 TO 20   attr: 10 TO 20              Range, both bounds inclusive
//	_tags:value   value   "quoted value"        Tag
//	AND  OR  NOT  ( )                           in capitals; lowercase "and" is a tag
//
// An unquoted value runs until whitespace or ')'; it may hold ':' and '(' and is taken
// literally, so attr:-x is the value "-x" (the minus is a negation only in the array forms).
// Inside quotes a backslash escapes a quote or a backslash (\" \' \\). Whitespace may
// surround ':' and the comparison operators. A value written as a number (10, -1.5, 1e3) after
// ':' is still a Facet, compared by its text, unless TO follows. The attribute _tags, quoted
// or not, always means the tags: _tags:x is Tag{x}.
//
// Any boolean expression is accepted, with Algolia's meaning for every filter Algolia accepts.
// Algolia's top level is a conjunction of clauses, so NOT binds tightest, then OR, then AND:
// `a AND b OR c` is `a AND (b OR c)`, `a OR b AND c` is `(a OR b) AND c`, and `NOT a OR b` is
// `(NOT a) OR b`. A chain of one operator gives one node (`a OR b OR c` is Or{a, b, c});
// a parenthesised group stays its own subtree.
//
// Errors: a *SyntaxError (wrapping ErrSyntax) with the column in runes; input longer than
// MaxFilterLength bytes wraps ErrTooLong; more than MaxDepth nested parentheses and NOTs wraps
// ErrTooDeep. Parse never panics, and its recursion is bounded by MaxDepth.
func Parse(s string) (Node, error) {
	if len(s) > MaxFilterLength {
		return nil, tooLong("filters", len(s))
	}
	p := &parser{src: s, param: "filters"}
	p.pos = skipSpace(s, 0)
	if p.eof() {
		return nil, nil
	}
	n, err := p.parseAnd("a filter")
	if err != nil {
		return nil, err
	}
	p.pos = skipSpace(s, p.pos)
	if !p.eof() {
		exp := "AND, OR or end of input"
		if s[p.pos] == ')' {
			exp += " (this ')' closes no '(')"
		}
		return nil, p.errAt(p.pos, exp, p.describe(p.pos))
	}
	return n, nil
}

// parser is the state of one Algolia filters parse.
type parser struct {
	src   string
	pos   int    // byte offset of the next unread byte
	depth int    // open parentheses and NOTs around pos
	param string // the parameter named in errors
}

func (p *parser) eof() bool { return p.pos >= len(p.src) }

// errAt returns a syntax error at byte offset off.
func (p *parser) errAt(off int, expected, found string) error {
	return &SyntaxError{Param: p.param, Column: column(p.src, off), Expected: expected, Found: found}
}

// describe renders what starts at byte offset off, for SyntaxError.Found.
func (p *parser) describe(off int) string {
	if off >= len(p.src) {
		return endOfInput
	}
	switch c := p.src[off]; c {
	case '(', ')', ':', '<', '>', '=', '!', ',', '[', ']':
		return "'" + string(c) + "'"
	}
	end := off
	for end < len(p.src) {
		if sp, _ := spaceAt(p.src, end); sp || p.src[end] == '(' || p.src[end] == ')' {
			break
		}
		end++
	}
	return quoteFound(p.src[off:end])
}

// keywordAt reports whether the capitalised keyword kw starts at byte offset off as a word of
// its own (followed by the end, whitespace, a parenthesis or a quote).
func (p *parser) keywordAt(off int, kw string) bool {
	if !strings.HasPrefix(p.src[off:], kw) {
		return false
	}
	end := off + len(kw)
	if end == len(p.src) {
		return true
	}
	switch p.src[end] {
	case '(', ')', '"', '\'':
		return true
	}
	sp, _ := spaceAt(p.src, end)
	return sp
}

// enter records one more level of nesting at byte offset off.
func (p *parser) enter(off int) error {
	p.depth++
	if p.depth > MaxDepth {
		return tooDeep(p.param, column(p.src, off))
	}
	return nil
}

// parseAnd parses clauses joined by AND, the loosest operator. ctx says what the first clause
// follows, for errors.
func (p *parser) parseAnd(ctx string) (Node, error) {
	n, err := p.parseOr(ctx)
	if err != nil {
		return nil, err
	}
	nodes := []Node{n}
	for {
		p.pos = skipSpace(p.src, p.pos)
		if p.eof() || !p.keywordAt(p.pos, "AND") {
			break
		}
		p.pos += len("AND")
		n, err := p.parseOr("a filter after AND")
		if err != nil {
			return nil, err
		}
		nodes = append(nodes, n)
	}
	if len(nodes) == 1 {
		return nodes[0], nil
	}
	return And{Nodes: nodes}, nil
}

// parseOr parses operands joined by OR, which binds tighter than AND.
func (p *parser) parseOr(ctx string) (Node, error) {
	n, err := p.parseUnary(ctx)
	if err != nil {
		return nil, err
	}
	nodes := []Node{n}
	for {
		p.pos = skipSpace(p.src, p.pos)
		if p.eof() || !p.keywordAt(p.pos, "OR") {
			break
		}
		p.pos += len("OR")
		n, err := p.parseUnary("a filter after OR")
		if err != nil {
			return nil, err
		}
		nodes = append(nodes, n)
	}
	if len(nodes) == 1 {
		return nodes[0], nil
	}
	return Or{Nodes: nodes}, nil
}

// parseUnary parses any number of NOTs (read in a loop, not by recursion) and an operand.
func (p *parser) parseUnary(ctx string) (Node, error) {
	nots := 0
	for {
		p.pos = skipSpace(p.src, p.pos)
		if p.eof() || !p.keywordAt(p.pos, "NOT") {
			break
		}
		if err := p.enter(p.pos); err != nil {
			return nil, err
		}
		p.pos += len("NOT")
		nots++
		ctx = "a filter after NOT"
	}
	n, err := p.parsePrimary(ctx)
	if err != nil {
		return nil, err
	}
	p.depth -= nots
	for ; nots > 0; nots-- {
		n = Not{Node: n}
	}
	return n, nil
}

// parsePrimary parses a parenthesised group or one filter.
func (p *parser) parsePrimary(ctx string) (Node, error) {
	p.pos = skipSpace(p.src, p.pos)
	if p.eof() {
		return nil, p.errAt(p.pos, ctx, endOfInput)
	}
	switch p.src[p.pos] {
	case '(':
		open := p.pos
		if err := p.enter(open); err != nil {
			return nil, err
		}
		p.pos = skipSpace(p.src, p.pos+1)
		if !p.eof() && p.src[p.pos] == ')' {
			return nil, p.errAt(p.pos, "a filter inside '(' ')' (empty group)", "')'")
		}
		n, err := p.parseAnd("a filter after '('")
		if err != nil {
			return nil, err
		}
		p.pos = skipSpace(p.src, p.pos)
		if p.eof() {
			return nil, p.errAt(p.pos, fmt.Sprintf("')' to close the '(' at column %d", column(p.src, open)), endOfInput)
		}
		if p.src[p.pos] != ')' {
			return nil, p.errAt(p.pos, "AND, OR or ')'", p.describe(p.pos))
		}
		p.pos++
		p.depth--
		return n, nil
	case ')':
		return nil, p.errAt(p.pos, ctx, "')'")
	}
	if p.keywordAt(p.pos, "AND") || p.keywordAt(p.pos, "OR") {
		return nil, p.errAt(p.pos, ctx, p.describe(p.pos))
	}
	return p.parseFilter()
}

// opAt returns the comparison operator at byte offset off of s and its width (0: none).
func opAt(s string, off int) (Op, int) {
	if off >= len(s) {
		return 0, 0
	}
	next := byte(0)
	if off+1 < len(s) {
		next = s[off+1]
	}
	switch s[off] {
	case '<':
		if next == '=' {
			return OpLe, 2
		}
		return OpLt, 1
	case '>':
		if next == '=' {
			return OpGe, 2
		}
		return OpGt, 1
	case '=':
		return OpEq, 1
	case '!':
		if next == '=' {
			return OpNe, 2
		}
	}
	return 0, 0
}

// readWord reads an unquoted attribute name or bare tag: it stops at whitespace, a
// parenthesis, ':' or a comparison operator.
func (p *parser) readWord() string {
	start := p.pos
	for p.pos < len(p.src) {
		c := p.src[p.pos]
		if c == '(' || c == ')' || c == ':' {
			break
		}
		if _, w := opAt(p.src, p.pos); w > 0 {
			break
		}
		sp, w := spaceAt(p.src, p.pos)
		if sp {
			break
		}
		p.pos += w
	}
	return p.src[start:p.pos]
}

// readValue reads an unquoted value: it runs until whitespace or ')'.
func (p *parser) readValue() string {
	start := p.pos
	for p.pos < len(p.src) && p.src[p.pos] != ')' {
		sp, w := spaceAt(p.src, p.pos)
		if sp {
			break
		}
		p.pos += w
	}
	return p.src[start:p.pos]
}

// readQuoted reads the quoted string at pos.
func (p *parser) readQuoted() (string, error) {
	open := p.pos
	v, end, ok := readQuoted(p.src, p.pos)
	if !ok {
		return "", p.errAt(len(p.src), fmt.Sprintf("%c to close the string opened at column %d", p.src[open], column(p.src, open)), endOfInput)
	}
	p.pos = end
	return v, nil
}

// parseFilter parses one filter: attr:value, attr:min TO max, attr <op> number or a tag.
func (p *parser) parseFilter() (Node, error) {
	start := p.pos
	var name string
	quoted := false
	if c := p.src[p.pos]; c == '"' || c == '\'' {
		v, err := p.readQuoted()
		if err != nil {
			return nil, err
		}
		name, quoted = v, true
	} else {
		name = p.readWord()
		if name == "" {
			// At ':' or at an operator: the attribute is missing.
			tok := p.describe(p.pos)
			if _, w := opAt(p.src, p.pos); w > 0 {
				tok = "'" + p.src[p.pos:p.pos+w] + "'"
			}
			return nil, p.errAt(p.pos, "an attribute name before "+tok, tok)
		}
	}
	after := p.pos
	p.pos = skipSpace(p.src, p.pos)
	if !p.eof() {
		if p.src[p.pos] == ':' {
			if name == "" && quoted {
				return nil, p.errAt(start, "an attribute name before ':'", `""`)
			}
			p.pos++
			return p.parseFacetValue(name)
		}
		if op, w := opAt(p.src, p.pos); w > 0 {
			if name == "" && quoted {
				return nil, p.errAt(start, "an attribute name before '"+op.String()+"'", `""`)
			}
			p.pos += w
			return p.parseNumber(name, op)
		}
	}
	p.pos = after
	return Tag{Value: name}, nil
}

// facetOrTag is an equality on attr: a Tag for _tags, a Facet otherwise.
func facetOrTag(attr, value string) Node {
	if attr == tagsAttr {
		return Tag{Value: value}
	}
	return Facet{Attr: attr, Value: value}
}

// parseFacetValue parses what follows attr: a value, or a range min TO max.
func (p *parser) parseFacetValue(attr string) (Node, error) {
	colon := p.pos
	p.pos = skipSpace(p.src, p.pos)
	if p.eof() || p.src[p.pos] == ')' {
		return nil, p.errAt(p.pos, "a value after ':'", p.describe(p.pos))
	}
	if c := p.src[p.pos]; c == '"' || c == '\'' {
		v, err := p.readQuoted()
		if err != nil {
			return nil, err
		}
		return facetOrTag(attr, v), nil
	}
	vpos := p.pos
	v := p.readValue()
	if vpos > colon && (v == "AND" || v == "OR" || v == "NOT") {
		return nil, p.errAt(vpos, "a value after ':' (quote it if it is the word "+v+")", quoteFound(v))
	}
	if min, ok := parseNumber(v); ok {
		to := skipSpace(p.src, p.pos)
		if to < len(p.src) && p.keywordAt(to, "TO") {
			p.pos = skipSpace(p.src, to+len("TO"))
			mpos := p.pos
			m := p.readValue()
			max, ok := parseNumber(m)
			if !ok {
				found := quoteFound(m)
				if m == "" {
					found = p.describe(mpos)
				}
				return nil, p.errAt(mpos, "a number after TO", found)
			}
			return Range{Attr: attr, Min: min, Max: max}, nil
		}
	}
	return facetOrTag(attr, v), nil
}

// parseNumber parses the number after a comparison operator.
func (p *parser) parseNumber(attr string, op Op) (Node, error) {
	p.pos = skipSpace(p.src, p.pos)
	npos := p.pos
	t := p.readValue()
	f, ok := parseNumber(t)
	if !ok {
		found := quoteFound(t)
		if t == "" {
			found = p.describe(npos)
		}
		return nil, p.errAt(npos, "a number after '"+op.String()+"'", found)
	}
	return Numeric{Attr: attr, Op: op, Value: f}, nil
}

// parseSingle parses s as exactly one filter with no boolean operators (an element of an
// array form), reporting errors under param.
func parseSingle(param, s string) (Node, error) {
	p := &parser{src: s, param: param}
	p.pos = skipSpace(s, 0)
	if p.eof() {
		return nil, p.errAt(p.pos, "a filter", endOfInput)
	}
	if c := s[p.pos]; c == '(' || c == ')' {
		return nil, p.errAt(p.pos, "a filter", p.describe(p.pos))
	}
	n, err := p.parseFilter()
	if err != nil {
		return nil, err
	}
	p.pos = skipSpace(s, p.pos)
	if !p.eof() {
		return nil, p.errAt(p.pos, "end of the element", p.describe(p.pos))
	}
	return n, nil
}
