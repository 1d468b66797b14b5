package importer_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/keyhole-search/keyhole/importer"
)

// Example wires a Reader, a Batcher, an HTTPSink and a Progress the way
// `keyhole import` does.
func Example() {
	// A stand-in for the server: every batch is task 1, published at once.
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost {
			io.WriteString(w, `{"taskID":1}`)
			return
		}
		io.WriteString(w, `{"status":"published"}`)
	}))
	defer srv.Close()

	ctx := context.Background()
	input := "{\"objectID\":\"a\",\"title\":\"one\"}\nnot json\n{\"title\":\"two\"}\n"

	sink := &importer.HTTPSink{BaseURL: srv.URL, Index: "products", APIKey: "admin-key"}
	progress := importer.NewProgress(io.Discard, false, 0)
	b := &importer.Batcher{Sink: sink, Size: 1000, OnSent: progress.AddSent}
	rd := importer.Reader{
		Format:   importer.FormatFromPath("products.ndjson"),
		OnReject: func(importer.Rejection) { progress.AddRejected(1) },
	}
	stats, err := rd.Read(strings.NewReader(input), func(r importer.Record) error { return b.Add(ctx, r) })
	if err == nil {
		err = b.Flush(ctx)
	}
	progress.Finish()
	if err != nil {
		fmt.Println("import failed:", err)
		return
	}
	fmt.Printf("sent %d, rejected %d\n", b.Sent(), stats.RejectedCount)
	for _, r := range stats.Rejected {
		fmt.Printf("line %d: %s\n", r.Line, r.Reason)
	}
	// Output:
	// sent 2, rejected 1
	// line 2: invalid JSON: invalid character 'o' in literal null (expecting 'u')
}
