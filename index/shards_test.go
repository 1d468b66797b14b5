package index

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/blevesearch/bleve/v2"
	"github.com/blevesearch/bleve/v2/search/query"
)

// partitionSettings partitions by team with small thresholds: 2 shared shards, own shards
// from 10 records.
const partitionSettings = `{"tenantAttribute":"team","tenantShards":2,"tenantOwnShardMin":10,"attributesForFaceting":["team"],"searchableAttributes":["title"]}`

// tenantIDs returns the sorted ids matching q, searching only the shards of tenants.
func tenantIDs(t testing.TB, ix *Index, q query.Query, tenants []string) []string {
	t.Helper()
	req := bleve.NewSearchRequestOptions(q, 10000, 0, false)
	var tn *Tenants
	if tenants != nil {
		tn = &Tenants{Attr: "team", Keys: tenants}
	}
	res, err := ix.SearchTenants(context.Background(), req, tn)
	if err != nil {
		t.Fatalf("SearchTenants: %v", err)
	}
	var ids []string
	for _, h := range res.Hits {
		ids = append(ids, h.ID)
	}
	slices.Sort(ids)
	if int(res.Total) != len(ids) {
		t.Errorf("total %d, %d hits", res.Total, len(ids))
	}
	if len(slices.Compact(slices.Clone(ids))) != len(ids) {
		t.Errorf("a search returned a record twice: %v", ids)
	}
	return ids
}

func teamQuery(team string) query.Query { return term(FacetLowerField("team"), TenantKey(team)) }

// shardSearches returns the search counter of each shard of the serving generation, by name.
func shardSearches(ix *Index) map[string]int64 {
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	out := map[string]int64{}
	for _, sh := range ix.gen.shards {
		out[sh.name] = sh.searches.Load()
	}
	return out
}

func seedTenants(t testing.TB, ix *Index) {
	t.Helper()
	var ops []Op
	for i := range 30 {
		ops = append(ops, update(fmt.Sprintf(`{"objectID":"big%d","title":"big record %d","team":"Big"}`, i, i)))
	}
	for i := range 5 {
		ops = append(ops, update(fmt.Sprintf(`{"objectID":"small%d","title":"small record %d","team":"small"}`, i, i)))
	}
	for i := range 3 {
		ops = append(ops, update(fmt.Sprintf(`{"objectID":"num%d","title":"numbered %d","team":7}`, i, i)))
	}
	ops = append(ops,
		update(`{"objectID":"none","title":"no team"}`),
		update(`{"objectID":"both","title":"two teams","team":["Big","small"]}`),
		update(`{"objectID":"obj","title":"object team","team":{"name":"small"}}`),
	)
	MustWrite(t, ix, ops...)
}

func TestPartitionedIndex(t *testing.T) {
	dir := t.TempDir()
	m, _ := MustOpen(t, dir)
	ix := MustIndex(t, m, "p")
	seedTenants(t, ix) // written unpartitioned, then rebuilt partitioned
	MustSettings(t, ix, partitionSettings)
	waitPublished(t, m, ix)

	gdir := ix.gen.dir
	names, _ := osReadDir(gdir)
	want := []string{"layout.json", "shard-mixed", "shard-o0", "shard-s0", "shard-s1"}
	if !slices.Equal(names, want) {
		t.Fatalf("generation holds %v, want %v", names, want)
	}
	if n, _ := ix.DocCount(); n != 41 {
		t.Fatalf("DocCount = %d, want 41", n)
	}
	check := func(stage string) {
		t.Helper()
		for _, tc := range []struct {
			team string
			n    int
		}{{"big", 31}, {"BIG", 31}, {"small", 7}, {"7", 3}, {"nobody", 0}} {
			all := tenantIDs(t, ix, teamQuery(tc.team), nil)
			pinned := tenantIDs(t, ix, teamQuery(tc.team), []string{TenantKey(tc.team)})
			if len(all) != tc.n || !slices.Equal(all, pinned) {
				t.Errorf("%s: team %s: all shards %d hits, pinned %v; want %d", stage, tc.team, len(all), pinned, tc.n)
			}
		}
		if MustSource(t, ix, "big3") == nil || MustSource(t, ix, "both") == nil || MustSource(t, ix, "none") == nil {
			t.Errorf("%s: Source misses records", stage)
		}
	}
	check("after rebuild")

	// Routing: a pinned search reads the tenant's shard and the mixed one only.
	before := shardSearches(ix)
	tenantIDs(t, ix, teamQuery("big"), []string{"big"})
	after := shardSearches(ix)
	for name := range after {
		got := after[name] - before[name]
		wantN := int64(0)
		if name == "o0" || name == "mixed" {
			wantN = 1
		}
		if got != wantN {
			t.Errorf("shard %s read %d times by a search pinned to big, want %d", name, got, wantN)
		}
	}

	// Moves: big0 goes to small (a shared shard), then to a new tenant, then back.
	MustWrite(t, ix, update(`{"objectID":"big0","title":"moved","team":"small"}`))
	if got := tenantIDs(t, ix, teamQuery("small"), []string{"small"}); !slices.Contains(got, "big0") || len(got) != 8 {
		t.Errorf("after a move: small = %v", got)
	}
	MustWrite(t, ix, Op{Action: ActionPartialUpdate, ObjectID: "big0", Body: map[string]any{"team": "newcomer"}})
	if got := tenantIDs(t, ix, teamQuery("newcomer"), []string{"newcomer"}); !slices.Equal(got, []string{"big0"}) {
		t.Errorf("newcomer = %v", got)
	}
	if n, _ := ix.DocCount(); n != 41 {
		t.Fatalf("DocCount after moves = %d, want 41", n)
	}
	MustWrite(t, ix, update(`{"objectID":"big0","title":"back","team":"Big"}`), Op{Action: ActionDelete, ObjectID: "none"})
	MustWrite(t, ix, update(`{"objectID":"none","title":"no team"}`))
	check("after moves")

	// Reopen: same layout, same answers.
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
	m, _ = MustOpen(t, dir)
	ix, _ = m.Get("p")
	check("after reopen")
	if n := len(ix.gen.rt.ids); n != 41 {
		t.Errorf("routing knows %d ids, want 41", n)
	}

	// Clear empties every shard.
	MustWrite(t, ix, Op{Action: ActionClear}, update(`{"objectID":"x","team":"small"}`))
	if n, _ := ix.DocCount(); n != 1 {
		t.Errorf("DocCount after clear = %d", n)
	}
	if got := tenantIDs(t, ix, query.NewMatchAllQuery(), nil); !slices.Equal(got, []string{"x"}) {
		t.Errorf("after clear: %v", got)
	}

	// Back to unpartitioned: one Bleve index in gen-N again.
	MustWrite(t, ix, update(`{"objectID":"y","team":"Big"}`))
	MustSettings(t, ix, `{"tenantAttribute":null}`)
	waitPublished(t, m, ix)
	if ix.gen.layout != nil {
		t.Fatal("still partitioned")
	}
	if _, err := loadLayout(ix.gen.dir); err == nil {
		t.Error("unpartitioned generation has a layout file")
	}
	if got := tenantIDs(t, ix, query.NewMatchAllQuery(), nil); !slices.Equal(got, []string{"x", "y"}) {
		t.Errorf("after unpartitioning: %v", got)
	}
}

func TestTenantKeyOf(t *testing.T) {
	tests := []struct {
		rec   string
		key   string
		mixed bool
	}{
		{`{"team":"Acme"}`, "acme", false},
		{`{"team":7}`, "7", false},
		{`{"team":7.50}`, "7.5", false},
		{`{"team":true}`, "true", false},
		{`{}`, "", false},
		{`{"team":null}`, "", false},
		{`{"team":""}`, "", false},
		{`{"team":["a","A"]}`, "a", false},
		{`{"team":["a","b"]}`, "", true},
		{`{"team":{"x":"a"}}`, "", true},
		{`{"teams":"a"}`, "", false},
	}
	for _, tt := range tests {
		k, mixed, err := tenantKeyOf(MustRecord(t, tt.rec), "team")
		if err != nil || k != tt.key || mixed != tt.mixed {
			t.Errorf("%s: %q, %v, %v; want %q, %v", tt.rec, k, mixed, err, tt.key, tt.mixed)
		}
	}
}

// TestTenantGrowthRelayout: a tenant of a shared shard that outgrows 2× tenantOwnShardMin
// gets its own shard through a background rebuild.
func TestTenantGrowthRelayout(t *testing.T) {
	m, _ := MustOpen(t, t.TempDir())
	ix := MustIndex(t, m, "g")
	MustSettings(t, ix, partitionSettings)
	waitPublished(t, m, ix)
	var ops []Op
	for i := range 25 {
		ops = append(ops, update(fmt.Sprintf(`{"objectID":"g%d","team":"grower"}`, i)))
	}
	MustWrite(t, ix, ops...)
	waitPublished(t, m, ix)
	ix.mu.RLock()
	own := ix.gen.layout.Own
	ix.mu.RUnlock()
	if !slices.Equal(own, []string{"grower"}) {
		t.Fatalf("own shards after growth: %v", own)
	}
	if got := tenantIDs(t, ix, teamQuery("grower"), []string{"grower"}); len(got) != 25 {
		t.Errorf("grower has %d records after relayout", len(got))
	}
}

// TestMoveUnderConcurrentSearch: while a writer moves records between tenants, every search
// (admin and pinned) finds each record exactly once.
func TestMoveUnderConcurrentSearch(t *testing.T) {
	m, _ := MustOpen(t, t.TempDir())
	ix := MustIndex(t, m, "mv")
	seedTenants(t, ix)
	MustSettings(t, ix, partitionSettings)
	waitPublished(t, m, ix)
	const movers = 4
	teams := []string{"Big", "small", "7", "other"}
	stop := make(chan struct{})
	var moves atomic.Int64
	var wg sync.WaitGroup
	wg.Go(func() {
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			var ops []Op
			for j := range movers {
				ops = append(ops, update(fmt.Sprintf(`{"objectID":"m%d","title":"mover","team":%q,"k":%d}`, j, teams[(i+j)%len(teams)], i)))
			}
			if _, _, err := ix.Write(context.Background(), ops); err != nil {
				t.Error(err)
				return
			}
			moves.Add(1)
		}
	})
	moverQ := query.NewMatchQuery("mover")
	moverQ.SetField(TextField("title"))
	for range 2 {
		wg.Go(func() {
			for moves.Load() < 40 {
				if got := tenantIDs(t, ix, moverQ, nil); moves.Load() > 0 && len(got) != movers {
					t.Errorf("admin search found movers %v", got)
					return
				}
				var any []query.Query
				var keys []string
				for _, tm := range teams {
					q := query.NewConjunctionQuery([]query.Query{moverQ, teamQuery(tm)})
					tenantIDs(t, ix, q, []string{TenantKey(tm)}) // no duplicates
					any = append(any, teamQuery(tm))
					keys = append(keys, TenantKey(tm))
				}
				q := query.NewConjunctionQuery([]query.Query{moverQ, query.NewDisjunctionQuery(any)})
				if got := tenantIDs(t, ix, q, keys); moves.Load() > 0 && len(got) != movers {
					t.Errorf("search pinned to every tenant found movers %v", got)
					return
				}
				for j := range movers {
					if MustSource(t, ix, fmt.Sprintf("m%d", j)) == nil && moves.Load() > 0 {
						t.Errorf("Source lost m%d", j)
						return
					}
				}
			}
		})
	}
	for moves.Load() < 40 && !t.Failed() {
		time.Sleep(5 * time.Millisecond)
	}
	close(stop)
	wg.Wait()
	if got := tenantIDs(t, ix, moverQ, nil); len(got) != movers {
		t.Errorf("after the moves: %v", got)
	}
}
