package index

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"
)

// waitPublished waits until every pending task of ix is published and the rebuild loop
// has finished (old generation removed).
func waitPublished(tb testing.TB, m *Manager, ix *Index) {
	tb.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		ix.writeMu.Lock()
		n, running := len(ix.meta.PendingTasks), ix.rebuildDone != nil || ix.relayoutDue
		ix.writeMu.Unlock()
		if n == 0 && !running {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	tb.Fatalf("index %s: tasks still pending after 30s", ix.Name())
}

func TestSettingsDefaultsJSON(t *testing.T) {
	data, err := json.Marshal(DefaultSettings())
	if err != nil {
		t.Fatal(err)
	}
	var got map[string]any
	if err := json.Unmarshal(data, &got); err != nil {
		t.Fatal(err)
	}
	want := map[string]any{
		"searchableAttributes": nil, "attributesForFaceting": nil, "attributesToRetrieve": []any{"*"},
		"unretrievableAttributes": nil, "customRanking": nil, "attributesToHighlight": nil, "attributesToSnippet": nil,
		"hitsPerPage": 20.0, "paginationLimitedTo": 1000.0, "maxValuesPerFacet": 100.0, "typoTolerance": true,
		"minWordSizefor1Typo": 4.0, "minWordSizefor2Typos": 8.0, "highlightPreTag": "<em>", "highlightPostTag": "</em>",
		"snippetEllipsisText": "…", "userAttribute": "", "publicKey": "", "requireJwt": false, "jwtKeyId": "",
		"tenantAttribute": "", "tenantShards": 4.0, "tenantOwnShardMin": 2000.0,
	}
	for k, w := range want {
		g, ok := got[k]
		if !ok {
			t.Errorf("GET shape lacks %s", k)
			continue
		}
		gj, _ := json.Marshal(g)
		wj, _ := json.Marshal(w)
		if string(gj) != string(wj) {
			t.Errorf("%s = %s, want %s", k, gj, wj)
		}
	}
	if len(got) != len(want) {
		t.Errorf("GET shape has %d keys, want %d: %s", len(got), len(want), data)
	}
	// A zero Settings marshals with numeric defaults too.
	data, _ = json.Marshal(Settings{})
	if !strings.Contains(string(data), `"hitsPerPage":20`) || !strings.Contains(string(data), `"typoTolerance":true`) {
		t.Errorf("zero Settings JSON = %s", data)
	}
}

func TestSettingsPatch(t *testing.T) {
	s, err := DefaultSettings().Patch(map[string]json.RawMessage{
		"hitsPerPage":           json.RawMessage(`50`),
		"typoTolerance":         json.RawMessage(`"min"`),
		"searchableAttributes":  json.RawMessage(`["title,alt","unordered(body)","authors.main"]`),
		"attributesForFaceting": json.RawMessage(`["brand","filterOnly(owner)","searchable(color)","afterDistinct(cat)"]`),
		"customRanking":         json.RawMessage(`["desc(pop)","asc(price)"]`),
		"attributesToSnippet":   json.RawMessage(`["body:20","title"]`),
		"someUnknownSetting":    json.RawMessage(`{"x":1}`),
	})
	if err != nil {
		t.Fatal(err)
	}
	if s.HitsPerPage != 50 || s.TypoMode() != TypoMin {
		t.Errorf("patched = %+v", s)
	}
	wantSearch := []SearchableAttribute{
		{"title", "t.title", 0, false}, {"alt", "t.alt", 0, false}, {"body", "t.body", 1, true}, {"authors.main", "t.authors.main", 2, false},
	}
	if got := s.Searchable(); !slices.Equal(got, wantSearch) {
		t.Errorf("Searchable = %v", got)
	}
	wantFacets := []FacetAttribute{{Name: "brand"}, {Name: "owner", FilterOnly: true}, {Name: "color", Searchable: true}, {Name: "cat", AfterDistinct: true}}
	if got := s.Facets(); !slices.Equal(got, wantFacets) {
		t.Errorf("Facets = %v", got)
	}
	if !s.IsFacet("owner") || s.IsFacet("title") {
		t.Error("IsFacet wrong")
	}
	if got := s.CustomRanking(); !slices.Equal(got, []RankKey{{"pop", true}, {"price", false}}) {
		t.Errorf("CustomRanking = %v", got)
	}
	if got := s.Snippets(); !slices.Equal(got, []SnippetAttribute{{"body", 20}, {"title", DefaultSnippetWords}}) {
		t.Errorf("Snippets = %v", got)
	}
	// null resets one setting; the others stay.
	s2, err := s.Patch(map[string]json.RawMessage{"hitsPerPage": json.RawMessage(`null`), "typoTolerance": json.RawMessage(`false`)})
	if err != nil {
		t.Fatal(err)
	}
	if s2.HitsPerPage != 20 || s2.TypoMode() != TypoOff || len(s2.SearchableAttributes) != 3 {
		t.Errorf("after null patch: %+v", s2)
	}
	if s.HitsPerPage != 50 {
		t.Error("Patch modified its receiver")
	}
	// Round trip through JSON.
	data, _ := json.Marshal(s)
	var back Settings
	if err := json.Unmarshal(data, &back); err != nil {
		t.Fatal(err)
	}
	d1, _ := json.Marshal(back)
	if string(d1) != string(data) {
		t.Errorf("round trip:\n%s\n%s", data, d1)
	}
}

func TestSettingsValidation(t *testing.T) {
	tests := []struct {
		key, value, want string
	}{
		{"hitsPerPage", `0`, "hitsPerPage: must be an integer between 1 and 1000"},
		{"hitsPerPage", `1001`, "hitsPerPage"},
		{"hitsPerPage", `"20"`, "hitsPerPage"},
		{"hitsPerPage", `2.5`, "hitsPerPage"},
		{"paginationLimitedTo", `20001`, "paginationLimitedTo"},
		{"maxValuesPerFacet", `0`, "maxValuesPerFacet"},
		{"minWordSizefor1Typo", `9`, "minWordSizefor1Typo (9) must not exceed minWordSizefor2Typos (8)"},
		{"minWordSizefor2Typos", `0`, "minWordSizefor2Typos"},
		{"typoTolerance", `"sometimes"`, "typoTolerance"},
		{"typoTolerance", `1`, "typoTolerance"},
		{"searchableAttributes", `"title"`, "searchableAttributes: must be an array of strings"},
		{"searchableAttributes", `[""]`, `searchableAttributes[0] "": attribute name must not be empty`},
		{"searchableAttributes", `["ordered(x)"]`, "only unordered(attr)"},
		{"searchableAttributes", `["a..b"]`, "empty segment"},
		{"attributesForFaceting", `["facet(x)"]`, "attributesForFaceting[0]"},
		{"attributesForFaceting", `[1]`, "attributesForFaceting"},
		{"attributesToRetrieve", `["a\u0001"]`, "control characters"},
		{"unretrievableAttributes", `["*"]`, "unretrievableAttributes"},
		{"customRanking", `["price"]`, "customRanking[0] \"price\": must be asc(attr) or desc(attr)"},
		{"customRanking", `["desc()"]`, "customRanking"},
		{"attributesToHighlight", `[""]`, "attributesToHighlight"},
		{"attributesToSnippet", `["body:0"]`, "attributesToSnippet"},
		{"attributesToSnippet", `["body:x"]`, "attributesToSnippet"},
		{"highlightPreTag", `5`, "highlightPreTag: must be a string"},
		{"highlightPostTag", `[]`, "highlightPostTag"},
		{"snippetEllipsisText", `false`, "snippetEllipsisText"},
		{"userAttribute", `""`, ""}, // allowed: unset
		{"userAttribute", `"a\u0000"`, "userAttribute"},
		{"publicKey", `{}`, "publicKey"},
		{"tenantAttribute", `5`, "tenantAttribute: must be a string"},
		{"tenantAttribute", `"a..b"`, "tenantAttribute: attribute path has an empty segment"},
		{"tenantAttribute", `"_tags"`, "tenantAttribute"},
		{"tenantAttribute", `"team"`, ""},
		{"tenantShards", `0`, "tenantShards: must be an integer between 1 and 64"},
		{"tenantShards", `65`, "tenantShards"},
		{"tenantShards", `64`, ""},
		{"tenantOwnShardMin", `0`, "tenantOwnShardMin"},
		{"tenantOwnShardMin", `"10"`, "tenantOwnShardMin"},
	}
	for _, tt := range tests {
		_, err := DefaultSettings().Patch(map[string]json.RawMessage{tt.key: json.RawMessage(tt.value)})
		if tt.want == "" {
			if err != nil {
				t.Errorf("%s=%s: %v", tt.key, tt.value, err)
			}
			continue
		}
		if !errors.Is(err, ErrInvalidSettings) || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s=%s: err = %v, want ErrInvalidSettings containing %q", tt.key, tt.value, err, tt.want)
		}
	}
	// Through the index: an invalid patch changes nothing.
	m, _ := MustOpen(t, t.TempDir())
	ix := MustIndex(t, m, "s")
	if _, err := ix.SetSettings(context.Background(), map[string]json.RawMessage{"hitsPerPage": json.RawMessage(`7`), "maxValuesPerFacet": json.RawMessage(`-1`)}); !errors.Is(err, ErrInvalidSettings) {
		t.Fatalf("SetSettings invalid = %v", err)
	}
	if ix.Settings().HitsPerPage != 20 {
		t.Error("a rejected patch changed hitsPerPage")
	}
	// A change that needs no rebuild is published at once.
	task := MustSettings(t, ix, `{"hitsPerPage":7,"customRanking":["desc(pop)"]}`)
	if pub, err := m.TaskStatus("s", task); err != nil || !pub {
		t.Errorf("TaskStatus = %v, %v; want published", pub, err)
	}
	if ix.Settings().HitsPerPage != 7 {
		t.Error("hitsPerPage not applied")
	}
}
