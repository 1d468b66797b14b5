package auth

import (
	"errors"
	"fmt"
	"strings"

	lru "github.com/hashicorp/golang-lru/v2"
	"github.com/keyhole-search/keyhole/query/filter"
)

// parseFilterParam parses one of the filter parameters of a restrictions message.
func parseFilterParam(name, value string) (filter.Node, error) {
	if name == "filters" {
		return filter.Parse(value)
	}
	v, err := filter.ParseListValue(value)
	if err != nil {
		return nil, err
	}
	switch name {
	case "facetFilters":
		return filter.ParseFacetFilters(v)
	case "numericFilters":
		return filter.ParseNumericFilters(v)
	case "tagFilters":
		return filter.ParseTagFilters(v)
	}
	return nil, fmt.Errorf("not a filter parameter")
}

// describeFilterError says where a filter failed to parse without quoting any of it (the
// parser's own message quotes the offending text, which must not reach logs or responses).
func describeFilterError(err error) string {
	var se *filter.SyntaxError
	switch {
	case errors.As(err, &se):
		msg := "syntax error"
		if se.Element != "" {
			msg += " in element " + se.Element
		}
		if se.Column > 0 {
			msg += fmt.Sprintf(" at column %d", se.Column)
		}
		return msg
	case errors.Is(err, filter.ErrTooLong):
		return "filter too long"
	case errors.Is(err, filter.ErrTooDeep):
		return "filter nested too deeply"
	}
	return "does not parse"
}

// Filter cache bounds: how many parsed filters a Verifier keeps, and the longest text kept.
const (
	filterCacheSize    = 1024
	filterCacheMaxText = 1024
)

// filterKind says which parser read a filter text.
type filterKind uint8

const (
	filterAlgolia filterKind = iota // filter.Parse: "filters"
	filterMeili                     // filter.ParseMeiliValue of a string: a searchRules filter
	filterFacet                     // parseFilterParam("facetFilters", ...)
	filterNumeric                   // parseFilterParam("numericFilters", ...)
	filterTag                       // parseFilterParam("tagFilters", ...)
)

type filterKey struct {
	kind filterKind
	text string
}

type parsedFilter struct {
	n   filter.Node
	err error
}

// filterCache keeps parsed filters by their text, so that credentials minted again and again
// with the same restrictions (a token re-minted each session, the secured keys of one tenant)
// parse them once. Parsed filters are never changed once built (Restrictions already shares
// them between the uses of a credential), so sharing them between credentials is safe. A nil
// *filterCache parses every time. It is safe for concurrent use.
type filterCache struct {
	lru *lru.Cache[filterKey, parsedFilter]
}

func newFilterCache() *filterCache {
	c, err := lru.New[filterKey, parsedFilter](filterCacheSize)
	if err != nil {
		panic("auth: " + err.Error())
	}
	return &filterCache{lru: c}
}

// parse returns parse(text), from the cache when it was parsed before.
func (fc *filterCache) parse(kind filterKind, text string, parse func(string) (filter.Node, error)) (filter.Node, error) {
	if fc == nil || len(text) > filterCacheMaxText {
		return parse(text)
	}
	k := filterKey{kind, text}
	if p, ok := fc.lru.Get(k); ok {
		return p.n, p.err
	}
	n, err := parse(text)
	fc.lru.Add(filterKey{kind, strings.Clone(text)}, parsedFilter{n, err})
	return n, err
}

// parseFilterParam is parseFilterParam through fc.
func (fc *filterCache) parseFilterParam(name, value string) (filter.Node, error) {
	kind := filterAlgolia
	switch name {
	case "facetFilters":
		kind = filterFacet
	case "numericFilters":
		kind = filterNumeric
	case "tagFilters":
		kind = filterTag
	}
	return fc.parse(kind, value, func(v string) (filter.Node, error) { return parseFilterParam(name, v) })
}

func parseMeiliText(s string) (filter.Node, error) { return filter.ParseMeiliValue(s) }
