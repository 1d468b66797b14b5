package demo

import (
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/keyhole-search/keyhole/api"
	"github.com/keyhole-search/keyhole/auth"
	"github.com/keyhole-search/keyhole/index"
	"github.com/keyhole-search/keyhole/query"
)

// loaded is a demo loaded into a fresh data dir and served by the real API with the demo
// handler mounted.
type loaded struct {
	setup *Setup
	keys  *auth.KeyStore
	srv   *httptest.Server
}

func mustLoad(t *testing.T, dir string, assets []Asset) *loaded {
	t.Helper()
	m, err := index.Open(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	ks, err := auth.OpenKeyStore(filepath.Join(dir, "keys.db"), time.Now)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ks.Close() })
	s, err := Load(t.Context(), m, ks, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	v := auth.NewVerifier(auth.VerifierOptions{AdminKey: "demo-test-admin", Store: ks, Now: time.Now})
	srv := httptest.NewServer(api.NewServer(api.Deps{Indexes: m, Search: query.NewService(m), Auth: v, Keys: ks, Demo: Handler(s, assets)}))
	t.Cleanup(srv.Close)
	return &loaded{setup: s, keys: ks, srv: srv}
}

func (l *loaded) get(t *testing.T, path string) (*http.Response, string) {
	t.Helper()
	resp, err := http.Get(l.srv.URL + path)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

// search runs a crafted query (asking for every team) with credential and returns the hits.
func (l *loaded) search(t *testing.T, credential, q string) []map[string]any {
	t.Helper()
	body, _ := json.Marshal(map[string]any{"query": q, "filters": "team:acme OR team:globex OR team:initech", "hitsPerPage": 1000})
	req, _ := http.NewRequest("POST", l.srv.URL+"/1/indexes/"+IndexName+"/query", strings.NewReader(string(body)))
	req.Header.Set("X-Algolia-API-Key", credential)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out struct {
		Hits []map[string]any `json:"hits"`
	}
	if resp.StatusCode != 200 {
		t.Fatalf("search: %d", resp.StatusCode)
	}
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		t.Fatal(err)
	}
	return out.Hits
}

func countBy(recs []map[string]any, attr string) map[string]int {
	out := map[string]int{}
	for _, r := range recs {
		out[r[attr].(string)]++
	}
	return out
}

func TestSampleData(t *testing.T) {
	recs, err := Records()
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) < 150 || len(recs) > 300 {
		t.Fatalf("%d records, want 150 to 300", len(recs))
	}
	ids := map[string]bool{}
	for _, r := range recs {
		for _, attr := range []string{"objectID", "name", "description", "brand", "category", "team", "owner"} {
			if s, _ := r[attr].(string); s == "" {
				t.Fatalf("record %v: no %s", r["objectID"], attr)
			}
		}
		if _, ok := r["price"].(float64); !ok {
			t.Fatalf("record %v: price %v is not a number", r["objectID"], r["price"])
		}
		id := r["objectID"].(string)
		if ids[id] {
			t.Fatalf("objectID %s twice", id)
		}
		ids[id] = true
	}
	teams := countBy(recs, "team")
	for _, tn := range tenants {
		if teams[tn.Team] == 0 {
			t.Errorf("no records for tenant team %s", tn.Team)
		}
	}
	if countBy(recs, "owner")[tokenUser.Subject] == 0 {
		t.Errorf("no records owned by %s", tokenUser.Subject)
	}
}

// TestLoadKeysSeeOnlyTheirTenant: each secured key sees exactly its team's records, the
// token exactly its owner's, through the real API and whatever the request asks for.
func TestLoadKeysSeeOnlyTheirTenant(t *testing.T) {
	dir := t.TempDir()
	l := mustLoad(t, dir, nil)
	recs, _ := Records()
	teams, owners := countBy(recs, "team"), countBy(recs, "owner")
	if len(l.setup.Tenants) != 2 || l.setup.Tenants[0].Team == l.setup.Tenants[1].Team {
		t.Fatalf("tenants: %+v", l.setup.Tenants)
	}
	for _, tn := range l.setup.Tenants {
		hits := l.search(t, tn.SecuredKey, "")
		got := countBy(hits, "team")
		if len(got) != 1 || got[tn.Team] != teams[tn.Team] {
			t.Errorf("%s: hits by team %v, want %d of %s only", tn.ID, got, teams[tn.Team], tn.Team)
		}
		// The key's restrictions, read as the page does.
		raw, err := base64.StdEncoding.DecodeString(tn.SecuredKey)
		if err != nil || len(raw) < 64 {
			t.Fatalf("%s: not a secured key", tn.ID)
		}
		r, err := url.ParseQuery(string(raw[64:]))
		if err != nil || r.Get("filters") != "team:"+tn.Team || r.Get("restrictIndices") != IndexName || r.Get("validUntil") == "" {
			t.Errorf("%s: restrictions %v (%v)", tn.ID, r, err)
		}
		left, err := auth.SecuredKeyRemainingValidity(tn.SecuredKey, time.Now())
		if err != nil || left <= KeyValidity-time.Minute || left > KeyValidity {
			t.Errorf("%s: valid for %v (%v), want %v", tn.ID, left, err, KeyValidity)
		}
	}
	hits := l.search(t, l.setup.User.Token, "")
	if got := countBy(hits, "owner"); len(got) != 1 || got[tokenUser.Subject] != owners[tokenUser.Subject] {
		t.Errorf("user token: hits by owner %v, want %d of %s", got, owners[tokenUser.Subject], tokenUser.Subject)
	}
	// The parent is search-only: it cannot write.
	parent, ok := l.keys.ByID(l.setup.SearchKeyID)
	if !ok || len(parent.ACL) != 1 || parent.ACL[0] != "search" {
		t.Errorf("search key: %+v", parent)
	}
}

func TestHandler(t *testing.T) {
	nm := t.TempDir()
	for _, b := range Builds[:2] {
		f := filepath.Join(nm, b.Package, filepath.FromSlash(b.Path))
		if err := os.MkdirAll(filepath.Dir(f), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(f, []byte("/* "+b.Name+" */"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(nm, "secret.txt"), []byte("no"), 0o644); err != nil {
		t.Fatal(err)
	}
	l := mustLoad(t, t.TempDir(), FindAssets(nm))

	resp, page := l.get(t, "/demo")
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") {
		t.Fatalf("GET /demo: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	for _, want := range []string{`id="tenant-a"`, `id="tenant-b"`, `id="user"`, `src="/demo/assets/algoliasearch-lite.umd.js"`,
		`src="/demo/assets/instantsearch.production.min.js"`, CDN + "instantsearch.css@", "/demo/app.js", "Demo mode"} {
		if !strings.Contains(page, want) {
			t.Errorf("page lacks %q", want)
		}
	}
	resp, body := l.get(t, "/demo/config.json")
	var cfg Setup
	if resp.StatusCode != 200 || json.Unmarshal([]byte(body), &cfg) != nil || len(cfg.Tenants) != 2 || cfg.User.Token == "" {
		t.Fatalf("config: %d %s", resp.StatusCode, body)
	}
	if resp.Header.Get("Cache-Control") != "no-store" {
		t.Errorf("config cache: %q", resp.Header.Get("Cache-Control"))
	}
	if resp, body := l.get(t, "/demo/assets/algoliasearch-lite.umd.js"); resp.StatusCode != 200 || body != "/* algoliasearch-lite.umd.js */" {
		t.Errorf("local build: %d %q", resp.StatusCode, body)
	}
	for _, p := range []string{"/demo/assets/satellite-min.css", "/demo/assets/secret.txt", "/demo/assets/../secret.txt",
		"/demo/assets/algoliasearch/package.json", "/demo/web/index.html", "/demo/nope"} {
		if resp, _ := l.get(t, p); resp.StatusCode != 404 {
			t.Errorf("GET %s: %d, want 404", p, resp.StatusCode)
		}
	}
	for _, p := range []string{"/demo/app.js", "/demo/demo.css"} {
		if resp, _ := l.get(t, p); resp.StatusCode != 200 {
			t.Errorf("GET %s: %d", p, resp.StatusCode)
		}
	}
}

func TestFindAssets(t *testing.T) {
	if got := AssetsDir("flag", "env"); got != "flag" {
		t.Errorf("flag: %s", got)
	}
	if got := AssetsDir("", "env"); got != "env" {
		t.Errorf("env: %s", got)
	}
	if got := AssetsDir("", ""); got != DefaultAssetsDir {
		t.Errorf("default: %s", got)
	}
	for _, a := range FindAssets(t.TempDir()) {
		want := CDN + a.Package + "@" + a.Version + "/" + a.Path
		if a.Local() || a.URL != want {
			t.Errorf("%s: %q, want %q", a.Name, a.URL, want)
		}
	}
	nm := t.TempDir()
	b := Builds[1]
	f := filepath.Join(nm, b.Package, filepath.FromSlash(b.Path))
	_ = os.MkdirAll(filepath.Dir(f), 0o755)
	_ = os.WriteFile(f, nil, 0o644)
	_ = os.WriteFile(filepath.Join(nm, b.Package, "package.json"), []byte(`{"version":"4.99.0"}`), 0o644)
	for _, a := range FindAssets(nm) {
		if local := a.Name == b.Name; a.Local() != local || (local && (a.URL != "/demo/assets/"+b.Name || a.LocalVersion != "4.99.0")) {
			t.Errorf("%s: local %v, %q, version %q", a.Name, a.Local(), a.URL, a.LocalVersion)
		}
	}
}
