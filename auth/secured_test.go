package auth

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"log/slog"
	"net/netip"
	"net/url"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/keyhole-search/keyhole/query/filter"
)

// wireVectors are the four secured keys of wire.md §1, parent "parentKey123", restrictions
// {filters: "team:123", validUntil: 1700000000, restrictIndices: ["products", "dev_*"]}.
var wireVectors = []struct{ client, key string }{
	{"JS v5", "NmY3OWEwNzZhZThjNmVjYzE4MWM5NTg5OWY5Mzg0ZDliYTgwZWUxN2EwNDVhMTI3MmRmNGVlMjZiMTY0NWFjM2ZpbHRlcnM9dGVhbSUzQTEyMyZyZXN0cmljdEluZGljZXM9cHJvZHVjdHMlMkNkZXZfKiZ2YWxpZFVudGlsPTE3MDAwMDAwMDA="},
	{"JS v4", "NGU4NTU1ZmE5MTc2OTExNGMxYmUyOWRhYzk2YWI4NDBmMDc4NGQ3MmUwYzBiMGFlYjc4ZmM4MWU3ZTVkMTY1NWZpbHRlcnM9dGVhbSUzQTEyMyZ2YWxpZFVudGlsPTE3MDAwMDAwMDAmcmVzdHJpY3RJbmRpY2VzPSU1QiUyMnByb2R1Y3RzJTIyJTJDJTIyZGV2XyolMjIlNUQ="},
	{"Go v4 / PHP v4", "MDcxMjk0ZTg5ZGYxMzEzMmYwN2NlNzJmNmY3ZmRiNDFjMTQ2Zjc0OTE1MWNjOTJlZWMzZjY0MzM2ZDZiNzNiM2ZpbHRlcnM9dGVhbSUzQTEyMyZyZXN0cmljdEluZGljZXM9cHJvZHVjdHMlMkNkZXZfJTJBJnZhbGlkVW50aWw9MTcwMDAwMDAwMA=="},
	{"PHP v3", "MDJmZjg0MTQwNTE1YTU4MjhjNDRiM2E3YjRmNjU3ZjkxOWZkY2M5NTY3N2IzMWYxMjMyMTg3N2NjZmUzMjRiYWZpbHRlcnM9dGVhbSUzQTEyMyZ2YWxpZFVudGlsPTE3MDAwMDAwMDAmcmVzdHJpY3RJbmRpY2VzPSU1QiUyMnByb2R1Y3RzJTIyJTJDJTIyZGV2XyUyQSUyMiU1RA=="},
}

const (
	vectorParent     = "parentKey123"
	vectorValidUntil = 1700000000
)

func TestWireVectors(t *testing.T) {
	for _, vec := range wireVectors {
		t.Run(vec.client, func(t *testing.T) {
			clock := newClock(vectorValidUntil - 3600)
			s := MustOpenStore(t, clock)
			parent := MustCreate(t, s, vectorParent, KeySpec{ACL: []string{"search"}})
			v := newTestVerifier(s, clock)

			for _, variant := range []string{vec.key, strings.TrimRight(vec.key, "="), toURLSafe(vec.key)} {
				p := MustAuth(t, v, Credentials{APIKey: variant})
				if p.Kind != KindSecuredKey || p.KeyID != parent.ID || p.ACL != ACLSearch {
					t.Fatalf("principal = %+v", p)
				}
				r := p.Restrictions
				if want := (filter.Facet{Attr: "team", Value: "123"}); !reflect.DeepEqual(r.Filter, want) {
					t.Errorf("Filter = %#v, want %#v", r.Filter, want)
				}
				if want := [][]string{{"products", "dev_*"}}; !reflect.DeepEqual(r.IndexLayers, want) {
					t.Errorf("IndexLayers = %q, want %q", r.IndexLayers, want)
				}
				if !r.ValidUntil.Equal(time.Unix(vectorValidUntil, 0)) {
					t.Errorf("ValidUntil = %v", r.ValidUntil)
				}
				if len(r.Params) != 0 {
					t.Errorf("Params = %v, want none", r.Params)
				}
			}

			clock.Set(vectorValidUntil + 1)
			if _, err := v.Authenticate(context.Background(), Credentials{APIKey: vec.key}); !errors.Is(err, ErrExpired) {
				t.Errorf("after validUntil: err = %v, want ErrExpired", err)
			}
		})
	}
	t.Run("other parent", func(t *testing.T) {
		clock := newClock(vectorValidUntil - 3600)
		s := MustOpenStore(t, clock)
		MustCreate(t, s, "parentKey124", KeySpec{ACL: []string{"search"}})
		MustCreate(t, s, "ParentKey123", KeySpec{ACL: []string{"search"}})
		v := newTestVerifier(s, clock)
		for _, vec := range wireVectors {
			if _, err := v.Authenticate(context.Background(), Credentials{APIKey: vec.key}); !errors.Is(err, ErrInvalidCredentials) {
				t.Errorf("%s: err = %v, want ErrInvalidCredentials", vec.client, err)
			}
		}
	})
}

func toURLSafe(s string) string {
	return strings.NewReplacer("+", "-", "/", "_").Replace(strings.TrimRight(s, "="))
}

// fixture is a store with a search parent (that may write too), a browse-only parent, a
// verifier, and a clock at 1,600,000,000.
type fixture struct {
	clock   *testClock
	store   *KeyStore
	v       *Verifier
	parent  Key // search + addObject, no restriction
	browser Key // browse only
}

const fixtureNow = 1_600_000_000

func newFixture(t *testing.T) *fixture {
	t.Helper()
	f := &fixture{clock: newClock(fixtureNow)}
	f.store = MustOpenStore(t, f.clock)
	f.parent = MustCreate(t, f.store, "parent-search-key", KeySpec{ACL: []string{"search", "addObject", "browse"}})
	f.browser = MustCreate(t, f.store, "parent-browse-key", KeySpec{ACL: []string{"browse"}})
	f.v = newTestVerifier(f.store, f.clock)
	return f
}

func (f *fixture) auth(creds Credentials) (*Principal, error) {
	return f.v.Authenticate(context.Background(), creds)
}

func TestAuthenticateRefusals(t *testing.T) {
	until := func(d int64) string { return "validUntil=" + itoa(fixtureNow+d) }
	tests := []struct {
		name string
		// setup returns the credentials to present, after changing the fixture as needed.
		setup func(t *testing.T, f *fixture) Credentials
		want  error
	}{
		{"missing key", func(t *testing.T, f *fixture) Credentials { return Credentials{} }, ErrInvalidCredentials},
		{"unknown key", func(t *testing.T, f *fixture) Credentials {
			return Credentials{APIKey: "0123456789abcdef0123456789abcdef"}
		}, ErrInvalidCredentials},
		{"forged signature", func(t *testing.T, f *fixture) Credentials {
			return Credentials{APIKey: sign("not-a-stored-key", "filters=team%3A1")}
		}, ErrInvalidCredentials},
		{"forged twice (negative cache)", func(t *testing.T, f *fixture) Credentials {
			k := sign("not-a-stored-key", "filters=team%3A1")
			if _, err := f.auth(Credentials{APIKey: k}); !errors.Is(err, ErrInvalidCredentials) {
				t.Fatalf("first try: %v", err)
			}
			return Credentials{APIKey: k}
		}, ErrInvalidCredentials},
		{"message altered", func(t *testing.T, f *fixture) Credentials {
			k := sign(f.parent.Value, "filters=team%3A1")
			raw, _ := base64.StdEncoding.DecodeString(k)
			return Credentials{APIKey: base64.StdEncoding.EncodeToString([]byte(strings.Replace(string(raw), "team%3A1", "team%3A2", 1)))}
		}, ErrInvalidCredentials},
		{"truncated", func(t *testing.T, f *fixture) Credentials {
			k := sign(f.parent.Value, "filters=team%3A1&userToken=abc")
			return Credentials{APIKey: k[:len(k)-8]}
		}, ErrInvalidCredentials},
		{"truncated inside signature", func(t *testing.T, f *fixture) Credentials {
			k := sign(f.parent.Value, "")
			return Credentials{APIKey: k[:40]}
		}, ErrInvalidCredentials},
		{"bad base64", func(t *testing.T, f *fixture) Credentials {
			return Credentials{APIKey: "!!!not base64!!!"}
		}, ErrInvalidCredentials},
		{"base64 with a line break", func(t *testing.T, f *fixture) Credentials {
			k := sign(f.parent.Value, "filters=team%3A1")
			return Credentials{APIKey: k[:20] + "\n" + k[20:]}
		}, ErrInvalidCredentials},
		{"non-hex signature", func(t *testing.T, f *fixture) Credentials {
			return Credentials{APIKey: base64.StdEncoding.EncodeToString([]byte(strings.Repeat("z", 64) + "filters=a"))}
		}, ErrInvalidCredentials},
		{"uppercase hex signature", func(t *testing.T, f *fixture) Credentials {
			raw, _ := base64.StdEncoding.DecodeString(sign(f.parent.Value, "filters=a"))
			up := strings.ToUpper(string(raw[:64])) + string(raw[64:])
			return Credentials{APIKey: base64.StdEncoding.EncodeToString([]byte(up))}
		}, ErrInvalidCredentials},
		{"deleted parent", func(t *testing.T, f *fixture) Credentials {
			k := sign(f.parent.Value, "filters=team%3A1")
			if err := f.store.Delete(f.parent.Value); err != nil {
				t.Fatal(err)
			}
			return Credentials{APIKey: k}
		}, ErrInvalidCredentials},
		{"deleted parent after the key was cached", func(t *testing.T, f *fixture) Credentials {
			k := sign(f.parent.Value, "filters=team%3A1")
			MustAuth(t, f.v, Credentials{APIKey: k})
			if err := f.store.Delete(f.parent.Value); err != nil {
				t.Fatal(err)
			}
			return Credentials{APIKey: k}
		}, ErrInvalidCredentials},
		{"deleted stored key", func(t *testing.T, f *fixture) Credentials {
			MustAuth(t, f.v, Credentials{APIKey: f.parent.Value})
			if err := f.store.Delete(f.parent.Value); err != nil {
				t.Fatal(err)
			}
			return Credentials{APIKey: f.parent.Value}
		}, ErrInvalidCredentials},
		{"parent without search", func(t *testing.T, f *fixture) Credentials {
			return Credentials{APIKey: sign(f.browser.Value, "filters=team%3A1")}
		}, ErrParentNotSearch},
		{"parent lost search after the key was cached", func(t *testing.T, f *fixture) Credentials {
			k := sign(f.parent.Value, "filters=team%3A1")
			MustAuth(t, f.v, Credentials{APIKey: k})
			if _, err := f.store.Update(f.parent.Value, KeySpec{ACL: []string{"browse"}}); err != nil {
				t.Fatal(err)
			}
			return Credentials{APIKey: k}
		}, ErrParentNotSearch},
		{"expired", func(t *testing.T, f *fixture) Credentials {
			return Credentials{APIKey: sign(f.parent.Value, until(-1))}
		}, ErrExpired},
		{"expired at the second", func(t *testing.T, f *fixture) Credentials {
			return Credentials{APIKey: sign(f.parent.Value, until(0))}
		}, ErrExpired},
		{"expired after the key was cached", func(t *testing.T, f *fixture) Credentials {
			k := sign(f.parent.Value, until(60))
			MustAuth(t, f.v, Credentials{APIKey: k})
			f.clock.Advance(61)
			return Credentials{APIKey: k}
		}, ErrExpired},
		{"parent validity over", func(t *testing.T, f *fixture) Credentials {
			p := MustCreate(t, f.store, "short-lived", KeySpec{ACL: []string{"search"}, Validity: 60})
			k := sign(p.Value, "")
			MustAuth(t, f.v, Credentials{APIKey: k})
			f.clock.Advance(60)
			return Credentials{APIKey: k}
		}, ErrExpired},
		{"stored key validity over", func(t *testing.T, f *fixture) Credentials {
			p := MustCreate(t, f.store, "short-lived", KeySpec{ACL: []string{"search"}, Validity: 60})
			MustAuth(t, f.v, Credentials{APIKey: p.Value})
			f.clock.Advance(61)
			return Credentials{APIKey: p.Value}
		}, ErrExpired},
		{"source outside CIDR", func(t *testing.T, f *fixture) Credentials {
			return Credentials{APIKey: sign(f.parent.Value, "restrictSources=10.0.0.0%2F8"), ClientIP: netip.MustParseAddr("192.168.1.1")}
		}, ErrSourceNotAllowed},
		{"source outside CIDR after the key was cached", func(t *testing.T, f *fixture) Credentials {
			k := sign(f.parent.Value, "restrictSources=10.0.0.0%2F8%3B192.0.2.1")
			MustAuth(t, f.v, Credentials{APIKey: k, ClientIP: netip.MustParseAddr("10.1.2.3")})
			MustAuth(t, f.v, Credentials{APIKey: k, ClientIP: netip.MustParseAddr("::ffff:192.0.2.1")})
			return Credentials{APIKey: k, ClientIP: netip.MustParseAddr("192.0.2.2")}
		}, ErrSourceNotAllowed},
		{"source unknown", func(t *testing.T, f *fixture) Credentials {
			return Credentials{APIKey: sign(f.parent.Value, "restrictSources=10.0.0.0%2F8")}
		}, ErrSourceNotAllowed},
		{"referer mismatch", func(t *testing.T, f *fixture) Credentials {
			return Credentials{APIKey: sign(f.parent.Value, "referers=https%3A%2F%2Fshop.example%2F*"), Referer: "https://evil.example/shop.example/"}
		}, ErrRefererNotAllowed},
		{"referer missing", func(t *testing.T, f *fixture) Credentials {
			return Credentials{APIKey: sign(f.parent.Value, "referers=*.example.com")}
		}, ErrRefererNotAllowed},
		{"referer of the parent", func(t *testing.T, f *fixture) Credentials {
			p := MustCreate(t, f.store, "ref-parent", KeySpec{ACL: []string{"search"}, Referers: []string{"https://a.example/*"}})
			return Credentials{APIKey: sign(p.Value, "referers=*"), Referer: "https://b.example/"}
		}, ErrRefererNotAllowed},
		{"filters do not parse", func(t *testing.T, f *fixture) Credentials {
			return Credentials{APIKey: sign(f.parent.Value, "filters=%28%28%28")}
		}, ErrInvalidRestrictions},
		{"filters do not parse, cached", func(t *testing.T, f *fixture) Credentials {
			k := sign(f.parent.Value, "filters=team%3A")
			if _, err := f.auth(Credentials{APIKey: k}); !errors.Is(err, ErrInvalidRestrictions) {
				t.Fatalf("first try: %v", err)
			}
			return Credentials{APIKey: k}
		}, ErrInvalidRestrictions},
		{"facetFilters do not parse", func(t *testing.T, f *fixture) Credentials {
			return Credentials{APIKey: sign(f.parent.Value, "facetFilters=%5B%22a%3Ab%22")}
		}, ErrInvalidRestrictions},
		{"numericFilters do not parse", func(t *testing.T, f *fixture) Credentials {
			return Credentials{APIKey: sign(f.parent.Value, "numericFilters=price%3E%3Dcheap")}
		}, ErrInvalidRestrictions},
		{"validUntil not a number", func(t *testing.T, f *fixture) Credentials {
			return Credentials{APIKey: sign(f.parent.Value, "validUntil=tomorrow")}
		}, ErrInvalidRestrictions},
		{"validUntil in milliseconds", func(t *testing.T, f *fixture) Credentials {
			return Credentials{APIKey: sign(f.parent.Value, "validUntil="+itoa((fixtureNow+60)*1000))}
		}, ErrInvalidRestrictions},
		{"restrictSources not an address", func(t *testing.T, f *fixture) Credentials {
			return Credentials{APIKey: sign(f.parent.Value, "restrictSources=localhost"), ClientIP: netip.MustParseAddr("127.0.0.1")}
		}, ErrInvalidRestrictions},
		{"restrictIndices empty", func(t *testing.T, f *fixture) Credentials {
			return Credentials{APIKey: sign(f.parent.Value, "restrictIndices=")}
		}, ErrInvalidRestrictions},
		{"restrictIndices bad JSON", func(t *testing.T, f *fixture) Credentials {
			return Credentials{APIKey: sign(f.parent.Value, "restrictIndices=%5B%22products%22")}
		}, ErrInvalidRestrictions},
		{"filters repeated", func(t *testing.T, f *fixture) Credentials {
			return Credentials{APIKey: sign(f.parent.Value, "filters=team%3A1&filters=team%3A2")}
		}, ErrInvalidRestrictions},
		{"bad escape", func(t *testing.T, f *fixture) Credentials {
			return Credentials{APIKey: sign(f.parent.Value, "filters=team%3")}
		}, ErrInvalidRestrictions},
		{"maxHitsPerQuery negative", func(t *testing.T, f *fixture) Credentials {
			return Credentials{APIKey: sign(f.parent.Value, "maxHitsPerQuery=-1")}
		}, ErrInvalidRestrictions},
		{"wrong app id", func(t *testing.T, f *fixture) Credentials {
			return Credentials{APIKey: f.parent.Value, AppID: "OTHER"}
		}, ErrInvalidCredentials},
		{"wrong app id with the admin key", func(t *testing.T, f *fixture) Credentials {
			return Credentials{APIKey: testAdminKey, AppID: "OTHER"}
		}, ErrInvalidCredentials},
		{"admin key as parent", func(t *testing.T, f *fixture) Credentials {
			return Credentials{APIKey: sign(testAdminKey, "filters=team%3A1")}
		}, ErrInvalidCredentials},
		{"admin key as parent, also stored", func(t *testing.T, f *fixture) Credentials {
			MustCreate(t, f.store, testAdminKey, KeySpec{ACL: []string{"search"}})
			return Credentials{APIKey: sign(testAdminKey, "filters=team%3A1")}
		}, ErrInvalidCredentials},
		{"secured key as parent", func(t *testing.T, f *fixture) Credentials {
			inner := sign(f.parent.Value, "filters=team%3A1")
			MustAuth(t, f.v, Credentials{APIKey: inner})
			return Credentials{APIKey: sign(inner, "filters=team%3A2")}
		}, ErrInvalidCredentials},
		{"too long", func(t *testing.T, f *fixture) Credentials {
			return Credentials{APIKey: sign(f.parent.Value, "x="+strings.Repeat("a", MaxSecuredKeyLength))}
		}, ErrInvalidCredentials},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			creds := tt.setup(t, f)
			if creds.AppID == "" {
				creds.AppID = "APPID"
			}
			p, err := f.auth(creds)
			if !errors.Is(err, tt.want) {
				t.Fatalf("err = %v (principal %+v), want %v", err, p, tt.want)
			}
			var re *RefusedError
			if !errors.As(err, &re) {
				t.Fatalf("err %T is not a *RefusedError", err)
			}
			if msg := err.Error(); strings.Contains(msg, f.parent.Value) || strings.Contains(msg, "team") ||
				(creds.APIKey != "" && strings.Contains(msg, creds.APIKey)) {
				t.Errorf("message %q leaks a key or a filter", msg)
			}
		})
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

func TestAuthenticateAccepts(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()

	t.Run("admin", func(t *testing.T) {
		p := MustAuth(t, f.v, Credentials{APIKey: testAdminKey, AppID: "APPID"})
		if p.Kind != KindAdmin || !p.Unrestricted() || p.ACL != ACLAll {
			t.Fatalf("principal = %+v", p)
		}
		if p2 := MustAuth(t, f.v, Credentials{APIKey: testAdminKey}); p2 == p {
			t.Fatal("same *Principal returned twice")
		}
	})
	t.Run("stored key", func(t *testing.T) {
		p := MustAuth(t, f.v, Credentials{APIKey: f.parent.Value})
		if p.Kind != KindAPIKey || p.KeyID != f.parent.ID || p.ACL != ACLSearch|ACLAddObject|ACLBrowse {
			t.Fatalf("principal = %+v", p)
		}
	})
	t.Run("secured key keeps only read rights", func(t *testing.T) {
		p := MustAuth(t, f.v, Credentials{APIKey: sign(f.parent.Value, "")})
		if p.ACL != ACLSearch|ACLBrowse {
			t.Fatalf("ACL = %v", p.ACL.Names())
		}
		if err := CheckACL(p, ACLAddObject); !errors.Is(err, ErrMethodNotAllowed) {
			t.Fatalf("CheckACL(addObject) = %v, want ErrMethodNotAllowed", err)
		}
		if err := CheckACL(p, ACLSearch); err != nil {
			t.Fatalf("CheckACL(search) = %v", err)
		}
	})
	t.Run("JS v4 undefined is absent", func(t *testing.T) {
		p := MustAuth(t, f.v, Credentials{APIKey: sign(f.parent.Value, "filters=team%3A1&validUntil=undefined&restrictIndices=undefined")})
		if !p.Restrictions.ValidUntil.IsZero() || p.Restrictions.IndexLayers != nil {
			t.Fatalf("restrictions = %+v", p.Restrictions)
		}
	})
	t.Run("every restriction", func(t *testing.T) {
		msg := "filters=brand%3Aacme+OR+brand%3Azeta&facetFilters=%5B%5B%22color%3Ared%22%2C%22color%3Ablue%22%5D%5D" +
			"&numericFilters=price%3E10&tagFilters=public&restrictSources=192.0.2.0%2F24%2C2001%3Adb8%3A%3A%2F32" +
			"&referers=https%3A%2F%2Fshop.example%2F*&userToken=user-42&hitsPerPage=5&maxHitsPerQuery=20" +
			"&attributesToRetrieve=title%2Cprice&typoTolerance=false&validUntil=" + itoa(fixtureNow+60)
		k := sign(f.parent.Value, msg)
		creds := Credentials{APIKey: k, ClientIP: netip.MustParseAddr("2001:db8::1"), Referer: "https://shop.example/cart"}
		p := MustAuth(t, f.v, creds)
		r := p.Restrictions
		and, ok := r.Filter.(filter.And)
		if !ok || len(and.Nodes) != 4 {
			t.Fatalf("Filter = %#v, want an And of 4 subtrees", r.Filter)
		}
		if want := (filter.Tag{Value: "public"}); !reflect.DeepEqual(and.Nodes[3], want) {
			t.Errorf("tagFilters subtree = %#v", and.Nodes[3])
		}
		if want := []url.Values{{"hitsPerPage": {"5"}, "typoTolerance": {"false"}}}; !reflect.DeepEqual(r.Params, want) {
			t.Errorf("Params = %v, want %v", r.Params, want)
		}
		if r.MaxHitsPerQuery != 20 || r.UserToken != "user-42" || !reflect.DeepEqual(r.AttributesToRetrieve, []string{"title", "price"}) {
			t.Errorf("restrictions = %+v", r)
		}
		if want := []netip.Prefix{netip.MustParsePrefix("192.0.2.0/24"), netip.MustParsePrefix("2001:db8::/32")}; !reflect.DeepEqual(r.Sources, want) {
			t.Errorf("Sources = %v", r.Sources)
		}
		if !reflect.DeepEqual(r.Referers, []string{"https://shop.example/*"}) {
			t.Errorf("Referers = %v", r.Referers)
		}
		// A caller that changes its principal does not change the next caller's.
		p.Restrictions.Params[0].Set("hitsPerPage", "1000")
		p.Restrictions.IndexLayers = append(p.Restrictions.IndexLayers, []string{"*"})
		p2 := MustAuth(t, f.v, creds)
		if got := p2.Restrictions.Params[0].Get("hitsPerPage"); got != "5" {
			t.Errorf("cached Params changed by a caller: hitsPerPage = %q", got)
		}
		if _, err := f.v.Authenticate(ctx, Credentials{APIKey: k, ClientIP: netip.MustParseAddr("198.51.100.1"), Referer: creds.Referer}); !errors.Is(err, ErrSourceNotAllowed) {
			t.Errorf("other source: %v", err)
		}
	})
	t.Run("restore brings derived keys back", func(t *testing.T) {
		g := newFixture(t)
		k := sign(g.parent.Value, "filters=team%3A1")
		if err := g.store.Delete(g.parent.Value); err != nil {
			t.Fatal(err)
		}
		if _, err := g.auth(Credentials{APIKey: k}); !errors.Is(err, ErrInvalidCredentials) {
			t.Fatalf("deleted parent: %v", err)
		}
		if _, err := g.store.Restore(g.parent.Value); err != nil {
			t.Fatal(err)
		}
		MustAuth(t, g.v, Credentials{APIKey: k}) // the negative verdict is void after the change
	})
	t.Run("update changes cached restrictions at once", func(t *testing.T) {
		g := newFixture(t)
		k := sign(g.parent.Value, "")
		if p := MustAuth(t, g.v, Credentials{APIKey: k}); p.Restrictions.Filter != nil {
			t.Fatalf("Filter = %#v", p.Restrictions.Filter)
		}
		if _, err := g.store.Update(g.parent.Value, KeySpec{ACL: []string{"search"}, QueryParameters: "filters=team%3A9"}); err != nil {
			t.Fatal(err)
		}
		p := MustAuth(t, g.v, Credentials{APIKey: k})
		if want := (filter.Facet{Attr: "team", Value: "9"}); !reflect.DeepEqual(p.Restrictions.Filter, want) {
			t.Fatalf("Filter = %#v, want %#v", p.Restrictions.Filter, want)
		}
	})
}

func TestRestrictionsOnlyNarrow(t *testing.T) {
	clock := newClock(fixtureNow)
	s := MustOpenStore(t, clock)
	parent := MustCreate(t, s, "narrow-parent", KeySpec{
		ACL:             []string{"search"},
		Indexes:         []string{"products"},
		MaxHitsPerQuery: 10,
		QueryParameters: "filters=team%3A1&attributesToRetrieve=title%2Cprice&hitsPerPage=3",
	})
	v := newTestVerifier(s, clock)
	msg := "restrictIndices=*&filters=user%3A2&maxHitsPerQuery=100&attributesToRetrieve=*%2Csecret&hitsPerPage=50"
	p := MustAuth(t, v, Credentials{APIKey: sign(parent.Value, msg)})
	r := p.Restrictions
	if !p.IndexAllowed("products") || p.IndexAllowed("other") {
		t.Errorf("IndexLayers = %q: want products only", r.IndexLayers)
	}
	if err := p.CheckIndex("other"); !errors.Is(err, ErrIndexNotAllowed) {
		t.Errorf("CheckIndex(other) = %v", err)
	}
	want := filter.And{Nodes: []filter.Node{filter.Facet{Attr: "team", Value: "1"}, filter.Facet{Attr: "user", Value: "2"}}}
	if !reflect.DeepEqual(r.Filter, want) {
		t.Errorf("Filter = %#v, want %#v", r.Filter, want)
	}
	if r.MaxHitsPerQuery != 10 {
		t.Errorf("MaxHitsPerQuery = %d, want 10", r.MaxHitsPerQuery)
	}
	if !reflect.DeepEqual(r.AttributesToRetrieve, []string{"title", "price"}) {
		t.Errorf("AttributesToRetrieve = %q", r.AttributesToRetrieve)
	}
	// Both layers' params, in order (the query layer applies them so that the later wins),
	// hitsPerPage capped by the smallest maxHitsPerQuery.
	if len(r.Params) != 2 || r.Params[0].Get("hitsPerPage") != "3" || r.Params[1].Get("hitsPerPage") != "10" {
		t.Errorf("Params = %v", r.Params)
	}
	// The stored key alone has its own layer.
	pk := MustAuth(t, v, Credentials{APIKey: parent.Value})
	if !reflect.DeepEqual(pk.Restrictions.Filter, filter.Node(filter.Facet{Attr: "team", Value: "1"})) || pk.IndexAllowed("other") {
		t.Errorf("stored key restrictions = %+v", pk.Restrictions)
	}
}

func TestSourcesIntersect(t *testing.T) {
	clock := newClock(fixtureNow)
	s := MustOpenStore(t, clock)
	parent := MustCreate(t, s, "src-parent", KeySpec{ACL: []string{"search"}, QueryParameters: "restrictSources=10.0.0.0%2F8"})
	v := newTestVerifier(s, clock)
	tests := []struct {
		msg, ip string
		want    error
	}{
		{"restrictSources=10.1.0.0%2F16", "10.1.2.3", nil},
		{"restrictSources=10.1.0.0%2F16", "10.2.0.1", ErrSourceNotAllowed},
		{"restrictSources=0.0.0.0%2F0", "10.2.0.1", nil},
		{"restrictSources=0.0.0.0%2F0", "192.0.2.1", ErrSourceNotAllowed},
		{"restrictSources=192.0.2.0%2F24", "192.0.2.1", ErrSourceNotAllowed},
		{"restrictSources=192.0.2.0%2F24", "10.0.0.1", ErrSourceNotAllowed},
	}
	for _, tt := range tests {
		_, err := v.Authenticate(context.Background(), Credentials{APIKey: sign(parent.Value, tt.msg), ClientIP: netip.MustParseAddr(tt.ip)})
		if !errors.Is(err, tt.want) {
			t.Errorf("%s from %s: err = %v, want %v", tt.msg, tt.ip, err, tt.want)
		}
	}
}

func TestGenerateSecuredAPIKey(t *testing.T) {
	got, err := GenerateSecuredAPIKey(vectorParent, SecuredRestrictions{
		Filters:         "team:123",
		ValidUntil:      time.Unix(vectorValidUntil, 0),
		RestrictIndices: []string{"products", "dev_*"},
	})
	if err != nil {
		t.Fatal(err)
	}
	if got != wireVectors[0].key {
		t.Fatalf("GenerateSecuredAPIKey = %s, want the JS v5 vector %s", got, wireVectors[0].key)
	}

	clock := newClock(fixtureNow)
	s := MustOpenStore(t, clock)
	parent := MustCreate(t, s, vectorParent, KeySpec{ACL: []string{"search"}})
	v := newTestVerifier(s, clock)
	key, err := GenerateSecuredAPIKey(parent.Value, SecuredRestrictions{
		Filters:         `brand:"Acme & Co" AND price > 5`,
		ValidUntil:      time.Unix(fixtureNow+3600, 0),
		RestrictIndices: []string{"products"},
		RestrictSources: "192.0.2.0/24;198.51.100.7",
		Referers:        []string{"https://shop.example/*"},
		UserToken:       "user 1/é",
		SearchParams:    url.Values{"hitsPerPage": {"7"}, "facetFilters": {"color:red"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	p := MustAuth(t, v, Credentials{APIKey: key, ClientIP: netip.MustParseAddr("198.51.100.7"), Referer: "https://shop.example/x"})
	r := p.Restrictions
	wantFilter := filter.And{Nodes: []filter.Node{
		mustParse(t, `brand:"Acme & Co" AND price > 5`),
		filter.Facet{Attr: "color", Value: "red"},
	}}
	if !reflect.DeepEqual(r.Filter, filter.Node(wantFilter)) {
		t.Errorf("Filter = %#v, want %#v", r.Filter, wantFilter)
	}
	if r.UserToken != "user 1/é" || !reflect.DeepEqual(r.IndexLayers, [][]string{{"products"}}) ||
		!r.ValidUntil.Equal(time.Unix(fixtureNow+3600, 0)) || len(r.Sources) != 2 ||
		!reflect.DeepEqual(r.Params, []url.Values{{"hitsPerPage": {"7"}}}) {
		t.Errorf("restrictions = %+v", r)
	}

	d, err := SecuredKeyRemainingValidity(key, time.Unix(fixtureNow, 0))
	if err != nil || d != time.Hour {
		t.Errorf("SecuredKeyRemainingValidity = %v, %v; want 1h", d, err)
	}
	for _, vec := range wireVectors {
		d, err := SecuredKeyRemainingValidity(vec.key, time.Unix(vectorValidUntil+10, 0))
		if err != nil || d != -10*time.Second {
			t.Errorf("%s: remaining = %v, %v; want -10s", vec.client, d, err)
		}
	}
	noExpiry, _ := GenerateSecuredAPIKey(parent.Value, SecuredRestrictions{Filters: "a:b"})
	if _, err := SecuredKeyRemainingValidity(noExpiry, time.Now()); !errors.Is(err, ErrNoValidUntil) {
		t.Errorf("no validUntil: %v", err)
	}
	if _, err := SecuredKeyRemainingValidity("%%%", time.Now()); !errors.Is(err, ErrInvalidCredentials) {
		t.Errorf("garbage: %v", err)
	}
	if _, err := GenerateSecuredAPIKey(parent.Value, SecuredRestrictions{SearchParams: url.Values{"filters": {"x:y"}}}); err == nil {
		t.Error("SearchParams filters: no error")
	}
	if _, err := GenerateSecuredAPIKey("", SecuredRestrictions{}); err == nil {
		t.Error("empty parent: no error")
	}
}

func mustParse(tb testing.TB, s string) filter.Node {
	tb.Helper()
	n, err := filter.Parse(s)
	if err != nil {
		tb.Fatal(err)
	}
	return n
}

func TestEncodeURIComponent(t *testing.T) {
	tests := []struct{ in, want string }{
		{"team:123", "team%3A123"},
		{"products,dev_*", "products%2Cdev_*"},
		{"a b+c", "a%20b%2Bc"},
		{"-_.!~*'()", "-_.!~*'()"},
		{"é", "%C3%A9"},
		{"a/b?c=d&e", "a%2Fb%3Fc%3Dd%26e"},
	}
	for _, tt := range tests {
		if got := encodeURIComponent(tt.in); got != tt.want {
			t.Errorf("encodeURIComponent(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestMACMatchesCryptoHMAC(t *testing.T) {
	m := newMACState()
	for _, key := range []string{"k", "parentKey123", strings.Repeat("x", 64), strings.Repeat("y", 65), strings.Repeat("z", 300)} {
		e := newEntry(Key{Value: key, ACL: []string{"search"}})
		for _, msg := range []string{"", "a", strings.Repeat("m", 55), strings.Repeat("m", 64), strings.Repeat("m", 1000)} {
			want := hmac.New(sha256.New, []byte(key))
			want.Write([]byte(msg))
			if got := m.mac(e, []byte(msg)); !hmac.Equal(got, want.Sum(nil)) {
				t.Errorf("mac(len key %d, len msg %d) differs from crypto/hmac", len(key), len(msg))
			}
		}
	}
}

func TestMatchGlob(t *testing.T) {
	tests := []struct {
		pat, s string
		want   bool
	}{
		{"https://a.example/*", "https://a.example/x/y", true},
		{"https://a.example/*", "https://b.example/", false},
		{"*.example.com", "https://shop.example.com", true},
		{"*.example.com", "https://shop.example.com.evil", false},
		{"*example.com*", "http://example.com/path", true},
		{"exact", "exact", true},
		{"exact", "exactly", false},
		{"*", "", true},
		{"a*b*c", "aXbYbZc", true},
		{"a*b*c", "aXbYbZ", false},
	}
	for _, tt := range tests {
		if got := matchGlob(tt.pat, tt.s); got != tt.want {
			t.Errorf("matchGlob(%q, %q) = %v", tt.pat, tt.s, got)
		}
	}
}

func TestRefusalsLogNoSecrets(t *testing.T) {
	var buf strings.Builder
	clock := newClock(fixtureNow)
	s := MustOpenStore(t, clock)
	parent := MustCreate(t, s, "log-parent-value", KeySpec{ACL: []string{"search"}})
	v := NewVerifier(VerifierOptions{
		AdminKey: testAdminKey, Store: s, Now: clock.Now,
		Logger: slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug})),
	})
	key := sign(parent.Value, "filters=secretattr%3A+AND")
	_, err := v.Authenticate(context.Background(), Credentials{APIKey: key})
	var re *RefusedError
	if !errors.As(err, &re) || !errors.Is(err, ErrInvalidRestrictions) || re.KeyID != parent.ID {
		t.Fatalf("err = %#v, want a *RefusedError for key %s wrapping ErrInvalidRestrictions", err, parent.ID)
	}
	if !strings.Contains(err.Error(), `"filters"`) {
		t.Errorf("message %q does not name the parameter", err)
	}
	logged := buf.String()
	if !strings.Contains(logged, parent.ID) {
		t.Errorf("log %q does not name the key id", logged)
	}
	for _, secret := range []string{parent.Value, key, "secretattr"} {
		if strings.Contains(logged, secret) || strings.Contains(err.Error(), secret) {
			t.Errorf("log or message holds a secret: %q", secret)
		}
	}
}
