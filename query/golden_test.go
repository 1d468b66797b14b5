package query

import (
	"context"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/keyhole-search/keyhole/auth"
)

var update = flag.Bool("update", false, "rewrite the golden search results in testdata/golden")

// goldenCase is one data-driven search: the request (v5 JSON fields) and, recorded once and
// reviewed by hand, what it must answer: the ordered objectIDs of the first page, nbHits, the
// facets and the highlighted name of the first hit.
type goldenCase struct {
	Name   string          `json:"name"`
	Params json.RawMessage `json:"params"`
	Want   *goldenResult   `json:"want,omitempty"`
}

type goldenResult struct {
	NbHits    int                       `json:"nbHits"`
	NbPages   int                       `json:"nbPages"`
	IDs       []string                  `json:"ids"`
	Facets    map[string]map[string]int `json:"facets,omitempty"`
	FirstName string                    `json:"firstNameHighlight,omitempty"`
}

func TestGoldenSearches(t *testing.T) {
	_, svc := catalogue(t)
	path := filepath.Join("..", "testdata", "golden", "search.json")
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var cases []goldenCase
	if err := json.Unmarshal(raw, &cases); err != nil {
		t.Fatal(err)
	}
	for i := range cases {
		c := &cases[i]
		var fields map[string]json.RawMessage
		if err := json.Unmarshal(c.Params, &fields); err != nil {
			t.Fatalf("%s: %v", c.Name, err)
		}
		p, err := DecodeJSONParams(fields)
		if err != nil {
			t.Fatalf("%s: %v", c.Name, err)
		}
		res, err := svc.Search(context.Background(), auth.Admin(), "products", p)
		if err != nil {
			t.Fatalf("%s: %v", c.Name, err)
		}
		got := &goldenResult{NbHits: res.NbHits, NbPages: res.NbPages, IDs: ids(res), Facets: res.Facets}
		if len(res.Hits) > 0 {
			if hl, ok := res.Hits[0]["_highlightResult"].(map[string]any); ok {
				if n, ok := hl["name"].(HighlightResult); ok {
					got.FirstName = n.Value
				}
			}
		}
		if *update {
			c.Want = got
			continue
		}
		if c.Want == nil {
			t.Fatalf("%s: no recorded result (run with -update and review the diff)", c.Name)
		}
		if !reflect.DeepEqual(got, c.Want) {
			g, _ := json.Marshal(got)
			w, _ := json.Marshal(c.Want)
			t.Errorf("%s:\n got  %s\n want %s", c.Name, g, w)
		}
	}
	if *update {
		out, _ := json.MarshalIndent(cases, "", "  ")
		if err := os.WriteFile(path, append(out, '\n'), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}
