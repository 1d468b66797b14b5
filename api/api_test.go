package api

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/keyhole-search/keyhole/auth"
	"github.com/keyhole-search/keyhole/index"
	"github.com/keyhole-search/keyhole/query"
	"github.com/keyhole-search/keyhole/ratelimit"
)

const adminKey = "test-admin-key"

type env struct {
	t    testing.TB
	srv  *httptest.Server
	s    *Server
	keys *auth.KeyStore
	now  time.Time
}

func newEnv(t testing.TB) *env {
	t.Helper()
	return newEnvWith(t, nil)
}

// newEnvWith is newEnv with Deps adjusted by tune (nil: none) before NewServer.
func newEnvWith(t testing.TB, tune func(*Deps)) *env {
	t.Helper()
	dir := t.TempDir()
	m, err := index.Open(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	ks, err := auth.OpenKeyStore(dir+"/keys.db", time.Now)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ks.Close() })
	e := &env{t: t, keys: ks, now: time.Now()}
	v := auth.NewVerifier(auth.VerifierOptions{AdminKey: adminKey, AppID: "APP", Store: ks, Now: func() time.Time { return e.now }})
	d := Deps{
		Indexes:        m,
		Search:         query.NewService(m),
		Auth:           v,
		Keys:           ks,
		Limiter:        ratelimit.New(ratelimit.Options{Now: func() time.Time { return e.now }}),
		MaxBodyBytes:   1 << 20,
		CORSOrigins:    []string{"*"},
		TrustedProxies: []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")},
	}
	if tune != nil {
		tune(&d)
	}
	e.s = NewServer(d)
	e.srv = httptest.NewServer(e.s)
	t.Cleanup(e.srv.Close)
	return e
}

// do sends a request with the given key (header) and returns status and decoded body.
func (e *env) do(method, path, key string, body any) (int, map[string]any) {
	e.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	default:
		raw, _ := json.Marshal(b)
		rd = bytes.NewReader(raw)
	}
	req, _ := http.NewRequest(method, e.srv.URL+path, rd)
	if key != "" {
		req.Header.Set("X-Algolia-API-Key", key)
		req.Header.Set("X-Algolia-Application-Id", "APP")
	}
	req.Header.Set("Content-Type", "text/plain")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	raw, _ := io.ReadAll(resp.Body)
	if len(raw) > 0 {
		if err := json.Unmarshal(raw, &out); err != nil {
			e.t.Fatalf("%s %s: non-JSON answer %q", method, path, raw)
		}
	}
	return resp.StatusCode, out
}

func (e *env) must(method, path, key string, body any) map[string]any {
	e.t.Helper()
	st, out := e.do(method, path, key, body)
	if st/100 != 2 {
		e.t.Fatalf("%s %s: %d %v", method, path, st, out)
	}
	return out
}

func (e *env) waitTask(index string, task any) {
	e.t.Helper()
	id := int64(task.(float64))
	for i := 0; i < 2000; i++ {
		out := e.must("GET", "/1/indexes/"+url.PathEscape(index)+"/task/"+itoa(id), adminKey, nil)
		if out["status"] == "published" {
			return
		}
		time.Sleep(5 * time.Millisecond)
	}
	e.t.Fatalf("task %d not published", id)
}

func (e *env) seed() {
	e.t.Helper()
	out := e.must("PUT", "/1/indexes/products/settings", adminKey, map[string]any{
		"searchableAttributes":  []string{"name", "brand"},
		"attributesForFaceting": []string{"team", "searchable(brand)", "price"},
	})
	e.waitTask("products", out["taskID"])
	var reqs []map[string]any
	for i, r := range []struct{ team, name, brand string }{
		{"a", "red kettle", "Acme"}, {"a", "blue kettle", "Zenith"}, {"b", "red knife", "Acme"},
		{"b", "green kettle", "Acme"}, {"c", "steel knife", "Zenith"},
	} {
		reqs = append(reqs, map[string]any{"action": "addObject", "body": map[string]any{
			"objectID": "o" + itoa(int64(i)), "team": r.team, "name": r.name, "brand": r.brand, "price": 10 * (i + 1),
		}})
	}
	out = e.must("POST", "/1/indexes/products/batch", adminKey, map[string]any{"requests": reqs})
	e.waitTask("products", out["taskID"])
}

func TestHealthNeedsNoKey(t *testing.T) {
	e := newEnv(t)
	if st, out := e.do("GET", "/health", "", nil); st != 200 || out["status"] != "ok" {
		t.Fatalf("health: %d %v", st, out)
	}
}

func TestCredentialsRequired(t *testing.T) {
	e := newEnv(t)
	for _, key := range []string{"", "wrong-key"} {
		st, out := e.do("GET", "/1/indexes", key, nil)
		if st != 403 || out["message"] != "Invalid Application-ID or API key" || out["status"] != float64(403) {
			t.Fatalf("key %q: %d %v", key, st, out)
		}
	}
	// Credentials in the query string, as browser builds send them.
	resp, err := http.Get(e.srv.URL + "/1/indexes?x-algolia-api-key=" + adminKey + "&x-algolia-application-id=APP")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("query-string credentials: %d", resp.StatusCode)
	}
	// Another application id is refused.
	req, _ := http.NewRequest("GET", e.srv.URL+"/1/indexes", nil)
	req.Header.Set("X-Algolia-API-Key", adminKey)
	req.Header.Set("X-Algolia-Application-Id", "OTHER")
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 403 {
		t.Fatalf("other app id: %d", resp.StatusCode)
	}
}

func TestWriteReadSearchRoutes(t *testing.T) {
	e := newEnv(t)
	e.seed()
	// add with generated id, put, partial, get
	out := e.must("POST", "/1/indexes/products", adminKey, map[string]any{"name": "new pot", "team": "a"})
	newID, _ := out["objectID"].(string)
	if newID == "" || out["taskID"] == nil {
		t.Fatalf("add object: %v", out)
	}
	e.must("PUT", "/1/indexes/products/x1", adminKey, map[string]any{"name": "x", "team": "c", "n": 1})
	e.must("POST", "/1/indexes/products/x1/partial", adminKey, map[string]any{"n": map[string]any{"_operation": "Increment", "value": 2}})
	obj := e.must("GET", "/1/indexes/products/x1", adminKey, nil)
	if obj["n"] != float64(3) || obj["name"] != "x" || obj["objectID"] != "x1" {
		t.Fatalf("get after partial: %v", obj)
	}
	obj = e.must("GET", "/1/indexes/products/x1?attributesToRetrieve=name", adminKey, nil)
	if _, has := obj["n"]; has || obj["name"] != "x" {
		t.Fatalf("attributesToRetrieve: %v", obj)
	}
	// search, v5 fields and v4 params string, GET form
	res := e.must("POST", "/1/indexes/products/query", adminKey, map[string]any{"query": "kettle", "filters": "team:a", "facets": []string{"brand"}})
	if res["nbHits"] != float64(2) || res["nbPages"] == nil || res["hits"] == nil {
		t.Fatalf("search: %v", res)
	}
	res = e.must("POST", "/1/indexes/products/query", adminKey, map[string]any{"params": "query=kettle&facetFilters=%5B%22team%3Ab%22%5D"})
	if res["nbHits"] != float64(1) {
		t.Fatalf("v4 params: %v", res)
	}
	res = e.must("GET", "/1/indexes/products?query=knife", adminKey, nil)
	if res["nbHits"] != float64(2) {
		t.Fatalf("GET search: %v", res)
	}
	// multi-query in request order, with a facet entry
	mq := e.must("POST", "/1/indexes/*/queries", adminKey, map[string]any{"requests": []any{
		map[string]any{"indexName": "products", "params": "query=knife"},
		map[string]any{"indexName": "products", "query": "kettle", "hitsPerPage": 1},
		map[string]any{"indexName": "products", "type": "facet", "facet": "brand", "facetQuery": "ze"},
	}})
	results := mq["results"].([]any)
	if len(results) != 3 || results[0].(map[string]any)["nbHits"] != float64(2) || results[1].(map[string]any)["nbHits"] != float64(3) {
		t.Fatalf("multi-query: %v", mq)
	}
	if fh := results[2].(map[string]any)["facetHits"].([]any); len(fh) != 1 {
		t.Fatalf("facet entry: %v", results[2])
	}
	// facet search route
	fs := e.must("POST", "/1/indexes/products/facets/brand/query", adminKey, map[string]any{"facetQuery": "ac"})
	if fh := fs["facetHits"].([]any); len(fh) != 1 || fh[0].(map[string]any)["count"] != float64(3) {
		t.Fatalf("facet search: %v", fs)
	}
	// getObjects: a missing one is null
	objs := e.must("POST", "/1/indexes/*/objects", adminKey, map[string]any{"requests": []any{
		map[string]any{"indexName": "products", "objectID": "o1"},
		map[string]any{"indexName": "products", "objectID": "nope"},
	}})
	if r := objs["results"].([]any); len(r) != 2 || r[1] != nil || r[0].(map[string]any)["objectID"] != "o1" {
		t.Fatalf("getObjects: %v", objs)
	}
	// browse
	br := e.must("POST", "/1/indexes/products/browse", adminKey, map[string]any{"hitsPerPage": 3})
	n := len(br["hits"].([]any))
	for br["cursor"] != nil {
		br = e.must("POST", "/1/indexes/products/browse", adminKey, map[string]any{"cursor": br["cursor"]})
		n += len(br["hits"].([]any))
	}
	if n != 7 {
		t.Fatalf("browse walked %d records, want 7", n)
	}
	// deleteByQuery, delete object, clear, list, delete index
	e.waitTask("products", e.must("POST", "/1/indexes/products/deleteByQuery", adminKey, map[string]any{"filters": "team:c"})["taskID"])
	e.must("DELETE", "/1/indexes/products/o0", adminKey, nil)
	res = e.must("POST", "/1/indexes/products/query", adminKey, map[string]any{})
	if res["nbHits"] != float64(4) {
		t.Fatalf("after deletes: %v", res["nbHits"])
	}
	list := e.must("GET", "/1/indexes", adminKey, nil)
	items := list["items"].([]any)
	if len(items) != 1 || items[0].(map[string]any)["entries"] != float64(4) {
		t.Fatalf("list: %v", list)
	}
	e.must("POST", "/1/indexes/products/clear", adminKey, nil)
	e.must("DELETE", "/1/indexes/products", adminKey, nil)
	if st, _ := e.do("POST", "/1/indexes/products/query", adminKey, map[string]any{}); st != 404 {
		t.Fatalf("search on deleted index: %d", st)
	}
}

func TestBadInput(t *testing.T) {
	e := newEnv(t)
	e.seed()
	cases := []struct {
		method, path string
		body         any
		status       int
		msg          string
	}{
		{"POST", "/1/indexes/products/query", `{"query": `, 400, "malformed JSON"},
		{"POST", "/1/indexes/products/query", map[string]any{"filters": "team:a AND"}, 400, "column"},
		{"POST", "/1/indexes/products/query", map[string]any{"filters": "name:x"}, 400, "attributesForFaceting"},
		{"POST", "/1/indexes/products/query", map[string]any{"hitsPerPage": "many"}, 400, "hitsPerPage"},
		{"POST", "/1/indexes/products/query", map[string]any{"hitsPerPage": 5000}, 400, "hitsPerPage"},
		{"POST", "/1/indexes/products/query", map[string]any{"page": -1}, 400, "page"},
		{"POST", "/1/indexes/nope/query", map[string]any{}, 404, "does not exist"},
		{"POST", "/1/indexes/products/batch", map[string]any{"requests": []any{map[string]any{"action": "explode"}}}, 400, "unknown action"},
		{"POST", "/1/indexes/products", `[1,2]`, 400, "JSON"},
		{"PUT", "/1/indexes/products/settings", map[string]any{"hitsPerPage": "x"}, 400, "hitsPerPage"},
		{"GET", "/1/indexes/products/task/abc", nil, 400, "taskID"},
		{"GET", "/1/nothing/here", nil, 404, ""},
		{"POST", "/1/indexes/products/facets/team/query", map[string]any{"facetQuery": "a"}, 400, "searchable(team)"},
	}
	for _, c := range cases {
		st, out := e.do(c.method, c.path, adminKey, c.body)
		msg, _ := out["message"].(string)
		if st != c.status || !strings.Contains(msg, c.msg) || out["status"] != float64(c.status) {
			t.Errorf("%s %s %v: got %d %q, want %d containing %q", c.method, c.path, c.body, st, msg, c.status, c.msg)
		}
	}
	// Oversized body.
	big := `{"query":"` + strings.Repeat("a", 2<<20) + `"}`
	if st, _ := e.do("POST", "/1/indexes/products/query", adminKey, big); st != 413 {
		t.Errorf("oversized body: %d", st)
	}
}

func TestCORS(t *testing.T) {
	e := newEnv(t)
	req, _ := http.NewRequest("OPTIONS", e.srv.URL+"/1/indexes/*/queries", nil)
	req.Header.Set("Origin", "https://shop.example")
	req.Header.Set("Access-Control-Request-Headers", "x-algolia-api-key")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode/100 != 2 || resp.Header.Get("Access-Control-Allow-Origin") != "*" {
		t.Fatalf("preflight: %d %v", resp.StatusCode, resp.Header)
	}
}

func TestSearchKeyACLAndRestrictions(t *testing.T) {
	e := newEnv(t)
	e.seed()
	created := e.must("POST", "/1/keys", adminKey, map[string]any{"acl": []string{"search"}, "indexes": []string{"products"}, "description": "search only"})
	key := created["key"].(string)
	// A search key can search but not write, change settings, or list keys.
	if st, _ := e.do("POST", "/1/indexes/products/query", key, map[string]any{}); st != 200 {
		t.Fatalf("search key search: %d", st)
	}
	for _, c := range []struct{ m, p string }{
		{"POST", "/1/indexes/products"}, {"PUT", "/1/indexes/products/settings"}, {"GET", "/1/keys"},
		{"DELETE", "/1/indexes/products"}, {"POST", "/1/indexes/products/browse"},
	} {
		st, out := e.do(c.m, c.p, key, map[string]any{"a": 1})
		if st != 403 || out["message"] != "Method not allowed with this API key" {
			t.Errorf("%s %s with a search key: %d %v", c.m, c.p, st, out)
		}
	}
	if st, out := e.do("POST", "/1/indexes/other/query", key, map[string]any{}); st != 403 || out["message"] != "Index not allowed with this API key" {
		t.Errorf("other index: %d %v", st, out)
	}
	// A secured key derived from it: restricted to team b on every read path.
	sk, err := auth.GenerateSecuredAPIKey(key, auth.SecuredRestrictions{Filters: "team:b", ValidUntil: time.Now().Add(time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	res := e.must("POST", "/1/indexes/products/query", sk, map[string]any{"filters": "team:a OR team:b OR team:c", "facets": []string{"team"}})
	if res["nbHits"] != float64(2) {
		t.Fatalf("secured key search: %v", res)
	}
	if f := res["facets"].(map[string]any)["team"].(map[string]any); len(f) != 1 || f["b"] != float64(2) {
		t.Fatalf("secured key facets: %v", f)
	}
	mq := e.must("POST", "/1/indexes/*/queries", sk, map[string]any{"requests": []any{
		map[string]any{"indexName": "products", "params": "filters=team%3Aa"},
		map[string]any{"indexName": "products", "type": "facet", "facet": "brand", "facetQuery": ""},
	}})
	r0 := mq["results"].([]any)[0].(map[string]any)
	if r0["nbHits"] != float64(0) {
		t.Fatalf("multi-query sub-request escaped the key's filter: %v", r0)
	}
	var total float64
	for _, h := range mq["results"].([]any)[1].(map[string]any)["facetHits"].([]any) {
		total += h.(map[string]any)["count"].(float64)
	}
	if total != 2 {
		t.Fatalf("facet search counted %v records, want 2", total)
	}
	if st, _ := e.do("GET", "/1/indexes/products/o0", sk, nil); st != 404 {
		t.Fatalf("getObject of another team's record: %d", st)
	}
	if st, _ := e.do("GET", "/1/indexes/products/o2", sk, nil); st != 200 {
		t.Fatalf("getObject of own record: %d", st)
	}
	if st, _ := e.do("POST", "/1/indexes/products", sk, map[string]any{"x": 1}); st != 403 {
		t.Fatalf("write with a secured key: %d", st)
	}
	// Expired.
	e.now = time.Now().Add(2 * time.Hour)
	if st, out := e.do("POST", "/1/indexes/products/query", sk, map[string]any{}); st != 400 || !strings.Contains(out["message"].(string), "validUntil") {
		t.Fatalf("expired secured key: %d %v", st, out)
	}
	e.now = time.Now()
	// Deleting the parent kills the derived key at once.
	e.must("DELETE", "/1/keys/"+key, adminKey, nil)
	if st, _ := e.do("POST", "/1/indexes/products/query", sk, map[string]any{}); st != 403 {
		t.Fatalf("secured key after parent deletion: %d", st)
	}
	if st, _ := e.do("POST", "/1/indexes/products/query", key, map[string]any{}); st != 403 {
		t.Fatalf("deleted key: %d", st)
	}
	e.must("POST", "/1/keys/"+key+"/restore", adminKey, nil)
	if st, _ := e.do("POST", "/1/indexes/products/query", key, map[string]any{}); st != 200 {
		t.Fatalf("restored key: %d", st)
	}
}

func TestSettingsKeysAndMultiBatchRoutes(t *testing.T) {
	e := newEnv(t)
	e.seed()
	st := e.must("GET", "/1/indexes/products/settings", adminKey, nil)
	if st["hitsPerPage"] != float64(20) || len(st["attributesForFaceting"].([]any)) != 3 {
		t.Fatalf("settings: %v", st)
	}
	e.waitTask("products", e.must("PUT", "/1/indexes/products/settings", adminKey, map[string]any{"hitsPerPage": 2})["taskID"])
	if res := e.must("POST", "/1/indexes/products/query", adminKey, map[string]any{}); res["hitsPerPage"] != float64(2) || len(res["hits"].([]any)) != 2 {
		t.Fatalf("hitsPerPage setting not applied: %v", res)
	}
	// Cross-index batch: one task per index.
	out := e.must("POST", "/1/indexes/*/batch", adminKey, map[string]any{"requests": []any{
		map[string]any{"action": "addObject", "indexName": "a", "body": map[string]any{"objectID": "1", "x": "y"}},
		map[string]any{"action": "addObject", "indexName": "b", "body": map[string]any{"objectID": "2", "x": "z"}},
	}})
	tasks := out["taskID"].(map[string]any)
	if len(tasks) != 2 || len(out["objectIDs"].([]any)) != 2 {
		t.Fatalf("multi batch: %v", out)
	}
	e.waitTask("a", tasks["a"])
	if obj := e.must("GET", "/1/indexes/b/2", adminKey, nil); obj["x"] != "z" {
		t.Fatalf("multi batch write: %v", obj)
	}
	// Browse by GET.
	if br := e.must("GET", "/1/indexes/a/browse", adminKey, nil); len(br["hits"].([]any)) != 1 {
		t.Fatalf("GET browse: %v", br)
	}
	// Keys: get, update, list; a key restricted to index a sees only a in the listing.
	created := e.must("POST", "/1/keys", adminKey, map[string]any{"acl": []string{"search", "listIndexes"}, "indexes": []string{"a"}})
	key := created["key"].(string)
	got := e.must("GET", "/1/keys/"+key, adminKey, nil)
	if got["value"] != key || got["id"] == "" {
		t.Fatalf("get key: %v", got)
	}
	list := e.must("GET", "/1/indexes", key, nil)
	if items := list["items"].([]any); len(items) != 1 || items[0].(map[string]any)["name"] != "a" {
		t.Fatalf("listing with a key for index a: %v", list)
	}
	e.must("PUT", "/1/keys/"+key, adminKey, map[string]any{"acl": []string{"search", "listIndexes"}, "indexes": []string{"b"}})
	list = e.must("GET", "/1/indexes", key, nil)
	if items := list["items"].([]any); len(items) != 1 || items[0].(map[string]any)["name"] != "b" {
		t.Fatalf("listing after key update: %v", list)
	}
	keys := e.must("GET", "/1/keys", adminKey, nil)
	if len(keys["keys"].([]any)) != 1 {
		t.Fatalf("list keys: %v", keys)
	}
	if st, _ := e.do("GET", "/1/keys/nope", adminKey, nil); st != 404 {
		t.Fatalf("missing key: %d", st)
	}
	if st, _ := e.do("POST", "/1/keys", adminKey, map[string]any{"acl": []string{"fly"}}); st != 400 {
		t.Fatalf("bad ACL: %d", st)
	}
}

func TestRestrictSourcesAndForwardedFor(t *testing.T) {
	e := newEnv(t)
	e.seed()
	key := e.must("POST", "/1/keys", adminKey, map[string]any{"acl": []string{"search"}})["key"].(string)
	sk, err := auth.GenerateSecuredAPIKey(key, auth.SecuredRestrictions{RestrictSources: "192.0.2.0/24"})
	if err != nil {
		t.Fatal(err)
	}
	send := func(xff string) int {
		req, _ := http.NewRequest("POST", e.srv.URL+"/1/indexes/products/query", strings.NewReader("{}"))
		req.Header.Set("X-Algolia-API-Key", sk)
		if xff != "" {
			req.Header.Set("X-Forwarded-For", xff)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	// The test client is 127.0.0.1, a trusted proxy in this env: its X-Forwarded-For counts.
	if st := send(""); st != 403 {
		t.Fatalf("from 127.0.0.1: %d", st)
	}
	if st := send("192.0.2.7"); st != 200 {
		t.Fatalf("forwarded for an allowed address: %d", st)
	}
	// A client cannot smuggle an allowed address in front of its real one.
	if st := send("192.0.2.7, 198.51.100.1"); st != 403 {
		t.Fatalf("spoofed chain: %d", st)
	}
}
