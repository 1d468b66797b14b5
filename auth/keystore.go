package auth

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"encoding"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	bolt "go.etcd.io/bbolt"
)

// DeletedKeyRetention is how long a deleted key can be restored (as Algolia: 72 hours).
const DeletedKeyRetention = 72 * time.Hour

// maxKeyValueLen bounds the value of a key given to CreateWithValue.
const maxKeyValueLen = 256

// maxValidity bounds Key.Validity (about 31,700 years), so that createdAt+validity never
// overflows.
const maxValidity = 1 << 40

// keysBucket names the bbolt bucket of key records (keyed by id).
const keysBucket = "keys"

// Key is a stored API key, in the JSON shape of Algolia's key API (plus its public id).
type Key struct {
	// Value is the secret: the API key itself. Never log it; log ID.
	Value string `json:"value"`
	// ID is the key's public id, a random UUIDv4 (Meilisearch tenant tokens name it).
	ID string `json:"id"`
	// ACL lists the key's rights by Algolia name, sorted.
	ACL []string `json:"acl"`
	// Description is free text.
	Description string `json:"description"`
	// Indexes are the index names and patterns ("dev_*") the key may touch; empty: all.
	Indexes []string `json:"indexes"`
	// Validity is how long after CreatedAt the key works, in seconds; 0: forever.
	Validity int64 `json:"validity"`
	// MaxHitsPerQuery caps hitsPerPage; 0: no cap.
	MaxHitsPerQuery int `json:"maxHitsPerQuery"`
	// MaxQueriesPerIPPerHour rate-limits the key per client address; 0: no limit. The HTTP
	// layer enforces it (look the key up with KeyStore.ByID(principal.KeyID)).
	MaxQueriesPerIPPerHour int `json:"maxQueriesPerIPPerHour"`
	// QueryParameters is a URL-encoded params string forced on the key's searches, e.g.
	// "filters=team%3A1&hitsPerPage=5".
	QueryParameters string `json:"queryParameters"`
	// Referers are the allowed Referer patterns ("https://example.com/*"); empty: any.
	Referers []string `json:"referers"`
	// CreatedAt is when the key was created, in Unix seconds.
	CreatedAt int64 `json:"createdAt"`
}

// ValidUntil returns when the key stops working, and false when it never does.
func (k Key) ValidUntil() (time.Time, bool) {
	if k.Validity == 0 {
		return time.Time{}, false
	}
	return time.Unix(k.CreatedAt+k.Validity, 0), true
}

func (k Key) clone() Key {
	k.ACL = slices.Clone(k.ACL)
	k.Indexes = slices.Clone(k.Indexes)
	k.Referers = slices.Clone(k.Referers)
	if k.ACL == nil {
		k.ACL = []string{}
	}
	if k.Indexes == nil {
		k.Indexes = []string{}
	}
	if k.Referers == nil {
		k.Referers = []string{}
	}
	return k
}

// KeySpec holds the writable fields of a Key, for Create and Update (which replaces them all).
type KeySpec struct {
	// ACL lists rights by Algolia name ("search", "browse", "addObject", ...).
	ACL []string `json:"acl"`
	// Description is free text.
	Description string `json:"description"`
	// Indexes are index names and patterns; empty: all.
	Indexes []string `json:"indexes"`
	// Validity in seconds after creation; 0: forever.
	Validity int64 `json:"validity"`
	// MaxHitsPerQuery caps hitsPerPage; 0: no cap.
	MaxHitsPerQuery int `json:"maxHitsPerQuery"`
	// MaxQueriesPerIPPerHour; 0: no limit.
	MaxQueriesPerIPPerHour int `json:"maxQueriesPerIPPerHour"`
	// QueryParameters is a URL-encoded params string; its filters must parse.
	QueryParameters string `json:"queryParameters"`
	// Referers are allowed Referer patterns; empty: any.
	Referers []string `json:"referers"`
}

// record is a key as stored in bbolt.
type record struct {
	Key
	DeletedAt int64 `json:"deletedAt,omitempty"`
}

// keyEntry is the in-memory form of a stored key: immutable once built, replaced (and the old
// one revoked) on every change, so that caches holding it see the change at once.
type keyEntry struct {
	key       Key
	hash      [32]byte // SHA-256 of key.Value
	acl       ACL
	c         *compiled // the key's own restrictions
	cErr      error     // restrictions that no longer read (fail closed); nil normally
	inner     []byte    // SHA-256 state after the HMAC inner pad (key ^ ipad)
	outer     []byte    // SHA-256 state after the HMAC outer pad (key ^ opad)
	deletedAt int64
	revoked   atomic.Bool
}

// KeyStore keeps API keys in a bbolt file, with an in-memory index (by SHA-256 of the value
// and by id) so that lookups never touch the file. It is safe for concurrent use. Every
// method that changes a key returns only once the change is on disk.
type KeyStore struct {
	db  *bolt.DB
	now func() time.Time

	wmu sync.Mutex // serializes writers (held across the bbolt transaction)

	mu      sync.RWMutex // guards the maps below (never held during disk I/O)
	byHash  map[[32]byte]*keyEntry
	byID    map[string]*keyEntry
	deleted map[[32]byte]*keyEntry // soft-deleted, restorable
	snap    *candidateSet          // live entries, oldest first; nil when stale
	closed  bool

	gen atomic.Uint64

	rev revocations // token revocations (revocation.go)
}

// OpenKeyStore opens (creating if needed) the key file at path, e.g. "<datadir>/keys.db".
// now is the clock (nil: time.Now). Deleted keys older than DeletedKeyRetention are purged.
func OpenKeyStore(path string, now func() time.Time) (*KeyStore, error) {
	if now == nil {
		now = time.Now
	}
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: time.Second})
	if err != nil {
		return nil, fmt.Errorf("open key store: %w", err)
	}
	s := &KeyStore{
		db:      db,
		now:     now,
		byHash:  map[[32]byte]*keyEntry{},
		byID:    map[string]*keyEntry{},
		deleted: map[[32]byte]*keyEntry{},
	}
	cutoff := now().Add(-DeletedKeyRetention).Unix()
	err = db.Update(func(tx *bolt.Tx) error {
		b, err := tx.CreateBucketIfNotExists([]byte(keysBucket))
		if err != nil {
			return err
		}
		var purge [][]byte
		err = b.ForEach(func(k, v []byte) error {
			var rec record
			if err := json.Unmarshal(v, &rec); err != nil {
				return fmt.Errorf("key record %q: %w", k, err)
			}
			if rec.DeletedAt != 0 && rec.DeletedAt < cutoff {
				purge = append(purge, bytes.Clone(k))
				return nil
			}
			e := newEntry(rec.Key)
			e.deletedAt = rec.DeletedAt
			if e.deletedAt != 0 {
				s.deleted[e.hash] = e
			} else {
				s.byHash[e.hash] = e
				s.byID[e.key.ID] = e
			}
			return nil
		})
		if err != nil {
			return err
		}
		for _, k := range purge {
			if err := b.Delete(k); err != nil {
				return err
			}
		}
		return s.loadRevocations(tx, now())
	})
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("open key store: %w", err)
	}
	return s, nil
}

// Close closes the file. Later calls fail with ErrStoreClosed (lookups find nothing).
func (s *KeyStore) Close() error {
	s.wmu.Lock()
	defer s.wmu.Unlock()
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	for _, e := range s.byHash {
		e.revoked.Store(true)
	}
	s.byHash, s.byID, s.deleted, s.snap = map[[32]byte]*keyEntry{}, map[string]*keyEntry{}, map[[32]byte]*keyEntry{}, nil
	s.gen.Add(1)
	s.mu.Unlock()
	return s.db.Close()
}

// Generation counts changes to the keys: it grows on every create, update, delete and
// restore, so a cache can tell whether what it learnt is still current.
func (s *KeyStore) Generation() uint64 { return s.gen.Load() }

// Create makes a key with a random value and id.
func (s *KeyStore) Create(spec KeySpec) (Key, error) {
	return s.create("", spec)
}

// CreateWithValue makes a key with the given value (for imports and tests). Warning: the
// value is the secret; it must be long and random to be safe. It must be 1 to 256 printable
// ASCII characters without spaces, and unused by any key, live or deleted (ErrKeyExists).
func (s *KeyStore) CreateWithValue(value string, spec KeySpec) (Key, error) {
	if len(value) == 0 || len(value) > maxKeyValueLen {
		return Key{}, fmt.Errorf("%w: value: must be 1 to %d characters", ErrInvalidKeySpec, maxKeyValueLen)
	}
	for i := 0; i < len(value); i++ {
		if value[i] <= ' ' || value[i] > '~' {
			return Key{}, fmt.Errorf("%w: value: printable ASCII without spaces only", ErrInvalidKeySpec)
		}
	}
	return s.create(value, spec)
}

func (s *KeyStore) create(value string, spec KeySpec) (Key, error) {
	s.wmu.Lock()
	defer s.wmu.Unlock()
	if s.isClosed() {
		return Key{}, ErrStoreClosed
	}
	k := Key{CreatedAt: s.now().Unix()}
	if err := spec.applyTo(&k); err != nil {
		return Key{}, err
	}
	s.mu.RLock()
	for {
		k.Value = value
		if value == "" {
			v, err := randomValue()
			if err != nil {
				s.mu.RUnlock()
				return Key{}, err
			}
			k.Value = v
		}
		id, err := randomUUID()
		if err != nil {
			s.mu.RUnlock()
			return Key{}, err
		}
		k.ID = id
		h := sha256.Sum256([]byte(k.Value))
		_, live := s.byHash[h]
		_, dead := s.deleted[h]
		if live || dead {
			if value != "" {
				s.mu.RUnlock()
				return Key{}, ErrKeyExists
			}
			continue
		}
		if !s.idTaken(id) {
			break
		}
	}
	s.mu.RUnlock()
	e := newEntry(k)
	if e.cErr != nil {
		return Key{}, e.cErr
	}
	if err := s.write(func(b *bolt.Bucket) error { return putRecord(b, record{Key: k}) }); err != nil {
		return Key{}, err
	}
	s.mu.Lock()
	s.addLive(e)
	s.changed()
	s.mu.Unlock()
	return k.clone(), nil
}

// idTaken reports whether a live or deleted key has id. Called with mu held.
func (s *KeyStore) idTaken(id string) bool {
	if _, ok := s.byID[id]; ok {
		return true
	}
	for _, e := range s.deleted {
		if e.key.ID == id {
			return true
		}
	}
	return false
}

// Get returns the live key with that value, or ErrKeyNotFound.
func (s *KeyStore) Get(value string) (Key, error) {
	e := s.live(sha256.Sum256([]byte(value)))
	if e == nil {
		return Key{}, ErrKeyNotFound
	}
	return e.key.clone(), nil
}

// ByID returns the live key with that public id.
func (s *KeyStore) ByID(id string) (Key, bool) {
	s.mu.RLock()
	e := s.byID[id]
	s.mu.RUnlock()
	if e == nil {
		return Key{}, false
	}
	return e.key.clone(), true
}

// List returns every live key, oldest first.
func (s *KeyStore) List() []Key {
	snap := s.candidates()
	out := make([]Key, len(snap))
	for i, e := range snap {
		out[i] = e.key.clone()
	}
	return out
}

// Update replaces the writable fields of the live key with that value (its value, id and
// createdAt stay). Caches drop what they knew of the key at once.
func (s *KeyStore) Update(value string, spec KeySpec) (Key, error) {
	s.wmu.Lock()
	defer s.wmu.Unlock()
	if s.isClosed() {
		return Key{}, ErrStoreClosed
	}
	old := s.live(sha256.Sum256([]byte(value)))
	if old == nil {
		return Key{}, ErrKeyNotFound
	}
	k := Key{Value: old.key.Value, ID: old.key.ID, CreatedAt: old.key.CreatedAt}
	if err := spec.applyTo(&k); err != nil {
		return Key{}, err
	}
	e := newEntry(k)
	if e.cErr != nil {
		return Key{}, e.cErr
	}
	if err := s.write(func(b *bolt.Bucket) error { return putRecord(b, record{Key: k}) }); err != nil {
		return Key{}, err
	}
	s.mu.Lock()
	old.revoked.Store(true)
	s.addLive(e)
	s.changed()
	s.mu.Unlock()
	return k.clone(), nil
}

// Delete soft-deletes the live key with that value: it stops working at once (and so does
// every secured key derived from it) and can be restored for DeletedKeyRetention.
func (s *KeyStore) Delete(value string) error {
	s.wmu.Lock()
	defer s.wmu.Unlock()
	if s.isClosed() {
		return ErrStoreClosed
	}
	old := s.live(sha256.Sum256([]byte(value)))
	if old == nil {
		return ErrKeyNotFound
	}
	now := s.now().Unix()
	if err := s.write(func(b *bolt.Bucket) error {
		return putRecord(b, record{Key: old.key, DeletedAt: now})
	}); err != nil {
		return err
	}
	e := newEntry(old.key)
	e.deletedAt = now
	e.revoked.Store(true)
	s.mu.Lock()
	old.revoked.Store(true)
	delete(s.byHash, old.hash)
	delete(s.byID, old.key.ID)
	s.deleted[e.hash] = e
	s.changed()
	s.mu.Unlock()
	return nil
}

// Restore brings back a key deleted less than DeletedKeyRetention ago; ErrKeyNotFound when
// there is none (or it is older, in which case it is purged).
func (s *KeyStore) Restore(value string) (Key, error) {
	s.wmu.Lock()
	defer s.wmu.Unlock()
	if s.isClosed() {
		return Key{}, ErrStoreClosed
	}
	h := sha256.Sum256([]byte(value))
	s.mu.RLock()
	old := s.deleted[h]
	s.mu.RUnlock()
	if old == nil {
		return Key{}, ErrKeyNotFound
	}
	if old.deletedAt < s.now().Add(-DeletedKeyRetention).Unix() {
		if err := s.write(func(b *bolt.Bucket) error { return b.Delete([]byte(old.key.ID)) }); err != nil {
			return Key{}, err
		}
		s.mu.Lock()
		delete(s.deleted, h)
		s.changed()
		s.mu.Unlock()
		return Key{}, ErrKeyNotFound
	}
	k := old.key
	e := newEntry(k)
	if err := s.write(func(b *bolt.Bucket) error { return putRecord(b, record{Key: k}) }); err != nil {
		return Key{}, err
	}
	s.mu.Lock()
	delete(s.deleted, h)
	s.addLive(e)
	s.changed()
	s.mu.Unlock()
	return k.clone(), nil
}

func (s *KeyStore) isClosed() bool {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.closed
}

// write runs fn in a bbolt read-write transaction (committed and fsynced on success).
func (s *KeyStore) write(fn func(b *bolt.Bucket) error) error {
	err := s.db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket([]byte(keysBucket))
		if b == nil {
			return errors.New("keys bucket missing")
		}
		return fn(b)
	})
	if err != nil {
		return fmt.Errorf("key store: %w", err)
	}
	return nil
}

func putRecord(b *bolt.Bucket, rec record) error {
	v, err := json.Marshal(rec)
	if err != nil {
		return err
	}
	return b.Put([]byte(rec.ID), v)
}

// addLive indexes a live entry. Called with mu held.
func (s *KeyStore) addLive(e *keyEntry) {
	s.byHash[e.hash] = e
	s.byID[e.key.ID] = e
}

// changed drops the candidate snapshot and bumps the generation, after the maps changed.
// Called with mu held.
func (s *KeyStore) changed() {
	s.snap = nil
	s.gen.Add(1)
}

// live returns the live entry whose value has hash h, or nil.
func (s *KeyStore) live(h [32]byte) *keyEntry {
	s.mu.RLock()
	e := s.byHash[h]
	s.mu.RUnlock()
	return e
}

// candidateSet is a snapshot of the live entries, oldest first, with their HMAC pad states
// copied into one array (so that trying every key streams through memory rather than
// visiting each entry). It is shared and immutable.
type candidateSet struct {
	entries []*keyEntry
	// states holds entry i's inner then outer pad state at [i*stride, (i+1)*stride).
	states []byte
	stride int
}

// state returns entry i's inner and outer pad states.
func (cs *candidateSet) state(i int) (inner, outer []byte) {
	st := cs.states[i*cs.stride : (i+1)*cs.stride]
	return st[:cs.stride/2], st[cs.stride/2:]
}

// candidates returns every live entry, oldest first. The slice is shared and immutable.
func (s *KeyStore) candidates() []*keyEntry { return s.candidateSet().entries }

// candidateSet returns the snapshot of the live entries, built once per change.
func (s *KeyStore) candidateSet() *candidateSet {
	s.mu.RLock()
	cs := s.snap
	s.mu.RUnlock()
	if cs != nil {
		return cs
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.snap != nil {
		return s.snap
	}
	snap := make([]*keyEntry, 0, len(s.byHash))
	for _, e := range s.byHash {
		snap = append(snap, e)
	}
	slices.SortFunc(snap, func(a, b *keyEntry) int {
		if a.key.CreatedAt != b.key.CreatedAt {
			if a.key.CreatedAt < b.key.CreatedAt {
				return -1
			}
			return 1
		}
		return bytes.Compare([]byte(a.key.ID), []byte(b.key.ID))
	})
	cs = &candidateSet{entries: snap, stride: 2 * len(hmacStateSize)}
	cs.states = make([]byte, 0, len(snap)*cs.stride)
	for _, e := range snap {
		if len(e.inner) != cs.stride/2 || len(e.outer) != cs.stride/2 {
			panic("auth: HMAC pad states of an unexpected size")
		}
		cs.states = append(append(cs.states, e.inner...), e.outer...)
	}
	s.snap = cs
	return cs
}

// hmacStateSize has the length of a marshaled SHA-256 state (as hmacStates returns).
var hmacStateSize, _ = hmacStates(nil)

// applyTo validates the spec and copies it into k (whose CreatedAt is set).
func (spec KeySpec) applyTo(k *Key) error {
	acl, err := ParseACL(spec.ACL)
	if err != nil {
		return fmt.Errorf("%w: acl: %v", ErrInvalidKeySpec, err)
	}
	switch {
	case spec.Validity < 0 || spec.Validity > maxValidity:
		return fmt.Errorf("%w: validity: must be between 0 and %d seconds", ErrInvalidKeySpec, int64(maxValidity))
	case spec.MaxHitsPerQuery < 0:
		return fmt.Errorf("%w: maxHitsPerQuery: must not be negative", ErrInvalidKeySpec)
	case spec.MaxQueriesPerIPPerHour < 0:
		return fmt.Errorf("%w: maxQueriesPerIPPerHour: must not be negative", ErrInvalidKeySpec)
	}
	for _, ix := range spec.Indexes {
		if ix == "" {
			return fmt.Errorf("%w: indexes: empty index name", ErrInvalidKeySpec)
		}
	}
	for _, r := range spec.Referers {
		if r == "" {
			return fmt.Errorf("%w: referers: empty pattern", ErrInvalidKeySpec)
		}
	}
	if _, err := parseParams(spec.QueryParameters); err != nil {
		return fmt.Errorf("%w: queryParameters: %v", ErrInvalidKeySpec, err)
	}
	k.ACL = acl.Names()
	k.Description = spec.Description
	k.Indexes = slices.Clone(spec.Indexes)
	k.Validity = spec.Validity
	k.MaxHitsPerQuery = spec.MaxHitsPerQuery
	k.MaxQueriesPerIPPerHour = spec.MaxQueriesPerIPPerHour
	k.QueryParameters = spec.QueryParameters
	k.Referers = slices.Clone(spec.Referers)
	return nil
}

// newEntry builds the in-memory form of k: its ACL, its restrictions compiled once, and its
// HMAC pad states. A key whose fields no longer read gets cErr (it then refuses everything).
func newEntry(k Key) *keyEntry {
	e := &keyEntry{key: k.clone(), hash: sha256.Sum256([]byte(k.Value))}
	e.inner, e.outer = hmacStates([]byte(k.Value))
	acl, err := ParseACL(k.ACL)
	if err != nil {
		e.cErr = fmt.Errorf("%w: acl: %v", ErrInvalidKeySpec, err)
		return e
	}
	e.acl = acl
	own := &layer{maxHits: k.MaxHitsPerQuery}
	if len(k.Indexes) > 0 {
		own.indexes, own.hasIndexes = k.Indexes, true
	}
	if k.Validity > 0 {
		own.validUntil, own.hasValidUntil = k.CreatedAt+k.Validity, true
	}
	own.referers = k.Referers
	qp, err := parseParams(k.QueryParameters)
	if err != nil {
		e.cErr = fmt.Errorf("%w: queryParameters: %v", ErrInvalidKeySpec, err)
		return e
	}
	e.c = apply(apply(nil, own), qp)
	e.c.r.MaxQueriesPerIPPerHour = k.MaxQueriesPerIPPerHour
	return e
}

// hmacStates returns the marshaled SHA-256 states after absorbing key^ipad and key^opad: an
// HMAC-SHA256 with this key then costs only the message and one outer block (see macInto).
func hmacStates(key []byte) (inner, outer []byte) {
	if len(key) > sha256.BlockSize {
		sum := sha256.Sum256(key)
		key = sum[:]
	}
	var ipad, opad [sha256.BlockSize]byte
	copy(ipad[:], key)
	copy(opad[:], key)
	for i := range ipad {
		ipad[i] ^= 0x36
		opad[i] ^= 0x5c
	}
	h := sha256.New()
	app, ok := h.(encoding.BinaryAppender)
	if !ok {
		panic("auth: sha256 state does not marshal")
	}
	h.Write(ipad[:])
	buf, err := app.AppendBinary(make([]byte, 0, 256))
	if err != nil {
		panic("auth: sha256 state does not marshal: " + err.Error())
	}
	n := len(buf)
	h.Reset()
	h.Write(opad[:])
	buf, err = app.AppendBinary(buf)
	if err != nil {
		panic("auth: sha256 state does not marshal: " + err.Error())
	}
	// One allocation for both states, next to each other in memory.
	return buf[:n:n], buf[n:]
}

// randomValue returns a new key value: 32 lowercase hex characters from crypto/rand.
func randomValue() (string, error) {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("random key: %w", err)
	}
	return hex.EncodeToString(b[:]), nil
}

// randomUUID returns a random (version 4, RFC 9562) UUID.
func randomUUID() (string, error) {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("random id: %w", err)
	}
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	var out [36]byte
	hex.Encode(out[0:8], b[0:4])
	out[8] = '-'
	hex.Encode(out[9:13], b[4:6])
	out[13] = '-'
	hex.Encode(out[14:18], b[6:8])
	out[18] = '-'
	hex.Encode(out[19:23], b[8:10])
	out[23] = '-'
	hex.Encode(out[24:], b[10:])
	return string(out[:]), nil
}
