package query

import (
	"context"
	"errors"
	"path/filepath"
	"testing"

	"github.com/keyhole-search/keyhole/auth"
	"github.com/keyhole-search/keyhole/query/filter"
)

// FuzzRestrictedSearch feeds arbitrary v4 params strings to a search made with a principal
// restricted to one tenant: whatever the request says, every hit and every tenant facet count
// belongs to that tenant, and a bad request is a parameter error, never a panic or another
// kind of error.
func FuzzRestrictedSearch(f *testing.F) {
	for _, s := range []string{
		"query=vintage&filters=team%3Aglobex",
		"filters=team%3Aacme%20OR%20team%3Aglobex&facets=%5B%22team%22%5D",
		"facetFilters=%5B%5B%22team%3Aglobex%22%2C%22team%3Aacme%22%5D%5D&hitsPerPage=50",
		"filters=NOT%20team%3Aacme&facets=*",
		"numericFilters=price%3E10&tagFilters=sale&page=1&hitsPerPage=3",
		"attributesToRetrieve=*&restrictSearchableAttributes=brand&query=zen",
		"filters=(team%3Aacme",
		"hitsPerPage=99999",
	} {
		f.Add(s)
	}
	recs := loadNDJSON(f, filepath.Join("..", "testdata", "catalogue.ndjson"), 0)
	_, svc := MustIndex(f, "products", catalogueSettings, recs)
	byID := map[string]map[string]any{}
	for _, r := range recs {
		byID[r["objectID"].(string)] = r
	}
	key := filter.Facet{Attr: "team", Value: "acme"}
	p := &auth.Principal{Kind: auth.KindSecuredKey, KeyID: "fuzz", ACL: auth.ACLSearch}
	p.Restrictions.Filter = key
	f.Fuzz(func(t *testing.T, params string) {
		req, err := DecodeParamsString(params)
		if err != nil {
			if !errors.Is(err, ErrInvalidParam) {
				t.Fatalf("decode error of the wrong kind: %v", err)
			}
			return
		}
		res, err := svc.Search(context.Background(), p, "products", req)
		if err != nil {
			if !errors.Is(err, ErrInvalidParam) {
				t.Fatalf("search error of the wrong kind: %v", err)
			}
			return
		}
		for _, h := range res.Hits {
			if !eval(key, byID[h["objectID"].(string)]) {
				t.Fatalf("params %q returned %v of another tenant", params, h["objectID"])
			}
		}
		for v, c := range res.Facets["team"] {
			if v != "acme" && c > 0 {
				t.Fatalf("params %q counted %d records of team %s", params, c, v)
			}
		}
		if res.NbHits > 24 {
			t.Fatalf("params %q: nbHits %d exceeds the tenant's 24 records", params, res.NbHits)
		}
	})
}
