package index

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
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

// generation is one Bleve index holding every record of a logical index, built with spec.
type generation struct {
	num  int
	dir  string
	idx  bleve.Index
	spec fieldSpec

	// use is read-locked by every user of idx that is not serialized by the index's writeMu
	// (searches, reads); close write-locks it, so a generation is closed only once idle.
	use    sync.RWMutex
	closed bool
}

func (g *generation) release() { g.use.RUnlock() }

// close waits for in-flight users and closes the Bleve index.
func (g *generation) close() error {
	g.use.Lock()
	defer g.use.Unlock()
	if g.closed {
		return nil
	}
	g.closed = true
	return g.idx.Close()
}

// storeDir is where scorch keeps its segment files and root.bolt.
func (g *generation) storeDir() string { return filepath.Join(g.dir, "store") }

func bleveConfig() map[string]any {
	// No "unsafe_batch": scorch's Batch then returns only after the persister has written
	// and fsynced the segment and committed (and fsynced) root.bolt.
	return map[string]any{"bolt_timeout": boltTimeout}
}

func createGeneration(dir string, spec fieldSpec) (*generation, error) {
	im, err := newMapping()
	if err != nil {
		return nil, err
	}
	idx, err := bleve.NewUsing(dir, im, scorch.Name, bleve.Config.DefaultKVStore, bleveConfig())
	if err != nil {
		return nil, fmt.Errorf("create bleve index %s: %w", dir, err)
	}
	// Bleve does not fsync index_meta.json nor the new directories.
	if err := syncTree(dir); err != nil {
		_ = idx.Close()
		return nil, err
	}
	if err := syncDir(filepath.Dir(dir)); err != nil {
		_ = idx.Close()
		return nil, err
	}
	return &generation{num: genNum(dir), dir: dir, idx: idx, spec: spec}, nil
}

func openGeneration(dir string, spec fieldSpec) (*generation, error) {
	idx, err := bleve.OpenUsing(dir, bleveConfig())
	if err != nil {
		return nil, fmt.Errorf("open bleve index %s: %w", dir, err)
	}
	return &generation{num: genNum(dir), dir: dir, idx: idx, spec: spec}, nil
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

// allIDs lists the ids of every document of g.
func allIDs(g *generation) ([]string, error) {
	ai, err := g.idx.Advanced()
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
	d, err := g.idx.Document(id)
	if err != nil {
		return nil, err
	}
	return sourceOf(d), nil
}
