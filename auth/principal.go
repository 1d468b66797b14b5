// Package auth turns credentials (the admin key, stored API keys, HMAC secured API keys and,
// later, tokens) into a Principal: who is calling, what it may do (ACL) and the restrictions
// that every read it makes must obey. It knows nothing of HTTP.
package auth

import (
	"net/netip"
	"net/url"
	"strings"
	"time"

	"github.com/keyhole-search/keyhole/query/filter"
)

// Kind says which kind of credential produced a Principal.
type Kind int

// The kinds of credential.
const (
	KindAdmin      Kind = iota + 1 // the admin key: may do everything, unrestricted
	KindAPIKey                     // a stored API key
	KindSecuredKey                 // an HMAC secured API key derived from a stored key
	KindToken                      // a JWT
)

// String names the kind for logs.
func (k Kind) String() string {
	switch k {
	case KindAdmin:
		return "admin"
	case KindAPIKey:
		return "apiKey"
	case KindSecuredKey:
		return "securedKey"
	case KindToken:
		return "token"
	}
	return "unknown"
}

// Principal is an authenticated caller. Handlers never build one: the auth middleware gets it
// from a Verifier, and the search service requires it for every read.
type Principal struct {
	Kind Kind
	// KeyID is the public id of the key behind the credential (for a secured key or token, the
	// parent's id). It is safe to log; the key's value never is.
	KeyID string
	// ACL is what the caller may do.
	ACL ACL
	// Restrictions are forced into every read. The admin key has the zero value, which
	// restricts nothing; every other principal carries what its key and credential state.
	Restrictions Restrictions
}

// Admin returns the principal of the admin key: every right and no restriction.
func Admin() *Principal {
	return &Principal{Kind: KindAdmin, KeyID: "admin", ACL: ACLAll}
}

// Unrestricted reports whether the principal is the admin key.
func (p *Principal) Unrestricted() bool { return p.Kind == KindAdmin }

// Can reports whether the principal's ACL holds every right in need.
func (p *Principal) Can(need ACL) bool { return p.ACL&need == need }

// IndexAllowed reports whether the principal may touch the named index.
func (p *Principal) IndexAllowed(name string) bool {
	if p.Unrestricted() {
		return true
	}
	return p.Restrictions.IndexAllowed(name)
}

// Restrictions are the limits a credential carries. Several layers stack up (a stored key's
// own limits, then a secured key's, then a token's): each layer can only narrow.
type Restrictions struct {
	// IndexLayers holds one list of index names or patterns ("products", "dev_*", "*_prod")
	// per layer; an index is allowed when it matches some pattern of every layer. No layers:
	// every index is allowed.
	IndexLayers [][]string
	// Filter is the AND of every layer's filters, facetFilters, numericFilters and tagFilters,
	// parsed once. Nil means no filter.
	Filter filter.Node
	// IndexFilters adds a filter for indexes matching a pattern (a token's per-index rules):
	// for a given index, the rule with the most specific matching pattern applies.
	IndexFilters []IndexFilter
	// Params are search parameters (other than filters) that override the request's, in the
	// order the layers stack up: a later layer wins. Values are as in a params string.
	Params []url.Values
	// MaxHitsPerQuery caps hitsPerPage (0: no cap).
	MaxHitsPerQuery int
	// MaxQueriesPerIPPerHour is the stored key's limit (0: none), inherited by the secured
	// keys and tokens it signs; the HTTP layer enforces it per client address or user token.
	MaxQueriesPerIPPerHour int
	// AttributesToRetrieve, when non-nil, is an upper bound: the request may narrow it, never
	// widen it.
	AttributesToRetrieve []string
	// ValidUntil, when not zero, is when the credential stops working.
	ValidUntil time.Time
	// Sources, when not empty, are the client addresses allowed.
	Sources []netip.Prefix
	// Referers, when not empty, are the allowed referer patterns.
	Referers []string
	// UserToken is the user token the credential is bound to ("" when none).
	UserToken string
	// UserID is a token's subject ("" when none); indexes with a userAttribute force it.
	UserID string
	// UnscopedIndexes are the exact index names (never patterns) that a token's searchRules
	// or restrictIndices name explicitly: a user token (UserID set) may read such an index
	// even when it has no userAttribute. Indexes that have one still force UserID.
	UnscopedIndexes []string
	// RateLimit, when above 0, is the most queries per minute the token's user may make (its
	// "rateLimit" claim); the HTTP layer enforces it, keyed by UserID (or KeyID when none).
	RateLimit int
}

// Unscoped reports whether a user token may read the named index without a userAttribute:
// the token's rules name it exactly (see UnscopedIndexes).
func (r *Restrictions) Unscoped(index string) bool {
	for _, n := range r.UnscopedIndexes {
		if n == index {
			return true
		}
	}
	return false
}

// IndexFilter is a filter that applies to the indexes matching Pattern.
type IndexFilter struct {
	Pattern string
	Filter  filter.Node
}

// IndexAllowed reports whether name matches some pattern of every layer.
func (r *Restrictions) IndexAllowed(name string) bool {
	for _, layer := range r.IndexLayers {
		ok := false
		for _, pat := range layer {
			if MatchIndexPattern(pat, name) {
				ok = true
				break
			}
		}
		if !ok {
			return false
		}
	}
	return true
}

// FilterFor returns the filter forced on reads of the named index: the common Filter ANDed
// with the most specific matching IndexFilters rule, as separate subtrees.
func (r *Restrictions) FilterFor(index string) filter.Node {
	best := -1
	bestScore := -1
	for i, f := range r.IndexFilters {
		if !MatchIndexPattern(f.Pattern, index) {
			continue
		}
		score := len(strings.Trim(f.Pattern, "*"))
		if !strings.Contains(f.Pattern, "*") {
			score += 1 << 20 // an exact name beats every pattern
		}
		if score > bestScore {
			best, bestScore = i, score
		}
	}
	if best < 0 {
		return r.Filter
	}
	return filter.Conj(r.Filter, r.IndexFilters[best].Filter)
}

// MatchIndexPattern reports whether name matches pattern: an exact name, or a pattern with a
// leading and/or trailing '*' ("*" matches every name).
func MatchIndexPattern(pattern, name string) bool {
	switch {
	case pattern == "*":
		return true
	case len(pattern) >= 2 && strings.HasPrefix(pattern, "*") && strings.HasSuffix(pattern, "*"):
		return strings.Contains(name, pattern[1:len(pattern)-1])
	case strings.HasPrefix(pattern, "*"):
		return strings.HasSuffix(name, pattern[1:])
	case strings.HasSuffix(pattern, "*"):
		return strings.HasPrefix(name, pattern[:len(pattern)-1])
	}
	return pattern == name
}
