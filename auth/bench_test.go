package auth

import (
	"context"
	"fmt"
	"testing"

	"github.com/golang-jwt/jwt/v5"
)

// benchVerifier returns a verifier over a store of n keys, one of them (value parent) a search
// key that already minted one verified secured key (so it is the most recent parent).
func benchVerifier(b *testing.B, n int) (v *Verifier, parent string) {
	b.Helper()
	clock := newClock(fixtureNow)
	s := MustOpenStore(b, clock)
	createMany(b, s, n-1, KeySpec{ACL: []string{"search"}, QueryParameters: "filters=team%3A1"})
	parent = "bench-parent-value"
	MustCreate(b, s, parent, KeySpec{ACL: []string{"search"}, Indexes: []string{"products"}})
	v = newTestVerifier(s, clock)
	MustAuth(b, v, Credentials{APIKey: sign(parent, "warm=1")})
	return v, parent
}

func benchMessage(i int) string {
	return fmt.Sprintf("filters=team%%3A123&restrictIndices=products&userToken=user-%d&validUntil=%d", i, fixtureNow+3600)
}

func BenchmarkSecuredKey(b *testing.B) {
	ctx := context.Background()
	for _, n := range []int{10, 10_000} {
		b.Run(fmt.Sprintf("keys=%d/first-sight", n), func(b *testing.B) {
			v, parent := benchVerifier(b, n)
			keys := make([]string, b.N)
			for i := range keys {
				keys[i] = sign(parent, benchMessage(i))
			}
			b.ReportAllocs()
			b.ResetTimer()
			for i := range b.N {
				if _, err := v.Authenticate(ctx, Credentials{APIKey: keys[i]}); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(fmt.Sprintf("keys=%d/cached", n), func(b *testing.B) {
			v, parent := benchVerifier(b, n)
			creds := Credentials{APIKey: sign(parent, benchMessage(0))}
			MustAuth(b, v, creds)
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				if _, err := v.Authenticate(ctx, creds); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
	b.Run("keys=10000/forged-first-sight", func(b *testing.B) {
		v, _ := benchVerifier(b, 10_000)
		keys := make([]string, b.N)
		for i := range keys {
			keys[i] = sign(fmt.Sprintf("forger-%d", i), benchMessage(i))
		}
		b.ReportAllocs()
		b.ResetTimer()
		for i := range b.N {
			if _, err := v.Authenticate(ctx, Credentials{APIKey: keys[i]}); err == nil {
				b.Fatal("forged key authenticated")
			}
		}
	})
	b.Run("keys=10000/forged-replayed", func(b *testing.B) {
		v, _ := benchVerifier(b, 10_000)
		creds := Credentials{APIKey: sign("forger", benchMessage(0))}
		_, _ = v.Authenticate(ctx, creds)
		b.ReportAllocs()
		b.ResetTimer()
		for range b.N {
			if _, err := v.Authenticate(ctx, creds); err == nil {
				b.Fatal("forged key authenticated")
			}
		}
	})
}

func BenchmarkStoredKey(b *testing.B) {
	v, parent := benchVerifier(b, 10_000)
	creds := Credentials{APIKey: parent}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := v.Authenticate(context.Background(), creds); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkToken(b *testing.B) {
	ctx := context.Background()
	for _, n := range []int{10, 10_000} {
		setup := func(b *testing.B) (*Verifier, Key) {
			clock := newClock(fixtureNow)
			s := MustOpenStore(b, clock)
			createMany(b, s, n-1, KeySpec{ACL: []string{"search"}, QueryParameters: "filters=team%3A1"})
			k := MustCreate(b, s, "bench-signer-value", KeySpec{ACL: []string{"search"}, Indexes: []string{"products"}})
			return newTestVerifier(s, clock), k
		}
		claims := func(i int) jwt.MapClaims {
			return jwt.MapClaims{"sub": fmt.Sprintf("user-%d", i), "jti": fmt.Sprintf("jti-%d", i), "iat": fixtureNow,
				"exp": fixtureNow + 3600, "filters": "team:123", "searchRules": map[string]any{"products": map[string]any{"filter": "a = 1"}}}
		}
		b.Run(fmt.Sprintf("keys=%d/first-sight-HS256", n), func(b *testing.B) {
			v, k := setup(b)
			toks := make([]string, b.N)
			for i := range toks {
				toks[i] = MustSign(b, jwt.SigningMethodHS256, []byte(k.Value), k.ID, claims(i))
			}
			b.ReportAllocs()
			b.ResetTimer()
			for i := range b.N {
				if _, err := v.Authenticate(ctx, Credentials{Token: toks[i]}); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(fmt.Sprintf("keys=%d/cached", n), func(b *testing.B) {
			v, k := setup(b)
			creds := Credentials{Token: MustSign(b, jwt.SigningMethodHS256, []byte(k.Value), k.ID, claims(0))}
			MustAuth(b, v, creds)
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				if _, err := v.Authenticate(ctx, creds); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
