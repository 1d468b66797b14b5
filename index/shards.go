package index

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/blevesearch/bleve/v2"
	"github.com/blevesearch/bleve/v2/document"
	bindex "github.com/blevesearch/bleve_index_api"
)

// routing is the in-memory state of a partitioned generation: where each record lives and
// how many records each tenant has. It is built at open from the shards' tenant terms (no
// stored document is read, except for the rare duplicates a crash leaves) and kept up to
// date by writeDocs. Writes to one generation are serialized (the index's writeMu, or the
// rebuild goroutine that alone writes a generation being built), so the writer reads it
// without lock and write-locks mu only to change it; readers read-lock mu.
type routing struct {
	mu         sync.RWMutex
	ids        map[string]loc
	terms      []string          // tenant term by number
	termNum    map[string]uint32 // tenant term -> number
	termCount  []int             // records per tenant term
	shardCount []int             // records per shard
	seq        uint64            // the last write sequence number used
	// relayoutAsked is set once a tenant of a shared shard outgrew it (one rebuild per
	// generation at most).
	relayoutAsked bool
}

// loc is where one record lives: its shard and its tenant term number.
type loc struct {
	shard  uint16
	tenant uint32
}

func newRouting(shards int) *routing {
	return &routing{ids: map[string]loc{}, termNum: map[string]uint32{}, shardCount: make([]int, shards)}
}

func (rt *routing) intern(term string) uint32 {
	if n, ok := rt.termNum[term]; ok {
		return n
	}
	n := uint32(len(rt.terms))
	rt.terms = append(rt.terms, term)
	rt.termNum[term] = n
	rt.termCount = append(rt.termCount, 0)
	return n
}

func (rt *routing) shardOfID(id string) (int, bool) {
	rt.mu.RLock()
	defer rt.mu.RUnlock()
	l, ok := rt.ids[id]
	return int(l.shard), ok
}

// loadRouting builds g.rt from the shards. A record found in two shards (a crash between the
// batches of a move) keeps the copy with the higher write sequence number; the other is
// deleted before the generation serves.
func (g *generation) loadRouting(logger *slog.Logger) error {
	rt := newRouting(len(g.shards))
	type dup struct {
		id   string
		a, b int // shards
	}
	var dups []dup
	for si, sh := range g.shards {
		if v, err := sh.idx.GetInternal([]byte(seqInternalKey)); err != nil {
			return err
		} else if v != nil {
			n, err := strconv.ParseUint(string(v), 10, 64)
			if err != nil {
				return fmt.Errorf("shard %s: bad sequence number: %w", sh.name, err)
			}
			rt.seq = max(rt.seq, n)
		}
		err := withReader(sh.idx, func(r bindex.IndexReader) error {
			dict, err := r.FieldDict(tenantField)
			if err != nil {
				return err
			}
			var terms []string
			for {
				e, err := dict.Next()
				if err != nil {
					_ = dict.Close()
					return err
				}
				if e == nil {
					break
				}
				terms = append(terms, e.Term)
			}
			if err := dict.Close(); err != nil {
				return err
			}
			for _, term := range terms {
				tn := rt.intern(term)
				tfr, err := r.TermFieldReader(context.Background(), []byte(term), tenantField, false, false, false)
				if err != nil {
					return err
				}
				var tfd *bindex.TermFieldDoc
				for {
					tfd, err = tfr.Next(tfd)
					if err != nil || tfd == nil {
						break
					}
					id, err2 := r.ExternalID(tfd.ID)
					if err2 != nil {
						err = err2
						break
					}
					if prev, ok := rt.ids[id]; ok {
						dups = append(dups, dup{id: id, a: int(prev.shard), b: si})
						continue
					}
					rt.ids[id] = loc{shard: uint16(si), tenant: tn}
					rt.termCount[tn]++
					rt.shardCount[si]++
				}
				if cerr := tfr.Close(); err == nil {
					err = cerr
				}
				if err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return fmt.Errorf("shard %s: %w", sh.name, err)
		}
	}
	if len(dups) > 0 {
		if err := g.reconcile(rt, logger, func(yield func(id string, a, b int) bool) {
			for _, d := range dups {
				if !yield(d.id, d.a, d.b) {
					return
				}
			}
		}); err != nil {
			return err
		}
	}
	g.rt = rt
	return nil
}

// reconcile deletes, for each record present in shards a and b, the copy with the lower
// sequence number. rt maps the id to shard a on entry.
func (g *generation) reconcile(rt *routing, logger *slog.Logger, dups func(func(id string, a, b int) bool)) error {
	batches := make([]*bleve.Batch, len(g.shards))
	n := 0
	var err error
	dups(func(id string, a, b int) bool {
		var sa, sb uint64
		if sa, err = readSeq(g.shards[a].idx, id); err != nil {
			return false
		}
		if sb, err = readSeq(g.shards[b].idx, id); err != nil {
			return false
		}
		drop, keep := a, b
		if sa > sb {
			drop, keep = b, a
		}
		if batches[drop] == nil {
			batches[drop] = g.shards[drop].idx.NewBatch()
		}
		batches[drop].Delete(id)
		if keep != a {
			l := rt.ids[id]
			rt.shardCount[a]--
			rt.termCount[l.tenant]--
			// The kept copy's tenant term: read it back from the shard.
			term, terr := g.readTenantTerm(g.shards[keep].idx, id)
			if terr != nil {
				err = terr
				return false
			}
			tn := rt.intern(term)
			rt.ids[id] = loc{shard: uint16(keep), tenant: tn}
			rt.termCount[tn]++
			rt.shardCount[keep]++
		}
		n++
		return true
	})
	if err != nil {
		return err
	}
	for i, b := range batches {
		if b == nil {
			continue
		}
		if err := g.shards[i].idx.Batch(b); err != nil {
			return err
		}
		if err := syncDir(g.shards[i].storeDir()); err != nil {
			return err
		}
	}
	logger.Warn("removed the older copy of records found in two shards (a crash during a move)",
		"dir", g.dir, "records", n)
	return nil
}

func readSeq(idx bleve.Index, id string) (uint64, error) {
	d, err := idx.Document(id)
	if err != nil || d == nil {
		return 0, err
	}
	var seq uint64
	d.VisitFields(func(f bindex.Field) {
		if f.Name() == seqField {
			seq, _ = strconv.ParseUint(string(f.Value()), 10, 64)
		}
	})
	return seq, nil
}

// readTenantTerm finds the tenant term of a stored record by recomputing it from its source.
func (g *generation) readTenantTerm(idx bleve.Index, id string) (string, error) {
	d, err := idx.Document(id)
	if err != nil {
		return "", err
	}
	src := sourceOf(d)
	if src == nil {
		return "", fmt.Errorf("record %q has no source", id)
	}
	rec, err := DecodeRecord(src)
	if err != nil {
		return "", fmt.Errorf("record %q: %w", id, err)
	}
	k, mixed, err := tenantKeyOf(rec, g.layout.Attr)
	if err != nil {
		return "", fmt.Errorf("record %q: %w", id, err)
	}
	return tenantTerm(k, mixed), nil
}

func withReader(idx bleve.Index, fn func(r bindex.IndexReader) error) error {
	ai, err := idx.Advanced()
	if err != nil {
		return err
	}
	r, err := ai.Reader()
	if err != nil {
		return err
	}
	defer r.Close()
	return fn(r)
}

// put is one record to index: its id, its document and its tenant key.
type put struct {
	id    string
	doc   *document.Document
	key   string
	mixed bool
}

// newPut builds the put of a record for g: its document for g.spec and, when g is
// partitioned, its tenant key.
func (g *generation) newPut(m *Manager, id string, rec map[string]any, src []byte, userErrors bool) (put, error) {
	var doc *document.Document
	var err error
	if userErrors {
		doc, err = m.makeDocument(id, rec, g.spec)
	} else {
		doc, err = buildDocument(id, rec, src, g.spec, m.analyzer.a)
	}
	if err != nil {
		return put{}, err
	}
	p := put{id: id, doc: doc}
	if g.layout != nil {
		p.key, p.mixed, err = tenantKeyOf(rec, g.layout.Attr)
		if err != nil {
			return put{}, err
		}
	}
	return p, nil
}

// writeDocs applies one write to g: when cleared, every record is deleted first; then puts
// are indexed and dels deleted. It returns after the change is durable. Unpartitioned, it is
// one Bleve batch. Partitioned, it is one batch per shard touched, in parallel; a record
// that changes shard is first indexed in its new shard, and deleted from its old one only
// after that is durable (a crash in between leaves two copies, which loadRouting
// reconciles); such a write excludes searches of g meanwhile. relayout reports that a tenant
// of a shared shard outgrew 2× tenantOwnShardMin. Writes to g must be serialized.
func (g *generation) writeDocs(cleared bool, puts []put, dels []string) (relayout bool, err error) {
	if g.layout == nil {
		sh := g.shards[0]
		b := sh.idx.NewBatch()
		if cleared {
			ids, err := allIDs(sh.idx)
			if err != nil {
				return false, err
			}
			for _, id := range ids {
				b.Delete(id)
			}
		}
		for _, p := range puts {
			if err := b.IndexAdvanced(p.doc); err != nil {
				return false, errorf(ErrInvalidObject, "objectID %q: %v", p.id, err)
			}
		}
		for _, id := range dels {
			b.Delete(id)
		}
		if b.Size() == 0 {
			return false, nil
		}
		if err := sh.idx.Batch(b); err != nil {
			return false, err
		}
		// Scorch fsyncs the new segment file and root.bolt, not the directory holding them.
		return false, syncDir(sh.storeDir())
	}
	return g.writePartitioned(cleared, puts, dels)
}

func (g *generation) writePartitioned(cleared bool, puts []put, dels []string) (bool, error) {
	rt, lay := g.rt, g.layout
	seq := rt.seq + 1
	seqText := []byte(strconv.FormatUint(seq, 10))
	n := len(g.shards)
	phase1, phase2 := make([]*bleve.Batch, n), make([]*bleve.Batch, n)
	batch := func(bs []*bleve.Batch, i int) *bleve.Batch {
		if bs[i] == nil {
			bs[i] = g.shards[i].idx.NewBatch()
		}
		return bs[i]
	}
	targets := make(map[string]int, len(puts))
	terms := make([]string, len(puts))
	moved := false
	for i, p := range puts {
		t := mixedShard
		if !p.mixed {
			t = lay.shardOf(p.key)
		}
		targets[p.id] = t
		terms[i] = tenantTerm(p.key, p.mixed)
		p.doc.AddField(document.NewTextFieldCustom(tenantField, nil, []byte(terms[i]), bindex.IndexField, nil))
		p.doc.AddField(document.NewTextFieldCustom(seqField, nil, seqText, bindex.StoreField, nil))
		if err := batch(phase1, t).IndexAdvanced(p.doc); err != nil {
			return false, errorf(ErrInvalidObject, "objectID %q: %v", p.id, err)
		}
		if cur, ok := rt.ids[p.id]; ok && int(cur.shard) != t {
			// Deleted from its old shard only once the new copy is durable.
			batch(phase2, int(cur.shard)).Delete(p.id)
			moved = true
		}
	}
	if cleared {
		for id, l := range rt.ids {
			if _, ok := targets[id]; !ok {
				batch(phase1, int(l.shard)).Delete(id)
			}
		}
	}
	for _, id := range dels {
		if _, ok := targets[id]; ok {
			continue // not produced by Write (one state per id), kept safe anyway
		}
		if cur, ok := rt.ids[id]; ok && !cleared {
			batch(phase1, int(cur.shard)).Delete(id)
		}
	}
	for _, bs := range [][]*bleve.Batch{phase1, phase2} {
		for _, b := range bs {
			if b != nil {
				b.SetInternal([]byte(seqInternalKey), seqText)
			}
		}
	}
	if moved {
		g.use.Lock()
		defer g.use.Unlock()
	}
	if err := g.runBatches(phase1); err != nil {
		return false, err
	}
	if moved && g.midMove != nil {
		g.midMove()
	}
	if err := g.runBatches(phase2); err != nil {
		return false, err
	}

	rt.mu.Lock()
	defer rt.mu.Unlock()
	rt.seq = seq
	if cleared {
		clear(rt.ids)
		clear(rt.termCount)
		clear(rt.shardCount)
	}
	for _, id := range dels {
		if cur, ok := rt.ids[id]; ok {
			if _, put := targets[id]; !put {
				delete(rt.ids, id)
				rt.termCount[cur.tenant]--
				rt.shardCount[cur.shard]--
			}
		}
	}
	relayout := false
	for i, p := range puts {
		if cur, ok := rt.ids[p.id]; ok {
			rt.termCount[cur.tenant]--
			rt.shardCount[cur.shard]--
		}
		tn := rt.intern(terms[i])
		t := targets[p.id]
		rt.ids[p.id] = loc{shard: uint16(t), tenant: tn}
		rt.termCount[tn]++
		rt.shardCount[t]++
		if lay.isShared(t) && !rt.relayoutAsked && len(lay.Own) < MaxOwnShards &&
			rt.termCount[tn] > 2*g.spec.Tenant.OwnShardMin {
			rt.relayoutAsked, relayout = true, true
		}
	}
	return relayout, nil
}

// runBatches runs the non-nil batches on their shards in parallel and makes them durable.
func (g *generation) runBatches(bs []*bleve.Batch) error {
	var wg sync.WaitGroup
	errs := make([]error, len(bs))
	for i, b := range bs {
		if b == nil {
			continue
		}
		sh := g.shards[i]
		wg.Go(func() {
			if err := sh.idx.Batch(b); err != nil {
				errs[i] = fmt.Errorf("shard %s: %w", sh.name, err)
				return
			}
			// Scorch fsyncs the new segment file and root.bolt, not the directory holding them.
			errs[i] = syncDir(sh.storeDir())
		})
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// shardsFor returns the shards a search restricted to the given tenant keys must read (nil:
// every shard): the shard of each tenant, plus the mixed shard unless it is empty.
func (g *generation) shardsFor(tenants []string) []*shard {
	if g.layout == nil || tenants == nil {
		return g.shards
	}
	var pick []int
	for _, k := range tenants {
		pick = append(pick, g.layout.shardOf(k))
	}
	g.rt.mu.RLock()
	mixedUsed := g.rt.shardCount[mixedShard] > 0
	g.rt.mu.RUnlock()
	if mixedUsed || len(pick) == 0 {
		pick = append(pick, mixedShard)
	}
	slices.Sort(pick)
	pick = slices.Compact(pick)
	out := make([]*shard, len(pick))
	for i, s := range pick {
		out[i] = g.shards[s]
	}
	return out
}

// docCount returns the number of records of g.
func (g *generation) docCount() (uint64, error) {
	var n uint64
	for _, s := range g.shards {
		c, err := s.idx.DocCount()
		if err != nil {
			return 0, err
		}
		n += c
	}
	return n, nil
}

// fields returns the union of the shards' field names.
func (g *generation) fields() ([]string, error) {
	var all []string
	for _, s := range g.shards {
		f, err := s.idx.Fields()
		if err != nil {
			return nil, err
		}
		all = append(all, f...)
	}
	slices.Sort(all)
	return slices.Compact(all), nil
}

// forEachRecord calls fn with the id and stored JSON of every record of a snapshot of each
// shard of g (shard after shard).
func (g *generation) forEachRecord(ctx context.Context, fn func(id string, src []byte) error) error {
	for _, sh := range g.shards {
		err := withReader(sh.idx, func(r bindex.IndexReader) error {
			return forEachID(r, func(id string) error {
				if err := ctx.Err(); err != nil {
					return err
				}
				d, err := r.Document(id)
				if err != nil {
					return err
				}
				if src := sourceOf(d); src != nil {
					return fn(id, src)
				}
				return nil
			})
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// tenantCounts counts the records of each tenant key of g for tenant attribute attr (mixed
// records are not counted): from the routing state when g is partitioned by attr, else by
// reading every record.
func (g *generation) tenantCounts(ctx context.Context, attr string) (map[string]int, error) {
	counts := map[string]int{}
	if g.layout != nil && g.layout.Attr == attr {
		g.rt.mu.RLock()
		defer g.rt.mu.RUnlock()
		for i, t := range g.rt.terms {
			if k, ok := strings.CutPrefix(t, tenantTermStart); ok && g.rt.termCount[i] > 0 {
				counts[k] = g.rt.termCount[i]
			}
		}
		return counts, nil
	}
	err := g.forEachRecord(ctx, func(id string, src []byte) error {
		rec, err := DecodeRecord(src)
		if err != nil {
			return fmt.Errorf("record %q: %w", id, err)
		}
		k, mixed, err := tenantKeyOf(rec, attr)
		if err != nil {
			return fmt.Errorf("record %q: %w", id, err)
		}
		if !mixed {
			counts[k]++
		}
		return nil
	})
	return counts, err
}

// relayoutWanted reports whether a tenant of a shared shard has outgrown it (checked at
// open, so that a rebuild asked for before a restart is asked for again).
func (g *generation) relayoutWanted() bool {
	if g.layout == nil || len(g.layout.Own) >= MaxOwnShards {
		return false
	}
	g.rt.mu.Lock()
	defer g.rt.mu.Unlock()
	for i, t := range g.rt.terms {
		k, ok := strings.CutPrefix(t, tenantTermStart)
		if ok && g.rt.termCount[i] > 2*g.spec.Tenant.OwnShardMin && g.layout.isShared(g.layout.shardOf(k)) {
			g.rt.relayoutAsked = true
			return true
		}
	}
	return false
}

// ShardReads returns, for each shard of the serving generation (by name; "" when the index
// is unpartitioned), how many searches have read it since it was opened. It is a diagnostic:
// tests check routing with it.
func (ix *Index) ShardReads() map[string]int64 {
	g, err := ix.acquire()
	if err != nil {
		return nil
	}
	defer g.release()
	out := make(map[string]int64, len(g.shards))
	for _, sh := range g.shards {
		out[sh.name] = sh.searches.Load()
	}
	return out
}
