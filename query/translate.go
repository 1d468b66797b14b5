package query

import (
	"strings"

	bq "github.com/blevesearch/bleve/v2/search/query"

	"github.com/keyhole-search/keyhole/index"
	"github.com/keyhole-search/keyhole/query/filter"
)

// filterQuery translates a filter tree into a Bleve query. A nil tree is nil (no filter).
func filterQuery(n filter.Node) bq.Query {
	switch t := n.(type) {
	case nil:
		return nil
	case filter.And:
		if len(t.Nodes) == 0 {
			return bq.NewMatchAllQuery()
		}
		qs := make([]bq.Query, 0, len(t.Nodes))
		for _, c := range t.Nodes {
			qs = append(qs, filterQuery(c))
		}
		return bq.NewConjunctionQuery(qs)
	case filter.Or:
		if len(t.Nodes) == 0 {
			return bq.NewMatchNoneQuery()
		}
		qs := make([]bq.Query, 0, len(t.Nodes))
		for _, c := range t.Nodes {
			qs = append(qs, filterQuery(c))
		}
		return bq.NewDisjunctionQuery(qs)
	case filter.Not:
		b := bq.NewBooleanQuery([]bq.Query{bq.NewMatchAllQuery()}, nil, []bq.Query{filterQuery(t.Node)})
		return b
	case filter.Facet:
		if t.Attr == "_tags" {
			return term(index.FieldTags, t.Value)
		}
		return term(index.FacetLowerField(t.Attr), strings.ToLower(t.Value))
	case filter.Tag:
		return term(index.FieldTags, t.Value)
	case filter.Exists:
		return term(index.FieldExists, t.Attr)
	case filter.Range:
		return numRange(t.Attr, &t.Min, &t.Max, true, true)
	case filter.Numeric:
		v := t.Value
		switch t.Op {
		case filter.OpEq:
			return numRange(t.Attr, &v, &v, true, true)
		case filter.OpNe:
			eq := numRange(t.Attr, &v, &v, true, true)
			return bq.NewBooleanQuery([]bq.Query{bq.NewMatchAllQuery()}, nil, []bq.Query{eq})
		case filter.OpLt:
			return numRange(t.Attr, nil, &v, false, false)
		case filter.OpLe:
			return numRange(t.Attr, nil, &v, false, true)
		case filter.OpGt:
			return numRange(t.Attr, &v, nil, false, false)
		case filter.OpGe:
			return numRange(t.Attr, &v, nil, true, false)
		}
	}
	// An unknown node matches nothing: fail closed.
	return bq.NewMatchNoneQuery()
}

func term(field, v string) bq.Query {
	q := bq.NewTermQuery(v)
	q.SetField(field)
	return q
}

func numRange(attr string, min, max *float64, minIncl, maxIncl bool) bq.Query {
	q := bq.NewNumericRangeInclusiveQuery(min, max, &minIncl, &maxIncl)
	q.SetField(index.NumericField(attr))
	return q
}

// textPlan is a tokenized query with the typo and prefix rules applied.
type textPlan struct {
	words  []string // analyzed query words
	prefix bool     // the last word matches as a prefix
	typos  []int    // edits allowed per word
}

func planText(an *index.Analyzer, q string, typo string, min1, min2 int) textPlan {
	toks := an.Tokenize(q)
	tp := textPlan{}
	for _, t := range toks {
		tp.words = append(tp.words, t.Term)
	}
	// The last word is a prefix unless the query ends with a space (the user finished it).
	tp.prefix = len(tp.words) > 0 && !strings.HasSuffix(q, " ")
	for i, w := range tp.words {
		n := len([]rune(w))
		allowed := 0
		switch {
		case typo == "false", i >= MaxTypoWords:
		default:
			if n >= min2 {
				allowed = 2
			} else if n >= min1 {
				allowed = 1
			}
			if typo == "min" && allowed > 1 {
				allowed = 1
			}
			if typo == "strict" && allowed > 1 {
				allowed = 1
			}
		}
		tp.typos = append(tp.typos, allowed)
	}
	return tp
}

// textQuery builds the full-text part: every word must match (in some searchable attribute),
// exactly, with its allowed typos, or, for the last word, as a prefix. Earlier attributes
// weigh more, exact matches more than prefix matches, prefix more than typo matches.
func textQuery(tp textPlan, attrs []index.SearchableAttribute) bq.Query {
	if len(tp.words) == 0 {
		return bq.NewMatchAllQuery()
	}
	if len(attrs) == 0 {
		return bq.NewMatchNoneQuery()
	}
	maxRank := 0
	for _, a := range attrs {
		if a.Rank > maxRank {
			maxRank = a.Rank
		}
	}
	words := make([]bq.Query, 0, len(tp.words))
	for i, w := range tp.words {
		last := i == len(tp.words)-1
		var alts []bq.Query
		for _, a := range attrs {
			weight := float64(maxRank-a.Rank+1) / float64(maxRank+1)
			exact := bq.NewTermQuery(w)
			exact.SetField(a.Field)
			exact.SetBoost(4 * weight)
			alts = append(alts, exact)
			if last && tp.prefix {
				pq := bq.NewPrefixQuery(w)
				pq.SetField(a.Field)
				pq.SetBoost(2 * weight)
				alts = append(alts, pq)
			}
			if tp.typos[i] > 0 {
				// The first letter must match (it bounds the expansion); the word's
				// automaton is built once for every attribute and later query.
				alts = append(alts, newTypoQuery(w, tp.typos[i], a.Field, weight))
			}
		}
		words = append(words, bq.NewDisjunctionQuery(alts))
	}
	if len(words) == 1 {
		return words[0]
	}
	return bq.NewConjunctionQuery(words)
}
