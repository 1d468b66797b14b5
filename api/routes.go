package api

import (
	"net/http"

	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/keyhole-search/keyhole/auth"
)

// routes lists the whole API surface. Routes with a literal segment come before the
// {objectID} patterns they would otherwise be taken for. Read routes go through searchGate
// (a search slot and the search timeout), after authentication.
func (s *Server) routes() {
	// Handlers return their error; serve writes it through the error table.
	r := s.router
	r.Handle("/health", s.serve(s.handleHealth)).Methods(http.MethodGet)
	r.Handle("/ready", s.serve(s.handleReady)).Methods(http.MethodGet)
	// Prometheus metrics, admin key only: the series name every index and its size, which
	// only a caller allowed on every index may see. (Scrape with the X-Algolia-API-Key and
	// X-Algolia-Application-Id headers.)
	r.Handle("/metrics", s.authenticate(s.adminOnly(serveMetrics(promhttp.HandlerFor(s.Metrics.Registry(), promhttp.HandlerOpts{}))))).Methods(http.MethodGet)
	// The AddSearch dialect authenticates on its own (sitekey + optional JWT).
	r.Handle("/v1/search/{sitekey}", s.searchGate(s.serve(s.handleAddSearch))).Methods(http.MethodGet)

	// The demo page and its assets (`keyhole demo` only: nil otherwise, so these are 404s).
	if s.Demo != nil {
		r.Handle("/demo", s.Demo).Methods(http.MethodGet, http.MethodHead)
		r.PathPrefix("/demo/").Handler(s.Demo).Methods(http.MethodGet, http.MethodHead)
	}

	v1 := r.PathPrefix("/1").Subrouter()
	v1.Use(s.authenticate)

	// Keys (admin key only: the ACL bit no stored key can hold is checked in the handlers).
	v1.Handle("/keys", s.adminOnly(s.handleCreateKey)).Methods(http.MethodPost)
	v1.Handle("/keys", s.adminOnly(s.handleListKeys)).Methods(http.MethodGet)
	v1.Handle("/keys/{key}", s.adminOnly(s.handleGetKey)).Methods(http.MethodGet)
	v1.Handle("/keys/{key}", s.adminOnly(s.handleUpdateKey)).Methods(http.MethodPut)
	v1.Handle("/keys/{key}", s.adminOnly(s.handleDeleteKey)).Methods(http.MethodDelete)
	v1.Handle("/keys/{key}/restore", s.adminOnly(s.handleRestoreKey)).Methods(http.MethodPost)
	v1.Handle("/tokens/revoke", s.adminOnly(s.handleRevoke)).Methods(http.MethodPost)
	v1.Handle("/tokens/revocations", s.adminOnly(s.handleListRevocations)).Methods(http.MethodGet)

	// Across indexes.
	v1.Handle("/indexes", s.need(auth.ACLListIndexes, s.handleListIndexes)).Methods(http.MethodGet)
	v1.Handle("/indexes/*/queries", s.searchGate(s.need(auth.ACLSearch, s.handleMultiQuery))).Methods(http.MethodPost)
	v1.Handle("/indexes/*/objects", s.searchGate(s.need(auth.ACLSearch, s.handleGetObjects))).Methods(http.MethodPost)
	v1.Handle("/indexes/*/batch", s.need(0, s.handleMultiBatch)).Methods(http.MethodPost)

	// One index.
	ix := "/indexes/{index}"
	v1.Handle(ix, s.searchGate(s.need(auth.ACLSearch, s.handleSearchGET))).Methods(http.MethodGet)
	v1.Handle(ix, s.need(auth.ACLAddObject, s.handleAddObject)).Methods(http.MethodPost)
	v1.Handle(ix, s.need(auth.ACLDeleteIndex, s.handleDeleteIndex)).Methods(http.MethodDelete)
	v1.Handle(ix+"/query", s.searchGate(s.need(auth.ACLSearch, s.handleSearch))).Methods(http.MethodPost)
	v1.Handle(ix+"/browse", s.searchGate(s.need(auth.ACLBrowse, s.handleBrowse))).Methods(http.MethodPost, http.MethodGet)
	v1.Handle(ix+"/batch", s.need(0, s.handleBatch)).Methods(http.MethodPost)
	v1.Handle(ix+"/clear", s.need(auth.ACLDeleteIndex, s.handleClear)).Methods(http.MethodPost)
	v1.Handle(ix+"/deleteByQuery", s.need(auth.ACLDeleteObject, s.handleDeleteByQuery)).Methods(http.MethodPost)
	v1.Handle(ix+"/settings", s.need(auth.ACLSettings, s.handleGetSettings)).Methods(http.MethodGet)
	v1.Handle(ix+"/settings", s.need(auth.ACLEditSettings, s.handleSetSettings)).Methods(http.MethodPut)
	v1.Handle(ix+"/task/{taskID}", s.need(0, s.handleTask)).Methods(http.MethodGet)
	v1.Handle(ix+"/facets/{facet}/query", s.searchGate(s.need(auth.ACLSearch, s.handleFacetSearch))).Methods(http.MethodPost)
	v1.Handle(ix+"/{objectID}/partial", s.need(auth.ACLAddObject, s.handlePartial)).Methods(http.MethodPost)
	v1.Handle(ix+"/{objectID}", s.searchGate(s.need(auth.ACLSearch, s.handleGetObject))).Methods(http.MethodGet)
	v1.Handle(ix+"/{objectID}", s.need(auth.ACLAddObject, s.handlePutObject)).Methods(http.MethodPut)
	v1.Handle(ix+"/{objectID}", s.need(auth.ACLDeleteObject, s.handleDeleteObject)).Methods(http.MethodDelete)
}

// serveMetrics adapts the Prometheus handler to a handlerFunc.
func serveMetrics(h http.Handler) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		h.ServeHTTP(w, r)
		return nil
	}
}
