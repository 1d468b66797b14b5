package index

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"
)

// boltTimeout bounds how long opening a Bleve index waits for its bolt file lock, so that
// opening an index that is already open fails instead of blocking forever.
const boltTimeout = "1s"

// Names inside <dataDir>/indexes that are not index directories.
const (
	lockName      = ".lock"
	tmpDirPrefix  = ".tmp-"
	trashPrefix   = ".del-"
	metaName      = "meta.json"
	genPrefix     = "gen-"
	indexesSubdir = "indexes"
)

// Manager owns every index of a data directory and every Bleve handle behind them. It is safe
// for concurrent use.
type Manager struct {
	dir      string
	logger   *slog.Logger
	analyzer *Analyzer
	unlock   func() error

	mu      sync.Mutex // guards indexes and closed; held while creating or deleting an index
	indexes map[string]*Index
	closed  bool

	taskMu   sync.Mutex
	lastTask int64

	// rebuildHook, when set (by tests, before the rebuild starts), is called by the rebuild
	// after it copied the snapshot and before it replays the writes made meanwhile.
	rebuildHook func(index string)
	// midMoveHook, when set (by tests, before writing), is called by a write that moves
	// records between shards after the records are durable in their new shards and before
	// they are deleted from the old ones.
	midMoveHook func()
}

// Info describes one index for List.
type Info struct {
	Name           string
	Entries        int64
	DataSize       int64 // bytes of the serving generation
	FileSize       int64 // bytes of every file of the index (rebuilds included)
	CreatedAt      time.Time
	UpdatedAt      time.Time
	LastBuildTimeS int
	PendingTask    bool
}

// Open opens every index under <dataDir>/indexes, creating the directory if needed. It
// recovers from what a crash leaves: it removes unfinished index creations, finishes
// deletions, removes partial metadata temp files and generations left by unfinished
// rebuilds, and restarts a rebuild whose settings were saved but which never finished. Each
// action is logged. A second Manager on the same data directory fails at once.
func Open(dataDir string, logger *slog.Logger) (*Manager, error) {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	dir := filepath.Join(dataDir, indexesSubdir)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("index: create %s: %w", dir, err)
	}
	unlock, err := lockDir(filepath.Join(dir, lockName))
	if err != nil {
		return nil, err
	}
	an, err := NewAnalyzer()
	if err != nil {
		_ = unlock()
		return nil, err
	}
	m := &Manager{dir: dir, logger: logger, analyzer: an, unlock: unlock, indexes: map[string]*Index{}}
	entries, err := os.ReadDir(dir)
	if err != nil {
		_ = unlock()
		return nil, fmt.Errorf("index: read %s: %w", dir, err)
	}
	removed := false
	var maxTask int64
	for _, e := range entries {
		n := e.Name()
		p := filepath.Join(dir, n)
		switch {
		case n == lockName:
		case strings.HasPrefix(n, tmpDirPrefix):
			logger.Warn("removing an index whose creation did not finish", "dir", p)
			if err := os.RemoveAll(p); err != nil {
				_ = m.Close()
				return nil, fmt.Errorf("index: remove %s: %w", p, err)
			}
			removed = true
		case strings.HasPrefix(n, trashPrefix):
			logger.Info("finishing the deletion of an index", "dir", p)
			if err := os.RemoveAll(p); err != nil {
				_ = m.Close()
				return nil, fmt.Errorf("index: remove %s: %w", p, err)
			}
			removed = true
		default:
			name, ok := nameFromDir(n)
			if !ok || !e.IsDir() {
				logger.Warn("ignoring an entry that is not an index", "path", p)
				continue
			}
			ix, err := m.openIndex(name, p)
			if err != nil {
				_ = m.Close()
				return nil, fmt.Errorf("index: open index %q: %w", name, err)
			}
			m.indexes[name] = ix
			for _, t := range ix.meta.PendingTasks {
				maxTask = max(maxTask, t)
			}
		}
	}
	if removed {
		if err := syncDir(dir); err != nil {
			_ = m.Close()
			return nil, fmt.Errorf("index: sync %s: %w", dir, err)
		}
	}
	m.lastTask = max(maxTask, time.Now().UnixMicro())
	for _, ix := range m.indexes {
		ix.writeMu.Lock()
		if ix.gen.spec.equal(specOf(ix.meta.Settings)) && ix.gen.relayoutWanted() {
			logger.Info("a tenant outgrew its shared shard: rebuilding with a new shard layout", "index", ix.name)
			ix.relayoutDue = true
			ix.startRebuildLocked()
		}
		if !specOf(ix.meta.Settings).equal(ix.gen.spec) || len(ix.meta.PendingTasks) > 0 {
			logger.Info("restarting an unfinished settings rebuild", "index", ix.name,
				"from", ix.gen.spec.String(), "to", specOf(ix.meta.Settings).String())
			ix.startRebuildLocked()
		}
		ix.writeMu.Unlock()
	}
	return m, nil
}

// Analyzer returns the text analyzer of every text field (the search layer tokenizes queries
// and highlights with it).
func (m *Manager) Analyzer() *Analyzer { return m.analyzer }

// nextTaskID issues a task id: monotonic within the Manager, seeded from the clock in
// microseconds so that ids stay unique across restarts without being persisted (and stay
// below 2^53, so JavaScript clients read them exactly).
func (m *Manager) nextTaskID() int64 {
	m.taskMu.Lock()
	defer m.taskMu.Unlock()
	m.lastTask = max(m.lastTask+1, time.Now().UnixMicro())
	return m.lastTask
}

// Get returns the named index, or an error wrapping ErrIndexNotFound.
func (m *Manager) Get(name string) (*Index, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return nil, ErrClosed
	}
	ix, ok := m.indexes[name]
	if !ok {
		return nil, notFound(name)
	}
	return ix, nil
}

// GetOrCreate returns the named index, creating it (durably, with default settings) if it
// does not exist yet; indexes are created on their first write. The name is validated.
func (m *Manager) GetOrCreate(name string) (*Index, error) {
	if err := ValidateName(name); err != nil {
		return nil, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return nil, ErrClosed
	}
	if ix, ok := m.indexes[name]; ok {
		return ix, nil
	}
	ix, err := m.createIndex(name)
	if err != nil {
		return nil, fmt.Errorf("index: create index %q: %w", name, err)
	}
	m.indexes[name] = ix
	m.logger.Info("created index", "index", name)
	return ix, nil
}

// createIndex builds the index directory under a temporary name and renames it into place,
// so that a crash leaves either no index or a complete one. m.mu is held.
func (m *Manager) createIndex(name string) (*Index, error) {
	final := filepath.Join(m.dir, dirName(name))
	if _, err := os.Stat(final); err == nil {
		return nil, fmt.Errorf("directory %s already exists", final)
	}
	tmp := filepath.Join(m.dir, tmpDirPrefix+dirName(name))
	if err := os.RemoveAll(tmp); err != nil {
		return nil, err
	}
	if err := os.Mkdir(tmp, 0o700); err != nil {
		return nil, err
	}
	fail := func(err error) (*Index, error) {
		_ = os.RemoveAll(tmp)
		return nil, err
	}
	now := time.Now().UTC()
	settings := DefaultSettings()
	meta := metaFile{Name: name, CreatedAt: now, UpdatedAt: now, Settings: settings, Generation: 1, GenerationSpec: specOf(settings)}
	g, err := createGeneration(filepath.Join(tmp, genDirName(1)), meta.GenerationSpec, nil)
	if err != nil {
		return fail(err)
	}
	// Close before the rename: scorch keeps its path and writes new segments there.
	if err := g.closeShards(); err != nil {
		return fail(err)
	}
	if err := saveMeta(tmp, meta); err != nil {
		return fail(err)
	}
	if err := syncTree(tmp); err != nil {
		return fail(err)
	}
	if err := os.Rename(tmp, final); err != nil {
		return fail(err)
	}
	if err := syncDir(m.dir); err != nil {
		return nil, err
	}
	return m.openIndex(name, final)
}

// Delete deletes the named index durably (its directory is renamed away, then removed) and
// returns the task id, published on return. Deleting an index that does not exist is not an
// error (Algolia's behaviour).
func (m *Manager) Delete(ctx context.Context, name string) (int64, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return 0, ErrClosed
	}
	ix, ok := m.indexes[name]
	if !ok {
		return m.nextTaskID(), nil
	}
	delete(m.indexes, name)
	closeErr := ix.shutdown(true)
	if closeErr != nil {
		m.logger.Error("closing an index being deleted", "index", name, "err", closeErr)
	}
	taskID := m.nextTaskID()
	trash := filepath.Join(m.dir, fmt.Sprintf("%s%s-%d", trashPrefix, dirName(name), taskID))
	if err := os.Rename(ix.dir, trash); err != nil {
		return 0, fmt.Errorf("index: delete index %q: %w", name, err)
	}
	if err := syncDir(m.dir); err != nil {
		return 0, fmt.Errorf("index: delete index %q: %w", name, err)
	}
	if err := os.RemoveAll(trash); err != nil {
		// The index is gone from the namespace; Open finishes the removal.
		m.logger.Error("removing a deleted index's files", "index", name, "dir", trash, "err", err)
	}
	m.logger.Info("deleted index", "index", name, "task", taskID)
	return taskID, nil
}

// List describes every index, sorted by name.
func (m *Manager) List() []Info {
	m.mu.Lock()
	ixs := make([]*Index, 0, len(m.indexes))
	for _, ix := range m.indexes {
		ixs = append(ixs, ix)
	}
	m.mu.Unlock()
	slices.SortFunc(ixs, func(a, b *Index) int { return strings.Compare(a.name, b.name) })
	out := make([]Info, 0, len(ixs))
	for _, ix := range ixs {
		if inf, ok := ix.info(); ok {
			out = append(out, inf)
		}
	}
	return out
}

// TaskStatus reports whether a task is published. Writes and deletions are published when
// they return; a settings rebuild is published once the new generation is swapped in. Ids
// never issued (above the last one issued, or not positive) give ErrTaskNotFound; ids issued
// before a restart are published, unless they are a rebuild still pending.
func (m *Manager) TaskStatus(name string, taskID int64) (bool, error) {
	m.taskMu.Lock()
	last := m.lastTask
	m.taskMu.Unlock()
	if taskID <= 0 || taskID > last {
		return false, errorf(ErrTaskNotFound, "Task %d does not exist", taskID)
	}
	m.mu.Lock()
	ix := m.indexes[name]
	m.mu.Unlock()
	if ix == nil {
		return true, nil
	}
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	return !slices.Contains(ix.meta.PendingTasks, taskID), nil
}

// Close closes every index cleanly (a running rebuild is abandoned and restarted by the next
// Open). The Manager cannot be used afterwards.
func (m *Manager) Close() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return nil
	}
	m.closed = true
	var errs []error
	for name, ix := range m.indexes {
		if err := ix.shutdown(false); err != nil {
			errs = append(errs, fmt.Errorf("index: close %q: %w", name, err))
		}
	}
	if m.unlock != nil {
		errs = append(errs, m.unlock())
	}
	return errors.Join(errs...)
}

// ByPublicKey returns the index whose publicKey setting is key (ErrIndexNotFound when none,
// or when key is empty). Keys are compared in constant time.
func (m *Manager) ByPublicKey(key string) (*Index, error) {
	if key == "" {
		return nil, errorf(ErrIndexNotFound, "unknown sitekey")
	}
	m.mu.Lock()
	list := make([]*Index, 0, len(m.indexes))
	for _, ix := range m.indexes {
		list = append(list, ix)
	}
	m.mu.Unlock()
	var found *Index
	for _, ix := range list {
		pk := ix.Settings().PublicKey
		if pk != "" && subtle.ConstantTimeCompare([]byte(pk), []byte(key)) == 1 {
			found = ix
		}
	}
	if found == nil {
		return nil, errorf(ErrIndexNotFound, "unknown sitekey")
	}
	return found, nil
}
