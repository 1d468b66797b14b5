package filter

import (
	"math"
	"math/rand"
	"reflect"
	"strings"
	"testing"
)

func TestString(t *testing.T) {
	cases := []struct {
		n    Node
		want string
	}{
		{nil, ""},
		{fc("brand", "Acme"), "brand:Acme"},
		{fc("brand", "Acme Inc"), `brand:"Acme Inc"`},
		{fc("my attr", `say "hi" \o/`), `"my attr":"say \"hi\" \\o/"`},
		{fc("a", ""), `a:""`},
		{fc("a", "AND"), `a:"AND"`},
		{fc("a", "-x"), "a:-x"},
		{fc("city", "Zürich"), "city:Zürich"},
		{tg("x"), "x"},
		{tg("TO"), `"TO"`},
		{tg("a:b"), `"a:b"`},
		{num("price", OpGe, 15), "price>=15"},
		{num("price", OpNe, -0.5), "price!=-0.5"},
		{num("p", OpLt, 1e21), "p<1e+21"},
		{rng("price", 10, 20.5), "price:10 TO 20.5"},
		{Exists{Attr: "a"}, "EXISTS(a)"},
		{and(tg("a"), or(tg("b"), tg("c"))), "(a AND (b OR c))"},
		{not(or(tg("a"), tg("b"))), "NOT (a OR b)"},
		{not(not(tg("a"))), "NOT NOT a"},
		{And{}, "(AND)"},
		{Or{}, "(OR)"},
	}
	for _, c := range cases {
		if got := String(c.n); got != c.want {
			t.Errorf("String(%#v) = %q, want %q", c.n, got, c.want)
		}
	}
}

// randomTree builds a random tree of the shapes the parsers produce.
func randomTree(r *rand.Rand, depth int) Node {
	if depth <= 0 || r.Intn(3) == 0 {
		switch r.Intn(4) {
		case 0:
			return Facet{Attr: randomAttr(r), Value: randomText(r)}
		case 1:
			return Tag{Value: randomText(r)}
		case 2:
			return Numeric{Attr: randomAttr(r), Op: Op(r.Intn(6)), Value: randomFloat(r)}
		default:
			return Range{Attr: randomAttr(r), Min: randomFloat(r), Max: randomFloat(r)}
		}
	}
	switch r.Intn(3) {
	case 0:
		return Not{Node: randomTree(r, depth-1)}
	case 1:
		nodes := make([]Node, 2+r.Intn(3))
		for i := range nodes {
			nodes[i] = randomTree(r, depth-1)
		}
		return And{Nodes: nodes}
	default:
		nodes := make([]Node, 2+r.Intn(3))
		for i := range nodes {
			nodes[i] = randomTree(r, depth-1)
		}
		return Or{Nodes: nodes}
	}
}

var textPool = []string{
	"a", "brand", "Acme Inc", "", " ", "AND", "OR", "NOT", "TO", "and", "-x", `\-x`, `"`, `'`, `\`,
	`a\"b`, "(", ")", "()", ":", "a:b", "<", ">=", "!=", "!", "=", ",", "10", "-1.5", "1e3",
	"true", "Zürich", "東京", "🙂", "\u00a0", "\t", "\xff\xfe", "_tags", "a.b", "x y z", "[1]",
}

const runePool = "ab Z09_-.:()<>=!,\"'\\\t\u00a0üé東🙂\xff"

func randomText(r *rand.Rand) string {
	if r.Intn(2) == 0 {
		return textPool[r.Intn(len(textPool))]
	}
	var b strings.Builder
	for n := r.Intn(8); n > 0; n-- {
		i := r.Intn(len(runePool))
		b.WriteByte(runePool[i]) // may split a rune: invalid UTF-8 on purpose
	}
	return b.String()
}

func randomAttr(r *rand.Rand) string {
	for {
		s := randomText(r)
		if s != "" && s != tagsAttr {
			return s
		}
	}
}

func randomFloat(r *rand.Rand) float64 {
	switch r.Intn(5) {
	case 0:
		return float64(r.Intn(2000) - 1000)
	case 1:
		return r.NormFloat64() * 100
	case 2:
		return math.Copysign(0, -1)
	case 3:
		f := math.Float64frombits(r.Uint64())
		if math.IsNaN(f) || math.IsInf(f, 0) {
			return 1
		}
		return f
	default:
		return r.ExpFloat64() * math.Pow(10, float64(r.Intn(40)-20))
	}
}

func TestRoundTripRandomTrees(t *testing.T) {
	r := rand.New(rand.NewSource(20240611))
	for i := 0; i < 5000; i++ {
		n := randomTree(r, 1+r.Intn(6))
		checkRoundTrip(t, i, n)
	}
}

func TestWalkAndAttributes(t *testing.T) {
	n := and(
		fc("brand", "x"),
		or(num("price", OpLt, 3), rng("price", 1, 2), tg("t")),
		not(Exists{Attr: "a.b"}),
		tg("u"),
	)
	if got, want := Attributes(n), []string{"_tags", "a.b", "brand", "price"}; !reflect.DeepEqual(got, want) {
		t.Errorf("Attributes = %q, want %q", got, want)
	}
	if got := Attributes(nil); got != nil {
		t.Errorf("Attributes(nil) = %q, want nil", got)
	}

	var kinds []string
	Walk(n, func(n Node) bool {
		kinds = append(kinds, strings.TrimPrefix(reflect.TypeOf(n).String(), "filter."))
		return true
	})
	want := []string{"And", "Facet", "Or", "Numeric", "Range", "Tag", "Not", "Exists", "Tag"}
	if !reflect.DeepEqual(kinds, want) {
		t.Errorf("Walk order %q, want %q", kinds, want)
	}

	// Returning false skips the children.
	kinds = nil
	Walk(n, func(n Node) bool {
		kinds = append(kinds, strings.TrimPrefix(reflect.TypeOf(n).String(), "filter."))
		_, isOr := n.(Or)
		return !isOr
	})
	want = []string{"And", "Facet", "Or", "Not", "Exists", "Tag"}
	if !reflect.DeepEqual(kinds, want) {
		t.Errorf("pruned Walk order %q, want %q", kinds, want)
	}
	Walk(nil, func(Node) bool { t.Error("Walk(nil) called fn"); return true })
}
