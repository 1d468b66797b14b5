package importer

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

const testKey = "sup3r-s3cret-admin-key"

// fakeServer is a minimal keyhole batch and task API.
type fakeServer struct {
	mu          sync.Mutex
	batches     []*http.Request
	bodies      []map[string]any
	polls       int
	pollsNeeded int
	batchStatus int    // non-zero: answer batches with this status
	batchBody   string // ... and this body
}

func (f *fakeServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	switch {
	case r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, "/batch"):
		data, _ := io.ReadAll(r.Body)
		var body map[string]any
		dec := json.NewDecoder(strings.NewReader(string(data)))
		dec.UseNumber()
		if err := dec.Decode(&body); err != nil {
			http.Error(w, `{"message":"bad json","status":400}`, 400)
			return
		}
		f.batches = append(f.batches, r)
		f.bodies = append(f.bodies, body)
		if f.batchStatus != 0 {
			w.WriteHeader(f.batchStatus)
			io.WriteString(w, f.batchBody)
			return
		}
		ids := []string{}
		for range body["requests"].([]any) {
			ids = append(ids, "id")
		}
		json.NewEncoder(w).Encode(map[string]any{"taskID": 7, "objectIDs": ids})
	case r.Method == http.MethodGet && strings.HasSuffix(r.URL.Path, "/task/7"):
		f.polls++
		status := "notPublished"
		if f.polls > f.pollsNeeded {
			status = "published"
		}
		io.WriteString(w, `{"status":"`+status+`","pendingTask":false}`)
	default:
		w.WriteHeader(404)
		io.WriteString(w, `{"message":"not found: `+r.Method+` `+r.URL.Path+`","status":404}`)
	}
}

func newSink(t *testing.T, f *fakeServer) *HTTPSink {
	t.Helper()
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	return &HTTPSink{BaseURL: srv.URL + "/", Index: "my products/2", APIKey: testKey, AppID: "APP1",
		Client: srv.Client(), PollInterval: time.Millisecond}
}

func TestHTTPSinkSend(t *testing.T) {
	f := &fakeServer{pollsNeeded: 2}
	sink := newSink(t, f)
	records := []map[string]any{
		{"objectID": "a1", "price": json.Number("9.5"), "html": "<b>&</b>"},
		{"title": "no id"},
	}
	if err := sink.Send(context.Background(), records); err != nil {
		t.Fatal(err)
	}
	if len(f.batches) != 1 {
		t.Fatalf("%d batch requests", len(f.batches))
	}
	r := f.batches[0]
	if r.RequestURI != "/1/indexes/my%20products%2F2/batch" {
		t.Errorf("request URI %q", r.RequestURI)
	}
	if got := r.Header.Get("X-Algolia-API-Key"); got != testKey {
		t.Errorf("API key header %q", got)
	}
	if got := r.Header.Get("X-Algolia-Application-Id"); got != "APP1" {
		t.Errorf("app id header %q", got)
	}
	if got := r.Header.Get("Content-Type"); got != "application/json" {
		t.Errorf("content type %q", got)
	}
	reqs := f.bodies[0]["requests"].([]any)
	first := reqs[0].(map[string]any)
	second := reqs[1].(map[string]any)
	if first["action"] != "updateObject" || second["action"] != "addObject" {
		t.Errorf("actions %v, %v", first["action"], second["action"])
	}
	body := first["body"].(map[string]any)
	if body["objectID"] != "a1" || body["price"] != json.Number("9.5") || body["html"] != "<b>&</b>" {
		t.Errorf("body %v", body)
	}
	if f.polls != 3 {
		t.Errorf("polled %d times, want 3 (until published)", f.polls)
	}
}

func TestHTTPSinkNoAppID(t *testing.T) {
	f := &fakeServer{}
	sink := newSink(t, f)
	sink.AppID = ""
	if err := sink.Send(context.Background(), []map[string]any{{"a": 1}}); err != nil {
		t.Fatal(err)
	}
	if _, ok := f.batches[0].Header["X-Algolia-Application-Id"]; ok {
		t.Error("application id header sent though AppID is empty")
	}
}

func TestHTTPSinkErrors(t *testing.T) {
	tests := []struct {
		name   string
		status int
		body   string
		want   string
	}{
		{"forbidden", 403, `{"message":"Invalid Application-ID or API key","status":403}`, "403 Invalid Application-ID or API key"},
		{"key echoed", 400, `{"message":"bad key ` + testKey + `","status":400}`, "400 bad key [redacted]"},
		{"not json", 502, "<html>bad gateway</html>", "502 <html>bad gateway</html>"},
		{"empty", 500, "", "500 Internal Server Error"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := &fakeServer{batchStatus: tt.status, batchBody: tt.body}
			sink := newSink(t, f)
			err := sink.Send(context.Background(), []map[string]any{{"a": 1}})
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want it to contain %q", err, tt.want)
			}
			if strings.Contains(err.Error(), testKey) {
				t.Errorf("error leaks the API key: %v", err)
			}
			var he *HTTPError
			if !errors.As(err, &he) || he.Status != tt.status || he.Method != "POST" {
				t.Errorf("err = %#v", err)
			}
		})
	}
}

func TestHTTPSinkUnreachable(t *testing.T) {
	sink := &HTTPSink{BaseURL: "http://127.0.0.1:1", Index: "x", APIKey: testKey}
	err := sink.Send(context.Background(), []map[string]any{{"a": 1}})
	if err == nil || strings.Contains(err.Error(), testKey) {
		t.Errorf("err = %v", err)
	}
}

func TestHTTPSinkPollingHonoursContext(t *testing.T) {
	f := &fakeServer{pollsNeeded: 1 << 30}
	sink := newSink(t, f)
	sink.PollInterval = 5 * time.Millisecond
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	start := time.Now()
	err := sink.Send(ctx, []map[string]any{{"a": 1}})
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("err = %v, want deadline exceeded", err)
	}
	if time.Since(start) > 5*time.Second {
		t.Error("polling did not stop at the deadline")
	}
	if f.polls < 2 {
		t.Errorf("polled %d times", f.polls)
	}
}

func TestHTTPSinkUnexpectedTaskStatus(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost {
			io.WriteString(w, `{"taskID": 9, "objectIDs": ["x"]}`)
			return
		}
		io.WriteString(w, `{"status":"failed"}`)
	}))
	defer srv.Close()
	sink := &HTTPSink{BaseURL: srv.URL, Index: "x", APIKey: testKey}
	err := sink.Send(context.Background(), []map[string]any{{"a": 1}})
	if err == nil || !strings.Contains(err.Error(), `"failed"`) {
		t.Errorf("err = %v", err)
	}
}

func TestHTTPSinkWithBatcherAndReader(t *testing.T) {
	f := &fakeServer{}
	sink := newSink(t, f)
	ctx := context.Background()
	b := &Batcher{Sink: sink, Size: 2}
	_, err := Read(strings.NewReader("id,n\na,1\nb,2\nc,3\n"), FormatCSV, func(r Record) error { return b.Add(ctx, r) })
	if err == nil {
		err = b.Flush(ctx)
	}
	if err != nil {
		t.Fatal(err)
	}
	if len(f.batches) != 2 || b.Sent() != 3 {
		t.Errorf("%d batches, %d sent", len(f.batches), b.Sent())
	}
}
