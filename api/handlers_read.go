package api

import (
	"encoding/json"
	"net/http"
	"strings"

	"github.com/keyhole-search/keyhole/query"
)

// decodeParams reads a search body: v5 JSON fields and/or a v4 "params" string.
func (s *Server) decodeParams(w http.ResponseWriter, r *http.Request) (query.Params, error) {
	var raw map[string]json.RawMessage
	if err := s.decode(w, r, &raw, true); err != nil {
		return query.Params{}, err
	}
	return query.DecodeJSONParams(raw, "cursor")
}

func (s *Server) handleSearch(w http.ResponseWriter, r *http.Request) error {
	params, err := s.decodeParams(w, r)
	if err != nil {
		return err
	}
	return s.search(w, r, params)
}

// handleSearchGET is GET /1/indexes/{index}?query=...: the parameters are the query string.
func (s *Server) handleSearchGET(w http.ResponseWriter, r *http.Request) error {
	var params query.Params
	vals := r.URL.Query()
	for k := range vals {
		if strings.HasPrefix(strings.ToLower(k), "x-algolia-") {
			vals.Del(k)
		}
	}
	if err := params.ApplyValues(vals); err != nil {
		return err
	}
	return s.search(w, r, params)
}

func (s *Server) search(w http.ResponseWriter, r *http.Request, params query.Params) error {
	name, err := indexVar(r)
	if err != nil {
		return err
	}
	res, err := s.Search.Search(r.Context(), principalOf(r), name, params)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, res)
	return nil
}

// handleMultiQuery is POST /1/indexes/*/queries: every entry runs with the same principal,
// so the principal's restrictions apply to each, whatever index or filters it names.
func (s *Server) handleMultiQuery(w http.ResponseWriter, r *http.Request) error {
	var body multiQueryBody
	if err := s.decode(w, r, &body, false); err != nil {
		return err
	}
	p := principalOf(r)
	results := make([]any, 0, len(body.Requests))
	for i, req := range body.Requests {
		var name, typ, facet string
		if err := stringField(req, "indexName", &name); err != nil || name == "" {
			return errorf(errBadRequest, "requests[%d]: indexName is required", i)
		}
		if err := bodyIndexName(i, name); err != nil {
			return err
		}
		_ = stringField(req, "type", &typ)
		_ = stringField(req, "facet", &facet)
		params, err := query.DecodeJSONParams(req, "indexName", "type", "facet")
		if err != nil {
			return err
		}
		if typ == "facet" {
			if facet == "" {
				return errorf(errBadRequest, "requests[%d]: type facet needs a facet", i)
			}
			res, err := s.Search.SearchFacetValues(r.Context(), p, name, facet, params)
			if err != nil {
				return err
			}
			results = append(results, res)
			continue
		}
		res, err := s.Search.Search(r.Context(), p, name, params)
		if err != nil {
			return err
		}
		results = append(results, res)
	}
	writeJSON(w, http.StatusOK, map[string]any{"results": results})
	return nil
}

func stringField(m map[string]json.RawMessage, k string, out *string) error {
	v, ok := m[k]
	if !ok {
		return nil
	}
	return json.Unmarshal(v, out)
}

func (s *Server) handleFacetSearch(w http.ResponseWriter, r *http.Request) error {
	params, err := s.decodeParams(w, r)
	if err != nil {
		return err
	}
	name, err := indexVar(r)
	if err != nil {
		return err
	}
	facet, err := pathVar(r, "facet")
	if err != nil {
		return err
	}
	res, err := s.Search.SearchFacetValues(r.Context(), principalOf(r), name, facet, params)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, res)
	return nil
}

func (s *Server) handleBrowse(w http.ResponseWriter, r *http.Request) error {
	var raw map[string]json.RawMessage
	if r.Method == http.MethodPost {
		if err := s.decode(w, r, &raw, true); err != nil {
			return err
		}
	}
	cursor := r.URL.Query().Get("cursor")
	if c, ok := raw["cursor"]; ok {
		if err := json.Unmarshal(c, &cursor); err != nil {
			return errorf(errBadRequest, "cursor must be a string")
		}
	}
	params, err := query.DecodeJSONParams(raw, "cursor")
	if err != nil {
		return err
	}
	name, err := indexVar(r)
	if err != nil {
		return err
	}
	res, err := s.Search.Browse(r.Context(), principalOf(r), name, params, cursor)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, res)
	return nil
}

func (s *Server) handleGetObject(w http.ResponseWriter, r *http.Request) error {
	name, err := indexVar(r)
	if err != nil {
		return err
	}
	id, err := pathVar(r, "objectID")
	if err != nil {
		return err
	}
	var attrs []string
	if a := r.URL.Query().Get("attributesToRetrieve"); a != "" {
		var p query.Params
		if err := p.ApplyValues(map[string][]string{"attributesToRetrieve": {a}}); err != nil {
			return err
		}
		attrs = p.AttributesToRetrieve
	}
	obj, err := s.Search.GetObject(r.Context(), principalOf(r), name, id, attrs)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, obj)
	return nil
}

// handleGetObjects is POST /1/indexes/*/objects: a missing or hidden record is null.
func (s *Server) handleGetObjects(w http.ResponseWriter, r *http.Request) error {
	var body getObjectsBody
	if err := s.decode(w, r, &body, false); err != nil {
		return err
	}
	p := principalOf(r)
	results := make([]any, 0, len(body.Requests))
	for i, req := range body.Requests {
		if req.IndexName == "" || req.ObjectID == "" {
			return errorf(errBadRequest, "requests[%d]: indexName and objectID are required", i)
		}
		if err := bodyIndexName(i, req.IndexName); err != nil {
			return err
		}
		var attrs []string
		if len(req.AttributesToRetrieve) > 0 {
			params, err := query.DecodeJSONParams(map[string]json.RawMessage{"attributesToRetrieve": req.AttributesToRetrieve})
			if err != nil {
				return err
			}
			attrs = params.AttributesToRetrieve
		}
		obj, err := s.Search.GetObject(r.Context(), p, req.IndexName, req.ObjectID, attrs)
		if err != nil {
			if status, _ := statusOf(err); status == http.StatusNotFound {
				results = append(results, nil)
				continue
			}
			return err
		}
		results = append(results, obj)
	}
	writeJSON(w, http.StatusOK, map[string]any{"results": results})
	return nil
}
