package query

import (
	"fmt"
	"unicode"
	"unicode/utf8"

	"github.com/keyhole-search/keyhole/query/filter"
)

// Limits of one search request. Each bounds the work a single request can ask for; a request
// beyond one is refused with a *ParamError (a 400) that names the limit and the value, never
// silently truncated. Parameters are checked where they are decoded (Params.set), except what
// needs the analyzer or the index, which prepare checks.
const (
	// MaxQueryBytes is the longest query, in bytes.
	MaxQueryBytes = 512
	// MaxQueryWords is the most words a query may have once tokenized.
	MaxQueryWords = 32
	// MaxFacetQueryBytes is the longest facetQuery, in bytes.
	MaxFacetQueryBytes = 256
	// MaxFacets is the most names the facets parameter may list ("*" counts as one).
	MaxFacets = 100
	// MaxAttributes is the most entries attributesToRetrieve, attributesToHighlight,
	// attributesToSnippet and restrictSearchableAttributes may each list.
	MaxAttributes = 100
	// MaxFilterLeaves is the most conditions (facet, numeric, tag and EXISTS tests) the
	// request's filters, facetFilters, numericFilters and tagFilters may hold together: every
	// condition is a term or range search, so a huge OR list is a huge disjunction.
	// (filter.MaxFilterLength and filter.MaxDepth bound each parameter's text and nesting.)
	MaxFilterLeaves = 1000
	// MaxTypoWords is how many words of a query, from the first, are matched with typos
	// (Bleve fuzzy queries, each an automaton walk of the term dictionary per searchable
	// attribute). Later words still match exactly, and the last word still as a prefix.
	MaxTypoWords = 8
	// OneLetterPrefixMaxRecords is the size above which a one-letter last word is not
	// expanded as a prefix: on a large index "a*" is a disjunction of a large part of the
	// dictionary, for a keystroke the next one refines. The word still matches exactly (and
	// as a prefix again from its second letter).
	OneLetterPrefixMaxRecords = 100_000
)

// checkText refuses invalid UTF-8 and text longer than maxBytes (0: no length limit).
func checkText(name, s string, maxBytes int, limitName string) error {
	if !utf8.ValidString(s) {
		return paramErr(name, "invalid UTF-8 in %s", name)
	}
	if maxBytes > 0 && len(s) > maxBytes {
		return paramErr(name, "%d bytes, more than %s (%d bytes)", len(s), limitName, maxBytes)
	}
	return nil
}

// checkAttrs refuses an attribute list longer than max, and names with invalid UTF-8 or
// control characters.
func checkAttrs(name string, attrs []string, max int, limitName string) error {
	if len(attrs) > max {
		return paramErr(name, "%d entries, more than %s (%d)", len(attrs), limitName, max)
	}
	for i, a := range attrs {
		if !utf8.ValidString(a) {
			return paramErr(name, "invalid UTF-8 in %s (entry %d)", name, i+1)
		}
		for _, r := range a {
			if unicode.IsControl(r) {
				return paramErr(name, "entry %d holds a control character (%U)", i+1, r)
			}
		}
	}
	return nil
}

// checkListText refuses invalid UTF-8 anywhere in a decoded filter array.
func checkListText(name string, v any) error {
	switch x := v.(type) {
	case string:
		if !utf8.ValidString(x) {
			return paramErr(name, "invalid UTF-8 in %s", name)
		}
	case []any:
		for _, e := range x {
			if err := checkListText(name, e); err != nil {
				return err
			}
		}
	}
	return nil
}

// checkFilterLeaves refuses a request filter tree with more than MaxFilterLeaves conditions.
func checkFilterLeaves(n filter.Node) error {
	leaves := 0
	filter.Walk(n, func(x filter.Node) bool {
		switch x.(type) {
		case filter.And, filter.Or, filter.Not:
		default:
			leaves++
		}
		return true
	})
	if leaves > MaxFilterLeaves {
		return &ParamError{Param: "filters", Reason: fmt.Sprintf(
			"%d conditions across filters, facetFilters, numericFilters and tagFilters, more than MaxFilterLeaves (%d)",
			leaves, MaxFilterLeaves)}
	}
	return nil
}
