package query

import (
	"context"
	"testing"

	"github.com/keyhole-search/keyhole/auth"
)

// BenchmarkSearchSmallIndex is one search-box query (a prefix, 20 hits, highlighting) on a
// 60-record index: the per-query cost of the query layer itself, not of the data.
func BenchmarkSearchSmallIndex(b *testing.B) {
	_, svc := catalogue(b)
	ctx := context.Background()
	p := auth.Admin()
	for _, q := range []string{"kett", "steel kettle", ""} {
		b.Run("q="+q, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := svc.Search(ctx, p, "products", Params{Query: q, HitsPerPage: intp(20)}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
