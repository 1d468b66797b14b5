package auth

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"fmt"
	"hash/maphash"
	"log/slog"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"
)

// Default cache sizes of a Verifier.
const (
	DefaultSecuredCacheSize = 10_000
	DefaultForgedCacheSize  = 10_000
)

// hotParents is how many most-recently-successful parents are tried first on first sight.
const hotParents = 8

// ctxCheckEvery is how many candidate parents are tried between checks of the context.
const ctxCheckEvery = 256

// readRights are the rights a secured key keeps of its parent's ACL.
const readRights = ACLSearch | ACLBrowse | ACLListIndexes

// Credentials are what a request presents.
type Credentials struct {
	// APIKey is the admin key, a stored key's value or a secured API key.
	APIKey string
	// AppID is the application id the request names ("" when none).
	AppID string
	// ClientIP is the client's address, checked against a key's restrictSources.
	ClientIP netip.Addr
	// Referer is the request's Referer header, checked against a key's referers.
	Referer string
	// Token is a JWT (from "Authorization: Bearer", X-Algolia-Secure-User-Token or the jwt
	// query parameter). When APIKey is also set, it must be the token itself or the value of
	// the token's own signing key; anything else is refused with ErrTokenKeyMismatch.
	Token string
	// TokenKeyID is the id of the stored key that checks a token naming no key (no kid and
	// no apiKeyUid); "" for none.
	TokenKeyID string
}

// VerifierOptions configure a Verifier.
type VerifierOptions struct {
	// AdminKey is the admin key (required): it may do everything, unrestricted. Warning: it
	// must be long and random; anyone who has it owns the server.
	AdminKey string
	// AppID, when set, refuses requests naming another application id.
	AppID string
	// Store holds the API keys (nil: only the admin key works).
	Store *KeyStore
	// Now is the clock (nil: time.Now).
	Now func() time.Time
	// SecuredCacheSize bounds the cache of verified secured keys (0: default).
	SecuredCacheSize int
	// ForgedCacheSize bounds the cache of secured keys that no parent signed (0: default).
	ForgedCacheSize int
	// Logger receives refusals that operators should see, by key id only (nil: discard).
	Logger *slog.Logger
	// TokenLeeway is the clock skew allowed on a token's exp, nbf and iat (0: 30 s; negative:
	// none). It is capped at MaxLeeway. Warning: a larger leeway keeps tokens alive longer.
	TokenLeeway time.Duration
	// MaxTokenLifetime refuses tokens whose exp is further than this after their iat (or,
	// without iat, after now) (0: 24 h). Warning: long-lived tokens cannot be taken back
	// short of revoking them or deleting their key.
	MaxTokenLifetime time.Duration
	// TokenCacheSize bounds the cache of verified tokens (0: DefaultTokenCacheSize).
	TokenCacheSize int
	// Providers are the identity providers whose RS*, PS*, ES* and EdDSA tokens are accepted,
	// each selected by its Issuer (which must be unique and not empty; NewVerifier panics
	// otherwise). Package auth/jwks builds them from a JWK Set file or URL.
	Providers []Provider
}

// Verifier turns credentials into a Principal. It is safe for concurrent use.
type Verifier struct {
	adminHash [sha256.Size]byte
	appID     string
	store     *KeyStore
	now       func() time.Time
	log       *slog.Logger

	seed maphash.Seed // of the credential caches

	filters *filterCache // parsed filters of secured keys and tokens, by text

	// secured caches what first sight of a signed secured key learnt.
	secured *credCache[*securedEntry]
	// forged caches the store generation at which no parent signed a secured key (and it was
	// no stored key's value).
	forged *credCache[uint64]

	// cacheHits and cacheMisses count verdicts served from the secured-key and token caches
	// (forged-key replays count as hits), and those that had to be verified afresh.
	cacheHits, cacheMisses atomic.Uint64

	tok tokenVerifier // token verification (token.go)

	hotMu sync.Mutex                  // serializes updates of hot
	hot   atomic.Pointer[[]*keyEntry] // most recently successful parents, most recent first
	macs  sync.Pool                   // of *macState
}

// securedEntry is the verdict on a secured key whose signature verified: immutable except
// for checkedGen.
type securedEntry struct {
	parent *keyEntry
	err    error     // a refusal that holds whatever the request (ErrInvalidRestrictions...)
	c      *compiled // parent's restrictions, then the key's
	acl    ACL
	// checkedGen is 1 + the store generation at which the key was found to be no stored
	// key's value (0: never): while the generation stays, a cached verdict answers without
	// hashing the key for the stored-key lookup. (It is never the admin key: that was checked
	// on first sight and the admin key does not change.)
	checkedGen atomic.Uint64
}

// NewVerifier builds a Verifier. It panics when AdminKey is empty (a configuration error that
// config validation must catch first).
func NewVerifier(opts VerifierOptions) *Verifier {
	if opts.AdminKey == "" {
		panic("auth: VerifierOptions.AdminKey is required")
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.SecuredCacheSize <= 0 {
		opts.SecuredCacheSize = DefaultSecuredCacheSize
	}
	if opts.ForgedCacheSize <= 0 {
		opts.ForgedCacheSize = DefaultForgedCacheSize
	}
	v := &Verifier{
		adminHash: sha256.Sum256([]byte(opts.AdminKey)),
		appID:     opts.AppID,
		store:     opts.Store,
		now:       opts.Now,
		log:       opts.Logger,
		seed:      maphash.MakeSeed(),
		filters:   newFilterCache(),
	}
	v.secured = newCredCache[*securedEntry](opts.SecuredCacheSize, v.seed)
	v.forged = newCredCache[uint64](opts.ForgedCacheSize, v.seed)
	v.macs.New = func() any { return newMACState() }
	v.hot.Store(&[]*keyEntry{})
	v.initTokens(&opts)
	return v
}

// Authenticate returns the principal of the credentials: Admin() for the admin key, a
// KindAPIKey principal for a stored key, a KindSecuredKey principal for a secured API key.
// Each call returns a new *Principal; the slices and filter nodes in its Restrictions are
// shared between calls and must be treated as read-only (its Params maps are its own).
//
// A refusal is a *RefusedError wrapping ErrInvalidCredentials, ErrExpired,
// ErrSourceNotAllowed, ErrRefererNotAllowed, ErrInvalidRestrictions or ErrParentNotSearch.
// Any other error (the context ended) means the credentials could not be checked.
//
// Tokens: when creds.Token is set, or when APIKey is no admin or stored key value but looks
// like a JWT (three base64url segments, the first decoding to a JSON object), the token is
// verified (see AuthenticateToken) and a KindToken principal returned; its refusals match
// ErrInvalidToken. An API key sent along with a token must be the token itself or its
// signing key's value (ErrTokenKeyMismatch otherwise: never the admin key, a secured key or
// another token).
func (v *Verifier) Authenticate(ctx context.Context, creds Credentials) (*Principal, error) {
	if v.appID != "" && creds.AppID != "" && creds.AppID != v.appID {
		return nil, refuse("", ErrInvalidCredentials)
	}
	if creds.Token != "" {
		return v.authenticateToken(ctx, creds.Token, &creds, TokenOptions{DefaultKeyID: creds.TokenKeyID})
	}
	if creds.APIKey == "" || len(creds.APIKey) > MaxSecuredKeyLength {
		return nil, refuse("", ErrInvalidCredentials)
	}
	var gen uint64
	var k credKey
	var cached *securedEntry
	if v.store != nil {
		// Read before the stored-key lookup: a later change voids what we learn below.
		gen = v.store.Generation()
		if len(creds.APIKey) >= minSecuredKeyLen { // else no secured key: no cache has it
			k = newCredKey(v.seed, creds.APIKey)
			var p *Principal
			var err error
			var ok bool
			if p, err, cached, ok = v.cachedSecured(k, gen, &creds); ok {
				return p, err
			}
		}
	}
	h := v.keyHash(creds.APIKey)
	if subtle.ConstantTimeCompare(h[:], v.adminHash[:]) == 1 {
		return Admin(), nil
	}
	if v.store != nil {
		if e := v.store.live(h); e != nil {
			return v.storedVerdict(e, &creds)
		}
	}
	if looksLikeJWT(creds.APIKey) {
		return v.authenticateToken(ctx, creds.APIKey, &creds, TokenOptions{DefaultKeyID: creds.TokenKeyID})
	}
	if v.store == nil {
		return nil, refuse("", ErrInvalidCredentials)
	}
	return v.authenticateSecured(ctx, k, gen, &creds, cached)
}

// cachedSecured answers from the caches for a secured key seen before (ok false: not cached,
// or the keys changed since: verify afresh, starting from se when it is not nil: the cached
// verdict, to use once the key is known to be no stored key's value). gen is the store's
// current generation.
func (v *Verifier) cachedSecured(k credKey, gen uint64, creds *Credentials) (p *Principal, err error, se *securedEntry, ok bool) {
	se, hit := v.secured.getKey(k, creds.APIKey)
	if hit && se.checkedGen.Load() == gen+1 && !se.parent.revoked.Load() {
		v.cacheHits.Add(1)
		p, err = v.securedVerdict(se, creds)
		return p, err, nil, true
	}
	if hit {
		return nil, nil, se, false // (never forged too: a signed key is never cached as forged)
	}
	if g, hit := v.forged.getKey(k, creds.APIKey); hit && g == gen {
		v.cacheHits.Add(1)
		return nil, refuse("", ErrInvalidCredentials), nil, true
	}
	return nil, nil, nil, false
}

// keyHash returns the SHA-256 of a presented key, copying it into a pooled buffer rather than
// allocating a []byte per request.
func (v *Verifier) keyHash(key string) [sha256.Size]byte {
	m := v.macs.Get().(*macState)
	m.buf = append(m.buf[:0], key...)
	h := sha256.Sum256(m.buf)
	v.macs.Put(m)
	return h
}

func (v *Verifier) storedVerdict(e *keyEntry, creds *Credentials) (*Principal, error) {
	if e.cErr != nil {
		v.log.Warn("stored API key has unreadable restrictions", "key_id", e.key.ID)
		return nil, refuse(e.key.ID, fmt.Errorf("%w: stored key", ErrInvalidRestrictions))
	}
	if err := e.c.check(v.now(), creds); err != nil {
		return nil, refuse(e.key.ID, err)
	}
	return &Principal{Kind: KindAPIKey, KeyID: e.key.ID, ACL: e.acl, Restrictions: e.c.restrictions()}, nil
}

func (v *Verifier) securedVerdict(se *securedEntry, creds *Credentials) (*Principal, error) {
	if se.err != nil {
		return nil, refuse(se.parent.key.ID, se.err)
	}
	if err := se.c.check(v.now(), creds); err != nil {
		return nil, refuse(se.parent.key.ID, err)
	}
	return &Principal{
		Kind:         KindSecuredKey,
		KeyID:        se.parent.key.ID,
		ACL:          se.acl,
		Restrictions: se.c.restrictions(),
	}, nil
}

// authenticateSecured verifies a secured key that is no stored key's value at generation gen
// (read before that was checked). k is its credKey. The caches were just looked up (by
// cachedSecured, whose cached verdict, if any, is given): the first try does not look again.
func (v *Verifier) authenticateSecured(ctx context.Context, k credKey, gen uint64, creds *Credentials, cached *securedEntry) (*Principal, error) {
	if len(creds.APIKey) < minSecuredKeyLen {
		v.cacheMisses.Add(1)                          // checked afresh (as ever), and:
		return nil, refuse("", ErrInvalidCredentials) // too short to hold a signature
	}
	// A parent updated while we verify replaces its entry: try again (a few times at most).
	for try := range 3 {
		ce, ok := cached, cached != nil
		if try > 0 {
			ce, ok = v.secured.getKey(k, creds.APIKey)
		}
		if ok {
			if !ce.parent.revoked.Load() {
				v.cacheHits.Add(1)
				ce.checkedGen.Store(gen + 1)
				return v.securedVerdict(ce, creds)
			}
			v.secured.remove(creds.APIKey) // the parent was deleted or updated: verify afresh
		}
		if try > 0 {
			if g, ok := v.forged.getKey(k, creds.APIKey); ok && g == gen {
				v.cacheHits.Add(1)
				return nil, refuse("", ErrInvalidCredentials)
			}
		}
		v.cacheMisses.Add(1)
		m := v.macs.Get().(*macState)
		if need := 2 * len(creds.APIKey); cap(m.dec) < need { // the text and what it decodes to
			m.dec = make([]byte, need)
		}
		sig, msg, ok := decodeSecuredInto(creds.APIKey, m.dec) // msg aliases m.dec until Put
		if !ok {
			v.macs.Put(m)
			return nil, refuse("", ErrInvalidCredentials)
		}
		parent, err := v.findParent(ctx, m, &sig, msg)
		var se *securedEntry
		if parent != nil {
			se = v.verdict(parent, msg) // copies what it keeps of msg
		}
		v.macs.Put(m)
		if err != nil {
			return nil, err
		}
		if parent == nil {
			v.forged.addKey(k, creds.APIKey, gen)
			return nil, refuse("", ErrInvalidCredentials)
		}
		if errors.Is(se.err, ErrInvalidRestrictions) {
			v.log.Warn("secured API key refused", "key_id", parent.key.ID, "reason", se.err.Error())
		}
		se.checkedGen.Store(gen + 1)
		v.secured.addKey(k, creds.APIKey, se)
		if !parent.revoked.Load() {
			return v.securedVerdict(se, creds)
		}
		v.secured.remove(creds.APIKey) // the parent changed while we verified
	}
	return nil, refuse("", ErrInvalidCredentials)
}

// verdict parses the message of a secured key that parent signed (only now: the MAC
// verified) and stacks its restrictions over the parent's.
func (v *Verifier) verdict(parent *keyEntry, msg []byte) *securedEntry {
	se := &securedEntry{parent: parent}
	switch {
	case parent.cErr != nil:
		se.err = fmt.Errorf("%w: parent key", ErrInvalidRestrictions)
	case parent.acl&ACLSearch == 0:
		se.err = ErrParentNotSearch
	default:
		var l layer
		if err := l.parseParams(string(msg), v.filters); err != nil {
			se.err = fmt.Errorf("%w: %v", ErrInvalidRestrictions, err)
			break
		}
		se.c = apply(parent.c, &l)
		se.acl = parent.acl & readRights
	}
	return se
}

// findParent returns the live stored key whose HMAC of msg is sig, or nil. It tries the
// recently successful parents first, then every key; the admin key is never a parent.
func (v *Verifier) findParent(ctx context.Context, m *macState, sig *[sha256.Size]byte, msg []byte) (*keyEntry, error) {
	hot := *v.hot.Load()
	for _, e := range hot {
		if v.signedBy(m, e, sig, msg) {
			v.promote(e)
			return e, nil
		}
	}
	cs := v.store.candidateSet()
	for i, e := range cs.entries {
		if i%ctxCheckEvery == ctxCheckEvery-1 {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
		}
		inner, outer := cs.state(i)
		// (The hot parents are tried again: skipping them would read each entry.)
		if hmac.Equal(m.macStates(inner, outer, msg), sig[:]) && v.canSign(e) {
			v.promote(e)
			return e, nil
		}
	}
	return nil, nil
}

// signedBy reports whether e, a live key other than the admin key, signed msg with sig.
func (v *Verifier) signedBy(m *macState, e *keyEntry, sig *[sha256.Size]byte, msg []byte) bool {
	return hmac.Equal(m.mac(e, msg), sig[:]) && v.canSign(e)
}

// canSign reports whether e may be a parent: live, and not the admin key. (Checked only once
// the MAC matched, so that trying every key reads only their pad states.)
func (v *Verifier) canSign(e *keyEntry) bool {
	return !e.revoked.Load() && e.hash != v.adminHash
}

// promote moves e to the front of the hot parents (dropping revoked ones and the oldest).
func (v *Verifier) promote(e *keyEntry) {
	if cur := *v.hot.Load(); len(cur) > 0 && cur[0] == e {
		return
	}
	v.hotMu.Lock()
	defer v.hotMu.Unlock()
	cur := *v.hot.Load()
	next := make([]*keyEntry, 0, hotParents)
	next = append(next, e)
	for _, x := range cur {
		if len(next) == hotParents {
			break
		}
		if x != e && !x.revoked.Load() {
			next = append(next, x)
		}
	}
	v.hot.Store(&next)
}

// CacheStats reports how many secured-key and token verdicts were served from the caches
// (hits) and how many were verified afresh (misses), since the Verifier was made.
func (v *Verifier) CacheStats() (hits, misses uint64) {
	return v.cacheHits.Load(), v.cacheMisses.Load()
}
