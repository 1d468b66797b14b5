package api

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"time"

	"github.com/keyhole-search/keyhole/index"
	"github.com/keyhole-search/keyhole/metrics"
)

// Limits of the request bodies that list several operations. A body beyond one is refused
// with a 400 naming the limit and the count; search parameters have their own limits in the
// query package (query.MaxQueryBytes and the rest).
const (
	// MaxBatchOperations is the most operations a batch (/1/indexes/{index}/batch or
	// /1/indexes/*/batch) may hold.
	MaxBatchOperations = 10_000
	// MaxMultiQueries is the most queries a multi-query (/1/indexes/*/queries) may hold.
	MaxMultiQueries = 100
	// MaxGetObjects is the most records one /1/indexes/*/objects request may ask for.
	MaxGetObjects = 1_000
)

// batchBody is the body of both batch routes.
type batchBody struct {
	Requests []batchRequest `json:"requests"`
}

func (b *batchBody) validate() error {
	if n := len(b.Requests); n > MaxBatchOperations {
		return errorf(errBadRequest, "batch of %d operations, more than MaxBatchOperations (%d)", n, MaxBatchOperations)
	}
	return nil
}

// multiQueryBody is the body of /1/indexes/*/queries.
type multiQueryBody struct {
	Requests []map[string]json.RawMessage `json:"requests"`
}

func (b *multiQueryBody) validate() error {
	if n := len(b.Requests); n > MaxMultiQueries {
		return errorf(errBadRequest, "multi-query of %d requests, more than MaxMultiQueries (%d)", n, MaxMultiQueries)
	}
	return nil
}

// getObjectsBody is the body of /1/indexes/*/objects.
type getObjectsBody struct {
	Requests []struct {
		IndexName            string          `json:"indexName"`
		ObjectID             string          `json:"objectID"`
		AttributesToRetrieve json.RawMessage `json:"attributesToRetrieve"`
	} `json:"requests"`
}

func (b *getObjectsBody) validate() error {
	if n := len(b.Requests); n > MaxGetObjects {
		return errorf(errBadRequest, "%d objects requested, more than MaxGetObjects (%d)", n, MaxGetObjects)
	}
	return nil
}

// indexVar returns the {index} path variable, unescaped and validated: every handler taking
// {index} reads it here, so that a name no index can have ("a/b" sent as a%2Fb, "..", "*",
// invalid UTF-8) is a 400 naming the rule, on reads as on writes, not a 404.
func indexVar(r *http.Request) (string, error) {
	name, err := pathVar(r, "index")
	if err != nil {
		return "", err
	}
	if err := index.ValidateName(name); err != nil {
		return "", err
	}
	return name, nil
}

// bodyIndexName validates an index named in a body entry (multi-query, objects), with the
// same rule as indexVar; i is the entry's position, for the message.
func bodyIndexName(i int, name string) error {
	if err := index.ValidateName(name); err != nil {
		return fmt.Errorf("requests[%d]: %w", i, err)
	}
	return nil
}

// searchGate bounds the read handlers: at most MaxConcurrentSearches run at once (a request
// waits at most SearchQueueWait for a slot, then gets a 503 with Retry-After), and each runs
// under SearchTimeout (its context's deadline, whose cause names the timeout, so that a
// search cut short answers a 503 saying why).
func (s *Server) searchGate(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case s.slots <- struct{}{}:
		default:
			t := time.NewTimer(s.SearchQueueWait)
			select {
			case s.slots <- struct{}{}:
				t.Stop()
			case <-t.C:
				s.writeError(w, r, errorf(errOverloaded, "Too many concurrent searches (MaxConcurrentSearches is %d), retry in 1 s", s.MaxConcurrentSearches))
				return
			case <-r.Context().Done():
				t.Stop()
				s.writeError(w, r, context.Cause(r.Context()))
				return
			}
		}
		s.Metrics.SearchStarted()
		defer func() {
			<-s.slots
			s.Metrics.SearchDone()
		}()
		ctx, cancel := context.WithTimeoutCause(r.Context(), s.SearchTimeout,
			errorf(errSearchTimeout, "Search took longer than the %s search timeout, retry in 1 s", s.SearchTimeout))
		defer cancel()
		r = r.WithContext(ctx)
		if s.searchHook != nil {
			s.searchHook(r)
		}
		h.ServeHTTP(w, r)
	})
}

// indexStats adapts the index manager for the metrics' index collector.
func indexStats(m *index.Manager) func() []metrics.IndexStat {
	return func() []metrics.IndexStat {
		infos := m.List()
		out := make([]metrics.IndexStat, 0, len(infos))
		for _, in := range infos {
			st := metrics.IndexStat{Name: in.Name, Records: in.Entries, DataBytes: in.DataSize, FileBytes: in.FileSize}
			if in.PendingTask {
				st.PendingTasks = 1
			}
			out = append(out, st)
		}
		return out
	}
}
