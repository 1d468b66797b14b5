package index

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/blevesearch/bleve/v2"
	"github.com/blevesearch/bleve/v2/document"
)

// Index is one named index. It is safe for concurrent use: searches and reads run in
// parallel; writes and settings changes are serialized per index.
type Index struct {
	m    *Manager
	name string
	dir  string

	// writeMu serializes writes, settings changes, generation swaps and shutdown.
	// rb, rebuildDone and nextGen are guarded by it.
	writeMu     sync.Mutex
	rb          *rebuildState
	rebuildDone chan struct{}
	nextGen     int
	// relayoutDue asks the rebuild loop for a new generation with the same spec: a tenant
	// of a shared shard grew enough to get a shard of its own.
	relayoutDue bool
	// relayoutTimer, when set, starts the re-layout once writes have paused for
	// relayoutQuiet; lastWrite is when the last write was stored.
	relayoutTimer *time.Timer
	lastWrite     time.Time

	// mu guards the fields below for readers; writers hold writeMu and mu.
	mu        sync.RWMutex
	meta      metaFile
	gen       *generation
	updatedAt time.Time
	closed    bool
	deleted   bool
}

// openIndex opens the index in dir, removing what a crash left half done.
func (m *Manager) openIndex(name, dir string) (*Index, error) {
	meta, err := loadMeta(dir)
	if err != nil {
		return nil, err
	}
	if meta.Name != name {
		return nil, fmt.Errorf("%s names index %q, but the directory is that of %q", metaName, meta.Name, name)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	removed := false
	for _, e := range entries {
		p := filepath.Join(dir, e.Name())
		if strings.Contains(e.Name(), tempSuffix) {
			m.logger.Warn("removing a partial temporary file", "index", name, "file", p)
			if err := os.RemoveAll(p); err != nil {
				return nil, err
			}
			removed = true
			continue
		}
		if n, ok := parseGenDir(e.Name()); ok && n != meta.Generation {
			m.logger.Warn("removing a generation that is not the serving one (unfinished rebuild or old generation)",
				"index", name, "dir", p, "serving", meta.Generation)
			if err := os.RemoveAll(p); err != nil {
				return nil, err
			}
			removed = true
		}
	}
	if removed {
		if err := syncDir(dir); err != nil {
			return nil, err
		}
	}
	g, err := openGeneration(filepath.Join(dir, genDirName(meta.Generation)), meta.GenerationSpec, m.logger.With("index", name))
	if err != nil {
		return nil, err
	}
	updated := meta.UpdatedAt
	for _, sh := range g.shards {
		if fi, err := os.Stat(filepath.Join(sh.storeDir(), "root.bolt")); err == nil && fi.ModTime().After(updated) {
			updated = fi.ModTime().UTC()
		}
	}
	return &Index{m: m, name: name, dir: dir, nextGen: meta.Generation + 1, meta: meta, gen: g, updatedAt: updated}, nil
}

// shutdown closes the index: later calls fail, a running rebuild is abandoned, in-flight
// searches finish first.
func (ix *Index) shutdown(deleted bool) error {
	ix.writeMu.Lock()
	if ix.closed {
		ix.writeMu.Unlock()
		return nil
	}
	ix.mu.Lock()
	ix.closed, ix.deleted = true, deleted
	ix.mu.Unlock()
	if ix.rb != nil {
		ix.rb.cancel()
	}
	if ix.relayoutTimer != nil {
		ix.relayoutTimer.Stop()
		ix.relayoutTimer = nil
	}
	done := ix.rebuildDone
	ix.writeMu.Unlock()
	if done != nil {
		<-done
	}
	return ix.gen.close()
}

// relayoutQuiet is how long writes must pause before a re-layout rebuild starts. A bulk
// import then pays for one rebuild, at its end, instead of one per tenant that outgrows its
// shared shard while it runs; the records are searchable in their shared shard meanwhile.
var relayoutQuiet = 2 * time.Second

// scheduleRelayoutLocked starts the re-layout rebuild once writes have paused for
// relayoutQuiet. writeMu is held.
func (ix *Index) scheduleRelayoutLocked() {
	if ix.relayoutTimer == nil {
		ix.relayoutTimer = time.AfterFunc(relayoutQuiet, ix.relayoutWhenQuiet)
	}
}

func (ix *Index) relayoutWhenQuiet() {
	ix.writeMu.Lock()
	defer ix.writeMu.Unlock()
	ix.relayoutTimer = nil
	if ix.closed || !ix.relayoutDue {
		return
	}
	if wait := relayoutQuiet - time.Since(ix.lastWrite); wait > 0 {
		ix.relayoutTimer = time.AfterFunc(wait, ix.relayoutWhenQuiet)
		return
	}
	ix.startRebuildLocked()
}

func (ix *Index) closedErrLocked() error {
	if ix.deleted {
		return notFound(ix.name)
	}
	return ErrClosed
}

// acquire returns the serving generation, read-locked for use; call release when done.
func (ix *Index) acquire() (*generation, error) {
	for {
		ix.mu.RLock()
		g, closed := ix.gen, ix.closed
		var err error
		if closed {
			err = ix.closedErrLocked()
		}
		ix.mu.RUnlock()
		if err != nil {
			return nil, err
		}
		g.use.RLock()
		if !g.closed {
			return g, nil
		}
		// Swapped out meanwhile: take the new one.
		g.use.RUnlock()
		runtime.Gosched()
	}
}

// Name returns the index name.
func (ix *Index) Name() string { return ix.name }

// Settings returns a copy of the latest settings. During a rebuild they may name fields the
// serving generation does not have yet (see SearchableAttributes).
func (ix *Index) Settings() Settings {
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	return ix.meta.Settings.Clone()
}

// DocCount returns the number of records.
func (ix *Index) DocCount() (uint64, error) {
	g, err := ix.acquire()
	if err != nil {
		return 0, err
	}
	defer g.release()
	return g.docCount()
}

// rebuilding reports whether a rebuild runs or a re-layout waits for writes to pause.
func (ix *Index) rebuilding() bool {
	ix.writeMu.Lock()
	defer ix.writeMu.Unlock()
	return ix.rebuildDone != nil || ix.relayoutDue
}

func (ix *Index) info() (Info, bool) {
	ix.mu.RLock()
	meta, updated, g := ix.meta, ix.updatedAt, ix.gen
	ix.mu.RUnlock()
	n, err := ix.DocCount()
	if err != nil {
		return Info{}, false
	}
	return Info{
		Name:           ix.name,
		Entries:        int64(n),
		DataSize:       treeSize(g.dir),
		FileSize:       treeSize(ix.dir),
		CreatedAt:      meta.CreatedAt,
		UpdatedAt:      updated,
		LastBuildTimeS: meta.LastBuildTimeS,
		PendingTask:    len(meta.PendingTasks) > 0 || ix.rebuilding(),
	}, true
}

// Source returns the stored JSON of a record (objectID included), or an error wrapping
// ErrObjectNotFound. It applies no restriction: it is for internal reads; the search layer
// reads records through Search.
func (ix *Index) Source(ctx context.Context, objectID string) (json.RawMessage, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	g, err := ix.acquire()
	if err != nil {
		return nil, err
	}
	defer g.release()
	src, err := readSource(g, objectID)
	if err != nil {
		return nil, fmt.Errorf("index %s: read %q: %w", ix.name, objectID, err)
	}
	if src == nil {
		return nil, errorf(ErrObjectNotFound, "ObjectID %s does not exist", objectID)
	}
	return src, nil
}

// Search runs req on every record of the serving generation. A shard failure reported only
// in the result's Status is returned as an error.
func (ix *Index) Search(ctx context.Context, req *bleve.SearchRequest) (*bleve.SearchResult, error) {
	return ix.SearchTenants(ctx, req, nil)
}

// Tenants restricts a search to the records whose attribute Attr holds one of Keys (each
// normalised by TenantKey), plus records whose Attr holds several values.
type Tenants struct {
	Attr string
	Keys []string
}

// SearchTenants runs req on the records of the given tenants; nil means every record. The
// caller promises that req matches no other record (its filters pin the tenant attribute to
// these keys): on an index partitioned by t.Attr only the shards holding these tenants (and
// the shard of records with several tenants) are read. Otherwise t changes nothing (an
// unpartitioned index, or one partitioned by another attribute during a rebuild). A shard
// failure reported only in the result's Status is returned as an error.
func (ix *Index) SearchTenants(ctx context.Context, req *bleve.SearchRequest, t *Tenants) (*bleve.SearchResult, error) {
	g, err := ix.acquire()
	if err != nil {
		return nil, err
	}
	defer g.release()
	var keys []string
	if t != nil && g.layout != nil && g.layout.Attr == t.Attr {
		keys = t.Keys
		if keys == nil {
			keys = []string{}
		}
	}
	shards := g.shardsFor(keys)
	var target bleve.Index = shards[0].idx
	if len(shards) > 1 {
		idxs := make([]bleve.Index, len(shards))
		for i, sh := range shards {
			idxs[i] = sh.idx
		}
		target = bleve.NewIndexAlias(idxs...)
	}
	for _, sh := range shards {
		sh.searches.Add(1)
	}
	res, err := target.SearchInContext(ctx, req)
	if err != nil {
		return nil, fmt.Errorf("index %s: search: %w", ix.name, err)
	}
	if res.Status != nil && res.Status.Failed > 0 {
		var msgs []string
		for shard, e := range res.Status.Errors {
			msgs = append(msgs, shard+": "+e.Error())
		}
		slices.Sort(msgs)
		return nil, fmt.Errorf("index %s: search failed on %d of %d shards: %s",
			ix.name, res.Status.Failed, res.Status.Total, strings.Join(msgs, "; "))
	}
	return res, nil
}

// SearchableAttributes returns the searchable attributes of the serving generation. With
// searchableAttributes set, they are the settings' (during a rebuild that changes them: the
// attributes of the serving generation, all at rank 0); when empty, every text field present
// in the index, all at rank 0.
func (ix *Index) SearchableAttributes() []SearchableAttribute {
	ix.mu.RLock()
	settings, spec := ix.meta.Settings, ix.gen.spec
	ix.mu.RUnlock()
	if !spec.AllText {
		if specOf(settings).equal(spec) {
			return settings.Searchable()
		}
		out := make([]SearchableAttribute, 0, len(spec.Text))
		for _, a := range spec.Text {
			out = append(out, SearchableAttribute{Name: a, Field: TextField(a)})
		}
		return out
	}
	g, err := ix.acquire()
	if err != nil {
		return nil
	}
	defer g.release()
	fields, err := g.fields()
	if err != nil {
		ix.m.logger.Error("listing fields", "index", ix.name, "err", err)
		return nil
	}
	var out []SearchableAttribute
	for _, f := range fields {
		if a, ok := strings.CutPrefix(f, "t."); ok {
			out = append(out, SearchableAttribute{Name: a, Field: f})
		}
	}
	slices.SortFunc(out, func(a, b SearchableAttribute) int { return strings.Compare(a.Name, b.Name) })
	return out
}

// writeState is the view of the records during one Write: records already changed by earlier
// operations of the same call (nil: deleted) over the serving generation.
type writeState struct {
	g       *generation
	pending map[string]map[string]any
	cleared bool
}

func (st *writeState) get(id string) (map[string]any, error) {
	if rec, ok := st.pending[id]; ok {
		if rec == nil {
			return nil, nil
		}
		return maps.Clone(rec), nil
	}
	if st.cleared {
		return nil, nil
	}
	src, err := readSource(st.g, id)
	if err != nil || src == nil {
		return nil, err
	}
	return DecodeRecord(src)
}

type preparedOp struct {
	action Action
	id     string
	body   map[string]any
}

func prepareOps(ops []Op) ([]preparedOp, error) {
	out := make([]preparedOp, len(ops))
	for i, op := range ops {
		p := preparedOp{action: op.Action, id: op.ObjectID}
		var bodyID string
		if op.Body != nil && op.Action != ActionClear {
			body, err := normalizeRecord(op.Body)
			if err != nil {
				return nil, errorf(ErrInvalidObject, "operation %d (%s): %v", i, op.Action, err)
			}
			id, _, err := objectIDOf(body)
			if err != nil {
				return nil, errorf(ErrInvalidObject, "operation %d (%s): %v", i, op.Action, err)
			}
			p.body, bodyID = body, id
		}
		if p.id == "" {
			p.id = bodyID
		}
		switch op.Action {
		case ActionAddObject, ActionUpdateObject, ActionPartialUpdate, ActionPartialUpdateNoCreate:
			if p.body == nil {
				return nil, errorf(ErrInvalidObject, "operation %d (%s): a body is required", i, op.Action)
			}
			if p.id == "" {
				if op.Action != ActionAddObject {
					return nil, errorf(ErrInvalidObject, "operation %d (%s): objectID is required", i, op.Action)
				}
				p.id = newObjectID()
			}
			p.body["objectID"] = p.id
		case ActionDelete:
			if p.id == "" {
				return nil, errorf(ErrInvalidObject, "operation %d (%s): objectID is required", i, op.Action)
			}
		case ActionClear:
			p.id = ""
		default:
			return nil, errorf(ErrInvalidObject, "operation %d: unknown action %d", i, int(op.Action))
		}
		out[i] = p
	}
	return out, nil
}

// Write applies ops, in order, in one Bleve batch, and returns once the batch is persisted
// and fsynced (the task is then published). objectIDs holds the objectID of each op, in op
// order ("" for ActionClear); AddObject without an objectID gets a generated one. If any op
// is invalid, nothing is written. Partial updates read, modify and write under the index's
// write lock, so concurrent partial updates never lose each other.
func (ix *Index) Write(ctx context.Context, ops []Op) (taskID int64, objectIDs []string, err error) {
	preps, err := prepareOps(ops)
	if err != nil {
		return 0, nil, err
	}
	objectIDs = make([]string, len(preps))
	for i, p := range preps {
		objectIDs[i] = p.id
	}

	ix.writeMu.Lock()
	defer ix.writeMu.Unlock()
	if ix.closed {
		return 0, nil, ix.closedErrLocked()
	}
	if err := ctx.Err(); err != nil {
		return 0, nil, err
	}
	g := ix.gen
	st := &writeState{g: g, pending: map[string]map[string]any{}}
	for i, p := range preps {
		switch p.action {
		case ActionClear:
			st.cleared = true
			clear(st.pending)
		case ActionAddObject, ActionUpdateObject:
			st.pending[p.id] = p.body
		case ActionDelete:
			st.pending[p.id] = nil
		case ActionPartialUpdate, ActionPartialUpdateNoCreate:
			cur, err := st.get(p.id)
			if err != nil {
				return 0, nil, fmt.Errorf("index %s: read %q: %w", ix.name, p.id, err)
			}
			created := cur == nil
			if created {
				if p.action == ActionPartialUpdateNoCreate {
					continue
				}
				cur = map[string]any{"objectID": p.id}
			}
			ok, err := applyPartial(cur, p.body, created)
			if err != nil {
				return 0, nil, errorf(ErrInvalidObject, "operation %d (%s, objectID %q): %v", i, p.action, p.id, err)
			}
			if ok {
				st.pending[p.id] = cur
			}
		}
	}

	var puts []put
	var dels []string
	touched := make([]string, 0, len(st.pending))
	ids := make([]string, 0, len(st.pending))
	for id := range st.pending {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	for _, id := range ids {
		rec := st.pending[id]
		touched = append(touched, id)
		if rec == nil {
			dels = append(dels, id)
			continue
		}
		p, err := g.newPut(ix.m, id, rec, nil, true)
		if err != nil {
			return 0, nil, err
		}
		puts = append(puts, p)
	}
	if !st.cleared && len(puts) == 0 && len(dels) == 0 {
		// Nothing to change (every op was a no-op): no Bleve batch, still a published task.
		return ix.m.nextTaskID(), objectIDs, nil
	}
	g.midMove = ix.m.midMoveHook
	relayout, err := g.writeDocs(st.cleared, puts, dels)
	if ix.rb != nil {
		// Even after an error: replaying copies state, so a spurious mark is harmless.
		ix.rb.markDirty(touched, st.cleared)
	}
	if err != nil {
		if errors.Is(err, ErrInvalidObject) {
			return 0, nil, err
		}
		ix.reopenAfterFailedBatch(g, err)
		ix.m.logger.Error("write not stored", "index", ix.name, "err", err)
		return 0, nil, errorf(ErrStorage, "index %s: the write could not be stored (disk full, read-only data dir or I/O error); nothing was applied", ix.name)
	}
	ix.lastWrite = time.Now()
	if relayout {
		ix.m.logger.Info("a tenant outgrew its shared shard: rebuilding with a new shard layout once writes pause", "index", ix.name)
		ix.relayoutDue = true
		ix.scheduleRelayoutLocked()
	}
	ix.mu.Lock()
	ix.updatedAt = time.Now().UTC()
	ix.mu.Unlock()
	return ix.m.nextTaskID(), objectIDs, nil
}

// reopenAfterFailedBatch reopens the serving generation from disk after Bleve refused a batch
// (disk full, read-only, I/O error). Bleve v2.6.1 then closes the new segment although it is
// already part of the live snapshot, so every later search of that snapshot panics; and the
// refused batch stays visible in memory, to be persisted later if the disk recovers. Reopening
// serves the last durable state instead, which is exactly what was acknowledged. A rebuild in
// progress is cancelled (it restarts from the reopened generation). If reopening fails, the
// index is closed until restart rather than serving a broken snapshot. writeMu is held.
func (ix *Index) reopenAfterFailedBatch(g *generation, cause error) {
	log := ix.m.logger.With("index", ix.name)
	if ix.rb != nil {
		ix.rb.cancel()
	}
	if err := g.close(); err != nil {
		log.Warn("closing the generation after a failed write", "err", err)
	}
	ng, err := openGeneration(g.dir, g.spec, log)
	if err != nil {
		log.Error("a write failed and the index could not be reopened: it is closed until restart",
			"write_error", cause, "err", err)
		ix.mu.Lock()
		ix.closed = true
		ix.mu.Unlock()
		return
	}
	ix.mu.Lock()
	ix.gen = ng
	ix.mu.Unlock()
	log.Warn("a write failed on disk; reopened the index from its last durable state", "err", cause)
}

// makeDocument encodes rec and builds its Bleve document for spec.
func (m *Manager) makeDocument(id string, rec map[string]any, spec fieldSpec) (doc *document.Document, err error) {
	src, err := encodeRecord(rec)
	if err != nil {
		return nil, errorf(ErrInvalidObject, "objectID %q: %v", id, err)
	}
	if len(src) > MaxRecordBytes {
		return nil, errorf(ErrInvalidObject, "objectID %q: record is %d bytes, more than the %d allowed", id, len(src), MaxRecordBytes)
	}
	doc, err = buildDocument(id, rec, src, spec, m.analyzer.a)
	if err != nil {
		return nil, errorf(ErrInvalidObject, "objectID %q: %v", id, err)
	}
	return doc, nil
}

// SetSettings applies a settings patch (Algolia semantics: only keys present change, null
// resets to the default, unknown keys are ignored), persists it atomically and returns its
// task. If the indexed fields change (searchableAttributes, attributesForFaceting,
// userAttribute), a new generation is built in the background from the records while the
// current one keeps serving; the task is published when it is swapped in. Otherwise the
// settings take effect at once and the task is published on return.
func (ix *Index) SetSettings(ctx context.Context, patch map[string]json.RawMessage) (int64, error) {
	ix.writeMu.Lock()
	defer ix.writeMu.Unlock()
	if ix.closed {
		return 0, ix.closedErrLocked()
	}
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	ns, err := ix.meta.Settings.Patch(patch)
	if err != nil {
		return 0, err
	}
	taskID := ix.m.nextTaskID()
	meta := ix.meta
	meta.Settings = ns
	meta.UpdatedAt = time.Now().UTC()
	target := specOf(ns)
	needRebuild := !target.equal(ix.gen.spec)
	if needRebuild {
		meta.PendingTasks = append(slices.Clone(meta.PendingTasks), taskID)
	}
	if err := saveMeta(ix.dir, meta); err != nil {
		return 0, fmt.Errorf("index %s: save settings: %w", ix.name, err)
	}
	ix.mu.Lock()
	ix.meta = meta
	ix.updatedAt = meta.UpdatedAt
	ix.mu.Unlock()
	if ix.rb != nil && !ix.rb.spec.equal(target) {
		ix.rb.cancel() // the rebuild loop starts over with the latest settings
	}
	if needRebuild || len(meta.PendingTasks) > 0 {
		ix.startRebuildLocked()
	}
	return taskID, nil
}
