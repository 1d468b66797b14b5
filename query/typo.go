package query

import (
	"context"

	"github.com/blevesearch/bleve/v2/index/scorch"
	"github.com/blevesearch/bleve/v2/mapping"
	"github.com/blevesearch/bleve/v2/search"
	bq "github.com/blevesearch/bleve/v2/search/query"
	"github.com/blevesearch/bleve/v2/search/searcher"
	bindex "github.com/blevesearch/bleve_index_api"
	"github.com/blevesearch/vellum/levenshtein"
	lru "github.com/hashicorp/golang-lru/v2"
)

// Typo tolerance with a cached Levenshtein automaton.
//
// Bleve's FuzzyQuery builds a Levenshtein DFA for its word every time it is searched: one per
// searchable attribute, per word, per query, each allocating a table sized for the largest
// automaton (profiles of a search-box query showed half of all bytes allocated and a quarter
// of the CPU there). typoQuery matches the same terms with the same edit-distance boosts, but
// the DFA of a word is built once and shared by every attribute and, while cached, later
// queries.

// vellum's automata keep the tables they were built in: measured here, ~100 KiB for one typo
// and ~0.9 MiB for two. The caches are therefore small, about 16 MiB each at most; they still
// share a word's automaton between the attributes of one query and keep the hot words.
var dfaCacheSize = [3]int{0, 128, 16}

var (
	levBuilders [3]*levenshtein.LevenshteinAutomatonBuilder
	dfaCaches   [3]*lru.Cache[string, *levenshtein.DFA]
)

func init() {
	for f := 1; f <= 2; f++ {
		b, err := levenshtein.NewLevenshteinAutomatonBuilder(uint8(f), true)
		if err != nil {
			panic(err)
		}
		levBuilders[f] = b
		c, err := lru.New[string, *levenshtein.DFA](dfaCacheSize[f])
		if err != nil {
			panic(err)
		}
		dfaCaches[f] = c
	}
}

// wordDFA returns the (shared, read-only) automaton of word within fuzz edits.
func wordDFA(word string, fuzz int) (*levenshtein.DFA, error) {
	if d, ok := dfaCaches[fuzz].Get(word); ok {
		return d, nil
	}
	d, err := levBuilders[fuzz].BuildDfa(word, uint8(fuzz))
	if err != nil {
		return nil, err
	}
	dfaCaches[fuzz].Add(word, d)
	return d, nil
}

// typoQuery matches the terms of field within fuzz edits of word that share its first rune,
// each boosted by its edit distance as Bleve's fuzzy searcher does.
type typoQuery struct {
	word  string
	fuzz  int
	field string
	boost float64
}

func newTypoQuery(word string, fuzz int, field string, boost float64) bq.Query {
	if fuzz < 1 || fuzz > 2 {
		q := bq.NewFuzzyQuery(word)
		q.SetField(field)
		q.SetFuzziness(fuzz)
		q.SetPrefix(1)
		q.SetBoost(boost)
		return q
	}
	return &typoQuery{word: word, fuzz: fuzz, field: field, boost: boost}
}

// Searcher implements bleve's query.Query.
func (q *typoQuery) Searcher(ctx context.Context, r bindex.IndexReader, m mapping.IndexMapping, opts search.SearcherOptions) (search.Searcher, error) {
	snap, ok := r.(*scorch.IndexSnapshot)
	if !ok {
		fq := bq.NewFuzzyQuery(q.word)
		fq.SetField(q.field)
		fq.SetFuzziness(q.fuzz)
		fq.SetPrefix(1)
		fq.SetBoost(q.boost)
		return fq.Searcher(ctx, r, m, opts)
	}
	dfa, err := wordDFA(q.word, q.fuzz)
	if err != nil {
		return nil, err
	}
	var lo, hi []byte
	for _, c := range q.word {
		lo = []byte(string(c))
		hi = exclusiveEnd(lo)
		break
	}
	seen := map[string]struct{}{}
	var terms []string
	var dists []uint8
	for _, ss := range snap.Segments() {
		dict, err := ss.Segment().Dictionary(q.field)
		if err != nil {
			return nil, err
		}
		it := dict.AutomatonIterator(dfa, lo, hi)
		for {
			e, err := it.Next()
			if err != nil {
				return nil, err
			}
			if e == nil {
				break
			}
			if _, dup := seen[e.Term]; dup {
				continue
			}
			seen[e.Term] = struct{}{}
			_, d := dfa.MatchAndDistance(e.Term)
			terms = append(terms, e.Term)
			dists = append(dists, d)
		}
	}
	if len(terms) == 0 || (len(terms) == 1 && terms[0] == q.word) {
		return searcher.NewTermSearcher(ctx, r, q.word, q.field, q.boost, opts)
	}
	return searcher.NewMultiTermSearcherBoosted(ctx, r, terms, q.field, q.boost, dists, opts, true)
}

// exclusiveEnd is the smallest key after every key starting with prefix (nil: none).
func exclusiveEnd(prefix []byte) []byte {
	end := append([]byte(nil), prefix...)
	for i := len(end) - 1; i >= 0; i-- {
		end[i]++
		if end[i] != 0 {
			return end[:i+1]
		}
	}
	return nil
}
