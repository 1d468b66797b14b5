package index

import (
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"testing"
	"time"
)

// TestMeasureRoutingLoad measures building the id → shard map of existing partitioned
// generations: the time of loadRouting and the heap it keeps. It needs a data directory
// (for example the one BenchmarkTenantQuery of the query package leaves in the temp dir):
//
//	KEYHOLE_ROUTING_DIR=/tmp/keyhole-shard-bench-XXX go test -run MeasureRoutingLoad -v ./index/
func TestMeasureRoutingLoad(t *testing.T) {
	dir := os.Getenv("KEYHOLE_ROUTING_DIR")
	if dir == "" {
		t.Skip("KEYHOLE_ROUTING_DIR not set")
	}
	gens, _ := filepath.Glob(filepath.Join(dir, indexesSubdir, "*", "gen-*"))
	for _, gd := range gens {
		lay, err := loadLayout(gd)
		if err != nil {
			continue // not partitioned
		}
		spec := fieldSpec{Tenant: &tenantSpec{Attr: lay.Attr, Shared: lay.Shared, OwnShardMin: 1}}
		g, err := openGeneration(gd, spec, slog.New(slog.DiscardHandler))
		if err != nil {
			t.Fatal(err)
		}
		for range 3 {
			g.rt = nil
			var before, after runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&before)
			t0 := time.Now()
			if err := g.loadRouting(slog.New(slog.DiscardHandler)); err != nil {
				t.Fatal(err)
			}
			took := time.Since(t0)
			runtime.GC()
			runtime.ReadMemStats(&after)
			t.Logf("%s: %d shards, %d records: loadRouting %v, heap kept %.1f MiB",
				gd, len(g.shards), len(g.rt.ids), took, float64(int64(after.HeapAlloc)-int64(before.HeapAlloc))/(1<<20))
		}
		_ = g.closeShards()
	}
}
