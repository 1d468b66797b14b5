package query

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/keyhole-search/keyhole/auth"
	"github.com/keyhole-search/keyhole/index"
	"github.com/keyhole-search/keyhole/query/filter"
)

// The tenant-shard equivalence test loads the same records, then the same random writes
// (moves between tenants, deletes, partial updates), into an unpartitioned index and into
// one partitioned by team with small thresholds (own shards for the two big tenants, three
// shared shards, the mixed shard), and checks that random requests through the Service get
// the same answers.
//
// Caveat: Bleve's TF-IDF idf is computed per shard, and filter terms are scored too, so
// among hits ranked by score the order can legitimately differ between the two indexes.
// Exact order (and page contents) are compared where no score decides it: empty query
// without filters (constant score, then customRanking, then objectID), a sort by a unique
// numeric attribute, browse (objectID order). Otherwise the hit sets (all hits on one page),
// nbHits, facets and each hit's content (highlights and snippets included) are compared.

var shardWords = []string{"alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel", "india", "juliet"}

var shardTeams = func() []string {
	t := []string{"big", "mid"}
	for i := range 12 {
		t = append(t, fmt.Sprintf("t%d", i))
	}
	return t
}()

const shardBaseSettings = `"searchableAttributes":["name","unordered(description)","brand"],` +
	`"attributesForFaceting":["team","searchable(brand)","category","price"],` +
	`"customRanking":["desc(popularity)"],"attributesToSnippet":["description:3"]`

func randTeam(r *rand.Rand) any {
	switch x := r.Intn(100); {
	case x < 40:
		return []string{"big", "Big", "BIG"}[r.Intn(3)]
	case x < 60:
		return "mid"
	case x < 90:
		return shardTeams[2+r.Intn(len(shardTeams)-2)]
	case x < 94:
		return nil
	case x < 97:
		return []any{shardTeams[r.Intn(len(shardTeams))], shardTeams[r.Intn(len(shardTeams))]}
	}
	return json.Number("7")
}

func words(r *rand.Rand, n int) string {
	w := make([]string, n)
	for i := range w {
		w[i] = shardWords[r.Intn(len(shardWords))]
	}
	return strings.Join(w, " ")
}

func randShardRecord(r *rand.Rand, id string, rank int) map[string]any {
	rec := map[string]any{
		"objectID":    id,
		"name":        words(r, 1+r.Intn(3)),
		"description": words(r, 4+r.Intn(6)),
		"brand":       []string{"Zenith", "Northwind", "Acme Tools", "Globex"}[r.Intn(4)],
		"category":    []string{"garden", "kitchen", "books", "toys"}[r.Intn(4)],
		"price":       json.Number(fmt.Sprint(1 + r.Intn(60))),
		"popularity":  json.Number(fmt.Sprint(r.Intn(30))),
		"rank":        json.Number(fmt.Sprint(rank)),
		"_tags":       []any{[]string{"sale", "new", "eco"}[r.Intn(3)]},
	}
	if t := randTeam(r); t != nil {
		rec["team"] = t
	}
	return rec
}

func writeBoth(tb testing.TB, ixs []*index.Index, ops []index.Op) {
	tb.Helper()
	for _, ix := range ixs {
		// Each index gets its own copy: Write owns the bodies.
		cp := make([]index.Op, len(ops))
		for i, op := range ops {
			cp[i] = op
			data, _ := json.Marshal(op.Body)
			if op.Body != nil {
				body, err := index.DecodeRecord(data)
				if err != nil {
					tb.Fatal(err)
				}
				cp[i].Body = body
			}
		}
		if _, _, err := ix.Write(context.Background(), cp); err != nil {
			tb.Fatal(err)
		}
	}
}

func setSettings(tb testing.TB, m *index.Manager, ix *index.Index, patch string) {
	tb.Helper()
	var p map[string]json.RawMessage
	if err := json.Unmarshal([]byte(patch), &p); err != nil {
		tb.Fatal(err)
	}
	task, err := ix.SetSettings(context.Background(), p)
	if err != nil {
		tb.Fatal(err)
	}
	waitTask(tb, m, ix.Name(), task)
}

// shardPair builds the two indexes; the partitioned one is "parts" in the returned dir.
func shardPair(t *testing.T, r *rand.Rand) (*Service, *Service, *index.Index, string) {
	dirA, dirB := t.TempDir(), t.TempDir()
	mA, err := index.Open(dirA, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { mA.Close() })
	mB, err := index.Open(dirB, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { mB.Close() })
	a, _ := mA.GetOrCreate("flat")
	b, _ := mB.GetOrCreate("parts")
	setSettings(t, mA, a, "{"+shardBaseSettings+"}")
	setSettings(t, mB, b, "{"+shardBaseSettings+"}")
	both := []*index.Index{a, b}

	rank := 0
	var ops []index.Op
	for i := range 700 {
		rank++
		ops = append(ops, index.Op{Action: index.ActionUpdateObject, Body: randShardRecord(r, fmt.Sprintf("r%04d", i), rank)})
	}
	writeBoth(t, both, ops)
	// Partitioned by a rebuild of existing records, then written to live.
	setSettings(t, mB, b, `{"tenantAttribute":"team","tenantShards":3,"tenantOwnShardMin":80}`)
	next := 700
	for range 12 {
		ops = ops[:0]
		for range 50 {
			id := fmt.Sprintf("r%04d", r.Intn(next+1))
			switch x := r.Intn(10); {
			case x < 3: // a move (or a new record)
				rank++
				ops = append(ops, index.Op{Action: index.ActionUpdateObject, Body: randShardRecord(r, id, rank)})
			case x < 5:
				ops = append(ops, index.Op{Action: index.ActionPartialUpdate, ObjectID: id, Body: map[string]any{"team": randTeam(r)}})
			case x < 6:
				ops = append(ops, index.Op{Action: index.ActionPartialUpdateNoCreate, ObjectID: id,
					Body: map[string]any{"price": json.Number(fmt.Sprint(1 + r.Intn(60)))}})
			case x < 8:
				ops = append(ops, index.Op{Action: index.ActionDelete, ObjectID: id})
			default:
				rank++
				ops = append(ops, index.Op{Action: index.ActionAddObject, Body: randShardRecord(r, fmt.Sprintf("r%04d", next), rank)})
				next++
			}
		}
		writeBoth(t, both, ops)
	}
	// Partial updates may create records without rank: give every record a unique one.
	ids, err := NewService(mA).MatchingIDs(context.Background(), auth.Admin(), "flat", Params{Filters: "NOT team:nobody"})
	if err != nil {
		t.Fatal(err)
	}
	ops = ops[:0]
	for i, id := range ids {
		ops = append(ops, index.Op{Action: index.ActionPartialUpdate, ObjectID: id, Body: map[string]any{"rank": json.Number(fmt.Sprint(10000 + i))}})
	}
	writeBoth(t, both, ops)

	own, _ := filepath.Glob(filepath.Join(dirB, "indexes", "*", "gen-*", "shard-o*"))
	shared, _ := filepath.Glob(filepath.Join(dirB, "indexes", "*", "gen-*", "shard-s*"))
	if len(own) != 2 || len(shared) != 3 {
		t.Fatalf("partitioned index has own shards %v and shared %v; want 2 and 3", own, shared)
	}
	return NewService(mA), NewService(mB), b, dirB
}

func randShardFilter(r *rand.Rand, depth int) filter.Node {
	leaf := func() filter.Node {
		switch r.Intn(7) {
		case 0, 1, 2:
			return filter.Facet{Attr: "team", Value: append(shardTeams, "BIG", "7", "nobody")[r.Intn(len(shardTeams)+3)]}
		case 3:
			return filter.Facet{Attr: "category", Value: []string{"garden", "kitchen", "books", "toys"}[r.Intn(4)]}
		case 4:
			return filter.Numeric{Attr: "price", Op: filter.Op(r.Intn(6)), Value: float64(r.Intn(60))}
		case 5:
			return filter.Tag{Value: []string{"sale", "new", "eco"}[r.Intn(3)]}
		}
		return filter.Facet{Attr: "brand", Value: "zenith"}
	}
	if depth <= 0 || r.Intn(3) == 0 {
		return leaf()
	}
	switch r.Intn(4) {
	case 0:
		return filter.Not{Node: randShardFilter(r, depth-1)}
	case 1:
		return filter.Or{Nodes: []filter.Node{randShardFilter(r, depth-1), randShardFilter(r, depth-1)}}
	}
	return filter.And{Nodes: []filter.Node{randShardFilter(r, depth-1), randShardFilter(r, depth-1)}}
}

func byID(hits []map[string]any) map[string]map[string]any {
	out := map[string]map[string]any{}
	for _, h := range hits {
		out[h["objectID"].(string)] = h
	}
	return out
}

func jsonEqual(a, b any) bool {
	ja, _ := json.Marshal(a)
	jb, _ := json.Marshal(b)
	return string(ja) == string(jb)
}

func TestTenantShardsEquivalence(t *testing.T) {
	seed := int64(42)
	r := rand.New(rand.NewSource(seed))
	start := time.Now()
	flat, parts, pix, _ := shardPair(t, r)
	t.Logf("loaded in %v", time.Since(start))
	ctx := context.Background()
	principals := []*auth.Principal{auth.Admin(), auth.Admin(), principalWith(t, "team:t3"),
		principalWith(t, "team:big OR team:t5"), principalWith(t, "category:garden")}
	pinnedReads := 0
	for qi := range 160 {
		p := principals[r.Intn(len(principals))]
		req := Params{}
		if r.Intn(3) > 0 {
			req.Query = words(r, 1+r.Intn(2))
			if r.Intn(3) == 0 {
				req.Query = req.Query[:len(req.Query)-2] // a prefix
			}
		}
		var f filter.Node
		if r.Intn(4) > 0 {
			f = randShardFilter(r, 2)
			req.Filters = filter.String(f)
		}
		if r.Intn(2) == 0 {
			req.Facets = []string{"*"}
		}
		exactOrder := req.Query == "" && f == nil && !strings.HasPrefix(p.KeyID, "test")
		if r.Intn(3) == 0 {
			req.SortAttr, req.SortDesc, exactOrder = "rank", r.Intn(2) == 0, true
		}
		desc := fmt.Sprintf("query %d (%s): %q filters %q", qi, p.KeyID, req.Query, req.Filters)

		// Every hit on one page: sets, counts, facets, contents.
		all := req
		all.HitsPerPage = intp(1000)
		ra, ea := flat.Search(ctx, p, "flat", all)
		before := pix.ShardReads()
		rb, eb := parts.Search(ctx, p, "parts", all)
		if (ea == nil) != (eb == nil) {
			t.Fatalf("%s: errors %v / %v", desc, ea, eb)
		}
		if ea != nil {
			continue
		}
		if ra.NbHits != rb.NbHits || !reflect.DeepEqual(ra.Facets, rb.Facets) || !reflect.DeepEqual(ra.FacetsStats, rb.FacetsStats) {
			t.Fatalf("%s: nbHits %d / %d, facets %v / %v", desc, ra.NbHits, rb.NbHits, ra.Facets, rb.Facets)
		}
		ha, hb := byID(ra.Hits), byID(rb.Hits)
		if len(ha) != len(hb) || len(hb) != len(rb.Hits) {
			t.Fatalf("%s: %d / %d distinct hits (%d returned)", desc, len(ha), len(hb), len(rb.Hits))
		}
		for id, h := range ha {
			if !jsonEqual(h, hb[id]) {
				t.Fatalf("%s: hit %s differs:\n%v\n%v", desc, id, h, hb[id])
			}
		}
		if exactOrder && !equal(ids(ra), ids(rb)) {
			t.Fatalf("%s: order differs:\n%v\n%v", desc, ids(ra), ids(rb))
		}
		// Routing: a search whose filters pin team reads at most its tenants' shards and
		// the mixed one.
		if keys, ok := filter.Pins(filter.Conj(p.Restrictions.Filter, f), "team", index.TenantKey); ok {
			after := pix.ShardReads()
			read := 0
			for name, n := range after {
				if n > before[name] {
					read++
				}
			}
			if read > len(keys)+1 {
				t.Fatalf("%s: pinned to %v but read %d shards", desc, keys, read)
			}
			pinnedReads++
		}

		// One random page: same size, same page when the order is exact.
		page := req
		page.HitsPerPage = intp(1 + r.Intn(30))
		page.Page = intp(r.Intn(4))
		pa, _ := flat.Search(ctx, p, "flat", page)
		pb, err := parts.Search(ctx, p, "parts", page)
		if err != nil {
			t.Fatal(err)
		}
		if len(pa.Hits) != len(pb.Hits) || pa.NbPages != pb.NbPages {
			t.Fatalf("%s: page sizes %d / %d", desc, len(pa.Hits), len(pb.Hits))
		}
		if exactOrder && !jsonEqual(pa.Hits, pb.Hits) {
			t.Fatalf("%s: page %d differs:\n%v\n%v", desc, *page.Page, ids(pa), ids(pb))
		}

		// Browse walks in objectID order: exact, page by page.
		if qi%5 == 0 {
			br := req
			br.HitsPerPage = intp(50)
			br.SortAttr, br.SortDesc = "", false
			ca, cb := "", ""
			for {
				ba, err1 := flat.Browse(ctx, p, "flat", br, ca)
				bb, err2 := parts.Browse(ctx, p, "parts", br, cb)
				if err1 != nil || err2 != nil {
					t.Fatalf("%s: browse: %v / %v", desc, err1, err2)
				}
				if !jsonEqual(ba.Hits, bb.Hits) || ba.NbHits != bb.NbHits {
					t.Fatalf("%s: browse pages differ", desc)
				}
				if ba.Cursor == "" || bb.Cursor == "" {
					if ba.Cursor != bb.Cursor {
						t.Fatalf("%s: browse cursors differ", desc)
					}
					break
				}
				ca, cb = ba.Cursor, bb.Cursor
			}
		}
		if qi%7 == 0 {
			fa, err1 := flat.SearchFacetValues(ctx, p, "flat", "brand", Params{Query: req.Query, Filters: req.Filters, FacetQuery: "n"})
			fb, err2 := parts.SearchFacetValues(ctx, p, "parts", "brand", Params{Query: req.Query, Filters: req.Filters, FacetQuery: "n"})
			if err1 != nil || err2 != nil || !jsonEqual(fa.FacetHits, fb.FacetHits) {
				t.Fatalf("%s: facet values %v / %v (%v, %v)", desc, fa, fb, err1, err2)
			}
		}
		if f != nil && qi%3 == 0 {
			ma, err1 := flat.MatchingIDs(ctx, p, "flat", Params{Filters: req.Filters})
			mb, err2 := parts.MatchingIDs(ctx, p, "parts", Params{Filters: req.Filters})
			if err1 != nil || err2 != nil || !equal(ma, mb) {
				t.Fatalf("%s: MatchingIDs %d / %d (%v, %v)", desc, len(ma), len(mb), err1, err2)
			}
		}
		for range 3 {
			id := fmt.Sprintf("r%04d", r.Intn(800))
			oa, err1 := flat.GetObject(ctx, p, "flat", id, nil)
			ob, err2 := parts.GetObject(ctx, p, "parts", id, nil)
			if !errors.Is(err1, ErrObjectNotFound) && err1 != nil || (err1 == nil) != (err2 == nil) || !jsonEqual(oa, ob) {
				t.Fatalf("%s: getObject %s: %v / %v (%v, %v)", desc, id, oa, ob, err1, err2)
			}
		}
	}
	if pinnedReads < 30 {
		t.Errorf("only %d pinned searches checked", pinnedReads)
	}
}
