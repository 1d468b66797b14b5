package api

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/keyhole-search/keyhole/auth"
	"github.com/keyhole-search/keyhole/query"
	"github.com/keyhole-search/keyhole/query/filter"
)

// raw sends body as is (no JSON encoding) with the admin key unless headers set another, and
// returns the status, the decoded message and the headers.
func (e *env) raw(method, path string, headers map[string]string, body []byte) (int, string, http.Header) {
	e.t.Helper()
	req, _ := http.NewRequest(method, e.srv.URL+path, bytes.NewReader(body))
	req.Header.Set("X-Algolia-API-Key", adminKey)
	req.Header.Set("X-Algolia-Application-Id", "APP")
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var out struct {
		Message string `json:"message"`
	}
	_ = json.Unmarshal(b, &out)
	return resp.StatusCode, out.Message, resp.Header
}

func jsonBody(v any) []byte {
	b, _ := json.Marshal(v)
	return b
}

func repeat(n int, f func(i int) any) []any {
	out := make([]any, n)
	for i := range out {
		out[i] = f(i)
	}
	return out
}

// TestRequestLimits checks that every limit answers a 4xx whose message names the limit and
// the value, through the HTTP API.
func TestRequestLimits(t *testing.T) {
	e := newEnv(t)
	e.seed()
	addOp := func(i int) any {
		return map[string]any{"action": "addObject", "body": map[string]any{"objectID": fmt.Sprint(i)}}
	}
	or := func(n int) string {
		parts := make([]string, n)
		for i := range parts {
			parts[i] = fmt.Sprintf("team:t%d", i)
		}
		return strings.Join(parts, " OR ")
	}
	attrs := repeat(query.MaxAttributes+1, func(i int) any { return fmt.Sprintf("a%d", i) })
	cases := []struct {
		name         string
		method, path string
		headers      map[string]string
		body         []byte
		status       int
		msg          string
	}{
		{"batch size", "POST", "/1/indexes/products/batch", nil,
			jsonBody(map[string]any{"requests": repeat(MaxBatchOperations+1, addOp)}), 400, "batch of 10001 operations, more than MaxBatchOperations (10000)"},
		{"multi-index batch size", "POST", "/1/indexes/*/batch", nil,
			jsonBody(map[string]any{"requests": repeat(MaxBatchOperations+1, func(i int) any {
				return map[string]any{"action": "deleteObject", "indexName": "products", "body": map[string]any{"objectID": fmt.Sprint(i)}}
			})}), 400, "more than MaxBatchOperations (10000)"},
		{"multi-query size", "POST", "/1/indexes/*/queries", nil,
			jsonBody(map[string]any{"requests": repeat(MaxMultiQueries+1, func(int) any { return map[string]any{"indexName": "products"} })}), 400, "multi-query of 101 requests, more than MaxMultiQueries (100)"},
		{"objects size", "POST", "/1/indexes/*/objects", nil,
			jsonBody(map[string]any{"requests": repeat(MaxGetObjects+1, func(int) any { return map[string]any{"indexName": "products", "objectID": "o1"} })}), 400, "1001 objects requested, more than MaxGetObjects (1000)"},
		{"query bytes", "POST", "/1/indexes/products/query", nil,
			jsonBody(map[string]any{"query": strings.Repeat("x", 513)}), 400, "query: 513 bytes, more than MaxQueryBytes (512 bytes)"},
		{"query words", "POST", "/1/indexes/products/query", nil,
			jsonBody(map[string]any{"query": strings.Repeat("a ", 33)}), 400, "33 words, more than MaxQueryWords (32)"},
		{"query bytes in GET", "GET", "/1/indexes/products?query=" + strings.Repeat("x", 513), nil, nil, 400, "more than MaxQueryBytes"},
		{"facetQuery bytes", "POST", "/1/indexes/products/facets/brand/query", nil,
			jsonBody(map[string]any{"facetQuery": strings.Repeat("x", 257)}), 400, "257 bytes, more than MaxFacetQueryBytes (256 bytes)"},
		{"facets", "POST", "/1/indexes/products/query", nil,
			jsonBody(map[string]any{"facets": repeat(101, func(i int) any { return fmt.Sprint(i) })}), 400, "facets: 101 entries, more than MaxFacets (100)"},
		{"attributesToRetrieve", "POST", "/1/indexes/products/query", nil,
			jsonBody(map[string]any{"attributesToRetrieve": attrs}), 400, "attributesToRetrieve: 101 entries, more than MaxAttributes (100)"},
		{"attributesToHighlight", "POST", "/1/indexes/*/queries", nil,
			jsonBody(map[string]any{"requests": []any{map[string]any{"indexName": "products", "attributesToHighlight": attrs}}}), 400, "attributesToHighlight: 101 entries"},
		{"restrictSearchableAttributes", "POST", "/1/indexes/products/query", nil,
			jsonBody(map[string]any{"restrictSearchableAttributes": attrs}), 400, "restrictSearchableAttributes: 101 entries"},
		{"control character in attribute", "GET", "/1/indexes/products/o1?attributesToRetrieve=name,te%01am", nil, nil, 400, "control character (U+0001)"},
		{"page beyond paginationLimitedTo", "POST", "/1/indexes/products/query", nil,
			jsonBody(map[string]any{"page": 10, "hitsPerPage": 100}), 400, "page 10 × hitsPerPage 100 = 1000 is beyond paginationLimitedTo (1000)"},
		{"offset beyond paginationLimitedTo", "GET", "/1/indexes/products?offset=5000&length=10", nil, nil, 400, "offset 5000 is beyond paginationLimitedTo (1000)"},
		{"invalid UTF-8 in body", "POST", "/1/indexes/products/query", nil, []byte("{\"query\": \"caf\xe9\"}"), 400, "invalid UTF-8 in query"},
		{"invalid UTF-8 nested", "POST", "/1/indexes/*/queries", nil,
			[]byte("{\"requests\": [{\"indexName\": \"products\"}, {\"indexName\": \"products\", \"filters\": \"team:\xff\"}]}"), 400, "invalid UTF-8 in requests[1].filters"},
		{"invalid UTF-8 in record", "POST", "/1/indexes/products", nil, []byte("{\"name\": \"\xc3\"}"), 400, "invalid UTF-8 in name"},
		{"invalid UTF-8 in query string", "GET", "/1/indexes/products?query=caf%E9", nil, nil, 400, "invalid UTF-8 in query"},
		{"invalid UTF-8 in params string", "POST", "/1/indexes/products/query", nil,
			jsonBody(map[string]any{"params": "query=caf%E9"}), 400, "invalid UTF-8 in query"},
		{"float out of range", "POST", "/1/indexes/products/query", nil, []byte(`{"hitsPerPage": 1e400}`), 400, "hitsPerPage: must be between 0 and 1000, got 1e400"},
		{"negative fraction", "POST", "/1/indexes/products/query", nil, []byte(`{"page": -0.5}`), 400, "page: expected an integer, got -0.5"},
		{"filter too long", "POST", "/1/indexes/products/query", nil,
			jsonBody(map[string]any{"filters": strings.Repeat("team:a OR ", filter.MaxFilterLength/10+1) + "team:a"}), 400, "MaxFilterLength"},
		{"filter too deep", "POST", "/1/indexes/products/query", nil,
			jsonBody(map[string]any{"filters": strings.Repeat("NOT ", filter.MaxDepth+1) + "team:a"}), 400, "MaxDepth"},
		{"filter with too many conditions", "POST", "/1/indexes/products/query", nil,
			jsonBody(map[string]any{"filters": or(query.MaxFilterLeaves + 1)}), 400, "1001 conditions"},
		{"API key too long", "GET", "/1/indexes", map[string]string{"X-Algolia-API-Key": strings.Repeat("k", MaxAPIKeyLength+1)}, nil,
			400, "API key too long: 1025 bytes, more than MaxAPIKeyLength (1024 bytes)"},
		{"token too long", "GET", "/1/indexes/products/o1", map[string]string{"Authorization": "Bearer " + strings.Repeat("t", auth.MaxTokenLength+1)}, nil,
			401, "token too long"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			st, msg, _ := e.raw(c.method, c.path, c.headers, c.body)
			if st != c.status || !strings.Contains(msg, c.msg) {
				t.Fatalf("got %d %q, want %d containing %q", st, msg, c.status, c.msg)
			}
		})
	}
}

// TestInvalidIndexNames checks that a name no index can have is a 400 naming the rule on
// every route that takes an index, reads included.
func TestInvalidIndexNames(t *testing.T) {
	e := newEnv(t)
	e.seed()
	names := map[string]string{
		"a%2Fb":  "must not contain '/'",
		"%2E%2E": `must not be ".."`,
		"%2A":    "must not contain '*'",
		"a%FFb":  "valid UTF-8",
		"a%01b":  "control characters",
	}
	routes := []struct{ method, suffix, body string }{
		{"GET", "", ""},
		{"POST", "/query", "{}"},
		{"POST", "/browse", "{}"},
		{"GET", "/settings", ""},
		{"GET", "/o1", ""},
		{"POST", "/facets/brand/query", "{}"},
		{"GET", "/task/1", ""},
		{"DELETE", "", ""},
		{"POST", "/clear", ""},
	}
	for name, rule := range names {
		for _, rt := range routes {
			path := "/1/indexes/" + name + rt.suffix
			st, msg, _ := e.raw(rt.method, path, nil, []byte(rt.body))
			if st != 400 || !strings.Contains(msg, rule) {
				t.Errorf("%s %s: got %d %q, want 400 containing %q", rt.method, path, st, msg, rule)
			}
		}
	}
	// In a body: multi-query and getObjects entries.
	for _, c := range []struct{ path, body string }{
		{"/1/indexes/*/queries", `{"requests": [{"indexName": "a/b"}]}`},
		{"/1/indexes/*/objects", `{"requests": [{"indexName": "..", "objectID": "o1"}]}`},
	} {
		if st, msg, _ := e.raw("POST", c.path, nil, []byte(c.body)); st != 400 || !strings.Contains(msg, "requests[0]: index name") {
			t.Errorf("%s: got %d %q", c.path, st, msg)
		}
	}
	// A valid name that does not exist is still a 404.
	if st, _, _ := e.raw("POST", "/1/indexes/nope/query", nil, []byte("{}")); st != 404 {
		t.Errorf("missing index: %d", st)
	}
}

// TestSearchConcurrencyLimit holds the only search slot with a blocked search: the next read
// waits SearchQueueWait, then answers 503 with Retry-After; once the slot is free, reads run.
func TestSearchConcurrencyLimit(t *testing.T) {
	entered := make(chan struct{})
	release := make(chan struct{})
	var once sync.Once
	e := newEnvWith(t, func(d *Deps) {
		d.MaxConcurrentSearches = 1
		d.SearchQueueWait = 5 * time.Millisecond
	})
	e.seed()
	e.s.searchHook = func(r *http.Request) {
		if r.URL.Query().Get("query") == "block" {
			once.Do(func() { close(entered) })
			<-release
		}
	}
	done := make(chan int)
	go func() {
		resp, err := http.Get(e.srv.URL + "/1/indexes/products?query=block&x-algolia-api-key=" + adminKey + "&x-algolia-application-id=APP")
		if err != nil {
			done <- 0
			return
		}
		resp.Body.Close()
		done <- resp.StatusCode
	}()
	<-entered
	for _, c := range []struct{ method, path, body string }{
		{"POST", "/1/indexes/products/query", "{}"},
		{"POST", "/1/indexes/*/queries", `{"requests": [{"indexName": "products"}]}`},
		{"POST", "/1/indexes/products/browse", "{}"},
		{"GET", "/1/indexes/products/o1", ""},
	} {
		st, msg, h := e.raw(c.method, c.path, nil, []byte(c.body))
		if st != 503 || h.Get("Retry-After") != "1" || !strings.Contains(msg, "Too many concurrent searches (MaxConcurrentSearches is 1)") {
			t.Errorf("%s %s with the slot held: %d %q Retry-After %q", c.method, c.path, st, msg, h.Get("Retry-After"))
		}
	}
	// Writes do not take a search slot.
	if st, msg, _ := e.raw("PUT", "/1/indexes/products/z1", nil, []byte(`{"name": "z"}`)); st != 200 {
		t.Errorf("write with the slot held: %d %q", st, msg)
	}
	close(release)
	if st := <-done; st != 200 {
		t.Fatalf("blocked search: %d", st)
	}
	if st, msg, _ := e.raw("POST", "/1/indexes/products/query", nil, []byte("{}")); st != 200 {
		t.Fatalf("after release: %d %q", st, msg)
	}
}

// TestSearchTimeout lets the search deadline pass before the search runs (the hook waits for
// it): the answer is a 503 with Retry-After naming the timeout.
func TestSearchTimeout(t *testing.T) {
	e := newEnvWith(t, func(d *Deps) { d.SearchTimeout = 20 * time.Millisecond })
	e.seed()
	e.s.searchHook = func(r *http.Request) { <-r.Context().Done() }
	for _, c := range []struct{ method, path, body string }{
		{"POST", "/1/indexes/products/query", "{}"},
		{"POST", "/1/indexes/*/queries", `{"requests": [{"indexName": "products"}]}`},
		{"POST", "/1/indexes/products/facets/brand/query", "{}"},
		{"POST", "/1/indexes/*/objects", `{"requests": [{"indexName": "products", "objectID": "o1"}]}`},
	} {
		st, msg, h := e.raw(c.method, c.path, nil, []byte(c.body))
		if st != 503 || h.Get("Retry-After") != "1" || !strings.Contains(msg, "longer than the 20ms search timeout") {
			t.Errorf("%s %s: %d %q Retry-After %q", c.method, c.path, st, msg, h.Get("Retry-After"))
		}
	}
}

// TestReadyDuringShutdown drives the Server directly: once SetClosing is called, /ready
// answers 503 while /health stays 200 (the process is alive, draining).
func TestReadyDuringShutdown(t *testing.T) {
	s := NewServer(Deps{Ready: func() bool { return true }})
	get := func(path string) int {
		rec := httptest.NewRecorder()
		s.ServeHTTP(rec, httptest.NewRequest("GET", path, nil))
		return rec.Code
	}
	if h, r := get("/health"), get("/ready"); h != 200 || r != 200 {
		t.Fatalf("serving: health %d ready %d", h, r)
	}
	s.SetClosing()
	if h, r := get("/health"), get("/ready"); h != 200 || r != 503 {
		t.Fatalf("closing: health %d ready %d, want 200 and 503", h, r)
	}
}

// TestMetrics scrapes /metrics after a few requests: the series exist with route templates
// (never raw paths) and verdict labels, and no credential appears in the output.
func TestMetrics(t *testing.T) {
	e := newEnv(t)
	e.seed()
	limited := e.must("POST", "/1/keys", adminKey, map[string]any{"acl": []string{"search"}, "maxQueriesPerIPPerHour": 1})["key"].(string)
	e.must("POST", "/1/indexes/products/query", adminKey, map[string]any{"query": "kettle"})
	e.must("GET", "/1/indexes/products/o1", adminKey, nil)
	if st, _ := e.do("POST", "/1/indexes/products/query", limited, map[string]any{}); st != 200 {
		t.Fatalf("limited key, first query: %d", st)
	}
	if st, _ := e.do("POST", "/1/indexes/products/query", limited, map[string]any{}); st != 429 {
		t.Fatalf("limited key, second query: %d", st)
	}
	const wrongKey = "wrong-key-value-0123456789"
	if st, _ := e.do("POST", "/1/indexes/products/query", wrongKey, map[string]any{}); st != 403 {
		t.Fatalf("wrong key: %d", st)
	}
	e.do("GET", "/1/no/such/route", adminKey, nil)
	e.s.searchHook = func(r *http.Request) { <-r.Context().Done() }
	timeout := e.s.SearchTimeout
	e.s.SearchTimeout = 5 * time.Millisecond
	if st, _, _ := e.raw("POST", "/1/indexes/products/query", nil, []byte("{}")); st != 503 {
		t.Fatalf("timed-out search: %d", st)
	}
	// Restore both: later searches must not have to finish in 5 ms (a loaded CI machine).
	e.s.searchHook, e.s.SearchTimeout = nil, timeout

	// Only the admin key may scrape.
	searchKey := e.must("POST", "/1/keys", adminKey, map[string]any{"acl": []string{"search", "listIndexes"}})["key"].(string)
	for _, key := range []string{"", searchKey} {
		if st, _, _ := e.raw("GET", "/metrics", map[string]string{"X-Algolia-API-Key": key}, nil); st != 403 {
			t.Fatalf("/metrics with key %q: %d, want 403", key[:min(len(key), 4)], st)
		}
	}
	// A secured key seen twice: one verdict verified afresh, one from the cache.
	sk, err := auth.GenerateSecuredAPIKey(searchKey, auth.SecuredRestrictions{Filters: "team:a"})
	if err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if st, _ := e.do("POST", "/1/indexes/products/query", sk, map[string]any{}); st != 200 {
			t.Fatalf("secured key search: %d", st)
		}
	}
	req, _ := http.NewRequest("GET", e.srv.URL+"/metrics", nil)
	req.Header.Set("X-Algolia-API-Key", adminKey)
	req.Header.Set("X-Algolia-Application-Id", "APP")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	out := string(b)
	if resp.StatusCode != 200 {
		t.Fatalf("/metrics: %d %s", resp.StatusCode, out)
	}
	for _, want := range []string{
		`keyhole_http_requests_total{method="POST",route="/1/indexes/{index}/query",status="200"}`,
		`keyhole_http_requests_total{method="POST",route="/1/indexes/{index}/query",status="429"}`,
		`keyhole_http_requests_total{method="POST",route="/1/indexes/{index}/query",status="503"}`,
		`keyhole_http_requests_total{method="GET",route="/1/indexes/{index}/{objectID}",status="200"}`,
		`keyhole_http_requests_total{method="GET",route="unmatched",status="404"}`,
		`keyhole_http_request_duration_seconds_bucket{method="POST",route="/1/indexes/{index}/query",le="0.1"}`,
		`keyhole_auth_verdicts_total{verdict="ok:admin"}`,
		`keyhole_auth_verdicts_total{verdict="ok:apiKey"}`,
		`keyhole_auth_verdicts_total{verdict="refused:ErrInvalidCredentials"}`,
		`keyhole_rate_limit_refusals_total{limit="key"} 1`,
		`keyhole_unavailable_total{cause="search_timeout"} 1`,
		`keyhole_searches_in_flight 0`,
		`keyhole_search_slots `,
		`keyhole_indexes 1`,
		`keyhole_index_records{index="products"} 5`,
		`keyhole_index_data_bytes{index="products"}`,
		`keyhole_index_file_bytes{index="products"}`,
		`keyhole_task_queue_depth{index="products"} 0`,
		`keyhole_credential_cache_hits_total 1`,
		`keyhole_credential_cache_misses_total 2`, // the secured key's first sight and wrongKey
		`go_goroutines`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	for _, secret := range []string{adminKey, limited, searchKey, wrongKey, "kettle", `route="/1/indexes/products`, "/o1"} {
		if strings.Contains(out, secret) {
			t.Errorf("/metrics holds %q", secret)
		}
	}
}
