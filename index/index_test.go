package index

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/blevesearch/bleve/v2"
	"github.com/blevesearch/bleve/v2/search/query"
)

func searchIDs(t *testing.T, ix *Index, q query.Query) []string {
	t.Helper()
	req := bleve.NewSearchRequestOptions(q, 1000, 0, false)
	res, err := ix.Search(context.Background(), req)
	if err != nil {
		t.Fatalf("Search: %v", err)
	}
	var ids []string
	for _, h := range res.Hits {
		ids = append(ids, h.ID)
	}
	slices.Sort(ids)
	return ids
}

func term(field, v string) query.Query {
	q := bleve.NewTermQuery(v)
	q.SetField(field)
	return q
}

func TestWriteActionsRoundTrip(t *testing.T) {
	m, _ := MustOpen(t, t.TempDir())
	ix := MustIndex(t, m, "products")
	ctx := context.Background()

	_, ids := MustWrite(t, ix,
		add(`{"title":"generated id"}`),
		add(`{"objectID":"a","title":"Alpha","price":10,"tags":["x"]}`),
		Op{Action: ActionUpdateObject, ObjectID: "b", Body: mustRecordNoTB(`{"title":"Beta","price":20}`)},
		update(`{"objectID":7,"title":"numeric id"}`),
	)
	if len(ids) != 4 || ids[0] == "" || ids[1] != "a" || ids[2] != "b" || ids[3] != "7" {
		t.Fatalf("objectIDs = %q", ids)
	}
	if got := MustSource(t, ix, ids[0]); got["title"] != "generated id" || got["objectID"] != ids[0] {
		t.Errorf("generated record = %v", got)
	}
	if got := MustSource(t, ix, "7"); got["objectID"] != "7" {
		t.Errorf("numeric objectID record = %v", got)
	}
	if n, _ := ix.DocCount(); n != 4 {
		t.Errorf("DocCount = %d, want 4", n)
	}

	// Update replaces the whole record.
	MustWrite(t, ix, update(`{"objectID":"a","title":"Alpha 2"}`))
	if got := MustSource(t, ix, "a"); got["price"] != nil || got["title"] != "Alpha 2" {
		t.Errorf("after update: %v", got)
	}
	// Partial update merges top-level attributes; creates when missing.
	MustWrite(t, ix,
		Op{Action: ActionPartialUpdate, ObjectID: "b", Body: mustRecordNoTB(`{"stock":3}`)},
		Op{Action: ActionPartialUpdate, ObjectID: "c", Body: mustRecordNoTB(`{"title":"Gamma"}`)},
		Op{Action: ActionPartialUpdateNoCreate, ObjectID: "d", Body: mustRecordNoTB(`{"title":"Delta"}`)},
	)
	if got := MustSource(t, ix, "b"); got["title"] != "Beta" || got["stock"] != json.Number("3") || got["price"] != json.Number("20") {
		t.Errorf("partial b: %v", got)
	}
	if got := MustSource(t, ix, "c"); got["title"] != "Gamma" {
		t.Errorf("partial c (create): %v", got)
	}
	if _, err := ix.Source(ctx, "d"); !errors.Is(err, ErrObjectNotFound) {
		t.Errorf("partial no-create d: err = %v, want ErrObjectNotFound", err)
	}
	// A call whose every op is a no-op, and an empty call, still return a task.
	if task, ids, err := ix.Write(ctx, []Op{{Action: ActionPartialUpdateNoCreate, ObjectID: "d", Body: map[string]any{"x": 1}}}); err != nil || task == 0 || !slices.Equal(ids, []string{"d"}) {
		t.Errorf("no-op write = %d, %v, %v", task, ids, err)
	}
	if task, _, err := ix.Write(ctx, nil); err != nil || task == 0 {
		t.Errorf("empty write = %d, %v", task, err)
	}
	// The text index follows the updates.
	if got := searchIDs(t, ix, term(TextField("title"), "beta")); !slices.Equal(got, []string{"b"}) {
		t.Errorf("search beta = %v", got)
	}
	if got := searchIDs(t, ix, term(TextField("title"), "alpha")); !slices.Equal(got, []string{"a"}) {
		t.Errorf("search alpha = %v", got)
	}

	// Delete.
	MustWrite(t, ix, Op{Action: ActionDelete, ObjectID: "b"})
	if _, err := ix.Source(ctx, "b"); !errors.Is(err, ErrObjectNotFound) {
		t.Errorf("deleted b: err = %v", err)
	}
	if got := searchIDs(t, ix, term(TextField("title"), "beta")); len(got) != 0 {
		t.Errorf("search beta after delete = %v", got)
	}

	// Ops apply in order within one call: clear, then add.
	MustWrite(t, ix, Op{Action: ActionClear}, add(`{"objectID":"z","title":"after clear"}`))
	if n, _ := ix.DocCount(); n != 1 {
		t.Errorf("DocCount after clear+add = %d, want 1", n)
	}
	if got := searchIDs(t, ix, bleve.NewMatchAllQuery()); !slices.Equal(got, []string{"z"}) {
		t.Errorf("after clear: %v", got)
	}
	// Later ops see earlier ones: add then partial update in the same batch.
	MustWrite(t, ix, add(`{"objectID":"p","n":1}`), Op{Action: ActionPartialUpdate, ObjectID: "p", Body: mustRecordNoTB(`{"n":{"_operation":"Increment","value":2}}`)})
	if got := MustSource(t, ix, "p"); got["n"] != json.Number("3") {
		t.Errorf("add+increment in one batch: %v", got)
	}
}

func TestWriteRejectsInvalid(t *testing.T) {
	m, _ := MustOpen(t, t.TempDir())
	ix := MustIndex(t, m, "v")
	big := strings.Repeat("x", MaxRecordBytes)
	tests := []struct {
		name string
		op   Op
		want string
	}{
		{"update without objectID", update(`{"a":1}`), "objectID is required"},
		{"partial without objectID", Op{Action: ActionPartialUpdate, Body: mustRecordNoTB(`{"a":1}`)}, "objectID is required"},
		{"delete without objectID", Op{Action: ActionDelete}, "objectID is required"},
		{"objectID of wrong type", update(`{"objectID":true}`), "objectID must be a string"},
		{"too big", Op{Action: ActionAddObject, Body: map[string]any{"objectID": "big", "a": big}}, "more than the"},
		{"bad attribute", add(`{"objectID":"x","":1}`), "must not be empty"},
		{"unknown operation", Op{Action: ActionPartialUpdate, ObjectID: "x", Body: mustRecordNoTB(`{"a":{"_operation":"Multiply","value":2}}`)}, "unknown _operation"},
		{"no body", Op{Action: ActionAddObject}, "body is required"},
		{"unknown action", Op{Action: 99, ObjectID: "x"}, "unknown action"},
	}
	for _, tt := range tests {
		_, _, err := ix.Write(context.Background(), []Op{add(`{"objectID":"ok"}`), tt.op})
		if !errors.Is(err, ErrInvalidObject) || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: err = %v, want ErrInvalidObject containing %q", tt.name, err, tt.want)
		}
	}
	// Nothing of a rejected call is written.
	if n, _ := ix.DocCount(); n != 0 {
		t.Errorf("DocCount = %d after rejected writes, want 0", n)
	}
	if _, err := DecodeRecord([]byte(`[1]`)); !errors.Is(err, ErrInvalidObject) {
		t.Errorf("DecodeRecord(array) = %v", err)
	}
}

func TestPartialUpdateOperations(t *testing.T) {
	m, _ := MustOpen(t, t.TempDir())
	ix := MustIndex(t, m, "ops")
	MustWrite(t, ix, add(`{"objectID":"r","count":10,"price":1.5,"tags":["a","b","a"],"version":2,"big":9007199254740993}`))
	tests := []struct {
		name  string
		attrs string
		check string // attribute=JSON expected after the update
	}{
		{"Increment int", `{"count":{"_operation":"Increment","value":5}}`, `count=15`},
		{"Decrement int", `{"count":{"_operation":"Decrement","value":20}}`, `count=-5`},
		{"Increment float", `{"price":{"_operation":"Increment","value":0.25}}`, `price=1.75`},
		{"Increment keeps int64 digits", `{"big":{"_operation":"Increment","value":1}}`, `big=9007199254740994`},
		{"Increment missing", `{"fresh":{"_operation":"Increment","value":2}}`, `fresh=2`},
		{"Add", `{"tags":{"_operation":"Add","value":"c"}}`, `tags=["a","b","a","c"]`},
		{"AddUnique present", `{"tags":{"_operation":"AddUnique","value":"b"}}`, `tags=["a","b","a","c"]`},
		{"AddUnique absent", `{"tags":{"_operation":"AddUnique","value":"d"}}`, `tags=["a","b","a","c","d"]`},
		{"Remove", `{"tags":{"_operation":"Remove","value":"a"}}`, `tags=["b","c","d"]`},
		{"IncrementFrom match", `{"version":{"_operation":"IncrementFrom","value":2}}`, `version=3`},
		{"IncrementFrom mismatch ignores the whole update", `{"version":{"_operation":"IncrementFrom","value":2},"other":1}`, `version=3`},
		{"IncrementSet greater", `{"version":{"_operation":"IncrementSet","value":10}}`, `version=10`},
		{"IncrementSet smaller ignored", `{"version":{"_operation":"IncrementSet","value":4}}`, `version=10`},
	}
	for _, tt := range tests {
		MustWrite(t, ix, Op{Action: ActionPartialUpdate, ObjectID: "r", Body: mustRecordNoTB(tt.attrs)})
		got := MustSource(t, ix, "r")
		attr, want, _ := strings.Cut(tt.check, "=")
		gotJSON, _ := encodeRecord(map[string]any{"v": got[attr]})
		if string(gotJSON) != `{"v":`+want+`}` {
			t.Errorf("%s: %s = %s, want %s", tt.name, attr, gotJSON, want)
		}
	}
	if got := MustSource(t, ix, "r"); got["other"] != nil {
		t.Errorf("ignored IncrementFrom update still wrote other=%v", got["other"])
	}
	// IncrementFrom / IncrementSet create a missing record only for 0 / a positive value.
	MustWrite(t, ix,
		Op{Action: ActionPartialUpdate, ObjectID: "n1", Body: mustRecordNoTB(`{"v":{"_operation":"IncrementFrom","value":1}}`)},
		Op{Action: ActionPartialUpdate, ObjectID: "n2", Body: mustRecordNoTB(`{"v":{"_operation":"IncrementFrom","value":0}}`)},
		Op{Action: ActionPartialUpdate, ObjectID: "n3", Body: mustRecordNoTB(`{"v":{"_operation":"IncrementSet","value":0}}`)},
		Op{Action: ActionPartialUpdate, ObjectID: "n4", Body: mustRecordNoTB(`{"v":{"_operation":"IncrementSet","value":5}}`)},
	)
	for id, want := range map[string]any{"n1": nil, "n2": json.Number("1"), "n3": nil, "n4": json.Number("5")} {
		got := MustSource(t, ix, id)
		if (want == nil) != (got == nil) || (got != nil && got["v"] != want) {
			t.Errorf("%s = %v, want v=%v", id, got, want)
		}
	}
}

func TestConcurrentPartialUpdatesDoNotLoseEachOther(t *testing.T) {
	m, _ := MustOpen(t, t.TempDir())
	ix := MustIndex(t, m, "counter")
	MustWrite(t, ix, add(`{"objectID":"c","n":0}`))
	const writers, each = 4, 10
	var wg sync.WaitGroup
	for range writers {
		wg.Go(func() {
			for range each {
				if _, _, err := ix.Write(context.Background(), []Op{{Action: ActionPartialUpdate, ObjectID: "c",
					Body: map[string]any{"n": map[string]any{"_operation": "Increment", "value": 1}}}}); err != nil {
					t.Error(err)
				}
			}
		})
	}
	wg.Wait()
	if got := MustSource(t, ix, "c"); got["n"] != json.Number("40") {
		t.Errorf("n = %v, want 40", got["n"])
	}
}

func TestFieldsQueryable(t *testing.T) {
	m, _ := MustOpen(t, t.TempDir())
	ix := MustIndex(t, m, "shop")
	MustSettings(t, ix, `{"attributesForFaceting":["brand","searchable(color)","inStock"]}`)
	waitPublished(t, m, ix) // facets changed: rebuild of the empty index
	MustWrite(t, ix,
		add(`{"objectID":"1","brand":"Acme","color":"Red","price":5,"inStock":true,"_tags":["sale"],"dims":{"w":2}}`),
		add(`{"objectID":"2","brand":"ACME","color":"Blue","price":15.5,"inStock":false}`),
		add(`{"objectID":"3","brand":"Zeta","color":"Red","price":25,"_tags":["Sale"],"title":"Café crème"}`),
	)

	// Facet counts from f. fields (exact case).
	req := bleve.NewSearchRequest(bleve.NewMatchAllQuery())
	req.AddFacet("brand", bleve.NewFacetRequest(FacetField("brand"), 10))
	req.AddFacet("stock", bleve.NewFacetRequest(FacetField("inStock"), 10))
	res, err := ix.Search(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	counts := map[string]int{}
	for _, tf := range res.Facets["brand"].Terms.Terms() {
		counts[tf.Term] = tf.Count
	}
	if want := map[string]int{"Acme": 1, "ACME": 1, "Zeta": 1}; !mapsEqual(counts, want) {
		t.Errorf("brand facet = %v, want %v", counts, want)
	}
	stock := map[string]int{}
	for _, tf := range res.Facets["stock"].Terms.Terms() {
		stock[tf.Term] = tf.Count
	}
	if want := map[string]int{"true": 1, "false": 1}; !mapsEqual(stock, want) {
		t.Errorf("inStock facet = %v, want %v", stock, want)
	}

	// Case-insensitive facet filter on fl.; exact on f.
	if got := searchIDs(t, ix, term(FacetLowerField("brand"), "acme")); !slices.Equal(got, []string{"1", "2"}) {
		t.Errorf("fl.brand=acme: %v", got)
	}
	if got := searchIDs(t, ix, term(FacetField("brand"), "acme")); len(got) != 0 {
		t.Errorf("f.brand=acme (exact) matched %v", got)
	}
	// Numeric range on n. (inclusive both ends).
	lo, hi := 5.0, 15.5
	if got := searchIDs(t, ix, numRange(NumericField("price"), &lo, &hi)); !slices.Equal(got, []string{"1", "2"}) {
		t.Errorf("5<=price<=15.5: %v", got)
	}
	one := 1.0
	if got := searchIDs(t, ix, numRange(NumericField("inStock"), &one, &one)); !slices.Equal(got, []string{"1"}) {
		t.Errorf("inStock=1: %v", got)
	}
	// _exists, _tags (exact).
	if got := searchIDs(t, ix, term(FieldExists, "dims.w")); !slices.Equal(got, []string{"1"}) {
		t.Errorf("exists dims.w: %v", got)
	}
	if got := searchIDs(t, ix, term(FieldExists, "dims")); !slices.Equal(got, []string{"1"}) {
		t.Errorf("exists dims: %v", got)
	}
	if got := searchIDs(t, ix, term(FieldTags, "sale")); !slices.Equal(got, []string{"1"}) {
		t.Errorf("_tags sale: %v", got)
	}
	// Text with folding, through a MatchQuery (the mapping's default analyzer is ours).
	mq := bleve.NewMatchQuery("CAFE Creme")
	mq.SetField(TextField("title"))
	mq.SetOperator(query.MatchQueryOperatorAnd)
	if got := searchIDs(t, ix, mq); !slices.Equal(got, []string{"3"}) {
		t.Errorf("match café crème: %v", got)
	}
	// _source comes back through Fields.
	req = bleve.NewSearchRequest(term(FacetField("brand"), "Zeta"))
	req.Fields = []string{FieldSource}
	res, err = ix.Search(context.Background(), req)
	if err != nil || len(res.Hits) != 1 {
		t.Fatalf("search Zeta: %v %v", res, err)
	}
	if src, _ := res.Hits[0].Fields[FieldSource].(string); !strings.Contains(src, `"title":"Café crème"`) {
		t.Errorf("_source = %q", src)
	}
	// Every attribute searchable: text fields of the index.
	var names []string
	for _, a := range ix.SearchableAttributes() {
		names = append(names, a.Name+"="+a.Field)
	}
	if want := []string{"brand=t.brand", "color=t.color", "title=t.title"}; !slices.Equal(names, want) {
		t.Errorf("SearchableAttributes = %v, want %v", names, want)
	}
}

func numRange(field string, lo, hi *float64) query.Query {
	incl := true
	q := bleve.NewNumericRangeInclusiveQuery(lo, hi, &incl, &incl)
	q.SetField(field)
	return q
}

func mapsEqual(a, b map[string]int) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

func TestManagerListGetDelete(t *testing.T) {
	dir := t.TempDir()
	m, _ := MustOpen(t, dir)
	if _, err := m.Get("nope"); !errors.Is(err, ErrIndexNotFound) || err.Error() != "Index nope does not exist" {
		t.Errorf("Get(nope) = %v", err)
	}
	b := MustIndex(t, m, "b")
	a := MustIndex(t, m, "a")
	MustWrite(t, a, add(`{"objectID":"1"}`), add(`{"objectID":"2"}`))
	MustWrite(t, b, add(`{"objectID":"1"}`))
	infos := m.List()
	if len(infos) != 2 || infos[0].Name != "a" || infos[1].Name != "b" || infos[0].Entries != 2 || infos[1].Entries != 1 {
		t.Fatalf("List = %+v", infos)
	}
	if infos[0].FileSize <= 0 || infos[0].DataSize <= 0 || infos[0].CreatedAt.IsZero() || infos[0].UpdatedAt.Before(infos[0].CreatedAt) {
		t.Errorf("Info = %+v", infos[0])
	}
	task, err := m.Delete(context.Background(), "a")
	if err != nil {
		t.Fatal(err)
	}
	if pub, err := m.TaskStatus("a", task); err != nil || !pub {
		t.Errorf("TaskStatus(delete) = %v, %v", pub, err)
	}
	if _, err := m.Get("a"); !errors.Is(err, ErrIndexNotFound) {
		t.Errorf("Get after Delete = %v", err)
	}
	if _, err := a.Source(context.Background(), "1"); !errors.Is(err, ErrIndexNotFound) {
		t.Errorf("old handle after Delete = %v", err)
	}
	if _, _, err := a.Write(context.Background(), []Op{add(`{"objectID":"3"}`)}); !errors.Is(err, ErrIndexNotFound) {
		t.Errorf("write on deleted handle = %v", err)
	}
	// Recreated empty.
	a2 := MustIndex(t, m, "a")
	if n, _ := a2.DocCount(); n != 0 {
		t.Errorf("recreated index has %d records", n)
	}
	if _, err := m.TaskStatus("a", task+1_000_000_000); !errors.Is(err, ErrTaskNotFound) {
		t.Errorf("TaskStatus(future) = %v", err)
	}
	if _, err := m.TaskStatus("a", 0); !errors.Is(err, ErrTaskNotFound) {
		t.Errorf("TaskStatus(0) = %v", err)
	}
	// Task ids are monotonic.
	t1, _ := MustWrite(t, b, add(`{"objectID":"x"}`))
	t2, _ := MustWrite(t, a2, add(`{"objectID":"x"}`))
	if t2 <= t1 || t1 <= task {
		t.Errorf("task ids not monotonic: %d %d %d", task, t1, t2)
	}
	// A second Manager on the same directory fails at once.
	if m2, err := Open(dir, nil); err == nil {
		_ = m2.Close()
		t.Error("second Open of the same data dir succeeded")
	}
}

func TestReopenKeepsSettingsAndData(t *testing.T) {
	dir := t.TempDir()
	m, _ := MustOpen(t, dir)
	ix := MustIndex(t, m, "keep")
	MustSettings(t, ix, `{"hitsPerPage":7,"attributesForFaceting":["brand"],"searchableAttributes":["title"]}`)
	waitPublished(t, m, ix)
	MustWrite(t, ix, add(`{"objectID":"1","title":"Hello","brand":"X"}`))
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
	m2, _ := MustOpen(t, dir)
	ix2, err := m2.Get("keep")
	if err != nil {
		t.Fatal(err)
	}
	s := ix2.Settings()
	if s.HitsPerPage != 7 || !slices.Equal(s.AttributesForFaceting, []string{"brand"}) || !slices.Equal(s.SearchableAttributes, []string{"title"}) {
		t.Errorf("settings after reopen = %+v", s)
	}
	if got := searchIDs(t, ix2, term(FacetField("brand"), "X")); !slices.Equal(got, []string{"1"}) {
		t.Errorf("facet search after reopen = %v", got)
	}
	if got := searchIDs(t, ix2, term(TextField("title"), "hello")); !slices.Equal(got, []string{"1"}) {
		t.Errorf("text search after reopen = %v", got)
	}
}
