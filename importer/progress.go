package importer

import (
	"fmt"
	"io"
	"strings"
	"sync"
	"time"
)

// DefaultProgressInterval is how often Progress writes a line to a writer
// that is not a terminal, when NewProgress is given 0.
const DefaultProgressInterval = 5 * time.Second

// terminalRedraw is the shortest time between two redraws on a terminal.
const terminalRedraw = 200 * time.Millisecond

// Progress reports an import's progress: records sent, records rejected and
// records per second. On a terminal it keeps one line up to date (rewritten
// after a carriage return); elsewhere (a log file, a pipe) it writes a line
// at most once per interval. It writes only when told about progress, so it
// stays quiet while a batch is in flight. It is safe for concurrent use.
// Write errors are ignored: progress is informative.
type Progress struct {
	w        io.Writer
	terminal bool
	interval time.Duration
	now      func() time.Time

	mu       sync.Mutex
	start    time.Time
	lastDraw time.Time
	sent     int
	rejected int
	lineLen  int // length of the line on screen (terminal only)
	finished bool
}

// NewProgress returns a Progress writing to w. terminal says whether w is a
// terminal; interval is how often a line is written when it is not (0 means
// DefaultProgressInterval). The clock starts now.
func NewProgress(w io.Writer, terminal bool, interval time.Duration) *Progress {
	if interval <= 0 {
		interval = DefaultProgressInterval
	}
	return newProgress(w, terminal, interval, time.Now)
}

func newProgress(w io.Writer, terminal bool, interval time.Duration, now func() time.Time) *Progress {
	t := now()
	return &Progress{w: w, terminal: terminal, interval: interval, now: now, start: t, lastDraw: t}
}

// AddSent counts n more records sent. Its signature fits Batcher.OnSent.
func (p *Progress) AddSent(n int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.sent += n
	p.maybeDraw()
}

// AddRejected counts n more rejected records.
func (p *Progress) AddRejected(n int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.rejected += n
	p.maybeDraw()
}

// Finish writes the final summary line. Later calls do nothing.
func (p *Progress) Finish() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.finished {
		return
	}
	p.finished = true
	elapsed := p.now().Sub(p.start)
	line := fmt.Sprintf("done: %d records imported, %d rejected, in %s (%s)",
		p.sent, p.rejected, elapsed.Round(100*time.Millisecond), rate(p.sent, elapsed))
	if p.terminal {
		fmt.Fprintf(p.w, "\r%s\n", pad(line, p.lineLen))
		p.lineLen = 0
		return
	}
	fmt.Fprintln(p.w, line)
}

// maybeDraw writes a progress line if enough time has passed. p.mu is held.
func (p *Progress) maybeDraw() {
	if p.finished {
		return
	}
	now := p.now()
	every := p.interval
	if p.terminal {
		every = terminalRedraw
	}
	if now.Sub(p.lastDraw) < every {
		return
	}
	p.lastDraw = now
	line := fmt.Sprintf("%d records sent, %d rejected, %s", p.sent, p.rejected, rate(p.sent, now.Sub(p.start)))
	if p.terminal {
		fmt.Fprintf(p.w, "\r%s", pad(line, p.lineLen))
		p.lineLen = len(line)
		return
	}
	fmt.Fprintln(p.w, line)
}

// rate formats records per second.
func rate(n int, elapsed time.Duration) string {
	if elapsed <= 0 {
		return "- records/s"
	}
	return fmt.Sprintf("%.0f records/s", float64(n)/elapsed.Seconds())
}

// pad extends line with spaces to cover a previous, longer line.
func pad(line string, prev int) string {
	if len(line) >= prev {
		return line
	}
	return line + strings.Repeat(" ", prev-len(line))
}
