package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"time"

	"github.com/keyhole-search/keyhole/auth"
	"github.com/keyhole-search/keyhole/internal/child"
)

// httpTarget is target 3: tenant-scoped searches (secured keys of tenants of at most 100
// records, restricted to the partitioned index) over HTTP with s.o.conns connections,
// against keyhole and against the floor (a plain net/http server answering the same bytes
// from memory), in alternating rounds.
func (s *setup) httpTarget(ctx context.Context, a *client, rep *report) error {
	tenants := s.ds.smallTenants(20, 100, 20)
	if len(tenants) == 0 {
		return fmt.Errorf("the data set has no tenant of 20 to 100 records")
	}
	var key struct {
		Key string `json:"key"`
	}
	if err := a.call(ctx, http.MethodPost, "/1/keys", map[string]any{"acl": []string{"search"}, "indexes": []string{partIndex}, "description": "bench"}, &key); err != nil {
		return err
	}
	var reqs []request
	var floor bytes.Buffer
	hc := &http.Client{Timeout: time.Minute}
	path := "/1/indexes/" + url.PathEscape(partIndex) + "/query"
	for _, t := range tenants {
		secured, err := auth.GenerateSecuredAPIKey(key.Key, auth.SecuredRestrictions{
			Filters: fmt.Sprintf("%s:%q", s.o.tenantAttr, t), RestrictIndices: []string{partIndex}, ValidUntil: time.Now().Add(6 * time.Hour),
		})
		if err != nil {
			return err
		}
		for _, q := range s.ds.queries(t, s.searchable[0], 5) {
			body, _ := json.Marshal(map[string]any{"query": q, "hitsPerPage": 10})
			r := request{Method: http.MethodPost, URL: a.base + path, Body: string(body), Header: map[string][]string{
				"X-Algolia-Api-Key": {secured}, "X-Algolia-Application-Id": {"keyhole"}, "Content-Type": {"application/json"},
			}}
			ans, err := send(ctx, hc, r)
			if err != nil {
				return err
			}
			if err := onlyTenant(ans, s.o.tenantAttr, t); err != nil {
				return fmt.Errorf("tenant %s, query %q: %w", t, q, err)
			}
			e, _ := json.Marshal(floorEntry{Key: floorKey(path, secured, body), Body: string(ans)})
			floor.Write(e)
			floor.WriteByte('\n')
			reqs = append(reqs, r)
		}
	}
	ff := filepath.Join(s.tmp, "floor.ndjson")
	if err := os.WriteFile(ff, floor.Bytes(), 0o600); err != nil {
		return err
	}
	self, err := os.Executable()
	if err != nil {
		return err
	}
	fl, err := child.Start(exec.CommandContext(ctx, self, "-floor", ff), s.logw, time.Minute)
	if err != nil {
		return err
	}
	defer fl.Stop(30 * time.Second)
	floorReqs := make([]request, len(reqs))
	for i, r := range reqs {
		r.URL = fl.Base + path
		floorReqs[i] = r
	}
	vbin, err := goBuild(ctx, s.tmp, "github.com/tsenart/vegeta/v12", "vegeta")
	if err != nil {
		return err
	}
	var kRates, fRates, kP50 []float64
	for round := range 3 {
		logf(s.logw, "target 3: round %d/3: floor, then keyhole, %s each at %d connections", round+1, s.o.duration, s.o.conns)
		fr, err := vegeta(ctx, vbin, floorReqs, s.o.conns, s.o.duration, s.tmp)
		if err != nil {
			return fmt.Errorf("floor: %w", err)
		}
		kr, err := vegeta(ctx, vbin, reqs, s.o.conns, s.o.duration, s.tmp)
		if err != nil {
			return fmt.Errorf("keyhole: %w", err)
		}
		fRates = append(fRates, fr.Throughput)
		kRates = append(kRates, kr.Throughput)
		kP50 = append(kP50, kr.Latencies.P50/1e9)
	}
	k, f := median(kRates), median(fRates)
	rep.add("3", fmt.Sprintf("HTTP throughput, secured-key searches of %d tenants of ≤ 100 records, %d connections, vegeta", len(tenants), s.o.conns),
		fmt.Sprintf("%.0f req/s (p50 %s)", k, fmtDur(median(kP50))), fmt.Sprintf("%.0f req/s net/http floor", f), k/f, "≥ 0.50", k >= 0.5*f)
	return nil
}

func send(ctx context.Context, hc *http.Client, r request) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, r.Method, r.URL, bytes.NewReader([]byte(r.Body)))
	if err != nil {
		return nil, err
	}
	req.Header = r.Header
	resp, err := hc.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("%s %s: %d %s", r.Method, r.URL, resp.StatusCode, bytes.TrimSpace(data))
	}
	return data, nil
}

// onlyTenant checks that every hit of a search answer belongs to tenant t.
func onlyTenant(ans []byte, attr, t string) error {
	var res struct {
		Hits []map[string]any `json:"hits"`
	}
	if err := json.Unmarshal(ans, &res); err != nil {
		return err
	}
	for _, h := range res.Hits {
		if fmt.Sprint(h[attr]) != t {
			return fmt.Errorf("hit %v of tenant %v in tenant %s's answer", h["objectID"], h[attr], t)
		}
	}
	return nil
}
