package query

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/blevesearch/bleve/v2"
	"github.com/blevesearch/bleve/v2/search"
	bq "github.com/blevesearch/bleve/v2/search/query"

	"github.com/keyhole-search/keyhole/auth"
	"github.com/keyhole-search/keyhole/index"
	"github.com/keyhole-search/keyhole/query/filter"
)

// Errors of the search layer, mapped to HTTP statuses by the api package.
var (
	// ErrNoPrincipal is returned when a read is attempted without a principal: a programming
	// error, refused rather than served unrestricted.
	ErrNoPrincipal = errors.New("no principal")
	// ErrObjectNotFound is returned for a record that does not exist or that the principal's
	// restrictions hide (the two are indistinguishable on purpose).
	ErrObjectNotFound = errors.New("ObjectID does not exist")
	// ErrUserNotScoped is returned when a user credential reads an index that has no
	// userAttribute to scope it with.
	ErrUserNotScoped = errors.New("index has no userAttribute: user credentials cannot read it")
	// ErrBadCursor is returned for a browse cursor that does not decode.
	ErrBadCursor = errors.New("invalid cursor")
)

// Service runs every read. Each method takes the principal as a required argument and forces
// its restrictions into the query it runs: there is no other way to read records.
type Service struct {
	indexes *index.Manager
	an      *index.Analyzer
	// oneLetterPrefixMax is OneLetterPrefixMaxRecords (tests lower it).
	oneLetterPrefixMax uint64
}

// NewService returns the search service over the given indexes.
func NewService(m *index.Manager) *Service {
	return &Service{indexes: m, an: m.Analyzer(), oneLetterPrefixMax: OneLetterPrefixMaxRecords}
}

// Result is the answer to one search, in Algolia's shape.
type Result struct {
	Hits                  []map[string]any          `json:"hits"`
	NbHits                int                       `json:"nbHits"`
	Page                  int                       `json:"page"`
	NbPages               int                       `json:"nbPages"`
	HitsPerPage           int                       `json:"hitsPerPage"`
	Facets                map[string]map[string]int `json:"facets,omitempty"`
	FacetsStats           map[string]FacetStats     `json:"facets_stats,omitempty"`
	ExhaustiveFacetsCount bool                      `json:"exhaustiveFacetsCount"`
	ExhaustiveNbHits      bool                      `json:"exhaustiveNbHits"`
	Exhaustive            map[string]bool           `json:"exhaustive"`
	Query                 string                    `json:"query"`
	Params                string                    `json:"params"`
	Index                 string                    `json:"index"`
	ProcessingTimeMS      int64                     `json:"processingTimeMS"`
	Cursor                string                    `json:"cursor,omitempty"`
}

// FacetStats summarises a numeric facet over the matching records.
type FacetStats struct {
	Min float64 `json:"min"`
	Max float64 `json:"max"`
	Avg float64 `json:"avg"`
	Sum float64 `json:"sum"`
}

// FacetHit is one value found by a facet search.
type FacetHit struct {
	Value       string `json:"value"`
	Highlighted string `json:"highlighted"`
	Count       int    `json:"count"`
}

// FacetResult is the answer to a facet-value search.
type FacetResult struct {
	FacetHits             []FacetHit `json:"facetHits"`
	ExhaustiveFacetsCount bool       `json:"exhaustiveFacetsCount"`
	ProcessingTimeMS      int64      `json:"processingTimeMS"`
}

// plan is a request merged with the principal's restrictions and the index's settings.
type plan struct {
	ix       *index.Index
	settings index.Settings
	req      Params
	text     textPlan
	query    bq.Query
	from     int
	size     int
	page     int
	hpp      int
	limit    int
	project  func(map[string]any) map[string]any
	hl       *highlighter
	hlAttrs  []string
	snippets map[string]int
	// tenants, when set, are the tenants the merged filter pins the index's tenantAttribute
	// to: a partitioned index reads only their shards.
	tenants *index.Tenants
}

// prepare resolves the index, merges the principal's restrictions into the request and builds
// the Bleve query. It is the one place where restrictions meet requests.
func (s *Service) prepare(p *auth.Principal, indexName string, req Params) (*plan, error) {
	if p == nil {
		return nil, ErrNoPrincipal
	}
	if err := p.CheckIndex(indexName); err != nil {
		return nil, err
	}
	ix, err := s.indexes.Get(indexName)
	if err != nil {
		return nil, err
	}
	st := ix.Settings()
	r := &p.Restrictions

	// Request filters are checked against attributesForFaceting; a key's are not (they are
	// the administrator's own, and an unfaceted attribute simply matches nothing).
	reqFilter, err := req.RequestFilter()
	if err != nil {
		return nil, err
	}
	if err := checkFaceted(reqFilter, st); err != nil {
		return nil, err
	}

	// A key's other search parameters override the request's.
	given := req.given
	for _, vals := range r.Params {
		if err := req.ApplyValues(vals); err != nil {
			return nil, fmt.Errorf("%w: %v", auth.ErrInvalidRestrictions, err)
		}
	}
	req.given = given

	forced := r.FilterFor(indexName)
	if r.UserID != "" {
		// A user credential reads an index only through its userAttribute, unless the
		// credential's rules name that index explicitly.
		if ua := settingUserAttribute(st); ua != "" {
			forced = filter.Conj(forced, filter.Facet{Attr: ua, Value: r.UserID})
		} else if !r.Unscoped(indexName) {
			return nil, ErrUserNotScoped
		}
	}

	pl := &plan{ix: ix, settings: st, req: req}
	typo := settingTypo(st)
	if req.TypoTolerance != nil {
		typo = *req.TypoTolerance
	}
	min1, min2 := settingTypoSizes(st)
	pl.text = planText(s.an, req.Query, typo, min1, min2)
	if n := len(pl.text.words); n > MaxQueryWords {
		return nil, &ParamError{Param: "query", Reason: fmt.Sprintf("%d words, more than MaxQueryWords (%d)", n, MaxQueryWords)}
	}
	if pl.text.prefix && utf8.RuneCountInString(pl.text.words[len(pl.text.words)-1]) == 1 {
		if n, err := ix.DocCount(); err == nil && n > s.oneLetterPrefixMax {
			pl.text.prefix = false
		}
	}

	attrs := ix.SearchableAttributes()
	if len(req.RestrictSearchableAttributes) > 0 {
		keep := map[string]bool{}
		for _, a := range req.RestrictSearchableAttributes {
			keep[a] = true
		}
		var sub []index.SearchableAttribute
		for _, a := range attrs {
			if keep[a.Name] {
				sub = append(sub, a)
			}
		}
		attrs = sub
	}
	q := textQuery(pl.text, attrs)
	// The forced restriction and the request's filter are separate subtrees of one AND.
	merged := filter.Conj(forced, reqFilter)
	if fq := filterQuery(merged); fq != nil {
		q = bq.NewConjunctionQuery([]bq.Query{q, fq})
	}
	pl.query = q
	// Routing is computed from the whole merged filter, the same tree as the query.
	if ta := st.TenantAttribute; ta != "" {
		if keys, ok := filter.Pins(merged, ta, index.TenantKey); ok {
			pl.tenants = &index.Tenants{Attr: ta, Keys: keys}
		}
	}

	// Pagination, with the key's cap.
	hpp := settingHitsPerPage(st)
	if req.HitsPerPage != nil {
		hpp = *req.HitsPerPage
	}
	if r.MaxHitsPerQuery > 0 && hpp > r.MaxHitsPerQuery {
		hpp = r.MaxHitsPerQuery
	}
	pl.hpp = hpp
	pl.limit = settingPaginationLimit(st)
	if req.Page != nil {
		pl.page = *req.Page
	}
	if req.Offset != nil {
		pl.from = *req.Offset
		pl.size = hpp
		if req.Length != nil {
			pl.size = *req.Length
		}
	} else {
		pl.from = pl.page * hpp
		pl.size = hpp
	}
	if r.MaxHitsPerQuery > 0 && pl.size > r.MaxHitsPerQuery {
		pl.size = r.MaxHitsPerQuery
	}
	if pl.from >= pl.limit {
		pl.size = 0
	} else if pl.from+pl.size > pl.limit {
		pl.size = pl.limit - pl.from
	}

	pl.project = projection(st, req.AttributesToRetrieve, r.AttributesToRetrieve, p.Can(auth.ACLSeeUnretrievableAttributes))

	pre, post := settingTags(st)
	if req.HighlightPreTag != nil {
		pre = *req.HighlightPreTag
	}
	if req.HighlightPostTag != nil {
		post = *req.HighlightPostTag
	}
	ell := settingEllipsis(st)
	if req.SnippetEllipsisText != nil {
		ell = *req.SnippetEllipsisText
	}
	pl.hl = &highlighter{an: s.an, plan: pl.text, pre: pre, post: post, ellipsis: ell}
	pl.hlAttrs = req.AttributesToHighlight
	if pl.hlAttrs == nil {
		pl.hlAttrs = settingHighlight(st)
	}
	if pl.hlAttrs == nil {
		for _, a := range attrs {
			pl.hlAttrs = append(pl.hlAttrs, a.Name)
		}
		if len(settingSearchable(st)) == 0 {
			pl.hlAttrs = []string{"*"}
		}
	}
	snip := req.AttributesToSnippet
	if snip == nil {
		snip = settingSnippet(st)
	}
	pl.snippets = map[string]int{}
	for _, sa := range snip {
		name, n := sa, 10
		if i := strings.LastIndexByte(sa, ':'); i > 0 {
			if v, err := strconv.Atoi(sa[i+1:]); err == nil && v > 0 {
				name, n = sa[:i], v
			}
		}
		pl.snippets[name] = n
	}
	return pl, nil
}

// checkPagination refuses a page (or offset) at or beyond the index's paginationLimitedTo:
// such a page is always empty, and a client asking for it is mistaken (InstantSearch never
// asks beyond nbPages, which the limit caps). The first page is always allowed.
func (pl *plan) checkPagination() error {
	if pl.from == 0 || pl.from < pl.limit {
		return nil
	}
	if pl.req.Offset != nil {
		return &ParamError{Param: "offset", Reason: fmt.Sprintf("offset %d is beyond paginationLimitedTo (%d) of this index", pl.from, pl.limit)}
	}
	return &ParamError{Param: "page", Reason: fmt.Sprintf("page %d × hitsPerPage %d = %d is beyond paginationLimitedTo (%d) of this index", pl.page, pl.hpp, pl.from, pl.limit)}
}

// runSearch runs sr on the plan's index, on the shards of the tenants its filter pins, under
// ctx. When ctx ends before or during the search (a deadline,
// or the client gone), the error is the context's cause, so that the caller can tell a
// timeout from a failure; a result that comes back after the deadline is dropped, as it may
// be partial.
func runSearch(ctx context.Context, pl *plan, sr *bleve.SearchRequest) (*bleve.SearchResult, error) {
	if ctx.Err() != nil {
		return nil, context.Cause(ctx)
	}
	res, err := pl.ix.SearchTenants(ctx, sr, pl.tenants)
	if ctx.Err() != nil {
		return nil, context.Cause(ctx)
	}
	return res, err
}

// checkFaceted refuses a request filter on an attribute that is not in attributesForFaceting
// (numeric comparisons, tags and EXISTS excepted, as in Algolia).
func checkFaceted(n filter.Node, st index.Settings) error {
	var bad string
	filter.Walk(n, func(x filter.Node) bool {
		if f, ok := x.(filter.Facet); ok && f.Attr != "_tags" && !st.IsFacet(f.Attr) && bad == "" {
			bad = f.Attr
		}
		return bad == ""
	})
	if bad != "" {
		return &ParamError{Param: "filters", Reason: fmt.Sprintf("attribute %q is not in attributesForFaceting", bad)}
	}
	return nil
}

func (s *Service) sortOrder(pl *plan) search.SortOrder {
	var order search.SortOrder
	if pl.req.SortAttr != "" {
		order = append(order, &search.SortField{
			Field:   index.NumericField(pl.req.SortAttr),
			Desc:    pl.req.SortDesc,
			Type:    search.SortFieldAsNumber,
			Missing: search.SortFieldMissingLast,
		})
	}
	order = append(order, &search.SortScore{Desc: true})
	for _, k := range settingCustomRanking(pl.settings) {
		order = append(order, &search.SortField{
			Field:   index.NumericField(k.Attr),
			Desc:    k.Desc,
			Type:    search.SortFieldAsNumber,
			Missing: search.SortFieldMissingLast,
		})
	}
	return append(order, &search.SortDocID{})
}

// Search runs one search for the principal on the named index.
func (s *Service) Search(ctx context.Context, p *auth.Principal, indexName string, req Params) (*Result, error) {
	start := time.Now()
	pl, err := s.prepare(p, indexName, req)
	if err != nil {
		return nil, err
	}
	if err := pl.checkPagination(); err != nil {
		return nil, err
	}
	sr := bleve.NewSearchRequestOptions(pl.query, pl.size, pl.from, false)
	sr.Fields = []string{index.FieldSource}
	sr.Sort = s.sortOrder(pl)
	facetNames, facetSizes := s.facetRequests(pl)
	if len(facetNames) > 0 {
		sr.Facets = bleve.FacetsRequest{}
		for i, f := range facetNames {
			sr.Facets[f] = bleve.NewFacetRequest(index.FacetField(f), facetSizes[i])
		}
	}
	res, err := runSearch(ctx, pl, sr)
	if err != nil {
		return nil, err
	}
	out := &Result{
		Hits:                  make([]map[string]any, 0, len(res.Hits)),
		NbHits:                int(res.Total),
		Page:                  pl.page,
		HitsPerPage:           pl.hpp,
		ExhaustiveFacetsCount: true,
		ExhaustiveNbHits:      true,
		Exhaustive:            map[string]bool{"nbHits": true, "facetsCount": true},
		Query:                 req.Query,
		Params:                req.Encode(),
		Index:                 indexName,
	}
	if pl.hpp > 0 {
		reach := min(out.NbHits, pl.limit)
		out.NbPages = int(math.Ceil(float64(reach) / float64(pl.hpp)))
	}
	for _, h := range res.Hits {
		hit, err := pl.shapeHit(h)
		if err != nil {
			return nil, err
		}
		out.Hits = append(out.Hits, hit)
	}
	if len(facetNames) > 0 {
		out.Facets = map[string]map[string]int{}
		for i, f := range facetNames {
			fr := res.Facets[f]
			counts, stats := facetCounts(fr, pl.req.SortFacetValuesBy, s.maxValues(pl), facetSizes[i])
			out.Facets[f] = counts
			if stats != nil {
				if out.FacetsStats == nil {
					out.FacetsStats = map[string]FacetStats{}
				}
				out.FacetsStats[f] = *stats
			}
		}
	}
	out.ProcessingTimeMS = time.Since(start).Milliseconds()
	return out, nil
}

func (s *Service) maxValues(pl *plan) int {
	if pl.req.MaxValuesPerFacet != nil {
		return *pl.req.MaxValuesPerFacet
	}
	return settingMaxValuesPerFacet(pl.settings)
}

// facetRequests lists the facets to count: the requested ones that are faceted and not
// filterOnly ("*" meaning all of them), each with the number of values to fetch.
func (s *Service) facetRequests(pl *plan) ([]string, []int) {
	if len(pl.req.Facets) == 0 {
		return nil, nil
	}
	want := map[string]bool{}
	all := false
	for _, f := range pl.req.Facets {
		if f == "*" {
			all = true
		}
		want[f] = true
	}
	var names []string
	var sizes []int
	mv := s.maxValues(pl)
	for _, fa := range pl.settings.Facets() {
		if fa.FilterOnly || !(all || want[fa.Name]) {
			continue
		}
		names = append(names, fa.Name)
		// Fetch more values than shown so that numeric stats and alphabetical order are
		// computed over (nearly) every value.
		sizes = append(sizes, max(mv, 1000))
	}
	return names, sizes
}

// facetCounts turns a Bleve facet into Algolia's value → count map, keeping maxValues values,
// and computes numeric stats when every value is a number.
func facetCounts(fr *search.FacetResult, sortBy string, maxValues, fetched int) (map[string]int, *FacetStats) {
	out := map[string]int{}
	if fr == nil || fr.Terms == nil {
		return out, nil
	}
	terms := fr.Terms.Terms()
	type tc struct {
		v string
		n int
	}
	list := make([]tc, 0, len(terms))
	numeric := len(terms) > 0
	var st FacetStats
	var count int
	for _, t := range terms {
		list = append(list, tc{t.Term, t.Count})
		if numeric {
			f, err := strconv.ParseFloat(t.Term, 64)
			if err != nil {
				numeric = false
				continue
			}
			if count == 0 || f < st.Min {
				st.Min = f
			}
			if count == 0 || f > st.Max {
				st.Max = f
			}
			st.Sum += f * float64(t.Count)
			count += t.Count
		}
	}
	if sortBy == "alpha" {
		sort.Slice(list, func(i, j int) bool { return list[i].v < list[j].v })
	} else {
		sort.SliceStable(list, func(i, j int) bool {
			if list[i].n != list[j].n {
				return list[i].n > list[j].n
			}
			return list[i].v < list[j].v
		})
	}
	for i, e := range list {
		if i >= maxValues {
			break
		}
		out[e.v] = e.n
	}
	if !numeric || count == 0 {
		return out, nil
	}
	st.Avg = st.Sum / float64(count)
	return out, &st
}

// shapeHit builds one hit: the projected record plus its highlight and snippet results.
func (pl *plan) shapeHit(h *search.DocumentMatch) (map[string]any, error) {
	raw, _ := h.Fields[index.FieldSource].(string)
	doc, err := decodeDoc(raw)
	if err != nil {
		return nil, fmt.Errorf("stored record %q: %w", h.ID, err)
	}
	hit := pl.project(doc)
	if _, ok := hit["objectID"]; !ok {
		hit["objectID"] = h.ID
	}
	hlr := map[string]any{}
	for _, a := range pl.hlAttrs {
		if a == "*" {
			for k, v := range hit {
				if k == "objectID" {
					continue
				}
				if r := pl.hl.highlightAny(v, 0); r != nil {
					hlr[k] = r
				}
			}
			continue
		}
		setPath(hlr, hit, a, func(v any) any { return pl.hl.highlightAny(v, 0) })
	}
	if len(hlr) > 0 {
		hit["_highlightResult"] = hlr
	}
	if len(pl.snippets) > 0 {
		snr := map[string]any{}
		for a, n := range pl.snippets {
			words := n
			if a == "*" {
				for k, v := range hit {
					if strings.HasPrefix(k, "_") || k == "objectID" {
						continue
					}
					if r := pl.hl.highlightAny(v, words); r != nil {
						snr[k] = r
					}
				}
				continue
			}
			setPath(snr, hit, a, func(v any) any { return pl.hl.highlightAny(v, words) })
		}
		if len(snr) > 0 {
			hit["_snippetResult"] = snr
		}
	}
	return hit, nil
}

// setPath copies the value at a dotted path of src, transformed by fn, into dst at the same
// path. Missing paths are skipped.
func setPath(dst, src map[string]any, path string, fn func(any) any) {
	head, rest, nested := strings.Cut(path, ".")
	v, ok := src[head]
	if !ok {
		return
	}
	if !nested {
		if r := fn(v); r != nil {
			dst[head] = r
		}
		return
	}
	sub, ok := v.(map[string]any)
	if !ok {
		return
	}
	d, ok := dst[head].(map[string]any)
	if !ok {
		d = map[string]any{}
		dst[head] = d
	}
	setPath(d, sub, rest, fn)
}

func decodeDoc(raw string) (map[string]any, error) {
	dec := json.NewDecoder(strings.NewReader(raw))
	dec.UseNumber()
	var doc map[string]any
	if err := dec.Decode(&doc); err != nil {
		return nil, err
	}
	return doc, nil
}

// projection returns the function that keeps what may be retrieved of a record: the
// request's attributesToRetrieve (or the index's), narrowed by a key's bound, without the
// index's unretrievableAttributes (unless the principal may see them). objectID always stays.
func projection(st index.Settings, reqAttrs, bound []string, seeAll bool) func(map[string]any) map[string]any {
	attrs := reqAttrs
	if attrs == nil {
		attrs = settingRetrieve(st)
	}
	var hidden []string
	if !seeAll {
		hidden = settingUnretrievable(st)
	}
	return func(doc map[string]any) map[string]any {
		out := pick(doc, attrs)
		if bound != nil {
			out = pick(out, bound)
		}
		for _, h := range hidden {
			deletePath(out, h)
		}
		if id, ok := doc["objectID"]; ok {
			out["objectID"] = id
		}
		return out
	}
}

// pick keeps the listed attributes ("*" for all, "-attr" to drop one, dotted paths for nested
// attributes).
func pick(doc map[string]any, attrs []string) map[string]any {
	out := map[string]any{}
	star := false
	for _, a := range attrs {
		if a == "*" {
			star = true
		}
	}
	if star {
		for k, v := range doc {
			out[k] = v
		}
		for _, a := range attrs {
			if strings.HasPrefix(a, "-") {
				deletePath(out, a[1:])
			}
		}
		return out
	}
	for _, a := range attrs {
		if strings.HasPrefix(a, "-") {
			continue
		}
		setPath(out, doc, a, func(v any) any { return v })
	}
	return out
}

func deletePath(doc map[string]any, path string) {
	head, rest, nested := strings.Cut(path, ".")
	if !nested {
		delete(doc, head)
		return
	}
	if sub, ok := doc[head].(map[string]any); ok {
		cp := make(map[string]any, len(sub))
		for k, v := range sub {
			cp[k] = v
		}
		deletePath(cp, rest)
		doc[head] = cp
	}
}

// SearchFacetValues finds values of a facet whose words start with facetQuery, counted over
// the records the principal may see that match the request's query and filters.
func (s *Service) SearchFacetValues(ctx context.Context, p *auth.Principal, indexName, facet string, req Params) (*FacetResult, error) {
	start := time.Now()
	pl, err := s.prepare(p, indexName, req)
	if err != nil {
		return nil, err
	}
	searchable := false
	for _, fa := range pl.settings.Facets() {
		if fa.Name == facet && fa.Searchable {
			searchable = true
		}
	}
	if !searchable {
		return nil, &ParamError{Param: "facetName", Reason: fmt.Sprintf("Cannot search in %q attribute, you need to add \"searchable(%s)\" to attributesForFaceting", facet, facet)}
	}
	sr := bleve.NewSearchRequestOptions(pl.query, 0, 0, false)
	sr.Facets = bleve.FacetsRequest{facet: bleve.NewFacetRequest(index.FacetField(facet), 10000)}
	res, err := runSearch(ctx, pl, sr)
	if err != nil {
		return nil, err
	}
	maxHits := 10
	if req.MaxFacetHits != nil {
		maxHits = *req.MaxFacetHits
	}
	qwords := s.an.Tokenize(req.FacetQuery)
	out := &FacetResult{FacetHits: []FacetHit{}, ExhaustiveFacetsCount: true}
	fr := res.Facets[facet]
	if fr != nil && fr.Terms != nil {
		for _, t := range fr.Terms.Terms() {
			if hl, ok := facetMatch(s.an, t.Term, qwords, pl.hl.pre, pl.hl.post); ok {
				out.FacetHits = append(out.FacetHits, FacetHit{Value: t.Term, Highlighted: hl, Count: t.Count})
			}
		}
	}
	sort.SliceStable(out.FacetHits, func(i, j int) bool {
		if out.FacetHits[i].Count != out.FacetHits[j].Count {
			return out.FacetHits[i].Count > out.FacetHits[j].Count
		}
		return out.FacetHits[i].Value < out.FacetHits[j].Value
	})
	if len(out.FacetHits) > maxHits {
		out.FacetHits = out.FacetHits[:maxHits]
	}
	out.ProcessingTimeMS = time.Since(start).Milliseconds()
	return out, nil
}

// facetMatch reports whether every query word is a prefix of some word of the value, and
// returns the value with those prefixes highlighted.
func facetMatch(an *index.Analyzer, value string, qwords []index.Token, pre, post string) (string, bool) {
	if len(qwords) == 0 {
		return value, true
	}
	toks := an.Tokenize(value)
	var spans []span
	for _, q := range qwords {
		found := false
		for _, t := range toks {
			if strings.HasPrefix(t.Term, q.Term) {
				found = true
				end := t.End
				if t.End-t.Start == len(t.Term) {
					end = t.Start + len(q.Term)
				}
				spans = append(spans, span{t.Start, end})
				break
			}
		}
		if !found {
			return "", false
		}
	}
	sort.Slice(spans, func(i, j int) bool { return spans[i].start < spans[j].start })
	h := &highlighter{pre: pre, post: post}
	// Drop overlapping spans (two query words matching the same value word).
	merged := spans[:0]
	for _, sp := range spans {
		if len(merged) > 0 && sp.start < merged[len(merged)-1].end {
			continue
		}
		merged = append(merged, sp)
	}
	return h.render(value, merged, 0, len(value)), true
}

type cursorState struct {
	After  string `json:"a"`
	Params string `json:"p"`
	Query  string `json:"q,omitempty"`
}

// Browse walks every record the principal may see that matches the request, in objectID
// order, hitsPerPage (default 1000) at a time. The returned cursor continues the walk; the
// principal's restrictions are applied afresh on every call, never taken from the cursor.
func (s *Service) Browse(ctx context.Context, p *auth.Principal, indexName string, req Params, cursor string) (*Result, error) {
	start := time.Now()
	var after string
	if cursor != "" {
		b, err := base64.RawURLEncoding.DecodeString(cursor)
		if err != nil {
			return nil, ErrBadCursor
		}
		var cs cursorState
		if err := json.Unmarshal(b, &cs); err != nil || cs.After == "" {
			return nil, ErrBadCursor
		}
		cr, err := DecodeParamsString(cs.Params)
		if err != nil {
			return nil, ErrBadCursor
		}
		req = cr
		after = cs.After
	}
	if req.HitsPerPage == nil {
		n := MaxHitsPerPage
		req.HitsPerPage = &n
	}
	pl, err := s.prepare(p, indexName, req)
	if err != nil {
		return nil, err
	}
	size := pl.hpp
	sr := bleve.NewSearchRequestOptions(pl.query, size, 0, false)
	sr.Fields = []string{index.FieldSource}
	sr.Sort = search.SortOrder{&search.SortDocID{}}
	if after != "" {
		sr.SearchAfter = []string{after}
	}
	res, err := runSearch(ctx, pl, sr)
	if err != nil {
		return nil, err
	}
	out := &Result{
		Hits:             make([]map[string]any, 0, len(res.Hits)),
		NbHits:           int(res.Total),
		HitsPerPage:      size,
		ExhaustiveNbHits: true,
		Exhaustive:       map[string]bool{"nbHits": true},
		Query:            req.Query,
		Params:           req.Encode(),
		Index:            indexName,
	}
	if size > 0 {
		out.NbPages = int(math.Ceil(float64(out.NbHits) / float64(size)))
	}
	for _, h := range res.Hits {
		hit, err := pl.shapeHit(h)
		if err != nil {
			return nil, err
		}
		out.Hits = append(out.Hits, hit)
	}
	if len(res.Hits) == size && size > 0 {
		last := res.Hits[len(res.Hits)-1].ID
		b, _ := json.Marshal(cursorState{After: last, Params: req.Encode()})
		out.Cursor = base64.RawURLEncoding.EncodeToString(b)
	}
	out.ProcessingTimeMS = time.Since(start).Milliseconds()
	return out, nil
}

// GetObject returns one record if it exists and the principal's restrictions allow it;
// otherwise ErrObjectNotFound, whichever of the two is the case.
func (s *Service) GetObject(ctx context.Context, p *auth.Principal, indexName, objectID string, attrs []string) (map[string]any, error) {
	req := Params{AttributesToRetrieve: attrs}
	pl, err := s.prepare(p, indexName, req)
	if err != nil {
		return nil, err
	}
	q := bq.NewConjunctionQuery([]bq.Query{bq.NewDocIDQuery([]string{objectID}), pl.query})
	sr := bleve.NewSearchRequestOptions(q, 1, 0, false)
	sr.Fields = []string{index.FieldSource}
	res, err := runSearch(ctx, pl, sr)
	if err != nil {
		return nil, err
	}
	if len(res.Hits) == 0 {
		return nil, ErrObjectNotFound
	}
	raw, _ := res.Hits[0].Fields[index.FieldSource].(string)
	doc, err := decodeDoc(raw)
	if err != nil {
		return nil, err
	}
	return pl.project(doc), nil
}

// MatchingIDs lists the objectIDs of every record the principal may see that matches the
// request's filters (for deleteByQuery). A request without any filter is refused, so that a
// mistyped call cannot empty an index.
func (s *Service) MatchingIDs(ctx context.Context, p *auth.Principal, indexName string, req Params) ([]string, error) {
	rf, err := req.RequestFilter()
	if err != nil {
		return nil, err
	}
	if rf == nil {
		return nil, &ParamError{Param: "filters", Reason: "deleteByQuery needs at least one filter"}
	}
	n := MaxHitsPerPage
	req.HitsPerPage = &n
	pl, err := s.prepare(p, indexName, req)
	if err != nil {
		return nil, err
	}
	var ids []string
	after := ""
	for {
		sr := bleve.NewSearchRequestOptions(pl.query, n, 0, false)
		sr.Sort = search.SortOrder{&search.SortDocID{}}
		if after != "" {
			sr.SearchAfter = []string{after}
		}
		res, err := runSearch(ctx, pl, sr)
		if err != nil {
			return nil, err
		}
		for _, h := range res.Hits {
			ids = append(ids, h.ID)
		}
		if len(res.Hits) < n {
			return ids, nil
		}
		after = res.Hits[len(res.Hits)-1].ID
	}
}
