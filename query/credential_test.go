package query

import (
	"context"
	"math/rand"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/keyhole-search/keyhole/auth"
	"github.com/keyhole-search/keyhole/query/filter"
)

// The isolation property again, with principals that come from real credentials: secured keys
// minted with random restrictions and user tokens with random claims, verified by auth.

func verifierFor(t *testing.T) (*auth.Verifier, auth.Key) {
	t.Helper()
	ks, err := auth.OpenKeyStore(filepath.Join(t.TempDir(), "keys.db"), time.Now)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ks.Close() })
	key, err := ks.Create(auth.KeySpec{ACL: []string{"search", "browse"}, Indexes: []string{"products"}})
	if err != nil {
		t.Fatal(err)
	}
	return auth.NewVerifier(auth.VerifierOptions{AdminKey: "admin-key-for-tests", Store: ks}), key
}

// extraClause is a random further restriction a credential may carry besides its tenant.
func extraClause(r *rand.Rand) filter.Node {
	switch r.Intn(4) {
	case 0:
		return filter.Facet{Attr: "category", Value: []string{"books", "garden", "kitchen", "electronics"}[r.Intn(4)]}
	case 1:
		return filter.Numeric{Attr: "price", Op: filter.OpLe, Value: float64(50 + r.Intn(300))}
	}
	return nil
}

func TestIsolationWithSecuredKeys(t *testing.T) {
	recs, svc := catalogue(t)
	v, key := verifierFor(t)
	checkIsolation(t, recs, svc, isolationCase{
		index: "products", tenantAttr: "team", tenants: []string{"acme", "globex", "initech", "umbrella"},
		gen: randomFilter, facets: []string{"team", "category"}, queries: []string{"vintage", "espresso", "kettle"}, n: 400,
		credential: func(t *testing.T, r *rand.Rand, tenant string) (*auth.Principal, filter.Node) {
			want := filter.Conj(filter.Facet{Attr: "team", Value: tenant}, extraClause(r))
			sr := auth.SecuredRestrictions{Filters: filter.String(want), ValidUntil: time.Now().Add(time.Hour)}
			if r.Intn(2) == 0 {
				sr.RestrictIndices = []string{"prod*"}
			}
			sk, err := auth.GenerateSecuredAPIKey(key.Value, sr)
			if err != nil {
				t.Fatal(err)
			}
			p, err := v.Authenticate(context.Background(), auth.Credentials{APIKey: sk})
			if err != nil {
				t.Fatal(err)
			}
			return p, want
		},
	})
}

func TestIsolationWithUserTokens(t *testing.T) {
	recs := loadNDJSON(t, filepath.Join("..", "testdata", "catalogue.ndjson"), 0)
	// The tenant is the user here: team is the index's userAttribute, forced from sub.
	_, svc := MustIndex(t, "products", `{
		"searchableAttributes": ["name", "unordered(description)", "brand"],
		"attributesForFaceting": ["team", "searchable(brand)", "category", "in_stock", "price", "rating"],
		"userAttribute": "team"}`, recs)
	v, key := verifierFor(t)
	checkIsolation(t, recs, svc, isolationCase{
		index: "products", tenantAttr: "team", tenants: []string{"acme", "globex", "initech", "umbrella"},
		gen: randomFilter, facets: []string{"team", "category"}, queries: []string{"vintage", "espresso", "kettle"}, n: 400,
		credential: func(t *testing.T, r *rand.Rand, tenant string) (*auth.Principal, filter.Node) {
			extra := extraClause(r)
			claims := auth.TokenClaims{Subject: tenant}
			if extra != nil {
				if r.Intn(2) == 0 {
					claims.Filters = filter.String(extra)
				} else {
					// The same clause through Meilisearch searchRules for this index.
					meili := map[filter.Op]string{filter.OpLe: "<="}
					var rule string
					switch x := extra.(type) {
					case filter.Facet:
						rule = x.Attr + ` = "` + x.Value + `"`
					case filter.Numeric:
						rule = x.Attr + " " + meili[x.Op] + " " + strconv.FormatFloat(x.Value, 'f', -1, 64)
					}
					claims.SearchRules = map[string]auth.SearchRule{"products": {Filter: rule}, "*": {}}
				}
			}
			tok, err := auth.GenerateToken(key, claims, 10*time.Minute, time.Now())
			if err != nil {
				t.Fatal(err)
			}
			p, err := v.Authenticate(context.Background(), auth.Credentials{Token: tok})
			if err != nil {
				t.Fatalf("token with %+v: %v", claims, err)
			}
			return p, filter.Conj(filter.Facet{Attr: "team", Value: tenant}, extra)
		},
	})
}
