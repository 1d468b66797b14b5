package filter

import (
	"errors"
	"strconv"
	"strings"
)

// ParseMeili parses a Meilisearch filter expression into a tree. An empty or whitespace-only
// string gives (nil, nil).
//
// The syntax (keywords in any case):
//
//	attr = value   attr != value   attr < 1   attr <= 1   attr > 1   attr >= 1
//	attr IN [a, "b c", 3]   attr NOT IN [...]   attr 3 TO 5   attr EXISTS   attr NOT EXISTS
//	AND  OR  NOT  ( )
//
// Values and attributes are unquoted words or strings in single or double quotes (a backslash
// escapes a quote or a backslash). Precedence is the usual one: NOT, then AND, then OR.
//
// The tree: attr = v is Facet{attr, v} for a string, and for a number (quoted or not)
// Or{Numeric{attr, OpEq, n}, Facet{attr, v as written}}, so that it matches a numeric or a
// string attribute; on _tags the Facet is a Tag. attr != v is Not of that. IN is the Or of
// the equalities (flattened; IN [] is the empty Or, which matches nothing), NOT IN its Not.
// <, <=, > and >= need a number and give Numeric; min TO max gives Range; EXISTS gives Exists.
//
// Errors are as for Parse, with Param "filter": *SyntaxError (column in runes), ErrTooLong,
// ErrTooDeep. ParseMeili never panics, and its recursion is bounded by MaxDepth.
func ParseMeili(s string) (Node, error) {
	return parseMeili(s, "filter")
}

// ParseMeiliValue parses Meilisearch's filter parameter as decoded from JSON: a string is one
// expression (see ParseMeili); an array is the AND of its elements, each an expression or an
// array of expressions whose OR it stands for. Empty expressions and arrays are ignored.
// Errors name the element ("filter: element 2.1: ...").
func ParseMeiliValue(v any) (Node, error) {
	const param = "filter"
	var arr []any
	switch x := v.(type) {
	case nil:
		return nil, nil
	case string:
		return ParseMeili(x)
	case []string:
		arr = make([]any, len(x))
		for i, s := range x {
			arr[i] = s
		}
	case []any:
		arr = x
	default:
		return nil, &SyntaxError{Param: param, Expected: "a string or an array", Found: jsonKind(v)}
	}
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
	one := func(pos string, s string) (Node, error) {
		n, err := parseMeili(s, param)
		var se *SyntaxError
		if errors.As(err, &se) {
			se.Element = pos
		}
		return n, err
	}
	var ands []Node
	for i, e := range arr {
		pos := strconv.Itoa(i + 1)
		switch x := e.(type) {
		case string:
			n, err := one(pos, x)
			if err != nil {
				return nil, err
			}
			if n != nil {
				ands = append(ands, n)
			}
		case []any:
			var ors []Node
			for j, f := range x {
				ipos := pos + "." + strconv.Itoa(j+1)
				s, ok := f.(string)
				if !ok {
					return nil, &SyntaxError{Param: param, Element: ipos, Expected: "a string", Found: jsonKind(f)}
				}
				n, err := one(ipos, s)
				if err != nil {
					return nil, err
				}
				if n != nil {
					ors = append(ors, n)
				}
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

// mkind is the kind of a Meilisearch token.
type mkind int

const (
	mEOF mkind = iota
	mLParen
	mRParen
	mLBrack
	mRBrack
	mComma
	mOp
	mWord
	mString
)

// mtok is one Meilisearch token.
type mtok struct {
	kind mkind
	text string // a word's text, a string's value, a punctuation's or operator's text
	op   Op     // for mOp
	pos  int    // byte offset
}

// mparser is the state of one Meilisearch parse.
type mparser struct {
	src   string
	param string
	toks  []mtok
	i     int
	depth int
}

func parseMeili(s, param string) (Node, error) {
	if len(s) > MaxFilterLength {
		return nil, tooLong(param, len(s))
	}
	p := &mparser{src: s, param: param}
	if err := p.lex(); err != nil {
		return nil, err
	}
	if p.peek().kind == mEOF {
		return nil, nil
	}
	n, err := p.parseOr("a condition")
	if err != nil {
		return nil, err
	}
	if t := p.peek(); t.kind != mEOF {
		exp := "AND, OR or end of input"
		if t.kind == mRParen {
			exp += " (this ')' closes no '(')"
		}
		return nil, p.errAt(t, exp)
	}
	return n, nil
}

func (p *mparser) errAt(t mtok, expected string) error {
	return &SyntaxError{Param: p.param, Column: column(p.src, t.pos), Expected: expected, Found: describeTok(t)}
}

// describeTok renders a token for SyntaxError.Found.
func describeTok(t mtok) string {
	switch t.kind {
	case mEOF:
		return endOfInput
	case mWord, mString:
		return quoteFound(t.text)
	}
	return "'" + t.text + "'"
}

// lex splits the source into tokens.
func (p *mparser) lex() error {
	s := p.src
	i := 0
	for {
		i = skipSpace(s, i)
		if i >= len(s) {
			p.toks = append(p.toks, mtok{kind: mEOF, pos: i})
			return nil
		}
		c := s[i]
		if k := punctKind(c); k != mEOF {
			p.toks = append(p.toks, mtok{kind: k, text: s[i : i+1], pos: i})
			i++
			continue
		}
		if op, w := opAt(s, i); w > 0 {
			p.toks = append(p.toks, mtok{kind: mOp, op: op, text: s[i : i+w], pos: i})
			i += w
			continue
		}
		if c == '"' || c == '\'' {
			v, end, ok := readQuoted(s, i)
			if !ok {
				return &SyntaxError{Param: p.param, Column: column(s, len(s)), Expected: string(c) + " to close the string opened at column " + strconv.Itoa(column(s, i)), Found: endOfInput}
			}
			p.toks = append(p.toks, mtok{kind: mString, text: v, pos: i})
			i = end
			continue
		}
		start := i
		for i < len(s) {
			if strings.IndexByte("()[],<>=\"'", s[i]) >= 0 {
				break
			}
			if _, w := opAt(s, i); w > 0 {
				break
			}
			sp, w := spaceAt(s, i)
			if sp {
				break
			}
			i += w
		}
		if i == start {
			// Unreachable: every byte that ends a word starts another token. Kept so that
			// the loop always advances.
			return &SyntaxError{Param: p.param, Column: column(s, i), Expected: "a token", Found: quoteFound(s[i:])}
		}
		p.toks = append(p.toks, mtok{kind: mWord, text: s[start:i], pos: start})
	}
}

// punctKind returns the kind of a punctuation byte, mEOF for any other byte.
func punctKind(c byte) mkind {
	switch c {
	case '(':
		return mLParen
	case ')':
		return mRParen
	case '[':
		return mLBrack
	case ']':
		return mRBrack
	case ',':
		return mComma
	}
	return mEOF
}

func (p *mparser) peek() mtok { return p.toks[p.i] }

func (p *mparser) peekAt(k int) mtok {
	if p.i+k < len(p.toks) {
		return p.toks[p.i+k]
	}
	return p.toks[len(p.toks)-1]
}

func (p *mparser) next() mtok {
	t := p.toks[p.i]
	if t.kind != mEOF {
		p.i++
	}
	return t
}

// isKw reports whether t is the keyword kw (any case).
func isKw(t mtok, kw string) bool {
	return t.kind == mWord && strings.EqualFold(t.text, kw)
}

// isAnyKw reports whether t is one of Meilisearch's keywords.
func isAnyKw(t mtok) bool {
	for _, kw := range []string{"AND", "OR", "NOT", "TO", "IN", "EXISTS"} {
		if isKw(t, kw) {
			return true
		}
	}
	return false
}

func (p *mparser) enter(t mtok) error {
	p.depth++
	if p.depth > MaxDepth {
		return tooDeep(p.param, column(p.src, t.pos))
	}
	return nil
}

// parseOr parses terms joined by OR, the loosest operator.
func (p *mparser) parseOr(ctx string) (Node, error) {
	n, err := p.parseAnd(ctx)
	if err != nil {
		return nil, err
	}
	nodes := []Node{n}
	for isKw(p.peek(), "OR") {
		p.next()
		n, err := p.parseAnd("a condition after OR")
		if err != nil {
			return nil, err
		}
		nodes = append(nodes, n)
	}
	return orOf(nodes), nil
}

// parseAnd parses factors joined by AND.
func (p *mparser) parseAnd(ctx string) (Node, error) {
	n, err := p.parseNot(ctx)
	if err != nil {
		return nil, err
	}
	nodes := []Node{n}
	for isKw(p.peek(), "AND") {
		p.next()
		n, err := p.parseNot("a condition after AND")
		if err != nil {
			return nil, err
		}
		nodes = append(nodes, n)
	}
	return andOf(nodes), nil
}

// parseNot parses any number of NOTs (in a loop) and a primary.
func (p *mparser) parseNot(ctx string) (Node, error) {
	nots := 0
	for isKw(p.peek(), "NOT") {
		if err := p.enter(p.peek()); err != nil {
			return nil, err
		}
		p.next()
		nots++
		ctx = "a condition after NOT"
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

// parsePrimary parses a parenthesised expression or a condition.
func (p *mparser) parsePrimary(ctx string) (Node, error) {
	t := p.peek()
	switch {
	case t.kind == mLParen:
		if err := p.enter(t); err != nil {
			return nil, err
		}
		p.next()
		if p.peek().kind == mRParen {
			return nil, p.errAt(p.peek(), "a condition inside '(' ')' (empty group)")
		}
		n, err := p.parseOr("a condition after '('")
		if err != nil {
			return nil, err
		}
		switch c := p.peek(); c.kind {
		case mRParen:
			p.next()
		case mEOF:
			return nil, p.errAt(c, "')' to close the '(' at column "+strconv.Itoa(column(p.src, t.pos)))
		default:
			return nil, p.errAt(c, "AND, OR or ')'")
		}
		p.depth--
		return n, nil
	case t.kind == mWord && !isKw(t, "AND") && !isKw(t, "OR"), t.kind == mString:
		return p.parseCondition()
	}
	return nil, p.errAt(t, ctx)
}

// parseCondition parses attr <op> value, IN, NOT IN, EXISTS, NOT EXISTS or min TO max.
func (p *mparser) parseCondition() (Node, error) {
	at := p.next()
	attr := at.text
	if attr == "" {
		return nil, p.errAt(at, "an attribute name")
	}
	t := p.peek()
	switch {
	case t.kind == mOp:
		p.next()
		if t.op == OpEq || t.op == OpNe {
			v, err := p.value("a value after '" + t.text + "'")
			if err != nil {
				return nil, err
			}
			n := meiliEq(attr, v)
			if t.op == OpNe {
				n = Not{Node: n}
			}
			return n, nil
		}
		vt := p.peek()
		v, err := p.value("a number after '" + t.text + "'")
		if err != nil {
			return nil, err
		}
		f, ok := parseNumber(v)
		if !ok {
			return nil, p.errAt(vt, "a number after '"+t.text+"'")
		}
		return Numeric{Attr: attr, Op: t.op, Value: f}, nil
	case isKw(t, "IN"):
		p.next()
		return p.parseIn(attr)
	case isKw(t, "EXISTS"):
		p.next()
		return Exists{Attr: attr}, nil
	case isKw(t, "NOT"):
		p.next()
		switch u := p.peek(); {
		case isKw(u, "IN"):
			p.next()
			n, err := p.parseIn(attr)
			if err != nil {
				return nil, err
			}
			return Not{Node: n}, nil
		case isKw(u, "EXISTS"):
			p.next()
			return Not{Node: Exists{Attr: attr}}, nil
		default:
			return nil, p.errAt(u, "IN or EXISTS after NOT")
		}
	case (t.kind == mWord || t.kind == mString) && isKw(p.peekAt(1), "TO"):
		min, ok := parseNumber(t.text)
		if !ok {
			return nil, p.errAt(t, "a number before TO")
		}
		p.next()
		p.next()
		mt := p.peek()
		if mt.kind != mWord && mt.kind != mString {
			return nil, p.errAt(mt, "a number after TO")
		}
		max, ok := parseNumber(mt.text)
		if !ok {
			return nil, p.errAt(mt, "a number after TO")
		}
		p.next()
		return Range{Attr: attr, Min: min, Max: max}, nil
	}
	return nil, p.errAt(t, "=, !=, <, <=, >, >=, IN, NOT IN, EXISTS, NOT EXISTS or \"min TO max\" after the attribute "+quoteFound(attr))
}

// value reads a value: a string, or a word that is not a keyword.
func (p *mparser) value(expected string) (string, error) {
	t := p.peek()
	switch {
	case t.kind == mString:
		p.next()
		return t.text, nil
	case t.kind == mWord && isAnyKw(t):
		return "", p.errAt(t, expected+" (quote it if it is the word "+t.text+")")
	case t.kind == mWord:
		p.next()
		return t.text, nil
	}
	return "", p.errAt(t, expected)
}

// parseIn parses the list of IN: [v1, v2, ...], a trailing comma allowed.
func (p *mparser) parseIn(attr string) (Node, error) {
	if t := p.peek(); t.kind != mLBrack {
		return nil, p.errAt(t, "'[' after IN")
	}
	p.next()
	var nodes []Node
	for {
		if p.peek().kind == mRBrack {
			p.next()
			break
		}
		v, err := p.value("a value or ']'")
		if err != nil {
			return nil, err
		}
		switch n := meiliEq(attr, v).(type) {
		case Or:
			nodes = append(nodes, n.Nodes...)
		default:
			nodes = append(nodes, n)
		}
		switch t := p.peek(); t.kind {
		case mComma:
			p.next()
		case mRBrack:
		default:
			return nil, p.errAt(t, "',' or ']'")
		}
	}
	switch len(nodes) {
	case 0:
		return Or{}, nil
	case 1:
		return nodes[0], nil
	}
	return Or{Nodes: nodes}, nil
}

// meiliEq is Meilisearch's attr = v: a Facet (a Tag on _tags), and for a number also the
// numeric equality.
func meiliEq(attr, v string) Node {
	eq := facetOrTag(attr, v)
	if f, ok := parseNumber(v); ok {
		return Or{Nodes: []Node{Numeric{Attr: attr, Op: OpEq, Value: f}, eq}}
	}
	return eq
}
