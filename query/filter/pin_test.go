package filter

import (
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
)

func TestPins(t *testing.T) {
	tests := []struct {
		n    Node
		want []string // nil: not pinned
	}{
		{fc("team", "A"), []string{"a"}},
		{fc("other", "A"), nil},
		{not(fc("team", "a")), nil},
		{and(fc("team", "a"), fc("x", "1")), []string{"a"}},
		{and(or(fc("team", "a"), fc("team", "b")), fc("team", "B")), []string{"b"}},
		{and(fc("team", "a"), fc("team", "b")), []string{}},
		{or(fc("team", "a"), fc("team", "b"), fc("team", "A")), []string{"a", "b"}},
		{or(fc("team", "a"), fc("x", "b")), nil},
		{or(), []string{}},
		{and(), nil},
		{tg("a"), nil},
		{num("team", OpEq, 1), nil},
		{or(num("team", OpEq, 1), fc("team", "1")), nil}, // Meili's team = 1
		{nil, nil},
	}
	for _, tt := range tests {
		got, ok := Pins(tt.n, "team", strings.ToLower)
		if ok != (tt.want != nil) || !slices.Equal(got, tt.want) {
			t.Errorf("Pins(%#v) = %v, %v; want %v", tt.n, got, ok, tt.want)
		}
	}
}

// pinRecord is a record for the property test: its values of the tenant attribute, and
// the truth of every other literal (tags, numbers, other attributes) drawn at random.
type pinRecord struct {
	team  []string
	other map[string]bool
}

// eval evaluates n on r the way the translation to Bleve does (Facet case-insensitive, any
// value of an array matches).
func eval(n Node, r pinRecord) bool {
	switch t := n.(type) {
	case nil:
		return true
	case And:
		for _, c := range t.Nodes {
			if !eval(c, r) {
				return false
			}
		}
		return true
	case Or:
		for _, c := range t.Nodes {
			if eval(c, r) {
				return true
			}
		}
		return false
	case Not:
		return !eval(t.Node, r)
	case Facet:
		if t.Attr == "team" {
			for _, v := range r.team {
				if strings.EqualFold(v, t.Value) {
					return true
				}
			}
			return false
		}
		return r.other[t.Attr+"="+t.Value]
	case Tag:
		return r.other["tag="+t.Value]
	}
	return r.other["num"]
}

var pinValues = []string{"a", "A", "b", "c", "7"}

func randNode(rng *rand.Rand, depth int) Node {
	k := rng.IntN(8)
	if depth > 3 {
		k = rng.IntN(3)
	}
	switch k {
	case 0, 1:
		return fc("team", pinValues[rng.IntN(len(pinValues))])
	case 2:
		if rng.IntN(2) == 0 {
			return fc("other", pinValues[rng.IntN(2)])
		}
		return tg(pinValues[rng.IntN(2)])
	case 3:
		return not(randNode(rng, depth+1))
	case 4:
		return num("team", OpGt, 1)
	case 5, 6:
		var kids []Node
		for range rng.IntN(4) {
			kids = append(kids, randNode(rng, depth+1))
		}
		return and(kids...)
	}
	var kids []Node
	for range rng.IntN(4) {
		kids = append(kids, randNode(rng, depth+1))
	}
	return or(kids...)
}

// TestPinsNeverHideARecord: for random filters and records, a record whose tenant attribute
// holds at most one distinct value and that matches the filter has its value (or "" when it
// has none) among the pinned values. Routing on Pins can then never hide a record that the
// unpartitioned index returns.
func TestPinsNeverHideARecord(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	checked := 0
	for range 20000 {
		n := randNode(rng, 0)
		vals, ok := Pins(n, "team", strings.ToLower)
		if !ok {
			continue
		}
		for range 20 {
			r := pinRecord{other: map[string]bool{}}
			for range rng.IntN(3) {
				r.team = append(r.team, pinValues[rng.IntN(len(pinValues))])
			}
			for _, k := range []string{"other=a", "other=A", "tag=a", "tag=A", "num"} {
				r.other[k] = rng.IntN(2) == 0
			}
			keys := map[string]bool{}
			for _, v := range r.team {
				keys[strings.ToLower(v)] = true
			}
			if len(keys) > 1 || !eval(n, r) {
				continue // several tenants: the mixed shard, always read
			}
			key := ""
			for k := range keys {
				key = k
			}
			checked++
			if !slices.Contains(vals, key) {
				t.Fatalf("filter %s pins team to %v, but matches a record of team %q", String(n), vals, key)
			}
		}
	}
	if checked < 1000 {
		t.Fatalf("only %d matching pinned cases checked", checked)
	}
}
