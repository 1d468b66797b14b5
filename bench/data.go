package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	mrand "math/rand/v2"
	"os"
	"runtime"
	"slices"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
	"unicode/utf8"
)

// dataset is the loaded data: records with objectID set, and their tenants.
type dataset struct {
	records []map[string]any
	tenant  []string // tenant value of each record
	counts  map[string]int
}

func loadRecords(path, tenantAttr string, limit int) (*dataset, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("%w (the shared data sets live in ../shared/data beside the checkout; -data names another file)", err)
	}
	defer f.Close()
	ds := &dataset{counts: map[string]int{}}
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	line := 0
	for sc.Scan() {
		line++
		if limit > 0 && len(ds.records) >= limit {
			break
		}
		if len(bytes.TrimSpace(sc.Bytes())) == 0 {
			continue
		}
		d := json.NewDecoder(bytes.NewReader(sc.Bytes()))
		d.UseNumber()
		var rec map[string]any
		if err := d.Decode(&rec); err != nil {
			return nil, fmt.Errorf("%s:%d: %v", path, line, err)
		}
		rec["objectID"] = "r" + strconv.Itoa(line)
		t := fmt.Sprint(rec[tenantAttr])
		ds.records = append(ds.records, rec)
		ds.tenant = append(ds.tenant, t)
		ds.counts[t]++
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	if len(ds.records) == 0 {
		return nil, fmt.Errorf("%s: no records", path)
	}
	return ds, nil
}

// tenantNear returns the tenant whose record count is closest to n (ties: the name first in
// order), ignoring tenants in skip.
func (ds *dataset) tenantNear(n int, skip ...string) string {
	best, bestD := "", -1
	for _, t := range ds.sortedTenants() {
		if slices.Contains(skip, t) || strings.ContainsAny(t, "\"'\\ ") || t == "" {
			continue
		}
		d := ds.counts[t] - n
		if d < 0 {
			d = -d
		}
		if bestD < 0 || d < bestD {
			best, bestD = t, d
		}
	}
	return best
}

// smallTenants returns up to max tenants with lo..hi records, in name order.
func (ds *dataset) smallTenants(lo, hi, max int) []string {
	var out []string
	for _, t := range ds.sortedTenants() {
		if c := ds.counts[t]; c >= lo && c <= hi && !strings.ContainsAny(t, "\"'\\ ") && t != "" {
			out = append(out, t)
			if len(out) == max {
				break
			}
		}
	}
	return out
}

func (ds *dataset) sortedTenants() []string {
	ts := make([]string, 0, len(ds.counts))
	for t := range ds.counts {
		ts = append(ts, t)
	}
	sort.Strings(ts)
	return ts
}

// of returns the records of tenant t.
func (ds *dataset) of(t string) []map[string]any {
	var out []map[string]any
	for i, rec := range ds.records {
		if ds.tenant[i] == t {
			out = append(out, rec)
		}
	}
	return out
}

// withTotal returns tenant t's records plus records of other tenants, in file order from a
// seeded random start, until there are total records.
func (ds *dataset) withTotal(t string, total int) []map[string]any {
	out := ds.of(t)
	start := int(mrand.New(mrand.NewPCG(7, 7)).IntN(len(ds.records)))
	for i := 0; len(out) < total && i < len(ds.records); i++ {
		j := (start + i) % len(ds.records)
		if ds.tenant[j] != t {
			out = append(out, ds.records[j])
		}
	}
	return out
}

// queries returns n search texts typed into a search box by users of tenant t: prefixes of 2
// to 5 letters, and a few whole words, of the names of t's records (seeded).
func (ds *dataset) queries(t, field string, n int) []string {
	recs := ds.of(t)
	r := mrand.New(mrand.NewPCG(uint64(len(recs)), 11))
	var out []string
	for len(out) < n {
		name, _ := recs[r.IntN(len(recs))][field].(string)
		words := strings.Fields(strings.ToLower(name))
		if len(words) == 0 {
			continue
		}
		w := words[0]
		if len(out)%4 == 3 || utf8.RuneCountInString(w) <= 2 {
			out = append(out, w)
			continue
		}
		k := 2 + len(out)%4
		runes := []rune(w)
		if k > len(runes) {
			k = len(runes)
		}
		out = append(out, string(runes[:k]))
	}
	return out
}

// report is the harness's output: one row per measurement.
type report struct {
	started time.Time
	rows    []row
	notes   []string
}

type row struct {
	target   string
	what     string
	keyhole  string
	baseline string
	ratio    float64
	goal     string
	met      string
}

func (r *report) add(target, what, keyhole, baseline string, ratio float64, goal string, ok bool) {
	met := "no"
	if ok {
		met = "yes"
	}
	r.rows = append(r.rows, row{target, what, keyhole, baseline, ratio, goal, met})
}

func (r *report) info(target, what, keyhole, baseline string, ratio float64) {
	r.rows = append(r.rows, row{target, what, keyhole, baseline, ratio, "(info)", ""})
}

func (r *report) note(format string, args ...any) {
	r.notes = append(r.notes, fmt.Sprintf(format, args...))
}

func (r *report) print(w io.Writer) {
	host, _ := os.Hostname()
	fmt.Fprintf(w, "\nkeyhole bench, %s, %s, %d CPUs, %s, took %s\n\n", r.started.UTC().Format("2006-01-02 15:04 MST"), host, runtime.NumCPU(), runtime.Version(), time.Since(r.started).Round(time.Second))
	tw := tabwriter.NewWriter(w, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "| target\t| measurement\t| keyhole\t| baseline\t| ratio\t| goal\t| met\t|")
	fmt.Fprintln(tw, "|---\t|---\t|---\t|---\t|---\t|---\t|---\t|")
	for _, x := range r.rows {
		ratio := fmt.Sprintf("%.2f", x.ratio)
		if x.ratio == 0 {
			ratio = ""
		}
		fmt.Fprintf(tw, "| %s\t| %s\t| %s\t| %s\t| %s\t| %s\t| %s\t|\n", x.target, x.what, x.keyhole, x.baseline, ratio, x.goal, x.met)
	}
	tw.Flush()
	for _, n := range r.notes {
		fmt.Fprintln(w, "-", n)
	}
}

func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func fmtDur(seconds float64) string {
	d := time.Duration(seconds * float64(time.Second))
	switch {
	case d < time.Microsecond:
		return fmt.Sprintf("%.0f ns", seconds*1e9)
	case d < time.Millisecond:
		return fmt.Sprintf("%.1f µs", seconds*1e6)
	default:
		return fmt.Sprintf("%.2f ms", seconds*1e3)
	}
}
