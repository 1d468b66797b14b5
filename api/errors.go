package api

import (
	"errors"
	"log/slog"
	"net/http"

	"github.com/keyhole-search/keyhole/auth"
	"github.com/keyhole-search/keyhole/index"
	"github.com/keyhole-search/keyhole/query"
)

// Errors of the HTTP layer itself.
var (
	errBadJSON         = errors.New("malformed JSON body")
	errBodyTooLarge    = errors.New("request body too large")
	errNotFound        = errors.New("no such route")
	errMethod          = errors.New("method not allowed on this route")
	errBadRequest      = errors.New("bad request")
	errShuttingDown    = errors.New("server is shutting down")
	errMissingParams   = errors.New("missing parameter")
	errTooManyRequests = errors.New("too many requests")
)

// statusEntry maps a sentinel to a status and, when fixed, the message shown.
type statusEntry struct {
	err    error
	status int
	// message replaces the error's text when set: credential refusals use Algolia's
	// wording and never echo anything of the credential.
	message string
}

// statusTable is the one place where errors become HTTP statuses. The first match wins.
var statusTable = []statusEntry{
	{auth.ErrInvalidCredentials, http.StatusForbidden, "Invalid Application-ID or API key"},
	{auth.ErrExpired, http.StatusBadRequest, "validUntil parameter expired (less than current date)"},
	{auth.ErrIndexNotAllowed, http.StatusForbidden, "Index not allowed with this API key"},
	{auth.ErrMethodNotAllowed, http.StatusForbidden, "Method not allowed with this API key"},
	{auth.ErrSourceNotAllowed, http.StatusForbidden, ""},
	{auth.ErrRefererNotAllowed, http.StatusForbidden, ""},
	{auth.ErrParentNotSearch, http.StatusForbidden, ""},
	{auth.ErrInvalidRestrictions, http.StatusBadRequest, ""},
	{auth.ErrInvalidToken, http.StatusUnauthorized, ""},
	{auth.ErrInvalidRevocation, http.StatusBadRequest, ""},
	{auth.ErrKeyExists, http.StatusConflict, ""},
	{auth.ErrKeyNotFound, http.StatusNotFound, "Key does not exist"},
	{auth.ErrInvalidKeySpec, http.StatusBadRequest, ""},
	{index.ErrIndexNotFound, http.StatusNotFound, ""},
	{index.ErrInvalidName, http.StatusBadRequest, ""},
	{index.ErrInvalidObject, http.StatusBadRequest, ""},
	{index.ErrInvalidSettings, http.StatusBadRequest, ""},
	{index.ErrTaskNotFound, http.StatusNotFound, "Task does not exist"},
	{index.ErrObjectNotFound, http.StatusNotFound, "ObjectID does not exist"},
	{query.ErrInvalidParam, http.StatusBadRequest, ""},
	{query.ErrObjectNotFound, http.StatusNotFound, "ObjectID does not exist"},
	{query.ErrUserNotScoped, http.StatusForbidden, ""},
	{query.ErrBadCursor, http.StatusBadRequest, "Invalid cursor"},
	{query.ErrNoPrincipal, http.StatusForbidden, "Invalid Application-ID or API key"},
	{errBadJSON, http.StatusBadRequest, ""},
	{errBodyTooLarge, http.StatusRequestEntityTooLarge, ""},
	{errNotFound, http.StatusNotFound, "Not found"},
	{errMethod, http.StatusMethodNotAllowed, "Method not allowed"},
	{errBadRequest, http.StatusBadRequest, ""},
	{errMissingParams, http.StatusBadRequest, ""},
	{errShuttingDown, http.StatusServiceUnavailable, "Server is shutting down"},
	{errTooManyRequests, http.StatusTooManyRequests, ""},
	{errJWTRequired, http.StatusUnauthorized, "This sitekey requires a JWT"},
}

// statusOf returns the status and the message to show for err. Anything not in the table is
// a 500 with a generic message (the details go to the log only).
func statusOf(err error) (int, string) {
	for _, e := range statusTable {
		if errors.Is(err, e.err) {
			if e.message != "" {
				return e.status, e.message
			}
			return e.status, err.Error()
		}
	}
	return http.StatusInternalServerError, "Internal server error"
}

// writeError answers with Algolia's error body. A 5xx is logged with its cause.
func (s *Server) writeError(w http.ResponseWriter, r *http.Request, err error) {
	status, msg := statusOf(err)
	if status >= 500 {
		s.logger.LogAttrs(r.Context(), slog.LevelError, "request failed",
			slog.String("request_id", requestID(r.Context())), slog.String("error", err.Error()))
	}
	writeJSON(w, status, map[string]any{"message": msg, "status": status})
}
