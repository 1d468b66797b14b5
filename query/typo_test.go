package query

import (
	"context"
	"fmt"
	"math/rand"
	"testing"

	"github.com/blevesearch/bleve/v2"
	"github.com/blevesearch/bleve/v2/index/scorch"
	bq "github.com/blevesearch/bleve/v2/search/query"
)

// TestTypoQueryMatchesFuzzyQuery checks that the cached-automaton typo query finds the same
// documents with the same scores as Bleve's FuzzyQuery (prefix 1), over several segments.
func TestTypoQueryMatchesFuzzyQuery(t *testing.T) {
	im := bleve.NewIndexMapping()
	idx, err := bleve.NewUsing(t.TempDir(), im, scorch.Name, bleve.Config.DefaultKVStore, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer idx.Close()
	r := rand.New(rand.NewSource(3))
	letters := []rune("abcdeéklmnorst")
	word := func() string {
		n := 2 + r.Intn(7)
		w := make([]rune, n)
		for i := range w {
			w[i] = letters[r.Intn(len(letters))]
		}
		return string(w)
	}
	var vocab []string
	for range 300 {
		vocab = append(vocab, word())
	}
	for seg := range 4 { // one batch per segment
		b := idx.NewBatch()
		for i := range 100 {
			text := vocab[r.Intn(len(vocab))] + " " + vocab[r.Intn(len(vocab))]
			if err := b.Index(fmt.Sprintf("d%d-%d", seg, i), map[string]any{"f": text}); err != nil {
				t.Fatal(err)
			}
		}
		if err := idx.Batch(b); err != nil {
			t.Fatal(err)
		}
	}
	run := func(q bq.Query) map[string]float64 {
		req := bleve.NewSearchRequestOptions(q, 1000, 0, false)
		res, err := idx.SearchInContext(context.Background(), req)
		if err != nil {
			t.Fatal(err)
		}
		out := map[string]float64{}
		for _, h := range res.Hits {
			out[h.ID] = h.Score
		}
		return out
	}
	matched := 0
	for i := range 200 {
		w := vocab[r.Intn(len(vocab))]
		if i%3 == 0 {
			w = word()
		}
		fuzz := 1 + i%2
		fq := bq.NewFuzzyQuery(w)
		fq.SetField("f")
		fq.SetFuzziness(fuzz)
		fq.SetPrefix(1)
		fq.SetBoost(0.5)
		want := run(fq)
		got := run(newTypoQuery(w, fuzz, "f", 0.5))
		if len(got) != len(want) {
			t.Fatalf("%q~%d: typo query finds %d documents, fuzzy query %d", w, fuzz, len(got), len(want))
		}
		for id, s := range want {
			if g, ok := got[id]; !ok || g-s > 1e-9 || s-g > 1e-9 {
				t.Fatalf("%q~%d: document %s scored %v, fuzzy query %v (found %v)", w, fuzz, id, g, s, ok)
			}
		}
		matched += len(want)
	}
	if matched == 0 {
		t.Fatal("no query matched anything: the test data is wrong")
	}
}
