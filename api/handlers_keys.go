package api

import (
	"net/http"
	"time"

	"github.com/keyhole-search/keyhole/auth"
)

// adminOnly lets only the admin key through: stored keys, secured keys and tokens cannot
// manage keys, whatever their ACL.
func (s *Server) adminOnly(h http.HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if p := principalOf(r); p == nil || p.Kind != auth.KindAdmin {
			s.writeError(w, r, auth.ErrMethodNotAllowed)
			return
		}
		h(w, r)
	})
}

func (s *Server) handleCreateKey(w http.ResponseWriter, r *http.Request) {
	var spec auth.KeySpec
	if err := s.decode(w, r, &spec, false); err != nil {
		s.writeError(w, r, err)
		return
	}
	k, err := s.Keys.Create(spec)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	s.logger.Info("key created", "key_id", k.ID, "request_id", requestID(r.Context()))
	writeJSON(w, http.StatusOK, map[string]any{"key": k.Value, "id": k.ID, "createdAt": time.Unix(k.CreatedAt, 0).UTC().Format(time.RFC3339)})
}

func (s *Server) handleListKeys(w http.ResponseWriter, r *http.Request) {
	keys := s.Keys.List()
	if keys == nil {
		keys = []auth.Key{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"keys": keys})
}

func (s *Server) handleGetKey(w http.ResponseWriter, r *http.Request) {
	v, err := pathVar(r, "key")
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	k, err := s.Keys.Get(v)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, k)
}

func (s *Server) handleUpdateKey(w http.ResponseWriter, r *http.Request) {
	v, err := pathVar(r, "key")
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	var spec auth.KeySpec
	if err := s.decode(w, r, &spec, false); err != nil {
		s.writeError(w, r, err)
		return
	}
	k, err := s.Keys.Update(v, spec)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	s.logger.Info("key updated", "key_id", k.ID, "request_id", requestID(r.Context()))
	writeJSON(w, http.StatusOK, map[string]any{"key": k.Value, "updatedAt": time.Now().UTC().Format(time.RFC3339)})
}

func (s *Server) handleDeleteKey(w http.ResponseWriter, r *http.Request) {
	v, err := pathVar(r, "key")
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if err := s.Keys.Delete(v); err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"deletedAt": time.Now().UTC().Format(time.RFC3339)})
}

func (s *Server) handleRestoreKey(w http.ResponseWriter, r *http.Request) {
	v, err := pathVar(r, "key")
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	k, err := s.Keys.Restore(v)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"key": k.Value, "createdAt": time.Unix(k.CreatedAt, 0).UTC().Format(time.RFC3339)})
}

// handleRevoke is POST /1/tokens/revoke: {"jti": "...", "exp": unix} revokes one token until it
// would have expired (exp defaults to 24 h from now, the longest token lifetime);
// {"sub": "...", "before": unix} revokes every token of that user issued before then
// (before defaults to now). Both persist and apply at once.
func (s *Server) handleRevoke(w http.ResponseWriter, r *http.Request) {
	var body struct {
		JTI    string `json:"jti"`
		Exp    int64  `json:"exp"`
		Sub    string `json:"sub"`
		Before int64  `json:"before"`
	}
	if err := s.decode(w, r, &body, false); err != nil {
		s.writeError(w, r, err)
		return
	}
	if (body.JTI == "") == (body.Sub == "") {
		s.writeError(w, r, errorf(errBadRequest, "give either jti (one token) or sub (every token of a user)"))
		return
	}
	now := time.Now()
	if body.JTI != "" {
		until := now.Add(24 * time.Hour)
		if body.Exp > 0 {
			until = time.Unix(body.Exp, 0)
		}
		if err := s.Keys.RevokeToken(body.JTI, until); err != nil {
			s.writeError(w, r, err)
			return
		}
		writeJSON(w, http.StatusOK, map[string]any{"jti": body.JTI, "revokedUntil": until.UTC().Format(time.RFC3339)})
		return
	}
	before := now
	if body.Before > 0 {
		before = time.Unix(body.Before, 0)
	}
	if err := s.Keys.RevokeUser(body.Sub, before); err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"sub": body.Sub, "revokedBefore": before.UTC().Format(time.RFC3339)})
}

func (s *Server) handleListRevocations(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]any{"revocations": s.Keys.Revocations()})
}
