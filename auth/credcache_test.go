package auth

import (
	"errors"
	"hash/maphash"
	"reflect"
	"strings"
	"testing"

	"github.com/keyhole-search/keyhole/query/filter"
)

func TestCredCache(t *testing.T) {
	c := newCredCache[int](4, maphash.MakeSeed())
	long := strings.Repeat("x", inlineCredMax+1)
	c.add("a-credential", 1)
	c.add(long, 2)
	if v, ok := c.get("a-credential"); !ok || v != 1 {
		t.Fatalf("get = %d, %v", v, ok)
	}
	if v, ok := c.get(long); !ok || v != 2 {
		t.Fatalf("long: get = %d, %v", v, ok)
	}
	for _, other := range []string{"a-credentiaL", "a-credential ", "", long[1:], long[:inlineCredMax], long + "x"} {
		if _, ok := c.get(other); ok {
			t.Errorf("get(%.20q) hit", other)
		}
	}
	// A colliding hash (simulated: another credential's entry under this one's key) is a miss,
	// and remove leaves the other credential's entry alone.
	c.lru.Add(uint64(c.key("victim")), credEntry[int]{cred: "attacker", val: 3})
	if _, ok := c.get("victim"); ok {
		t.Fatal("a colliding entry answered for another credential")
	}
	c.remove("victim")
	if _, ok := c.lru.Peek(uint64(c.key("victim"))); !ok {
		t.Fatal("remove dropped another credential's entry")
	}
	c.remove("a-credential")
	if _, ok := c.get("a-credential"); ok {
		t.Fatal("removed entry still cached")
	}
	for i := range 10 {
		c.add(strings.Repeat("k", i+1), i)
	}
	if c.lru.Len() != 4 {
		t.Fatalf("len = %d, want the bound 4", c.lru.Len())
	}
}

func TestConstantTimeEqual(t *testing.T) {
	for _, tc := range []struct {
		a, b string
		want bool
	}{
		{"", "", true}, {"a", "a", true}, {"a", "b", false}, {"a", "", false},
		{"0123456789abcdef", "0123456789abcdef", true}, {"0123456789abcdef", "0123456789abcdeF", false},
		{"0123456789abcdefX", "0123456789abcdefY", false}, {"x0123456789abcdef", "y0123456789abcdef", false},
	} {
		if got := constantTimeEqual(tc.a, tc.b); got != tc.want {
			t.Errorf("constantTimeEqual(%q, %q) = %v", tc.a, tc.b, got)
		}
	}
}

// A cached verdict on a secured key answers only while the keys are unchanged: once its text
// becomes a stored key's value, it is that stored key; once a forged key's parent exists, it
// verifies.
func TestSecuredCacheFollowsTheStore(t *testing.T) {
	f := newFixture(t)
	k := sign(f.parent.Value, "filters=team%3A1")
	for range 2 { // first sight, then the cache
		if p := MustAuth(t, f.v, Credentials{APIKey: k}); p.Kind != KindSecuredKey {
			t.Fatalf("kind = %v", p.Kind)
		}
	}
	MustCreate(t, f.store, k, KeySpec{ACL: []string{"browse"}})
	if p := MustAuth(t, f.v, Credentials{APIKey: k}); p.Kind != KindAPIKey || p.ACL != ACLBrowse {
		t.Fatalf("after the key became a stored value: %+v", p)
	}

	forged := sign("future-parent", "filters=team%3A1")
	for range 2 {
		if _, err := f.auth(Credentials{APIKey: forged}); !errors.Is(err, ErrInvalidCredentials) {
			t.Fatalf("forged: %v", err)
		}
	}
	MustCreate(t, f.store, "future-parent", KeySpec{ACL: []string{"search"}})
	if p := MustAuth(t, f.v, Credentials{APIKey: forged}); p.Kind != KindSecuredKey {
		t.Fatalf("kind = %v", p.Kind)
	}
	// An unrelated change makes the next use check again, then the cache answers.
	MustCreate(t, f.store, "unrelated", KeySpec{ACL: []string{"search"}})
	hits, _ := f.v.CacheStats()
	MustAuth(t, f.v, Credentials{APIKey: forged})
	MustAuth(t, f.v, Credentials{APIKey: forged})
	if h, _ := f.v.CacheStats(); h != hits+2 {
		t.Fatalf("cache hits = %d, want %d", h, hits+2)
	}
}

func TestFilterCache(t *testing.T) {
	fc := newFilterCache()
	calls := 0
	parse := func(s string) (filter.Node, error) {
		calls++
		return filter.Parse(s)
	}
	a, err := fc.parse(filterAlgolia, "team:1", parse)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := fc.parse(filterAlgolia, "team:1", parse)
	if calls != 1 || !reflect.DeepEqual(a, b) {
		t.Fatalf("calls = %d, %v vs %v", calls, a, b)
	}
	if _, err := fc.parse(filterMeili, "team:1", parseMeiliText); err == nil {
		t.Fatal("another kind of filter answered from the cache")
	}
	for range 2 { // a refusal is kept too, with its reason
		if _, err := fc.parse(filterAlgolia, "team:", parse); err == nil {
			t.Fatal("bad filter parsed")
		}
	}
	if calls != 2 {
		t.Fatalf("calls = %d", calls)
	}
	long := "team:" + strings.Repeat("x", filterCacheMaxText)
	fc.parse(filterAlgolia, long, parse)
	fc.parse(filterAlgolia, long, parse)
	if calls != 4 {
		t.Fatalf("long texts cached: calls = %d", calls)
	}
	var none *filterCache
	if n, err := none.parse(filterAlgolia, "team:1", parse); err != nil || n == nil || calls != 5 {
		t.Fatalf("nil cache: %v, %v, calls %d", n, err, calls)
	}
}

// Two secured keys with the same filters get equal restrictions, and neither changes the other's.
func TestSharedFiltersStayApart(t *testing.T) {
	f := newFixture(t)
	p1 := MustAuth(t, f.v, Credentials{APIKey: sign(f.parent.Value, "filters=team%3A1&userToken=a")})
	p2 := MustAuth(t, f.v, Credentials{APIKey: sign(f.parent.Value, "filters=team%3A1&userToken=b")})
	if !reflect.DeepEqual(p1.Restrictions.Filter, p2.Restrictions.Filter) || p1.Restrictions.UserToken == p2.Restrictions.UserToken {
		t.Fatalf("%+v vs %+v", p1.Restrictions, p2.Restrictions)
	}
}
