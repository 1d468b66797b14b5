package api

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/gorilla/mux"

	"github.com/keyhole-search/keyhole/auth"
	"github.com/keyhole-search/keyhole/index"
)

// wrapped is an error that carries its own message and matches a sentinel.
type wrapped struct {
	sentinel error
	msg      string
}

func (e *wrapped) Error() string { return e.msg }
func (e *wrapped) Unwrap() error { return e.sentinel }

func errorf(sentinel error, format string, args ...any) error {
	return &wrapped{sentinel: sentinel, msg: fmt.Sprintf(format, args...)}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

func now() string { return time.Now().UTC().Format(time.RFC3339) }

// pathVar returns a path variable, unescaped (the router matches on the escaped path so that
// an index name may hold "%2F").
func pathVar(r *http.Request, name string) (string, error) {
	v, err := url.PathUnescape(mux.Vars(r)[name])
	if err != nil {
		return "", errorf(errBadRequest, "invalid escape in %s", name)
	}
	return v, nil
}

// writableIndex resolves an index for writing: the principal must be allowed on it; it is
// created on first write.
func (s *Server) writableIndex(r *http.Request, name string) (*index.Index, error) {
	if err := principalOf(r).CheckIndex(name); err != nil {
		return nil, err
	}
	return s.Indexes.GetOrCreate(name)
}

func (s *Server) indexFromPath(r *http.Request, create bool) (*index.Index, string, error) {
	name, err := indexVar(r)
	if err != nil {
		return nil, "", err
	}
	if create {
		ix, err := s.writableIndex(r, name)
		return ix, name, err
	}
	if err := principalOf(r).CheckIndex(name); err != nil {
		return nil, name, err
	}
	ix, err := s.Indexes.Get(name)
	return ix, name, err
}

func (s *Server) handleAddObject(w http.ResponseWriter, r *http.Request) error {
	var body map[string]any
	if err := s.decode(w, r, &body, false); err != nil {
		return err
	}
	ix, _, err := s.indexFromPath(r, true)
	if err != nil {
		return err
	}
	delete(body, "objectID")
	task, ids, err := ix.Write(r.Context(), []index.Op{{Action: index.ActionAddObject, Body: body}})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, map[string]any{"createdAt": now(), "taskID": task, "objectID": ids[0]})
	return nil
}

func (s *Server) handlePutObject(w http.ResponseWriter, r *http.Request) error {
	var body map[string]any
	if err := s.decode(w, r, &body, false); err != nil {
		return err
	}
	id, err := pathVar(r, "objectID")
	if err != nil {
		return err
	}
	ix, _, err := s.indexFromPath(r, true)
	if err != nil {
		return err
	}
	body["objectID"] = id
	task, _, err := ix.Write(r.Context(), []index.Op{{Action: index.ActionUpdateObject, ObjectID: id, Body: body}})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"updatedAt": now(), "taskID": task, "objectID": id})
	return nil
}

func (s *Server) handlePartial(w http.ResponseWriter, r *http.Request) error {
	var body map[string]any
	if err := s.decode(w, r, &body, false); err != nil {
		return err
	}
	id, err := pathVar(r, "objectID")
	if err != nil {
		return err
	}
	action := index.ActionPartialUpdate
	if c := r.URL.Query().Get("createIfNotExists"); c == "false" {
		action = index.ActionPartialUpdateNoCreate
	}
	ix, _, err := s.indexFromPath(r, true)
	if err != nil {
		return err
	}
	delete(body, "objectID")
	task, _, err := ix.Write(r.Context(), []index.Op{{Action: action, ObjectID: id, Body: body}})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"updatedAt": now(), "taskID": task, "objectID": id})
	return nil
}

func (s *Server) handleDeleteObject(w http.ResponseWriter, r *http.Request) error {
	id, err := pathVar(r, "objectID")
	if err != nil {
		return err
	}
	ix, _, err := s.indexFromPath(r, false)
	if err != nil {
		return err
	}
	task, _, err := ix.Write(r.Context(), []index.Op{{Action: index.ActionDelete, ObjectID: id}})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"deletedAt": now(), "taskID": task})
	return nil
}

// batchRequest is one entry of a batch.
type batchRequest struct {
	Action    string         `json:"action"`
	Body      map[string]any `json:"body"`
	IndexName string         `json:"indexName"`
}

var batchActions = map[string]struct {
	action index.Action
	acl    auth.ACL
}{
	"addObject":                   {index.ActionAddObject, auth.ACLAddObject},
	"updateObject":                {index.ActionUpdateObject, auth.ACLAddObject},
	"partialUpdateObject":         {index.ActionPartialUpdate, auth.ACLAddObject},
	"partialUpdateObjectNoCreate": {index.ActionPartialUpdateNoCreate, auth.ACLAddObject},
	"deleteObject":                {index.ActionDelete, auth.ACLDeleteObject},
	"delete":                      {index.ActionClear, auth.ACLDeleteIndex},
	"clear":                       {index.ActionClear, auth.ACLDeleteIndex},
}

// toOps validates a batch and turns it into index operations, checking the ACL each action
// needs.
func toOps(p *auth.Principal, reqs []batchRequest) ([]index.Op, error) {
	ops := make([]index.Op, 0, len(reqs))
	for i, br := range reqs {
		a, ok := batchActions[br.Action]
		if !ok {
			return nil, errorf(errBadRequest, "requests[%d]: unknown action %q", i, br.Action)
		}
		if err := auth.CheckACL(p, a.acl); err != nil {
			return nil, err
		}
		op := index.Op{Action: a.action, Body: br.Body}
		if br.Body != nil {
			if id, ok := br.Body["objectID"]; ok {
				sid, ok := id.(string)
				if !ok {
					if n, isNum := id.(json.Number); isNum {
						sid = n.String()
					} else {
						return nil, errorf(errBadRequest, "requests[%d]: objectID must be a string", i)
					}
				}
				op.ObjectID = sid
				br.Body["objectID"] = sid
			}
		}
		switch a.action {
		case index.ActionAddObject:
			if op.ObjectID != "" {
				op.Action = index.ActionUpdateObject
			}
		case index.ActionUpdateObject, index.ActionPartialUpdate, index.ActionPartialUpdateNoCreate, index.ActionDelete:
			if op.ObjectID == "" {
				return nil, errorf(errBadRequest, "requests[%d]: action %s needs body.objectID", i, br.Action)
			}
		}
		if op.Body == nil && (a.action != index.ActionDelete && a.action != index.ActionClear) {
			return nil, errorf(errBadRequest, "requests[%d]: action %s needs a body", i, br.Action)
		}
		ops = append(ops, op)
	}
	return ops, nil
}

func (s *Server) handleBatch(w http.ResponseWriter, r *http.Request) error {
	var body batchBody
	if err := s.decode(w, r, &body, false); err != nil {
		return err
	}
	ops, err := toOps(principalOf(r), body.Requests)
	if err != nil {
		return err
	}
	ix, _, err := s.indexFromPath(r, true)
	if err != nil {
		return err
	}
	task, ids, err := ix.Write(r.Context(), ops)
	if err != nil {
		return err
	}
	if ids == nil {
		ids = []string{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"taskID": task, "objectIDs": ids})
	return nil
}

func (s *Server) handleMultiBatch(w http.ResponseWriter, r *http.Request) error {
	var body batchBody
	if err := s.decode(w, r, &body, false); err != nil {
		return err
	}
	p := principalOf(r)
	// Group by index, keeping each index's operations in request order; validate all
	// before writing any.
	var order []string
	groups := map[string][]batchRequest{}
	for i, br := range body.Requests {
		if br.IndexName == "" {
			return errorf(errBadRequest, "requests[%d]: indexName is required", i)
		}
		if err := p.CheckIndex(br.IndexName); err != nil {
			return err
		}
		if _, ok := groups[br.IndexName]; !ok {
			order = append(order, br.IndexName)
		}
		groups[br.IndexName] = append(groups[br.IndexName], br)
	}
	opsBy := map[string][]index.Op{}
	for _, name := range order {
		ops, err := toOps(p, groups[name])
		if err != nil {
			return err
		}
		if err := index.ValidateName(name); err != nil {
			return err
		}
		opsBy[name] = ops
	}
	tasks := map[string]int64{}
	ids := []string{}
	for _, name := range order {
		ix, err := s.Indexes.GetOrCreate(name)
		if err != nil {
			return err
		}
		task, got, err := ix.Write(r.Context(), opsBy[name])
		if err != nil {
			return err
		}
		tasks[name] = task
		ids = append(ids, got...)
	}
	writeJSON(w, http.StatusOK, map[string]any{"taskID": tasks, "objectIDs": ids})
	return nil
}

func (s *Server) handleClear(w http.ResponseWriter, r *http.Request) error {
	ix, _, err := s.indexFromPath(r, false)
	if err != nil {
		return err
	}
	task, _, err := ix.Write(r.Context(), []index.Op{{Action: index.ActionClear}})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"updatedAt": now(), "taskID": task})
	return nil
}

func (s *Server) handleDeleteByQuery(w http.ResponseWriter, r *http.Request) error {
	params, err := s.decodeParams(w, r)
	if err != nil {
		return err
	}
	ix, name, err := s.indexFromPath(r, false)
	if err != nil {
		return err
	}
	ids, err := s.Search.MatchingIDs(r.Context(), principalOf(r), name, params)
	if err != nil {
		return err
	}
	ops := make([]index.Op, 0, len(ids))
	for _, id := range ids {
		ops = append(ops, index.Op{Action: index.ActionDelete, ObjectID: id})
	}
	task, _, err := ix.Write(r.Context(), ops)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"updatedAt": now(), "taskID": task})
	return nil
}

func (s *Server) handleDeleteIndex(w http.ResponseWriter, r *http.Request) error {
	name, err := indexVar(r)
	if err != nil {
		return err
	}
	if err := principalOf(r).CheckIndex(name); err != nil {
		return err
	}
	task, err := s.Indexes.Delete(r.Context(), name)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"deletedAt": now(), "taskID": task})
	return nil
}

func (s *Server) handleGetSettings(w http.ResponseWriter, r *http.Request) error {
	ix, _, err := s.indexFromPath(r, false)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, ix.Settings())
	return nil
}

func (s *Server) handleSetSettings(w http.ResponseWriter, r *http.Request) error {
	var patch map[string]json.RawMessage
	if err := s.decode(w, r, &patch, false); err != nil {
		return err
	}
	ix, _, err := s.indexFromPath(r, true)
	if err != nil {
		return err
	}
	task, err := ix.SetSettings(r.Context(), patch)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"updatedAt": now(), "taskID": task})
	return nil
}

func (s *Server) handleTask(w http.ResponseWriter, r *http.Request) error {
	name, err := indexVar(r)
	if err != nil {
		return err
	}
	if err := principalOf(r).CheckIndex(name); err != nil {
		return err
	}
	id, err := strconv.ParseInt(mux.Vars(r)["taskID"], 10, 64)
	if err != nil {
		return errorf(errBadRequest, "taskID must be an integer")
	}
	published, err := s.Indexes.TaskStatus(name, id)
	if err != nil {
		return err
	}
	status := "notPublished"
	if published {
		status = "published"
	}
	writeJSON(w, http.StatusOK, map[string]any{"status": status, "pendingTask": !published})
	return nil
}

func (s *Server) handleListIndexes(w http.ResponseWriter, r *http.Request) error {
	p := principalOf(r)
	items := []map[string]any{}
	for _, in := range s.Indexes.List() {
		if !p.IndexAllowed(in.Name) {
			continue
		}
		pending := 0
		if in.PendingTask {
			pending = 1
		}
		items = append(items, map[string]any{
			"name":                 in.Name,
			"createdAt":            in.CreatedAt.UTC().Format(time.RFC3339),
			"updatedAt":            in.UpdatedAt.UTC().Format(time.RFC3339),
			"entries":              in.Entries,
			"dataSize":             in.DataSize,
			"fileSize":             in.FileSize,
			"lastBuildTimeS":       in.LastBuildTimeS,
			"numberOfPendingTasks": pending,
			"pendingTask":          in.PendingTask,
		})
	}
	writeJSON(w, http.StatusOK, map[string]any{"items": items, "nbPages": 1})
	return nil
}

func (s *Server) handleHealth(w http.ResponseWriter, r *http.Request) error {
	if s.Ready != nil && !s.Ready() && !s.closing.Load() {
		writeJSON(w, http.StatusServiceUnavailable, map[string]any{"status": "starting"})
		return nil
	}
	writeJSON(w, http.StatusOK, map[string]any{"status": "ok"})
	return nil
}

func (s *Server) handleReady(w http.ResponseWriter, r *http.Request) error {
	if s.closing.Load() || (s.Ready != nil && !s.Ready()) {
		return errShuttingDown
	}
	writeJSON(w, http.StatusOK, map[string]any{"status": "ready"})
	return nil
}
