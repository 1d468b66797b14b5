package query

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/keyhole-search/keyhole/auth"
	"github.com/keyhole-search/keyhole/index"
)

// Tenant-shard benchmarks: a query pinned to one tenant on
//   - parts: an index partitioned by team (tenantShards 4, tenantOwnShardMin 2000),
//   - own:   an index holding only that tenant's records,
//   - flat:  the same records in one unpartitioned index,
//
// at two total sizes, for a 100-record and a 5,000-record tenant.
// Run: go test -run '^$' -bench TenantQuery -count 5 -timeout 60m ./query/
// The fixtures are built once per size and process (-count re-uses them).

type shardFixture struct {
	svc  *Service
	open time.Duration // reopening the manager (partitioned routing state included)
	heap int64         // heap growth of that reopen
}

var (
	shardFixMu sync.Mutex
	shardFixes = map[int]*shardFixture{}
)

var benchWords = []string{"widget", "deluxe", "sturdy", "compact", "classic", "premium", "garden", "kitchen", "travel", "office",
	"steel", "wooden", "electric", "manual", "portable", "mini", "pro", "eco", "smart", "vintage"}

func benchRecord(i int, team string) map[string]any {
	w := func(k int) string { return benchWords[(i*7+k*13+i/3)%len(benchWords)] }
	return map[string]any{
		"objectID":    fmt.Sprintf("p%d", i),
		"name":        w(0) + " " + w(1) + " " + w(2),
		"description": "A sturdy " + w(3) + " " + w(4) + " item made of recycled materials, perfect for everyday use " + w(5),
		"brand":       fmt.Sprintf("Brand%d", i%50),
		"category":    fmt.Sprintf("cat%d", i%20),
		"team":        team,
		"price":       float64(i%1000) + 0.99,
		"popularity":  i % 997,
	}
}

// benchTeam gives record i of n its tenant: t100 (100 records), t5k (5,000), the rest spread
// over tenants of about 200 records.
func benchTeam(i, n int) string {
	switch {
	case i%(n/100) == 0:
		return "t100"
	case i%(n/5000) == 1:
		return "t5k"
	}
	return fmt.Sprintf("f%d", i%(n/200))
}

func loadBench(tb testing.TB, ix *index.Index, n int, keep func(team string) bool) {
	ops := make([]index.Op, 0, 2000)
	flush := func() {
		if len(ops) == 0 {
			return
		}
		if _, _, err := ix.Write(context.Background(), ops); err != nil {
			tb.Fatal(err)
		}
		ops = ops[:0]
	}
	for i := range n {
		team := benchTeam(i, n)
		if keep != nil && !keep(team) {
			continue
		}
		ops = append(ops, index.Op{Action: index.ActionUpdateObject, Body: benchRecord(i, team)})
		if len(ops) == cap(ops) {
			flush()
		}
	}
	flush()
}

func shardFix(tb testing.TB, n int) *shardFixture {
	shardFixMu.Lock()
	defer shardFixMu.Unlock()
	if f := shardFixes[n]; f != nil {
		return f
	}
	// KEYHOLE_SHARD_BENCH_DIR re-uses the fixtures a previous run left there (each size in
	// its own subdirectory); without it they are built in a new temporary directory.
	dir := os.Getenv("KEYHOLE_SHARD_BENCH_DIR")
	if dir == "" {
		d, err := os.MkdirTemp("", "keyhole-shard-bench-")
		if err != nil {
			tb.Fatal(err)
		}
		dir = d
	}
	dir = filepath.Join(dir, fmt.Sprintf("n%d", n))
	if _, err := os.Stat(filepath.Join(dir, "built")); err == nil {
		return reopenShardFix(tb, dir, n)
	}
	start := time.Now()
	m, err := index.Open(dir, nil)
	if err != nil {
		tb.Fatal(err)
	}
	base := `{"searchableAttributes":["name","description","brand"],"attributesForFaceting":["team","brand","category"]}`
	for _, name := range []string{"flat", "parts", "own-t100", "own-t5k"} {
		ix, err := m.GetOrCreate(name)
		if err != nil {
			tb.Fatal(err)
		}
		setSettings(tb, m, ix, base)
	}
	get := func(name string) *index.Index { ix, _ := m.Get(name); return ix }
	loadBench(tb, get("flat"), n, nil)
	loadBench(tb, get("own-t100"), n, func(t string) bool { return t == "t100" })
	loadBench(tb, get("own-t5k"), n, func(t string) bool { return t == "t5k" })
	// Partitioned: the big tenant's records first, so that the layout gives it its own
	// shard, then the rest written live.
	parts := get("parts")
	loadBench(tb, parts, n, func(t string) bool { return t == "t5k" })
	setSettings(tb, m, parts, `{"tenantAttribute":"team","tenantShards":4,"tenantOwnShardMin":2000}`)
	loadBench(tb, parts, n, func(t string) bool { return t != "t5k" })
	tb.Logf("n=%d: fixtures built in %v in %s", n, time.Since(start), dir)
	if err := m.Close(); err != nil {
		tb.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "built"), nil, 0o600); err != nil {
		tb.Fatal(err)
	}
	return reopenShardFix(tb, dir, n)
}

func reopenShardFix(tb testing.TB, dir string, n int) *shardFixture {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	t0 := time.Now()
	m, err := index.Open(dir, nil)
	if err != nil {
		tb.Fatal(err)
	}
	open := time.Since(t0)
	runtime.GC()
	runtime.ReadMemStats(&after)
	f := &shardFixture{svc: NewService(m), open: open, heap: int64(after.HeapAlloc) - int64(before.HeapAlloc)}
	tb.Logf("n=%d: reopening the manager (4 indexes) took %v, heap +%d MiB; shards of parts: %v",
		n, open, f.heap>>20, get2(m, "parts").ShardReads())
	shardFixes[n] = f
	return f
}

func get2(m *index.Manager, name string) *index.Index { ix, _ := m.Get(name); return ix }

func BenchmarkTenantQuery(b *testing.B) {
	for _, n := range []int{20000, 200000} {
		for _, tenant := range []string{"t100", "t5k"} {
			for _, where := range []string{"parts", "own", "flat"} {
				b.Run(fmt.Sprintf("n=%d/tenant=%s/%s", n, tenant, where), func(b *testing.B) {
					f := shardFix(b, n)
					name := where
					if where == "own" {
						name = "own-" + tenant
					}
					req := Params{Query: "sturdy widget ", Filters: "team:" + tenant, HitsPerPage: intp(20)}
					ctx := context.Background()
					res, err := f.svc.Search(ctx, auth.Admin(), name, req)
					if err != nil {
						b.Fatal(err)
					}
					hits := res.NbHits
					b.ResetTimer()
					for b.Loop() {
						res, err := f.svc.Search(ctx, auth.Admin(), name, req)
						if err != nil || res.NbHits != hits {
							b.Fatal(err, res.NbHits, hits)
						}
					}
					b.ReportMetric(float64(hits), "hits")
				})
			}
		}
	}
}
