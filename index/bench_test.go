package index

import (
	"context"
	"fmt"
	"testing"
)

// BenchmarkWrite measures durable ingest of synthetic product records, in batches of
// b.N-independent size; it reports records/s. Run: go test -run '^$' -bench Write ./index/
func BenchmarkWrite(b *testing.B) {
	for _, batch := range []int{100, 1000} {
		b.Run(fmt.Sprintf("batch=%d", batch), func(b *testing.B) {
			m, _ := MustOpen(b, b.TempDir())
			ix := MustIndex(b, m, "bench")
			MustSettings(b, ix, `{"searchableAttributes":["name","description","brand"],"attributesForFaceting":["brand","category","team"]}`)
			waitPublished(b, m, ix)
			ops := make([]Op, batch)
			n := 0
			b.ResetTimer()
			for b.Loop() {
				for i := range ops {
					n++
					ops[i] = Op{Action: ActionUpdateObject, ObjectID: fmt.Sprintf("p%d", n), Body: map[string]any{
						"name":        fmt.Sprintf("Product %d deluxe edition", n),
						"description": "A sturdy widget made of recycled materials, perfect for everyday use at home or at work",
						"brand":       fmt.Sprintf("Brand%d", n%50),
						"category":    []any{"tools", fmt.Sprintf("cat%d", n%20)},
						"team":        fmt.Sprintf("T%d", n%1000),
						"price":       float64(n%1000) + 0.99,
						"stock":       n % 17,
						"inStock":     n%3 != 0,
						"_tags":       []any{"tag" + fmt.Sprint(n%7)},
						"dims":        map[string]any{"w": n % 10, "h": n % 20},
					}}
				}
				if _, _, err := ix.Write(context.Background(), ops); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "records/s")
		})
	}
}
