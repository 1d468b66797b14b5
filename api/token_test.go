package api

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/keyhole-search/keyhole/auth"
)

// wire.md §5: AddSearch's test token, secret my-addsearch-secret-key, iat 1700000000, exp +60.
const addsearchToken = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJwdWJsaWNfa2V5IjoiMWJlZDFmZmRlNDY1ZmRkYmEyYTUzYWQzY2U2OWU2YzIiLCJleHAiOjE3MDAwMDAwNjAsImlhdCI6MTcwMDAwMDAwMCwianRpIjoiMTIzNCJ9.GBx1RWRez4WxCkxOTHv2lAFUqjpmZrNAONoxAi5OtwE"

const sitekey = "1bed1ffde465fddba2a53ad3ce69e6c2"

func (e *env) get(path string, header map[string]string) (int, map[string]any, http.Header) {
	e.t.Helper()
	req, _ := http.NewRequest("GET", e.srv.URL+path, nil)
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var out map[string]any
	_ = json.Unmarshal(raw, &out)
	return resp.StatusCode, out, resp.Header
}

// seedUsers loads notes owned by two users into an index whose userAttribute is owner.
func (e *env) seedUsers() {
	e.t.Helper()
	e.waitTask("notes", e.must("PUT", "/1/indexes/notes/settings", adminKey, map[string]any{
		"searchableAttributes": []string{"title", "body"}, "attributesForFaceting": []string{"owner", "searchable(genre)", "price"},
		"userAttribute": "owner",
	})["taskID"])
	reqs := []any{}
	for i, r := range []struct{ owner, title, genre string }{
		{"u1", "rock concert notes", "rock"}, {"u1", "pop playlist", "pop"}, {"u2", "rock climbing log", "rock"},
		{`weird "user" OR owner:u1`, "quoted owner", "jazz"},
	} {
		reqs = append(reqs, map[string]any{"action": "addObject", "body": map[string]any{
			"objectID": "n" + itoa(int64(i)), "owner": r.owner, "title": r.title, "genre": r.genre, "price": 10 * (i + 1), "url": "https://x/" + itoa(int64(i)),
		}})
	}
	e.waitTask("notes", e.must("POST", "/1/indexes/notes/batch", adminKey, map[string]any{"requests": reqs})["taskID"])
}

func TestUserTokensScopeEveryReadPath(t *testing.T) {
	e := newEnv(t)
	e.seedUsers()
	key, err := e.keys.Create(auth.KeySpec{ACL: []string{"search", "browse"}})
	if err != nil {
		t.Fatal(err)
	}
	tok, err := auth.GenerateToken(key, auth.TokenClaims{Subject: "u1"}, 10*time.Minute, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	// The token in each place a client may put it.
	for name, send := range map[string]func(*http.Request){
		"bearer":      func(r *http.Request) { r.Header.Set("Authorization", "Bearer "+tok) },
		"secure-user": func(r *http.Request) { r.Header.Set("X-Algolia-Secure-User-Token", tok) },
		"jwt param":   func(r *http.Request) { r.URL.RawQuery = "jwt=" + url.QueryEscape(tok) },
		"api key":     func(r *http.Request) { r.Header.Set("X-Algolia-API-Key", tok) },
	} {
		req, _ := http.NewRequest("POST", e.srv.URL+"/1/indexes/notes/query", strings.NewReader(`{"filters":"owner:u2 OR owner:u1","facets":["owner"]}`))
		send(req)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var out map[string]any
		json.NewDecoder(resp.Body).Decode(&out)
		resp.Body.Close()
		if resp.StatusCode != 200 || out["nbHits"] != float64(2) {
			t.Fatalf("%s: %d %v", name, resp.StatusCode, out)
		}
		if f := out["facets"].(map[string]any)["owner"].(map[string]any); len(f) != 1 || f["u1"] != float64(2) {
			t.Fatalf("%s: facets %v", name, f)
		}
	}
	h := map[string]string{"Authorization": "Bearer " + tok}
	if st, _, _ := e.get("/1/indexes/notes/n2", h); st != 404 {
		t.Fatalf("another user's record: %d", st)
	}
	if st, _, _ := e.get("/1/indexes/notes/n0", h); st != 200 {
		t.Fatalf("own record: %d", st)
	}
	// A sub with quotes, OR and spaces stays one literal value.
	tricky, _ := auth.GenerateToken(key, auth.TokenClaims{Subject: `weird "user" OR owner:u1`}, time.Minute, time.Now())
	req, _ := http.NewRequest("POST", e.srv.URL+"/1/indexes/notes/browse", strings.NewReader(`{}`))
	req.Header.Set("Authorization", "Bearer "+tricky)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var br map[string]any
	json.NewDecoder(resp.Body).Decode(&br)
	resp.Body.Close()
	if hits := br["hits"].([]any); len(hits) != 1 || hits[0].(map[string]any)["objectID"] != "n3" {
		t.Fatalf("tricky sub browse: %v", br)
	}
	// An index without userAttribute refuses user tokens.
	e.must("PUT", "/1/indexes/open/x", adminKey, map[string]any{"a": "b"})
	req, _ = http.NewRequest("POST", e.srv.URL+"/1/indexes/open/query", strings.NewReader(`{}`))
	req.Header.Set("Authorization", "Bearer "+tok)
	resp, _ = http.DefaultClient.Do(req)
	resp.Body.Close()
	if resp.StatusCode != 403 {
		t.Fatalf("user token on an index without userAttribute: %d", resp.StatusCode)
	}
	// Revoking the user's tokens takes effect at once.
	e.must("POST", "/1/tokens/revoke", adminKey, map[string]any{"sub": "u1", "before": time.Now().Add(time.Second).Unix()})
	st, out, _ := e.get("/1/indexes/notes/n0", h)
	if st != 401 || !strings.Contains(out["message"].(string), "revoked") {
		t.Fatalf("revoked token: %d %v", st, out)
	}
	// A token can't write.
	tok2, _ := auth.GenerateToken(key, auth.TokenClaims{Subject: "u2"}, time.Minute, time.Now())
	req, _ = http.NewRequest("POST", e.srv.URL+"/1/indexes/notes", strings.NewReader(`{"owner":"u2"}`))
	req.Header.Set("Authorization", "Bearer "+tok2)
	resp, _ = http.DefaultClient.Do(req)
	resp.Body.Close()
	if resp.StatusCode != 403 {
		t.Fatalf("token write: %d", resp.StatusCode)
	}
}

func TestAddSearchEndpoint(t *testing.T) {
	e := newEnv(t)
	e.seedUsers()
	key, err := e.keys.CreateWithValue("my-addsearch-secret-key", auth.KeySpec{ACL: []string{"search"}})
	if err != nil {
		t.Fatal(err)
	}
	e.waitTask("notes", e.must("PUT", "/1/indexes/notes/settings", adminKey, map[string]any{
		"publicKey": sitekey, "jwtKeyId": key.ID, "requireJwt": true, "userAttribute": nil,
	})["taskID"])
	e.now = time.Unix(1700000030, 0)
	st, out, _ := e.get("/v1/search/"+sitekey+"?term=rock&jwt="+addsearchToken+"&page=1&limit=10&sort=relevance&order=desc&facet=genre", nil)
	if st != 200 || out["total_hits"] != float64(2) || out["page"] != float64(1) {
		t.Fatalf("addsearch search: %d %v", st, out)
	}
	hits := out["hits"].([]any)
	h0 := hits[0].(map[string]any)
	for _, k := range []string{"id", "url", "title", "highlight", "meta_description", "custom_fields", "score", "ts", "categories", "document_type"} {
		if _, ok := h0[k]; !ok {
			t.Fatalf("hit lacks %s: %v", k, h0)
		}
	}
	if f := out["facets"].(map[string]any)["genre"].([]any); len(f) != 1 || f[0].(map[string]any)["value"] != "rock" {
		t.Fatalf("facets: %v", out["facets"])
	}
	// customField ORs within a name; the filter JSON.
	st, out, _ = e.get("/v1/search/"+sitekey+"?term=*&jwt="+addsearchToken+"&customField=genre%3Dpop&customField=genre%3Djazz", nil)
	if st != 200 || out["total_hits"] != float64(2) {
		t.Fatalf("customField: %d %v", st, out)
	}
	f := url.QueryEscape(`{"and":[{"custom_fields.genre":"rock"},{"range":{"custom_fields.price":{"gt":10}}}]}`)
	st, out, _ = e.get("/v1/search/"+sitekey+"?term=*&jwt="+addsearchToken+"&filter="+f+"&sort=price&order=asc", nil)
	if st != 200 || out["total_hits"] != float64(1) {
		t.Fatalf("filter JSON: %d %v", st, out)
	}
	// Expired, missing, wrong sitekey.
	e.now = time.Unix(1700000200, 0)
	st, out, _ = e.get("/v1/search/"+sitekey+"?term=rock&jwt="+addsearchToken, nil)
	if st != 401 || !strings.Contains(out["message"].(string), "expired") {
		t.Fatalf("expired token: %d %v", st, out)
	}
	if st, out, _ = e.get("/v1/search/"+sitekey+"?term=rock", nil); st != 401 {
		t.Fatalf("no token on a requireJwt index: %d %v", st, out)
	}
	if st, _, _ = e.get("/v1/search/nope?term=rock", nil); st != 404 {
		t.Fatalf("unknown sitekey: %d", st)
	}
}

func TestRateLimits(t *testing.T) {
	e := newEnv(t)
	e.seedUsers()
	limited := e.must("POST", "/1/keys", adminKey, map[string]any{"acl": []string{"search"}, "maxQueriesPerIPPerHour": 3})["key"].(string)
	for i := 0; i < 3; i++ {
		if st, _ := e.do("POST", "/1/indexes/notes/query", limited, map[string]any{}); st != 200 {
			t.Fatalf("query %d: %d", i, st)
		}
	}
	req, _ := http.NewRequest("POST", e.srv.URL+"/1/indexes/notes/query", strings.NewReader("{}"))
	req.Header.Set("X-Algolia-API-Key", limited)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 429 || resp.Header.Get("Retry-After") == "" {
		t.Fatalf("4th query: %d retry-after %q", resp.StatusCode, resp.Header.Get("Retry-After"))
	}
	// Another user token has its own budget.
	req, _ = http.NewRequest("POST", e.srv.URL+"/1/indexes/notes/query", strings.NewReader("{}"))
	req.Header.Set("X-Algolia-API-Key", limited)
	req.Header.Set("X-Algolia-UserToken", "someone-else")
	resp, _ = http.DefaultClient.Do(req)
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("other user token: %d", resp.StatusCode)
	}
	// A token's rateLimit claim.
	key, _ := e.keys.Create(auth.KeySpec{ACL: []string{"search"}})
	tok, _ := auth.GenerateToken(key, auth.TokenClaims{Subject: "u1", RateLimit: 2}, time.Minute, time.Now())
	codes := []int{}
	for i := 0; i < 3; i++ {
		st, _, _ := e.get("/1/indexes/notes/n0", map[string]string{"Authorization": "Bearer " + tok})
		codes = append(codes, st)
	}
	if codes[0] != 200 || codes[1] != 200 || codes[2] != 429 {
		t.Fatalf("rateLimit claim: %v", codes)
	}
}

func TestRefusedCredentialsAreThrottledPerAddress(t *testing.T) {
	e := newEnv(t)
	e.seed()
	good := e.must("POST", "/1/keys", adminKey, map[string]any{"acl": []string{"search"}})["key"].(string)
	// 60 forged secured keys a minute are checked; the 61st is refused before any HMAC.
	for i := 0; i < 60; i++ {
		forged, _ := auth.GenerateSecuredAPIKey("not-a-stored-key", auth.SecuredRestrictions{UserToken: itoa(int64(i))})
		if st, _ := e.do("POST", "/1/indexes/products/query", forged, map[string]any{}); st != 403 {
			t.Fatalf("forged key %d: %d", i, st)
		}
	}
	req, _ := http.NewRequest("POST", e.srv.URL+"/1/indexes/products/query", strings.NewReader("{}"))
	req.Header.Set("X-Algolia-API-Key", good)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 429 || resp.Header.Get("Retry-After") == "" {
		t.Fatalf("after 60 refusals: %d (Retry-After %q), want 429", resp.StatusCode, resp.Header.Get("Retry-After"))
	}
	// The bucket refills with time (the env's clock drives the limiter).
	e.now = e.now.Add(2 * time.Second)
	if st, _ := e.do("POST", "/1/indexes/products/query", good, map[string]any{}); st != 200 {
		t.Fatalf("after refill: %d", st)
	}
}
