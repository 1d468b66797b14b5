package filter

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

// listCase is one array-form input: json is literal JSON (decoded with encoding/json), or,
// when raw is set, raw is passed through ParseListValue as a v4 params string value would be.
type listCase struct {
	json string
	raw  string
	want Node
}

func (c listCase) name() string {
	if c.json != "" {
		return "json " + c.json
	}
	return "raw " + c.raw
}

func (c listCase) input(tb testing.TB) any {
	tb.Helper()
	if c.json != "" {
		return mustJSON(tb, c.json)
	}
	v, err := ParseListValue(c.raw)
	if err != nil {
		tb.Fatalf("ParseListValue(%q): %v", c.raw, err)
	}
	return v
}

var facetFilterCases = []listCase{
	{json: `null`, want: nil},
	{json: `[]`, want: nil},
	{json: `[[]]`, want: nil},
	{json: `""`, want: nil},
	{json: `["brand:Acme"]`, want: fc("brand", "Acme")},
	{json: `"brand:Acme"`, want: fc("brand", "Acme")},
	{json: `["brand:Acme", "color:red"]`, want: and(fc("brand", "Acme"), fc("color", "red"))},
	{json: `[["brand:Acme", "brand:Globex"]]`, want: or(fc("brand", "Acme"), fc("brand", "Globex"))},
	{json: `[["brand:Acme"]]`, want: fc("brand", "Acme")},
	{json: `[["brand:Acme", "brand:Globex"], "color:red"]`, want: and(or(fc("brand", "Acme"), fc("brand", "Globex")), fc("color", "red"))},
	{json: `[["a:1", "b:2"], [], ["c:3", "d:4"]]`, want: and(or(fc("a", "1"), fc("b", "2")), or(fc("c", "3"), fc("d", "4")))},
	{json: `["brand:-Acme"]`, want: not(fc("brand", "Acme"))},
	{json: `["brand:\\-Acme"]`, want: fc("brand", "-Acme")},
	{json: `[["brand:-Acme", "brand:-Globex"]]`, want: or(not(fc("brand", "Acme")), not(fc("brand", "Globex")))},
	{json: `["brand:\"Acme Inc\""]`, want: fc("brand", "Acme Inc")},
	{json: `["brand:-\"Acme Inc\""]`, want: not(fc("brand", "Acme Inc"))},
	{json: `["brand:Acme Inc"]`, want: fc("brand", "Acme Inc")},
	{json: `[" brand : Acme "]`, want: fc("brand", "Acme")},
	{json: `["url:http://x.y"]`, want: fc("url", "http://x.y")},
	{json: `["a\\:b:c"]`, want: fc("a:b", "c")},
	{json: `["\"my attr\":x"]`, want: fc("my attr", "x")},
	{json: `["authors.main:King"]`, want: fc("authors.main", "King")},
	{json: `["inStock:true"]`, want: fc("inStock", "true")},
	{json: `["_tags:featured"]`, want: tg("featured")},
	{json: `["_tags:-hidden"]`, want: not(tg("hidden"))},
	{json: `["city:Zürich"]`, want: fc("city", "Zürich")},
	{json: `["size:(XL)"]`, want: fc("size", "(XL)")},
	// The string forms.
	{json: `"a:1,(b:2,c:3)"`, want: and(fc("a", "1"), or(fc("b", "2"), fc("c", "3")))},
	{json: `"a:1, b:2"`, want: and(fc("a", "1"), fc("b", "2"))},
	{json: `"(b:2,c:3)"`, want: or(fc("b", "2"), fc("c", "3"))},
	{json: `"(b:2)"`, want: fc("b", "2")},
	{json: `"brand:\"Acme, Inc\",color:red"`, want: and(fc("brand", "Acme, Inc"), fc("color", "red"))},
	{json: `"size:Foo (A,B)"`, want: fc("size", "Foo (A,B)")},
	{json: `"size:a(b"`, want: fc("size", "a(b")},
	// v4 params string values.
	{raw: `[["brand:Acme","brand:Globex"],"color:red"]`, want: and(or(fc("brand", "Acme"), fc("brand", "Globex")), fc("color", "red"))},
	{raw: `  ["a:1"]`, want: fc("a", "1")},
	{raw: `brand:Acme`, want: fc("brand", "Acme")},
	{raw: `a:1,(b:2,c:3)`, want: and(fc("a", "1"), or(fc("b", "2"), fc("c", "3")))},
}

var numericFilterCases = []listCase{
	{json: `[]`, want: nil},
	{json: `["price>=15"]`, want: num("price", OpGe, 15)},
	{json: `["price = 10"]`, want: num("price", OpEq, 10)},
	{json: `["price!=3"]`, want: num("price", OpNe, 3)},
	{json: `["price<-1.5"]`, want: num("price", OpLt, -1.5)},
	{json: `["price:10 TO 20"]`, want: rng("price", 10, 20)},
	{json: `["price>=15", "price<=30"]`, want: and(num("price", OpGe, 15), num("price", OpLe, 30))},
	{json: `[["price<10", "price>100"], "stock>0"]`, want: and(or(num("price", OpLt, 10), num("price", OpGt, 100)), num("stock", OpGt, 0))},
	{json: `["\"unit price\">1"]`, want: num("unit price", OpGt, 1)},
	{json: `"price>=15"`, want: num("price", OpGe, 15)},
	{json: `"price>=15,price<20"`, want: and(num("price", OpGe, 15), num("price", OpLt, 20))},
	{json: `"(price<10,price>100),stock>0"`, want: and(or(num("price", OpLt, 10), num("price", OpGt, 100)), num("stock", OpGt, 0))},
	{raw: `["price>=15"]`, want: num("price", OpGe, 15)},
	{raw: `price:1 TO 2`, want: rng("price", 1, 2)},
}

var tagFilterCases = []listCase{
	{json: `[]`, want: nil},
	{json: `["featured"]`, want: tg("featured")},
	{json: `["featured", "sale"]`, want: and(tg("featured"), tg("sale"))},
	{json: `[["featured", "sale"], "new"]`, want: and(or(tg("featured"), tg("sale")), tg("new"))},
	{json: `["-hidden"]`, want: not(tg("hidden"))},
	{json: `["\\-5"]`, want: tg("-5")},
	{json: `["big sale"]`, want: tg("big sale")},
	{json: `["\"big sale\""]`, want: tg("big sale")},
	{json: `["Featured"]`, want: tg("Featured")},
	{json: `"a,b"`, want: and(tg("a"), tg("b"))},
	{json: `"(a,b),c"`, want: and(or(tg("a"), tg("b")), tg("c"))},
	{json: `"a"`, want: tg("a")},
	{json: `"a, -b"`, want: and(tg("a"), not(tg("b")))},
	{raw: `(a,b),c`, want: and(or(tg("a"), tg("b")), tg("c"))},
	{raw: `["a",["b","c"]]`, want: and(tg("a"), or(tg("b"), tg("c")))},
}

func runListCases(t *testing.T, parse func(any) (Node, error), cases []listCase) {
	t.Helper()
	for _, c := range cases {
		t.Run(c.name(), func(t *testing.T) {
			got, err := parse(c.input(t))
			if err != nil {
				t.Fatalf("%s: %v", c.name(), err)
			}
			if !reflect.DeepEqual(got, c.want) {
				t.Fatalf("%s\n got %#v\nwant %#v", c.name(), got, c.want)
			}
			checkRoundTrip(t, c.name(), got)
		})
	}
}

func TestParseFacetFilters(t *testing.T)   { runListCases(t, ParseFacetFilters, facetFilterCases) }
func TestParseNumericFilters(t *testing.T) { runListCases(t, ParseNumericFilters, numericFilterCases) }
func TestParseTagFilters(t *testing.T)     { runListCases(t, ParseTagFilters, tagFilterCases) }

func TestParseFacetFiltersGoSlices(t *testing.T) {
	got, err := ParseFacetFilters([]string{"a:1", "b:-2"})
	want := and(fc("a", "1"), not(fc("b", "2")))
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Fatalf("got %#v, %v; want %#v", got, err, want)
	}
}

func TestListErrors(t *testing.T) {
	cases := []struct {
		param   string
		parse   func(any) (Node, error)
		json    string
		element string
		msg     string
	}{
		{"facetFilters", ParseFacetFilters, `["a:1", "brand"]`, "2", `facetFilters: element 2: expected "attribute:value", found "brand"`},
		{"facetFilters", ParseFacetFilters, `["a:1", ["b:1", "c"]]`, "2.2", `facetFilters: element 2.2: expected "attribute:value", found "c"`},
		{"facetFilters", ParseFacetFilters, `[":x"]`, "1", "expected an attribute before ':'"},
		{"facetFilters", ParseFacetFilters, `["brand:"]`, "1", "expected a value after ':'"},
		{"facetFilters", ParseFacetFilters, `["brand:-"]`, "1", "expected a value after ':-'"},
		{"facetFilters", ParseFacetFilters, `[""]`, "1", `expected "attribute:value", found ""`},
		{"facetFilters", ParseFacetFilters, `[1]`, "1", "expected a string or an array of strings, found a number"},
		{"facetFilters", ParseFacetFilters, `[["a:1", ["b:2"]]]`, "1.2", "arrays nest at most two deep"},
		{"facetFilters", ParseFacetFilters, `[["a:1", null]]`, "1.2", "found null"},
		{"facetFilters", ParseFacetFilters, `{"a": 1}`, "", "expected an array or a string, found an object"},
		{"facetFilters", ParseFacetFilters, `"a:1,,b:2"`, "2", "expected a filter, found ','"},
		{"facetFilters", ParseFacetFilters, `"a:1,"`, "2", "expected a filter, found end of input"},
		{"facetFilters", ParseFacetFilters, `"(a:1,b:2"`, "", "syntax error at column 9: expected ')' to close the '(' at column 1, found end of input"},
		{"facetFilters", ParseFacetFilters, `"a:1),b:2"`, "", "this ')' closes no '('"},
		{"facetFilters", ParseFacetFilters, `"((a:1,b:2)),c:3"`, "1.1", "groups do not nest"},
		{"facetFilters", ParseFacetFilters, `"(a:1)x,b:2"`, "1", `a group "(a,b)"`},
		{"facetFilters", ParseFacetFilters, `"a:1,b"`, "2", `expected "attribute:value", found "b"`},
		{"facetFilters", ParseFacetFilters, `"brand"`, "", `facetFilters: syntax error: expected "attribute:value", found "brand"`},
		{"facetFilters", ParseFacetFilters, `"a:1,b:\"x"`, "", `syntax error at column 9: expected '"' to close the string opened at column 7`},
		{"numericFilters", ParseNumericFilters, `["price>=15", "price>=abc"]`, "2", `numericFilters: element 2: syntax error at column 8: expected a number after '>=', found "abc"`},
		{"numericFilters", ParseNumericFilters, `["price:10"]`, "1", `expected "attribute<op>number" or "attribute:min TO max", found "price:10"`},
		{"numericFilters", ParseNumericFilters, `["price>1 AND x>2"]`, "1", "expected end of the element"},
		{"numericFilters", ParseNumericFilters, `["(price>1)"]`, "1", "expected a filter, found '('"},
		{"numericFilters", ParseNumericFilters, `"price>1,price"`, "2", `found "price"`},
		{"tagFilters", ParseTagFilters, `["a", ""]`, "2", "expected a tag"},
		{"tagFilters", ParseTagFilters, `["-"]`, "1", "expected a tag after '-'"},
		{"tagFilters", ParseTagFilters, `[true]`, "1", "found a boolean"},
	}
	for _, c := range cases {
		t.Run(c.param+" "+c.json, func(t *testing.T) {
			n, err := c.parse(mustJSON(t, c.json))
			if err == nil {
				t.Fatalf("%s(%s) = %#v, want an error", c.param, c.json, n)
			}
			if !errors.Is(err, ErrSyntax) {
				t.Fatalf("%s(%s): %v does not wrap ErrSyntax", c.param, c.json, err)
			}
			var se *SyntaxError
			if !errors.As(err, &se) {
				t.Fatalf("%T is not a *SyntaxError", err)
			}
			if se.Param != c.param || se.Element != c.element {
				t.Errorf("Param %q Element %q, want %q %q (%v)", se.Param, se.Element, c.param, c.element, err)
			}
			if !strings.Contains(err.Error(), c.msg) {
				t.Errorf("message %q lacks %q", err, c.msg)
			}
		})
	}
}

func TestListLimits(t *testing.T) {
	big := make([]any, 0, 2000)
	for range 2000 {
		big = append(big, "brand:"+strings.Repeat("x", 10))
	}
	for name, parse := range map[string]func(any) (Node, error){
		"facetFilters":   ParseFacetFilters,
		"numericFilters": ParseNumericFilters,
		"tagFilters":     ParseTagFilters,
	} {
		if _, err := parse(big); !errors.Is(err, ErrTooLong) || !strings.HasPrefix(err.Error(), name+": ") {
			t.Errorf("%s: big array: got %v, want ErrTooLong", name, err)
		}
		if _, err := parse(strings.Repeat("a,", MaxFilterLength)); !errors.Is(err, ErrTooLong) {
			t.Errorf("%s: long string: got %v, want ErrTooLong", name, err)
		}
	}
	if _, err := ParseListValue("[" + strings.Repeat(`"a",`, MaxFilterLength/4) + `"a"]`); !errors.Is(err, ErrTooLong) {
		t.Errorf("ParseListValue: got %v, want ErrTooLong", err)
	}
}

func TestParseListValue(t *testing.T) {
	cases := []struct {
		in   string
		want any
	}{
		{`brand:Acme`, "brand:Acme"},
		{` a , b `, " a , b "},
		{``, ""},
		{`["a","b"]`, []any{"a", "b"}},
		{` [["a"],"b"]`, []any{[]any{"a"}, "b"}},
		{`[]`, []any{}},
	}
	for _, c := range cases {
		got, err := ParseListValue(c.in)
		if err != nil || !reflect.DeepEqual(got, c.want) {
			t.Errorf("ParseListValue(%q) = %#v, %v; want %#v", c.in, got, err, c.want)
		}
	}
	for _, bad := range []string{`[`, `["a",]`, `[a]`, `["a"] x`} {
		_, err := ParseListValue(bad)
		var se *SyntaxError
		if !errors.As(err, &se) || !errors.Is(err, ErrSyntax) || se.Param != "list" {
			t.Errorf("ParseListValue(%q): got %v, want a list SyntaxError", bad, err)
		}
	}
}
