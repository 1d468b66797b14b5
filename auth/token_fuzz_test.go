package auth

import (
	"context"
	"encoding/base64"
	"strings"
	"testing"

	"github.com/golang-jwt/jwt/v5"
)

// FuzzToken feeds arbitrary text as a token (and as a JWT-looking API key): it must never
// panic and never authenticate, except for the genuine tokens it was seeded with.
func FuzzToken(f *testing.F) {
	fx := newTokenFixture(f)
	genuine := map[string]bool{}
	add := func(s string) {
		genuine[s] = true
		f.Add(s)
	}
	add(fx.hs(f, nil))
	add(fx.hs(f, map[string]any{"searchRules": map[string]any{"products": map[string]any{"filter": "a = 1"}}, "filters": "b:2"}))
	add(fx.rs(f, nil))
	add(MustSign(f, jwt.SigningMethodHS512, []byte(fx.signer.Value), "", fx.claims(map[string]any{"apiKeyUid": fx.signer.ID})))
	f.Add(rawToken(`{"alg":"none"}`, `{"exp":1600000060}`, ""))
	f.Add(rawToken(`{"alg":"HS256","kid":"../x"}`, `{"exp":1600000060}`, "AAAA"))
	f.Add("eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJwdWJsaWNfa2V5IjoiMWJlZDFmZmRlNDY1ZmRkYmEyYTUzYWQzY2U2OWU2YzIiLCJleHAiOjE3MDAwMDAwNjAsImlhdCI6MTcwMDAwMDAwMCwianRpIjoiMTIzNCJ9.GBx1RWRez4WxCkxOTHv2lAFUqjpmZrNAONoxAi5OtwE")
	f.Add("")
	f.Add("..")
	f.Add(strings.Repeat("a", MaxTokenLength+1))
	ctx := context.Background()
	f.Fuzz(func(t *testing.T, s string) {
		_, _ = readHeader(s)
		_ = looksLikeJWT(s)
		for _, c := range []Credentials{{Token: s}, {APIKey: s}, {Token: s, APIKey: fx.signer.Value}} {
			if c.Token == "" && c.APIKey != s {
				continue // no token at all: the API key alone
			}
			p, err := fx.v.Authenticate(ctx, c)
			if err == nil && !genuine[s] && !(c.APIKey == s && (s == fx.signer.Value || s == fx.nosearch.Value || s == testAdminKey)) {
				t.Fatalf("arbitrary token authenticated: %q -> %+v", s, p)
			}
		}
	})
}

// FuzzTokenClaims signs arbitrary claims JSON with a stored key: reading the claims must never
// panic, and whatever they say, the principal only narrows the key.
func FuzzTokenClaims(f *testing.F) {
	f.Add(`{"exp":1600000600,"sub":"u","filters":"a:1 OR b:2","restrictIndices":"products"}`)
	f.Add(`{"exp":1600000600,"searchRules":{"*":{"filter":["a = 1",["b = 2","c = 3"]]},"dev_x":null}}`)
	f.Add(`{"exp":1600000600,"searchRules":["*"],"searchParams":{"hitsPerPage":1000,"facets":["x"]},"rateLimit":5}`)
	f.Add(`{"exp":1600000600,"facetFilters":[["a:1","b:2"]],"numericFilters":"p>1","tagFilters":"t","attributesToRetrieve":"*"}`)
	f.Add(`{"exp":"x"}`)
	fx := newTokenFixture(f)
	keyP := MustAuth(f, fx.v, Credentials{APIKey: fx.signer.Value})
	keyFilter := keyP.Restrictions.Filter
	enc := base64.RawURLEncoding
	header := enc.EncodeToString([]byte(`{"alg":"HS256","kid":"` + fx.signer.ID + `"}`))
	f.Fuzz(func(t *testing.T, claims string) {
		signing := header + "." + enc.EncodeToString([]byte(claims))
		sig, err := jwt.SigningMethodHS256.Sign(signing, []byte(fx.signer.Value))
		if err != nil {
			t.Fatal(err)
		}
		tok := signing + "." + enc.EncodeToString(sig)
		p, err := fx.v.Authenticate(context.Background(), Credentials{Token: tok})
		if err != nil {
			return
		}
		if p.ACL != ACLSearch || !hasAndSubtree(p.Restrictions.Filter, keyFilter) {
			t.Fatalf("claims %q: principal %+v wider than the key", claims, p)
		}
		for _, name := range append(indexNamesFor(claims), "other", "dev_", "docs") {
			if p.IndexAllowed(name) && !keyP.IndexAllowed(name) {
				t.Fatalf("claims %q: index %q allowed, the key does not allow it", claims, name)
			}
		}
	})
}
