package index

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"time"
)

// rebuildBatchSize is the number of records per Bleve batch while building a generation.
const rebuildBatchSize = 1000

// rebuildState tracks one build of a new generation. Writes made while it runs are applied
// to the serving generation and their objectIDs marked dirty; the builder copies the current
// state of every dirty record (absent: deleted) into the new generation before the swap, the
// last time under the write lock. Copying state, not replaying operations, makes a record
// marked twice harmless, so no write is lost and none is applied twice.
type rebuildState struct {
	spec   fieldSpec
	cancel context.CancelFunc

	mu      sync.Mutex
	dirty   map[string]struct{}
	cleared bool
}

func (rb *rebuildState) markDirty(ids []string, cleared bool) {
	rb.mu.Lock()
	defer rb.mu.Unlock()
	for _, id := range ids {
		rb.dirty[id] = struct{}{}
	}
	rb.cleared = rb.cleared || cleared
}

func (rb *rebuildState) take() ([]string, bool) {
	rb.mu.Lock()
	defer rb.mu.Unlock()
	ids := make([]string, 0, len(rb.dirty))
	for id := range rb.dirty {
		ids = append(ids, id)
	}
	clear(rb.dirty)
	cleared := rb.cleared
	rb.cleared = false
	return ids, cleared
}

// startRebuildLocked starts the rebuild loop if it is not running. writeMu is held.
func (ix *Index) startRebuildLocked() {
	if ix.rebuildDone != nil || ix.closed {
		return
	}
	done := make(chan struct{})
	ix.rebuildDone = done
	go ix.rebuildLoop(done)
}

// rebuildLoop builds generations until the serving one has the fields the latest settings
// ask for, then publishes the pending settings tasks.
func (ix *Index) rebuildLoop(done chan struct{}) {
	defer close(done)
	log := ix.m.logger.With("index", ix.name)
	for {
		ix.writeMu.Lock()
		if ix.closed {
			ix.rebuildDone = nil
			ix.writeMu.Unlock()
			return
		}
		old := ix.gen
		target := specOf(ix.meta.Settings)
		if target.equal(old.spec) && !ix.relayoutDue {
			if len(ix.meta.PendingTasks) > 0 {
				meta := ix.meta
				meta.PendingTasks = nil
				if err := saveMeta(ix.dir, meta); err != nil {
					log.Error("saving metadata after a rebuild", "err", err)
				} else {
					ix.mu.Lock()
					ix.meta = meta
					ix.mu.Unlock()
				}
			}
			ix.rebuildDone = nil
			ix.writeMu.Unlock()
			return
		}
		ctx, cancel := context.WithCancel(context.Background())
		ix.relayoutDue = false // the new layout is decided from the records as they are now
		rb := &rebuildState{spec: target, cancel: cancel, dirty: map[string]struct{}{}}
		ix.rb = rb
		num := ix.nextGen
		ix.nextGen++
		ix.writeMu.Unlock()

		start := time.Now()
		log.Info("rebuilding", "generation", num, "from", old.spec.String(), "to", target.String())
		neu, err := ix.buildGeneration(ctx, old, num, rb)

		ix.writeMu.Lock()
		if err == nil {
			err = ctx.Err() // closing, or the settings changed again
		}
		if err == nil && (ix.closed || !specOf(ix.meta.Settings).equal(target)) {
			err = context.Canceled
		}
		if err == nil {
			_, err = ix.replay(old, neu, rb) // the last writes, under the write lock
		}
		if err == nil {
			err = ix.swapLocked(neu, target, time.Since(start))
		}
		ix.rb = nil
		cancel()
		if err != nil {
			if neu != nil {
				ix.discard(neu)
			}
			if !errors.Is(err, context.Canceled) {
				log.Error("rebuild failed; settings tasks stay pending until the next settings change or restart",
					"generation", num, "err", err)
				ix.rebuildDone = nil
				ix.writeMu.Unlock()
				return
			}
			ix.writeMu.Unlock()
			continue // the loop re-reads the latest settings (or notices the close)
		}
		ix.writeMu.Unlock()
		// The old generation leaves when its last search ends; a crash before its removal
		// is cleaned up by Open.
		if err := old.close(); err != nil {
			log.Error("closing the old generation", "generation", old.num, "err", err)
		}
		if err := os.RemoveAll(old.dir); err != nil {
			log.Error("removing the old generation", "generation", old.num, "err", err)
		}
		log.Info("rebuild swapped in", "generation", num, "seconds", time.Since(start).Seconds())
	}
}

// swapLocked makes neu the serving generation, durably. writeMu is held.
func (ix *Index) swapLocked(neu *generation, spec fieldSpec, took time.Duration) error {
	if err := syncTree(neu.dir); err != nil {
		return err
	}
	meta := ix.meta
	meta.Generation = neu.num
	meta.GenerationSpec = spec
	meta.PendingTasks = nil
	meta.LastBuildTimeS = int(took.Seconds())
	if err := saveMeta(ix.dir, meta); err != nil {
		return err
	}
	ix.mu.Lock()
	ix.meta = meta
	ix.gen = neu
	ix.mu.Unlock()
	return nil
}

func (ix *Index) discard(g *generation) {
	if err := g.close(); err != nil {
		ix.m.logger.Error("closing an abandoned generation", "index", ix.name, "dir", g.dir, "err", err)
	}
	if err := os.RemoveAll(g.dir); err != nil {
		ix.m.logger.Error("removing an abandoned generation", "index", ix.name, "dir", g.dir, "err", err)
	}
}

// buildGeneration creates generation num with rb.spec from a snapshot of old's records, then
// copies the records written meanwhile until few are left (the last ones are copied under the
// write lock by the caller). A partitioned generation's layout is decided first, from the
// tenants' record counts in old.
func (ix *Index) buildGeneration(ctx context.Context, old *generation, num int, rb *rebuildState) (*generation, error) {
	dir := filepath.Join(ix.dir, genDirName(num))
	if err := os.RemoveAll(dir); err != nil {
		return nil, err
	}
	var lay *layout
	if rb.spec.Tenant != nil {
		counts, err := old.tenantCounts(ctx, rb.spec.Tenant.Attr)
		if err != nil {
			return nil, err
		}
		lay = decideLayout(*rb.spec.Tenant, counts)
	}
	neu, err := createGeneration(dir, rb.spec, lay)
	if err != nil {
		return nil, err
	}
	if err := ix.copyAll(ctx, old, neu); err != nil {
		ix.discard(neu)
		return nil, err
	}
	if ix.m.rebuildHook != nil {
		ix.m.rebuildHook(ix.name)
	}
	for range 10 {
		n, err := ix.replay(old, neu, rb)
		if err != nil {
			ix.discard(neu)
			return nil, err
		}
		if n < 100 {
			break
		}
	}
	return neu, nil
}

// copyAll indexes every record of a snapshot of old into neu.
func (ix *Index) copyAll(ctx context.Context, old, neu *generation) error {
	var puts []put
	flush := func() error {
		if len(puts) == 0 {
			return nil
		}
		_, err := neu.writeDocs(false, puts, nil)
		puts = puts[:0]
		return err
	}
	err := old.forEachRecord(ctx, func(id string, src []byte) error {
		rec, err := DecodeRecord(src)
		if err != nil {
			return fmt.Errorf("record %q: %w", id, err)
		}
		p, err := neu.newPut(ix.m, id, rec, src, false)
		if err != nil {
			return fmt.Errorf("record %q: %w", id, err)
		}
		puts = append(puts, p)
		if len(puts) >= rebuildBatchSize {
			return flush()
		}
		return nil
	})
	if err != nil {
		return err
	}
	return flush()
}

// replay copies the current state, in old, of every record marked dirty into neu and
// returns how many it copied.
func (ix *Index) replay(old, neu *generation, rb *rebuildState) (int, error) {
	ids, cleared := rb.take()
	slices.Sort(ids)
	var puts []put
	var dels []string
	first := true
	flush := func() error {
		if !(first && cleared) && len(puts) == 0 && len(dels) == 0 {
			return nil
		}
		_, err := neu.writeDocs(first && cleared, puts, dels)
		first = false
		puts, dels = puts[:0], dels[:0]
		return err
	}
	for _, id := range ids {
		src, err := readSource(old, id)
		if err != nil {
			return 0, err
		}
		if src == nil {
			dels = append(dels, id)
		} else {
			rec, err := DecodeRecord(src)
			if err != nil {
				return 0, fmt.Errorf("record %q: %w", id, err)
			}
			p, err := neu.newPut(ix.m, id, rec, src, false)
			if err != nil {
				return 0, fmt.Errorf("record %q: %w", id, err)
			}
			puts = append(puts, p)
		}
		if len(puts)+len(dels) >= rebuildBatchSize {
			if err := flush(); err != nil {
				return 0, err
			}
		}
	}
	if err := flush(); err != nil {
		return 0, err
	}
	return len(ids), nil
}
