package auth

import (
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/MicahParks/jwkset"
	"github.com/golang-jwt/jwt/v5"
	"github.com/keyhole-search/keyhole/auth/jwks"
)

// signingKey is a private key of a test identity provider, with its kid and method.
type signingKey struct {
	kid    string
	method jwt.SigningMethod
	priv   any
	pub    any
	alg    jwkset.ALG
}

func newSigningKeys(t *testing.T) []signingKey {
	t.Helper()
	rsaKey := sharedRSA(t)
	ec, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	edPub, edPriv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return []signingKey{
		{"rsa-1", jwt.SigningMethodRS256, rsaKey, &rsaKey.PublicKey, jwkset.AlgRS256},
		{"ec-1", jwt.SigningMethodES256, ec, &ec.PublicKey, jwkset.AlgES256},
		{"ed-1", jwt.SigningMethodEdDSA, edPriv, edPub, jwkset.AlgEdDSA},
	}
}

// jwksJSON returns the public JWK Set of keys.
func jwksJSON(t *testing.T, keys ...signingKey) []byte {
	t.Helper()
	store := jwkset.NewMemoryStorage()
	for _, k := range keys {
		jwk, err := jwkset.NewJWKFromKey(k.pub, jwkset.JWKOptions{Metadata: jwkset.JWKMetadataOptions{KID: k.kid, ALG: k.alg}})
		if err != nil {
			t.Fatal(err)
		}
		if err := store.KeyWrite(context.Background(), jwk); err != nil {
			t.Fatal(err)
		}
	}
	raw, err := store.JSONPublic(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

// jwksServer serves a JWK Set that the test can replace, counting fetches.
type jwksServer struct {
	mu      sync.Mutex
	body    []byte
	fetches atomic.Int32
	srv     *httptest.Server
}

func newJWKSServer(t *testing.T, body []byte) *jwksServer {
	s := &jwksServer{body: body}
	s.srv = httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.fetches.Add(1)
		s.mu.Lock()
		b := s.body
		s.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		w.Write(b)
	}))
	t.Cleanup(s.srv.Close)
	return s
}

func (s *jwksServer) set(body []byte) {
	s.mu.Lock()
	s.body = body
	s.mu.Unlock()
}

func TestJWKSProvider(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	keys := newSigningKeys(t)
	srv := newJWKSServer(t, jwksJSON(t, keys...))
	cfg := ProviderConfig{
		Name: "corp", Issuer: testIssuer, Audience: []string{"keyhole"}, Indexes: []string{"*"},
		JWKSURL: srv.srv.URL + "/jwks.json",
	}
	prov, err := NewJWKSProvider(ctx, cfg, srv.srv.Client())
	if err != nil {
		t.Fatal(err)
	}
	clock := newClock(time.Now().Unix())
	v := NewVerifier(VerifierOptions{AdminKey: testAdminKey, Now: clock.Now, Providers: []Provider{prov}})
	claims := func() jwt.MapClaims {
		now := clock.Now().Unix()
		return jwt.MapClaims{"iss": testIssuer, "aud": "keyhole", "sub": "u", "iat": now, "exp": now + 300}
	}
	for _, k := range keys {
		tok := MustSign(t, k.method, k.priv, k.kid, claims())
		p, err := v.Authenticate(ctx, Credentials{Token: tok})
		if err != nil {
			t.Fatalf("%s: %v", k.alg, err)
		}
		if p.KeyID != "idp:corp" || p.Kind != KindToken || p.Restrictions.UserID != "u" {
			t.Fatalf("%s: principal %+v", k.alg, p)
		}
		// A key used with another algorithm than its own is refused.
		other := keys[(indexOf(keys, k)+1)%len(keys)]
		forged := MustSign(t, other.method, other.priv, k.kid, claims())
		if _, err := v.Authenticate(ctx, Credentials{Token: forged}); !errors.Is(err, ErrInvalidToken) {
			t.Fatalf("%s key with %s: err = %v", k.alg, other.alg, err)
		}
	}
	// No kid: every key of the set is tried.
	if _, err := v.Authenticate(ctx, Credentials{Token: MustSign(t, keys[1].method, keys[1].priv, "", claims())}); err != nil {
		t.Fatalf("no kid: %v", err)
	}

	// Rotation: a token naming a kid not yet fetched triggers one refresh that finds it.
	ec2, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	rotated := signingKey{"ec-2", jwt.SigningMethodES256, ec2, &ec2.PublicKey, jwkset.AlgES256}
	srv.set(jwksJSON(t, keys[0], rotated))
	before := srv.fetches.Load()
	tok := MustSign(t, rotated.method, rotated.priv, rotated.kid, claims())
	if _, err := v.Authenticate(ctx, Credentials{Token: tok}); err != nil {
		t.Fatalf("rotated key: %v", err)
	}
	if got := srv.fetches.Load() - before; got != 1 {
		t.Fatalf("refreshes on an unknown kid = %d, want 1", got)
	}
	// Another unknown kid right after is refused without a fetch (rate limit).
	unknown := MustSign(t, rotated.method, rotated.priv, "ec-3", claims())
	start := time.Now()
	if _, err := v.Authenticate(ctx, Credentials{Token: unknown}); !errors.Is(err, ErrTokenUnknownKey) {
		t.Fatalf("unknown kid: err = %v", err)
	}
	if got := srv.fetches.Load() - before; got != 1 || time.Since(start) > 5*time.Second {
		t.Fatalf("second unknown kid: %d fetches in %v", got, time.Since(start))
	}
	// The removed key no longer verifies (once the cache's trust lapses).
	clock.Advance(int64(providerCacheTTL / time.Second))
	tok = MustSign(t, keys[1].method, keys[1].priv, keys[1].kid, claims())
	if _, err := v.Authenticate(ctx, Credentials{Token: tok}); !errors.Is(err, ErrInvalidToken) {
		t.Fatalf("removed key: err = %v", err)
	}
}

func indexOf(keys []signingKey, k signingKey) int {
	for i := range keys {
		if keys[i].kid == k.kid {
			return i
		}
	}
	return -1
}

func TestJWKSProviderFile(t *testing.T) {
	keys := newSigningKeys(t)
	path := filepath.Join(t.TempDir(), "jwks.json")
	if err := os.WriteFile(path, jwksJSON(t, keys...), 0o600); err != nil {
		t.Fatal(err)
	}
	prov, err := NewJWKSProvider(context.Background(), ProviderConfig{Name: "file", Issuer: "file-issuer", Indexes: []string{"docs"}, JWKSFile: path}, nil)
	if err != nil {
		t.Fatal(err)
	}
	clock := newClock(time.Now().Unix())
	v := NewVerifier(VerifierOptions{AdminKey: testAdminKey, Now: clock.Now, Providers: []Provider{prov}})
	now := clock.Now().Unix()
	for _, k := range keys {
		tok := MustSign(t, k.method, k.priv, k.kid, jwt.MapClaims{"iss": "file-issuer", "exp": now + 60})
		p, err := v.Authenticate(context.Background(), Credentials{Token: tok})
		if err != nil {
			t.Fatalf("%s: %v", k.alg, err)
		}
		if p.KeyID != "idp:file" || !p.IndexAllowed("docs") || p.IndexAllowed("other") {
			t.Fatalf("principal %+v", p)
		}
	}
	tok := MustSign(t, keys[0].method, keys[0].priv, "nope", jwt.MapClaims{"iss": "file-issuer", "exp": now + 60})
	if _, err := v.Authenticate(context.Background(), Credentials{Token: tok}); !errors.Is(err, ErrTokenUnknownKey) {
		t.Fatalf("unknown kid: err = %v", err)
	}
}

func TestJWKSProviderConfigErrors(t *testing.T) {
	ctx := context.Background()
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte(`{"keys":[` + strings.Repeat(" ", jwks.MaxJWKSSize) + `]}`))
	}))
	defer srv.Close()
	ok := ProviderConfig{Name: "a", Issuer: "i", Indexes: []string{"*"}}
	for name, tc := range map[string]struct {
		mod  func(c *ProviderConfig)
		want string
	}{
		"no issuer":        {func(c *ProviderConfig) { c.Issuer = ""; c.JWKSFile = "/x" }, "issuer"},
		"bad name":         {func(c *ProviderConfig) { c.Name = "a/b"; c.JWKSFile = "/x" }, "name"},
		"no source":        {func(c *ProviderConfig) {}, "exactly one"},
		"both sources":     {func(c *ProviderConfig) { c.JWKSFile, c.JWKSURL = "/x", "https://x" }, "exactly one"},
		"http not loopack": {func(c *ProviderConfig) { c.JWKSURL = "http://id.example.com/jwks" }, "https"},
		"bad filters":      {func(c *ProviderConfig) { c.JWKSFile, c.Filters = "/x", "a:1 AND (" }, "filters"},
		"missing file":     {func(c *ProviderConfig) { c.JWKSFile = "/nonexistent/jwks.json" }, "no such file"},
		"oversized":        {func(c *ProviderConfig) { c.JWKSURL = srv.URL }, "larger"},
	} {
		c := ok
		tc.mod(&c)
		_, err := NewJWKSProvider(ctx, c, srv.Client())
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: err = %v, want one containing %q", name, err, tc.want)
		}
	}
	for url, want := range map[string]bool{
		"https://id.example.com/jwks": true, "http://127.0.0.1:8080/jwks": true, "http://localhost/jwks": true,
		"http://[::1]/jwks": true, "http://id.example.com/jwks": false, "ftp://x/": false, "https://u:p@x/": false, "/jwks": false,
	} {
		if got := jwks.CheckJWKSURL(url) == nil; got != want {
			t.Errorf("CheckJWKSURL(%q) ok = %v, want %v", url, got, want)
		}
	}
}
