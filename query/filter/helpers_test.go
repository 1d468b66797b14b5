package filter

import (
	"encoding/json"
	"errors"
	"reflect"
	"testing"
)

// Short constructors for expected trees.

func fc(attr, value string) Node { return Facet{Attr: attr, Value: value} }
func tg(value string) Node       { return Tag{Value: value} }
func not(n Node) Node            { return Not{Node: n} }
func and(nodes ...Node) Node     { return And{Nodes: nodes} }
func or(nodes ...Node) Node      { return Or{Nodes: nodes} }
func num(attr string, op Op, v float64) Node {
	return Numeric{Attr: attr, Op: op, Value: v}
}
func rng(attr string, min, max float64) Node { return Range{Attr: attr, Min: min, Max: max} }

// meq is what ParseMeili makes of attr = <number>.
func meq(attr string, v float64, text string) Node {
	return or(num(attr, OpEq, v), fc(attr, text))
}

// mustJSON decodes literal JSON into the []any shapes clients send.
func mustJSON(tb testing.TB, s string) any {
	tb.Helper()
	var v any
	if err := json.Unmarshal([]byte(s), &v); err != nil {
		tb.Fatalf("bad test JSON %s: %v", s, err)
	}
	return v
}

// checkKnownError fails unless err is one of the package's documented error kinds.
func checkKnownError(tb testing.TB, input any, err error) {
	tb.Helper()
	if errors.Is(err, ErrSyntax) {
		var se *SyntaxError
		if !errors.As(err, &se) {
			tb.Fatalf("%q: ErrSyntax without *SyntaxError: %v", input, err)
		}
		if se.Expected == "" || se.Found == "" {
			tb.Fatalf("%q: SyntaxError without Expected/Found: %#v", input, se)
		}
		return
	}
	if errors.Is(err, ErrTooLong) || errors.Is(err, ErrTooDeep) {
		return
	}
	tb.Fatalf("%q: unexpected error kind: %v", input, err)
}

// algoliaExpressible reports whether String(n) is meant to parse back to n: no Exists, no
// empty And or Or.
func algoliaExpressible(n Node) bool {
	ok := true
	Walk(n, func(n Node) bool {
		switch x := n.(type) {
		case Exists:
			ok = false
		case And:
			if len(x.Nodes) < 2 {
				ok = false
			}
		case Or:
			if len(x.Nodes) < 2 {
				ok = false
			}
		}
		return ok
	})
	return ok
}

// checkRoundTrip checks that Parse(String(n)) is n.
func checkRoundTrip(tb testing.TB, input any, n Node) {
	tb.Helper()
	s := String(n)
	back, err := Parse(s)
	if err != nil {
		tb.Fatalf("input %q: String gave %q, which does not parse: %v", input, s, err)
	}
	if !reflect.DeepEqual(back, n) {
		tb.Fatalf("input %q: String gave %q, which parses to\n%#v\nwant\n%#v", input, s, back, n)
	}
}
