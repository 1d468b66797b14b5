package auth

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

const testAdminKey = "admin-key-0123456789abcdef"

// testClock is a settable clock, safe for concurrent use.
type testClock struct{ unix atomic.Int64 }

func newClock(unix int64) *testClock {
	c := &testClock{}
	c.unix.Store(unix)
	return c
}

func (c *testClock) Now() time.Time  { return time.Unix(c.unix.Load(), 0) }
func (c *testClock) Set(unix int64)  { c.unix.Store(unix) }
func (c *testClock) Advance(s int64) { c.unix.Add(s) }

// MustOpenStore opens a key store in a temporary directory, closed at cleanup.
func MustOpenStore(tb testing.TB, clock *testClock) *KeyStore {
	tb.Helper()
	s, err := OpenKeyStore(filepath.Join(tb.TempDir(), "keys.db"), clock.Now)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { s.Close() })
	return s
}

// MustCreate stores a key with the given value.
func MustCreate(tb testing.TB, s *KeyStore, value string, spec KeySpec) Key {
	tb.Helper()
	k, err := s.CreateWithValue(value, spec)
	if err != nil {
		tb.Fatalf("CreateWithValue: %v", err)
	}
	return k
}

// MustAuth authenticates or fails the test.
func MustAuth(tb testing.TB, v *Verifier, creds Credentials) *Principal {
	tb.Helper()
	p, err := v.Authenticate(context.Background(), creds)
	if err != nil {
		tb.Fatalf("Authenticate: %v", err)
	}
	return p
}

func newTestVerifier(s *KeyStore, clock *testClock) *Verifier {
	return NewVerifier(VerifierOptions{AdminKey: testAdminKey, Store: s, Now: clock.Now, AppID: "APPID"})
}

// sign builds a secured key from a parent value and a message, as the clients do.
func sign(parent, msg string) string {
	m := hmac.New(sha256.New, []byte(parent))
	m.Write([]byte(msg))
	return base64.StdEncoding.EncodeToString([]byte(hex.EncodeToString(m.Sum(nil)) + msg))
}

// createMany stores n keys with the given spec in one transaction (benchmarks: 10,000
// single creates would each fsync). It returns their values.
func createMany(tb testing.TB, s *KeyStore, n int, spec KeySpec) []string {
	tb.Helper()
	var entries []*keyEntry
	err := s.write(func(b *bolt.Bucket) error {
		for range n {
			v, err := randomValue()
			if err != nil {
				return err
			}
			id, err := randomUUID()
			if err != nil {
				return err
			}
			k := Key{Value: v, ID: id, CreatedAt: s.now().Unix()}
			if err := spec.applyTo(&k); err != nil {
				return err
			}
			if err := putRecord(b, record{Key: k}); err != nil {
				return err
			}
			entries = append(entries, newEntry(k))
		}
		return nil
	})
	if err != nil {
		tb.Fatal(err)
	}
	s.mu.Lock()
	values := make([]string, 0, n)
	for _, e := range entries {
		s.addLive(e)
		values = append(values, e.key.Value)
	}
	s.changed()
	s.mu.Unlock()
	return values
}
