package metrics

import (
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
)

// TestOwnRegistry checks that two Metrics do not share state (no default registry) and that
// the index collector reports at gather time.
func TestOwnRegistry(t *testing.T) {
	a, b := New(), New()
	calls := 0
	a.WatchIndexes(func() []IndexStat {
		calls++
		return []IndexStat{{Name: "products", Records: 3, DataBytes: 10, FileBytes: 20}}
	})
	a.ObserveRequest("/1/indexes/{index}/query", "POST", 200, time.Millisecond)
	a.ObserveRequest("/1/indexes/{index}/query", "BREW", 405, time.Millisecond)
	a.Verdict("ok:admin")
	want := `
# HELP keyhole_index_records Records in the index.
# TYPE keyhole_index_records gauge
keyhole_index_records{index="products"} 3
# HELP keyhole_indexes Number of indexes.
# TYPE keyhole_indexes gauge
keyhole_indexes 1
# HELP keyhole_http_requests_total HTTP requests by route template, method and status.
# TYPE keyhole_http_requests_total counter
keyhole_http_requests_total{method="POST",route="/1/indexes/{index}/query",status="200"} 1
keyhole_http_requests_total{method="other",route="/1/indexes/{index}/query",status="405"} 1
`
	if err := testutil.GatherAndCompare(a.Registry(), strings.NewReader(want), "keyhole_index_records", "keyhole_indexes", "keyhole_http_requests_total"); err != nil {
		t.Fatal(err)
	}
	if calls == 0 {
		t.Fatal("index collector not called at gather time")
	}
	if n, err := testutil.GatherAndCount(b.Registry(), "keyhole_http_requests_total", "keyhole_auth_verdicts_total"); err != nil || n != 0 {
		t.Fatalf("second registry holds %d series (%v)", n, err)
	}
}
