package api

import (
	"net/http"
	"time"

	"github.com/keyhole-search/keyhole/auth"
)

// adminOnly lets only the admin key through: stored keys, secured keys and tokens cannot
// manage keys, whatever their ACL.
func (s *Server) adminOnly(h handlerFunc) http.Handler {
	return s.serve(func(w http.ResponseWriter, r *http.Request) error {
		if p := principalOf(r); p == nil || p.Kind != auth.KindAdmin {
			return auth.ErrMethodNotAllowed
		}
		return h(w, r)
	})
}

func (s *Server) handleCreateKey(w http.ResponseWriter, r *http.Request) error {
	var spec auth.KeySpec
	if err := s.decode(w, r, &spec, false); err != nil {
		return err
	}
	k, err := s.Keys.Create(spec)
	if err != nil {
		return err
	}
	s.logger.Info("key created", "key_id", k.ID, "request_id", requestID(r.Context()))
	writeJSON(w, http.StatusOK, map[string]any{"key": k.Value, "id": k.ID, "createdAt": time.Unix(k.CreatedAt, 0).UTC().Format(time.RFC3339)})
	return nil
}

func (s *Server) handleListKeys(w http.ResponseWriter, r *http.Request) error {
	keys := s.Keys.List()
	if keys == nil {
		keys = []auth.Key{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"keys": keys})
	return nil
}

func (s *Server) handleGetKey(w http.ResponseWriter, r *http.Request) error {
	v, err := pathVar(r, "key")
	if err != nil {
		return err
	}
	k, err := s.Keys.Get(v)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, k)
	return nil
}

func (s *Server) handleUpdateKey(w http.ResponseWriter, r *http.Request) error {
	v, err := pathVar(r, "key")
	if err != nil {
		return err
	}
	var spec auth.KeySpec
	if err := s.decode(w, r, &spec, false); err != nil {
		return err
	}
	k, err := s.Keys.Update(v, spec)
	if err != nil {
		return err
	}
	s.logger.Info("key updated", "key_id", k.ID, "request_id", requestID(r.Context()))
	writeJSON(w, http.StatusOK, map[string]any{"key": k.Value, "updatedAt": time.Now().UTC().Format(time.RFC3339)})
	return nil
}

func (s *Server) handleDeleteKey(w http.ResponseWriter, r *http.Request) error {
	v, err := pathVar(r, "key")
	if err != nil {
		return err
	}
	if err := s.Keys.Delete(v); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"deletedAt": time.Now().UTC().Format(time.RFC3339)})
	return nil
}

func (s *Server) handleRestoreKey(w http.ResponseWriter, r *http.Request) error {
	v, err := pathVar(r, "key")
	if err != nil {
		return err
	}
	k, err := s.Keys.Restore(v)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"key": k.Value, "createdAt": time.Unix(k.CreatedAt, 0).UTC().Format(time.RFC3339)})
	return nil
}

// handleRevoke is POST /1/tokens/revoke: {"jti": "...", "exp": unix} revokes one token until it
// would have expired (exp defaults to 24 h from now, the longest token lifetime);
// {"sub": "...", "before": unix} revokes every token of that user issued before then
// (before defaults to now). Both persist and apply at once.
func (s *Server) handleRevoke(w http.ResponseWriter, r *http.Request) error {
	var body struct {
		JTI    string `json:"jti"`
		Exp    int64  `json:"exp"`
		Sub    string `json:"sub"`
		Before int64  `json:"before"`
	}
	if err := s.decode(w, r, &body, false); err != nil {
		return err
	}
	if (body.JTI == "") == (body.Sub == "") {
		return errorf(errBadRequest, "give either jti (one token) or sub (every token of a user)")
	}
	now := time.Now()
	if body.JTI != "" {
		until := now.Add(24 * time.Hour)
		if body.Exp > 0 {
			until = time.Unix(body.Exp, 0)
		}
		if err := s.Keys.RevokeToken(body.JTI, until); err != nil {
			return err
		}
		writeJSON(w, http.StatusOK, map[string]any{"jti": body.JTI, "revokedUntil": until.UTC().Format(time.RFC3339)})
		return nil
	}
	before := now
	if body.Before > 0 {
		before = time.Unix(body.Before, 0)
	}
	if err := s.Keys.RevokeUser(body.Sub, before); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"sub": body.Sub, "revokedBefore": before.UTC().Format(time.RFC3339)})
	return nil
}

func (s *Server) handleListRevocations(w http.ResponseWriter, r *http.Request) error {
	writeJSON(w, http.StatusOK, map[string]any{"revocations": s.Keys.Revocations()})
	return nil
}
