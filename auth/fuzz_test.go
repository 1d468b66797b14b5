package auth

import (
	"context"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"github.com/keyhole-search/keyhole/query/filter"
)

func FuzzSecuredKeyDecode(f *testing.F) {
	for _, vec := range wireVectors {
		f.Add(vec.key)
		f.Add(vec.key[:len(vec.key)/2])
		f.Add(toURLSafe(vec.key))
	}
	f.Add("")
	f.Add("====")
	f.Add(sign("other", "filters=a%3Ab"))
	clock := newClock(vectorValidUntil - 60)
	s := MustOpenStore(f, clock)
	MustCreate(f, s, vectorParent, KeySpec{ACL: []string{"search"}})
	v := newTestVerifier(s, clock)
	f.Fuzz(func(t *testing.T, key string) {
		_, _ = SecuredKeyRemainingValidity(key, clock.Now())
		_, _, _ = decodeSecured(key)
		if key == vectorParent || key == testAdminKey {
			return
		}
		for _, vec := range wireVectors {
			if sameSecured(key, vec.key) {
				return // a genuine key, however it is spelled
			}
		}
		if p, err := v.Authenticate(context.Background(), Credentials{APIKey: key}); err == nil {
			t.Fatalf("arbitrary key authenticated: %q -> %+v", key, p)
		}
	})
}

// sameSecured reports whether two keys decode to the same bytes.
func sameSecured(a, b string) bool {
	ra, oka := decodeBase64(a)
	rb, okb := decodeBase64(b)
	return oka && okb && string(ra) == string(rb)
}

func FuzzSecuredRestrictions(f *testing.F) {
	f.Add("filters=team%3A123&restrictIndices=products%2Cdev_*&validUntil=1700000000")
	f.Add("restrictIndices=%5B%22products%22%2C%22dev_*%22%5D&validUntil=undefined")
	f.Add("restrictIndices=*&filters=user%3A2+OR+team%3A2")
	f.Add("facetFilters=%5B%5B%22a%3Ab%22%2C%22c%3Ad%22%5D%5D&numericFilters=p%3E1&tagFilters=t")
	f.Add("filters=&restrictIndices=%2A&maxHitsPerQuery=0&attributesToRetrieve=*")
	f.Add("restrictIndices=*prod*%3Bother&referers=*&restrictSources=0.0.0.0%2F0")
	f.Add("")
	f.Add("hitsPerPage=1000&maxHitsPerQuery=70")
	clock := newClock(fixtureNow)
	s := MustOpenStore(f, clock)
	parent := MustCreate(f, s, "fuzz-parent", KeySpec{
		ACL:             []string{"search", "addObject"},
		Indexes:         []string{"products", "dev_*"},
		MaxHitsPerQuery: 50,
		QueryParameters: "filters=tenant%3A7&maxHitsPerQuery=80",
	})
	parentFilter := filter.Node(filter.Facet{Attr: "tenant", Value: "7"})
	parentP := MustAuth(f, newTestVerifier(s, clock), Credentials{APIKey: parent.Value})
	f.Fuzz(func(t *testing.T, msg string) {
		// A fresh verifier: each message is seen first here, then from the cache.
		v := NewVerifier(VerifierOptions{AdminKey: testAdminKey, Store: s, Now: clock.Now, SecuredCacheSize: 4, ForgedCacheSize: 4})
		key := sign(parent.Value, msg)
		for range 2 {
			p, err := v.Authenticate(context.Background(), Credentials{APIKey: key})
			if err != nil {
				continue
			}
			r := p.Restrictions
			if !hasAndSubtree(r.Filter, parentFilter) {
				t.Fatalf("message %q: Filter %#v lost the parent's filter", msg, r.Filter)
			}
			if p.ACL&^(ACLSearch|ACLBrowse|ACLListIndexes) != 0 || p.ACL&^parentP.ACL != 0 {
				t.Fatalf("message %q: ACL %v wider than read rights of the parent", msg, p.ACL.Names())
			}
			if r.MaxHitsPerQuery == 0 || r.MaxHitsPerQuery > 50 {
				t.Fatalf("message %q: MaxHitsPerQuery %d wider than the parent's 50", msg, r.MaxHitsPerQuery)
			}
			for _, ps := range r.Params {
				for _, hp := range ps["hitsPerPage"] {
					if n, err := strconv.Atoi(strings.TrimSpace(hp)); err == nil && n > 50 {
						t.Fatalf("message %q: forced hitsPerPage %d above the parent's cap", msg, n)
					}
				}
			}
			for _, name := range indexNamesFor(msg) {
				if p.IndexAllowed(name) && !parentP.IndexAllowed(name) {
					t.Fatalf("message %q: index %q allowed, the parent does not allow it", msg, name)
				}
			}
		}
	})
}

// hasAndSubtree reports whether n is want or an And with want as a direct child.
func hasAndSubtree(n, want filter.Node) bool {
	if reflect.DeepEqual(n, want) {
		return true
	}
	and, ok := n.(filter.And)
	if !ok {
		return false
	}
	for _, c := range and.Nodes {
		if reflect.DeepEqual(c, want) {
			return true
		}
	}
	return false
}

// indexNamesFor lists index names worth probing for a message: fixed ones and every piece of
// the message.
func indexNamesFor(msg string) []string {
	names := []string{"products", "dev_", "dev_x", "other", "productsX", "xproducts", "", "*", "prod"}
	for piece := range strings.FieldsFuncSeq(msg, func(r rune) bool { return strings.ContainsRune("&=,;%[]\"+", r) }) {
		names = append(names, piece, piece+"x", "x"+piece)
	}
	return names
}
