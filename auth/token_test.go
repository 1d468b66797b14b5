package auth

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/keyhole-search/keyhole/query/filter"
)

// tokenFixture is a store with a signing key, a key without search, and a verifier that also
// trusts one identity provider (a static RSA key).
type tokenFixture struct {
	clock    *testClock
	store    *KeyStore
	v        *Verifier
	signer   Key // search+addObject, indexes products and dev_*, filters tenant:7
	nosearch Key // browse only
	rsaKey   *rsa.PrivateKey
}

const testIssuer = "https://id.example.com/"

func newTokenFixture(t testing.TB) *tokenFixture {
	t.Helper()
	f := &tokenFixture{clock: newClock(fixtureNow)}
	f.store = MustOpenStore(t, f.clock)
	f.signer = MustCreate(t, f.store, "signer-value-0123456789", KeySpec{
		ACL: []string{"search", "addObject"}, Indexes: []string{"products", "dev_*"},
		QueryParameters: "filters=tenant%3A7",
	})
	f.nosearch = MustCreate(t, f.store, "browse-only-value-0123", KeySpec{ACL: []string{"browse"}})
	f.rsaKey = sharedRSA(t)
	pub := &f.rsaKey.PublicKey
	f.v = NewVerifier(VerifierOptions{
		AdminKey: testAdminKey, Store: f.store, Now: f.clock.Now, AppID: "APPID",
		Providers: []Provider{{
			Name: "corp", Issuer: testIssuer, Audience: []string{"keyhole"}, Indexes: []string{"docs_*"},
			Filters: "visibility:internal",
			Keyfunc: func(*jwt.Token) (any, error) { return pub, nil },
		}},
	})
	return f
}

// sharedRSA returns one RSA key for the whole test binary (generating one per test is slow
// under the race detector). It is never modified.
var sharedRSA = func() func(testing.TB) *rsa.PrivateKey {
	once := sync.OnceValue(func() *rsa.PrivateKey {
		k, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			panic(err)
		}
		return k
	})
	return func(testing.TB) *rsa.PrivateKey { return once() }
}()

func mustRSA(t testing.TB) *rsa.PrivateKey {
	t.Helper()
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// claims returns valid base claims at the fixture's time.
func (f *tokenFixture) claims(extra map[string]any) jwt.MapClaims {
	now := f.clock.Now().Unix()
	c := jwt.MapClaims{"iat": now, "exp": now + 600, "jti": "jti-1", "sub": "user-1"}
	for k, v := range extra {
		if v == nil {
			delete(c, k)
			continue
		}
		c[k] = v
	}
	return c
}

// MustSign signs claims with method and key, setting the header kid when kid is not "".
func MustSign(tb testing.TB, method jwt.SigningMethod, key any, kid string, claims jwt.MapClaims) string {
	tb.Helper()
	tok := jwt.NewWithClaims(method, claims)
	if kid != "" {
		tok.Header["kid"] = kid
	}
	s, err := tok.SignedString(key)
	if err != nil {
		tb.Fatal(err)
	}
	return s
}

// hs signs an HS256 token with the fixture's signer.
func (f *tokenFixture) hs(tb testing.TB, extra map[string]any) string {
	return MustSign(tb, jwt.SigningMethodHS256, []byte(f.signer.Value), f.signer.ID, f.claims(extra))
}

// rs signs an RS256 token of the identity provider.
func (f *tokenFixture) rs(tb testing.TB, extra map[string]any) string {
	c := f.claims(map[string]any{"iss": testIssuer, "aud": "keyhole"})
	for k, v := range extra {
		if v == nil {
			delete(c, k)
			continue
		}
		c[k] = v
	}
	return MustSign(tb, jwt.SigningMethodRS256, f.rsaKey, "", c)
}

func (f *tokenFixture) auth(c Credentials) (*Principal, error) {
	return f.v.Authenticate(context.Background(), c)
}

// rawToken assembles a token from a header and claims JSON and a signature, unsigned.
func rawToken(header, claims, sig string) string {
	enc := base64.RawURLEncoding
	return enc.EncodeToString([]byte(header)) + "." + enc.EncodeToString([]byte(claims)) + "." + sig
}

func TestTokenRefusals(t *testing.T) {
	tests := []struct {
		name  string
		setup func(t *testing.T, f *tokenFixture) Credentials
		want  error
	}{
		{"alg none", func(t *testing.T, f *tokenFixture) Credentials {
			return Credentials{Token: rawToken(`{"alg":"none","typ":"JWT","kid":"`+f.signer.ID+`"}`,
				`{"exp":`+itoa(fixtureNow+60)+`,"sub":"u"}`, "")}
		}, ErrTokenAlgorithm},
		{"alg None (case)", func(t *testing.T, f *tokenFixture) Credentials {
			return Credentials{Token: rawToken(`{"alg":"None"}`, `{"exp":`+itoa(fixtureNow+60)+`}`, "")}
		}, ErrTokenAlgorithm},
		{"unknown alg", func(t *testing.T, f *tokenFixture) Credentials {
			return Credentials{Token: rawToken(`{"alg":"HS1"}`, `{"exp":`+itoa(fixtureNow+60)+`}`, "c2ln")}
		}, ErrTokenAlgorithm},
		{"method confusion: provider public key as HS256 secret", func(t *testing.T, f *tokenFixture) Credentials {
			der, err := x509.MarshalPKIXPublicKey(&f.rsaKey.PublicKey)
			if err != nil {
				t.Fatal(err)
			}
			pemKey := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
			c := f.claims(map[string]any{"iss": testIssuer, "aud": "keyhole"})
			return Credentials{Token: MustSign(t, jwt.SigningMethodHS256, pemKey, "", c)}
		}, ErrTokenAlgorithm},
		{"method confusion: RS256 token naming an API key", func(t *testing.T, f *tokenFixture) Credentials {
			return Credentials{Token: MustSign(t, jwt.SigningMethodRS256, f.rsaKey, f.signer.ID, f.claims(nil))}
		}, ErrTokenAlgorithm},
		{"unknown kid", func(t *testing.T, f *tokenFixture) Credentials {
			return Credentials{Token: MustSign(t, jwt.SigningMethodHS256, []byte(f.signer.Value), "00000000-0000-4000-8000-000000000000", f.claims(nil))}
		}, ErrTokenUnknownKey},
		{"no kid and no default", func(t *testing.T, f *tokenFixture) Credentials {
			return Credentials{Token: MustSign(t, jwt.SigningMethodHS256, []byte(f.signer.Value), "", f.claims(nil))}
		}, ErrTokenUnknownKey},
		{"kid is a path", func(t *testing.T, f *tokenFixture) Credentials {
			return Credentials{Token: MustSign(t, jwt.SigningMethodHS256, []byte(f.signer.Value), "../../etc/passwd", f.claims(nil))}
		}, ErrTokenKeyID},
		{"kid is dot-dot", func(t *testing.T, f *tokenFixture) Credentials {
			return Credentials{Token: MustSign(t, jwt.SigningMethodHS256, []byte(f.signer.Value), "a..b", f.claims(nil))}
		}, ErrTokenKeyID},
		{"kid is a URL", func(t *testing.T, f *tokenFixture) Credentials {
			return Credentials{Token: MustSign(t, jwt.SigningMethodHS256, []byte(f.signer.Value), "https://evil.example/key", f.claims(nil))}
		}, ErrTokenKeyID},
		{"kid too long", func(t *testing.T, f *tokenFixture) Credentials {
			return Credentials{Token: MustSign(t, jwt.SigningMethodHS256, []byte(f.signer.Value), strings.Repeat("a", 129), f.claims(nil))}
		}, ErrTokenKeyID},
		{"apiKeyUid is a path", func(t *testing.T, f *tokenFixture) Credentials {
			return Credentials{Token: MustSign(t, jwt.SigningMethodHS256, []byte(f.signer.Value), "", f.claims(map[string]any{"apiKeyUid": "/etc/x"}))}
		}, ErrTokenKeyID},
		{"kid and apiKeyUid differ", func(t *testing.T, f *tokenFixture) Credentials {
			return Credentials{Token: f.hs(t, map[string]any{"apiKeyUid": f.nosearch.ID})}
		}, ErrTokenMalformed},
		{"exp in milliseconds", func(t *testing.T, f *tokenFixture) Credentials {
			return Credentials{Token: f.hs(t, map[string]any{"exp": (fixtureNow + 600) * 1000})}
		}, ErrTokenMilliseconds},
		{"iat in milliseconds", func(t *testing.T, f *tokenFixture) Credentials {
			return Credentials{Token: f.hs(t, map[string]any{"iat": fixtureNow * 1000})}
		}, ErrTokenMilliseconds},
		{"expired", func(t *testing.T, f *tokenFixture) Credentials {
			return Credentials{Token: f.hs(t, map[string]any{"iat": fixtureNow - 600, "exp": fixtureNow - 31})}
		}, ErrTokenExpired},
		{"expired after first use (cache)", func(t *testing.T, f *tokenFixture) Credentials {
			c := Credentials{Token: f.hs(t, nil)}
			if _, err := f.auth(c); err != nil {
				t.Fatal(err)
			}
			f.clock.Advance(600 + 30)
			return c
		}, ErrTokenExpired},
		{"no exp", func(t *testing.T, f *tokenFixture) Credentials {
			return Credentials{Token: f.hs(t, map[string]any{"exp": nil})}
		}, ErrTokenNoExpiry},
		{"nbf in the future", func(t *testing.T, f *tokenFixture) Credentials {
			return Credentials{Token: f.hs(t, map[string]any{"nbf": fixtureNow + 120})}
		}, ErrTokenNotYetValid},
		{"iat in the future", func(t *testing.T, f *tokenFixture) Credentials {
			return Credentials{Token: f.hs(t, map[string]any{"iat": fixtureNow + 120})}
		}, ErrTokenNotYetValid},
		{"lifetime too long", func(t *testing.T, f *tokenFixture) Credentials {
			return Credentials{Token: f.hs(t, map[string]any{"exp": fixtureNow + 25*3600})}
		}, ErrTokenLifetime},
		{"lifetime too long without iat", func(t *testing.T, f *tokenFixture) Credentials {
			return Credentials{Token: f.hs(t, map[string]any{"iat": nil, "exp": fixtureNow + 25*3600})}
		}, ErrTokenLifetime},
		{"bad signature", func(t *testing.T, f *tokenFixture) Credentials {
			return Credentials{Token: MustSign(t, jwt.SigningMethodHS256, []byte("not-the-value"), f.signer.ID, f.claims(nil))}
		}, ErrTokenSignature},
		{"claims altered", func(t *testing.T, f *tokenFixture) Credentials {
			tok := f.hs(t, nil)
			parts := strings.Split(tok, ".")
			parts[1] = base64.RawURLEncoding.EncodeToString([]byte(`{"exp":` + itoa(fixtureNow+60) + `,"sub":"admin"}`))
			return Credentials{Token: strings.Join(parts, ".")}
		}, ErrTokenSignature},
		{"deleted key", func(t *testing.T, f *tokenFixture) Credentials {
			tok := f.hs(t, nil)
			if _, err := f.auth(Credentials{Token: tok}); err != nil {
				t.Fatal(err)
			}
			if err := f.store.Delete(f.signer.Value); err != nil {
				t.Fatal(err)
			}
			return Credentials{Token: tok}
		}, ErrTokenUnknownKey},
		{"key without search", func(t *testing.T, f *tokenFixture) Credentials {
			return Credentials{Token: MustSign(t, jwt.SigningMethodHS256, []byte(f.nosearch.Value), f.nosearch.ID, f.claims(nil))}
		}, ErrTokenKeyNotSearch},
		{"revoked jti", func(t *testing.T, f *tokenFixture) Credentials {
			tok := f.hs(t, nil)
			if _, err := f.auth(Credentials{Token: tok}); err != nil {
				t.Fatal(err)
			}
			if err := f.store.RevokeToken("jti-1", time.Unix(fixtureNow+600, 0)); err != nil {
				t.Fatal(err)
			}
			return Credentials{Token: tok}
		}, ErrTokenRevoked},
		{"revoked user after first use (cache)", func(t *testing.T, f *tokenFixture) Credentials {
			tok := f.hs(t, nil)
			MustAuth(t, f.v, Credentials{Token: tok})
			MustAuth(t, f.v, Credentials{Token: tok}) // from the cache
			if err := f.store.RevokeUser("user-1", time.Unix(fixtureNow+1, 0)); err != nil {
				t.Fatal(err)
			}
			return Credentials{Token: tok}
		}, ErrTokenRevoked},
		{"signing key updated after first use (cache)", func(t *testing.T, f *tokenFixture) Credentials {
			tok := f.hs(t, nil)
			MustAuth(t, f.v, Credentials{Token: tok})
			if _, err := f.store.Update(f.signer.Value, KeySpec{ACL: []string{"search"}, Validity: 1}); err != nil {
				t.Fatal(err)
			}
			f.clock.Advance(1)
			return Credentials{Token: tok}
		}, ErrExpired},
		{"revoked user", func(t *testing.T, f *tokenFixture) Credentials {
			tok := f.hs(t, nil)
			if err := f.store.RevokeUser("user-1", time.Unix(fixtureNow+1, 0)); err != nil {
				t.Fatal(err)
			}
			return Credentials{Token: tok}
		}, ErrTokenRevoked},
		{"revoked user, token without iat", func(t *testing.T, f *tokenFixture) Credentials {
			if err := f.store.RevokeUser("user-1", time.Unix(fixtureNow-1000, 0)); err != nil {
				t.Fatal(err)
			}
			return Credentials{Token: f.hs(t, map[string]any{"iat": nil})}
		}, ErrTokenRevoked},
		{"revoked identity provider user", func(t *testing.T, f *tokenFixture) Credentials {
			if err := f.store.RevokeUser("user-1", time.Unix(fixtureNow+1, 0)); err != nil {
				t.Fatal(err)
			}
			return Credentials{Token: f.rs(t, nil)}
		}, ErrTokenRevoked},
		{"unknown issuer", func(t *testing.T, f *tokenFixture) Credentials {
			return Credentials{Token: f.rs(t, map[string]any{"iss": "https://other.example/"})}
		}, ErrTokenIssuer},
		{"no issuer", func(t *testing.T, f *tokenFixture) Credentials {
			return Credentials{Token: f.rs(t, map[string]any{"iss": nil})}
		}, ErrTokenIssuer},
		{"wrong audience", func(t *testing.T, f *tokenFixture) Credentials {
			return Credentials{Token: f.rs(t, map[string]any{"aud": []string{"other"}})}
		}, ErrTokenAudience},
		{"no audience", func(t *testing.T, f *tokenFixture) Credentials {
			return Credentials{Token: f.rs(t, map[string]any{"aud": nil})}
		}, ErrTokenAudience},
		{"provider token signed by another key", func(t *testing.T, f *tokenFixture) Credentials {
			c := f.claims(map[string]any{"iss": testIssuer, "aud": "keyhole"})
			return Credentials{Token: MustSign(t, jwt.SigningMethodRS256, mustRSA(t), "", c)}
		}, ErrTokenSignature},
		{"provider token with the wrong key type (ES256 vs RSA key)", func(t *testing.T, f *tokenFixture) Credentials {
			ec, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
			if err != nil {
				t.Fatal(err)
			}
			c := f.claims(map[string]any{"iss": testIssuer, "aud": "keyhole"})
			return Credentials{Token: MustSign(t, jwt.SigningMethodES256, ec, "", c)}
		}, ErrTokenAlgorithm},
		{"oversized", func(t *testing.T, f *tokenFixture) Credentials {
			return Credentials{Token: f.hs(t, map[string]any{"pad": strings.Repeat("x", MaxTokenLength)})}
		}, ErrTokenTooLong},
		{"garbage", func(t *testing.T, f *tokenFixture) Credentials {
			return Credentials{Token: "not a token"}
		}, ErrTokenMalformed},
		{"garbage with dots", func(t *testing.T, f *tokenFixture) Credentials {
			return Credentials{Token: "a.b.c"}
		}, ErrTokenMalformed},
		{"header not JSON", func(t *testing.T, f *tokenFixture) Credentials {
			return Credentials{Token: rawToken(`[1]`, `{}`, "")}
		}, ErrTokenMalformed},
		{"crit header", func(t *testing.T, f *tokenFixture) Credentials {
			return Credentials{Token: rawToken(`{"alg":"HS256","crit":["b64"]}`, `{}`, "")}
		}, ErrTokenMalformed},
		{"exp not a number", func(t *testing.T, f *tokenFixture) Credentials {
			return Credentials{Token: f.hs(t, map[string]any{"exp": "tomorrow"})}
		}, ErrTokenMalformed},
		{"filters of the wrong type", func(t *testing.T, f *tokenFixture) Credentials {
			return Credentials{Token: f.hs(t, map[string]any{"filters": 3})}
		}, ErrInvalidRestrictions},
		{"filters that do not parse", func(t *testing.T, f *tokenFixture) Credentials {
			return Credentials{Token: f.hs(t, map[string]any{"filters": "a:1 AND ("})}
		}, ErrInvalidRestrictions},
		{"searchRules of the wrong type", func(t *testing.T, f *tokenFixture) Credentials {
			return Credentials{Token: f.hs(t, map[string]any{"searchRules": 3})}
		}, ErrInvalidRestrictions},
		{"searchRules rule of the wrong type", func(t *testing.T, f *tokenFixture) Credentials {
			return Credentials{Token: f.hs(t, map[string]any{"searchRules": map[string]any{"products": "x"}})}
		}, ErrInvalidRestrictions},
		{"empty searchRules", func(t *testing.T, f *tokenFixture) Credentials {
			return Credentials{Token: f.hs(t, map[string]any{"searchRules": map[string]any{}})}
		}, ErrInvalidRestrictions},
		{"rateLimit not an integer", func(t *testing.T, f *tokenFixture) Credentials {
			return Credentials{Token: f.hs(t, map[string]any{"rateLimit": 1.5})}
		}, ErrInvalidRestrictions},
		{"sub not a string", func(t *testing.T, f *tokenFixture) Credentials {
			return Credentials{Token: f.hs(t, map[string]any{"sub": 12})}
		}, ErrInvalidRestrictions},
		{"restriction inside searchParams", func(t *testing.T, f *tokenFixture) Credentials {
			return Credentials{Token: f.hs(t, map[string]any{"searchParams": map[string]any{"restrictIndices": "x"}})}
		}, ErrInvalidRestrictions},
		{"token validUntil past", func(t *testing.T, f *tokenFixture) Credentials {
			return Credentials{Token: f.hs(t, map[string]any{"validUntil": fixtureNow - 1})}
		}, ErrExpired},
		{"restrictSources", func(t *testing.T, f *tokenFixture) Credentials {
			return Credentials{Token: f.hs(t, map[string]any{"restrictSources": "10.0.0.0/8"})}
		}, ErrSourceNotAllowed},
		{"API key is the admin key", func(t *testing.T, f *tokenFixture) Credentials {
			return Credentials{Token: f.hs(t, nil), APIKey: testAdminKey}
		}, ErrTokenKeyMismatch},
		{"API key is another key", func(t *testing.T, f *tokenFixture) Credentials {
			return Credentials{Token: f.hs(t, nil), APIKey: f.nosearch.Value}
		}, ErrTokenKeyMismatch},
		{"API key is another token", func(t *testing.T, f *tokenFixture) Credentials {
			return Credentials{Token: f.hs(t, nil), APIKey: f.hs(t, map[string]any{"jti": "other"})}
		}, ErrTokenKeyMismatch},
		{"API key with a provider token", func(t *testing.T, f *tokenFixture) Credentials {
			return Credentials{Token: f.rs(t, nil), APIKey: f.signer.Value}
		}, ErrTokenKeyMismatch},
		{"JWT in the API key, bad signature", func(t *testing.T, f *tokenFixture) Credentials {
			return Credentials{APIKey: MustSign(t, jwt.SigningMethodHS256, []byte("nope"), f.signer.ID, f.claims(nil))}
		}, ErrTokenSignature},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newTokenFixture(t)
			creds := tt.setup(t, f)
			for i := range 2 { // first sight, then again (cache or negative path)
				p, err := f.auth(creds)
				if !errors.Is(err, tt.want) {
					t.Fatalf("try %d: err = %v (principal %+v), want %v", i, err, p, tt.want)
				}
				var re *RefusedError
				if !errors.As(err, &re) {
					t.Fatalf("err %T is not a *RefusedError", err)
				}
				if strings.Contains(err.Error(), f.signer.Value) || strings.Contains(err.Error(), "user-1") {
					t.Fatalf("refusal %q leaks a secret or a claim", err)
				}
			}
		})
	}
}

// TestTokenSentinels checks that every token sentinel is also ErrInvalidToken (and that the
// claims sentinel is not), so one row of an error table maps them.
func TestTokenSentinels(t *testing.T) {
	for _, e := range []error{ErrTokenMalformed, ErrTokenTooLong, ErrTokenAlgorithm, ErrTokenKeyID,
		ErrTokenUnknownKey, ErrTokenSignature, ErrTokenNoExpiry, ErrTokenMilliseconds, ErrTokenExpired,
		ErrTokenNotYetValid, ErrTokenLifetime, ErrTokenKeyNotSearch, ErrTokenRevoked, ErrTokenIssuer,
		ErrTokenAudience, ErrTokenPublicKey, ErrTokenKeyMismatch} {
		if !errors.Is(refuse("", e), ErrInvalidToken) || !errors.Is(refuse("", e), e) {
			t.Errorf("%v: not ErrInvalidToken", e)
		}
		if errors.Is(e, ErrTokenMalformed) && e != ErrTokenMalformed {
			t.Errorf("%v matches ErrTokenMalformed", e)
		}
	}
	if errors.Is(ErrInvalidRestrictions, ErrInvalidToken) {
		t.Error("ErrInvalidRestrictions is ErrInvalidToken")
	}
	if !strings.Contains(ErrTokenMilliseconds.Error(), "milliseconds") {
		t.Error("the milliseconds refusal does not say so")
	}
}

func TestTokenAccepts(t *testing.T) {
	f := newTokenFixture(t)
	tok := f.hs(t, nil)
	for _, c := range []Credentials{
		{Token: tok},
		{Token: tok, APIKey: tok},
		{Token: tok, APIKey: f.signer.Value}, // the token's own signing key
		{APIKey: tok},                        // a JWT in the API key header
		{Token: MustSign(t, jwt.SigningMethodHS384, []byte(f.signer.Value), f.signer.ID, f.claims(nil))},
		{Token: MustSign(t, jwt.SigningMethodHS512, []byte(f.signer.Value), "", f.claims(map[string]any{"apiKeyUid": f.signer.ID}))},
		{Token: MustSign(t, jwt.SigningMethodHS256, []byte(f.signer.Value), "", f.claims(nil)), TokenKeyID: f.signer.ID},
		{Token: f.hs(t, map[string]any{"exp": fixtureNow - 10})},    // within the leeway
		{Token: f.hs(t, map[string]any{"nbf": fixtureNow + 10})},    // within the leeway
		{Token: f.hs(t, map[string]any{"exp": fixtureNow + 86400})}, // exactly the lifetime
	} {
		for range 2 {
			p, err := f.auth(c)
			if err != nil {
				t.Fatalf("%+v: %v", c, err)
			}
			if p.Kind != KindToken || p.KeyID != f.signer.ID || p.ACL != ACLSearch {
				t.Fatalf("principal %+v", p)
			}
		}
	}
	p, err := f.auth(Credentials{Token: f.rs(t, nil)})
	if err != nil {
		t.Fatal(err)
	}
	if p.Kind != KindToken || p.KeyID != "idp:corp" || p.ACL != ACLSearch {
		t.Fatalf("provider principal %+v", p)
	}
	// A token checked with a default key is not reused for another default.
	noKid := MustSign(t, jwt.SigningMethodHS256, []byte(f.signer.Value), "", f.claims(nil))
	MustAuth(t, f.v, Credentials{Token: noKid, TokenKeyID: f.signer.ID})
	if _, err := f.auth(Credentials{Token: noKid, TokenKeyID: f.nosearch.ID}); !errors.Is(err, ErrTokenSignature) {
		t.Fatalf("other default key: err = %v", err)
	}
	if _, err := f.auth(Credentials{Token: noKid}); !errors.Is(err, ErrTokenUnknownKey) {
		t.Fatalf("no default key: err = %v", err)
	}
}

func TestTokenKeyUpdateAppliesAtOnce(t *testing.T) {
	f := newTokenFixture(t)
	tok := f.hs(t, nil)
	p := MustAuth(t, f.v, Credentials{Token: tok})
	if !p.IndexAllowed("products") {
		t.Fatal("products not allowed")
	}
	if _, err := f.store.Update(f.signer.Value, KeySpec{ACL: []string{"search"}, Indexes: []string{"other"}}); err != nil {
		t.Fatal(err)
	}
	p = MustAuth(t, f.v, Credentials{Token: tok})
	if p.IndexAllowed("products") || !p.IndexAllowed("other") {
		t.Fatalf("after update: IndexLayers %q", p.Restrictions.IndexLayers)
	}
	if _, err := f.store.Update(f.signer.Value, KeySpec{ACL: []string{"browse"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.auth(Credentials{Token: tok}); !errors.Is(err, ErrTokenKeyNotSearch) {
		t.Fatalf("after losing search: err = %v", err)
	}
}

func TestTokenClaimsToRestrictions(t *testing.T) {
	keyFilter := filter.Node(filter.Facet{Attr: "tenant", Value: "7"})
	meili := func(s string) filter.Node {
		n, err := filter.ParseMeili(s)
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	algolia := func(s string) filter.Node {
		n, err := filter.Parse(s)
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	tests := []struct {
		name   string
		claims map[string]any
		check  func(t *testing.T, p *Principal)
	}{
		{"sub and nothing else", nil, func(t *testing.T, p *Principal) {
			r := p.Restrictions
			if r.UserID != "user-1" || !reflect.DeepEqual(r.Filter, keyFilter) || len(r.IndexLayers) != 1 {
				t.Errorf("restrictions %+v", r)
			}
			if !r.ValidUntil.Equal(time.Unix(fixtureNow+600, 0)) {
				t.Errorf("ValidUntil %v, want exp", r.ValidUntil)
			}
			if !p.IndexAllowed("products") || !p.IndexAllowed("dev_x") || p.IndexAllowed("other") {
				t.Error("key's indexes not applied")
			}
		}},
		{"filters ANDed with the key's", map[string]any{"filters": "team:1 OR team:2", "facetFilters": []any{"brand:a"}, "numericFilters": "price>1", "tagFilters": []any{"t"}},
			func(t *testing.T, p *Principal) {
				want := filter.Conj(keyFilter, filter.Conj(algolia("brand:a"), algolia("team:1 OR team:2"), algolia("price>1"), filter.Tag{Value: "t"}))
				if !reflect.DeepEqual(p.Restrictions.Filter, want) {
					t.Errorf("Filter = %s, want %s", filter.String(p.Restrictions.Filter), filter.String(want))
				}
			}},
		{"restrictIndices narrows the key's indexes", map[string]any{"restrictIndices": "products,dev_a*"}, func(t *testing.T, p *Principal) {
			r := p.Restrictions
			if !p.IndexAllowed("products") || !p.IndexAllowed("dev_ab") || p.IndexAllowed("dev_b") || p.IndexAllowed("other") {
				t.Errorf("IndexLayers %q", r.IndexLayers)
			}
			if !reflect.DeepEqual(r.UnscopedIndexes, []string{"products"}) || !r.Unscoped("products") || r.Unscoped("dev_ab") {
				t.Errorf("UnscopedIndexes %q", r.UnscopedIndexes)
			}
		}},
		{"restrictIndices cannot widen", map[string]any{"restrictIndices": []string{"other", "*"}}, func(t *testing.T, p *Principal) {
			if p.IndexAllowed("other") || !p.IndexAllowed("products") {
				t.Errorf("IndexLayers %q", p.Restrictions.IndexLayers)
			}
		}},
		{"searchRules list", map[string]any{"searchRules": []string{"products", "dev_*"}}, func(t *testing.T, p *Principal) {
			r := p.Restrictions
			if !p.IndexAllowed("products") || !p.IndexAllowed("dev_a") || len(r.IndexLayers) != 2 || len(r.IndexFilters) != 0 {
				t.Errorf("restrictions %+v", r)
			}
			if !reflect.DeepEqual(r.UnscopedIndexes, []string{"products"}) {
				t.Errorf("UnscopedIndexes %q", r.UnscopedIndexes)
			}
		}},
		{"searchRules object: most specific pattern wins", map[string]any{"searchRules": map[string]any{
			"*":      map[string]any{"filter": "a = 1"},
			"dev_*":  map[string]any{"filter": []any{"b = 2", []any{"c = 3", "c = 4"}}},
			"dev_x":  map[string]any{},
			"dev_y":  nil,
			"dev_yz": map[string]any{"filter": nil},
		}}, func(t *testing.T, p *Principal) {
			r := p.Restrictions
			arr, err := filter.ParseMeiliValue([]any{"b = 2", []any{"c = 3", "c = 4"}})
			if err != nil {
				t.Fatal(err)
			}
			for index, want := range map[string]filter.Node{
				"products": filter.Conj(keyFilter, meili("a = 1")),
				"dev_a":    filter.Conj(keyFilter, arr),
				"dev_x":    keyFilter,
				"dev_y":    keyFilter,
			} {
				if got := r.FilterFor(index); !reflect.DeepEqual(got, want) {
					t.Errorf("FilterFor(%s) = %s, want %s", index, filter.String(got), filter.String(want))
				}
			}
			if !p.IndexAllowed("dev_y") || !p.IndexAllowed("products") || p.IndexAllowed("other") {
				t.Errorf("IndexLayers %q", r.IndexLayers)
			}
			if !reflect.DeepEqual(r.UnscopedIndexes, []string{"dev_x", "dev_y", "dev_yz"}) {
				t.Errorf("UnscopedIndexes %q", r.UnscopedIndexes)
			}
		}},
		{"searchRules object without filters", map[string]any{"searchRules": map[string]any{"products": nil}}, func(t *testing.T, p *Principal) {
			r := p.Restrictions
			if len(r.IndexFilters) != 0 || !p.IndexAllowed("products") || p.IndexAllowed("dev_a") {
				t.Errorf("restrictions %+v", r)
			}
		}},
		{"searchRules and restrictIndices both narrow", map[string]any{"searchRules": []string{"dev_*"}, "restrictIndices": []string{"dev_a", "products"}}, func(t *testing.T, p *Principal) {
			if !p.IndexAllowed("dev_a") || p.IndexAllowed("products") || p.IndexAllowed("dev_b") {
				t.Errorf("IndexLayers %q", p.Restrictions.IndexLayers)
			}
		}},
		{"params at top level and in searchParams", map[string]any{
			"hitsPerPage": 5, "attributesToHighlight": []string{"title"}, "typoTolerance": false, "unknownClaim": "x",
			"searchParams": map[string]any{"facets": []string{"brand"}, "filters": "x:1", "distinct": true},
		}, func(t *testing.T, p *Principal) {
			r := p.Restrictions
			if len(r.Params) != 1 {
				t.Fatalf("Params %v", r.Params)
			}
			got := r.Params[0]
			want := map[string]string{"hitsPerPage": "5", "attributesToHighlight": `["title"]`, "typoTolerance": "false", "facets": `["brand"]`, "distinct": "true"}
			if len(got) != len(want) {
				t.Errorf("Params %v", got)
			}
			for k, v := range want {
				if got.Get(k) != v {
					t.Errorf("Params[%s] = %q, want %q", k, got.Get(k), v)
				}
			}
			if !reflect.DeepEqual(r.Filter, filter.Conj(keyFilter, algolia("x:1"))) {
				t.Errorf("Filter %s", filter.String(r.Filter))
			}
		}},
		{"rateLimit, userToken, maxHitsPerQuery, attributesToRetrieve", map[string]any{
			"rateLimit": 30, "userToken": "ut", "maxHitsPerQuery": 7, "attributesToRetrieve": []string{"a", "b"},
		}, func(t *testing.T, p *Principal) {
			r := p.Restrictions
			if r.RateLimit != 30 || r.UserToken != "ut" || r.MaxHitsPerQuery != 7 || !reflect.DeepEqual(r.AttributesToRetrieve, []string{"a", "b"}) {
				t.Errorf("restrictions %+v", r)
			}
		}},
		{"validUntil claim earlier than exp", map[string]any{"validUntil": fixtureNow + 100}, func(t *testing.T, p *Principal) {
			if !p.Restrictions.ValidUntil.Equal(time.Unix(fixtureNow+100, 0)) {
				t.Errorf("ValidUntil %v", p.Restrictions.ValidUntil)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newTokenFixture(t)
			tok := f.hs(t, tt.claims)
			for range 2 {
				tt.check(t, MustAuth(t, f.v, Credentials{Token: tok}))
			}
		})
	}
	t.Run("provider layers", func(t *testing.T) {
		f := newTokenFixture(t)
		p := MustAuth(t, f.v, Credentials{Token: f.rs(t, map[string]any{"searchRules": []string{"docs_a", "products"}})})
		r := p.Restrictions
		if !p.IndexAllowed("docs_a") || p.IndexAllowed("products") || p.IndexAllowed("docs_b") {
			t.Errorf("IndexLayers %q", r.IndexLayers)
		}
		if !reflect.DeepEqual(r.Filter, algolia("visibility:internal")) || r.UserID != "user-1" {
			t.Errorf("restrictions %+v", r)
		}
	})
}

// TestAddSearchVector verifies the AddSearch token of wire.md §5 (secret
// "my-addsearch-secret-key", iat 1700000000, exp 1700000060, no kid).
func TestAddSearchVector(t *testing.T) {
	const (
		vector  = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJwdWJsaWNfa2V5IjoiMWJlZDFmZmRlNDY1ZmRkYmEyYTUzYWQzY2U2OWU2YzIiLCJleHAiOjE3MDAwMDAwNjAsImlhdCI6MTcwMDAwMDAwMCwianRpIjoiMTIzNCJ9.GBx1RWRez4WxCkxOTHv2lAFUqjpmZrNAONoxAi5OtwE"
		sitekey = "1bed1ffde465fddba2a53ad3ce69e6c2"
	)
	clock := newClock(1700000030)
	s := MustOpenStore(t, clock)
	key := MustCreate(t, s, "my-addsearch-secret-key", KeySpec{ACL: []string{"search"}, Indexes: []string{"site"}})
	v := NewVerifier(VerifierOptions{AdminKey: testAdminKey, Store: s, Now: clock.Now})
	ctx := context.Background()
	opts := TokenOptions{DefaultKeyID: key.ID, PublicKey: sitekey}
	p, err := v.AuthenticateToken(ctx, vector, opts)
	if err != nil {
		t.Fatal(err)
	}
	if p.Kind != KindToken || p.KeyID != key.ID || !p.IndexAllowed("site") || p.IndexAllowed("other") {
		t.Fatalf("principal %+v", p)
	}
	if _, err := v.AuthenticateToken(ctx, vector, TokenOptions{DefaultKeyID: key.ID, PublicKey: "other"}); !errors.Is(err, ErrTokenPublicKey) {
		t.Fatalf("wrong public_key: err = %v", err)
	}
	if _, err := v.AuthenticateToken(ctx, vector, TokenOptions{PublicKey: sitekey}); !errors.Is(err, ErrTokenUnknownKey) {
		t.Fatalf("no default key: err = %v", err)
	}
	clock.Set(1700000060 + 30) // past exp + leeway
	if _, err := v.AuthenticateToken(ctx, vector, opts); !errors.Is(err, ErrTokenExpired) {
		t.Fatalf("after exp: err = %v", err)
	}
	clock.Set(1699999000)
	v = NewVerifier(VerifierOptions{AdminKey: testAdminKey, Store: s, Now: clock.Now})
	if _, err := v.AuthenticateToken(ctx, vector, opts); !errors.Is(err, ErrTokenNotYetValid) {
		t.Fatalf("before iat: err = %v", err)
	}
}

func TestGenerateToken(t *testing.T) {
	f := newTokenFixture(t)
	tok, err := GenerateToken(f.signer, TokenClaims{
		Subject: "user-9", Filters: "team:1", RestrictIndices: []string{"products"},
		SearchRules: map[string]SearchRule{"products": {Filter: "a = 1"}, "dev_*": {}},
		UserToken:   "ut", RateLimit: 10,
	}, time.Hour, f.clock.Now())
	if err != nil {
		t.Fatal(err)
	}
	p := MustAuth(t, f.v, Credentials{Token: tok})
	r := p.Restrictions
	if r.UserID != "user-9" || r.UserToken != "ut" || r.RateLimit != 10 || !p.IndexAllowed("products") || p.IndexAllowed("dev_a") {
		t.Fatalf("restrictions %+v", r)
	}
	if !r.ValidUntil.Equal(f.clock.Now().Add(time.Hour)) {
		t.Errorf("ValidUntil %v", r.ValidUntil)
	}
	parsed, _, err := jwt.NewParser().ParseUnverified(tok, jwt.MapClaims{})
	if err != nil {
		t.Fatal(err)
	}
	if parsed.Header["kid"] != f.signer.ID || parsed.Header["alg"] != "HS256" {
		t.Errorf("header %v", parsed.Header)
	}
	jti := parsed.Claims.(jwt.MapClaims)["jti"].(string)
	if len(jti) != 32 {
		t.Errorf("jti %q", jti)
	}
	if err := f.store.RevokeToken(jti, f.clock.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if _, err := f.auth(Credentials{Token: tok}); !errors.Is(err, ErrTokenRevoked) {
		t.Fatalf("revoked: err = %v", err)
	}
	for _, bad := range []TokenClaims{{Filters: "a:1 AND ("}, {SearchRules: map[string]SearchRule{"x": {Filter: "a = "}}}, {RateLimit: -1}} {
		if _, err := GenerateToken(f.signer, bad, time.Hour, f.clock.Now()); err == nil {
			t.Errorf("%+v: no error", bad)
		}
	}
	if _, err := GenerateToken(f.signer, TokenClaims{}, 0, f.clock.Now()); err == nil {
		t.Error("ttl 0: no error")
	}
}

func TestRevocationPersists(t *testing.T) {
	clock := newClock(fixtureNow)
	path := filepath.Join(t.TempDir(), "keys.db")
	s, err := OpenKeyStore(path, clock.Now)
	if err != nil {
		t.Fatal(err)
	}
	key := MustCreate(t, s, "persist-value-0123456", KeySpec{ACL: []string{"search"}})
	if err := s.RevokeToken("short", time.Unix(fixtureNow+60, 0)); err != nil {
		t.Fatal(err)
	}
	if err := s.RevokeToken("long", time.Unix(fixtureNow+3600, 0)); err != nil {
		t.Fatal(err)
	}
	if err := s.RevokeUser("bob", time.Unix(fixtureNow, 0)); err != nil {
		t.Fatal(err)
	}
	if err := s.RevokeUser("bob", time.Unix(fixtureNow-100, 0)); err != nil { // keeps the later time
		t.Fatal(err)
	}
	if err := s.RevokeUser("carol", time.Unix(fixtureNow, 0)); err != nil {
		t.Fatal(err)
	}
	if err := s.LiftUserRevocation("carol"); err != nil {
		t.Fatal(err)
	}
	for _, bad := range []error{s.RevokeToken("", time.Unix(1, 0)), s.RevokeToken("x", time.Time{}), s.RevokeUser(strings.Repeat("x", 513), time.Unix(1, 0))} {
		if !errors.Is(bad, ErrInvalidRevocation) {
			t.Errorf("err = %v, want ErrInvalidRevocation", bad)
		}
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.RevokeToken("x", time.Unix(fixtureNow, 0)); !errors.Is(err, ErrStoreClosed) {
		t.Errorf("after close: %v", err)
	}

	clock.Set(fixtureNow + 60 + int64(RevocationGrace/time.Second) + 1) // "short" has lapsed
	s, err = OpenKeyStore(path, clock.Now)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	want := []Revocation{
		{JTI: "long", Until: time.Unix(fixtureNow+3600, 0)},
		{Subject: "bob", Before: time.Unix(fixtureNow, 0)},
	}
	if got := s.Revocations(); !reflect.DeepEqual(got, want) {
		t.Fatalf("Revocations() = %+v\nwant %+v", got, want)
	}
	v := NewVerifier(VerifierOptions{AdminKey: testAdminKey, Store: s, Now: clock.Now})
	now := clock.Now().Unix()
	mk := func(c jwt.MapClaims) Credentials {
		return Credentials{Token: MustSign(t, jwt.SigningMethodHS256, []byte(key.Value), key.ID, c)}
	}
	for _, tc := range []struct {
		c    jwt.MapClaims
		want error
	}{
		{jwt.MapClaims{"jti": "long", "exp": now + 60}, ErrTokenRevoked},
		{jwt.MapClaims{"jti": "short", "exp": now + 60}, nil},
		{jwt.MapClaims{"sub": "bob", "iat": fixtureNow - 1, "exp": fixtureNow + 3600}, ErrTokenRevoked},
		{jwt.MapClaims{"sub": "bob", "iat": now, "exp": now + 60}, nil},
		{jwt.MapClaims{"sub": "carol", "exp": now + 60}, nil},
	} {
		_, err := v.Authenticate(context.Background(), mk(tc.c))
		if !errors.Is(err, tc.want) || (tc.want == nil && err != nil) {
			t.Errorf("%v: err = %v, want %v", tc.c, err, tc.want)
		}
	}
}

func TestLooksLikeJWT(t *testing.T) {
	f := newTokenFixture(t)
	for s, want := range map[string]bool{
		f.hs(t, nil):                   true,
		"a.b.c":                        false,
		"eyJhbGciOiJIUzI1NiJ9..":       true,
		"parentKey123":                 false,
		wireVectors[0].key:             false,
		"e30.e30":                      false,
		"e30.e30.e30.e30":              false,
		strings.Repeat("e30.", 2) + "": true,
	} {
		if got := looksLikeJWT(s); got != want {
			t.Errorf("looksLikeJWT(%.30q) = %v, want %v", s, got, want)
		}
	}
	// A stored key whose value looks like a JWT still works as a key.
	k := MustCreate(t, f.store, "e30.e30.e30", KeySpec{ACL: []string{"search"}})
	if p := MustAuth(t, f.v, Credentials{APIKey: k.Value}); p.Kind != KindAPIKey {
		t.Errorf("principal %+v", p)
	}
}
