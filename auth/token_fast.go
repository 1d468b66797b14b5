package auth

import (
	"crypto/hmac"
	"crypto/sha512"
	"encoding/base64"
	"hash"
	"strings"
)

// fastVerifyHS verifies the common case of an HS256/384/512 token signed by a stored key
// without golang-jwt: the header and the claims are each decoded once. It only ever accepts:
// ok false means "not the common case, or refused", and the token then goes the golang-jwt
// path, which gives the precise refusal. Whatever it accepts, the golang-jwt path accepts
// with the same verdict (FuzzTokenPaths): the same checks in the same terms (a header of
// alg, typ, cty and kid only; strict base64url; exp required; exp, nbf and iat with leeway;
// tokenClaims.Validate), and the same key choice (signingKey) and claims (readTokenClaims).
func (v *Verifier) fastVerifyHS(token string, opts *TokenOptions) (*tokenEntry, bool) {
	if v.store == nil {
		return nil, false
	}
	h64, rest, ok1 := strings.Cut(token, ".")
	c64, s64, ok2 := strings.Cut(rest, ".")
	if !ok1 || !ok2 || h64 == "" || strings.IndexByte(s64, '.') >= 0 {
		return nil, false
	}
	// One pooled buffer holds the token, then its decoded header, claims and signature. The
	// claims' members alias it: nothing that outlives this call may (readTokenClaims copies
	// what it keeps).
	m := v.macs.Get().(*macState)
	defer v.macs.Put(m)
	dec := base64.RawURLEncoding.Strict()
	n := len(token) + dec.DecodedLen(len(h64)) + dec.DecodedLen(len(c64)) + dec.DecodedLen(len(s64))
	if cap(m.buf) < n {
		m.buf = make([]byte, n)
	}
	buf := m.buf[:n]
	copy(buf, token)
	signed := buf[:len(h64)+1+len(c64)]
	out := buf[len(token):]
	hn, err := dec.Decode(out, buf[:len(h64)])
	if err != nil {
		return nil, false
	}
	cn, err := dec.Decode(out[hn:], signed[len(h64)+1:])
	if err != nil {
		return nil, false
	}
	sn, err := dec.Decode(out[hn+cn:], buf[len(signed)+1:len(token)])
	if err != nil {
		return nil, false
	}
	hdrJSON, claimsJSON, sig := out[:hn], out[hn:hn+cn], out[hn+cn:hn+cn+sn]

	hdr, ok := fastHeader(hdrJSON)
	if !ok {
		return nil, false
	}
	var newHash func() hash.Hash
	switch hdr.Alg {
	case "HS256":
	case "HS384":
		newHash = sha512.New384
	case "HS512":
		newHash = sha512.New
	default:
		return nil, false
	}
	claims := &tokenClaims{maxLifetime: v.tok.maxLifetime, now: v.now}
	if claims.decode(claimsJSON) != nil {
		return nil, false
	}
	e, usedDefault, err := v.signingKey(hdr, claims, opts)
	if err != nil {
		return nil, false
	}
	if newHash == nil {
		ok = hmac.Equal(m.mac(e, signed), sig)
	} else {
		mac := hmac.New(newHash, []byte(e.key.Value))
		mac.Write(signed)
		ok = hmac.Equal(mac.Sum(nil), sig)
	}
	if !ok {
		return nil, false
	}
	// golang-jwt's validator with WithExpirationRequired, WithIssuedAt and WithLeeway, then
	// the claims' own Validate.
	now, leeway := v.now(), v.tok.leeway
	switch {
	case claims.exp == nil || !now.Before(claims.exp.Add(leeway)):
		return nil, false
	case claims.nbf != nil && now.Before(claims.nbf.Add(-leeway)):
		return nil, false
	case claims.iat != nil && now.Before(claims.iat.Add(-leeway)):
		return nil, false
	case claims.Validate() != nil:
		return nil, false
	}
	te := &tokenEntry{signer: e, usedDefault: usedDefault, keyID: e.key.ID}
	v.fillEntry(te, claims)
	return te, true
}

// fastHeader reads a token header made only of alg and kid (plain strings), typ and cty:
// anything else (crit, jku, a repeated member, a name in another case...) is left to the
// golang-jwt path.
func fastHeader(b []byte) (tokenHeader, bool) {
	var h tokenHeader
	var arr [4]member
	ms, n, ok := readObject(b, arr[:0])
	if !ok || n != len(ms) { // a repeated member: left to golang-jwt
		return h, false
	}
	for _, m := range ms {
		switch m.name {
		case "alg":
			if h.Alg, ok = jsonString(m.val); !ok {
				return h, false
			}
		case "kid":
			kid, ok := jsonString(m.val)
			if !ok || !validKeyID(kid) {
				return h, false
			}
			h.Kid = &kid
		case "typ", "cty":
		default:
			return h, false
		}
	}
	return h, h.Alg != ""
}
