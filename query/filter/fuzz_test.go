package filter

import (
	"encoding/json"
	"reflect"
	"testing"
)

func FuzzParse(f *testing.F) {
	for _, c := range parseCases {
		f.Add(c.in)
	}
	for _, s := range []string{"(a", "a)", "()", "attr:", ":x", "price >", `"x`, "NOT NOT NOT", "a:1 TO"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n, err := Parse(s)
		if err != nil {
			checkKnownError(t, s, err)
			return
		}
		checkRoundTrip(t, s, n)
	})
}

func FuzzParseMeili(f *testing.F) {
	for _, c := range meiliCases {
		f.Add(c.in)
	}
	for _, s := range []string{"a =", "a IN [", "a NOT", "(a = 1", "a 1 TO", `a = "x`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n, err := ParseMeili(s)
		if err != nil {
			checkKnownError(t, s, err)
			return
		}
		if algoliaExpressible(n) {
			checkRoundTrip(t, s, n)
		}
	})
}

func FuzzFacetFilters(f *testing.F) {
	for _, c := range facetFilterCases {
		if c.raw != "" {
			f.Add(c.raw)
			continue
		}
		var v any
		if err := json.Unmarshal([]byte(c.json), &v); err != nil {
			f.Fatal(err)
		}
		if s, ok := v.(string); ok {
			f.Add(s) // the string form, as a bare params value
		} else {
			f.Add(c.json)
		}
	}
	for _, s := range []string{`[`, `["a"`, `[["a:1",["b"]]]`, `a:1,(b:2`, `(a:1)x`, `[1,null]`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		v, err := ParseListValue(s)
		if err != nil {
			checkKnownError(t, s, err)
			return
		}
		n, err := ParseFacetFilters(v)
		if err != nil {
			checkKnownError(t, s, err)
			return
		}
		checkRoundTrip(t, s, n)
		// The same value must parse the same way twice (no hidden state).
		again, err := ParseFacetFilters(v)
		if err != nil || !reflect.DeepEqual(again, n) {
			t.Fatalf("%q: second parse differs: %#v, %v", s, again, err)
		}
	})
}
