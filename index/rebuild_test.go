package index

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/blevesearch/bleve/v2"
)

func countHits(t *testing.T, ix *Index, field, value string) int {
	t.Helper()
	req := bleve.NewSearchRequestOptions(term(field, value), 0, 0, false)
	res, err := ix.Search(context.Background(), req)
	if err != nil {
		t.Fatalf("Search: %v", err)
	}
	return int(res.Total)
}

// pauseRebuild makes the next rebuild of m stop after its snapshot copy until release is
// called; paused is closed when it stops.
func pauseRebuild(m *Manager) (paused <-chan struct{}, release func()) {
	p, r := make(chan struct{}), make(chan struct{})
	var once sync.Once
	m.rebuildHook = func(string) {
		once.Do(func() {
			close(p)
			<-r
		})
	}
	var ronce sync.Once
	return p, func() { ronce.Do(func() { close(r) }) }
}

func TestRebuildDuringWrites(t *testing.T) {
	m, _ := MustOpen(t, t.TempDir())
	ix := MustIndex(t, m, "rb")
	ctx := context.Background()
	const n = 300
	var ops []Op
	for i := range n {
		ops = append(ops, add(fmt.Sprintf(`{"objectID":"r%d","title":"item %d","brand":"B%d","n":0}`, i, i, i%3)))
	}
	MustWrite(t, ix, ops...)

	paused, release := pauseRebuild(m)
	defer release()
	task := MustSettings(t, ix, `{"attributesForFaceting":["brand"],"searchableAttributes":["title"]}`)
	if pub, err := m.TaskStatus("rb", task); err != nil || pub {
		t.Fatalf("TaskStatus right after SetSettings = %v, %v; want not published", pub, err)
	}
	<-paused

	// A writer that keeps going across the swap.
	stop := make(chan struct{})
	var increments, adds atomic.Int64
	var wg sync.WaitGroup
	wg.Go(func() {
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			_, _, err := ix.Write(ctx, []Op{
				{Action: ActionPartialUpdate, ObjectID: "ctr", Body: map[string]any{"n": map[string]any{"_operation": "Increment", "value": 1}}},
				add(fmt.Sprintf(`{"objectID":"w%d","title":"written during","brand":"W"}`, i)),
			})
			if err != nil {
				t.Error(err)
				return
			}
			increments.Add(1)
			adds.Add(1)
		}
	})

	// The old generation keeps answering: text search works, the new facet field does not
	// exist yet.
	if got := countHits(t, ix, TextField("title"), "item"); got != n {
		t.Errorf("during rebuild: %d hits for item, want %d", got, n)
	}
	if got := countHits(t, ix, FacetField("brand"), "B0"); got != 0 {
		t.Errorf("during rebuild: the new facet field already answers (%d hits)", got)
	}
	// Writes during the rebuild: increments (must apply exactly once), deletes, updates.
	for i := range 50 {
		MustWrite(t, ix, Op{Action: ActionPartialUpdate, ObjectID: fmt.Sprintf("r%d", i),
			Body: mustRecordNoTB(`{"n":{"_operation":"Increment","value":1}}`)})
	}
	var dels []Op
	for i := n - 50; i < n; i++ {
		dels = append(dels, Op{Action: ActionDelete, ObjectID: fmt.Sprintf("r%d", i)})
	}
	MustWrite(t, ix, dels...)
	MustWrite(t, ix, update(`{"objectID":"r100","title":"renamed","brand":"NEW"}`))
	if pub, _ := m.TaskStatus("rb", task); pub {
		t.Error("task published while the rebuild is paused")
	}
	release()
	waitPublished(t, m, ix)
	close(stop)
	wg.Wait()

	if pub, err := m.TaskStatus("rb", task); err != nil || !pub {
		t.Errorf("TaskStatus after the swap = %v, %v; want published", pub, err)
	}
	// Every write made during the rebuild is there, once.
	wantCount := uint64(n - 50 + 1 + int(adds.Load()))
	if c, _ := ix.DocCount(); c != wantCount {
		t.Errorf("DocCount = %d, want %d", c, wantCount)
	}
	for i := range n - 50 {
		if i == 100 {
			continue // replaced by the update above
		}
		rec := MustSource(t, ix, fmt.Sprintf("r%d", i))
		want := json.Number("0")
		if i < 50 {
			want = "1"
		}
		if rec == nil || rec["n"] != want {
			t.Fatalf("r%d = %v, want n=%s", i, rec, want)
		}
	}
	if ctr := MustSource(t, ix, "ctr"); ctr == nil || ctr["n"] != json.Number(fmt.Sprint(increments.Load())) {
		t.Errorf("ctr = %v, want n=%d", ctr, increments.Load())
	}
	for i := n - 50; i < n; i++ {
		if MustSource(t, ix, fmt.Sprintf("r%d", i)) != nil {
			t.Errorf("deleted r%d came back", i)
		}
	}
	// The new fields answer, with every record counted once.
	if got := countHits(t, ix, FacetField("brand"), "W"); got != int(adds.Load()) {
		t.Errorf("brand W: %d hits, want %d", got, adds.Load())
	}
	total := 0
	for _, b := range []string{"B0", "B1", "B2", "NEW"} {
		total += countHits(t, ix, FacetField("brand"), b)
	}
	if total != n-50 {
		t.Errorf("brand facet totals %d, want %d", total, n-50)
	}
	if got := countHits(t, ix, FacetLowerField("brand"), "new"); got != 1 {
		t.Errorf("fl.brand=new: %d", got)
	}
	if attrs := ix.SearchableAttributes(); len(attrs) != 1 || attrs[0].Field != "t.title" {
		t.Errorf("SearchableAttributes = %v", attrs)
	}
	// Exactly one generation directory is left.
	if gens := genDirs(t, ix); len(gens) != 1 {
		t.Errorf("generation dirs after swap: %v", gens)
	}
}

func TestRebuildWithClearAndSettingsChangedAgain(t *testing.T) {
	m, _ := MustOpen(t, t.TempDir())
	ix := MustIndex(t, m, "rb2")
	MustWrite(t, ix, add(`{"objectID":"a","brand":"X"}`), add(`{"objectID":"b","brand":"Y"}`))
	paused, release := pauseRebuild(m)
	defer release()
	t1 := MustSettings(t, ix, `{"attributesForFaceting":["brand"]}`)
	<-paused
	MustWrite(t, ix, Op{Action: ActionClear}, add(`{"objectID":"c","brand":"Z","color":"red"}`))
	// Settings change again: the running build is abandoned and another started.
	t2 := MustSettings(t, ix, `{"attributesForFaceting":["brand","color"]}`)
	release()
	waitPublished(t, m, ix)
	for _, task := range []int64{t1, t2} {
		if pub, err := m.TaskStatus("rb2", task); err != nil || !pub {
			t.Errorf("TaskStatus(%d) = %v, %v", task, pub, err)
		}
	}
	if got := searchIDs(t, ix, bleve.NewMatchAllQuery()); !slices.Equal(got, []string{"c"}) {
		t.Errorf("records after clear during rebuild = %v", got)
	}
	if countHits(t, ix, FacetField("color"), "red") != 1 || countHits(t, ix, FacetField("brand"), "Z") != 1 {
		t.Error("facets of the latest settings are not indexed")
	}
	// Back to no facets: a rebuild again; settings that need none publish at once.
	MustSettings(t, ix, `{"attributesForFaceting":null}`)
	waitPublished(t, m, ix)
	if countHits(t, ix, FacetField("brand"), "Z") != 0 {
		t.Error("facet still indexed after attributesForFaceting reset")
	}
	if gens := genDirs(t, ix); len(gens) != 1 {
		t.Errorf("generation dirs: %v", gens)
	}
}

func genDirs(t *testing.T, ix *Index) []string {
	t.Helper()
	entries, err := osReadDir(ix.dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range entries {
		if _, ok := parseGenDir(e); ok {
			out = append(out, e)
		}
	}
	return out
}
