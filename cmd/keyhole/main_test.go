package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

// syncBuffer is a goroutine-safe buffer for the program's output.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func env(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

// startServer runs `keyhole serve` on 127.0.0.1:0 and returns its base URL once /health
// answers. The server stops when the test ends.
func startServer(t *testing.T, dataDir string, extra ...string) (string, *syncBuffer, func() error) {
	t.Helper()
	return startCommand(t, append([]string{"serve", "--listen", "127.0.0.1:0", "--data-dir", dataDir}, extra...)...)
}

// startCommand runs keyhole with args (a command that serves and prints "listening on URL")
// and returns the URL once /health answers. It stops when the test ends.
func startCommand(t *testing.T, args ...string) (string, *syncBuffer, func() error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	out := &syncBuffer{}
	errc := make(chan error, 1)
	go func() { errc <- run(ctx, args, env(nil), strings.NewReader(""), out, io.Discard) }()
	re := regexp.MustCompile(`listening on (http://\S+)`)
	var base string
	for i := 0; i < 500 && base == ""; i++ {
		if m := re.FindStringSubmatch(out.String()); m != nil {
			base = m[1]
			break
		}
		select {
		case err := <-errc:
			t.Fatalf("server exited: %v\n%s", err, out.String())
		case <-time.After(10 * time.Millisecond):
		}
	}
	if base == "" {
		t.Fatalf("server did not start:\n%s", out.String())
	}
	for i := 0; i < 200; i++ {
		resp, err := http.Get(base + "/health")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				break
			}
		}
		time.Sleep(10 * time.Millisecond)
	}
	stopped := false
	stop := func() error {
		if stopped {
			return nil
		}
		stopped = true
		cancel()
		select {
		case err := <-errc:
			return err
		case <-time.After(30 * time.Second):
			t.Fatal("server did not stop")
		}
		return nil
	}
	t.Cleanup(func() { _ = stop() })
	return base, out, stop
}

func post(t *testing.T, url, key, body string) map[string]any {
	t.Helper()
	req, _ := http.NewRequest("POST", url, strings.NewReader(body))
	req.Header.Set("X-Algolia-API-Key", key)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != 200 {
		t.Fatalf("POST %s: %d %v", url, resp.StatusCode, out)
	}
	return out
}

func TestServeImportSearchShutdown(t *testing.T) {
	dir := t.TempDir()
	base, out, stop := startServer(t, dir)
	// No admin key configured: one was generated, stored 0600, and printed once.
	keyFile := filepath.Join(dir, "admin.key")
	st, err := os.Stat(keyFile)
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("admin.key: %v %v", st, err)
	}
	raw, _ := os.ReadFile(keyFile)
	admin := strings.TrimSpace(string(raw))
	if !strings.Contains(out.String(), admin) || !strings.Contains(out.String(), "WARNING") {
		t.Fatalf("generated key not announced:\n%s", out.String())
	}

	// Import the project's catalogue through the running server.
	var iout syncBuffer
	err = run(context.Background(), []string{"import", "--index", "products", "--server", base, "--data-dir", dir,
		filepath.Join("..", "..", "testdata", "catalogue.ndjson")}, env(nil), nil, &iout, io.Discard)
	if err != nil {
		t.Fatalf("import: %v\n%s", err, iout.String())
	}
	if !strings.Contains(iout.String(), "imported 60 records, rejected 0") {
		t.Fatalf("import output: %s", iout.String())
	}
	res := post(t, base+"/1/indexes/products/query", admin, `{"query":"espresso"}`)
	if n, _ := res["nbHits"].(float64); n == 0 {
		t.Fatalf("search after import: %v", res)
	}
	if err := stop(); err != nil {
		t.Fatalf("serve returned %v", err)
	}

	// The data survives a restart, and the generated key is reused, not printed again.
	base2, out2, _ := startServer(t, dir)
	if strings.Contains(out2.String(), admin) {
		t.Fatal("admin key printed again on the second start")
	}
	res = post(t, base2+"/1/indexes/products/query", admin, `{"query":"","hitsPerPage":0}`)
	if res["nbHits"] != float64(60) {
		t.Fatalf("after restart: %v", res["nbHits"])
	}
}

func TestImportReportsRejectedLines(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "in.ndjson")
	os.WriteFile(file, []byte("{\"objectID\":\"a\",\"t\":\"x\"}\nnot json\n[1]\n{\"t\":\"y\"}\n"), 0o600)
	var out syncBuffer
	// No server: writes the data dir directly.
	err := run(context.Background(), []string{"import", "--index", "things", "--server", "http://127.0.0.1:1", "--data-dir", filepath.Join(dir, "data"), file},
		env(nil), nil, &out, io.Discard)
	if err != nil {
		t.Fatalf("import: %v", err)
	}
	for _, want := range []string{"rejected line 2", "rejected line 3", "imported 2 records, rejected 2"} {
		if !strings.Contains(out.String(), want) {
			t.Fatalf("missing %q in:\n%s", want, out.String())
		}
	}
}

func TestKeysCLI(t *testing.T) {
	dir := t.TempDir()
	var out syncBuffer
	args := func(a ...string) []string {
		return append(a, "--data-dir", dir, "--server", "http://127.0.0.1:1")
	}
	if err := run(context.Background(), args("keys", "create", "--acl", "search", "--indexes", "products", "--description", "web"), env(nil), nil, &out, io.Discard); err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`key:\s+(\S+)`).FindStringSubmatch(out.String())
	if m == nil {
		t.Fatalf("no key printed: %s", out.String())
	}
	out = syncBuffer{}
	if err := run(context.Background(), args("keys", "list"), env(nil), nil, &out, io.Discard); err != nil || !strings.Contains(out.String(), m[1]) {
		t.Fatalf("list: %v %s", err, out.String())
	}
	out = syncBuffer{}
	if err := run(context.Background(), []string{"keys", "secured", "--parent", m[1], "--filters", "team:1", "--valid-for", "1h"}, env(nil), nil, &out, io.Discard); err != nil {
		t.Fatal(err)
	}
	if len(strings.TrimSpace(out.String())) < 64 {
		t.Fatalf("secured key: %q", out.String())
	}
	out = syncBuffer{}
	if err := run(context.Background(), args("keys", "token", "--key", m[1], "--sub", "u1", "--ttl", "5m"), env(nil), nil, &out, io.Discard); err != nil {
		t.Fatal(err)
	}
	parts := strings.Split(strings.TrimSpace(out.String()), ".")
	if len(parts) != 3 {
		t.Fatalf("token: %q", out.String())
	}
	payload, _ := base64.RawURLEncoding.DecodeString(parts[1])
	if !strings.Contains(string(payload), `"sub":"u1"`) {
		t.Fatalf("token claims: %s", payload)
	}
	out = syncBuffer{}
	if err := run(context.Background(), args("keys", "delete", m[1]), env(nil), nil, &out, io.Discard); err != nil {
		t.Fatal(err)
	}
	out = syncBuffer{}
	_ = run(context.Background(), args("keys", "list"), env(nil), nil, &out, io.Discard)
	if strings.Contains(out.String(), m[1]) {
		t.Fatalf("deleted key still listed: %s", out.String())
	}
}
