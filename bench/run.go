package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"maps"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/keyhole-search/keyhole/internal/child"
)

// names of the indexes the harness builds.
const (
	flatIndex = "bench_flat" // every record, one Bleve index
	partIndex = "bench_part" // every record, partitioned by the tenant attribute
)

type setup struct {
	o            options
	ds           *dataset
	tmp          string
	dataDir      string
	adminKey     string
	settings     map[string]any
	partSettings map[string]any
	searchable   []string
	facets       []string
	logw         io.Writer
}

func benchAll(ctx context.Context, o options, logw io.Writer) (*report, error) {
	rep := &report{started: time.Now()}
	ds, err := loadRecords(o.data, o.tenantAttr, o.records)
	if err != nil {
		return nil, err
	}
	tmp, err := os.MkdirTemp("", "keyhole-bench-")
	if err != nil {
		return nil, err
	}
	if o.keep {
		fmt.Fprintln(logw, "bench: keeping", tmp)
	} else {
		defer os.RemoveAll(tmp)
	}
	raw := make([]byte, 24)
	_, _ = rand.Read(raw)
	s := &setup{o: o, ds: ds, tmp: tmp, dataDir: filepath.Join(tmp, "data"), adminKey: hex.EncodeToString(raw), logw: logw,
		searchable: searchableOf(ds, o.tenantAttr), facets: []string{o.tenantAttr}}
	s.settings = map[string]any{"searchableAttributes": s.searchable, "attributesForFaceting": s.facets}
	s.partSettings = maps.Clone(s.settings)
	if o.partition {
		s.partSettings["tenantAttribute"] = o.tenantAttr
		s.partSettings["tenantShards"] = o.sharedShards
		s.partSettings["tenantOwnShardMin"] = o.ownShardMin
	} else {
		rep.note("-partition=false: the \"partitioned\" indexes are NOT partitioned")
	}
	if o.partition {
		rep.note("bench_part: tenantAttribute %s, tenantShards %d, tenantOwnShardMin %d", o.tenantAttr, o.sharedShards, o.ownShardMin)
	}
	rep.note("data: %s, %d records, %d tenants by %q; searchable %v", o.data, len(ds.records), len(ds.counts), o.tenantAttr, s.searchable)

	bin := o.keyholeBin
	if bin == "" && !(len(o.only) == 1 && o.only[5]) {
		logf(logw, "building keyhole")
		if bin, err = goBuild(ctx, tmp, "github.com/keyhole-search/keyhole/cmd/keyhole", "keyhole"); err != nil {
			return rep, err
		}
	}
	if o.only[1] || o.only[2] || o.only[3] || o.only[4] {
		// The in-process targets search the indexes the server phase ingested.
		if err := s.serverPhase(ctx, bin, rep); err != nil {
			return rep, err
		}
	}
	if o.only[1] || o.only[2] {
		if err := s.inProcess(ctx, rep); err != nil {
			return rep, err
		}
	}
	if o.only[5] {
		if err := credentialTargets(ctx, rep, logw); err != nil {
			return rep, err
		}
	}
	return rep, nil
}

// searchableOf picks the searchable attributes: the string fields of the first record other
// than the tenant attribute and objectID, at most three, in name order.
func searchableOf(ds *dataset, tenantAttr string) []string {
	var out []string
	for _, k := range sortedKeys(ds.records[0]) {
		if _, ok := ds.records[0][k].(string); ok && k != tenantAttr && k != "objectID" && len(out) < 3 {
			out = append(out, k)
		}
	}
	return out
}

// sortedKeys returns m's keys in name order, "name" and "title" first (what people type).
func sortedKeys(m map[string]any) []string {
	rank := func(k string) string {
		if k == "name" || k == "title" {
			return "0" + k
		}
		return "1" + k
	}
	ks := slices.Collect(maps.Keys(m))
	slices.SortFunc(ks, func(a, b string) int { return strings.Compare(rank(a), rank(b)) })
	return ks
}

func logf(w io.Writer, format string, args ...any) {
	fmt.Fprintf(w, "bench %s: %s\n", time.Now().Format("15:04:05"), fmt.Sprintf(format, args...))
}

// serverPhase runs the keyhole binary as a child on loopback: ingest (target 4) into the two
// indexes that the later phases search, then the HTTP load (target 3). The child is stopped
// at the end so that the in-process phase can open its data dir.
func (s *setup) serverPhase(ctx context.Context, bin string, rep *report) error {
	srv, err := child.Start(exec.CommandContext(ctx, bin, "serve", "--listen", "127.0.0.1:0", "--data-dir", s.dataDir,
		"--admin-key", s.adminKey, "--log-level", "warn"), s.logw, time.Minute)
	if err != nil {
		return err
	}
	defer srv.Stop(30 * time.Second)
	a := &client{base: srv.Base, key: s.adminKey, hc: &http.Client{Timeout: 10 * time.Minute}}
	recs := s.ds.records

	var rawRate float64
	if s.o.only[4] {
		logf(s.logw, "target 4: raw Bleve ingest of %d records in-process", len(recs))
		if rawRate, err = rawBleveIngest(filepath.Join(s.tmp, "raw"), recs, s.searchable, s.facets, s.o.batch); err != nil {
			return fmt.Errorf("raw bleve ingest: %w", err)
		}
	}
	logf(s.logw, "target 4: API ingest into %s (one index)", flatIndex)
	flatRate, err := apiIngest(ctx, a, flatIndex, s.settings, recs, s.o.batch, s.o.senders)
	if err != nil {
		return err
	}
	logf(s.logw, "target 4: API ingest into %s (partitioned by %s)", partIndex, s.o.tenantAttr)
	partRate, err := apiIngest(ctx, a, partIndex, s.partSettings, recs, s.o.batch, s.o.senders)
	if err != nil {
		if !strings.Contains(err.Error(), "tenantAttribute") {
			return err
		}
		return fmt.Errorf("%w: %v", errNoShards, err)
	}
	relayoutStart := time.Now()
	if err := a.waitIdle(ctx, partIndex); err != nil {
		return err
	}
	relayout := time.Since(relayoutStart)
	if s.o.only[4] {
		rs := func(r float64) string { return fmt.Sprintf("%.0f rec/s", r) }
		rep.add("4", fmt.Sprintf("ingest through the API to all searchable, one index (%d records, batches of %d, %d in flight)", len(recs), s.o.batch, s.o.senders),
			rs(flatRate), rs(rawRate)+" raw Bleve", flatRate/rawRate, "≥ 0.90", flatRate >= 0.9*rawRate)
		rep.add("4", "same, index partitioned by "+s.o.tenantAttr, rs(partRate), rs(rawRate)+" raw Bleve", partRate/rawRate, "≥ 1.50", partRate >= 1.5*rawRate)
		rep.note("target 4: after the partitioned ingest was all searchable, its background re-layout (big tenants into shards of their own) took %s more", relayout.Round(100*time.Millisecond))
	}
	if s.o.only[3] {
		if err := s.httpTarget(ctx, a, rep); err != nil {
			return fmt.Errorf("target 3: %w", err)
		}
	}
	return nil
}
