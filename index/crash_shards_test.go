package index

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/blevesearch/bleve/v2"
	"github.com/blevesearch/bleve/v2/search/query"
)

// Environment of the child process of TestCrashShardMoves.
const (
	shardCrashDirEnv  = "KEYHOLE_SHARD_CRASH_DIR"
	shardCrashModeEnv = "KEYHOLE_SHARD_CRASH_MODE"
	shardCrashTagEnv  = "KEYHOLE_SHARD_CRASH_TAG"
)

const (
	shardCrashMovers = 40
	shardCrashNew    = 30
)

var shardCrashTeams = []string{"big", "small", "tiny", "other", "big2"}

// shardCrashChild writes batches to a partitioned index: every batch moves the same movers
// to other tenants (records "m<i>", field b = batch number) and adds new records; it prints
// "acked <batch>" after each Write returned. Mode "midmove" kills the process itself
// between the two phases of its first moving write after one acked batch.
func shardCrashChild(dir, mode, tag string) {
	m, err := Open(dir, nil)
	if err != nil {
		fmt.Println("error", err)
		os.Exit(2)
	}
	ix, err := m.GetOrCreate("pcrash")
	if err != nil {
		fmt.Println("error", err)
		os.Exit(2)
	}
	if ix.Settings().TenantAttribute == "" {
		var ops []Op
		for i := range 60 {
			ops = append(ops, Op{Action: ActionUpdateObject, ObjectID: fmt.Sprintf("seed%d", i), Body: map[string]any{"team": "big"}})
		}
		if _, _, err := ix.Write(context.Background(), ops); err != nil {
			fmt.Println("error", err)
			os.Exit(2)
		}
		var patch map[string]json.RawMessage
		_ = json.Unmarshal([]byte(partitionSettings), &patch)
		if _, err := ix.SetSettings(context.Background(), patch); err != nil {
			fmt.Println("error", err)
			os.Exit(2)
		}
		for {
			ix.writeMu.Lock()
			done := ix.rebuildDone == nil && len(ix.meta.PendingTasks) == 0
			ix.writeMu.Unlock()
			if done {
				break
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	for b := 0; ; b++ {
		if mode == "midmove" && b == 1 {
			m.midMoveHook = func() { _ = syscall.Kill(os.Getpid(), syscall.SIGKILL); select {} }
		}
		var ops []Op
		for i := range shardCrashMovers {
			ops = append(ops, Op{Action: ActionUpdateObject, ObjectID: fmt.Sprintf("m%d", i),
				Body: map[string]any{"team": shardCrashTeams[(b+i+len(tag))%len(shardCrashTeams)], "b": b, "tag": tag}})
		}
		for i := range shardCrashNew {
			ops = append(ops, Op{Action: ActionUpdateObject, ObjectID: fmt.Sprintf("%s-%d-%d", tag, b, i),
				Body: map[string]any{"team": shardCrashTeams[i%len(shardCrashTeams)]}})
		}
		if _, _, err := ix.Write(context.Background(), ops); err != nil {
			fmt.Println("error", err)
			os.Exit(2)
		}
		fmt.Printf("acked %d\n", b)
	}
}

// TestCrashShardMoves kills a writer that moves records between the shards of a partitioned
// index (SIGKILL after some acknowledged batches, and once between the two phases of a
// move), then checks after each reopen that every acknowledged record is present exactly
// once, the movers in their last acknowledged state or a later one.
func TestCrashShardMoves(t *testing.T) {
	if dir := os.Getenv(shardCrashDirEnv); dir != "" {
		shardCrashChild(dir, os.Getenv(shardCrashModeEnv), os.Getenv(shardCrashTagEnv))
		return
	}
	if testing.Short() {
		t.Skip("spawns child processes")
	}
	dir := t.TempDir()
	rounds := []struct {
		mode string
		acks int
	}{{"stream", 2}, {"midmove", 1}, {"stream", 1}, {"stream", 3}, {"midmove", 1}}
	acked := map[string]int{}
	lastB := -1 // the movers' last acknowledged batch number, in the latest round
	for r, round := range rounds {
		tag := fmt.Sprintf("r%d", r)
		cmd := exec.Command(os.Args[0], "-test.run=^TestCrashShardMoves$", "-test.count=1")
		cmd.Env = append(os.Environ(), shardCrashDirEnv+"="+dir, shardCrashModeEnv+"="+round.mode, shardCrashTagEnv+"="+tag)
		cmd.Stderr = os.Stderr
		out, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		lines := make(chan string)
		go func() {
			sc := bufio.NewScanner(out)
			for sc.Scan() {
				lines <- sc.Text()
			}
			close(lines)
		}()
		timeout := time.After(120 * time.Second)
		exited := false
		for !exited && (round.mode == "midmove" || acked[tag] < round.acks) {
			select {
			case line, ok := <-lines:
				if !ok {
					exited = true
					break
				}
				if f := strings.Fields(line); len(f) == 2 && f[0] == "acked" {
					acked[tag]++
					lastB, _ = strconv.Atoi(f[1])
				} else if strings.HasPrefix(line, "error") {
					t.Fatalf("round %d: child: %s", r, line)
				}
			case <-timeout:
				_ = cmd.Process.Kill()
				t.Fatalf("round %d: no ack within 120s", r)
			}
		}
		if round.mode == "midmove" && acked[tag] != 1 {
			t.Fatalf("round %d: the child killed itself after %d acks, want 1", r, acked[tag])
		}
		_ = cmd.Process.Signal(syscall.SIGKILL)
		go func() {
			for range lines {
			}
		}()
		_ = cmd.Wait()

		m, logs := MustOpen(t, dir)
		ix, err := m.Get("pcrash")
		if err != nil {
			t.Fatalf("round %d: %v\nlogs:\n%s", r, err, logs)
		}
		if ix.gen.layout == nil {
			t.Fatalf("round %d: the index is not partitioned", r)
		}
		if round.mode == "midmove" && !strings.Contains(logs.String(), "found in two shards") {
			t.Errorf("round %d: a kill between the phases of a move left nothing to reconcile:\n%s", r, logs)
		}
		// Exactly once: a search over every shard returns each id once, and as many as
		// DocCount.
		req := bleve.NewSearchRequestOptions(query.NewMatchAllQuery(), 100000, 0, false)
		res, err := ix.Search(context.Background(), req)
		if err != nil {
			t.Fatal(err)
		}
		var ids []string
		for _, h := range res.Hits {
			ids = append(ids, h.ID)
		}
		slices.Sort(ids)
		if len(slices.Compact(slices.Clone(ids))) != len(ids) {
			t.Fatalf("round %d: a record is in two shards after reopen", r)
		}
		if n, _ := ix.DocCount(); int(n) != len(ids) || len(ix.gen.rt.ids) != len(ids) {
			t.Fatalf("round %d: DocCount %d, routing %d, search %d", r, n, len(ix.gen.rt.ids), len(ids))
		}
		for tg, n := range acked {
			for b := range n {
				for i := range shardCrashNew {
					if !slices.Contains(ids, fmt.Sprintf("%s-%d-%d", tg, b, i)) {
						t.Fatalf("round %d: acknowledged record %s-%d-%d lost", r, tg, b, i)
					}
				}
			}
		}
		for i := range shardCrashMovers {
			id := fmt.Sprintf("m%d", i)
			rec := MustSource(t, ix, id)
			if rec == nil {
				t.Fatalf("round %d: mover %s lost", r, id)
			}
			b, _ := strconv.Atoi(fmt.Sprint(rec["b"]))
			if lastB >= 0 && rec["tag"] == tag && b < lastB {
				t.Fatalf("round %d: mover %s at batch %d, acknowledged %d", r, id, b, lastB)
			}
			// Found by its tenant's pinned search.
			team := fmt.Sprint(rec["team"])
			q := query.NewConjunctionQuery([]query.Query{query.NewDocIDQuery([]string{id}), teamQuery(team)})
			if got := tenantIDs(t, ix, q, []string{TenantKey(team)}); len(got) != 1 {
				t.Fatalf("round %d: mover %s not found by a search pinned to its team", r, id)
			}
		}
		if err := m.Close(); err != nil {
			t.Fatal(err)
		}
		t.Logf("round %d (%s): %d records, acked %v", r, round.mode, len(ids), acked)
	}
}
