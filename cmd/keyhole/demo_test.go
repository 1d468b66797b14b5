package main

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/keyhole-search/keyhole/demo"
)

// getBody fetches url and returns the status and the body.
func getBody(t *testing.T, u string) (int, string) {
	t.Helper()
	resp, err := http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(b)
}

// browse reads every hit a credential can see in the demo index, sending it as the browser
// builds do (query string), and returns the hits' teams and owners.
func searchAll(t *testing.T, base, credential string) (nbHits int, teams, owners map[string]int) {
	t.Helper()
	q := url.Values{"x-algolia-api-key": {credential}, "x-algolia-application-id": {"keyhole"}}
	u := base + "/1/indexes/" + demo.IndexName + "/query?" + q.Encode()
	// A crafted request: asks for every team, and the hits' team and owner.
	body := `{"query":"","filters":"team:acme OR team:globex OR team:initech","hitsPerPage":1000,"facets":["team"]}`
	resp, err := http.Post(u, "text/plain", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out struct {
		NbHits int              `json:"nbHits"`
		Hits   []map[string]any `json:"hits"`
	}
	if resp.StatusCode != 200 {
		b, _ := io.ReadAll(resp.Body)
		t.Fatalf("search: %d %s", resp.StatusCode, b)
	}
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		t.Fatal(err)
	}
	teams, owners = map[string]int{}, map[string]int{}
	for _, h := range out.Hits {
		teams[h["team"].(string)]++
		owners[h["owner"].(string)]++
	}
	if len(out.Hits) != out.NbHits {
		t.Fatalf("got %d hits of %d", len(out.Hits), out.NbHits)
	}
	return out.NbHits, teams, owners
}

// TestDemo runs `keyhole demo` as a user would and checks what the page relies on: the URL
// it prints, the page, the config with two secured keys and a token, and that each tenant's
// key sees exactly its team's records through the real API.
func TestDemo(t *testing.T) {
	dir := t.TempDir()
	noAssets := t.TempDir() // an empty node_modules: the page falls back to the CDN
	base, out, stop := startCommand(t, "demo", "--listen", "127.0.0.1:0", "--data-dir", dir, "--assets", noAssets)

	m := regexp.MustCompile(`keyhole demo: open (http://127\.0\.0\.1:(\d+)/demo)\n`).FindStringSubmatch(out.String())
	if m == nil || m[2] == "0" || m[1] != base+"/demo" {
		t.Fatalf("no demo URL with the real port (base %s) in:\n%s", base, out.String())
	}
	if !strings.Contains(out.String(), "demo keys") && !strings.Contains(out.String(), "Demo keys") {
		t.Errorf("the output does not say its keys are demo keys:\n%s", out.String())
	}

	st, html := getBody(t, base+"/demo")
	if st != 200 {
		t.Fatalf("GET /demo: %d", st)
	}
	for _, want := range []string{`id="tenant-a"`, `id="tenant-b"`, `id="user"`, "/demo/app.js",
		demo.CDN + "instantsearch.js@4.", demo.CDN + "algoliasearch@5.64.0/dist/lite/builds/browser.umd.js"} {
		if !strings.Contains(html, want) {
			t.Errorf("page lacks %q", want)
		}
	}

	st, raw := getBody(t, base+"/demo/config.json")
	if st != 200 {
		t.Fatalf("GET /demo/config.json: %d", st)
	}
	var cfg demo.Setup
	if err := json.Unmarshal([]byte(raw), &cfg); err != nil {
		t.Fatal(err)
	}
	if len(cfg.Tenants) != 2 || cfg.User.Token == "" || cfg.AppID != "keyhole" || cfg.IndexName != demo.IndexName {
		t.Fatalf("config: %+v", cfg)
	}

	recs, err := demo.Records()
	if err != nil {
		t.Fatal(err)
	}
	byTeam, byOwner := map[string]int{}, map[string]int{}
	for _, r := range recs {
		byTeam[r["team"].(string)]++
		byOwner[r["owner"].(string)]++
	}
	seen := map[string]bool{}
	for _, tn := range cfg.Tenants {
		if !strings.Contains(out.String(), tn.SecuredKey) {
			t.Errorf("%s: the terminal does not show the page's key", tn.ID)
		}
		n, teams, _ := searchAll(t, base, tn.SecuredKey)
		if len(teams) != 1 || teams[tn.Team] != byTeam[tn.Team] || n != byTeam[tn.Team] || n == 0 {
			t.Errorf("%s (team %s): %d hits by team %v, want only %d of %s", tn.ID, tn.Team, n, teams, byTeam[tn.Team], tn.Team)
		}
		if seen[tn.Team] {
			t.Errorf("two panes on team %s", tn.Team)
		}
		seen[tn.Team] = true
	}
	n, teams, owners := searchAll(t, base, cfg.User.Token)
	if len(owners) != 1 || owners[cfg.User.Subject] != byOwner[cfg.User.Subject] || n == 0 || len(teams) != 1 {
		t.Errorf("user token (sub %s): %d hits by owner %v, want %d", cfg.User.Subject, n, owners, byOwner[cfg.User.Subject])
	}

	// The page is public; the API is not: no credential, no search.
	resp, err := http.Post(base+"/1/indexes/"+demo.IndexName+"/query", "text/plain", strings.NewReader("{}"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 403 {
		t.Errorf("search without credentials: %d", resp.StatusCode)
	}
	if err := stop(); err != nil {
		t.Fatalf("demo did not stop cleanly: %v", err)
	}

	// A rerun on the same data dir ends in the same state (records replaced, key reused).
	base, _, _ = startCommand(t, "demo", "--listen", "127.0.0.1:0", "--data-dir", dir, "--assets", noAssets)
	_, raw = getBody(t, base+"/demo/config.json")
	var again demo.Setup
	if err := json.Unmarshal([]byte(raw), &again); err != nil {
		t.Fatal(err)
	}
	if again.SearchKeyID != cfg.SearchKeyID {
		t.Errorf("rerun made another search key: %s, was %s", again.SearchKeyID, cfg.SearchKeyID)
	}
	if n, _, _ := searchAll(t, base, again.Tenants[0].SecuredKey); n != byTeam[again.Tenants[0].Team] {
		t.Errorf("rerun: tenant-a sees %d records, want %d", n, byTeam[again.Tenants[0].Team])
	}
}

// TestDemoTempDataDirRemoved: without --data-dir the demo uses a fresh temporary directory
// and removes it when it stops.
func TestDemoTempDataDirRemoved(t *testing.T) {
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp)
	_, _, stop := startCommand(t, "demo", "--listen", "127.0.0.1:0", "--assets", t.TempDir())
	made, _ := filepath.Glob(filepath.Join(tmp, "keyhole-demo-*"))
	if len(made) != 1 {
		t.Fatalf("temporary data dirs while running: %v", made)
	}
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(made[0]); !os.IsNotExist(err) {
		t.Fatalf("%s still there after the demo stopped (%v)", made[0], err)
	}
}

// TestServeHasNoDemo: /demo exists only in demo mode.
func TestServeHasNoDemo(t *testing.T) {
	base, _, _ := startServer(t, t.TempDir())
	for _, p := range []string{"/demo", "/demo/", "/demo/config.json", "/demo/app.js"} {
		if st, _ := getBody(t, base+p); st != http.StatusNotFound {
			t.Errorf("serve: GET %s = %d, want 404", p, st)
		}
	}
}
