package auth

import (
	"crypto/sha256"
	"encoding/binary"
	"hash/maphash"

	lru "github.com/hashicorp/golang-lru/v2"
)

// inlineCredMax is the longest credential a credCache keeps as is; a longer one is kept as its
// SHA-256 (so that a full cache holds at most about this many bytes per entry).
const inlineCredMax = 1024

// credCache is a bounded LRU of verdicts on credentials (secured keys, tokens), safe for
// concurrent use. It is keyed by a seeded 64-bit hash of the credential (cheap: a cached
// verdict must cost well under a microsecond, and SHA-256 of a 400-byte token alone costs
// that much), and every entry keeps the credential itself, compared in constant time on
// lookup, so that two credentials can never share a verdict: a hash collision is only a miss
// (the later credential replaces the earlier one).
//
// Keeping credentials in memory adds nothing a memory dump would not already give away: the
// key store keeps the value of every key that can sign one. Credentials longer than
// inlineCredMax are kept (and compared) as their SHA-256 instead, which bounds the memory a
// full cache holds.
type credCache[V any] struct {
	seed maphash.Seed // shared by a Verifier's caches: one credKey serves all
	lru  *lru.Cache[uint64, credEntry[V]]
}

// credKey is what a credCache is keyed by: a seeded hash of the credential.
type credKey uint64

func newCredKey(seed maphash.Seed, cred string) credKey { return credKey(maphash.String(seed, cred)) }

type credEntry[V any] struct {
	cred   string            // the credential, when at most inlineCredMax bytes
	digest [sha256.Size]byte // its SHA-256 otherwise
	val    V
}

// newCredCache returns a cache of at most size entries (size > 0).
func newCredCache[V any](size int, seed maphash.Seed) *credCache[V] {
	c, err := lru.New[uint64, credEntry[V]](size)
	if err != nil {
		panic("auth: " + err.Error()) // only for a size <= 0, excluded by callers
	}
	return &credCache[V]{seed: seed, lru: c}
}

func (c *credCache[V]) key(cred string) credKey { return newCredKey(c.seed, cred) }

// matches reports, in time that depends only on the lengths, whether e is cred's entry.
func (e *credEntry[V]) matches(cred string) bool {
	if len(cred) > inlineCredMax {
		if e.cred != "" {
			return false
		}
		d := sha256.Sum256([]byte(cred))
		return constantTimeEqual(string(d[:]), string(e.digest[:]))
	}
	return len(e.cred) == len(cred) && constantTimeEqual(e.cred, cred)
}

// get returns cred's value, if cached (and marks it recently used).
func (c *credCache[V]) get(cred string) (V, bool) { return c.getKey(c.key(cred), cred) }

// getKey is get with cred's key at hand.
func (c *credCache[V]) getKey(k credKey, cred string) (V, bool) {
	e, ok := c.lru.Get(uint64(k))
	if !ok || !e.matches(cred) {
		var zero V
		return zero, false
	}
	return e.val, true
}

// add caches cred's value (replacing any entry with the same hash).
func (c *credCache[V]) add(cred string, v V) { c.addKey(c.key(cred), cred, v) }

// addKey is add with cred's key at hand.
func (c *credCache[V]) addKey(k credKey, cred string, v V) {
	e := credEntry[V]{val: v}
	if len(cred) > inlineCredMax {
		e.digest = sha256.Sum256([]byte(cred))
	} else {
		e.cred = cred
	}
	c.lru.Add(uint64(k), e)
}

// remove drops cred's entry, if cached (never another credential's).
func (c *credCache[V]) remove(cred string) {
	k := uint64(c.key(cred))
	if e, ok := c.lru.Peek(k); ok && e.matches(cred) {
		c.lru.Remove(k)
	}
}

// constantTimeEqual reports whether a and b are equal, in time that depends only on their
// lengths (as crypto/subtle.ConstantTimeCompare, eight bytes at a time and without copying).
func constantTimeEqual(a, b string) bool {
	if len(a) != len(b) {
		return false
	}
	var v uint64
	i := 0
	for ; i+8 <= len(a); i += 8 {
		v |= binary.LittleEndian.Uint64([]byte(a[i:i+8])) ^ binary.LittleEndian.Uint64([]byte(b[i:i+8]))
	}
	for ; i < len(a); i++ {
		v |= uint64(a[i] ^ b[i])
	}
	return v == 0
}
