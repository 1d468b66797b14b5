package index

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Environment of the child process of TestCrashDurability.
const (
	crashDirEnv  = "KEYHOLE_INDEX_CRASH_DIR"
	crashModeEnv = "KEYHOLE_INDEX_CRASH_MODE"
	crashTagEnv  = "KEYHOLE_INDEX_CRASH_TAG"
)

const crashBatch = 200

// crashChild runs in the child process: it opens the data dir, writes batches and prints
// "acked <taskID> <batch>" on stdout after each Write returned. In mode "one" it writes one
// batch and blocks; in mode "stream" it keeps writing until killed.
func crashChild(dir, mode, tag string) {
	m, err := Open(dir, nil)
	if err != nil {
		fmt.Println("error", err)
		os.Exit(2)
	}
	ix, err := m.GetOrCreate("crash")
	if err != nil {
		fmt.Println("error", err)
		os.Exit(2)
	}
	for b := 0; ; b++ {
		ops := make([]Op, crashBatch)
		for i := range ops {
			ops[i] = Op{Action: ActionUpdateObject, ObjectID: fmt.Sprintf("%s-%d-%d", tag, b, i),
				Body: map[string]any{"title": "crash test record", "batch": b, "i": i}}
		}
		// The counter is read-modify-written: after a crash it must equal the acked batches.
		ops = append(ops, Op{Action: ActionPartialUpdate, ObjectID: "counter-" + tag,
			Body: map[string]any{"n": map[string]any{"_operation": "Increment", "value": 1}}})
		task, _, err := ix.Write(context.Background(), ops)
		if err != nil {
			fmt.Println("error", err)
			os.Exit(2)
		}
		fmt.Printf("acked %d %d\n", task, b)
		if mode == "one" {
			select {} // block until killed
		}
	}
}

func TestCrashDurability(t *testing.T) {
	if dir := os.Getenv(crashDirEnv); dir != "" {
		crashChild(dir, os.Getenv(crashModeEnv), os.Getenv(crashTagEnv))
		return
	}
	if testing.Short() {
		t.Skip("spawns child processes")
	}
	dir := t.TempDir()
	rounds := []struct {
		mode string
		acks int // acks to read before SIGKILL
	}{{"one", 1}, {"stream", 1}, {"stream", 3}, {"one", 1}, {"stream", 2}}
	acked := map[string]int{} // tag -> number of acked batches
	for r, round := range rounds {
		tag := fmt.Sprintf("r%d", r)
		cmd := exec.Command(os.Args[0], "-test.run=^TestCrashDurability$", "-test.count=1")
		cmd.Env = append(os.Environ(), crashDirEnv+"="+dir, crashModeEnv+"="+round.mode, crashTagEnv+"="+tag)
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
		timeout := time.After(60 * time.Second)
		for acked[tag] < round.acks {
			select {
			case line, ok := <-lines:
				if !ok {
					t.Fatalf("round %d: child exited before acking", r)
				}
				f := strings.Fields(line)
				if len(f) == 3 && f[0] == "acked" {
					if _, err := strconv.ParseInt(f[1], 10, 64); err != nil {
						t.Fatalf("bad ack %q", line)
					}
					acked[tag]++
				} else if strings.HasPrefix(line, "error") {
					t.Fatalf("round %d: child: %s", r, line)
				}
			case <-timeout:
				_ = cmd.Process.Kill()
				t.Fatalf("round %d: no ack within 60s", r)
			}
		}
		// Kill at once: in stream mode the next batch is in flight.
		if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		go func() {
			for range lines {
			}
		}()
		_ = cmd.Wait()

		// Every acknowledged record survives; the counter equals the acked batches unless
		// the batch in flight at the kill was also persisted (then it is one more).
		m, logs := MustOpen(t, dir)
		ix, err := m.Get("crash")
		if err != nil {
			t.Fatalf("round %d: %v\nlogs:\n%s", r, err, logs)
		}
		for tg, n := range acked {
			for b := range n {
				for _, i := range []int{0, crashBatch / 2, crashBatch - 1} {
					id := fmt.Sprintf("%s-%d-%d", tg, b, i)
					if MustSource(t, ix, id) == nil {
						t.Fatalf("round %d: acknowledged record %s lost", r, id)
					}
				}
			}
			c := MustSource(t, ix, "counter-"+tg)
			got, _ := strconv.Atoi(fmt.Sprint(c["n"]))
			if got != n && got != n+1 {
				t.Errorf("round %d: counter-%s = %d, want %d (or %d)", r, tg, got, n, n+1)
			}
			acked[tg] = got // a persisted in-flight batch counts from now on
		}
		if err := m.Close(); err != nil {
			t.Fatal(err)
		}
		t.Logf("round %d (%s): acked batches so far %v", r, round.mode, acked)
	}
}
