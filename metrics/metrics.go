// Package metrics holds keyhole's Prometheus collectors. They live in a registry built by New,
// never in the default global one, so that each server (and each test) has its own. Labels
// never hold a credential, a filter, a raw path or an object id: routes are mux's templates
// ("/1/indexes/{index}/query"), credential verdicts are a kind or a sentinel's name.
package metrics

import (
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

// IndexStat is what the index collector reports about one index at scrape time.
type IndexStat struct {
	Name      string
	Records   int64
	DataBytes int64
	FileBytes int64
	// PendingTasks is the number of settings tasks waiting for a background rebuild (writes
	// are applied synchronously, so rebuilds are the only queued work).
	PendingTasks int
}

// Metrics are the collectors the HTTP layer updates, registered in their own registry.
type Metrics struct {
	reg *prometheus.Registry

	requests        *prometheus.CounterVec
	duration        *prometheus.HistogramVec
	verdicts        *prometheus.CounterVec
	rateLimited     *prometheus.CounterVec
	unavailable     *prometheus.CounterVec
	searchesRunning prometheus.Gauge
	searchSlots     prometheus.Gauge
}

// New builds the collectors and a fresh registry holding them, with the Go runtime and process
// collectors.
func New() *Metrics {
	m := &Metrics{
		reg: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "keyhole_http_requests_total",
			Help: "HTTP requests by route template, method and status.",
		}, []string{"route", "method", "status"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "keyhole_http_request_duration_seconds",
			Help:    "HTTP request latency by route template and method.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}, []string{"route", "method"}),
		verdicts: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "keyhole_auth_verdicts_total",
			Help: `Credential verdicts: "ok:<kind>" (admin, apiKey, securedKey, token) or "refused:<sentinel>".`,
		}, []string{"verdict"}),
		rateLimited: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "keyhole_rate_limit_refusals_total",
			Help: `Requests refused with 429 by a rate limit: "key" (maxQueriesPerIPPerHour) or "token" (rateLimit claim).`,
		}, []string{"limit"}),
		unavailable: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "keyhole_unavailable_total",
			Help: `Answers 503 by cause: "search_timeout", "search_overload" (no search slot in time), "shutting_down".`,
		}, []string{"cause"}),
		searchesRunning: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "keyhole_searches_in_flight",
			Help: "Read requests holding a search slot.",
		}),
		searchSlots: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "keyhole_search_slots",
			Help: "Search slots (MaxConcurrentSearches).",
		}),
	}
	m.reg.MustRegister(m.requests, m.duration, m.verdicts, m.rateLimited, m.unavailable,
		m.searchesRunning, m.searchSlots,
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// Registry returns the registry to serve (promhttp.HandlerFor) or to gather in tests.
func (m *Metrics) Registry() *prometheus.Registry { return m.reg }

// ObserveRequest counts one answered request and its latency. route is the route template
// ("unmatched" when no route matched), never the raw path.
func (m *Metrics) ObserveRequest(route, method string, status int, d time.Duration) {
	method = normMethod(method)
	m.requests.WithLabelValues(route, method, strconv.Itoa(status)).Inc()
	m.duration.WithLabelValues(route, method).Observe(d.Seconds())
}

// Verdict counts one credential verdict ("ok:apiKey", "refused:ErrInvalidCredentials").
func (m *Metrics) Verdict(v string) { m.verdicts.WithLabelValues(v).Inc() }

// RateLimited counts one 429 of the named limit ("key" or "token").
func (m *Metrics) RateLimited(limit string) { m.rateLimited.WithLabelValues(limit).Inc() }

// Unavailable counts one 503 by cause.
func (m *Metrics) Unavailable(cause string) { m.unavailable.WithLabelValues(cause).Inc() }

// SearchSlots sets the number of search slots.
func (m *Metrics) SearchSlots(n int) { m.searchSlots.Set(float64(n)) }

// SearchStarted and SearchDone track the search slots in use.
func (m *Metrics) SearchStarted() { m.searchesRunning.Inc() }

// SearchDone releases what SearchStarted counted.
func (m *Metrics) SearchDone() { m.searchesRunning.Dec() }

// WatchIndexes registers a collector that calls list at every scrape and reports the number
// of indexes and each one's records and sizes (labelled by index name). Call it once.
func (m *Metrics) WatchIndexes(list func() []IndexStat) {
	m.reg.MustRegister(newIndexCollector(list))
}

// indexCollector reports the indexes at scrape time.
type indexCollector struct {
	list                          func() []IndexStat
	indexes, records, data, files *prometheus.Desc
	pending                       *prometheus.Desc
}

func newIndexCollector(list func() []IndexStat) *indexCollector {
	return &indexCollector{
		list:    list,
		indexes: prometheus.NewDesc("keyhole_indexes", "Number of indexes.", nil, nil),
		records: prometheus.NewDesc("keyhole_index_records", "Records in the index.", []string{"index"}, nil),
		data:    prometheus.NewDesc("keyhole_index_data_bytes", "Bytes of the index's serving generation.", []string{"index"}, nil),
		files:   prometheus.NewDesc("keyhole_index_file_bytes", "Bytes of every file of the index (rebuilds included).", []string{"index"}, nil),
		pending: prometheus.NewDesc("keyhole_task_queue_depth", "Tasks waiting for a background rebuild, per index.", []string{"index"}, nil),
	}
}

// Describe implements prometheus.Collector.
func (c *indexCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.indexes
	ch <- c.records
	ch <- c.data
	ch <- c.files
	ch <- c.pending
}

// Collect implements prometheus.Collector.
func (c *indexCollector) Collect(ch chan<- prometheus.Metric) {
	stats := c.list()
	ch <- prometheus.MustNewConstMetric(c.indexes, prometheus.GaugeValue, float64(len(stats)))
	for _, s := range stats {
		ch <- prometheus.MustNewConstMetric(c.records, prometheus.GaugeValue, float64(s.Records), s.Name)
		ch <- prometheus.MustNewConstMetric(c.data, prometheus.GaugeValue, float64(s.DataBytes), s.Name)
		ch <- prometheus.MustNewConstMetric(c.files, prometheus.GaugeValue, float64(s.FileBytes), s.Name)
		ch <- prometheus.MustNewConstMetric(c.pending, prometheus.GaugeValue, float64(s.PendingTasks), s.Name)
	}
}

// normMethod keeps the method label to a fixed set.
func normMethod(m string) string {
	switch m {
	case "GET", "POST", "PUT", "DELETE", "OPTIONS", "HEAD", "PATCH":
		return m
	}
	return "other"
}

// WatchCredentialCache registers counters of credential verdicts served from the verifier's
// caches and of those verified afresh, read from stats at every scrape (their ratio is the
// cache hit ratio). Call it once.
func (m *Metrics) WatchCredentialCache(stats func() (hits, misses uint64)) {
	m.reg.MustRegister(&cacheCollector{
		stats:  stats,
		hits:   prometheus.NewDesc("keyhole_credential_cache_hits_total", "Secured-key and token verdicts served from the cache.", nil, nil),
		misses: prometheus.NewDesc("keyhole_credential_cache_misses_total", "Secured-key and token verdicts verified afresh.", nil, nil),
	})
}

type cacheCollector struct {
	stats        func() (uint64, uint64)
	hits, misses *prometheus.Desc
}

// Describe implements prometheus.Collector.
func (c *cacheCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.hits
	ch <- c.misses
}

// Collect implements prometheus.Collector.
func (c *cacheCollector) Collect(ch chan<- prometheus.Metric) {
	h, m := c.stats()
	ch <- prometheus.MustNewConstMetric(c.hits, prometheus.CounterValue, float64(h))
	ch <- prometheus.MustNewConstMetric(c.misses, prometheus.CounterValue, float64(m))
}
