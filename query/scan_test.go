package query

import (
	"bufio"
	"context"
	"encoding/json"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/keyhole-search/keyhole/auth"
	"github.com/keyhole-search/keyhole/index"
	"github.com/keyhole-search/keyhole/query/filter"
)

// This file holds the test harness of the package: a catalogue loaded into a real index, and
// an independent straight-scan evaluator of filter trees over the same records, which is what
// search results are compared with.

// loadNDJSON reads records, one JSON object a line, numbers kept as json.Number.
func loadNDJSON(tb testing.TB, path string, limit int) []map[string]any {
	tb.Helper()
	f, err := os.Open(path)
	if err != nil {
		tb.Fatalf("open %s: %v", path, err)
	}
	defer f.Close()
	var out []map[string]any
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	for sc.Scan() {
		if limit > 0 && len(out) >= limit {
			break
		}
		dec := json.NewDecoder(strings.NewReader(sc.Text()))
		dec.UseNumber()
		var m map[string]any
		if err := dec.Decode(&m); err != nil {
			tb.Fatalf("%s line %d: %v", path, len(out)+1, err)
		}
		out = append(out, m)
	}
	if err := sc.Err(); err != nil {
		tb.Fatal(err)
	}
	return out
}

// MustIndex opens a manager in a temp dir and loads records into name with settings.
func MustIndex(tb testing.TB, name string, settings string, records []map[string]any) (*index.Manager, *Service) {
	tb.Helper()
	m, err := index.Open(tb.TempDir(), nil)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { m.Close() })
	ix, err := m.GetOrCreate(name)
	if err != nil {
		tb.Fatal(err)
	}
	if settings != "" {
		var patch map[string]json.RawMessage
		if err := json.Unmarshal([]byte(settings), &patch); err != nil {
			tb.Fatal(err)
		}
		task, err := ix.SetSettings(context.Background(), patch)
		if err != nil {
			tb.Fatal(err)
		}
		waitTask(tb, m, name, task)
	}
	for start := 0; start < len(records); start += 1000 {
		end := min(start+1000, len(records))
		ops := make([]index.Op, 0, end-start)
		for _, r := range records[start:end] {
			cp := make(map[string]any, len(r))
			for k, v := range r {
				cp[k] = v
			}
			id, _ := cp["objectID"].(string)
			ops = append(ops, index.Op{Action: index.ActionUpdateObject, ObjectID: id, Body: cp})
		}
		if _, _, err := ix.Write(context.Background(), ops); err != nil {
			tb.Fatal(err)
		}
	}
	return m, NewService(m)
}

func waitTask(tb testing.TB, m *index.Manager, name string, task int64) {
	tb.Helper()
	for i := 0; i < 3000; i++ {
		ok, err := m.TaskStatus(name, task)
		if err != nil {
			tb.Fatal(err)
		}
		if ok {
			return
		}
		sleepBrief()
	}
	tb.Fatalf("task %d never published", task)
}

// values returns every leaf value at the dotted path of rec (arrays flattened, objects
// descended), which is what a facet or numeric filter on that attribute sees.
func values(rec map[string]any, path string) []any {
	var out []any
	var walk func(v any, rest string)
	walk = func(v any, rest string) {
		switch x := v.(type) {
		case []any:
			for _, e := range x {
				walk(e, rest)
			}
			return
		case map[string]any:
			if rest == "" {
				for _, e := range x {
					walk(e, "")
				}
				return
			}
			head, tail, _ := strings.Cut(rest, ".")
			if c, ok := x[head]; ok {
				walk(c, tail)
			}
			return
		}
		if rest == "" {
			out = append(out, v)
		}
	}
	walk(rec, path)
	return out
}

func leafText(v any) (string, bool) {
	switch x := v.(type) {
	case string:
		return x, true
	case json.Number:
		f, err := x.Float64()
		if err != nil {
			return x.String(), true
		}
		return strconv.FormatFloat(f, 'f', -1, 64), true
	case bool:
		return strconv.FormatBool(x), true
	}
	return "", false
}

func leafNumbers(v any) []float64 {
	switch x := v.(type) {
	case json.Number:
		f, err := x.Float64()
		if err == nil {
			return []float64{f}
		}
	case bool:
		if x {
			return []float64{1}
		}
		return []float64{0}
	}
	return nil
}

// eval is the straight-scan meaning of a filter tree on one record.
func eval(n filter.Node, rec map[string]any) bool {
	switch t := n.(type) {
	case nil:
		return true
	case filter.And:
		for _, c := range t.Nodes {
			if !eval(c, rec) {
				return false
			}
		}
		return true
	case filter.Or:
		for _, c := range t.Nodes {
			if eval(c, rec) {
				return true
			}
		}
		return false
	case filter.Not:
		return !eval(t.Node, rec)
	case filter.Facet:
		for _, v := range values(rec, t.Attr) {
			if s, ok := leafText(v); ok && strings.EqualFold(s, t.Value) {
				return true
			}
		}
		return false
	case filter.Tag:
		for _, v := range values(rec, "_tags") {
			if s, ok := v.(string); ok && s == t.Value {
				return true
			}
		}
		return false
	case filter.Range:
		for _, v := range values(rec, t.Attr) {
			for _, f := range leafNumbers(v) {
				if f >= t.Min && f <= t.Max {
					return true
				}
			}
		}
		return false
	case filter.Numeric:
		if t.Op == filter.OpNe {
			return !eval(filter.Numeric{Attr: t.Attr, Op: filter.OpEq, Value: t.Value}, rec)
		}
		for _, v := range values(rec, t.Attr) {
			for _, f := range leafNumbers(v) {
				ok := false
				switch t.Op {
				case filter.OpEq:
					ok = f == t.Value
				case filter.OpLt:
					ok = f < t.Value
				case filter.OpLe:
					ok = f <= t.Value
				case filter.OpGt:
					ok = f > t.Value
				case filter.OpGe:
					ok = f >= t.Value
				}
				if ok {
					return true
				}
			}
		}
		return false
	case filter.Exists:
		return len(values(rec, t.Attr)) > 0
	}
	panic("unknown node")
}

// principalWith returns a stored-key-like principal restricted by the filter text.
func principalWith(tb testing.TB, filters string, indexes ...string) *auth.Principal {
	tb.Helper()
	n, err := filter.Parse(filters)
	if err != nil {
		tb.Fatal(err)
	}
	p := &auth.Principal{Kind: auth.KindSecuredKey, KeyID: "test", ACL: auth.ACLSearch | auth.ACLBrowse}
	p.Restrictions.Filter = n
	if len(indexes) > 0 {
		p.Restrictions.IndexLayers = [][]string{indexes}
	}
	return p
}
