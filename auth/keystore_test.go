package auth

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"sync"
	"testing"
)

var (
	uuidV4Re   = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)
	keyValueRe = regexp.MustCompile(`^[0-9a-f]{32}$`)
)

func TestKeyStoreLifecycle(t *testing.T) {
	clock := newClock(fixtureNow)
	path := filepath.Join(t.TempDir(), "keys.db")
	s, err := OpenKeyStore(path, clock.Now)
	if err != nil {
		t.Fatal(err)
	}
	spec := KeySpec{
		ACL:             []string{"search", "browse"},
		Description:     "front end",
		Indexes:         []string{"products", "dev_*"},
		Validity:        3600,
		MaxHitsPerQuery: 20,
		QueryParameters: "filters=team%3A1&hitsPerPage=5",
		Referers:        []string{"https://shop.example/*"},
	}
	k, err := s.Create(spec)
	if err != nil {
		t.Fatal(err)
	}
	if !keyValueRe.MatchString(k.Value) || !uuidV4Re.MatchString(k.ID) || k.CreatedAt != fixtureNow {
		t.Fatalf("created key = %+v", k)
	}
	if want := []string{"browse", "search"}; !reflect.DeepEqual(k.ACL, want) {
		t.Errorf("ACL = %q, want %q", k.ACL, want)
	}
	k2, err := s.Create(KeySpec{ACL: []string{"addObject"}})
	if err != nil {
		t.Fatal(err)
	}
	if k2.Value == k.Value || k2.ID == k.ID {
		t.Fatal("two keys share a value or an id")
	}

	if got, err := s.Get(k.Value); err != nil || !reflect.DeepEqual(got, k) {
		t.Errorf("Get = %+v, %v; want %+v", got, err, k)
	}
	if got, ok := s.ByID(k.ID); !ok || !reflect.DeepEqual(got, k) {
		t.Errorf("ByID = %+v, %v", got, ok)
	}
	if _, err := s.Get("nope"); !errors.Is(err, ErrKeyNotFound) {
		t.Errorf("Get(unknown) = %v", err)
	}
	if got := s.List(); len(got) != 2 {
		t.Errorf("List = %d keys, want 2", len(got))
	}

	clock.Advance(10)
	upd, err := s.Update(k.Value, KeySpec{ACL: []string{"search"}, Description: "changed"})
	if err != nil {
		t.Fatal(err)
	}
	if upd.Value != k.Value || upd.ID != k.ID || upd.CreatedAt != k.CreatedAt || upd.Description != "changed" ||
		len(upd.Indexes) != 0 || upd.Validity != 0 {
		t.Errorf("updated key = %+v", upd)
	}
	if _, err := s.Update("nope", spec); !errors.Is(err, ErrKeyNotFound) {
		t.Errorf("Update(unknown) = %v", err)
	}

	gen := s.Generation()
	if err := s.Delete(k.Value); err != nil {
		t.Fatal(err)
	}
	if s.Generation() == gen {
		t.Error("Delete did not change the generation")
	}
	if _, err := s.Get(k.Value); !errors.Is(err, ErrKeyNotFound) {
		t.Errorf("Get(deleted) = %v", err)
	}
	if _, ok := s.ByID(k.ID); ok {
		t.Error("ByID(deleted) found it")
	}
	if err := s.Delete(k.Value); !errors.Is(err, ErrKeyNotFound) {
		t.Errorf("Delete twice = %v", err)
	}
	if got := s.List(); len(got) != 1 || got[0].ID != k2.ID {
		t.Errorf("List after delete = %+v", got)
	}
	if _, err := s.CreateWithValue(k.Value, spec); !errors.Is(err, ErrKeyExists) {
		t.Errorf("CreateWithValue(deleted value) = %v, want ErrKeyExists", err)
	}

	// Persistence: the deleted key stays deleted and restorable across Close/Open.
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Create(spec); !errors.Is(err, ErrStoreClosed) {
		t.Errorf("Create after Close = %v", err)
	}
	s, err = OpenKeyStore(path, clock.Now)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Get(k.Value); !errors.Is(err, ErrKeyNotFound) {
		t.Errorf("deleted key after reopen: %v", err)
	}
	if got, err := s.Get(k2.Value); err != nil || !reflect.DeepEqual(got, k2) {
		t.Errorf("Get after reopen = %+v, %v; want %+v", got, err, k2)
	}
	restored, err := s.Restore(k.Value)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(restored, upd) {
		t.Errorf("Restore = %+v, want %+v", restored, upd)
	}
	if _, err := s.Restore(k.Value); !errors.Is(err, ErrKeyNotFound) {
		t.Errorf("Restore of a live key = %v", err)
	}

	// Past the retention, a deleted key is gone for good.
	if err := s.Delete(k2.Value); err != nil {
		t.Fatal(err)
	}
	clock.Advance(int64(DeletedKeyRetention.Seconds()) + 1)
	if _, err := s.Restore(k2.Value); !errors.Is(err, ErrKeyNotFound) {
		t.Errorf("Restore after 72h = %v", err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s, err = OpenKeyStore(path, clock.Now)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if got := s.List(); len(got) != 1 || got[0].ID != k.ID {
		t.Errorf("List after reopen = %+v", got)
	}
	if _, err := s.CreateWithValue(k2.Value, spec); err != nil {
		t.Errorf("value of a purged key is free again: %v", err)
	}
}

func TestKeyStorePurgesOldDeletedKeysAtOpen(t *testing.T) {
	clock := newClock(fixtureNow)
	path := filepath.Join(t.TempDir(), "keys.db")
	s, err := OpenKeyStore(path, clock.Now)
	if err != nil {
		t.Fatal(err)
	}
	k := MustCreate(t, s, "old-key", KeySpec{ACL: []string{"search"}})
	if err := s.Delete(k.Value); err != nil {
		t.Fatal(err)
	}
	s.Close()
	clock.Advance(int64(DeletedKeyRetention.Seconds()) + 1)
	s, err = OpenKeyStore(path, clock.Now)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := s.Restore(k.Value); !errors.Is(err, ErrKeyNotFound) {
		t.Errorf("Restore = %v", err)
	}
}

func TestKeySpecValidation(t *testing.T) {
	tests := []struct {
		name  string
		spec  KeySpec
		field string
	}{
		{"unknown ACL", KeySpec{ACL: []string{"search", "fly"}}, "acl"},
		{"filters do not parse", KeySpec{ACL: []string{"search"}, QueryParameters: "filters=%28a%3Ab"}, "queryParameters"},
		{"facetFilters do not parse", KeySpec{ACL: []string{"search"}, QueryParameters: "facetFilters=%5B"}, "queryParameters"},
		{"bad escape", KeySpec{ACL: []string{"search"}, QueryParameters: "filters=%zz"}, "queryParameters"},
		{"negative validity", KeySpec{ACL: []string{"search"}, Validity: -1}, "validity"},
		{"huge validity", KeySpec{ACL: []string{"search"}, Validity: 1 << 62}, "validity"},
		{"negative maxHitsPerQuery", KeySpec{ACL: []string{"search"}, MaxHitsPerQuery: -1}, "maxHitsPerQuery"},
		{"negative maxQueriesPerIPPerHour", KeySpec{ACL: []string{"search"}, MaxQueriesPerIPPerHour: -5}, "maxQueriesPerIPPerHour"},
		{"empty index", KeySpec{ACL: []string{"search"}, Indexes: []string{""}}, "indexes"},
		{"empty referer", KeySpec{ACL: []string{"search"}, Referers: []string{""}}, "referers"},
	}
	s := MustOpenStore(t, newClock(fixtureNow))
	k := MustCreate(t, s, "valid-key", KeySpec{ACL: []string{"search"}})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := s.Create(tt.spec)
			if !errors.Is(err, ErrInvalidKeySpec) || !strings.Contains(err.Error(), tt.field) {
				t.Errorf("Create: err = %v, want ErrInvalidKeySpec naming %s", err, tt.field)
			}
			if _, err := s.Update(k.Value, tt.spec); !errors.Is(err, ErrInvalidKeySpec) {
				t.Errorf("Update: err = %v, want ErrInvalidKeySpec", err)
			}
		})
	}
	if got := s.List(); len(got) != 1 {
		t.Errorf("refused specs created keys: %d", len(got))
	}
	for _, bad := range []string{"", "has space", strings.Repeat("x", 257), "tab\tkey"} {
		if _, err := s.CreateWithValue(bad, KeySpec{ACL: []string{"search"}}); !errors.Is(err, ErrInvalidKeySpec) {
			t.Errorf("CreateWithValue(%q) = %v", bad, err)
		}
	}
	if _, err := s.CreateWithValue("valid-key", KeySpec{ACL: []string{"search"}}); !errors.Is(err, ErrKeyExists) {
		t.Errorf("duplicate value: %v", err)
	}
}

func TestKeyStoreConcurrent(t *testing.T) {
	clock := newClock(fixtureNow)
	s := MustOpenStore(t, clock)
	v := newTestVerifier(s, clock)
	parent := MustCreate(t, s, "concurrent-parent", KeySpec{ACL: []string{"search"}})
	secured := sign(parent.Value, "filters=team%3A1")
	var wg sync.WaitGroup
	const writers, perWriter = 4, 8
	for w := range writers {
		wg.Go(func() {
			for i := range perWriter {
				k, err := s.Create(KeySpec{ACL: []string{"search"}, Description: fmt.Sprint(w, i)})
				if err != nil {
					t.Error(err)
					return
				}
				if _, err := s.Update(k.Value, KeySpec{ACL: []string{"browse"}}); err != nil {
					t.Error(err)
				}
				if i%2 == 0 {
					if err := s.Delete(k.Value); err != nil {
						t.Error(err)
					}
				}
			}
		})
	}
	for range 4 {
		wg.Go(func() {
			for range 200 {
				if _, err := v.Authenticate(context.Background(), Credentials{APIKey: secured}); err != nil {
					t.Error(err)
					return
				}
				if _, err := v.Authenticate(context.Background(), Credentials{APIKey: sign("forged", "x=1")}); !errors.Is(err, ErrInvalidCredentials) {
					t.Error(err)
					return
				}
				_ = s.List()
			}
		})
	}
	wg.Wait()
	if got, want := len(s.List()), 1+writers*perWriter/2; got != want {
		t.Errorf("List = %d keys, want %d", got, want)
	}
}
