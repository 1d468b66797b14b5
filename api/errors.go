package api

import (
	"context"
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
	// errCredentialTooLong refuses an API key over MaxAPIKeyLength before any work.
	errCredentialTooLong = errors.New("credential too long")
	// errSearchTimeout is the cause of a read request's context when SearchTimeout passes.
	errSearchTimeout = errors.New("search timed out")
	// errOverloaded refuses a read request that found no search slot within SearchQueueWait.
	errOverloaded = errors.New("too many concurrent searches")
)

// statusEntry maps a sentinel to a status and, when fixed, the message shown.
type statusEntry struct {
	err    error
	status int
	// message replaces the error's text when set: credential refusals use Algolia's
	// wording and never echo anything of the credential.
	message string
	// cause labels a 503 in keyhole_unavailable_total; such answers carry Retry-After: 1
	// unless cause is "shutting_down".
	cause string
}

// statusTable is the one place where errors become HTTP statuses. The first match wins.
var statusTable = []statusEntry{
	{auth.ErrInvalidCredentials, http.StatusForbidden, "Invalid Application-ID or API key", ""},
	{auth.ErrExpired, http.StatusBadRequest, "validUntil parameter expired (less than current date)", ""},
	{auth.ErrIndexNotAllowed, http.StatusForbidden, "Index not allowed with this API key", ""},
	{auth.ErrMethodNotAllowed, http.StatusForbidden, "Method not allowed with this API key", ""},
	{auth.ErrSourceNotAllowed, http.StatusForbidden, "", ""},
	{auth.ErrRefererNotAllowed, http.StatusForbidden, "", ""},
	{auth.ErrParentNotSearch, http.StatusForbidden, "", ""},
	{auth.ErrInvalidRestrictions, http.StatusBadRequest, "", ""},
	{auth.ErrInvalidToken, http.StatusUnauthorized, "", ""},
	{auth.ErrInvalidRevocation, http.StatusBadRequest, "", ""},
	{auth.ErrKeyExists, http.StatusConflict, "", ""},
	{auth.ErrKeyNotFound, http.StatusNotFound, "Key does not exist", ""},
	{auth.ErrInvalidKeySpec, http.StatusBadRequest, "", ""},
	{index.ErrIndexNotFound, http.StatusNotFound, "", ""},
	{index.ErrInvalidName, http.StatusBadRequest, "", ""},
	{index.ErrInvalidObject, http.StatusBadRequest, "", ""},
	{index.ErrInvalidSettings, http.StatusBadRequest, "", ""},
	{index.ErrTaskNotFound, http.StatusNotFound, "Task does not exist", ""},
	{index.ErrObjectNotFound, http.StatusNotFound, "ObjectID does not exist", ""},
	{query.ErrInvalidParam, http.StatusBadRequest, "", ""},
	{query.ErrObjectNotFound, http.StatusNotFound, "ObjectID does not exist", ""},
	{query.ErrUserNotScoped, http.StatusForbidden, "", ""},
	{query.ErrBadCursor, http.StatusBadRequest, "Invalid cursor", ""},
	{query.ErrNoPrincipal, http.StatusForbidden, "Invalid Application-ID or API key", ""},
	{errBadJSON, http.StatusBadRequest, "", ""},
	{errBodyTooLarge, http.StatusRequestEntityTooLarge, "", ""},
	{errNotFound, http.StatusNotFound, "Not found", ""},
	{errMethod, http.StatusMethodNotAllowed, "Method not allowed", ""},
	{errBadRequest, http.StatusBadRequest, "", ""},
	{errMissingParams, http.StatusBadRequest, "", ""},
	{errCredentialTooLong, http.StatusBadRequest, "", ""},
	{errSearchTimeout, http.StatusServiceUnavailable, "", "search_timeout"},
	{context.DeadlineExceeded, http.StatusServiceUnavailable, "Search timed out", "search_timeout"},
	{errOverloaded, http.StatusServiceUnavailable, "", "search_overload"},
	// The client went away: nobody reads the answer, but it must not count as a 500.
	{context.Canceled, statusClientClosed, "Client closed request", ""},
	{errShuttingDown, http.StatusServiceUnavailable, "Server is shutting down", "shutting_down"},
	{errTooManyRequests, http.StatusTooManyRequests, "", ""},
	{errJWTRequired, http.StatusUnauthorized, "This sitekey requires a JWT", ""},
	// The data dir refused a write: the reason is safe to show (no path, no cause details).
	{index.ErrStorage, http.StatusInsufficientStorage, "", ""},
}

// statusClientClosed is the status logged (and counted) when the client went away before
// the answer (nginx's 499); the client never sees it.
const statusClientClosed = 499

// lookup returns err's entry in statusTable; anything not in the table is a 500 with a
// generic message (the details go to the log only).
func lookup(err error) statusEntry {
	for _, e := range statusTable {
		if errors.Is(err, e.err) {
			return e
		}
	}
	return statusEntry{err: err, status: http.StatusInternalServerError, message: "Internal server error"}
}

// statusOf returns the status and the message to show for err.
func statusOf(err error) (int, string) {
	e := lookup(err)
	if e.message != "" {
		return e.status, e.message
	}
	return e.status, err.Error()
}

// writeError answers with Algolia's error body. A 5xx is logged with its cause; a 503 is
// counted by cause and, when the cause is load, carries Retry-After: 1.
func (s *Server) writeError(w http.ResponseWriter, r *http.Request, err error) {
	e := lookup(err)
	status, msg := statusOf(err)
	if e.cause != "" {
		s.Metrics.Unavailable(e.cause)
		if e.cause != "shutting_down" {
			w.Header().Set("Retry-After", "1")
		}
	}
	if status >= 500 && e.cause == "" {
		s.logger.LogAttrs(r.Context(), slog.LevelError, "request failed",
			slog.String("request_id", requestID(r.Context())), slog.String("error", err.Error()))
	}
	writeJSON(w, status, map[string]any{"message": msg, "status": status})
}

// refusals names the credential refusal sentinels for the keyhole_auth_verdicts_total label
// ("refused:<name>"). The specific token sentinels come before ErrInvalidToken, which they
// all match.
var refusals = []struct {
	err  error
	name string
}{
	{errCredentialTooLong, "ErrCredentialTooLong"},
	{auth.ErrTokenMalformed, "ErrTokenMalformed"},
	{auth.ErrTokenTooLong, "ErrTokenTooLong"},
	{auth.ErrTokenAlgorithm, "ErrTokenAlgorithm"},
	{auth.ErrTokenKeyID, "ErrTokenKeyID"},
	{auth.ErrTokenUnknownKey, "ErrTokenUnknownKey"},
	{auth.ErrTokenSignature, "ErrTokenSignature"},
	{auth.ErrTokenNoExpiry, "ErrTokenNoExpiry"},
	{auth.ErrTokenMilliseconds, "ErrTokenMilliseconds"},
	{auth.ErrTokenExpired, "ErrTokenExpired"},
	{auth.ErrTokenNotYetValid, "ErrTokenNotYetValid"},
	{auth.ErrTokenLifetime, "ErrTokenLifetime"},
	{auth.ErrTokenKeyNotSearch, "ErrTokenKeyNotSearch"},
	{auth.ErrTokenRevoked, "ErrTokenRevoked"},
	{auth.ErrTokenIssuer, "ErrTokenIssuer"},
	{auth.ErrTokenAudience, "ErrTokenAudience"},
	{auth.ErrTokenPublicKey, "ErrTokenPublicKey"},
	{auth.ErrTokenKeyMismatch, "ErrTokenKeyMismatch"},
	{auth.ErrInvalidToken, "ErrInvalidToken"},
	{auth.ErrInvalidCredentials, "ErrInvalidCredentials"},
	{auth.ErrExpired, "ErrExpired"},
	{auth.ErrSourceNotAllowed, "ErrSourceNotAllowed"},
	{auth.ErrRefererNotAllowed, "ErrRefererNotAllowed"},
	{auth.ErrInvalidRestrictions, "ErrInvalidRestrictions"},
	{auth.ErrParentNotSearch, "ErrParentNotSearch"},
	{auth.ErrIndexNotAllowed, "ErrIndexNotAllowed"},
	{auth.ErrMethodNotAllowed, "ErrMethodNotAllowed"},
}

// refusalName names a credential refusal for the metrics: a sentinel's name, "other" for
// anything else (a verifier failure, which is not a verdict on the credential).
func refusalName(err error) string {
	for _, r := range refusals {
		if errors.Is(err, r.err) {
			return r.name
		}
	}
	return "other"
}
