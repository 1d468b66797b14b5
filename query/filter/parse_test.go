package filter

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

// parseCases is the table of valid filters strings; the fuzz targets are seeded from it too.
var parseCases = []struct {
	in   string
	want Node
}{
	// Empty.
	{"", nil},
	{"   \t\n ", nil},

	// Facets.
	{"brand:Acme", fc("brand", "Acme")},
	{"  brand:Acme  ", fc("brand", "Acme")},
	{`author:"Stephen King"`, fc("author", "Stephen King")},
	{`author:'Stephen King'`, fc("author", "Stephen King")},
	{`title:"say \"hi\""`, fc("title", `say "hi"`)},
	{`title:'it\'s'`, fc("title", "it's")},
	{`title:"it's"`, fc("title", "it's")},
	{`path:"C:\dir"`, fc("path", `C:\dir`)},
	{`path:"a\\b"`, fc("path", `a\b`)},
	{`title:""`, fc("title", "")},
	{`"my attr":x`, fc("my attr", "x")},
	{`'my attr':"x y"`, fc("my attr", "x y")},
	{"authors.main:King", fc("authors.main", "King")},
	{"a.b.c:d", fc("a.b.c", "d")},
	{"brand : Acme", fc("brand", "Acme")},
	{"brand: Acme", fc("brand", "Acme")},
	{"url:http://x.y/z", fc("url", "http://x.y/z")},
	{"v:a(b", fc("v", "a(b")},
	{"attr:-x", fc("attr", "-x")},
	{"attr:AND", fc("attr", "AND")},
	{"attr:TO", fc("attr", "TO")},
	{"AND:x", fc("AND", "x")},
	{"NOT:x", fc("NOT", "x")},
	{"city:Zürich", fc("city", "Zürich")},
	{"名前:東京", fc("名前", "東京")},
	{`emoji:"🙂 ok"`, fc("emoji", "🙂 ok")},
	{"brand:Acme\u00a0AND\u00a0x:y", and(fc("brand", "Acme"), fc("x", "y"))},

	// Booleans.
	{"inStock:true", fc("inStock", "true")},
	{"inStock:false", fc("inStock", "false")},
	{`inStock:"true"`, fc("inStock", "true")},

	// Numbers after ':' stay facet values, written as given.
	{"price:10", fc("price", "10")},
	{"price:10.50", fc("price", "10.50")},
	{"price:-3", fc("price", "-3")},

	// Numeric comparisons.
	{"price<10", num("price", OpLt, 10)},
	{"price <= 10", num("price", OpLe, 10)},
	{"price=10", num("price", OpEq, 10)},
	{"price != 10", num("price", OpNe, 10)},
	{"price>=15", num("price", OpGe, 15)},
	{"price >= 15", num("price", OpGe, 15)},
	{"price>-2.5", num("price", OpGt, -2.5)},
	{"price > 1e3", num("price", OpGt, 1000)},
	{"price < .5", num("price", OpLt, 0.5)},
	{"price < +7", num("price", OpLt, 7)},
	{"price<1E-2", num("price", OpLt, 0.01)},
	{`"unit price" >= 3`, num("unit price", OpGe, 3)},
	{"stats.views>100", num("stats.views", OpGt, 100)},
	{"(price<10)", num("price", OpLt, 10)},

	// Ranges.
	{"price:10 TO 20", rng("price", 10, 20)},
	{"price: 10 TO 20", rng("price", 10, 20)},
	{"price:-5.5 TO 1e2", rng("price", -5.5, 100)},
	{"price:10   TO   20", rng("price", 10, 20)},
	{"(price:1 TO 2)", rng("price", 1, 2)},

	// Tags.
	{"_tags:featured", tg("featured")},
	{`_tags:"big sale"`, tg("big sale")},
	{`"_tags":x`, tg("x")},
	{"featured", tg("featured")},
	{`"big sale"`, tg("big sale")},
	{"and", tg("and")},
	{"or OR not", or(tg("or"), tg("not"))},
	{"TO", tg("TO")},
	{"Featured", tg("Featured")},
	{"ümlaut", tg("ümlaut")},
	{"a!b", tg("a!b")},

	// AND, OR, NOT and precedence: NOT > OR > AND.
	{"a AND b", and(tg("a"), tg("b"))},
	{"a AND b AND c", and(tg("a"), tg("b"), tg("c"))},
	{"a OR b OR c", or(tg("a"), tg("b"), tg("c"))},
	{"a AND b OR c", and(tg("a"), or(tg("b"), tg("c")))},
	{"a OR b AND c", and(or(tg("a"), tg("b")), tg("c"))},
	{"a OR b AND c OR d", and(or(tg("a"), tg("b")), or(tg("c"), tg("d")))},
	{"NOT a", not(tg("a"))},
	{"NOT a OR b", or(not(tg("a")), tg("b"))},
	{"NOT a AND b", and(not(tg("a")), tg("b"))},
	{"a OR NOT b", or(tg("a"), not(tg("b")))},
	{"NOT NOT a", not(not(tg("a")))},
	{"(a OR b) AND NOT c", and(or(tg("a"), tg("b")), not(tg("c")))},
	{"NOT (a OR b)", not(or(tg("a"), tg("b")))},
	{"NOT(a OR b)", not(or(tg("a"), tg("b")))},
	{"a OR (b AND c)", or(tg("a"), and(tg("b"), tg("c")))},
	{"(a AND b) AND c", and(and(tg("a"), tg("b")), tg("c"))},
	{"((a))", tg("a")},
	{"( a OR b )", or(tg("a"), tg("b"))},
	{"(a)AND(b)", and(tg("a"), tg("b"))},
	{"a\tAND\n\tb", and(tg("a"), tg("b"))},
	{"ANDROID AND ORACLE", and(tg("ANDROID"), tg("ORACLE"))},
	{"NOTE", tg("NOTE")},
	{`NOT"x y"`, not(tg("x y"))},
	{"brand:Acme OR brand:Globex", or(fc("brand", "Acme"), fc("brand", "Globex"))},
	{
		`tenant:1 AND (category:Book OR category:"E-book") AND price < 20 AND NOT _tags:hidden`,
		and(fc("tenant", "1"), or(fc("category", "Book"), fc("category", "E-book")), num("price", OpLt, 20), not(tg("hidden"))),
	},
	{
		`available:true AND (price:10 TO 20 OR price>100) AND NOT (brand:x OR brand:y)`,
		and(fc("available", "true"), or(rng("price", 10, 20), num("price", OpGt, 100)), not(or(fc("brand", "x"), fc("brand", "y")))),
	},
	{
		"a:1 AND b:2 OR c:3 AND NOT d:4",
		and(fc("a", "1"), or(fc("b", "2"), fc("c", "3")), not(fc("d", "4"))),
	},
	{
		"((a OR b) AND (c OR (d AND NOT e)))",
		and(or(tg("a"), tg("b")), or(tg("c"), and(tg("d"), not(tg("e"))))),
	},
}

func TestParse(t *testing.T) {
	for _, c := range parseCases {
		t.Run(c.in, func(t *testing.T) {
			got, err := Parse(c.in)
			if err != nil {
				t.Fatalf("Parse(%q): %v", c.in, err)
			}
			if !reflect.DeepEqual(got, c.want) {
				t.Fatalf("Parse(%q)\n got %#v\nwant %#v", c.in, got, c.want)
			}
			checkRoundTrip(t, c.in, got)
		})
	}
}

func TestParseSyntaxErrors(t *testing.T) {
	cases := []struct {
		in     string
		column int
		msg    string // substring of Error()
	}{
		{"brand:", 7, "expected a value after ':', found end of input"},
		{"attr: ", 7, "expected a value after ':'"},
		{"(attr:)", 7, "expected a value after ':', found ')'"},
		{":value", 1, "expected an attribute name before ':'"},
		{`"":value`, 1, "expected an attribute name before ':'"},
		{">= 3", 1, "expected an attribute name before '>='"},
		{"price >", 8, "expected a number after '>', found end of input"},
		{"price > abc", 9, `expected a number after '>', found "abc"`},
		{"price < 1e999", 9, "expected a number after '<'"},
		{`price > "10"`, 9, "expected a number after '>'"},
		{"price >= NaN", 10, "expected a number after '>='"},
		{"price = 0x10", 9, "expected a number after '='"},
		{"price:10 TO", 12, "expected a number after TO, found end of input"},
		{"price:10 TO x", 13, `expected a number after TO, found "x"`},
		{"price:x TO 20", 9, `expected AND, OR or end of input, found "TO"`},
		{"(a", 3, "expected ')' to close the '(' at column 1"},
		{"((a) OR b", 10, "expected ')' to close the '(' at column 1"},
		{"a)", 2, "this ')' closes no '('"},
		{"(a))", 4, "this ')' closes no '('"},
		{"()", 2, "empty group"},
		{"a AND ()", 8, "empty group"},
		{"a AND", 6, "expected a filter after AND, found end of input"},
		{"a OR", 5, "expected a filter after OR"},
		{"AND a", 1, `expected a filter, found "AND"`},
		{"OR", 1, `expected a filter, found "OR"`},
		{"a AND OR b", 7, `expected a filter after AND, found "OR"`},
		{"NOT", 4, "expected a filter after NOT"},
		{"a AND NOT", 10, "expected a filter after NOT"},
		{"a b", 3, `expected AND, OR or end of input, found "b"`},
		{"(a b)", 4, `expected AND, OR or ')'`},
		{`"unterminated`, 14, `" to close the string opened at column 1`},
		{`brand:"Acme`, 12, `" to close the string opened at column 7`},
		{"brand: AND", 8, "quote it if it is the word AND"},
		{")", 1, "expected a filter, found ')'"},
		{"ü ü", 3, `found "ü"`}, // columns count runes, not bytes
		{"€:x AND :y", 9, "an attribute name before ':'"},
	}
	for _, c := range cases {
		t.Run(c.in, func(t *testing.T) {
			n, err := Parse(c.in)
			if err == nil {
				t.Fatalf("Parse(%q) = %#v, want an error", c.in, n)
			}
			if !errors.Is(err, ErrSyntax) {
				t.Fatalf("Parse(%q): %v does not wrap ErrSyntax", c.in, err)
			}
			var se *SyntaxError
			if !errors.As(err, &se) {
				t.Fatalf("Parse(%q): %T is not a *SyntaxError", c.in, err)
			}
			if se.Column != c.column {
				t.Errorf("Parse(%q): column %d, want %d (%v)", c.in, se.Column, c.column, err)
			}
			if !strings.HasPrefix(err.Error(), "filters: syntax error at column ") {
				t.Errorf("Parse(%q): message %q lacks the prefix", c.in, err)
			}
			if !strings.Contains(err.Error(), c.msg) {
				t.Errorf("Parse(%q): message %q lacks %q", c.in, err, c.msg)
			}
		})
	}
}

func TestSyntaxErrorMessage(t *testing.T) {
	_, err := Parse("a AND brand:")
	want := "filters: syntax error at column 13: expected a value after ':', found end of input"
	if err == nil || err.Error() != want {
		t.Fatalf("got %v, want %s", err, want)
	}
}

func TestParseLimits(t *testing.T) {
	long := strings.Repeat("a ", MaxFilterLength/2) + "a"
	if _, err := Parse(long); !errors.Is(err, ErrTooLong) || !strings.Contains(err.Error(), "MaxFilterLength") {
		t.Errorf("long input: got %v, want ErrTooLong naming MaxFilterLength", err)
	}
	if errors.Is(func() error { _, err := Parse(long); return err }(), ErrSyntax) {
		t.Errorf("ErrTooLong must not be a syntax error")
	}
	// Exactly at the limit is fine.
	atLimit := "a" + strings.Repeat(" ", MaxFilterLength-1)
	if n, err := Parse(atLimit); err != nil || !reflect.DeepEqual(n, tg("a")) {
		t.Errorf("input at the limit: %v, %v", n, err)
	}

	okDepth := strings.Repeat("(", MaxDepth) + "a" + strings.Repeat(")", MaxDepth)
	if n, err := Parse(okDepth); err != nil || !reflect.DeepEqual(n, tg("a")) {
		t.Errorf("depth %d: %v, %v", MaxDepth, n, err)
	}
	for _, deep := range []string{
		strings.Repeat("(", MaxDepth+1) + "a" + strings.Repeat(")", MaxDepth+1),
		strings.Repeat("(", 5000),
		strings.Repeat("NOT ", MaxDepth+1) + "a",
		strings.Repeat("NOT (", MaxDepth/2+1) + "a" + strings.Repeat(")", MaxDepth/2+1),
	} {
		_, err := Parse(deep)
		if !errors.Is(err, ErrTooDeep) || !strings.Contains(err.Error(), "MaxDepth") {
			t.Errorf("deep input %.20q...: got %v, want ErrTooDeep naming MaxDepth", deep, err)
		}
	}
	if _, err := Parse(strings.Repeat("NOT ", MaxDepth) + "a"); err != nil {
		t.Errorf("%d NOTs: %v", MaxDepth, err)
	}
}
