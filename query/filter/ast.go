// Package filter holds the filter language of keyhole: the abstract syntax tree that every
// filter (a request's filters, facetFilters, numericFilters, tagFilters, a key's or a token's
// restrictions, Meilisearch filter expressions) is parsed into, and the parsers that build it.
//
// The package is a leaf: it imports nothing of keyhole, so that auth (which parses a key's
// restrictions once) and query (which merges and translates trees) can both use it.
// Restrictions are combined by building trees (And{key, request}), never by joining strings.
package filter

// Node is one node of a filter tree. A nil Node means "no filter" (everything matches).
type Node interface {
	isNode()
}

// And matches records that match every child. An empty And matches everything.
type And struct {
	Nodes []Node
}

// Or matches records that match at least one child. An empty Or matches nothing.
type Or struct {
	Nodes []Node
}

// Not matches records that do not match Node.
type Not struct {
	Node Node
}

// Facet matches records whose attribute Attr (a dotted path such as "authors.main") holds
// the value Value, compared case-insensitively. Booleans are the values "true" and "false";
// numbers are compared through their shortest decimal text ("10", "9.99").
type Facet struct {
	Attr  string
	Value string
}

// Tag matches records whose _tags hold Value exactly (case-sensitive).
type Tag struct {
	Value string
}

// Op is a numeric comparison operator.
type Op int

// The numeric comparison operators.
const (
	OpEq Op = iota // =
	OpNe           // !=
	OpLt           // <
	OpLe           // <=
	OpGt           // >
	OpGe           // >=
)

// String returns the operator as written in a filter.
func (o Op) String() string {
	switch o {
	case OpEq:
		return "="
	case OpNe:
		return "!="
	case OpLt:
		return "<"
	case OpLe:
		return "<="
	case OpGt:
		return ">"
	case OpGe:
		return ">="
	}
	return "?"
}

// Numeric matches records whose numeric attribute Attr compares to Value with Op. A record
// whose attribute is an array matches when any element does.
type Numeric struct {
	Attr  string
	Op    Op
	Value float64
}

// Range matches records whose numeric attribute Attr lies in [Min, Max] (both inclusive).
type Range struct {
	Attr     string
	Min, Max float64
}

// Exists matches records that have attribute Attr (Meilisearch's EXISTS).
type Exists struct {
	Attr string
}

func (And) isNode()     {}
func (Or) isNode()      {}
func (Not) isNode()     {}
func (Facet) isNode()   {}
func (Tag) isNode()     {}
func (Numeric) isNode() {}
func (Range) isNode()   {}
func (Exists) isNode()  {}

// Conj returns the conjunction of the non-nil nodes: nil when there are none, the node itself
// when there is one, otherwise an And holding them as separate subtrees (never flattened into
// or merged with each other's children, so each keeps its own meaning).
func Conj(nodes ...Node) Node {
	var kept []Node
	for _, n := range nodes {
		if n != nil {
			kept = append(kept, n)
		}
	}
	switch len(kept) {
	case 0:
		return nil
	case 1:
		return kept[0]
	}
	return And{Nodes: kept}
}
