package api

import (
	"io"
	"net/http"
	"testing"
)

// getPublic fetches path with no credentials and returns the status and the body.
func (e *env) getPublic(path string) (int, string) {
	e.t.Helper()
	resp, err := http.Get(e.srv.URL + path)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// TestDemoRoutesOnlyInDemoMode: /demo is a 404 unless Deps.Demo is set, and setting it opens
// nothing else: the API still wants credentials.
func TestDemoRoutesOnlyInDemoMode(t *testing.T) {
	plain := newEnv(t)
	for _, p := range []string{"/demo", "/demo/", "/demo/config.json", "/demo/assets/x.js"} {
		if st, _ := plain.getPublic(p); st != http.StatusNotFound {
			t.Errorf("without Demo: GET %s = %d, want 404", p, st)
		}
	}

	demo := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, "demo:"+r.URL.Path)
	})
	e := newEnvWith(t, func(d *Deps) { d.Demo = demo })
	for _, p := range []string{"/demo", "/demo/config.json", "/demo/assets/x.js"} {
		if st, body := e.getPublic(p); st != http.StatusOK || body != "demo:"+p {
			t.Errorf("with Demo: GET %s = %d %q", p, st, body)
		}
	}
	for _, p := range []string{"/demonstration", "/1/indexes", "/1/keys"} {
		if st, body := e.getPublic(p); st == http.StatusOK || body == "demo:"+p {
			t.Errorf("with Demo: GET %s without credentials = %d %q", p, st, body)
		}
	}
	if st, _ := e.do("POST", "/demo", "", "{}"); st != http.StatusMethodNotAllowed && st != http.StatusNotFound {
		t.Errorf("POST /demo = %d, want 405 or 404", st)
	}
}
