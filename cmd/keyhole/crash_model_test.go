package main

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"math/rand/v2"
	"net/url"
	"reflect"
	"slices"
	"strings"
	"sync/atomic"
)

// rec is a record as JSON decodes it (numbers are float64).
type rec = map[string]any

var crashColors = []string{"red", "green", "blue", "black", "white"}

// crashWord is a letters-only word, unique per n, so that a text search finds one record.
func crashWord(n int) string {
	var b []byte
	for {
		b = append(b, byte('a'+n%26))
		n /= 26
		if n == 0 {
			break
		}
	}
	return "qx" + string(b)
}

// equalRec compares two records (nil: absent).
func equalRec(a, b rec) bool {
	if a == nil || b == nil {
		return a == nil && b == nil
	}
	return reflect.DeepEqual(a, b)
}

// stripHit removes what a search adds to a hit (_highlightResult, _snippetResult, ...).
func stripHit(h rec) rec {
	out := rec{}
	for k, v := range h {
		if !strings.HasPrefix(k, "_") {
			out[k] = v
		}
	}
	return out
}

// crashWriter streams batches to one index over its own objectIDs (no two writers touch the
// same record), one batch at a time, and keeps the model of its acknowledged records.
type crashWriter struct {
	n        int
	index    string
	rng      *rand.Rand
	maxOps   int
	model    map[string]rec  // acknowledged state: present records
	pool     []string        // objectIDs it picks from
	gen      map[string]bool // objectIDs the server generated (addObject without objectID)
	pending  *crashBatch     // the batch whose answer never came
	inFlight atomic.Int32

	ackedBatches, ackedOps int
	applied, absent, moot  int // outcomes of unanswered batches
}

// crashBatch is one batch and its effect on the writer's records.
type crashBatch struct {
	marker int
	reqs   []rec
	pre    map[string]rec // touched objectID -> state before (nil: absent)
	post   map[string]rec // touched objectID -> state after (nil: absent)
	noIDAt []int          // indexes in reqs of addObject without objectID
	noID   []rec          // their records (without objectID)
}

func newCrashWriter(n int, index string, poolSize, maxOps int, seed uint64) *crashWriter {
	w := &crashWriter{n: n, index: index, rng: rand.New(rand.NewPCG(seed, uint64(n))), maxOps: maxOps,
		model: map[string]rec{}, gen: map[string]bool{}}
	for k := range poolSize {
		w.pool = append(w.pool, fmt.Sprintf("w%d-%d", n, k))
	}
	return w
}

func (w *crashWriter) fullRecord(marker int, id string, word int) rec {
	r := rec{
		"w":      float64(w.n),
		"b":      float64(marker),
		"title":  "crash record " + crashWord(word),
		"body":   fmt.Sprintf("written by batch %d", marker),
		"tenant": fmt.Sprintf("t%d", w.n%3),
		"color":  crashColors[w.rng.IntN(len(crashColors))],
	}
	if id != "" {
		r["objectID"] = id
	}
	return r
}

// nextBatch builds a batch of random operations, marked with marker (every record it
// writes carries b = marker).
func (w *crashWriter) nextBatch(marker int) *crashBatch {
	b := &crashBatch{marker: marker, pre: map[string]rec{}, post: map[string]rec{}}
	state := func(id string) rec {
		if r, ok := b.post[id]; ok {
			return r
		}
		return w.model[id]
	}
	set := func(id string, r rec) {
		if _, ok := b.pre[id]; !ok {
			b.pre[id] = w.model[id]
		}
		b.post[id] = r
	}
	gens := slices.Sorted(maps.Keys(w.gen))
	size := 1 + w.rng.IntN(w.maxOps)
	for i := range size {
		id := w.pool[w.rng.IntN(len(w.pool))]
		if len(gens) > 0 && w.rng.IntN(5) == 0 {
			id = gens[w.rng.IntN(len(gens))]
		}
		switch k := w.rng.IntN(100); {
		case k < 6: // addObject without objectID: the server generates it
			r := w.fullRecord(marker, "", marker*1000+i+1)
			b.noIDAt = append(b.noIDAt, len(b.reqs))
			b.noID = append(b.noID, r)
			b.reqs = append(b.reqs, rec{"action": "addObject", "body": maps.Clone(r)})
		case k < 40:
			var num int
			fmt.Sscanf(id[strings.IndexByte(id, '-')+1:], "%d", &num)
			r := w.fullRecord(marker, id, w.n*100000+num)
			action := "updateObject"
			if k < 20 {
				action = "addObject"
			}
			b.reqs = append(b.reqs, rec{"action": action, "body": maps.Clone(r)})
			set(id, r)
		case k < 75:
			color := crashColors[w.rng.IntN(len(crashColors))]
			b.reqs = append(b.reqs, rec{"action": "partialUpdateObject", "body": rec{
				"objectID": id, "w": float64(w.n), "b": float64(marker), "color": color,
				"n": rec{"_operation": "Increment", "value": 1},
			}})
			cur := state(id)
			nr := rec{"objectID": id}
			if cur != nil {
				nr = maps.Clone(cur)
			}
			n, _ := nr["n"].(float64)
			nr["w"], nr["b"], nr["color"], nr["n"] = float64(w.n), float64(marker), color, n+1
			set(id, nr)
		default:
			b.reqs = append(b.reqs, rec{"action": "deleteObject", "body": rec{"objectID": id}})
			set(id, nil)
		}
	}
	return b
}

// ack applies an acknowledged batch to the model.
func (w *crashWriter) ack(b *crashBatch, objectIDs []string) error {
	if len(objectIDs) != len(b.reqs) {
		return fmt.Errorf("batch %d: %d objectIDs for %d operations", b.marker, len(objectIDs), len(b.reqs))
	}
	for id, r := range b.post {
		w.setModel(id, r)
	}
	for j, at := range b.noIDAt {
		id := objectIDs[at]
		r := maps.Clone(b.noID[j])
		r["objectID"] = id
		w.gen[id] = true
		w.setModel(id, r)
	}
	w.ackedBatches++
	w.ackedOps += len(b.reqs)
	return nil
}

func (w *crashWriter) setModel(id string, r rec) {
	if r == nil {
		delete(w.model, id)
		if w.gen[id] {
			delete(w.gen, id) // forget deleted generated records: the pool stays bounded
		}
		return
	}
	w.model[id] = r
}

// run streams batches until ctx ends or the server stops answering (the batch then stays
// pending). An unexpected status is returned as an error.
func (w *crashWriter) run(ctx context.Context, p *serverProc, admin string, marker *atomic.Int64) error {
	for ctx.Err() == nil {
		b := w.nextBatch(int(marker.Add(1)))
		w.pending = b
		w.inFlight.Add(1)
		status, data, err := p.call(ctx, "POST", "/1/indexes/"+url.PathEscape(w.index)+"/batch", admin, rec{"requests": b.reqs})
		w.inFlight.Add(-1)
		if err != nil {
			return nil // killed: the batch's outcome is unknown, resolved after the restart
		}
		if status != 200 {
			return fmt.Errorf("writer %d: batch %d: status %d: %s", w.n, b.marker, status, data)
		}
		var res struct {
			ObjectIDs []string `json:"objectIDs"`
		}
		if err := json.Unmarshal(data, &res); err != nil {
			return fmt.Errorf("writer %d: batch %d: %s: %v", w.n, b.marker, data, err)
		}
		if err := w.ack(b, res.ObjectIDs); err != nil {
			return err
		}
		w.pending = nil
	}
	return nil
}

// multiGet reads records through POST /1/indexes/*/objects (nil: absent).
func multiGet(ctx context.Context, p *serverProc, admin, index string, ids []string) (map[string]rec, error) {
	out := map[string]rec{}
	for len(ids) > 0 {
		chunk := ids[:min(len(ids), 500)]
		ids = ids[len(chunk):]
		reqs := make([]rec, len(chunk))
		for i, id := range chunk {
			reqs[i] = rec{"indexName": index, "objectID": id}
		}
		var res struct {
			Results []rec `json:"results"`
		}
		if err := p.mustJSON(ctx, "POST", "/1/indexes/*/objects", admin, rec{"requests": reqs}, &res); err != nil {
			return nil, err
		}
		if len(res.Results) != len(chunk) {
			return nil, fmt.Errorf("objects: %d results for %d requests", len(res.Results), len(chunk))
		}
		for i, id := range chunk {
			out[id] = res.Results[i]
		}
	}
	return out, nil
}

// searchHits runs a search and returns its hits (stripped) by objectID.
func searchHits(ctx context.Context, p *serverProc, key, index string, params rec) (map[string]rec, error) {
	var res struct {
		Hits   []rec `json:"hits"`
		NbHits int   `json:"nbHits"`
	}
	params = maps.Clone(params)
	params["hitsPerPage"] = 1000
	if err := p.mustJSON(ctx, "POST", "/1/indexes/"+url.PathEscape(index)+"/query", key, params, &res); err != nil {
		if isStatus(err, 404) && strings.Contains(err.Error(), "does not exist") {
			return map[string]rec{}, nil // no index yet: no records
		}
		return nil, err
	}
	if res.NbHits > len(res.Hits) {
		return nil, fmt.Errorf("search %v on %s: %d hits, more than one page", params, index, res.NbHits)
	}
	out := map[string]rec{}
	for _, h := range res.Hits {
		id, _ := h["objectID"].(string)
		out[id] = stripHit(h)
	}
	return out, nil
}

// resolve decides, after a restart, what became of the batch whose answer never came: it
// must be entirely applied or entirely absent. The model then follows what the server has.
func (w *crashWriter) resolve(ctx context.Context, p *serverProc, admin string) (string, error) {
	b := w.pending
	if b == nil {
		return "", nil
	}
	w.pending = nil
	ids := slices.Sorted(maps.Keys(b.post))
	got, err := multiGet(ctx, p, admin, w.index, ids)
	if err != nil {
		return "", err
	}
	var applied, absent []string
	for _, id := range ids {
		pre, post, cur := b.pre[id], b.post[id], got[id]
		switch {
		case equalRec(pre, post):
			// no visible effect (e.g. deleting a missing record)
		case equalRec(cur, post):
			applied = append(applied, id)
		case equalRec(cur, pre):
			absent = append(absent, id)
		default:
			return "", fmt.Errorf("batch %d (unanswered): record %s is neither its state before nor after the batch:\n got    %v\n before %v\n after  %v",
				b.marker, id, cur, pre, post)
		}
	}
	// Records added without an objectID: find them by their batch marker.
	hits, err := searchHits(ctx, p, admin, w.index, rec{"query": "", "filters": fmt.Sprintf("b = %d AND w = %d", b.marker, w.n)})
	if err != nil {
		return "", err
	}
	var genIDs []string
	for id := range hits {
		if _, ok := b.post[id]; !ok {
			genIDs = append(genIDs, id)
		}
	}
	if len(genIDs) != 0 && len(genIDs) != len(b.noID) {
		return "", fmt.Errorf("batch %d (unanswered): %d of its %d generated-id records are present", b.marker, len(genIDs), len(b.noID))
	}
	genApplied := len(b.noID) > 0 && len(genIDs) == len(b.noID)
	genAbsent := len(b.noID) > 0 && len(genIDs) == 0
	if (len(applied) > 0 || genApplied) && (len(absent) > 0 || genAbsent) {
		return "", fmt.Errorf("batch %d (unanswered) is half applied: applied to %v (and %d generated), not to %v (generated absent: %v)",
			b.marker, applied, len(genIDs), absent, genAbsent)
	}
	if len(applied) == 0 && !genApplied {
		if len(absent) == 0 && !genAbsent {
			w.moot++
			return "indistinguishable", nil
		}
		w.absent++
		return "absent", nil
	}
	for id, r := range b.post {
		w.setModel(id, r)
	}
	used := map[int]bool{}
	for _, id := range genIDs {
		h := maps.Clone(hits[id])
		delete(h, "objectID")
		found := false
		for j, r := range b.noID {
			if !used[j] && equalRec(h, r) {
				used[j], found = true, true
				break
			}
		}
		if !found {
			return "", fmt.Errorf("batch %d (unanswered): generated record %s = %v matches none of the batch", b.marker, id, hits[id])
		}
		r := maps.Clone(hits[id])
		w.gen[id] = true
		w.setModel(id, r)
	}
	w.applied++
	return "applied", nil
}

// verify checks every record of the writer against the model: stored (read by id), findable
// by a filter, and findable by a word of its title.
func (w *crashWriter) verify(ctx context.Context, p *serverProc, admin string) error {
	idset := map[string]bool{}
	for _, id := range w.pool {
		idset[id] = true
	}
	for id := range w.gen {
		idset[id] = true
	}
	for id := range w.model {
		idset[id] = true
	}
	ids := slices.Sorted(maps.Keys(idset))
	got, err := multiGet(ctx, p, admin, w.index, ids)
	if err != nil {
		return err
	}
	var errs []string
	for _, id := range ids {
		if want := w.model[id]; !equalRec(got[id], want) {
			if want == nil {
				errs = append(errs, fmt.Sprintf("record %s was deleted (acknowledged) but is back: %v", id, got[id]))
			} else {
				errs = append(errs, fmt.Sprintf("record %s: want %v, got %v", id, want, got[id]))
			}
		}
	}
	hits, err := searchHits(ctx, p, admin, w.index, rec{"query": "", "filters": fmt.Sprintf("w = %d", w.n)})
	if err != nil {
		return err
	}
	for id, want := range w.model {
		if h, ok := hits[id]; !ok {
			errs = append(errs, fmt.Sprintf("record %s is stored but not found by the filter w = %d", id, w.n))
		} else if !equalRec(h, want) {
			errs = append(errs, fmt.Sprintf("record %s: search hit %v, want %v", id, h, want))
		}
	}
	for id := range hits {
		if w.model[id] == nil {
			errs = append(errs, fmt.Sprintf("search finds record %s, which should not exist", id))
		}
	}
	// A few records by a word of their title (searchable, not just stored).
	var titled []string
	for _, id := range slices.Sorted(maps.Keys(w.model)) {
		if _, ok := w.model[id]["title"].(string); ok {
			titled = append(titled, id)
		}
	}
	for range min(3, len(titled)) {
		id := titled[w.rng.IntN(len(titled))]
		title := w.model[id]["title"].(string)
		word := title[strings.LastIndexByte(title, ' ')+1:]
		hits, err := searchHits(ctx, p, admin, w.index, rec{"query": word, "filters": fmt.Sprintf("w = %d", w.n)})
		if err != nil {
			return err
		}
		if _, ok := hits[id]; !ok {
			errs = append(errs, fmt.Sprintf("record %s is not found by the word %q of its title", id, word))
		}
	}
	if len(errs) > 0 {
		if len(errs) > 20 {
			errs = append(errs[:20], fmt.Sprintf("... and %d more", len(errs)-20))
		}
		return fmt.Errorf("writer %d (%s):\n  %s", w.n, w.index, strings.Join(errs, "\n  "))
	}
	return nil
}
