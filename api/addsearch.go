package api

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"

	"github.com/keyhole-search/keyhole/auth"
	"github.com/keyhole-search/keyhole/query"
	"github.com/keyhole-search/keyhole/query/filter"
)

// The AddSearch dialect: GET /v1/search/{sitekey}, where the sitekey is an index's publicKey
// setting. The addsearch-js-client sends its JWT (setJWT) as the jwt query parameter.

var errJWTRequired = errors.New("this sitekey requires a JWT")

// addsearchHit is one hit in AddSearch's shape.
type addsearchHit struct {
	ID              string         `json:"id"`
	URL             string         `json:"url"`
	Title           string         `json:"title"`
	Highlight       string         `json:"highlight"`
	MetaDescription string         `json:"meta_description"`
	CustomFields    map[string]any `json:"custom_fields"`
	Score           float64        `json:"score"`
	TS              string         `json:"ts"`
	Categories      []any          `json:"categories"`
	DocumentType    string         `json:"document_type"`
}

type addsearchFacetValue struct {
	Value string `json:"value"`
	Count int    `json:"count"`
}

// addsearchCommon are the record attributes that have their own place in an AddSearch hit.
var addsearchCommon = map[string]bool{
	"objectID": true, "url": true, "title": true, "meta_description": true, "ts": true,
	"categories": true, "document_type": true, "_highlightResult": true, "_snippetResult": true,
}

func (s *Server) handleAddSearch(w http.ResponseWriter, r *http.Request) error {
	sitekey, err := pathVar(r, "sitekey")
	if err != nil {
		return err
	}
	ix, err := s.Indexes.ByPublicKey(sitekey)
	if err != nil {
		return err
	}
	st := ix.Settings()
	q := r.URL.Query()
	token := q.Get("jwt")
	if token == "" {
		token = bearer(r)
	}
	var p *auth.Principal
	if token != "" {
		var c auth.Credentials
		c, err = s.credentials(r)
		if s.refusedTooOften(w, r, c.ClientIP) {
			return nil
		}
		if err == nil {
			p, err = s.Auth.AuthenticateToken(r.Context(), token, auth.TokenOptions{
				DefaultKeyID: st.JWTKeyID, PublicKey: sitekey, ClientIP: c.ClientIP, Referer: c.Referer,
			})
		}
		if err != nil {
			s.countRefusal(err, c.ClientIP)
			s.auditRefusal(r, err, c)
			return err
		}
		s.Metrics.Verdict("ok:" + p.Kind.String())
	} else if st.RequireJWT {
		return errJWTRequired
	} else {
		p = auth.PublicSearch(ix.Name())
	}
	if err := auth.CheckACL(p, auth.ACLSearch); err != nil {
		return err
	}
	if !s.allow(w, r, p) {
		return nil
	}
	params, err := addsearchParams(q)
	if err != nil {
		return err
	}
	res, err := s.Search.Search(r.Context(), p, ix.Name(), params)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, addsearchResult(res, *params.Page+1))
	return nil
}

// addsearchParams translates AddSearch's query string into search parameters.
func addsearchParams(q map[string][]string) (query.Params, error) {
	get := func(k string) string {
		if v := q[k]; len(v) > 0 {
			return v[0]
		}
		return ""
	}
	var p query.Params
	// The text parameters go through the query package's decoding, so that its limits
	// (length, UTF-8, number of facets) hold here too.
	if t := get("term"); t != "*" {
		if err := p.ApplyValues(url.Values{"query": {t}}); err != nil {
			return p, err
		}
	}
	page, limit := 1, 10
	if v := get("page"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 10000 {
			return p, errorf(errBadRequest, "page must be an integer from 1")
		}
		page = n
	}
	if v := get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 300 {
			return p, errorf(errBadRequest, "limit must be an integer from 1 to 300")
		}
		limit = n
	}
	page0 := page - 1
	p.Page, p.HitsPerPage = &page0, &limit
	switch get("fuzzy") {
	case "false":
		off := "false"
		p.TypoTolerance = &off
	case "", "true", "auto", "retry":
	default:
		return p, errorf(errBadRequest, "fuzzy must be true, false, auto or retry")
	}
	if sortBy := get("sort"); sortBy != "" && sortBy != "relevance" {
		p.SortAttr = strings.TrimPrefix(sortBy, "custom_fields.")
		switch get("order") {
		case "", "desc":
			p.SortDesc = true
		case "asc":
		default:
			return p, errorf(errBadRequest, "order must be asc or desc")
		}
	}
	if fs := q["facet"]; len(fs) > 0 {
		names := make([]string, len(fs))
		for i, f := range fs {
			names[i] = strings.TrimPrefix(f, "custom_fields.")
		}
		b, _ := json.Marshal(names)
		if err := p.ApplyValues(url.Values{"facets": {string(b)}}); err != nil {
			return p, err
		}
	}
	// customField=name=value: the same name ORed, different names ANDed.
	byName := map[string][]filter.Node{}
	var names []string
	for _, cf := range q["customField"] {
		name, value, ok := strings.Cut(cf, "=")
		if !ok || name == "" {
			return p, errorf(errBadRequest, "customField must be name=value, got %q", cf)
		}
		if _, seen := byName[name]; !seen {
			names = append(names, name)
		}
		byName[name] = append(byName[name], filter.Facet{Attr: name, Value: value})
	}
	var nodes []filter.Node
	for _, n := range names {
		nodes = append(nodes, filter.Or{Nodes: byName[n]})
	}
	if f := get("filter"); f != "" {
		var v any
		dec := json.NewDecoder(strings.NewReader(f))
		dec.UseNumber()
		if err := dec.Decode(&v); err != nil {
			return p, errorf(errBadRequest, "filter must be JSON: %v", err)
		}
		n, err := addsearchFilter(v, 0)
		if err != nil {
			return p, err
		}
		nodes = append(nodes, n)
	}
	// The request's own filter, built as a tree and handed over in filter syntax; a
	// credential's restrictions are merged later as a separate subtree.
	if tree := filter.Conj(nodes...); tree != nil {
		if err := p.ApplyValues(url.Values{"filters": {filter.String(tree)}}); err != nil {
			return p, err
		}
	}
	return p, nil
}

// addsearchFilter converts AddSearch's filter JSON ({"and": [...]}, {"or": [...]},
// {"not": {...}}, {"range": {"field": {"gt": 1, "lte": 5}}}, {"field": "value"}).
func addsearchFilter(v any, depth int) (filter.Node, error) {
	if depth > filter.MaxDepth {
		return nil, errorf(errBadRequest, "filter nested deeper than %d", filter.MaxDepth)
	}
	obj, ok := v.(map[string]any)
	if !ok || len(obj) != 1 {
		return nil, errorf(errBadRequest, "filter: each clause must be an object with one member")
	}
	for k, val := range obj {
		switch k {
		case "and", "or":
			list, ok := val.([]any)
			if !ok {
				return nil, errorf(errBadRequest, "filter: %q takes an array", k)
			}
			var kids []filter.Node
			for _, e := range list {
				n, err := addsearchFilter(e, depth+1)
				if err != nil {
					return nil, err
				}
				kids = append(kids, n)
			}
			if k == "and" {
				return filter.And{Nodes: kids}, nil
			}
			return filter.Or{Nodes: kids}, nil
		case "not":
			n, err := addsearchFilter(val, depth+1)
			if err != nil {
				return nil, err
			}
			return filter.Not{Node: n}, nil
		case "range":
			rng, ok := val.(map[string]any)
			if !ok || len(rng) != 1 {
				return nil, errorf(errBadRequest, "filter: range takes one field")
			}
			for field, bounds := range rng {
				b, ok := bounds.(map[string]any)
				if !ok || len(b) == 0 {
					return nil, errorf(errBadRequest, "filter: range of %q needs gt, gte, lt or lte", field)
				}
				attr := strings.TrimPrefix(field, "custom_fields.")
				var parts []filter.Node
				for op, num := range b {
					n, ok := num.(json.Number)
					f, err := n.Float64()
					if !ok || err != nil {
						return nil, errorf(errBadRequest, "filter: range bound %s of %q must be a number", op, field)
					}
					ops := map[string]filter.Op{"gt": filter.OpGt, "gte": filter.OpGe, "lt": filter.OpLt, "lte": filter.OpLe}
					o, known := ops[op]
					if !known {
						return nil, errorf(errBadRequest, "filter: unknown range bound %q", op)
					}
					parts = append(parts, filter.Numeric{Attr: attr, Op: o, Value: f})
				}
				sort.Slice(parts, func(i, j int) bool { return parts[i].(filter.Numeric).Op < parts[j].(filter.Numeric).Op })
				return filter.And{Nodes: parts}, nil
			}
		default:
			text, ok := val.(string)
			if !ok {
				if n, isNum := val.(json.Number); isNum {
					text, ok = n.String(), true
				} else if b, isBool := val.(bool); isBool {
					text, ok = strconv.FormatBool(b), true
				}
			}
			if !ok {
				return nil, errorf(errBadRequest, "filter: value of %q must be a string, number or boolean", k)
			}
			return filter.Facet{Attr: strings.TrimPrefix(k, "custom_fields."), Value: text}, nil
		}
	}
	return nil, errorf(errBadRequest, "filter: empty clause")
}

// addsearchResult reshapes a search result. Scores are by rank (AddSearch's client only
// orders by them): 1 for the first hit of the first page, decreasing.
func addsearchResult(res *query.Result, page int) map[string]any {
	hits := make([]addsearchHit, 0, len(res.Hits))
	for i, h := range res.Hits {
		ah := addsearchHit{
			ID:           fmt.Sprint(h["objectID"]),
			URL:          str(h["url"]),
			Title:        str(h["title"]),
			TS:           str(h["ts"]),
			DocumentType: str(h["document_type"]),
			CustomFields: map[string]any{},
			Categories:   []any{},
			Score:        1 / float64(res.Page*res.HitsPerPage+i+1),
		}
		if ah.DocumentType == "" {
			ah.DocumentType = "html"
		}
		ah.MetaDescription = str(h["meta_description"])
		if ah.MetaDescription == "" {
			ah.MetaDescription = str(h["description"])
		}
		if c, ok := h["categories"].([]any); ok {
			ah.Categories = c
		}
		for k, v := range h {
			if !addsearchCommon[k] {
				ah.CustomFields[k] = v
			}
		}
		ah.Highlight = firstHighlight(h)
		hits = append(hits, ah)
	}
	facets := map[string][]addsearchFacetValue{}
	for name, counts := range res.Facets {
		list := make([]addsearchFacetValue, 0, len(counts))
		for v, c := range counts {
			list = append(list, addsearchFacetValue{Value: v, Count: c})
		}
		sort.Slice(list, func(i, j int) bool {
			if list[i].Count != list[j].Count {
				return list[i].Count > list[j].Count
			}
			return list[i].Value < list[j].Value
		})
		facets[name] = list
	}
	out := map[string]any{
		"total_hits":         res.NbHits,
		"page":               page,
		"processing_time_ms": res.ProcessingTimeMS,
		"hits":               hits,
		"facets":             facets,
	}
	if len(res.FacetsStats) > 0 {
		out["fieldStats"] = res.FacetsStats
	}
	return out
}

func str(v any) string {
	s, _ := v.(string)
	return s
}

// firstHighlight returns the highlighted text of the first attribute with a match, in
// order of preference, with AddSearch's <em> tags.
func firstHighlight(h map[string]any) string {
	hl, _ := h["_highlightResult"].(map[string]any)
	for _, k := range []string{"body", "content", "description", "meta_description", "title"} {
		if r, ok := hl[k].(query.HighlightResult); ok && r.MatchLevel != "none" {
			return r.Value
		}
	}
	return ""
}

// bearer returns the token of an "Authorization: Bearer" header.
func bearer(r *http.Request) string {
	a := r.Header.Get("Authorization")
	if len(a) > 7 && strings.EqualFold(a[:7], "bearer ") {
		return strings.TrimSpace(a[7:])
	}
	return ""
}
