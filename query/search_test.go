package query

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/keyhole-search/keyhole/auth"
	"github.com/keyhole-search/keyhole/query/filter"
)

func sleepBrief() { time.Sleep(5 * time.Millisecond) }

const catalogueSettings = `{
	"searchableAttributes": ["name", "unordered(description)", "brand", "authors.main"],
	"attributesForFaceting": ["team", "searchable(brand)", "category", "in_stock", "details.color", "price", "rating"],
	"customRanking": ["desc(popularity)"]
}`

func catalogue(tb testing.TB) ([]map[string]any, *Service) {
	tb.Helper()
	recs := loadNDJSON(tb, filepath.Join("..", "testdata", "catalogue.ndjson"), 0)
	_, svc := MustIndex(tb, "products", catalogueSettings, recs)
	return recs, svc
}

func intp(n int) *int { return &n }

func ids(res *Result) []string {
	out := make([]string, 0, len(res.Hits))
	for _, h := range res.Hits {
		out = append(out, h["objectID"].(string))
	}
	return out
}

func sortedIDs(recs []map[string]any, keep func(map[string]any) bool) []string {
	var out []string
	for _, r := range recs {
		if keep(r) {
			out = append(out, r["objectID"].(string))
		}
	}
	sort.Strings(out)
	return out
}

func sorted(s []string) []string {
	c := append([]string(nil), s...)
	sort.Strings(c)
	return c
}

func equal(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// The request filters below are checked against a straight scan of the catalogue.
func TestFiltersMatchScan(t *testing.T) {
	recs, svc := catalogue(t)
	cases := []string{
		"team:acme",
		"team:ACME",
		"brand:\"Bolt & Nut\"",
		"brand:\"café noir\"",
		"category:books AND rating >= 4",
		"category:books OR category:garden",
		"team:acme AND category:books OR category:garden",
		"NOT team:acme",
		"price:10 TO 50",
		"price < 20 OR price > 300",
		"price = 42",
		"price != 42 AND team:umbrella",
		"in_stock:true AND details.color:red",
		"in_stock:false",
		"_tags:sale",
		"eco",
		"NOT eco AND team:globex",
		"(team:acme OR team:globex) AND NOT (category:books OR category:kitchen)",
		"popularity > 5000",
		"rating:5",
		"details.weight_g <= 100",
	}
	for _, f := range cases {
		t.Run(f, func(t *testing.T) {
			tree, err := filter.Parse(f)
			if err != nil {
				t.Fatal(err)
			}
			res, err := svc.Search(context.Background(), auth.Admin(), "products", Params{Filters: f, HitsPerPage: intp(1000)})
			if err != nil {
				t.Fatal(err)
			}
			want := sortedIDs(recs, func(r map[string]any) bool { return eval(tree, r) })
			if got := sorted(ids(res)); !equal(got, want) {
				t.Fatalf("filters %q: got %d ids %v, scan says %d %v", f, len(got), got, len(want), want)
			}
			if res.NbHits != len(want) {
				t.Fatalf("nbHits %d, want %d", res.NbHits, len(want))
			}
		})
	}
}

func TestArrayFormsMatchScan(t *testing.T) {
	recs, svc := catalogue(t)
	cases := []struct{ facet, numeric, tags string }{
		{`[["team:acme","team:globex"],"category:books"]`, ``, ``},
		{`["team:-acme"]`, `["price>=100"]`, ``},
		{``, `[["rating=1","rating=5"]]`, `["sale"]`},
		{`"team:initech"`, `"price<=50"`, `"(sale,new)"`},
	}
	for i, c := range cases {
		var p Params
		var trees []filter.Node
		decode := func(s string, set *any, parse func(any) (filter.Node, error)) {
			if s == "" {
				return
			}
			var v any
			if err := json.Unmarshal([]byte(s), &v); err != nil {
				t.Fatal(err)
			}
			*set = v
			n, err := parse(v)
			if err != nil {
				t.Fatalf("case %d: %v", i, err)
			}
			trees = append(trees, n)
		}
		decode(c.facet, &p.FacetFilters, filter.ParseFacetFilters)
		decode(c.numeric, &p.NumericFilters, filter.ParseNumericFilters)
		decode(c.tags, &p.TagFilters, filter.ParseTagFilters)
		p.HitsPerPage = intp(1000)
		res, err := svc.Search(context.Background(), auth.Admin(), "products", p)
		if err != nil {
			t.Fatalf("case %d: %v", i, err)
		}
		tree := filter.Conj(trees...)
		want := sortedIDs(recs, func(r map[string]any) bool { return eval(tree, r) })
		if got := sorted(ids(res)); !equal(got, want) {
			t.Fatalf("case %d: got %v, scan says %v", i, got, want)
		}
	}
}

func TestTextRelevance(t *testing.T) {
	recs, svc := catalogue(t)
	search := func(q string, extra ...func(*Params)) *Result {
		t.Helper()
		p := Params{Query: q, HitsPerPage: intp(100)}
		for _, f := range extra {
			f(&p)
		}
		res, err := svc.Search(context.Background(), auth.Admin(), "products", p)
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	contains := func(r map[string]any, word string) bool {
		for _, a := range []string{"name", "description", "brand"} {
			if s, ok := r[a].(string); ok && strings.Contains(strings.ToLower(s), word) {
				return true
			}
		}
		return false
	}
	want := sortedIDs(recs, func(r map[string]any) bool { return contains(r, "espresso") })
	if len(want) == 0 {
		t.Fatal("catalogue has no espresso: fix the test data")
	}
	for _, q := range []string{"espresso", "espreso", "espr", "ESPRESSO"} {
		if got := sorted(ids(search(q))); !equal(got, want) {
			t.Errorf("query %q: got %v, want %v", q, got, want)
		}
	}
	// Every word must match.
	both := sortedIDs(recs, func(r map[string]any) bool { return contains(r, "vintage") && contains(r, "kettle") })
	if got := sorted(ids(search("vintage kettle"))); !equal(got, both) {
		t.Errorf("vintage kettle: got %v, want %v", got, both)
	}
	// A match in the name (first searchable attribute) ranks above one only in a later one.
	res := search("zenith")
	seenLater := false
	for _, h := range res.Hits {
		inName := strings.Contains(strings.ToLower(h["name"].(string)), "zenith")
		if !inName {
			seenLater = true
		} else if seenLater {
			t.Fatalf("a name match ranked after a brand/description match: %v", ids(res))
		}
	}
	// Empty query: customRanking desc(popularity) orders everything.
	res = search("")
	if res.NbHits != len(recs) {
		t.Fatalf("empty query: %d hits, want %d", res.NbHits, len(recs))
	}
	last := int64(1 << 62)
	for _, h := range res.Hits {
		p, _ := h["popularity"].(json.Number).Int64()
		if p > last {
			t.Fatalf("empty query not sorted by popularity desc: %d after %d", p, last)
		}
		last = p
	}
	// Highlighting with the request's tags, on every highlighted attribute.
	res = search("espresso", func(p *Params) {
		pre, post := "__ais-highlight__", "__/ais-highlight__"
		p.HighlightPreTag, p.HighlightPostTag = &pre, &post
	})
	for _, h := range res.Hits {
		hl, ok := h["_highlightResult"].(map[string]any)
		if !ok {
			t.Fatalf("hit %v has no _highlightResult", h["objectID"])
		}
		name := hl["name"].(HighlightResult)
		desc := hl["description"].(HighlightResult)
		if !strings.Contains(name.Value+desc.Value, "__ais-highlight__espresso__/ais-highlight__") {
			t.Fatalf("no highlight in %q / %q", name.Value, desc.Value)
		}
		if name.MatchLevel == "" || hl["brand"] == nil {
			t.Fatalf("incomplete highlight result: %+v", hl)
		}
	}
}

func TestPaginationAndBrowse(t *testing.T) {
	recs, svc := catalogue(t)
	ctx := context.Background()
	seen := map[string]int{}
	var nbPages int
	for page := 0; ; page++ {
		res, err := svc.Search(ctx, auth.Admin(), "products", Params{Page: intp(page), HitsPerPage: intp(7)})
		if err != nil {
			t.Fatal(err)
		}
		nbPages = res.NbPages
		if len(res.Hits) == 0 {
			break
		}
		for _, id := range ids(res) {
			seen[id]++
		}
	}
	if len(seen) != len(recs) || nbPages != (len(recs)+6)/7 {
		t.Fatalf("pages covered %d records (nbPages %d), want %d", len(seen), nbPages, len(recs))
	}
	for id, n := range seen {
		if n != 1 {
			t.Fatalf("%s seen %d times across pages", id, n)
		}
	}
	// Browse with a restricted principal walks exactly the permitted records once.
	p := principalWith(t, "team:globex")
	walked := map[string]int{}
	cursor := ""
	for i := 0; i < 100; i++ {
		res, err := svc.Browse(ctx, p, "products", Params{HitsPerPage: intp(5)}, cursor)
		if err != nil {
			t.Fatal(err)
		}
		for _, id := range ids(res) {
			walked[id]++
		}
		if res.Cursor == "" {
			break
		}
		cursor = res.Cursor
	}
	want := sortedIDs(recs, func(r map[string]any) bool { return r["team"] == "globex" })
	if len(walked) != len(want) {
		t.Fatalf("browse walked %d records, want %d", len(walked), len(want))
	}
	for _, id := range want {
		if walked[id] != 1 {
			t.Fatalf("browse saw %s %d times", id, walked[id])
		}
	}
	if _, err := svc.Browse(ctx, p, "products", Params{}, "not-a-cursor!"); !errors.Is(err, ErrBadCursor) {
		t.Fatalf("bad cursor: %v", err)
	}
}

func TestFacetsAndStats(t *testing.T) {
	recs, svc := catalogue(t)
	p := principalWith(t, "team:acme")
	res, err := svc.Search(context.Background(), p, "products", Params{Facets: []string{"*"}, HitsPerPage: intp(0)})
	if err != nil {
		t.Fatal(err)
	}
	counts := map[string]int{}
	var min, max float64 = 1e18, -1e18
	for _, r := range recs {
		if r["team"] != "acme" {
			continue
		}
		counts[r["category"].(string)]++
		f, _ := r["price"].(json.Number).Float64()
		min, max = minf(min, f), maxf(max, f)
	}
	if fmt.Sprint(res.Facets["category"]) != fmt.Sprint(counts) {
		t.Fatalf("category facet %v, scan says %v", res.Facets["category"], counts)
	}
	if len(res.Facets["team"]) != 1 || res.Facets["team"]["acme"] != counts["kitchen"]+counts["books"]+counts["garden"]+counts["electronics"] {
		t.Fatalf("team facet leaks or miscounts: %v", res.Facets["team"])
	}
	st, ok := res.FacetsStats["price"]
	if !ok || st.Min != min || st.Max != max {
		t.Fatalf("price stats %+v, scan says min %v max %v", st, min, max)
	}
	if len(res.Hits) != 0 || res.NbPages != 0 {
		t.Fatalf("hitsPerPage 0 returned hits")
	}
	// Facet-value search counts only permitted records.
	fr, err := svc.SearchFacetValues(context.Background(), p, "products", "brand", Params{FacetQuery: "b"})
	if err != nil {
		t.Fatal(err)
	}
	want := 0
	for _, r := range recs {
		if r["team"] == "acme" && r["brand"] == "Bolt & Nut" {
			want++
		}
	}
	if len(fr.FacetHits) != 1 || fr.FacetHits[0].Value != "Bolt & Nut" || fr.FacetHits[0].Count != want {
		t.Fatalf("facet search: %+v, want Bolt & Nut × %d", fr.FacetHits, want)
	}
	if fr.FacetHits[0].Highlighted != "<em>B</em>olt & Nut" {
		t.Fatalf("facet highlight %q", fr.FacetHits[0].Highlighted)
	}
	if _, err := svc.SearchFacetValues(context.Background(), p, "products", "category", Params{FacetQuery: "b"}); !errors.Is(err, ErrInvalidParam) {
		t.Fatalf("facet search on a non-searchable facet: %v", err)
	}
}

func minf(a, b float64) float64 {
	if a < b {
		return a
	}
	return b
}

func maxf(a, b float64) float64 {
	if a > b {
		return a
	}
	return b
}

func TestRequestErrors(t *testing.T) {
	_, svc := catalogue(t)
	ctx := context.Background()
	for _, c := range []struct {
		p    Params
		want error
	}{
		{Params{Filters: "team:acme AND ("}, ErrInvalidParam},
		{Params{Filters: "popularity:3"}, ErrInvalidParam}, // not in attributesForFaceting
		{Params{FacetFilters: []any{"brand"}}, ErrInvalidParam},
	} {
		if _, err := svc.Search(ctx, auth.Admin(), "products", c.p); !errors.Is(err, c.want) {
			t.Errorf("%+v: got %v, want %v", c.p, err, c.want)
		}
	}
	if _, err := svc.Search(ctx, nil, "products", Params{}); !errors.Is(err, ErrNoPrincipal) {
		t.Errorf("nil principal: %v", err)
	}
	p := principalWith(t, "team:acme", "other")
	if _, err := svc.Search(ctx, p, "products", Params{}); !errors.Is(err, auth.ErrIndexNotAllowed) {
		t.Errorf("index not allowed: %v", err)
	}
}

// randomFilter builds a random request filter over the catalogue, including clauses that
// name other tenants.
func randomFilter(r *rand.Rand, depth int) filter.Node {
	teams := []string{"acme", "globex", "initech", "umbrella"}
	leaf := func() filter.Node {
		switch r.Intn(6) {
		case 0:
			return filter.Facet{Attr: "team", Value: teams[r.Intn(len(teams))]}
		case 1:
			return filter.Facet{Attr: "category", Value: []string{"books", "garden", "kitchen", "electronics"}[r.Intn(4)]}
		case 2:
			return filter.Numeric{Attr: "price", Op: filter.Op(r.Intn(6)), Value: float64(r.Intn(400))}
		case 3:
			lo := float64(r.Intn(5))
			return filter.Range{Attr: "rating", Min: lo, Max: lo + float64(r.Intn(3))}
		case 4:
			return filter.Tag{Value: []string{"sale", "new", "eco"}[r.Intn(3)]}
		}
		return filter.Facet{Attr: "in_stock", Value: []string{"true", "false"}[r.Intn(2)]}
	}
	if depth <= 0 || r.Intn(3) == 0 {
		return leaf()
	}
	switch r.Intn(3) {
	case 0:
		return filter.Not{Node: randomFilter(r, depth-1)}
	case 1:
		return filter.Or{Nodes: []filter.Node{randomFilter(r, depth-1), randomFilter(r, depth-1)}}
	}
	return filter.And{Nodes: []filter.Node{randomFilter(r, depth-1), randomFilter(r, depth-1)}}
}

// The isolation property: whatever a restricted principal asks, no response contains, counts
// or highlights a record outside its filter.
func TestIsolationProperty(t *testing.T) {
	recs, svc := catalogue(t)
	checkIsolation(t, recs, svc, isolationCase{
		index: "products", tenantAttr: "team", tenants: []string{"acme", "globex", "initech", "umbrella"},
		gen: randomFilter, facets: []string{"team", "category"},
		queries: []string{"vintage", "espresso", "knife", "zen", "garden hose", "acme"}, n: 1500,
	})
}

// isolationCase describes a corpus for the isolation property.
type isolationCase struct {
	index, tenantAttr string
	tenants           []string
	gen               func(*rand.Rand, int) filter.Node
	facets, queries   []string
	n                 int
	// credential, when set, makes the principal for a tenant through a real credential
	// (a secured key or a token) and returns it with the filter it must enforce; by default
	// a principal is built directly with the tenant filter.
	credential func(t *testing.T, r *rand.Rand, tenant string) (*auth.Principal, filter.Node)
}

func checkIsolation(t *testing.T, recs []map[string]any, svc *Service, c isolationCase) {
	t.Helper()
	indexName, tenants, n := c.index, c.tenants, c.n
	ctx := context.Background()
	r := rand.New(rand.NewSource(42))
	byID := map[string]map[string]any{}
	for _, rec := range recs {
		byID[rec["objectID"].(string)] = rec
	}
	for i := 0; i < n; i++ {
		tenant := tenants[r.Intn(len(tenants))]
		var keyFilter filter.Node = filter.Facet{Attr: c.tenantAttr, Value: tenant}
		var p *auth.Principal
		if c.credential != nil {
			p, keyFilter = c.credential(t, r, tenant)
		} else {
			p = principalWith(t, filter.String(keyFilter))
		}
		req := c.gen(r, 3)
		params := Params{Filters: filter.String(req), HitsPerPage: intp(1 + r.Intn(30)), Page: intp(r.Intn(3)), Facets: c.facets}
		if r.Intn(3) == 0 {
			params.Query = c.queries[r.Intn(len(c.queries))]
		}
		switch r.Intn(4) {
		case 0: // the same request as a multi-query sub-request naming the facet filters in array form
			params.FacetFilters = []any{[]any{c.tenantAttr + ":" + tenants[r.Intn(len(tenants))], c.tenantAttr + ":" + tenant}}
		case 1:
			params.FacetFilters = []any{c.tenantAttr + ":-" + tenant}
		}
		res, err := svc.Search(ctx, p, indexName, params)
		if err != nil {
			t.Fatalf("case %d (%s): %v", i, params.Filters, err)
		}
		for _, h := range res.Hits {
			rec := byID[h["objectID"].(string)]
			if !eval(keyFilter, rec) {
				t.Fatalf("case %d: key %s:%s, request %q returned %v of tenant %v", i, c.tenantAttr, tenant, params.Filters, h["objectID"], rec[c.tenantAttr])
			}
		}
		for team, cnt := range res.Facets[c.tenantAttr] {
			if !strings.EqualFold(team, tenant) && cnt > 0 {
				t.Fatalf("case %d: facet counts %d records of tenant %s", i, cnt, team)
			}
		}
		if params.Query == "" {
			reqTree, err := params.RequestFilter()
			if err != nil {
				t.Fatal(err)
			}
			want := 0
			for _, rec := range recs {
				if eval(filter.And{Nodes: []filter.Node{keyFilter, reqTree}}, rec) {
					want++
				}
			}
			if res.NbHits != want {
				t.Fatalf("case %d: nbHits %d, scan of key AND request says %d (%s)", i, res.NbHits, want, params.Filters)
			}
		} else {
			cap := 0
			for _, rec := range recs {
				if eval(keyFilter, rec) {
					cap++
				}
			}
			if res.NbHits > cap {
				t.Fatalf("case %d: nbHits %d exceeds the tenant's %d records", i, res.NbHits, cap)
			}
		}
		// Object lookups of other tenants' records are indistinguishable from missing ones.
		other := recs[r.Intn(len(recs))]
		obj, err := svc.GetObject(ctx, p, indexName, other["objectID"].(string), nil)
		if eval(keyFilter, other) {
			if err != nil || obj["objectID"] != other["objectID"] {
				t.Fatalf("case %d: own record %v not returned: %v", i, other["objectID"], err)
			}
		} else if !errors.Is(err, ErrObjectNotFound) {
			t.Fatalf("case %d: record of another tenant: obj %v err %v", i, obj["objectID"], err)
		}
	}
}

// sharedData returns the path of a file in ../shared/data, skipping the test when absent.
func sharedData(t *testing.T, name string) string {
	t.Helper()
	p := filepath.Join("..", "..", "shared", "data", name)
	if _, err := os.Stat(p); err != nil {
		t.Skipf("shared data set %s not present (%v): skipping", name, err)
	}
	return p
}

// The isolation property on real skewed data: geonames cities, tenant = country. Every 8th
// record is used to keep the test quick under -race; KEYHOLE_FULL_DATA=1 uses all of them.
func TestIsolationGeonames(t *testing.T) {
	path := sharedData(t, "geonames-cities.ndjson")
	all := loadNDJSON(t, path, 0)
	step := 8
	if os.Getenv("KEYHOLE_FULL_DATA") == "1" {
		step = 1
	}
	var recs []map[string]any
	countries := map[string]int{}
	for i, r := range all {
		if i%step != 0 {
			continue
		}
		r["objectID"] = strconv.Itoa(i + 1)
		recs = append(recs, r)
		countries[r["country"].(string)]++
	}
	tenants := make([]string, 0, len(countries))
	for c := range countries {
		tenants = append(tenants, c)
	}
	sort.Strings(tenants)
	_, svc := MustIndex(t, "cities", `{"searchableAttributes":["name"],"attributesForFaceting":["country","admin1"]}`, recs)
	gen := func(r *rand.Rand, depth int) filter.Node {
		var leaf func() filter.Node
		leaf = func() filter.Node {
			switch r.Intn(4) {
			case 0, 1:
				return filter.Facet{Attr: "country", Value: tenants[r.Intn(len(tenants))]}
			case 2:
				lo := float64(r.Intn(140) - 70)
				return filter.Range{Attr: "lat", Min: lo, Max: lo + float64(r.Intn(40))}
			}
			return filter.Numeric{Attr: "lng", Op: filter.Op(r.Intn(6)), Value: float64(r.Intn(360) - 180)}
		}
		var build func(d int) filter.Node
		build = func(d int) filter.Node {
			if d <= 0 || r.Intn(3) == 0 {
				return leaf()
			}
			switch r.Intn(3) {
			case 0:
				return filter.Not{Node: build(d - 1)}
			case 1:
				return filter.Or{Nodes: []filter.Node{build(d - 1), build(d - 1)}}
			}
			return filter.And{Nodes: []filter.Node{build(d - 1), build(d - 1)}}
		}
		return build(depth)
	}
	t.Logf("%d records, %d countries", len(recs), len(tenants))
	checkIsolation(t, recs, svc, isolationCase{
		index: "cities", tenantAttr: "country", tenants: tenants, gen: gen,
		facets: []string{"country"}, queries: []string{"san", "vila", "springfield", "new", "berg"}, n: 1000,
	})
}
