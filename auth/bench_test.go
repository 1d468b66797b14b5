package auth

import (
	"context"
	"fmt"
	"testing"

	"github.com/golang-jwt/jwt/v5"
)

// benchKeys is how many keys the store holds in every benchmark.
const benchKeys = 10_000

// firstSightPool is how many distinct credentials a first-sight benchmark cycles through:
// more than the caches hold, so that each one is always a miss (an LRU never keeps one until
// its turn comes again), without holding b.N credentials in memory (whose marking by the
// garbage collector would weigh on the time measured).
const firstSightPool = 4 * DefaultSecuredCacheSize

// The benchmarks, one per performance target (all over a store of benchKeys keys):
//
//	BenchmarkSecuredKey/first-sight/hot-parent   a valid secured key never seen; its parent is the
//	                                             most recently successful one (hot[0]): 1 HMAC
//	BenchmarkSecuredKey/first-sight/cold-parent  (for information) its parent is not among the
//	                                             hotParents recent ones and is the newest key, last
//	                                             in the candidate order: benchKeys HMACs, as forged
//	BenchmarkSecuredKey/cached                   the same secured key again: a cached verdict
//	BenchmarkSecuredKey/forged-first-sight       a secured key no stored key signed, never seen
//	BenchmarkSecuredKey/forged-replayed          the same forged key again: the negative cache
//	BenchmarkStoredKey                           a stored key's value
//	BenchmarkToken/first-sight-HS256             a valid HS256 token never seen (kid names its key)
//	BenchmarkToken/cached                        the same token again: a cached verdict
//
// The first-sight credentials share their filters (as tokens re-minted for one user or keys
// minted for one tenant do), which the verifier parses once; the ".../unique-filters" variants
// give each credential filters of its own, for information.
//
// Each also reports cpu-ns/op, the CPU time of its own thread per operation, steadier than
// ns/op on a shared machine.

// benchStore returns a clock and a store of benchKeys search keys, the last one (value
// parent) created a second after the others: the newest, last in the candidate order.
func benchStore(b *testing.B) (*testClock, *KeyStore, Key) {
	b.Helper()
	clock := newClock(fixtureNow)
	s := MustOpenStore(b, clock)
	createMany(b, s, benchKeys-1, KeySpec{ACL: []string{"search"}, QueryParameters: "filters=team%3A1"})
	clock.Advance(1)
	parent := MustCreate(b, s, "bench-parent-value", KeySpec{ACL: []string{"search"}, Indexes: []string{"products"}})
	if c := s.candidates(); c[len(c)-1].key.ID != parent.ID {
		b.Fatal("the parent is not last in the candidate order")
	}
	return clock, s, parent
}

// benchVerifier returns a verifier over benchStore. When hot, the parent already verified a
// secured key (it is the most recent parent, tried first); otherwise hotParents other keys did
// (so that the parent is tried last of all).
func benchVerifier(b *testing.B, hot bool) (v *Verifier, parent string) {
	b.Helper()
	clock, s, p := benchStore(b)
	v = newTestVerifier(s, clock)
	if hot {
		MustAuth(b, v, Credentials{APIKey: sign(p.Value, "warm=1")})
	} else {
		for _, e := range s.candidates()[:hotParents] {
			MustAuth(b, v, Credentials{APIKey: sign(e.key.Value, "warm=1")})
		}
	}
	return v, p.Value
}

func benchMessage(i int) string {
	return fmt.Sprintf("filters=team%%3A123&restrictIndices=products&userToken=user-%d&validUntil=%d", i, fixtureNow+3600)
}

func benchMessageUnique(i int) string {
	return fmt.Sprintf("filters=team%%3A%d&restrictIndices=products&userToken=user-%d&validUntil=%d", i, i, fixtureNow+3600)
}

func BenchmarkSecuredKey(b *testing.B) {
	ctx := context.Background()
	firstSight := func(hot bool, msg func(int) string) func(b *testing.B) {
		return func(b *testing.B) {
			v, parent := benchVerifier(b, hot)
			keys := make([]string, min(b.N, firstSightPool))
			for i := range keys {
				keys[i] = sign(parent, msg(i))
			}
			hotList := v.hot.Load()
			b.ReportAllocs()
			b.ResetTimer()
			defer threadCPU(b)()
			for i := range b.N {
				if _, err := v.Authenticate(ctx, Credentials{APIKey: keys[i%len(keys)]}); err != nil {
					b.Fatal(err)
				}
				if !hot {
					v.hot.Store(hotList) // success promoted the parent: make it cold again
				}
			}
		}
	}
	b.Run("first-sight/hot-parent", firstSight(true, benchMessage))
	b.Run("first-sight/cold-parent", firstSight(false, benchMessage))
	b.Run("first-sight/hot-parent/unique-filters", firstSight(true, benchMessageUnique))
	b.Run("cached", func(b *testing.B) {
		v, parent := benchVerifier(b, true)
		creds := Credentials{APIKey: sign(parent, benchMessage(0))}
		MustAuth(b, v, creds)
		b.ReportAllocs()
		b.ResetTimer()
		defer threadCPU(b)()
		for range b.N {
			if _, err := v.Authenticate(ctx, creds); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("forged-first-sight", func(b *testing.B) {
		v, _ := benchVerifier(b, true)
		keys := make([]string, min(b.N, firstSightPool))
		for i := range keys {
			keys[i] = sign(fmt.Sprintf("forger-%d", i), benchMessage(i))
		}
		b.ReportAllocs()
		b.ResetTimer()
		defer threadCPU(b)()
		for i := range b.N {
			if _, err := v.Authenticate(ctx, Credentials{APIKey: keys[i%len(keys)]}); err == nil {
				b.Fatal("forged key authenticated")
			}
		}
	})
	b.Run("forged-replayed", func(b *testing.B) {
		v, _ := benchVerifier(b, true)
		creds := Credentials{APIKey: sign("forger", benchMessage(0))}
		_, _ = v.Authenticate(ctx, creds)
		b.ReportAllocs()
		b.ResetTimer()
		defer threadCPU(b)()
		for range b.N {
			if _, err := v.Authenticate(ctx, creds); err == nil {
				b.Fatal("forged key authenticated")
			}
		}
	})
}

func BenchmarkStoredKey(b *testing.B) {
	v, parent := benchVerifier(b, true)
	creds := Credentials{APIKey: parent}
	b.ReportAllocs()
	defer threadCPU(b)()
	for b.Loop() {
		if _, err := v.Authenticate(context.Background(), creds); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkToken(b *testing.B) {
	ctx := context.Background()
	setup := func(b *testing.B) (*Verifier, Key) {
		clock, s, k := benchStore(b)
		return newTestVerifier(s, clock), k
	}
	claimsOf := func(i int, filters, rule string) jwt.MapClaims {
		return jwt.MapClaims{"sub": fmt.Sprintf("user-%d", i), "jti": fmt.Sprintf("jti-%d", i), "iat": fixtureNow,
			"exp": fixtureNow + 3600, "filters": filters, "searchRules": map[string]any{"products": map[string]any{"filter": rule}}}
	}
	claims := func(i int) jwt.MapClaims { return claimsOf(i, "team:123", "a = 1") }
	unique := func(i int) jwt.MapClaims { return claimsOf(i, fmt.Sprintf("team:%d", i), fmt.Sprintf("a = %d", i)) }
	firstSight := func(claims func(int) jwt.MapClaims) func(b *testing.B) {
		return func(b *testing.B) {
			v, k := setup(b)
			toks := make([]string, min(b.N, firstSightPool))
			for i := range toks {
				toks[i] = MustSign(b, jwt.SigningMethodHS256, []byte(k.Value), k.ID, claims(i))
			}
			b.ReportAllocs()
			b.ResetTimer()
			defer threadCPU(b)()
			for i := range b.N {
				if _, err := v.Authenticate(ctx, Credentials{Token: toks[i%len(toks)]}); err != nil {
					b.Fatal(err)
				}
			}
		}
	}
	b.Run("first-sight-HS256", firstSight(claims))
	b.Run("first-sight-HS256/unique-filters", firstSight(unique))
	b.Run("cached", func(b *testing.B) {
		v, k := setup(b)
		creds := Credentials{Token: MustSign(b, jwt.SigningMethodHS256, []byte(k.Value), k.ID, claims(0))}
		MustAuth(b, v, creds)
		b.ReportAllocs()
		b.ResetTimer()
		defer threadCPU(b)()
		for range b.N {
			if _, err := v.Authenticate(ctx, creds); err != nil {
				b.Fatal(err)
			}
		}
	})
}
