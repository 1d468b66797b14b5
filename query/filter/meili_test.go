package filter

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

// meiliCases is the table of valid Meilisearch expressions; FuzzParseMeili is seeded from it.
var meiliCases = []struct {
	in   string
	want Node
}{
	{"", nil},
	{"  ", nil},
	{`user_id = "u-1"`, fc("user_id", "u-1")},
	{`user_id = u-1`, fc("user_id", "u-1")},
	{`user_id = 'u 1'`, fc("user_id", "u 1")},
	{`tenant_id = 42`, meq("tenant_id", 42, "42")},
	{`tenant_id = "42"`, meq("tenant_id", 42, "42")},
	{`price = 9.90`, meq("price", 9.9, "9.90")},
	{`tenant_id = 42 AND user_id = "u-1"`, and(meq("tenant_id", 42, "42"), fc("user_id", "u-1"))},
	{`tenant_id=42 and user_id="u-1"`, and(meq("tenant_id", 42, "42"), fc("user_id", "u-1"))},
	{`genre != horror`, not(fc("genre", "horror"))},
	{`year != 2000`, not(meq("year", 2000, "2000"))},
	{`genre IN [horror, "sci fi"]`, or(fc("genre", "horror"), fc("genre", "sci fi"))},
	{`genre in [horror,]`, fc("genre", "horror")},
	{`genre IN [horror]`, fc("genre", "horror")},
	{`id IN [1, a]`, or(num("id", OpEq, 1), fc("id", "1"), fc("id", "a"))},
	{`id IN [1]`, meq("id", 1, "1")},
	{`id IN []`, Or{}},
	{`genre NOT IN [horror, comedy]`, not(or(fc("genre", "horror"), fc("genre", "comedy")))},
	{`genre not in [horror]`, not(fc("genre", "horror"))},
	{`rating 3 TO 5`, rng("rating", 3, 5)},
	{`rating -1.5 to 1e2`, rng("rating", -1.5, 100)},
	{`rating < 3`, num("rating", OpLt, 3)},
	{`rating <= 3`, num("rating", OpLe, 3)},
	{`rating > 3`, num("rating", OpGt, 3)},
	{`rating>=-3`, num("rating", OpGe, -3)},
	{`rating > "3"`, num("rating", OpGt, 3)},
	{`poster EXISTS`, Exists{Attr: "poster"}},
	{`poster NOT EXISTS`, not(Exists{Attr: "poster"})},
	{`poster exists`, Exists{Attr: "poster"}},
	{`"release date" > 2000`, num("release date", OpGt, 2000)},
	{`author.name = King`, fc("author.name", "King")},
	{`_tags = featured`, tg("featured")},
	{`city = Zürich`, fc("city", "Zürich")},
	{`a = 1 OR b = x AND c = y`, or(meq("a", 1, "1"), and(fc("b", "x"), fc("c", "y")))},
	{`a = x AND b = y OR c = z`, or(and(fc("a", "x"), fc("b", "y")), fc("c", "z"))},
	{`NOT a = x AND b = y`, and(not(fc("a", "x")), fc("b", "y"))},
	{`NOT (a = x OR b = y)`, not(or(fc("a", "x"), fc("b", "y")))},
	{`not not a = x`, not(not(fc("a", "x")))},
	{`(a = x OR b = y) AND c EXISTS`, and(or(fc("a", "x"), fc("b", "y")), Exists{Attr: "c"})},
	{`((a = x))`, fc("a", "x")},
	{`a = "say \"hi\""`, fc("a", `say "hi"`)},
	{`a = "AND"`, fc("a", "AND")},
}

func TestParseMeili(t *testing.T) {
	for _, c := range meiliCases {
		t.Run(c.in, func(t *testing.T) {
			got, err := ParseMeili(c.in)
			if err != nil {
				t.Fatalf("ParseMeili(%q): %v", c.in, err)
			}
			if !reflect.DeepEqual(got, c.want) {
				t.Fatalf("ParseMeili(%q)\n got %#v\nwant %#v", c.in, got, c.want)
			}
			if algoliaExpressible(got) {
				checkRoundTrip(t, c.in, got)
			}
		})
	}
}

func TestParseMeiliErrors(t *testing.T) {
	cases := []struct {
		in     string
		column int
		msg    string
	}{
		{`a =`, 4, "expected a value after '=', found end of input"},
		{`a = AND`, 5, "quote it if it is the word AND"},
		{`a > x`, 5, `expected a number after '>', found "x"`},
		{`a > 1e999`, 5, "expected a number after '>'"},
		{`a`, 2, `after the attribute "a", found end of input`},
		{`a b`, 3, `found "b"`},
		{`a NOT b`, 7, "expected IN or EXISTS after NOT"},
		{`a IN b`, 6, "expected '[' after IN"},
		{`a IN [b`, 8, "expected ',' or ']', found end of input"},
		{`a IN [b c]`, 9, `expected ',' or ']', found "c"`},
		{`a IN [,]`, 7, "expected a value or ']', found ','"},
		{`a x TO 5`, 3, "expected a number before TO"},
		{`a 1 TO`, 7, "expected a number after TO"},
		{`a 1 TO x`, 8, "expected a number after TO"},
		{`(a = 1`, 7, "expected ')' to close the '(' at column 1"},
		{`a = 1)`, 6, "this ')' closes no '('"},
		{`()`, 2, "empty group"},
		{`a = 1 AND`, 10, "expected a condition after AND"},
		{`OR a = 1`, 1, "expected a condition"},
		{`NOT`, 4, "expected a condition after NOT"},
		{`a = "x`, 7, `" to close the string opened at column 5`},
		{`a ! b`, 3, `found "!"`},
		{`"" = 1`, 1, "expected an attribute name"},
		{`_geoRadius(1, 2, 3)`, 11, "after the attribute"},
		{`a = 1 b = 2`, 7, "expected AND, OR or end of input"},
	}
	for _, c := range cases {
		t.Run(c.in, func(t *testing.T) {
			n, err := ParseMeili(c.in)
			if err == nil {
				t.Fatalf("ParseMeili(%q) = %#v, want an error", c.in, n)
			}
			var se *SyntaxError
			if !errors.Is(err, ErrSyntax) || !errors.As(err, &se) {
				t.Fatalf("ParseMeili(%q): %v is not a SyntaxError", c.in, err)
			}
			if se.Column != c.column || se.Param != "filter" {
				t.Errorf("ParseMeili(%q): column %d param %q, want %d \"filter\" (%v)", c.in, se.Column, se.Param, c.column, err)
			}
			if !strings.Contains(err.Error(), c.msg) {
				t.Errorf("ParseMeili(%q): message %q lacks %q", c.in, err, c.msg)
			}
		})
	}
}

func TestParseMeiliLimits(t *testing.T) {
	if _, err := ParseMeili(strings.Repeat("a = 1 OR ", MaxFilterLength/8)); !errors.Is(err, ErrTooLong) {
		t.Errorf("long: got %v, want ErrTooLong", err)
	}
	if _, err := ParseMeili(strings.Repeat("(", MaxDepth+1) + "a = 1" + strings.Repeat(")", MaxDepth+1)); !errors.Is(err, ErrTooDeep) {
		t.Errorf("deep: got %v, want ErrTooDeep", err)
	}
	if _, err := ParseMeili(strings.Repeat("NOT ", MaxDepth+1) + "a = 1"); !errors.Is(err, ErrTooDeep) {
		t.Errorf("deep NOT: got %v, want ErrTooDeep", err)
	}
	if _, err := ParseMeili(strings.Repeat("(", MaxDepth) + "a = 1" + strings.Repeat(")", MaxDepth)); err != nil {
		t.Errorf("depth %d: %v", MaxDepth, err)
	}
}

func TestParseMeiliValue(t *testing.T) {
	cases := []struct {
		json string
		want Node
	}{
		{`null`, nil},
		{`"a = x"`, fc("a", "x")},
		{`[]`, nil},
		{`["a = x", "b = y"]`, and(fc("a", "x"), fc("b", "y"))},
		{`[["a = x", "a = y"], "b = 1"]`, and(or(fc("a", "x"), fc("a", "y")), meq("b", 1, "1"))},
		{`["a = x OR b = y", "c EXISTS"]`, and(or(fc("a", "x"), fc("b", "y")), Exists{Attr: "c"})},
		{`["", ["  "], "a = x"]`, fc("a", "x")},
	}
	for _, c := range cases {
		got, err := ParseMeiliValue(mustJSON(t, c.json))
		if err != nil || !reflect.DeepEqual(got, c.want) {
			t.Errorf("ParseMeiliValue(%s) = %#v, %v; want %#v", c.json, got, err, c.want)
		}
	}
	errCases := []struct {
		json, element, msg string
	}{
		{`["a = x", "b ="]`, "2", "filter: element 2: syntax error at column 4: expected a value after '='"},
		{`[["a = x", 3]]`, "1.2", "expected a string, found a number"},
		{`[{"a": 1}]`, "1", "found an object"},
		{`42`, "", "expected a string or an array, found a number"},
	}
	for _, c := range errCases {
		_, err := ParseMeiliValue(mustJSON(t, c.json))
		var se *SyntaxError
		if !errors.As(err, &se) || !errors.Is(err, ErrSyntax) || se.Element != c.element || !strings.Contains(err.Error(), c.msg) {
			t.Errorf("ParseMeiliValue(%s): got %v, want element %q and %q", c.json, err, c.element, c.msg)
		}
	}
	big := []any{strings.Repeat("x", MaxFilterLength)}
	if _, err := ParseMeiliValue(big); !errors.Is(err, ErrTooLong) {
		t.Errorf("big array: got %v, want ErrTooLong", err)
	}
}
