package auth

import (
	"bytes"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	bolt "go.etcd.io/bbolt"
)

// Bucket names of the token revocation lists in the key store's bbolt file.
const (
	revokedTokensBucket = "revokedTokens" // jti -> Unix seconds until which it is kept
	revokedUsersBucket  = "revokedUsers"  // sub -> Unix seconds before which its tokens are refused
)

// RevocationGrace is how long a revoked jti is kept after the Until given to RevokeToken, so
// that a token still accepted within the verifier's leeway (at most MaxLeeway) stays refused.
const RevocationGrace = 10 * time.Minute

// maxRevocationIDLen bounds a revoked jti or subject, in bytes.
const maxRevocationIDLen = 512

// revocationSweepEvery is the least time between two sweeps of expired jti entries.
const revocationSweepEvery = time.Minute

// ErrInvalidRevocation refuses a revocation whose jti or subject is empty or longer than 512
// bytes, or whose time is zero; the wrapping error says which (400).
var ErrInvalidRevocation = errors.New("invalid revocation")

// Revocation is one entry of the token revocation list: either a token (JTI set) refused
// until Until (plus RevocationGrace), or a user (Subject set) whose tokens issued before
// Before (and whose tokens without iat) are refused.
type Revocation struct {
	// JTI is a revoked token's "jti" claim.
	JTI string `json:"jti,omitempty"`
	// Until is when the revoked token would expire anyway; the entry is purged after it.
	Until time.Time `json:"until,omitzero"`
	// Subject is a user ("sub" claim) whose earlier tokens are revoked.
	Subject string `json:"sub,omitempty"`
	// Before is the time before which the user's tokens were issued ("iat") to be refused.
	Before time.Time `json:"before,omitzero"`
}

// revocations is the in-memory copy of the revocation buckets, updated after each commit.
type revocations struct {
	mu        sync.RWMutex
	jti       map[string]int64 // jti -> until (Unix seconds)
	sub       map[string]int64 // sub -> before (Unix seconds)
	lastSweep int64
	// gen grows on every change, so that a cached token verdict knows when to look again.
	gen atomic.Uint64
}

// loadRevocations creates the revocation buckets if needed, purges jti entries past their
// Until plus RevocationGrace, and loads the rest. Called at open, within its transaction.
func (s *KeyStore) loadRevocations(tx *bolt.Tx, now time.Time) error {
	s.rev.jti = map[string]int64{}
	s.rev.sub = map[string]int64{}
	s.rev.lastSweep = now.Unix()
	cutoff := now.Add(-RevocationGrace).Unix()
	tb, err := tx.CreateBucketIfNotExists([]byte(revokedTokensBucket))
	if err != nil {
		return err
	}
	ub, err := tx.CreateBucketIfNotExists([]byte(revokedUsersBucket))
	if err != nil {
		return err
	}
	var purge [][]byte
	err = tb.ForEach(func(k, v []byte) error {
		until, err := strconv.ParseInt(string(v), 10, 64)
		if err != nil {
			return fmt.Errorf("revoked token record: %w", err)
		}
		if until < cutoff {
			purge = append(purge, bytes.Clone(k))
			return nil
		}
		s.rev.jti[string(k)] = until
		return nil
	})
	if err != nil {
		return err
	}
	for _, k := range purge {
		if err := tb.Delete(k); err != nil {
			return err
		}
	}
	return ub.ForEach(func(k, v []byte) error {
		before, err := strconv.ParseInt(string(v), 10, 64)
		if err != nil {
			return fmt.Errorf("revoked user record: %w", err)
		}
		s.rev.sub[string(k)] = before
		return nil
	})
}

func checkRevocationID(what, id string) error {
	if id == "" || len(id) > maxRevocationIDLen {
		return fmt.Errorf("%w: %s must be 1 to %d bytes", ErrInvalidRevocation, what, maxRevocationIDLen)
	}
	return nil
}

// RevokeToken refuses, at once and across restarts, every token whose "jti" claim is jti.
// until is when that token expires anyway (its exp): the entry is kept until then plus
// RevocationGrace and purged afterwards, so the list stays bounded. Revoking a jti again
// keeps the later until.
func (s *KeyStore) RevokeToken(jti string, until time.Time) error {
	if err := checkRevocationID("jti", jti); err != nil {
		return err
	}
	if until.IsZero() {
		return fmt.Errorf("%w: until is required (the token's exp)", ErrInvalidRevocation)
	}
	s.wmu.Lock()
	defer s.wmu.Unlock()
	if s.isClosed() {
		return ErrStoreClosed
	}
	now := s.now()
	u := until.Unix()
	s.rev.mu.RLock()
	if old, ok := s.rev.jti[jti]; ok && old > u {
		u = old
	}
	var sweep []string
	if now.Unix()-s.rev.lastSweep >= int64(revocationSweepEvery/time.Second) {
		cutoff := now.Add(-RevocationGrace).Unix()
		for k, v := range s.rev.jti {
			if v < cutoff && k != jti {
				sweep = append(sweep, k)
			}
		}
	}
	s.rev.mu.RUnlock()
	err := s.db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket([]byte(revokedTokensBucket))
		if b == nil {
			return errors.New("revoked tokens bucket missing")
		}
		for _, k := range sweep {
			if err := b.Delete([]byte(k)); err != nil {
				return err
			}
		}
		return b.Put([]byte(jti), strconv.AppendInt(nil, u, 10))
	})
	if err != nil {
		return fmt.Errorf("key store: %w", err)
	}
	s.rev.mu.Lock()
	s.rev.jti[jti] = u
	for _, k := range sweep {
		delete(s.rev.jti, k)
	}
	if sweep != nil || now.Unix()-s.rev.lastSweep >= int64(revocationSweepEvery/time.Second) {
		s.rev.lastSweep = now.Unix()
	}
	s.rev.gen.Add(1)
	s.rev.mu.Unlock()
	return nil
}

// RevokeUser refuses, at once and across restarts, every token whose "sub" claim is sub and
// whose "iat" is before before; a token of that user without iat is refused too. Revoking a
// user again keeps the later time (a revocation only widens; see LiftUserRevocation). Token
// subjects share one namespace whatever signed them (API keys and identity providers).
func (s *KeyStore) RevokeUser(sub string, before time.Time) error {
	if err := checkRevocationID("sub", sub); err != nil {
		return err
	}
	if before.IsZero() {
		return fmt.Errorf("%w: before is required", ErrInvalidRevocation)
	}
	s.wmu.Lock()
	defer s.wmu.Unlock()
	if s.isClosed() {
		return ErrStoreClosed
	}
	b4 := before.Unix()
	s.rev.mu.RLock()
	if old, ok := s.rev.sub[sub]; ok && old > b4 {
		b4 = old
	}
	s.rev.mu.RUnlock()
	if err := s.putUserRevocation(sub, b4, false); err != nil {
		return err
	}
	s.rev.mu.Lock()
	s.rev.sub[sub] = b4
	s.rev.gen.Add(1)
	s.rev.mu.Unlock()
	return nil
}

// LiftUserRevocation removes the revocation of sub's tokens made by RevokeUser (no error when
// there is none). Tokens revoked by jti stay revoked.
func (s *KeyStore) LiftUserRevocation(sub string) error {
	if err := checkRevocationID("sub", sub); err != nil {
		return err
	}
	s.wmu.Lock()
	defer s.wmu.Unlock()
	if s.isClosed() {
		return ErrStoreClosed
	}
	if err := s.putUserRevocation(sub, 0, true); err != nil {
		return err
	}
	s.rev.mu.Lock()
	delete(s.rev.sub, sub)
	s.rev.gen.Add(1)
	s.rev.mu.Unlock()
	return nil
}

func (s *KeyStore) putUserRevocation(sub string, before int64, remove bool) error {
	err := s.db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket([]byte(revokedUsersBucket))
		if b == nil {
			return errors.New("revoked users bucket missing")
		}
		if remove {
			return b.Delete([]byte(sub))
		}
		return b.Put([]byte(sub), strconv.AppendInt(nil, before, 10))
	})
	if err != nil {
		return fmt.Errorf("key store: %w", err)
	}
	return nil
}

// Revocations lists the revoked tokens (by jti) then the revoked users (by subject), each
// sorted. Entries of tokens past their Until plus RevocationGrace are left out.
func (s *KeyStore) Revocations() []Revocation {
	cutoff := s.now().Add(-RevocationGrace).Unix()
	s.rev.mu.RLock()
	tokens := make([]Revocation, 0, len(s.rev.jti))
	for jti, until := range s.rev.jti {
		if until >= cutoff {
			tokens = append(tokens, Revocation{JTI: jti, Until: time.Unix(until, 0)})
		}
	}
	users := make([]Revocation, 0, len(s.rev.sub))
	for sub, before := range s.rev.sub {
		users = append(users, Revocation{Subject: sub, Before: time.Unix(before, 0)})
	}
	s.rev.mu.RUnlock()
	slices.SortFunc(tokens, func(a, b Revocation) int { return strings.Compare(a.JTI, b.JTI) })
	slices.SortFunc(users, func(a, b Revocation) int { return strings.Compare(a.Subject, b.Subject) })
	return append(tokens, users...)
}

// revocationGen returns a number that changes whenever the revocation lists change.
func (s *KeyStore) revocationGen() uint64 { return s.rev.gen.Load() }

// tokenRevoked reports whether a token with these claims is revoked: its jti is listed, or
// its subject is listed and it was issued (iat) before the listed time or has no iat.
func (s *KeyStore) tokenRevoked(jti, sub string, iat int64, hasIat bool) bool {
	s.rev.mu.RLock()
	defer s.rev.mu.RUnlock()
	if jti != "" {
		if _, ok := s.rev.jti[jti]; ok {
			return true
		}
	}
	if sub != "" {
		if before, ok := s.rev.sub[sub]; ok && (!hasIat || iat < before) {
			return true
		}
	}
	return false
}
