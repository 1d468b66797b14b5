package index

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/blevesearch/bleve/v2"
	"github.com/blevesearch/bleve/v2/index/scorch"
	bindex "github.com/blevesearch/bleve_index_api"
)

// metaFile is the persisted state of one index (<dir>/meta.json), always written atomically.
type metaFile struct {
	Name      string    `json:"name"`
	CreatedAt time.Time `json:"createdAt"`
	UpdatedAt time.Time `json:"updatedAt"`
	// Settings are the latest settings, as clients see them.
	Settings Settings `json:"settings"`
	// Generation is the serving generation (gen-N) and GenerationSpec the fields it was
	// built with. When specOf(Settings) differs, a rebuild is due.
	Generation     int       `json:"generation"`
	GenerationSpec fieldSpec `json:"generationSpec"`
	// PendingTasks are settings tasks waiting for a rebuild to be swapped in.
	PendingTasks   []int64 `json:"pendingTasks,omitempty"`
	LastBuildTimeS int     `json:"lastBuildTimeS"`
}

func saveMeta(dir string, meta metaFile) error {
	data, err := json.MarshalIndent(meta, "", "  ")
	if err != nil {
		return err
	}
	return writeFileAtomic(dir, metaName, data)
}

func loadMeta(dir string) (metaFile, error) {
	var meta metaFile
	data, err := os.ReadFile(filepath.Join(dir, metaName))
	if err != nil {
		return meta, err
	}
	if err := json.Unmarshal(data, &meta); err != nil {
		return meta, fmt.Errorf("parse %s: %w", metaName, err)
	}
	return meta, nil
}

func genDirName(n int) string { return genPrefix + strconv.Itoa(n) }

func parseGenDir(name string) (int, bool) {
	s, ok := strings.CutPrefix(name, genPrefix)
	if !ok {
		return 0, false
	}
	n, err := strconv.Atoi(s)
	return n, err == nil && n > 0 && genDirName(n) == name
}

// generation holds every record of a logical index, built with spec: one Bleve index at dir
// (unpartitioned, spec.Tenant nil: shards[0], the layout of every index before tenant
// shards) or several shards under dir (partitioned, see layout.go and shards.go).
type generation struct {
	num    int
	dir    string
	spec   fieldSpec
	shards []*shard
	layout *layout  // nil when unpartitioned
	rt     *routing // nil when unpartitioned
	// midMove is Manager.midMoveHook (tests).
	midMove func()

	// use is read-locked by every user of the shards that is not serialized by the index's
	// writeMu (searches, reads); close write-locks it, so a generation is closed only once
	// idle. A write that moves records between shards also write-locks it, so that no search
	// sees a moved record twice or not at all.
	use    sync.RWMutex
	closed bool
}

// shard is one Bleve index of a generation.
type shard struct {
	name string // "" when unpartitioned
	dir  string
	idx  bleve.Index
	// searches counts the searches that read this shard (tests check routing with it).
	searches atomic.Int64
}

// storeDir is where scorch keeps the shard's segment files and root.bolt.
func (s *shard) storeDir() string { return filepath.Join(s.dir, "store") }

func (g *generation) release() { g.use.RUnlock() }

// close waits for in-flight users and closes the Bleve indexes.
func (g *generation) close() error {
	g.use.Lock()
	defer g.use.Unlock()
	if g.closed {
		return nil
	}
	g.closed = true
	return g.closeShards()
}

func (g *generation) closeShards() error {
	var errs []error
	for _, s := range g.shards {
		if s.idx != nil {
			errs = append(errs, s.idx.Close())
		}
	}
	return errors.Join(errs...)
}

func bleveConfig() map[string]any {
	// No "unsafe_batch": scorch's Batch then returns only after the persister has written
	// and fsynced the segment and committed (and fsynced) root.bolt.
	return map[string]any{"bolt_timeout": boltTimeout}
}

func createBleve(dir string) (bleve.Index, error) {
	im, err := newMapping()
	if err != nil {
		return nil, err
	}
	idx, err := bleve.NewUsing(dir, im, scorch.Name, bleve.Config.DefaultKVStore, bleveConfig())
	if err != nil {
		return nil, fmt.Errorf("create bleve index %s: %w", dir, err)
	}
	return idx, nil
}

// createGeneration creates generation dir for spec; lay is its layout when spec.Tenant is
// set (nil otherwise).
func createGeneration(dir string, spec fieldSpec, lay *layout) (*generation, error) {
	g := &generation{num: genNum(dir), dir: dir, spec: spec}
	if spec.Tenant == nil {
		idx, err := createBleve(dir)
		if err != nil {
			return nil, err
		}
		g.shards = []*shard{{dir: dir, idx: idx}}
	} else {
		if err := os.Mkdir(dir, 0o700); err != nil {
			return nil, err
		}
		if err := saveLayout(dir, lay); err != nil {
			return nil, err
		}
		g.layout = lay
		g.rt = newRouting(lay.numShards())
		for i := range lay.numShards() {
			sd := filepath.Join(dir, shardDirPrefix+lay.shardName(i))
			idx, err := createBleve(sd)
			if err != nil {
				_ = g.closeShards()
				return nil, err
			}
			g.shards = append(g.shards, &shard{name: lay.shardName(i), dir: sd, idx: idx})
		}
	}
	// Bleve does not fsync index_meta.json nor the new directories.
	if err := syncTree(dir); err != nil {
		_ = g.closeShards()
		return nil, err
	}
	if err := syncDir(filepath.Dir(dir)); err != nil {
		_ = g.closeShards()
		return nil, err
	}
	return g, nil
}

// openGeneration opens generation dir built with spec. A partitioned one is reconciled
// before it serves (see loadRouting).
func openGeneration(dir string, spec fieldSpec, logger *slog.Logger) (*generation, error) {
	g := &generation{num: genNum(dir), dir: dir, spec: spec}
	if spec.Tenant == nil {
		idx, err := bleve.OpenUsing(dir, bleveConfig())
		if err != nil {
			return nil, fmt.Errorf("open bleve index %s: %w", dir, err)
		}
		g.shards = []*shard{{dir: dir, idx: idx}}
		return g, nil
	}
	lay, err := loadLayout(dir)
	if err != nil {
		return nil, err
	}
	if lay.Attr != spec.Tenant.Attr {
		return nil, fmt.Errorf("%s: layout of attribute %q, spec of %q", dir, lay.Attr, spec.Tenant.Attr)
	}
	g.layout = lay
	for i := range lay.numShards() {
		sd := filepath.Join(dir, shardDirPrefix+lay.shardName(i))
		idx, err := bleve.OpenUsing(sd, bleveConfig())
		if err != nil {
			_ = g.closeShards()
			return nil, fmt.Errorf("open bleve index %s: %w", sd, err)
		}
		g.shards = append(g.shards, &shard{name: lay.shardName(i), dir: sd, idx: idx})
	}
	if err := g.loadRouting(logger); err != nil {
		_ = g.closeShards()
		return nil, err
	}
	return g, nil
}

func genNum(dir string) int {
	n, _ := parseGenDir(filepath.Base(dir))
	return n
}

// forEachID calls fn with the id of every document of r.
func forEachID(r bindex.IndexReader, fn func(id string) error) error {
	dr, err := r.DocIDReaderAll()
	if err != nil {
		return err
	}
	defer dr.Close()
	for {
		iid, err := dr.Next()
		if err != nil {
			return err
		}
		if iid == nil {
			return nil
		}
		id, err := r.ExternalID(iid)
		if err != nil {
			return err
		}
		if err := fn(id); err != nil {
			return err
		}
	}
}

// allIDs lists the ids of every document of the Bleve index idx.
func allIDs(idx bleve.Index) ([]string, error) {
	ai, err := idx.Advanced()
	if err != nil {
		return nil, err
	}
	r, err := ai.Reader()
	if err != nil {
		return nil, err
	}
	defer r.Close()
	var ids []string
	err = forEachID(r, func(id string) error {
		ids = append(ids, id)
		return nil
	})
	return ids, err
}

// sourceOf returns the stored JSON of a document (nil if absent).
func sourceOf(d bindex.Document) []byte {
	if d == nil {
		return nil
	}
	var src []byte
	d.VisitFields(func(f bindex.Field) {
		if f.Name() == FieldSource {
			src = append([]byte(nil), f.Value()...)
		}
	})
	return src
}

// readSource returns the stored JSON of id in g, nil when there is no such record.
func readSource(g *generation, id string) ([]byte, error) {
	sh := g.shards[0]
	if g.rt != nil {
		i, ok := g.rt.shardOfID(id)
		if !ok {
			return nil, nil
		}
		sh = g.shards[i]
	}
	d, err := sh.idx.Document(id)
	if err != nil {
		return nil, err
	}
	return sourceOf(d), nil
}
