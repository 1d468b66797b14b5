package api

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/keyhole-search/keyhole/auth"
)

// BenchmarkSearchHandler is one search request through the whole handler (routing, auth,
// decoding, search, encoding) without sockets, with the admin key and with a secured key
// carrying the same filter the admin request sends.
func BenchmarkSearchHandler(b *testing.B) {
	e := newEnv(b)
	e.seed()
	k, err := e.keys.Create(auth.KeySpec{ACL: []string{"search"}})
	if err != nil {
		b.Fatal(err)
	}
	secured, err := auth.GenerateSecuredAPIKey(k.Value, auth.SecuredRestrictions{Filters: "team:a", ValidUntil: time.Now().Add(time.Hour)})
	if err != nil {
		b.Fatal(err)
	}
	for _, c := range []struct{ name, key, body string }{
		{"admin", adminKey, `{"query":"kett","hitsPerPage":20,"filters":"team:a"}`},
		{"secured", secured, `{"query":"kett","hitsPerPage":20}`},
	} {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				r := httptest.NewRequest(http.MethodPost, "/1/indexes/products/query", strings.NewReader(c.body))
				r.Header.Set("X-Algolia-API-Key", c.key)
				r.Header.Set("X-Algolia-Application-Id", "APP")
				w := httptest.NewRecorder()
				e.s.ServeHTTP(w, r)
				if w.Code != http.StatusOK {
					b.Fatalf("%d %s", w.Code, w.Body)
				}
			}
		})
	}
}
