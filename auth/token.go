package auth

import (
	"context"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/netip"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/keyhole-search/keyhole/query/filter"
)

// MaxTokenLength is the longest token accepted, in bytes; longer ones are refused with
// ErrTokenTooLong before any work.
const MaxTokenLength = 8 << 10

// Token verification defaults and bounds.
const (
	// DefaultTokenLeeway is the clock skew allowed on exp, nbf and iat by default.
	DefaultTokenLeeway = 30 * time.Second
	// MaxLeeway caps VerifierOptions.TokenLeeway (it must stay below RevocationGrace).
	MaxLeeway = 5 * time.Minute
	// DefaultMaxTokenLifetime is the longest exp - iat accepted by default.
	DefaultMaxTokenLifetime = 24 * time.Hour
	// DefaultTokenCacheSize bounds the cache of verified tokens by default.
	DefaultTokenCacheSize = 10_000
)

// maxTimeClaim is the largest exp, nbf or iat read as seconds (year 5138): larger ones are
// almost surely milliseconds.
const maxTimeClaim = 1e11

// providerCacheTTL is how long a verified identity provider token is trusted from the cache
// before its signature is checked again (its provider's keys may have rotated out).
const providerCacheTTL = time.Minute

// maxKeyIDLen bounds a kid or apiKeyUid.
const maxKeyIDLen = 128

// The algorithm families. Each has its own parser; a token's header alg picks the family, and
// the key that checks it must belong to that family.
var (
	hmacMethods       = []string{"HS256", "HS384", "HS512"}
	asymmetricMethods = []string{"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"}
)

// TokenOptions carry what the endpoint knows about a token beyond the token itself.
type TokenOptions struct {
	// DefaultKeyID is the id of the stored key that checks a token naming none (no kid, no
	// apiKeyUid), e.g. the key configured for an AddSearch site key. A token that names its
	// key is checked with that key whatever this says.
	DefaultKeyID string
	// PublicKey, when set, must equal the token's "public_key" claim (AddSearch's site key),
	// else ErrTokenPublicKey.
	PublicKey string
	// ClientIP is the client's address, checked against the signing key's sources.
	ClientIP netip.Addr
	// Referer is the request's Referer header, checked against the signing key's referers.
	Referer string
}

// tokenVerifier is a Verifier's token state, built once by initTokens.
type tokenVerifier struct {
	hmacParser  *jwt.Parser // HS256/384/512 only: stored API keys
	asymParser  *jwt.Parser // RS*, PS*, ES*, EdDSA only: identity providers
	leeway      time.Duration
	maxLifetime time.Duration
	providers   map[string]*providerState // by issuer
	cache       *credCache[*tokenEntry]
}

// providerState is an identity provider with its restrictions compiled once.
type providerState struct {
	p     Provider
	keyID string // "idp:" + name
	c     *compiled
	err   error // its Filters do not parse: its tokens are refused (fail closed)
}

// tokenEntry is what verifying a token learnt: immutable except for revGen.
type tokenEntry struct {
	signer      *keyEntry      // the stored key that signed it (HS*), or nil
	provider    *providerState // the identity provider that signed it, or nil
	usedDefault bool           // the token named no key: signer is TokenOptions.DefaultKeyID's
	keyID       string
	err         error // a refusal that holds whatever the request (restrictions, ACL)
	c           *compiled
	acl         ACL
	exp         time.Time
	iat         int64
	hasIat      bool
	jti, sub    string
	publicKey   string
	hasPubKey   bool
	verifiedAt  time.Time
	// revGen is 1 + the store's revocation generation at which the token was last found
	// unrevoked (0: never checked).
	revGen atomic.Uint64
}

// initTokens builds the parsers (once), the providers' restrictions and the cache.
func (v *Verifier) initTokens(opts *VerifierOptions) {
	t := &v.tok
	switch {
	case opts.TokenLeeway == 0:
		t.leeway = DefaultTokenLeeway
	case opts.TokenLeeway < 0:
		t.leeway = 0
	default:
		t.leeway = min(opts.TokenLeeway, MaxLeeway)
	}
	t.maxLifetime = opts.MaxTokenLifetime
	if t.maxLifetime <= 0 {
		t.maxLifetime = DefaultMaxTokenLifetime
	}
	common := []jwt.ParserOption{
		jwt.WithExpirationRequired(),
		jwt.WithIssuedAt(),
		jwt.WithLeeway(t.leeway),
		jwt.WithTimeFunc(v.now),
		jwt.WithStrictDecoding(),
	}
	t.hmacParser = jwt.NewParser(append(common[:len(common):len(common)], jwt.WithValidMethods(hmacMethods))...)
	t.asymParser = jwt.NewParser(append(common[:len(common):len(common)], jwt.WithValidMethods(asymmetricMethods))...)
	t.providers = map[string]*providerState{}
	for _, p := range opts.Providers {
		if p.Issuer == "" || p.Keyfunc == nil || p.Name == "" {
			panic("auth: a Provider needs a Name, an Issuer and a Keyfunc")
		}
		if _, dup := t.providers[p.Issuer]; dup {
			panic("auth: two Providers have the same Issuer")
		}
		t.providers[p.Issuer] = compileProvider(p)
	}
	size := opts.TokenCacheSize
	if size <= 0 {
		size = DefaultTokenCacheSize
	}
	t.cache = newCredCache[*tokenEntry](size, v.seed)
}

func compileProvider(p Provider) *providerState {
	ps := &providerState{p: p, keyID: "idp:" + p.Name}
	l := &layer{indexes: append([]string{}, p.Indexes...), hasIndexes: true}
	if strings.TrimSpace(p.Filters) != "" {
		n, err := filter.Parse(p.Filters)
		if err != nil {
			ps.err = fmt.Errorf("%w: identity provider filters: %s", ErrInvalidRestrictions, describeFilterError(err))
			return ps
		}
		l.filter = n
	}
	ps.c = apply(nil, l)
	return ps
}

// AuthenticateToken verifies a token as Authenticate does for Credentials.Token, with
// options that an endpoint knows (the AddSearch endpoint: the key configured for its site
// key, and the site key that the token's public_key must name). Refusals are *RefusedError
// values matching ErrInvalidToken (or ErrInvalidRestrictions, ErrExpired,
// ErrSourceNotAllowed, ErrRefererNotAllowed); any other error means the token could not be
// checked (the context ended).
func (v *Verifier) AuthenticateToken(ctx context.Context, token string, opts TokenOptions) (*Principal, error) {
	creds := Credentials{ClientIP: opts.ClientIP, Referer: opts.Referer}
	return v.authenticateToken(ctx, token, &creds, opts)
}

// authenticateToken is the token path: the cache first, then full verification.
func (v *Verifier) authenticateToken(ctx context.Context, token string, creds *Credentials, opts TokenOptions) (*Principal, error) {
	if len(token) > MaxTokenLength {
		return nil, refuse("", ErrTokenTooLong)
	}
	if token == "" {
		return nil, refuse("", ErrTokenMalformed)
	}
	if creds.APIKey != "" && creds.APIKey != token && looksLikeJWT(creds.APIKey) {
		return nil, refuse("", ErrTokenKeyMismatch) // two different tokens: which one?
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	// A signing key changed while we verify replaces its entry: try again (a few times).
	for range 3 {
		if te, ok := v.tok.cache.get(token); ok {
			if v.fresh(te, &opts) {
				v.cacheHits.Add(1)
				return v.tokenVerdict(te, token, creds, &opts)
			}
			if te.signer != nil && te.signer.revoked.Load() {
				v.tok.cache.remove(token)
			}
		}
		v.cacheMisses.Add(1)
		te, keyID, err := v.verifyToken(token, &opts)
		if err != nil {
			return nil, refuse(keyID, err)
		}
		if errors.Is(te.err, ErrInvalidRestrictions) {
			v.log.Warn("token refused", "key_id", te.keyID, "reason", te.err.Error())
		}
		v.tok.cache.add(token, te)
		if te.signer == nil || !te.signer.revoked.Load() {
			return v.tokenVerdict(te, token, creds, &opts)
		}
		v.tok.cache.remove(token)
	}
	return nil, refuse("", ErrTokenUnknownKey)
}

// fresh reports whether a cached verdict still answers for this request.
func (v *Verifier) fresh(te *tokenEntry, opts *TokenOptions) bool {
	switch {
	case te.signer != nil && te.signer.revoked.Load():
		return false // the signing key was deleted or updated
	case te.usedDefault && te.signer.key.ID != opts.DefaultKeyID:
		return false // checked with another default key: check with this one
	case te.provider != nil && v.now().Sub(te.verifiedAt) >= providerCacheTTL:
		return false // the provider's keys may have rotated: check the signature again
	}
	return true
}

// tokenVerdict applies what must be checked on every use of a verified token.
func (v *Verifier) tokenVerdict(te *tokenEntry, token string, creds *Credentials, opts *TokenOptions) (*Principal, error) {
	if te.err != nil {
		return nil, refuse(te.keyID, te.err)
	}
	now := v.now()
	if !now.Before(te.exp.Add(v.tok.leeway)) {
		return nil, refuse(te.keyID, ErrTokenExpired)
	}
	if v.store != nil {
		gen := v.store.revocationGen() + 1
		if te.revGen.Load() != gen {
			if v.store.tokenRevoked(te.jti, te.sub, te.iat, te.hasIat) {
				return nil, refuse(te.keyID, ErrTokenRevoked)
			}
			te.revGen.Store(gen)
		}
	}
	if opts.PublicKey != "" && (!te.hasPubKey || te.publicKey != opts.PublicKey) {
		return nil, refuse(te.keyID, ErrTokenPublicKey)
	}
	if creds.APIKey != "" && creds.APIKey != token {
		if te.signer == nil {
			return nil, refuse(te.keyID, ErrTokenKeyMismatch)
		}
		h := v.keyHash(creds.APIKey)
		if subtle.ConstantTimeCompare(h[:], te.signer.hash[:]) != 1 {
			return nil, refuse(te.keyID, ErrTokenKeyMismatch)
		}
	}
	if err := te.c.check(now, creds); err != nil {
		return nil, refuse(te.keyID, err)
	}
	r := te.c.restrictions()
	if r.ValidUntil.IsZero() || te.exp.Before(r.ValidUntil) {
		r.ValidUntil = te.exp
	}
	return &Principal{Kind: KindToken, KeyID: te.keyID, ACL: te.acl, Restrictions: r}, nil
}

// tokenHeader is what the verifier reads of a token's header before choosing a parser.
type tokenHeader struct {
	Alg  string          `json:"alg"`
	Kid  *string         `json:"kid"`
	Crit json.RawMessage `json:"crit"`
}

// readHeader decodes a token's header (without verifying anything) and checks its kid.
func readHeader(token string) (tokenHeader, error) {
	var h tokenHeader
	seg, rest, ok := strings.Cut(token, ".")
	if !ok || seg == "" || strings.Count(rest, ".") != 1 {
		return h, ErrTokenMalformed
	}
	raw, err := base64.RawURLEncoding.Strict().DecodeString(seg)
	if err != nil {
		return h, ErrTokenMalformed
	}
	if err := json.Unmarshal(raw, &h); err != nil {
		return h, ErrTokenMalformed
	}
	if h.Crit != nil {
		return h, fmt.Errorf("%w: critical header extensions are not supported", ErrTokenMalformed)
	}
	if h.Kid != nil && !validKeyID(*h.Kid) {
		return h, ErrTokenKeyID
	}
	return h, nil
}

// looksLikeJWT reports whether s has three dot-separated segments, the first one base64url
// decoding to a JSON object.
func looksLikeJWT(s string) bool {
	if len(s) > MaxTokenLength || strings.Count(s, ".") != 2 {
		return false
	}
	seg, _, _ := strings.Cut(s, ".")
	if seg == "" {
		return false
	}
	raw, err := base64.RawURLEncoding.DecodeString(seg)
	if err != nil {
		return false
	}
	t := strings.TrimLeft(string(raw), " \t\r\n")
	return strings.HasPrefix(t, "{") && json.Valid(raw)
}

// validKeyID accepts [A-Za-z0-9._-]{1,128} without "..": never a path or a URL.
func validKeyID(id string) bool {
	if id == "" || len(id) > maxKeyIDLen || strings.Contains(id, "..") {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '.' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

func isHMAC(alg string) bool {
	for _, m := range hmacMethods {
		if alg == m {
			return true
		}
	}
	return false
}

func isAsymmetric(alg string) bool {
	for _, m := range asymmetricMethods {
		if alg == m {
			return true
		}
	}
	return false
}

// verifyToken checks a token seen for the first time (or whose cached verdict went stale):
// header, family, key, signature, standard claims, then reads the claims into restrictions.
// It returns the key id involved (for the refusal) with any error.
func (v *Verifier) verifyToken(token string, opts *TokenOptions) (*tokenEntry, string, error) {
	if te, ok := v.fastVerifyHS(token, opts); ok {
		return te, te.keyID, nil
	}
	return v.verifyTokenJWT(token, opts)
}

// verifyTokenJWT is verifyToken with golang-jwt: every algorithm, and every refusal.
func (v *Verifier) verifyTokenJWT(token string, opts *TokenOptions) (*tokenEntry, string, error) {
	hdr, err := readHeader(token)
	if err != nil {
		return nil, "", err
	}
	claims := &tokenClaims{maxLifetime: v.tok.maxLifetime, now: v.now}
	te := &tokenEntry{}
	var kfErr error
	var parser *jwt.Parser
	var keyfunc jwt.Keyfunc
	switch {
	case isHMAC(hdr.Alg):
		if v.store == nil {
			return nil, "", ErrTokenUnknownKey
		}
		parser = v.tok.hmacParser
		keyfunc = func(t *jwt.Token) (any, error) {
			e, usedDefault, err := v.signingKey(hdr, claims, opts)
			if err != nil {
				kfErr = err
				return nil, err
			}
			te.signer, te.usedDefault, te.keyID = e, usedDefault, e.key.ID
			return []byte(e.key.Value), nil
		}
	case isAsymmetric(hdr.Alg):
		parser = v.tok.asymParser
		keyfunc = func(t *jwt.Token) (any, error) {
			iss, _ := claims.str("iss")
			ps := v.tok.providers[iss]
			if iss == "" || ps == nil {
				kfErr = ErrTokenIssuer
				if v.namesStoredKey(hdr, claims) {
					kfErr = ErrTokenAlgorithm // an API key only ever signs HS*
				}
				return nil, kfErr
			}
			te.provider, te.keyID = ps, ps.keyID
			key, err := ps.p.Keyfunc(t)
			if err != nil {
				kfErr = ErrTokenUnknownKey
				return nil, kfErr
			}
			return key, nil
		}
	default:
		return nil, "", ErrTokenAlgorithm // "none", or an algorithm no key of ours uses
	}
	if _, err := parser.ParseWithClaims(token, claims, keyfunc); err != nil {
		if kfErr != nil {
			return nil, te.keyID, kfErr
		}
		return nil, te.keyID, mapJWTError(err)
	}
	v.fillEntry(te, claims)
	return te, te.keyID, nil
}

// fillEntry completes the entry of a token whose signature and time claims verified.
func (v *Verifier) fillEntry(te *tokenEntry, claims *tokenClaims) {
	te.verifiedAt = v.now()
	te.exp = claims.exp.Time
	if claims.iat != nil {
		te.iat, te.hasIat = claims.iat.Unix(), true
	}
	if err := v.readTokenClaims(te, claims); err != nil {
		te.err = err
	}
}

// signingKey finds the live stored key that must have signed an HS* token: the one its kid
// or apiKeyUid names, else the default.
func (v *Verifier) signingKey(hdr tokenHeader, claims *tokenClaims, opts *TokenOptions) (*keyEntry, bool, error) {
	if iss, _ := claims.str("iss"); iss != "" && v.tok.providers[iss] != nil {
		return nil, false, ErrTokenAlgorithm // an identity provider never signs with HS*
	}
	id := ""
	if hdr.Kid != nil {
		id = *hdr.Kid
	}
	if raw, ok := claims.m.get("apiKeyUid"); ok && !isNull(raw) {
		var uid string
		if err := json.Unmarshal(raw, &uid); err != nil {
			return nil, false, fmt.Errorf("%w: apiKeyUid is not a string", ErrTokenMalformed)
		}
		if !validKeyID(uid) {
			return nil, false, ErrTokenKeyID
		}
		if id != "" && id != uid {
			return nil, false, fmt.Errorf("%w: kid and apiKeyUid name different keys", ErrTokenMalformed)
		}
		id = uid
	}
	usedDefault := false
	if id == "" {
		id, usedDefault = opts.DefaultKeyID, true
		if id == "" {
			return nil, false, ErrTokenUnknownKey
		}
	}
	v.store.mu.RLock()
	e := v.store.byID[id]
	v.store.mu.RUnlock()
	if e == nil || e.revoked.Load() || e.hash == v.adminHash {
		return nil, false, ErrTokenUnknownKey
	}
	return e, usedDefault, nil
}

// mapJWTError turns golang-jwt's errors into this package's sentinels, most telling first.
func mapJWTError(err error) error {
	switch {
	case errors.Is(err, ErrTokenMilliseconds):
		return ErrTokenMilliseconds
	case errors.Is(err, jwt.ErrTokenMalformed):
		return ErrTokenMalformed
	case errors.Is(err, jwt.ErrInvalidKeyType):
		return ErrTokenAlgorithm // the key is not of the algorithm's type
	case errors.Is(err, jwt.ErrTokenSignatureInvalid):
		return ErrTokenSignature
	case errors.Is(err, jwt.ErrTokenRequiredClaimMissing):
		return ErrTokenNoExpiry
	case errors.Is(err, jwt.ErrTokenExpired):
		return ErrTokenExpired
	case errors.Is(err, jwt.ErrTokenNotValidYet), errors.Is(err, jwt.ErrTokenUsedBeforeIssued):
		return ErrTokenNotYetValid
	case errors.Is(err, ErrTokenLifetime):
		return ErrTokenLifetime
	}
	return ErrTokenMalformed
}

// tokenClaims are a token's claims, decoded once: every member kept raw (read only once the
// signature verified), the time claims decoded for the validator.
type tokenClaims struct {
	m             members
	exp, nbf, iat *jwt.NumericDate // nil or into times
	times         [3]jwt.NumericDate
	arr           [12]member // backs m for most tokens
	milliseconds  bool

	maxLifetime time.Duration
	now         func() time.Time
}

// UnmarshalJSON keeps the members raw and decodes exp, nbf and iat. (golang-jwt checked
// that b is valid JSON.)
func (c *tokenClaims) UnmarshalJSON(b []byte) error { return c.decode(b) }

// decode reads the claims, which must be valid JSON (the fast path checks it first).
func (c *tokenClaims) decode(b []byte) error {
	m, _, ok := readObject(b, c.arr[:0])
	if !ok {
		return errors.New("claims are not an object")
	}
	c.m = m
	for i, t := range [...]struct {
		name string
		dst  **jwt.NumericDate
	}{{"exp", &c.exp}, {"nbf", &c.nbf}, {"iat", &c.iat}} {
		raw, ok := c.m.get(t.name)
		if !ok || isNull(raw) {
			continue
		}
		f, err := strconv.ParseFloat(string(raw), 64)
		if err != nil {
			return fmt.Errorf("claim %s is not a number", t.name)
		}
		if f > maxTimeClaim || f < -maxTimeClaim || math.IsNaN(f) {
			c.milliseconds = true
			f = maxTimeClaim // refused by Validate; keep the time in range meanwhile
		}
		// As jwt.NewNumericDate, without an allocation each.
		c.times[i] = jwt.NumericDate{Time: time.Unix(int64(f), int64((f-float64(int64(f)))*1e9)).Truncate(jwt.TimePrecision)}
		*t.dst = &c.times[i]
	}
	return nil
}

// GetExpirationTime implements jwt.Claims.
func (c *tokenClaims) GetExpirationTime() (*jwt.NumericDate, error) { return c.exp, nil }

// GetIssuedAt implements jwt.Claims.
func (c *tokenClaims) GetIssuedAt() (*jwt.NumericDate, error) { return c.iat, nil }

// GetNotBefore implements jwt.Claims.
func (c *tokenClaims) GetNotBefore() (*jwt.NumericDate, error) { return c.nbf, nil }

// GetIssuer implements jwt.Claims.
func (c *tokenClaims) GetIssuer() (string, error) { return c.str("iss") }

// GetSubject implements jwt.Claims.
func (c *tokenClaims) GetSubject() (string, error) { return c.str("sub") }

// GetAudience implements jwt.Claims.
func (c *tokenClaims) GetAudience() (jwt.ClaimStrings, error) {
	raw, ok := c.m.get("aud")
	if !ok || isNull(raw) {
		return nil, nil
	}
	var aud jwt.ClaimStrings
	if err := json.Unmarshal(raw, &aud); err != nil {
		return nil, jwt.ErrInvalidType
	}
	return aud, nil
}

// Validate adds this package's checks to golang-jwt's (it runs after the signature
// verified): times in milliseconds, and the maximum lifetime.
func (c *tokenClaims) Validate() error {
	if c.milliseconds {
		return ErrTokenMilliseconds
	}
	if c.exp == nil {
		return nil // golang-jwt refuses it
	}
	from := c.now()
	if c.iat != nil {
		from = c.iat.Time
	}
	if c.exp.Sub(from) > c.maxLifetime {
		return ErrTokenLifetime
	}
	return nil
}

// str returns a string claim ("" when absent or null); another type is an error.
func (c *tokenClaims) str(name string) (string, error) {
	raw, ok := c.m.get(name)
	if !ok || isNull(raw) {
		return "", nil
	}
	s, ok := jsonString(raw)
	if !ok {
		return "", jwt.ErrInvalidType
	}
	return s, nil
}

func isNull(raw json.RawMessage) bool { return string(raw) == "null" }

// readTokenClaims fills the entry's identity and restrictions from verified claims. The
// error, if any, is a refusal that holds whatever the request.
func (v *Verifier) readTokenClaims(te *tokenEntry, claims *tokenClaims) error {
	var err error
	if te.jti, err = claims.str("jti"); err != nil {
		return claimErr("jti", "not a string")
	}
	if te.sub, err = claims.str("sub"); err != nil {
		return claimErr("sub", "not a string")
	}
	if raw, ok := claims.m.get("public_key"); ok && !isNull(raw) {
		if te.publicKey, err = claims.str("public_key"); err != nil {
			return claimErr("public_key", "not a string")
		}
		te.hasPubKey = true
	}
	var base *compiled
	switch {
	case te.provider != nil:
		if len(te.provider.p.Audience) > 0 {
			aud, err := claims.GetAudience()
			if err != nil || !anyIn(aud, te.provider.p.Audience) {
				return ErrTokenAudience
			}
		}
		if te.provider.err != nil {
			return te.provider.err
		}
		base, te.acl = te.provider.c, ACLSearch
	default:
		e := te.signer
		switch {
		case e.cErr != nil:
			return fmt.Errorf("%w: signing key", ErrInvalidRestrictions)
		case e.acl&ACLSearch == 0:
			return ErrTokenKeyNotSearch
		}
		base, te.acl = e.c, e.acl&readRights
	}
	rules := tokenRules{fc: v.filters}
	if err := rules.read(claims.m); err != nil {
		return err
	}
	te.c = rules.compile(base, te.sub)
	return nil
}

func anyIn(have, want []string) bool {
	for _, h := range have {
		for _, w := range want {
			if h == w {
				return true
			}
		}
	}
	return false
}

// namesStoredKey reports whether a token's kid or apiKeyUid names a live stored key.
func (v *Verifier) namesStoredKey(hdr tokenHeader, claims *tokenClaims) bool {
	if v.store == nil {
		return false
	}
	var ids []string
	if hdr.Kid != nil {
		ids = append(ids, *hdr.Kid)
	}
	if uid, err := claims.str("apiKeyUid"); err == nil && uid != "" {
		ids = append(ids, uid)
	}
	for _, id := range ids {
		if _, ok := v.store.ByID(id); ok {
			return true
		}
	}
	return false
}
