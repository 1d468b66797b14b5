package query

import (
	"encoding/json"
	"sort"
	"strconv"
	"strings"

	"github.com/keyhole-search/keyhole/index"
)

// HighlightResult is one leaf of _highlightResult or _snippetResult.
type HighlightResult struct {
	Value            string   `json:"value"`
	MatchLevel       string   `json:"matchLevel"`
	MatchedWords     []string `json:"matchedWords"`
	FullyHighlighted *bool    `json:"fullyHighlighted,omitempty"`
}

type highlighter struct {
	an        *index.Analyzer
	plan      textPlan
	pre, post string
	ellipsis  string
}

// matchWord reports which query word a text token matches (-1 for none), and whether the
// match covers the whole token (false for a prefix match, which highlights only the prefix).
func (h *highlighter) matchWord(tok string) (int, int) {
	best, bestLen := -1, 0
	for i, w := range h.plan.words {
		switch {
		case tok == w:
			return i, len(tok)
		case i == len(h.plan.words)-1 && h.plan.prefix && strings.HasPrefix(tok, w):
			if best < 0 {
				best, bestLen = i, len(w)
			}
		case h.plan.typos[i] > 0 && withinEdits(tok, w, h.plan.typos[i]):
			if best < 0 {
				best, bestLen = i, len(tok)
			}
		}
	}
	return best, bestLen
}

// withinEdits reports whether a and b are at most k edits apart with the same first letter
// (the typo rule of the text query).
func withinEdits(a, b string, k int) bool {
	ra, rb := []rune(a), []rune(b)
	if len(ra) == 0 || len(rb) == 0 || ra[0] != rb[0] {
		return false
	}
	if d := len(ra) - len(rb); d > k || -d > k {
		return false
	}
	prev := make([]int, len(rb)+1)
	cur := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur[0] = i
		rowMin := cur[0]
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			rowMin = min(rowMin, cur[j])
		}
		if rowMin > k {
			return false
		}
		prev, cur = cur, prev
	}
	return prev[len(rb)] <= k
}

type span struct{ start, end int }

// mark finds the matched spans of text and the query words they matched.
func (h *highlighter) mark(text string) ([]span, []index.Token, map[int]bool) {
	toks := h.an.Tokenize(text)
	var spans []span
	matched := map[int]bool{}
	if len(h.plan.words) == 0 {
		return nil, toks, matched
	}
	for _, t := range toks {
		wi, n := h.matchWord(t.Term)
		if wi < 0 {
			continue
		}
		matched[wi] = true
		end := t.End
		if n < len(t.Term) && n < t.End-t.Start {
			// Prefix match: highlight only the typed prefix when the token maps byte for
			// byte onto the text (no folding changed its length).
			if t.End-t.Start == len(t.Term) {
				end = t.Start + n
			}
		}
		spans = append(spans, span{t.Start, end})
	}
	return spans, toks, matched
}

func (h *highlighter) render(text string, spans []span, from, to int) string {
	var b strings.Builder
	pos := from
	for _, s := range spans {
		if s.end <= from || s.start >= to {
			continue
		}
		b.WriteString(text[pos:s.start])
		b.WriteString(h.pre)
		b.WriteString(text[s.start:s.end])
		b.WriteString(h.post)
		pos = s.end
	}
	b.WriteString(text[pos:to])
	return b.String()
}

func (h *highlighter) level(matched map[int]bool) (string, []string) {
	words := make([]int, 0, len(matched))
	for i := range matched {
		words = append(words, i)
	}
	sort.Ints(words)
	mw := make([]string, 0, len(words))
	for _, i := range words {
		mw = append(mw, h.plan.words[i])
	}
	switch {
	case len(matched) == 0:
		return "none", mw
	case len(matched) == len(h.plan.words):
		return "full", mw
	}
	return "partial", mw
}

func (h *highlighter) highlightText(text string) HighlightResult {
	if len(h.plan.words) == 0 {
		// Nothing to mark (an empty query): no need to tokenize.
		full := false
		return HighlightResult{Value: text, MatchLevel: "none", MatchedWords: []string{}, FullyHighlighted: &full}
	}
	spans, toks, matched := h.mark(text)
	lvl, mw := h.level(matched)
	full := len(toks) > 0 && len(spans) == len(toks)
	return HighlightResult{Value: h.render(text, spans, 0, len(text)), MatchLevel: lvl, MatchedWords: mw, FullyHighlighted: &full}
}

func (h *highlighter) snippetText(text string, words int) HighlightResult {
	spans, toks, matched := h.mark(text)
	lvl, _ := h.level(matched)
	if len(toks) <= words || words <= 0 {
		return HighlightResult{Value: h.render(text, spans, 0, len(text)), MatchLevel: lvl}
	}
	first := 0
	if len(spans) > 0 {
		for i, t := range toks {
			if t.Start == spans[0].start {
				first = i
				break
			}
		}
	}
	start := max(0, first-words/2)
	if start+words > len(toks) {
		start = len(toks) - words
	}
	from, to := toks[start].Start, toks[start+words-1].End
	if start == 0 {
		from = 0
	}
	v := h.render(text, spans, from, to)
	if start > 0 {
		v = h.ellipsis + v
	}
	if start+words < len(toks) {
		v += h.ellipsis
	} else {
		v = h.render(text, spans, from, len(text))
		if start > 0 {
			v = h.ellipsis + v
		}
	}
	return HighlightResult{Value: v, MatchLevel: lvl}
}

// highlightAny mirrors a source value with HighlightResult leaves.
func (h *highlighter) highlightAny(v any, snippetWords int) any {
	switch x := v.(type) {
	case string:
		if snippetWords > 0 {
			return h.snippetText(x, snippetWords)
		}
		return h.highlightText(x)
	case json.Number:
		return h.leaf(x.String(), snippetWords)
	case float64:
		return h.leaf(strconv.FormatFloat(x, 'f', -1, 64), snippetWords)
	case bool:
		return h.leaf(strconv.FormatBool(x), snippetWords)
	case []any:
		out := make([]any, 0, len(x))
		for _, e := range x {
			if r := h.highlightAny(e, snippetWords); r != nil {
				out = append(out, r)
			}
		}
		return out
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			if r := h.highlightAny(e, snippetWords); r != nil {
				out[k] = r
			}
		}
		return out
	}
	return nil
}

func (h *highlighter) leaf(s string, snippetWords int) HighlightResult {
	if snippetWords > 0 {
		return h.snippetText(s, snippetWords)
	}
	return h.highlightText(s)
}
