package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"path/filepath"
	"runtime"
	"sync"
	"time"

	"github.com/keyhole-search/keyhole/api"
	"github.com/keyhole-search/keyhole/auth"
	"github.com/keyhole-search/keyhole/index"
	"github.com/keyhole-search/keyhole/query"
	"github.com/keyhole-search/keyhole/ratelimit"
)

// inProcess runs targets 1 and 2 in this process on the data dir the server phase filled:
// the same query layer keyhole serves with, timed without HTTP.
func (s *setup) inProcess(ctx context.Context, rep *report) error {
	logger := slog.New(slog.NewTextHandler(s.logw, &slog.HandlerOptions{Level: slog.LevelWarn}))
	m, err := index.Open(s.dataDir, logger)
	if err != nil {
		return err
	}
	defer m.Close()
	ks, err := auth.OpenKeyStore(filepath.Join(s.dataDir, "keys.db"), time.Now)
	if err != nil {
		return err
	}
	defer ks.Close()
	parent, err := ks.Create(auth.KeySpec{ACL: []string{"search"}, Description: "bench in-process"})
	if err != nil {
		return err
	}
	verifier := auth.NewVerifier(auth.VerifierOptions{AdminKey: s.adminKey, Store: ks, Logger: logger})
	svc := query.NewService(m)

	n := len(s.ds.records)
	big := s.ds.tenantNear(n / 100)
	small := s.ds.tenantNear(100, big)
	build := func(name string, settings map[string]any, recs []map[string]any) error {
		logf(s.logw, "in-process: loading %s (%d records)", name, len(recs))
		return loadIndex(ctx, m, name, settings, recs, s.o.batch)
	}
	ownBig, ownSmall := "bench_own_big", "bench_own_small"
	ten := s.ds.withTotal(big, 10*s.ds.counts[big])
	for _, b := range []struct {
		name     string
		settings map[string]any
		recs     []map[string]any
	}{
		{ownBig, s.settings, s.ds.of(big)},
		{ownSmall, s.settings, s.ds.of(small)},
		{"bench_part10", s.partSettings, ten},
		{"bench_flat10", s.settings, ten},
	} {
		if err := build(b.name, b.settings, b.recs); err != nil {
			return err
		}
	}
	principal := func(t string, indexes ...string) (*auth.Principal, error) {
		k, err := auth.GenerateSecuredAPIKey(parent.Value, auth.SecuredRestrictions{
			Filters: fmt.Sprintf("%s:%q", s.o.tenantAttr, t), RestrictIndices: indexes, ValidUntil: time.Now().Add(6 * time.Hour),
		})
		if err != nil {
			return nil, err
		}
		return verifier.Authenticate(ctx, auth.Credentials{APIKey: k, ClientIP: netip.MustParseAddr("127.0.0.1")})
	}

	if s.o.only[1] {
		pBig, err := principal(big)
		if err != nil {
			return err
		}
		pSmall, err := principal(small)
		if err != nil {
			return err
		}
		qBig := s.ds.queries(big, s.searchable[0], 40)
		qSmall := s.ds.queries(small, s.searchable[0], 40)
		cfgs := []queryConfig{
			{"own-big", big, ownBig, auth.Admin(), qBig},
			{"part10-big", big, "bench_part10", pBig, qBig},
			{"part100-big", big, partIndex, pBig, qBig},
			{"flat10-big", big, "bench_flat10", pBig, qBig},
			{"flat100-big", big, flatIndex, pBig, qBig},
			{"own-small", small, ownSmall, auth.Admin(), qSmall},
			{"part-small", small, partIndex, pSmall, qSmall},
			{"flat-small", small, flatIndex, pSmall, qSmall},
		}
		t, err := s.timeQueries(ctx, svc, cfgs)
		if err != nil {
			return err
		}
		nb, ns := s.ds.counts[big], s.ds.counts[small]
		what := func(total int, part bool, t string, size int) string {
			kind := "partitioned"
			if !part {
				kind = "unpartitioned"
			}
			return fmt.Sprintf("tenant %s (%d records) by secured key, %s index of %d records (%.0f×)", t, size, kind, total, float64(total)/float64(size))
		}
		own := fmtDur(t["own-big"]) + " own index"
		rep.add("1", what(len(ten), true, big, nb), fmtDur(t["part10-big"]), own, t["part10-big"]/t["own-big"], "≤ 1.50", t["part10-big"] <= 1.5*t["own-big"])
		rep.add("1", what(n, true, big, nb), fmtDur(t["part100-big"]), own, t["part100-big"]/t["own-big"], "≤ 1.50", t["part100-big"] <= 1.5*t["own-big"])
		rep.info("1", what(len(ten), false, big, nb), fmtDur(t["flat10-big"]), own, t["flat10-big"]/t["own-big"])
		rep.info("1", what(n, false, big, nb), fmtDur(t["flat100-big"]), own, t["flat100-big"]/t["own-big"])
		ownS := fmtDur(t["own-small"]) + " own index"
		rep.info("1", what(n, true, small, ns), fmtDur(t["part-small"]), ownS, t["part-small"]/t["own-small"])
		rep.info("1", what(n, false, small, ns), fmtDur(t["flat-small"]), ownS, t["flat-small"]/t["own-small"])
		rep.note("target 1: mean time per query of %d search-box queries (prefixes and words of the tenant's %s values, 20 hits, highlighting), median of %d interleaved rounds, through query.Service", len(qBig), s.searchable[0], s.o.rounds)
	}
	if s.o.only[2] {
		if err := s.credentialThroughput(ctx, rep, m, svc, verifier, ks, parent, big, logger); err != nil {
			return err
		}
	}
	return nil
}

type queryConfig struct {
	name    string
	tenant  string
	index   string
	p       *auth.Principal
	queries []string
}

// timeQueries checks that every configuration of a tenant finds what the tenant's own index
// finds, then times them in interleaved rounds and returns each one's median mean seconds
// per query.
func (s *setup) timeQueries(ctx context.Context, svc *query.Service, cfgs []queryConfig) (map[string]float64, error) {
	hpp := 20
	params := func(q string) query.Params { return query.Params{Query: q, HitsPerPage: &hpp} }
	want := map[string]int{}
	for _, c := range cfgs {
		for _, q := range c.queries {
			res, err := svc.Search(ctx, c.p, c.index, params(q))
			if err != nil {
				return nil, fmt.Errorf("%s %q: %w", c.name, q, err)
			}
			k := c.tenant + "/" + q
			if w, ok := want[k]; ok && w != res.NbHits {
				return nil, fmt.Errorf("%s finds %d records for %q, the tenant's own index %d", c.name, res.NbHits, q, w)
			}
			want[k] = res.NbHits
		}
	}
	per := map[string][]float64{}
	for round := range s.o.rounds {
		logf(s.logw, "target 1: round %d/%d", round+1, s.o.rounds)
		for _, c := range cfgs {
			start := time.Now()
			for _, q := range c.queries {
				if _, err := svc.Search(ctx, c.p, c.index, params(q)); err != nil {
					return nil, err
				}
			}
			per[c.name] = append(per[c.name], time.Since(start).Seconds()/float64(len(c.queries)))
		}
	}
	out := map[string]float64{}
	for k, v := range per {
		out[k] = median(v)
	}
	return out, nil
}

// credentialThroughput is target 2: the same searches of one tenant through the HTTP handler
// (in-process, no sockets) with the admin key (the tenant filter in the request), a secured
// key and a user token (the filter in the credential), in interleaved rounds.
func (s *setup) credentialThroughput(ctx context.Context, rep *report, m *index.Manager, svc *query.Service, verifier *auth.Verifier, ks *auth.KeyStore, parent auth.Key, t string, logger *slog.Logger) error {
	h := api.NewServer(api.Deps{Indexes: m, Search: svc, Auth: verifier, Keys: ks, Logger: logger, Limiter: ratelimit.New(ratelimit.Options{})})
	filter := fmt.Sprintf("%s:%q", s.o.tenantAttr, t)
	secured, err := auth.GenerateSecuredAPIKey(parent.Value, auth.SecuredRestrictions{Filters: filter, RestrictIndices: []string{partIndex}, ValidUntil: time.Now().Add(6 * time.Hour)})
	if err != nil {
		return err
	}
	token, err := auth.GenerateToken(parent, auth.TokenClaims{Subject: "bench-user", Filters: filter, RestrictIndices: []string{partIndex}}, 6*time.Hour, time.Now())
	if err != nil {
		return err
	}
	qs := s.ds.queries(t, s.searchable[0], 40)
	type cred struct {
		name, key string
		filter    bool
	}
	creds := []cred{{"admin key", s.adminKey, true}, {"secured key", secured, false}, {"user token", token, false}}
	path := "/1/indexes/" + partIndex + "/query"
	do := func(c cred, q string) (int, []byte) {
		body := map[string]any{"query": q, "hitsPerPage": 20}
		if c.filter {
			body["filters"] = filter
		}
		b, _ := json.Marshal(body)
		r := httptest.NewRequestWithContext(ctx, http.MethodPost, path, bytes.NewReader(b))
		r.RemoteAddr = "127.0.0.1:5555"
		r.Header.Set("X-Algolia-API-Key", c.key)
		r.Header.Set("X-Algolia-Application-Id", "keyhole")
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		return w.Code, w.Body.Bytes()
	}
	for _, q := range qs {
		first := -1
		for _, c := range creds {
			code, body := do(c, q)
			if code != http.StatusOK {
				return fmt.Errorf("target 2: %s, query %q: %d %s", c.name, q, code, body)
			}
			var res struct {
				NbHits int `json:"nbHits"`
			}
			_ = json.Unmarshal(body, &res)
			if first >= 0 && res.NbHits != first {
				return fmt.Errorf("target 2: %s finds %d records for %q, the admin key with the filter %d", c.name, res.NbHits, q, first)
			}
			if err := onlyTenant(body, s.o.tenantAttr, t); err != nil {
				return fmt.Errorf("target 2: %s: %w", c.name, err)
			}
			first = res.NbHits
		}
	}
	workers := runtime.GOMAXPROCS(0)
	const passes = 20 // about a second per credential per round on this machine
	rates := map[string][]float64{}
	for round := range s.o.rounds {
		logf(s.logw, "target 2: round %d/%d", round+1, s.o.rounds)
		for _, c := range creds {
			start := time.Now()
			var wg sync.WaitGroup
			for w := range workers {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for p := range passes {
						for i := range qs {
							do(c, qs[(i+w+p)%len(qs)])
						}
					}
				}()
			}
			wg.Wait()
			rates[c.name] = append(rates[c.name], float64(workers*passes*len(qs))/time.Since(start).Seconds())
		}
	}
	admin := median(rates["admin key"])
	for _, c := range creds[1:] {
		r := median(rates[c.name])
		rep.add("2", fmt.Sprintf("search throughput with a %s vs the admin key with the same filter (tenant %s, partitioned index, in-process handler, %d workers)", c.name, t, workers),
			fmt.Sprintf("%.0f req/s", r), fmt.Sprintf("%.0f req/s admin key", admin), r/admin, "≥ 0.97", r >= 0.97*admin)
	}
	return nil
}

// loadIndex creates name with settings and writes recs in batches, in-process.
func loadIndex(ctx context.Context, m *index.Manager, name string, settings map[string]any, recs []map[string]any, batch int) error {
	ix, err := m.GetOrCreate(name)
	if err != nil {
		return err
	}
	patch := map[string]json.RawMessage{}
	for k, v := range settings {
		b, _ := json.Marshal(v)
		patch[k] = b
	}
	task, err := ix.SetSettings(ctx, patch)
	if err != nil {
		return err
	}
	if err := waitTask(ctx, m, name, task); err != nil {
		return err
	}
	for i := 0; i < len(recs); i += batch {
		var ops []index.Op
		for _, rec := range recs[i:min(i+batch, len(recs))] {
			ops = append(ops, index.Op{Action: index.ActionAddObject, Body: rec})
		}
		if _, _, err := ix.Write(ctx, ops); err != nil {
			return err
		}
	}
	// A partitioned index re-lays its shards out once writes pause: wait for it.
	for {
		busy := false
		for _, in := range m.List() {
			busy = busy || (in.Name == name && in.PendingTask)
		}
		if !busy {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
}

func waitTask(ctx context.Context, m *index.Manager, name string, task int64) error {
	for {
		done, err := m.TaskStatus(name, task)
		if err != nil || done {
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(10 * time.Millisecond):
		}
	}
}
