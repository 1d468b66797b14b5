package index

import (
	"fmt"

	"github.com/blevesearch/bleve/v2"
	"github.com/blevesearch/bleve/v2/analysis"
	"github.com/blevesearch/bleve/v2/analysis/analyzer/custom"
	"github.com/blevesearch/bleve/v2/analysis/char/asciifolding"
	"github.com/blevesearch/bleve/v2/analysis/token/lowercase"
	"github.com/blevesearch/bleve/v2/analysis/tokenizer/unicode"
	"github.com/blevesearch/bleve/v2/mapping"
	"github.com/blevesearch/bleve/v2/registry"
)

// AnalyzerName is the name under which every index mapping defines the text analyzer, and
// the mapping's default analyzer: a MatchQuery on a TextField analyzes with it.
const AnalyzerName = "keyhole_text"

// foldFilterName names the token filter that folds each token to ASCII. Bleve ships ASCII
// folding only as a character filter, which would shift the byte offsets of every token after
// a folded character (é is 2 bytes, e is 1); folding per token keeps offsets into the input.
const foldFilterName = "keyhole_ascii_folding"

func init() {
	// Bleve resolves analysis components by name from its own registry when an index is
	// opened, so the filter type must be registered once per process. This is the only
	// package-level side effect of package index; it holds no state of ours.
	if err := registry.RegisterTokenFilter(foldFilterName, func(map[string]any, *registry.Cache) (analysis.TokenFilter, error) {
		return foldFilter{f: asciifolding.New()}, nil
	}); err != nil {
		panic(err)
	}
}

type foldFilter struct {
	f *asciifolding.AsciiFoldingFilter
}

func (f foldFilter) Filter(in analysis.TokenStream) analysis.TokenStream {
	for _, t := range in {
		for _, c := range t.Term {
			if c >= 0x80 {
				t.Term = f.f.Filter(t.Term)
				break
			}
		}
	}
	return in
}

// Token is one token of analyzed text: its indexed term and the byte offsets [Start, End)
// of the text it came from.
type Token struct {
	Term       string
	Start, End int
}

// Analyzer is the text analysis of every TextField: unicode word segmentation, lowercase,
// ASCII folding ("Café" → "cafe"). It is safe for concurrent use.
type Analyzer struct {
	a analysis.Analyzer
}

// NewAnalyzer builds the text analyzer. A Manager builds one (see Manager.Analyzer); tests of
// other packages may build their own.
func NewAnalyzer() (*Analyzer, error) {
	m, err := newMapping()
	if err != nil {
		return nil, err
	}
	a := m.AnalyzerNamed(AnalyzerName)
	if a == nil {
		return nil, fmt.Errorf("index: analyzer %s not defined", AnalyzerName)
	}
	return &Analyzer{a: a}, nil
}

// Tokenize analyzes text exactly as text fields are analyzed at indexing time.
func (a *Analyzer) Tokenize(text string) []Token {
	ts := a.a.Analyze([]byte(text))
	out := make([]Token, 0, len(ts))
	for _, t := range ts {
		out = append(out, Token{Term: string(t.Term), Start: t.Start, End: t.End})
	}
	return out
}

// Bleve returns the analyzer as a Bleve analyzer (for highlighters and custom queries).
func (a *Analyzer) Bleve() analysis.Analyzer { return a.a }

// newMapping returns the index mapping of every generation: no document mapping is used
// (documents are built by buildDocument and indexed with Batch.IndexAdvanced), but the
// mapping defines the text analyzer and makes it the default, so query-time analysis of a
// field the mapping does not know (every t.* field) is the indexing-time analysis.
func newMapping() (*mapping.IndexMappingImpl, error) {
	im := bleve.NewIndexMapping()
	if err := im.AddCustomAnalyzer(AnalyzerName, map[string]any{
		"type":          custom.Name,
		"tokenizer":     unicode.Name,
		"token_filters": []any{lowercase.Name, foldFilterName},
	}); err != nil {
		return nil, fmt.Errorf("index: define analyzer: %w", err)
	}
	im.DefaultAnalyzer = AnalyzerName
	im.DefaultMapping = bleve.NewDocumentDisabledMapping()
	im.IndexDynamic = false
	im.StoreDynamic = false
	im.DocValuesDynamic = false
	return im, nil
}
