package auth

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

// MaxSecuredKeyLength is the longest secured API key accepted, in characters; longer ones are
// refused before any work.
const MaxSecuredKeyLength = 16 << 10

// sigLen is the length of a secured key's signature: lowercase hex of an HMAC-SHA256.
const sigLen = 2 * sha256.Size

// minSecuredKeyLen is the length of the shortest secured key: a signature and an empty
// message, in base64 without padding.
const minSecuredKeyLen = (sigLen*4 + 2) / 3

// decodeSecured splits a secured API key into its signature (decoded from the leading 64
// lowercase hex characters) and its message (the rest, exactly as received). It accepts
// standard and URL-safe base64, padded or not.
func decodeSecured(key string) (sig [sha256.Size]byte, msg []byte, ok bool) {
	return decodeSecuredInto(key, nil)
}

// decodeSecuredInto is decodeSecured decoding into buf's array when it is large enough (msg
// then aliases it).
func decodeSecuredInto(key string, buf []byte) (sig [sha256.Size]byte, msg []byte, ok bool) {
	if len(key) == 0 || len(key) > MaxSecuredKeyLength {
		return sig, nil, false
	}
	raw, ok := decodeBase64Into(key, buf)
	if !ok || len(raw) < sigLen {
		return sig, nil, false
	}
	var bad byte
	for i := range sig {
		hi, lo := lowerHex[raw[2*i]], lowerHex[raw[2*i+1]]
		bad |= hi | lo
		sig[i] = hi<<4 | lo&0x0f
	}
	if bad&0x80 != 0 {
		return sig, nil, false
	}
	return sig, raw[sigLen:], true
}

// lowerHex maps a lowercase hexadecimal digit to its value, any other byte to 0xff (the
// clients write lowercase only).
var lowerHex = func() (t [256]byte) {
	for i := range t {
		t[i] = 0xff
	}
	for c := '0'; c <= '9'; c++ {
		t[c] = byte(c - '0')
	}
	for c := 'a'; c <= 'f'; c++ {
		t[c] = byte(c - 'a' + 10)
	}
	return t
}()

// decodeBase64 decodes standard or URL-safe base64, with or without '=' padding. Unlike the
// encoding/base64 decoders, it refuses line breaks.
func decodeBase64(s string) ([]byte, bool) { return decodeBase64Into(s, nil) }

// decodeBase64Into is decodeBase64 decoding into buf's array when it is large enough.
func decodeBase64Into(s string, buf []byte) ([]byte, bool) {
	if strings.HasSuffix(s, "==") {
		s = s[:len(s)-2]
	} else if strings.HasSuffix(s, "=") {
		s = s[:len(s)-1]
	}
	if strings.IndexByte(s, '\r') >= 0 || strings.IndexByte(s, '\n') >= 0 {
		return nil, false
	}
	// buf holds the text, then what it decodes to.
	n := len(s) + base64.RawStdEncoding.DecodedLen(len(s))
	if cap(buf) < n {
		buf = make([]byte, n)
	}
	src, dst := buf[:len(s)], buf[len(s):n]
	copy(src, s)
	// Standard base64 first (what the clients send); a key with '-' or '_' is URL-safe. Either
	// alphabet refuses the other's characters, so a key mixing them fails both.
	if n, err := base64.RawStdEncoding.Strict().Decode(dst, src); err == nil {
		return dst[:n], true
	}
	if n, err := base64.RawURLEncoding.Strict().Decode(dst, src); err == nil {
		return dst[:n], true
	}
	return nil, false
}

// macState computes HMAC-SHA256 from precomputed pad states, reusing one hash and buffers.
type macState struct {
	h     hash.Hash
	inner [sha256.Size]byte
	out   [sha256.Size]byte
	buf   []byte // scratch for hashing a presented key, or a token's segments
	dec   []byte // scratch for decoding a secured key
}

func newMACState() *macState { return &macState{h: sha256.New()} }

// mac returns HMAC-SHA256(e's key, msg): the inner state resumed, msg absorbed, then the
// outer state resumed and the inner digest absorbed. Equal to crypto/hmac (tested).
func (m *macState) mac(e *keyEntry, msg []byte) []byte { return m.macStates(e.inner, e.outer, msg) }

// macStates is mac from the pad states themselves.
func (m *macState) macStates(inner, outer, msg []byte) []byte {
	u := m.h.(encoding.BinaryUnmarshaler)
	if err := u.UnmarshalBinary(inner); err != nil {
		panic("auth: sha256 state does not unmarshal: " + err.Error())
	}
	m.h.Write(msg)
	in := m.h.Sum(m.inner[:0])
	if err := u.UnmarshalBinary(outer); err != nil {
		panic("auth: sha256 state does not unmarshal: " + err.Error())
	}
	m.h.Write(in)
	return m.h.Sum(m.out[:0])
}

// SecuredRestrictions are the restrictions of a secured API key to mint.
type SecuredRestrictions struct {
	// Filters is a filter ANDed with every search of the key.
	Filters string
	// ValidUntil, when not zero, is when the key stops working.
	ValidUntil time.Time
	// RestrictIndices, when not empty, are the index names and patterns the key may search.
	RestrictIndices []string
	// RestrictSources, when not empty, is an IP address or CIDR range (several separated by
	// ',' or ';') that requests must come from.
	RestrictSources string
	// Referers, when not empty, are the allowed Referer patterns.
	Referers []string
	// UserToken binds the key to a user token.
	UserToken string
	// SearchParams are other search parameters, forced on every search of the key. A name
	// among the fields above is an error.
	SearchParams url.Values
}

// GenerateSecuredAPIKey mints a secured API key from a parent key's value, in the encoding
// of Algolia's JS v5 client: parameters sorted by name, lists joined with ',', values escaped
// as encodeURIComponent does; then hex(HMAC-SHA256(parent, message)) + message, in standard
// base64. The parent must be a stored key with the search ACL (not the admin key).
func GenerateSecuredAPIKey(parentKey string, r SecuredRestrictions) (string, error) {
	if parentKey == "" {
		return "", errors.New("generate secured API key: empty parent key")
	}
	params := map[string]string{}
	if r.Filters != "" {
		params["filters"] = r.Filters
	}
	if !r.ValidUntil.IsZero() {
		params["validUntil"] = strconv.FormatInt(r.ValidUntil.Unix(), 10)
	}
	if len(r.RestrictIndices) > 0 {
		params["restrictIndices"] = strings.Join(r.RestrictIndices, ",")
	}
	if r.RestrictSources != "" {
		params["restrictSources"] = r.RestrictSources
	}
	if len(r.Referers) > 0 {
		params["referers"] = strings.Join(r.Referers, ",")
	}
	if r.UserToken != "" {
		params["userToken"] = r.UserToken
	}
	for name, vs := range r.SearchParams {
		switch name {
		case "":
			return "", errors.New("generate secured API key: SearchParams: empty name")
		case "filters", "validUntil", "restrictIndices", "restrictSources", "referers", "userToken":
			return "", fmt.Errorf("generate secured API key: SearchParams %q: use the field", name)
		}
		params[name] = strings.Join(vs, ",")
	}
	names := make([]string, 0, len(params))
	for n := range params {
		names = append(names, n)
	}
	slices.Sort(names)
	var msg strings.Builder
	for i, n := range names {
		if i > 0 {
			msg.WriteByte('&')
		}
		msg.WriteString(encodeURIComponent(n))
		msg.WriteByte('=')
		msg.WriteString(encodeURIComponent(params[n]))
	}
	mac := hmac.New(sha256.New, []byte(parentKey))
	mac.Write([]byte(msg.String()))
	return base64.StdEncoding.EncodeToString([]byte(hex.EncodeToString(mac.Sum(nil)) + msg.String())), nil
}

// encodeURIComponent escapes s as JavaScript's encodeURIComponent does (bytes, not code
// points, so invalid UTF-8 is escaped rather than refused).
func encodeURIComponent(s string) string {
	const hexUpper = "0123456789ABCDEF"
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' ||
			strings.IndexByte("-_.!~*'()", c) >= 0 {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('%')
		b.WriteByte(hexUpper[c>>4])
		b.WriteByte(hexUpper[c&15])
	}
	return b.String()
}

// SecuredKeyRemainingValidity returns how long the secured key has left before its validUntil
// (negative when past), reading it as the clients do: without checking the signature, so the
// answer is only as trustworthy as the key. A key without validUntil gives ErrNoValidUntil; a
// malformed key gives an error wrapping ErrInvalidCredentials.
func SecuredKeyRemainingValidity(securedKey string, now time.Time) (time.Duration, error) {
	_, msg, ok := decodeSecured(securedKey)
	if !ok {
		return 0, fmt.Errorf("%w: not a secured API key", ErrInvalidCredentials)
	}
	found := false
	var until int64
	for part := range strings.SplitSeq(string(msg), "&") {
		rawName, rawValue, _ := strings.Cut(part, "=")
		name, err := url.QueryUnescape(rawName)
		if err != nil || name != "validUntil" {
			continue
		}
		value, err := url.QueryUnescape(rawValue)
		if err != nil || value == "undefined" {
			continue
		}
		v, err := parseUnixSeconds(value)
		if err != nil {
			return 0, fmt.Errorf("secured API key: validUntil: %v", err)
		}
		if !found || v < until {
			until = v
		}
		found = true
	}
	if !found {
		return 0, ErrNoValidUntil
	}
	return time.Unix(until, 0).Sub(now), nil
}
