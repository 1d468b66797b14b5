package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/blevesearch/bleve/v2"
	"github.com/blevesearch/bleve/v2/analysis/analyzer/standard"
	"github.com/blevesearch/bleve/v2/index/scorch"
)

// rawBleveIngest is the ingest baseline: the records in batches into one Bleve index
// in-process, with the same fields keyhole indexes (searchable attributes as text, facets as
// keywords with doc values, numbers as numeric fields, the record stored as JSON) and the
// same durability (no unsafe_batch: Batch returns once persisted). It returns records/s.
func rawBleveIngest(dir string, recs []map[string]any, searchable, facets []string, batch int) (float64, error) {
	im := bleve.NewIndexMapping()
	dm := bleve.NewDocumentStaticMapping()
	txt := bleve.NewTextFieldMapping()
	txt.Analyzer, txt.Store, txt.IncludeInAll, txt.IncludeTermVectors = standard.Name, false, false, false
	kw := bleve.NewKeywordFieldMapping()
	kw.Store, kw.IncludeInAll, kw.IncludeTermVectors, kw.DocValues = false, false, false, true
	num := bleve.NewNumericFieldMapping()
	num.Store, num.IncludeInAll, num.DocValues = false, false, true
	src := bleve.NewTextFieldMapping()
	src.Index, src.Store, src.IncludeInAll, src.DocValues = false, true, false, false
	for _, f := range searchable {
		dm.AddFieldMappingsAt(f, txt)
	}
	for _, f := range facets {
		dm.AddFieldMappingsAt(f, kw)
	}
	numeric := map[string]bool{}
	for _, rec := range recs[:min(len(recs), 100)] {
		for k, v := range rec {
			if _, ok := v.(json.Number); ok && !slices.Contains(facets, k) {
				numeric[k] = true
			}
		}
	}
	for f := range numeric {
		dm.AddFieldMappingsAt("n_"+f, num)
	}
	dm.AddFieldMappingsAt("_source", src)
	im.DefaultMapping = dm

	start := time.Now()
	idx, err := bleve.NewUsing(dir, im, scorch.Name, bleve.Config.DefaultKVStore, map[string]any{})
	if err != nil {
		return 0, err
	}
	b := idx.NewBatch()
	for i, rec := range recs {
		doc := map[string]any{}
		for k, v := range rec {
			switch x := v.(type) {
			case json.Number:
				if numeric[k] {
					f, _ := x.Float64()
					doc["n_"+k] = f
				} else {
					doc[k] = x.String()
				}
			default:
				doc[k] = v
			}
		}
		js, _ := json.Marshal(rec)
		doc["_source"] = string(js)
		if err := b.Index(rec["objectID"].(string), doc); err != nil {
			return 0, err
		}
		if b.Size() >= batch || i == len(recs)-1 {
			if err := idx.Batch(b); err != nil {
				return 0, err
			}
			b.Reset()
		}
	}
	n, _ := idx.DocCount()
	took := time.Since(start)
	if err := idx.Close(); err != nil {
		return 0, err
	}
	if int(n) != len(recs) {
		return 0, fmt.Errorf("raw bleve holds %d documents, want %d", n, len(recs))
	}
	return float64(len(recs)) / took.Seconds(), nil
}

// apiIngest creates index with settings, sends recs through the batch API with senders
// requests in flight, and returns records/s from the first batch until an empty query finds
// every record ("all searchable").
func apiIngest(ctx context.Context, a *client, index string, settings map[string]any, recs []map[string]any, batch, senders int) (float64, error) {
	if err := a.setSettings(ctx, index, settings); err != nil {
		return 0, err
	}
	type req struct {
		Action string         `json:"action"`
		Body   map[string]any `json:"body"`
	}
	start := time.Now()
	batches := make(chan []map[string]any)
	var (
		mu    sync.Mutex
		tasks []int64
		first error
		wg    sync.WaitGroup
	)
	for range senders {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for b := range batches {
				rs := make([]req, len(b))
				for i, rec := range b {
					rs[i] = req{"addObject", rec}
				}
				var out struct {
					TaskID int64 `json:"taskID"`
				}
				err := a.call(ctx, http.MethodPost, "/1/indexes/"+index+"/batch", map[string]any{"requests": rs}, &out)
				mu.Lock()
				if err != nil && first == nil {
					first = err
				}
				tasks = append(tasks, out.TaskID)
				mu.Unlock()
			}
		}()
	}
	for i := 0; i < len(recs); i += batch {
		batches <- recs[i:min(i+batch, len(recs))]
	}
	close(batches)
	wg.Wait()
	if first != nil {
		return 0, first
	}
	for _, t := range tasks {
		if err := a.waitTask(ctx, index, t); err != nil {
			return 0, err
		}
	}
	n, err := a.nbHits(ctx, index)
	if err != nil {
		return 0, err
	}
	took := time.Since(start)
	if n != len(recs) {
		return 0, fmt.Errorf("index %s: an empty query finds %d records after ingest, want %d", index, n, len(recs))
	}
	return float64(len(recs)) / took.Seconds(), nil
}
