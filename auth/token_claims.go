package auth

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/keyhole-search/keyhole/query/filter"
)

// tokenSearchParams are the Algolia search parameters read from a token's top level (any
// member of a "searchParams" object is one too). Other top-level claims are ignored.
var tokenSearchParams = map[string]bool{
	"query": true, "hitsPerPage": true, "page": true, "offset": true, "length": true,
	"facets": true, "maxValuesPerFacet": true, "sortFacetValuesBy": true, "maxFacetHits": true,
	"attributesToHighlight": true, "attributesToSnippet": true, "highlightPreTag": true,
	"highlightPostTag": true, "snippetEllipsisText": true, "restrictSearchableAttributes": true,
	"typoTolerance": true, "distinct": true, "getRankingInfo": true, "analytics": true,
	"clickAnalytics": true, "analyticsTags": true, "enableRules": true, "ruleContexts": true,
	"enablePersonalization": true, "aroundLatLng": true, "aroundRadius": true,
	"insideBoundingBox": true, "insidePolygon": true, "optionalFilters": true,
	"removeStopWords": true, "ignorePlurals": true, "queryLanguages": true,
	"advancedSyntax": true, "optionalWords": true, "removeWordsIfNoResults": true,
	"responseFields": true, "synonyms": true, "queryType": true, "exactOnSingleWordQuery": true,
}

// Claims that may be given both at the top level and in searchParams.
const (
	seenUserToken uint8 = 1 << iota
	seenMaxHits
	seenAttrs
)

// claimErr refuses a claim, naming it (never quoting its value).
func claimErr(name, why string) error {
	if len(name) > 64 {
		name = name[:64] + "…"
	}
	return fmt.Errorf("%w: claim %q: %s", ErrInvalidRestrictions, name, why)
}

// tokenRules are the restrictions a token's claims add, as one more layer.
type tokenRules struct {
	l            layer
	filters      []filter.Node
	searchRules  []string // patterns (nil: no searchRules claim)
	indexFilters []IndexFilter
	unscoped     []string
	rateLimit    int
	seen         uint8        // seenUserToken... : given at the top level or in searchParams
	fc           *filterCache // parses filters (nil: no cache)
}

// read reads the restriction claims of a verified token into r. A claim of the wrong type is
// an ErrInvalidRestrictions naming it.
func (r *tokenRules) read(claims members) error {
	for _, m := range claims { // sorted by name: the same token always gives the same tree
		if isNull(m.val) {
			continue
		}
		if err := r.claim(m.name, m.val, false); err != nil {
			return err
		}
	}
	r.l.filter = filter.Conj(r.filters...)
	return nil
}

// claim reads one claim; inParams says it is a member of "searchParams".
func (r *tokenRules) claim(name string, val json.RawMessage, inParams bool) error {
	label := name
	if inParams {
		label = "searchParams." + name
	}
	switch name {
	case "filters":
		s, ok := jsonString(val)
		if !ok {
			return claimErr(label, "not a string")
		}
		if strings.TrimSpace(s) == "" {
			return nil
		}
		n, err := r.fc.parse(filterAlgolia, s, filter.Parse)
		if err != nil {
			return claimErr(label, describeFilterError(err))
		}
		r.filters = append(r.filters, n)
	case "facetFilters", "numericFilters", "tagFilters":
		var v any
		if err := json.Unmarshal(val, &v); err != nil {
			return claimErr(label, "not JSON")
		}
		switch v.(type) {
		case string, []any:
		default:
			return claimErr(label, "not a string or an array")
		}
		n, err := parseFilterValue(name, v)
		if err != nil {
			return claimErr(label, describeFilterError(err))
		}
		if n != nil {
			r.filters = append(r.filters, n)
		}
	case "userToken":
		s, ok := jsonString(val)
		if !ok {
			return claimErr(label, "not a string")
		}
		if r.seen&seenUserToken != 0 && s != r.l.userToken {
			return claimErr(label, "given twice with different values")
		}
		r.seen |= seenUserToken
		r.l.userToken = s
	case "maxHitsPerQuery":
		n, ok := jsonInt(val)
		if !ok || n < 0 {
			return claimErr(label, "not a non-negative integer")
		}
		if r.seen&seenMaxHits == 0 || n < int64(r.l.maxHits) {
			r.l.maxHits = int(min(n, 1<<31-1))
		}
		r.seen |= seenMaxHits
	case "attributesToRetrieve":
		list, err := jsonList(val)
		if err != nil && !bytes.Equal(bytes.TrimSpace(val), []byte("[]")) {
			return claimErr(label, err.Error())
		}
		if list == nil {
			list = []string{}
		}
		if r.seen&seenAttrs != 0 {
			list = intersectAttrs(r.l.attrs, list)
		}
		r.seen |= seenAttrs
		r.l.attrs, r.l.hasAttrs = list, true
	case "searchParams":
		if inParams {
			return claimErr(label, "not allowed inside searchParams")
		}
		var arr [8]member
		params, _, ok := readObject(val, arr[:0])
		if !ok {
			return claimErr(label, "not an object")
		}
		for _, m := range params {
			if isNull(m.val) {
				continue
			}
			if err := r.claim(m.name, m.val, true); err != nil {
				return err
			}
		}
	case "restrictIndices", "searchRules", "rateLimit", "validUntil", "restrictSources", "referers":
		if inParams {
			return claimErr(label, "a restriction, not a search parameter: put it at the top level")
		}
		return r.restriction(name, val)
	default:
		if !inParams && !tokenSearchParams[name] {
			return nil // unknown claims are ignored
		}
		text, err := paramText(val)
		if err != nil {
			return claimErr(label, err.Error())
		}
		if r.l.params == nil {
			r.l.params = url.Values{}
		}
		r.l.params.Set(name, text)
	}
	return nil
}

// restriction reads a top-level restriction claim.
func (r *tokenRules) restriction(name string, val json.RawMessage) error {
	switch name {
	case "restrictIndices":
		list, err := jsonList(val)
		if err != nil {
			return claimErr(name, err.Error())
		}
		r.l.indexes, r.l.hasIndexes = list, true
		r.addUnscoped(list)
	case "searchRules":
		return r.readSearchRules(val)
	case "rateLimit":
		n, ok := jsonInt(val)
		if !ok || n < 1 {
			return claimErr(name, "not a positive integer (queries per minute)")
		}
		r.rateLimit = int(min(n, 1<<31-1))
	case "validUntil":
		n, ok := jsonInt(val)
		if !ok {
			return claimErr(name, "not Unix seconds")
		}
		if n > maxValidUntil || n < -maxValidUntil {
			return claimErr(name, "out of range (milliseconds?)")
		}
		r.l.validUntil, r.l.hasValidUntil = n, true
	case "restrictSources":
		list, err := jsonListSep(val, ",;")
		if err != nil {
			return claimErr(name, err.Error())
		}
		for _, s := range list {
			p, err := parseSource(s)
			if err != nil {
				return claimErr(name, "not an IP address or CIDR range")
			}
			r.l.sources = append(r.l.sources, p)
		}
	case "referers":
		list, err := jsonList(val)
		if err != nil {
			return claimErr(name, err.Error())
		}
		r.l.referers = list
	}
	return nil
}

// readSearchRules reads Meilisearch's searchRules: a list of index patterns, or an object
// from pattern to {"filter": string | array} or {} or null.
func (r *tokenRules) readSearchRules(val json.RawMessage) error {
	const name = "searchRules"
	t := bytes.TrimSpace(val)
	if len(t) > 0 && t[0] == '[' {
		list, err := jsonList(val)
		if err != nil {
			return claimErr(name, err.Error())
		}
		r.searchRules = list
		r.addUnscoped(list)
		return nil
	}
	var arr, objArr [8]member
	rules, _, ok := readObject(val, arr[:0]) // sorted: a stable order
	if !ok {
		return claimErr(name, "not a list of index patterns or an object")
	}
	if len(rules) == 0 {
		return claimErr(name, "empty: a token that may read no index")
	}
	patterns := make([]string, 0, len(rules))
	var ifs []IndexFilter
	anyFilter := false
	for _, rm := range rules {
		p, rule := rm.name, rm.val
		if strings.TrimSpace(p) == "" {
			return claimErr(name, "empty index pattern")
		}
		patterns = append(patterns, p)
		var f filter.Node
		if !isNull(rule) {
			obj, _, ok := readObject(rule, objArr[:0])
			if !ok {
				return claimErr(name, "a rule is not an object or null")
			}
			if fv, ok := obj.get("filter"); ok && !isNull(fv) {
				var n filter.Node
				var err error
				if s, ok := jsonString(fv); ok {
					n, err = r.fc.parse(filterMeili, s, parseMeiliText) // the common case
				} else {
					var v any
					if err := json.Unmarshal(fv, &v); err != nil {
						return claimErr(name, "filter is not JSON")
					}
					n, err = filter.ParseMeiliValue(v)
				}
				if err != nil {
					return claimErr(name, describeFilterError(err))
				}
				f = n
				anyFilter = anyFilter || n != nil
			}
		}
		ifs = append(ifs, IndexFilter{Pattern: p, Filter: f})
	}
	r.searchRules = patterns
	r.addUnscoped(patterns)
	// Rules without a filter matter only to stop a less specific rule's filter (the most
	// specific pattern wins, as in Meilisearch), so they are kept only when some rule has one.
	if anyFilter {
		r.indexFilters = ifs
	}
	return nil
}

// addUnscoped records the exact index names (no '*') among patterns.
func (r *tokenRules) addUnscoped(patterns []string) {
	for _, p := range patterns {
		if !strings.Contains(p, "*") && !slices.Contains(r.unscoped, p) {
			r.unscoped = append(r.unscoped, p)
		}
	}
}

// compile stacks the token's layer over base (the signing key's or the provider's).
func (r *tokenRules) compile(base *compiled, sub string) *compiled {
	c := apply(base, &r.l)
	cr := &c.r
	if r.searchRules != nil {
		cr.IndexLayers = capped(append(append([][]string(nil), cr.IndexLayers...), capped(r.searchRules)))
	}
	if len(r.indexFilters) > 0 {
		cr.IndexFilters = capped(append(append([]IndexFilter(nil), cr.IndexFilters...), r.indexFilters...))
	}
	if len(r.unscoped) > 0 {
		cr.UnscopedIndexes = capped(r.unscoped)
	}
	if r.rateLimit > 0 && (cr.RateLimit == 0 || r.rateLimit < cr.RateLimit) {
		cr.RateLimit = r.rateLimit
	}
	cr.UserID = sub
	return c
}

// parseFilterValue parses facetFilters, numericFilters or tagFilters given as decoded JSON.
func parseFilterValue(name string, v any) (filter.Node, error) {
	switch name {
	case "facetFilters":
		return filter.ParseFacetFilters(v)
	case "numericFilters":
		return filter.ParseNumericFilters(v)
	}
	return filter.ParseTagFilters(v)
}

// jsonString reads a JSON string as encoding/json does (false: not a string). The raw value
// comes from a checked document: one without escapes is its text between the quotes.
func jsonString(val json.RawMessage) (string, bool) {
	if len(val) == 0 || val[0] != '"' {
		return "", false
	}
	return unquote(val)
}

// jsonInt reads an integer (a number with no fractional part).
func jsonInt(val json.RawMessage) (int64, bool) {
	n, err := strconv.ParseInt(string(bytes.TrimSpace(val)), 10, 64)
	if err == nil {
		return n, true
	}
	f, err := strconv.ParseFloat(string(bytes.TrimSpace(val)), 64)
	if err != nil || f != float64(int64(f)) {
		return 0, false
	}
	return int64(f), true
}

// jsonList reads a list given as a JSON array of strings or as a comma-separated string.
func jsonList(val json.RawMessage) ([]string, error) { return jsonListSep(val, ",") }

func jsonListSep(val json.RawMessage, seps string) ([]string, error) {
	if s, ok := jsonString(val); ok {
		return parseList(s, seps)
	}
	var items []string
	if err := json.Unmarshal(val, &items); err != nil {
		return nil, fmt.Errorf("not a list of strings or a comma-separated string")
	}
	var out []string
	for _, it := range items {
		if it = strings.TrimSpace(it); it != "" {
			out = append(out, it)
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("empty list")
	}
	return out, nil
}

// paramText writes a search parameter's value as text, as in a params string: a string as
// is, a number or boolean as written, an array as compact JSON.
func paramText(val json.RawMessage) (string, error) {
	t := bytes.TrimSpace(val)
	switch {
	case len(t) == 0:
		return "", fmt.Errorf("empty")
	case t[0] == '"':
		s, ok := jsonString(t)
		if !ok {
			return "", fmt.Errorf("not a string")
		}
		return s, nil
	case t[0] == '[':
		var buf bytes.Buffer
		if err := json.Compact(&buf, t); err != nil {
			return "", fmt.Errorf("not JSON")
		}
		return buf.String(), nil
	case t[0] == '{':
		return "", fmt.Errorf("an object is not a search parameter value")
	}
	return string(t), nil
}
