// Command loadtest starts a keyhole server on the loopback interface with a temporary data
// directory, loads synthetic multi-tenant records, and runs a mix of restricted searches
// (secured API keys, HS256 user tokens minted afresh as the run goes, multi-queries, facets,
// filters, a rate-limited key) and occasional admin writes for a fixed duration. It prints
// requests, statuses, latency percentiles and the server's memory, and exits non-zero when a
// request failed (429 and 503 count as intended answers), a restricted search returned a
// record of another tenant, or memory grew by more than -max-mem-growth after warm-up.
//
//	go run ./loadtest -duration 20s -concurrency 20
//	go build -o /tmp/keyhole ./cmd/keyhole && go run ./loadtest -server-bin /tmp/keyhole -duration 2m -concurrency 50
//
// Without -server-bin the server runs in this process (wired as `keyhole serve` wires it)
// and memory is the Go heap in use of the whole process, load generator included; with it,
// memory is the child's resident set size.
package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	mrand "math/rand/v2"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"text/tabwriter"
	"time"

	"github.com/keyhole-search/keyhole/auth"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Stdout, os.Stderr))
}

type options struct {
	duration    time.Duration
	concurrency int
	records     int
	tenants     int
	listen      string
	serverBin   string
	sample      time.Duration
	maxGrowth   float64
	keepDir     bool
}

const indexName = "lt_products"

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("loadtest", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var o options
	fs.DurationVar(&o.duration, "duration", 20*time.Second, "how long the mix runs")
	fs.IntVar(&o.concurrency, "concurrency", 20, "concurrent clients")
	fs.IntVar(&o.records, "records", 5000, "synthetic records loaded first")
	fs.IntVar(&o.tenants, "tenants", 8, "tenants the records are spread over")
	fs.StringVar(&o.listen, "listen", "127.0.0.1:0", "listen address of the server (loopback only)")
	fs.StringVar(&o.serverBin, "server-bin", "", "a built keyhole binary to run as a child (default: the server runs in this process)")
	fs.DurationVar(&o.sample, "sample", 2*time.Second, "memory sampling interval")
	fs.Float64Var(&o.maxGrowth, "max-mem-growth", 3.0, "fail when memory after warm-up exceeds this factor of the first sample after warm-up (or of 32 MiB, if that is more)")
	fs.BoolVar(&o.keepDir, "keep", false, "keep the temporary data directory")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if err := checkLoopback(o.listen); err != nil {
		fmt.Fprintln(stderr, "loadtest:", err)
		return 2
	}
	if o.duration <= 0 || o.concurrency <= 0 || o.records <= 0 || o.tenants <= 0 || o.maxGrowth <= 1 {
		fmt.Fprintln(stderr, "loadtest: -duration, -concurrency, -records, -tenants must be positive and -max-mem-growth above 1")
		return 2
	}
	ok, err := loadTest(ctx, o, stdout, stderr)
	if err != nil {
		fmt.Fprintln(stderr, "loadtest:", err)
		return 1
	}
	if !ok {
		return 1
	}
	return 0
}

// client talks to the server.
type client struct {
	base string
	hc   *http.Client
}

// call sends a request with an API key (or, when bearer is set, a token) and returns the
// status and body.
func (c *client) call(ctx context.Context, method, path, apiKey, bearer string, body any) (int, []byte, error) {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return 0, nil, err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, rd)
	if err != nil {
		return 0, nil, err
	}
	if apiKey != "" {
		req.Header.Set("X-Algolia-API-Key", apiKey)
	}
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.hc.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	return resp.StatusCode, data, err
}

func (c *client) must(ctx context.Context, method, path, apiKey string, body, out any) error {
	status, data, err := c.call(ctx, method, path, apiKey, "", body)
	if err != nil {
		return err
	}
	if status != http.StatusOK && status != http.StatusCreated {
		return fmt.Errorf("%s %s: %d %s", method, path, status, bytes.TrimSpace(data))
	}
	if out != nil {
		return json.Unmarshal(data, out)
	}
	return nil
}

var (
	words      = []string{"espresso", "grinder", "kettle", "mug", "filter", "scale", "press", "tamper", "carafe", "dripper", "roaster", "thermos"}
	adjectives = []string{"steel", "ceramic", "compact", "classic", "electric", "manual", "glass", "travel"}
	categories = []string{"machines", "accessories", "cups", "beans", "cleaning"}
	brands     = []string{"acme", "brewco", "kaffa", "moka", "nordic", "volta"}
)

func record(i, tenants int, r *mrand.Rand) map[string]any {
	w := words[r.IntN(len(words))]
	return map[string]any{
		"objectID":    fmt.Sprintf("p%d", i),
		"tenant":      fmt.Sprintf("t%d", i%tenants),
		"name":        adjectives[r.IntN(len(adjectives))] + " " + w,
		"description": fmt.Sprintf("a %s %s for every kitchen, model %d", adjectives[r.IntN(len(adjectives))], w, i),
		"category":    categories[r.IntN(len(categories))],
		"brand":       brands[r.IntN(len(brands))],
		"price":       5 + r.IntN(500),
		"stock":       r.IntN(100),
	}
}

// credentials are what the clients search with; tokens are replaced as the run goes.
type credentials struct {
	secured  []string // one per tenant: secured keys filtered on that tenant
	limited  string   // a stored key with maxQueriesPerIPPerHour
	tokens   atomic.Pointer[[]string]
	tokenKey auth.Key
	tenants  int
}

// stats is one client's tally.
type stats struct {
	lat      map[string][]time.Duration
	statuses map[string]map[int]int // kind -> status -> count (0: transport error)
	leaks    int
	samples  []string // a few unexpected answers
}

func newStats() *stats {
	return &stats{lat: map[string][]time.Duration{}, statuses: map[string]map[int]int{}}
}

func (s *stats) add(kind string, d time.Duration, status int, body []byte, err error) {
	s.lat[kind] = append(s.lat[kind], d)
	if s.statuses[kind] == nil {
		s.statuses[kind] = map[int]int{}
	}
	s.statuses[kind][status]++
	if !intended(status) && len(s.samples) < 5 {
		msg := string(bytes.TrimSpace(body))
		if err != nil {
			msg = err.Error()
		}
		if len(msg) > 200 {
			msg = msg[:200]
		}
		s.samples = append(s.samples, fmt.Sprintf("%s: %d %s", kind, status, msg))
	}
}

// intended: success, or a refusal the server is meant to give under load.
func intended(status int) bool {
	return (status >= 200 && status < 300) || status == http.StatusTooManyRequests || status == http.StatusServiceUnavailable
}

func loadTest(ctx context.Context, o options, stdout, stderr io.Writer) (bool, error) {
	dataDir, err := os.MkdirTemp("", "keyhole-loadtest-")
	if err != nil {
		return false, err
	}
	if !o.keepDir {
		defer os.RemoveAll(dataDir)
	}
	var kb [16]byte
	_, _ = rand.Read(kb[:])
	adminKey := "lt-admin-" + hex.EncodeToString(kb[:])

	var srv *server
	if o.serverBin != "" {
		srv, err = startChild(o.serverBin, o.listen, dataDir, adminKey, stderr)
	} else {
		srv, err = startInProcess(o.listen, dataDir, adminKey, stderr)
	}
	if err != nil {
		return false, fmt.Errorf("start server: %w", err)
	}
	defer srv.stop()
	c := &client{base: srv.base, hc: &http.Client{Timeout: 30 * time.Second,
		Transport: &http.Transport{MaxIdleConns: 2 * o.concurrency, MaxIdleConnsPerHost: 2 * o.concurrency}}}
	fmt.Fprintf(stdout, "keyhole load test: server %s (data %s), %v, concurrency %d\n", srv.base, dataDir, o.duration, o.concurrency)

	// Settings and records.
	setup, cancel := context.WithTimeout(ctx, 5*time.Minute)
	defer cancel()
	err = c.must(setup, "PUT", "/1/indexes/"+indexName+"/settings", adminKey, map[string]any{
		"searchableAttributes":  []string{"name", "description", "brand"},
		"attributesForFaceting": []string{"filterOnly(tenant)", "category", "brand"},
	}, nil)
	if err != nil {
		return false, err
	}
	r := mrand.New(mrand.NewPCG(1, 2))
	loadStart := time.Now()
	for i := 0; i < o.records; i += 1000 {
		var reqs []map[string]any
		for j := i; j < min(i+1000, o.records); j++ {
			reqs = append(reqs, map[string]any{"action": "updateObject", "body": record(j, o.tenants, r)})
		}
		if err := c.must(setup, "POST", "/1/indexes/"+indexName+"/batch", adminKey, map[string]any{"requests": reqs}, nil); err != nil {
			return false, err
		}
	}
	fmt.Fprintf(stdout, "loaded %d records over %d tenants in %v\n", o.records, o.tenants, time.Since(loadStart).Round(time.Millisecond))

	// Keys: several search keys, one of them rate limited; secured keys and tokens from them.
	cr := &credentials{tenants: o.tenants}
	var parents []auth.Key
	for i, limit := range []int{0, 0, 100} {
		var created struct {
			Key string `json:"key"`
		}
		spec := map[string]any{"acl": []string{"search"}, "indexes": []string{indexName},
			"description": fmt.Sprintf("loadtest key %d", i), "maxQueriesPerIPPerHour": limit}
		if err := c.must(setup, "POST", "/1/keys", adminKey, spec, &created); err != nil {
			return false, err
		}
		var k auth.Key
		if err := c.must(setup, "GET", "/1/keys/"+url.PathEscape(created.Key), adminKey, nil, &k); err != nil {
			return false, err
		}
		if k.ID == "" || k.Value != created.Key {
			return false, fmt.Errorf("GET /1/keys/{key} did not return the key and its id: %+v", k)
		}
		parents = append(parents, k)
	}
	cr.limited = parents[2].Value
	cr.tokenKey = parents[1]
	for t := range o.tenants {
		s, err := auth.GenerateSecuredAPIKey(parents[0].Value, auth.SecuredRestrictions{
			Filters: fmt.Sprintf("tenant:t%d", t), ValidUntil: time.Now().Add(time.Hour), RestrictIndices: []string{indexName}})
		if err != nil {
			return false, err
		}
		cr.secured = append(cr.secured, s)
	}
	var refreshes atomic.Int64
	mint := func() error {
		toks := make([]string, o.tenants)
		for t := range o.tenants {
			tok, err := auth.GenerateToken(cr.tokenKey, auth.TokenClaims{
				Subject: fmt.Sprintf("user-%d", t), Filters: fmt.Sprintf("tenant:t%d", t),
				RestrictIndices: []string{indexName}}, 2*time.Minute, time.Now())
			if err != nil {
				return err
			}
			toks[t] = tok
		}
		cr.tokens.Store(&toks)
		refreshes.Add(1)
		return nil
	}
	if err := mint(); err != nil {
		return false, err
	}

	// The mix.
	runCtx, stopRun := context.WithTimeout(ctx, o.duration)
	defer stopRun()
	start := time.Now()
	var wg sync.WaitGroup
	wg.Go(func() { // token refresh: new tokens every second
		t := time.NewTicker(time.Second)
		defer t.Stop()
		for {
			select {
			case <-runCtx.Done():
				return
			case <-t.C:
				if err := mint(); err != nil {
					fmt.Fprintln(stderr, "loadtest: mint:", err)
				}
			}
		}
	})
	type sample struct {
		at  time.Duration
		mem uint64
	}
	var samples []sample
	var sampleMu sync.Mutex
	wg.Go(func() {
		t := time.NewTicker(o.sample)
		defer t.Stop()
		take := func() {
			m, err := srv.memory()
			if err != nil {
				fmt.Fprintln(stderr, "loadtest: memory:", err)
				return
			}
			sampleMu.Lock()
			samples = append(samples, sample{time.Since(start), m})
			sampleMu.Unlock()
		}
		take()
		for {
			select {
			case <-runCtx.Done():
				take()
				return
			case <-t.C:
				take()
			}
		}
	})
	all := make([]*stats, o.concurrency)
	for i := range o.concurrency {
		st := newStats()
		all[i] = st
		wg.Go(func() { runClient(runCtx, c, cr, adminKey, o, uint64(i), st) })
	}
	wg.Wait()
	elapsed := time.Since(start)

	// Report.
	kinds := map[string]bool{}
	total := newStats()
	for _, st := range all {
		for k, v := range st.lat {
			kinds[k] = true
			total.lat[k] = append(total.lat[k], v...)
		}
		for k, m := range st.statuses {
			if total.statuses[k] == nil {
				total.statuses[k] = map[int]int{}
			}
			for s, n := range m {
				total.statuses[k][s] += n
			}
		}
		total.leaks += st.leaks
		total.samples = append(total.samples, st.samples...)
	}
	tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "kind\trequests\tok\t429\t503\terrors\tp50\tp95\tp99\t")
	var allLat []time.Duration
	var nReq, nOK, n429, n503, nErr int
	for _, k := range slices.Sorted(func(yield func(string) bool) {
		for k := range kinds {
			if !yield(k) {
				return
			}
		}
	}) {
		lat := total.lat[k]
		allLat = append(allLat, lat...)
		var ok, r429, r503, bad int
		for s, n := range total.statuses[k] {
			switch {
			case s >= 200 && s < 300:
				ok += n
			case s == 429:
				r429 += n
			case s == 503:
				r503 += n
			default:
				bad += n
			}
		}
		nReq += len(lat)
		nOK, n429, n503, nErr = nOK+ok, n429+r429, n503+r503, nErr+bad
		p := percentiles(lat)
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%d\t%d\t%v\t%v\t%v\t\n", k, len(lat), ok, r429, r503, bad, p[0], p[1], p[2])
	}
	p := percentiles(allLat)
	fmt.Fprintf(tw, "all\t%d\t%d\t%d\t%d\t%d\t%v\t%v\t%v\t\n", nReq, nOK, n429, n503, nErr, p[0], p[1], p[2])
	tw.Flush()
	fmt.Fprintf(stdout, "%.0f requests/s over %v; %d token refreshes\n", float64(nReq)/elapsed.Seconds(), elapsed.Round(time.Millisecond), refreshes.Load())
	statusLine := map[int]int{}
	for _, m := range total.statuses {
		for s, n := range m {
			statusLine[s] += n
		}
	}
	var parts []string
	for _, s := range slices.Sorted(func(yield func(int) bool) {
		for s := range statusLine {
			if !yield(s) {
				return
			}
		}
	}) {
		name := fmt.Sprint(s)
		if s == 0 {
			name = "transport-error"
		}
		parts = append(parts, fmt.Sprintf("%s=%d", name, statusLine[s]))
	}
	fmt.Fprintf(stdout, "statuses: %s\n", strings.Join(parts, " "))

	ok := true
	if nErr > 0 {
		ok = false
		fmt.Fprintf(stdout, "FAIL: %d requests answered an error other than 429/503, e.g.:\n  %s\n", nErr, strings.Join(total.samples, "\n  "))
	}
	if n429 == 0 {
		fmt.Fprintln(stdout, "note: no 429 seen: the rate-limited key never hit its limit")
	}
	if total.leaks > 0 {
		ok = false
		fmt.Fprintf(stdout, "FAIL: %d restricted searches returned records of another tenant\n", total.leaks)
	}

	const memFloor = 32 << 20
	// Memory: baseline = first sample after warm-up (20% of the run, at least one interval).
	sampleMu.Lock()
	defer sampleMu.Unlock()
	if len(samples) > 0 {
		warm := max(o.duration/5, o.sample)
		var base, maxAfter, maxAll uint64
		for _, s := range samples {
			maxAll = max(maxAll, s.mem)
			if s.at >= warm {
				if base == 0 {
					base = s.mem
				}
				maxAfter = max(maxAfter, s.mem)
			}
		}
		first, last := samples[0].mem, samples[len(samples)-1].mem
		fmt.Fprintf(stdout, "memory (%s), %d samples every %v: first %s, last %s, max %s", srv.memName, len(samples), o.sample, mib(first), mib(last), mib(maxAll))
		if base > 0 {
			// A small heap swings with every GC cycle: growth is measured against at least
			// memFloor, so that noise of a few MiB is not taken for a leak.
			growth := float64(maxAfter) / float64(max(base, memFloor))
			fmt.Fprintf(stdout, "; after warm-up (%v): baseline %s, max %s (%.2fx, limit %.1fx)\n", warm, mib(base), mib(maxAfter), growth, o.maxGrowth)
			if growth > o.maxGrowth {
				ok = false
				fmt.Fprintf(stdout, "FAIL: memory grew %.2fx after warm-up (limit %.1fx)\n", growth, o.maxGrowth)
			}
		} else {
			fmt.Fprintln(stdout, "; the run was too short for a sample after warm-up")
		}
	}
	if ok {
		fmt.Fprintln(stdout, "result: OK")
	} else {
		fmt.Fprintln(stdout, "result: FAIL")
	}
	return ok, nil
}

func mib(b uint64) string { return fmt.Sprintf("%.1f MiB", float64(b)/(1<<20)) }

// percentiles returns p50, p95 and p99 (rounded to 10 µs).
func percentiles(d []time.Duration) [3]time.Duration {
	if len(d) == 0 {
		return [3]time.Duration{}
	}
	s := slices.Clone(d)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	at := func(q float64) time.Duration {
		return s[min(len(s)-1, int(q*float64(len(s))))].Round(10 * time.Microsecond)
	}
	return [3]time.Duration{at(0.50), at(0.95), at(0.99)}
}

// runClient is one concurrent client: it picks a request kind by weight until ctx ends.
func runClient(ctx context.Context, c *client, cr *credentials, adminKey string, o options, n uint64, st *stats) {
	r := mrand.New(mrand.NewPCG(n, 7))
	for ctx.Err() == nil {
		tenant := r.IntN(cr.tenants)
		word := words[r.IntN(len(words))]
		if r.IntN(3) == 0 {
			word = word[:3] // prefix search
		}
		var (
			kind, key, bearer, path string
			body                    any
		)
		switch k := r.IntN(100); {
		case k < 35:
			kind, key, path = "search-secured", cr.secured[tenant], "/1/indexes/"+indexName+"/query"
			body = map[string]any{"query": word, "facets": []string{"category", "brand"},
				"filters": fmt.Sprintf("price < %d", 50+r.IntN(450)), "hitsPerPage": 20}
		case k < 55:
			kind, key, path = "multi-secured", cr.secured[tenant], "/1/indexes/*/queries"
			body = map[string]any{"requests": []map[string]any{
				{"indexName": indexName, "params": "query=" + url.QueryEscape(word) + "&facets=category&hitsPerPage=10"},
				{"indexName": indexName, "params": "query=&filters=" + url.QueryEscape("brand:"+brands[r.IntN(len(brands))]) + "&hitsPerPage=5"},
			}}
		case k < 85:
			toks := *cr.tokens.Load()
			kind, bearer, path = "search-token", toks[tenant], "/1/indexes/"+indexName+"/query"
			body = map[string]any{"query": word, "facets": []string{"brand"}, "hitsPerPage": 10}
		case k < 97:
			kind, key, path = "search-ratelimited", cr.limited, "/1/indexes/"+indexName+"/query"
			body = map[string]any{"query": word, "hitsPerPage": 5}
		default:
			kind, key, path = "write-admin", adminKey, "/1/indexes/"+indexName+"/batch"
			var reqs []map[string]any
			for range 10 {
				reqs = append(reqs, map[string]any{"action": "partialUpdateObject", "body": map[string]any{
					"objectID": fmt.Sprintf("p%d", r.IntN(o.records)), "stock": map[string]any{"_operation": "Increment", "value": 1}}})
			}
			body = map[string]any{"requests": reqs}
		}
		// Requests are not cancelled when the run ends: the last ones finish and count.
		t0 := time.Now()
		status, data, err := c.call(context.Background(), "POST", path, key, bearer, body)
		d := time.Since(t0)
		if err != nil {
			status = 0
		}
		st.add(kind, d, status, data, err)
		if status == 200 && kind != "write-admin" && kind != "search-ratelimited" {
			st.leaks += leaks(data, fmt.Sprintf("t%d", tenant))
		}
	}
}

// leaks counts the hits of a tenant-restricted answer that belong to another tenant.
func leaks(data []byte, tenant string) int {
	var res struct {
		Hits    []map[string]any `json:"hits"`
		Results []struct {
			Hits []map[string]any `json:"hits"`
		} `json:"results"`
	}
	if err := json.Unmarshal(data, &res); err != nil {
		return 0
	}
	hits := res.Hits
	for _, r := range res.Results {
		hits = append(hits, r.Hits...)
	}
	n := 0
	for _, h := range hits {
		if t, ok := h["tenant"]; ok && t != tenant {
			n++
		}
	}
	return n
}
