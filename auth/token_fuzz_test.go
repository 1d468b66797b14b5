package auth

import (
	"context"
	"encoding/base64"
	"reflect"
	"strings"
	"testing"
	"time"

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

// FuzzTokenPaths signs arbitrary header and claims JSON with a stored key (HS256) and checks
// that the fast path (fastVerifyHS) only accepts what the golang-jwt path accepts, with the
// same verdict. The raw string is also tried as a token as is.
func FuzzTokenPaths(f *testing.F) {
	fx := newTokenFixture(f)
	hdr := `{"alg":"HS256","kid":"` + fx.signer.ID + `","typ":"JWT"}`
	for _, c := range []string{
		`{"exp":1600000600,"iat":1600000000,"sub":"u","jti":"j","filters":"a:1 OR b:2","restrictIndices":"products"}`,
		`{"exp":1600000600,"searchRules":{"*":{"filter":["a = 1",["b = 2","c = 3"]]},"dev_x":null,"products":{"filter":"x = 2"}}}`,
		`{"exp":1600000600,"searchRules":["*"],"searchParams":{"hitsPerPage":1000,"facets":["x"]},"rateLimit":5}`,
		`{"exp":1600000600,"facetFilters":[["a:1","b:2"]],"numericFilters":"p>1","tagFilters":"t","attributesToRetrieve":"*"}`,
		`{"exp":1600000600,"sub":"a","sub":"b","\u0073ub":"c","public_key":"pk","nbf":1599999990.5}`,
		`{"exp":1600000600.9,"iat":1599999000,"apiKeyUid":"` + fx.signer.ID + `"}`,
		`{"exp":1600000600,"iss":"` + testIssuer + `"}`, `{"exp":1600000000}`, `{"exp":"1600000600"}`, `{"exp":1e12}`, `[]`, `null`,
	} {
		f.Add(hdr, c)
		f.Add(`{"alg":"HS256"}`, c)
	}
	f.Add(`{"alg":"HS256","kid":"`+fx.signer.ID+`","crit":["x"]}`, `{"exp":1600000600}`)
	f.Add(`{"alg":"HS256","kid":"`+fx.signer.ID+`","kid":"other"}`, `{"exp":1600000600}`)
	f.Add(`{"alg":"HS256","KID":"`+fx.signer.ID+`"}`, `{"exp":1600000600}`)
	f.Add(`{"alg":"HS384","kid":"`+fx.signer.ID+`"}`, `{"exp":1600000600}`)
	f.Add(`{"alg":"none","kid":"`+fx.signer.ID+`"}`, `{"exp":1600000600}`)
	enc := base64.RawURLEncoding
	opts := &TokenOptions{DefaultKeyID: fx.signer.ID}
	check := func(t *testing.T, tok string) {
		fast, ok := fx.v.fastVerifyHS(tok, opts)
		if !ok {
			return
		}
		slow, _, err := fx.v.verifyTokenJWT(tok, opts)
		if err != nil {
			t.Fatalf("%q: fast path accepted, golang-jwt path refused: %v", tok, err)
		}
		if a, b := entryForCompare(fast), entryForCompare(slow); !reflect.DeepEqual(a, b) {
			t.Fatalf("%q: verdicts differ:\nfast %+v\njwt  %+v", tok, a, b)
		}
	}
	f.Fuzz(func(t *testing.T, header, claims string) {
		signing := enc.EncodeToString([]byte(header)) + "." + enc.EncodeToString([]byte(claims))
		for _, m := range []jwt.SigningMethod{jwt.SigningMethodHS256, jwt.SigningMethodHS384} {
			sig, err := m.Sign(signing, []byte(fx.signer.Value))
			if err != nil {
				t.Fatal(err)
			}
			check(t, signing+"."+enc.EncodeToString(sig))
		}
		check(t, header)
	})
}

// entryForCompare is a token entry without what may differ between two equal verdicts (its
// error's identity; the revocation generation).
type comparableEntry struct {
	signer              *keyEntry
	usedDefault         bool
	keyID, err          string
	c                   *compiled
	acl                 ACL
	exp, verifiedAt     time.Time
	iat                 int64
	hasIat, hasPubKey   bool
	jti, sub, publicKey string
}

func entryForCompare(te *tokenEntry) comparableEntry {
	c := comparableEntry{signer: te.signer, usedDefault: te.usedDefault, keyID: te.keyID, c: te.c, acl: te.acl,
		exp: te.exp, verifiedAt: te.verifiedAt, iat: te.iat, hasIat: te.hasIat, hasPubKey: te.hasPubKey,
		jti: te.jti, sub: te.sub, publicKey: te.publicKey}
	if te.err != nil {
		c.err = te.err.Error()
	}
	return c
}

// The fast path takes the common tokens (else FuzzTokenPaths proves nothing) and leaves the
// rest to golang-jwt.
func TestTokenFastPath(t *testing.T) {
	fx := newTokenFixture(t)
	opts := &TokenOptions{}
	for name, tok := range map[string]string{
		"plain":       fx.hs(t, nil),
		"searchRules": fx.hs(t, map[string]any{"searchRules": map[string]any{"products": map[string]any{"filter": "a = 1"}}, "filters": "b:2"}),
		"HS512 apiKeyUid": MustSign(t, jwt.SigningMethodHS512, []byte(fx.signer.Value), "",
			fx.claims(map[string]any{"apiKeyUid": fx.signer.ID})),
		"bad claims type": fx.hs(t, map[string]any{"filters": 3}), // verified: refused by its verdict
	} {
		te, ok := fx.v.fastVerifyHS(tok, opts)
		if !ok {
			t.Errorf("%s: not taken by the fast path", name)
			continue
		}
		if te.signer.key.ID != fx.signer.ID {
			t.Errorf("%s: signer %q", name, te.signer.key.ID)
		}
	}
	for name, tok := range map[string]string{
		"alg none":      rawToken(`{"alg":"none","kid":"`+fx.signer.ID+`"}`, `{"exp":1600000060}`, ""),
		"RS256":         fx.rs(t, nil),
		"bad signature": MustSign(t, jwt.SigningMethodHS256, []byte("not-the-value"), fx.signer.ID, fx.claims(nil)),
		"expired":       fx.hs(t, map[string]any{"iat": fixtureNow - 600, "exp": fixtureNow - 31}),
		"no exp":        fx.hs(t, map[string]any{"exp": nil}),
		"nbf ahead":     fx.hs(t, map[string]any{"nbf": fixtureNow + 120}),
		"iat ahead":     fx.hs(t, map[string]any{"iat": fixtureNow + 120}),
		"too long":      fx.hs(t, map[string]any{"exp": fixtureNow + 25*3600}),
		"no search ACL": MustSign(t, jwt.SigningMethodHS256, []byte(fx.nosearch.Value), fx.nosearch.ID, fx.claims(nil)),
		"unknown kid":   MustSign(t, jwt.SigningMethodHS256, []byte(fx.signer.Value), "no-such-key", fx.claims(nil)),
		"no kid":        MustSign(t, jwt.SigningMethodHS256, []byte(fx.signer.Value), "", fx.claims(nil)),
	} {
		if te, ok := fx.v.fastVerifyHS(tok, opts); ok && te.err == nil {
			t.Errorf("%s: accepted by the fast path", name)
		}
	}
}
