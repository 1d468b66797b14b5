// Package api is keyhole's HTTP layer: Algolia's REST dialect over gorilla/mux. Handlers
// decode, call one service, and encode; authentication happens once, in a middleware that
// turns credentials into an auth.Principal which every read requires.
package api

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"runtime"
	"sort"
	"strings"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/gorilla/mux"

	"github.com/keyhole-search/keyhole/auth"
	"github.com/keyhole-search/keyhole/index"
	"github.com/keyhole-search/keyhole/metrics"
	"github.com/keyhole-search/keyhole/query"
	"github.com/keyhole-search/keyhole/ratelimit"
)

// Authenticator turns request credentials into a principal.
type Authenticator interface {
	Authenticate(ctx context.Context, c auth.Credentials) (*auth.Principal, error)
	// AuthenticateToken checks a JWT with per-endpoint options (the sitekey endpoint).
	AuthenticateToken(ctx context.Context, token string, opts auth.TokenOptions) (*auth.Principal, error)
}

// Deps are everything the HTTP layer needs.
type Deps struct {
	Indexes *index.Manager
	Search  *query.Service
	Auth    Authenticator
	// Keys is the stored API key store (the /1/keys routes).
	Keys   *auth.KeyStore
	Logger *slog.Logger
	// CORSOrigins lists the origins allowed to call from a browser; "*" allows any.
	CORSOrigins []string
	// TrustedProxies are the peers whose X-Forwarded-For is believed. Warning: listing a
	// range that untrusted clients can reach lets them choose their source address and so
	// defeat restrictSources.
	TrustedProxies []netip.Prefix
	// MaxBodyBytes caps every request body.
	MaxBodyBytes int64
	// Ready reports whether the server is ready (indexes open, not shutting down); nil means
	// always.
	Ready func() bool
	// FailedAuthPerMinute is how many unknown, forged or invalid credentials one client
	// address may present per minute before it gets 429s without any verification
	// (0: 60; negative: no limit). Needs Limiter.
	FailedAuthPerMinute int
	// Limiter enforces per-key-per-IP (maxQueriesPerIPPerHour), per-user-token and
	// per-token-user (rateLimit claim) limits; nil disables rate limiting.
	Limiter *ratelimit.Limiter
	// SearchTimeout bounds every read request (search, multi-query, facet search, browse,
	// objects, AddSearch): past it the request's context ends and the answer is a 503 with
	// Retry-After. 0 means DefaultSearchTimeout.
	SearchTimeout time.Duration
	// MaxConcurrentSearches is how many read requests run at once in this process; others
	// wait at most SearchQueueWait for a slot, then get a 503 with Retry-After. 0 means
	// DefaultSearchesPerCPU × GOMAXPROCS.
	MaxConcurrentSearches int
	// SearchQueueWait is how long a read request waits for a search slot. 0 means
	// DefaultSearchQueueWait.
	SearchQueueWait time.Duration
	// Metrics are the Prometheus collectors served on /metrics (admin key only); nil means
	// a fresh set (metrics.New). NewServer adds the index collector to it, so give each
	// Server its own.
	Metrics *metrics.Metrics
	// Demo, when not nil, serves /demo and everything under /demo/ with no credentials
	// checked: the page and the demo keys of `keyhole demo`, the only command that sets it.
	// Warning: whatever it serves is public; `keyhole serve` leaves it nil, so those paths
	// are 404s there.
	Demo http.Handler
}

// Defaults of Deps.
const (
	// DefaultSearchTimeout is the default Deps.SearchTimeout.
	DefaultSearchTimeout = 5 * time.Second
	// DefaultSearchesPerCPU times GOMAXPROCS is the default Deps.MaxConcurrentSearches.
	DefaultSearchesPerCPU = 4
	// DefaultSearchQueueWait is the default Deps.SearchQueueWait.
	DefaultSearchQueueWait = 100 * time.Millisecond
)

// Server is the HTTP handler of keyhole.
type Server struct {
	Deps
	logger  *slog.Logger
	router  *mux.Router
	handler http.Handler
	closing atomic.Bool
	// slots is the search semaphore: a read request holds one slot while it runs.
	slots chan struct{}
	// searchHook, when set (by tests), runs once a read request holds its slot, under the
	// request's search deadline.
	searchHook func(*http.Request)
}

// NewServer builds the handler with every route (see routes.go).
func NewServer(d Deps) *Server {
	if d.Logger == nil {
		d.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if d.MaxBodyBytes <= 0 {
		d.MaxBodyBytes = 100 << 20
	}
	if len(d.CORSOrigins) == 0 {
		d.CORSOrigins = []string{"*"}
	}
	if d.SearchTimeout <= 0 {
		d.SearchTimeout = DefaultSearchTimeout
	}
	if d.MaxConcurrentSearches <= 0 {
		d.MaxConcurrentSearches = DefaultSearchesPerCPU * runtime.GOMAXPROCS(0)
	}
	if d.SearchQueueWait <= 0 {
		d.SearchQueueWait = DefaultSearchQueueWait
	}
	if d.Metrics == nil {
		d.Metrics = metrics.New()
	}
	if d.FailedAuthPerMinute == 0 {
		d.FailedAuthPerMinute = 60
	}
	if d.Indexes != nil {
		d.Metrics.WatchIndexes(indexStats(d.Indexes))
	}
	if cs, ok := d.Auth.(interface{ CacheStats() (uint64, uint64) }); ok {
		d.Metrics.WatchCredentialCache(cs.CacheStats)
	}
	d.Metrics.SearchSlots(d.MaxConcurrentSearches)
	s := &Server{Deps: d, logger: d.Logger, slots: make(chan struct{}, d.MaxConcurrentSearches)}
	s.router = mux.NewRouter().UseEncodedPath()
	s.router.Use(s.markRoute)
	s.routes()
	s.router.NotFoundHandler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.writeError(w, r, errNotFound)
	})
	s.router.MethodNotAllowedHandler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.writeError(w, r, errMethod)
	})
	s.handler = s.recoverer(s.logRequests(s.cors(s.router)))
	return s
}

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.handler.ServeHTTP(w, r) }

// SetClosing marks the server as shutting down: /ready answers 503 from then on.
func (s *Server) SetClosing() { s.closing.Store(true) }

type ctxKey int

const (
	ctxPrincipal ctxKey = iota
	ctxRequestID
)

func requestID(ctx context.Context) string {
	id, _ := ctx.Value(ctxRequestID).(string)
	return id
}

// principalOf returns the request's principal; the auth middleware always sets one before a
// handler under /1 runs.
func principalOf(r *http.Request) *auth.Principal {
	p, _ := r.Context().Value(ctxPrincipal).(*auth.Principal)
	return p
}

// statusWriter records, for the access log and the metrics, the status, the key id and the
// route template (set by markRoute once the router has matched).
type statusWriter struct {
	http.ResponseWriter
	status int
	keyID  string
	route  string
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

// logRequests gives each request an id and logs method, path (never the query string, which
// can hold a key), status, duration and the key id.
func (s *Server) logRequests(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var b [8]byte
		_, _ = rand.Read(b[:])
		id := hex.EncodeToString(b[:])
		w.Header().Set("X-Request-Id", id)
		sw := &statusWriter{ResponseWriter: w}
		start := time.Now()
		ctx := context.WithValue(r.Context(), ctxRequestID, id)
		next.ServeHTTP(sw, r.WithContext(ctx))
		route, status := sw.route, sw.status
		if status == 0 {
			status = http.StatusOK // nothing written: net/http answers 200
		}
		if route == "" {
			route = "unmatched"
			if r.Method == http.MethodOptions {
				route = "preflight"
			}
		}
		s.Metrics.ObserveRequest(route, r.Method, status, time.Since(start))
		s.logger.LogAttrs(ctx, slog.LevelDebug, "request",
			slog.String("request_id", id), slog.String("method", r.Method),
			slog.String("path", r.URL.EscapedPath()), slog.Int("status", sw.status),
			slog.Duration("duration", time.Since(start)), slog.String("key_id", sw.keyID))
	})
}

// markRoute records the matched route's template (never the raw path, which holds index
// names and object ids) for the metrics. It is the root router's middleware, so it runs for
// every matched route, before authentication.
func (s *Server) markRoute(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if sw, ok := w.(*statusWriter); ok {
			if rt := mux.CurrentRoute(r); rt != nil {
				if tpl, err := rt.GetPathTemplate(); err == nil {
					sw.route = tpl
				}
			}
		}
		next.ServeHTTP(w, r)
	})
}

// recoverer turns a panic into a 500 and a log line instead of a dropped connection.
func (s *Server) recoverer(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				s.logger.Error("panic serving request", slog.Any("panic", v), slog.String("path", r.URL.EscapedPath()))
				writeJSON(w, http.StatusInternalServerError, map[string]any{"message": "Internal server error", "status": 500})
			}
		}()
		next.ServeHTTP(w, r)
	})
}

// cors answers preflights and sets Access-Control-Allow-Origin for allowed origins.
func (s *Server) cors(next http.Handler) http.Handler {
	any := false
	allowed := map[string]bool{}
	for _, o := range s.CORSOrigins {
		if o == "*" {
			any = true
		}
		allowed[strings.TrimRight(o, "/")] = true
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		origin := r.Header.Get("Origin")
		h := w.Header()
		if origin != "" {
			switch {
			case any:
				h.Set("Access-Control-Allow-Origin", "*")
			case allowed[origin]:
				h.Set("Access-Control-Allow-Origin", origin)
				h.Add("Vary", "Origin")
			}
		}
		if r.Method == http.MethodOptions {
			h.Set("Access-Control-Allow-Methods", "GET, POST, PUT, DELETE, OPTIONS")
			if req := r.Header.Get("Access-Control-Request-Headers"); req != "" {
				h.Set("Access-Control-Allow-Headers", req)
			}
			h.Set("Access-Control-Max-Age", "86400")
			w.WriteHeader(http.StatusNoContent)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// MaxAPIKeyLength is the longest API key value accepted, in bytes (a secured API key carries
// its restrictions, so it is longer than a stored key, but never near this). A longer one is
// refused with a 400 before any verification; tokens are capped at auth.MaxTokenLength.
const MaxAPIKeyLength = 1 << 10

// credentials reads the request's credentials: the API key and application id from the
// headers or the query string, the client address (X-Forwarded-For only from a trusted
// proxy) and the referer. An API key over MaxAPIKeyLength or a token over
// auth.MaxTokenLength is refused here, before any work.
func (s *Server) credentials(r *http.Request) (auth.Credentials, error) {
	q := r.URL.Query()
	c := auth.Credentials{
		APIKey:  r.Header.Get("X-Algolia-API-Key"),
		AppID:   r.Header.Get("X-Algolia-Application-Id"),
		Referer: r.Header.Get("Referer"),
	}
	if c.APIKey == "" {
		c.APIKey = q.Get("x-algolia-api-key")
	}
	if c.AppID == "" {
		c.AppID = q.Get("x-algolia-application-id")
	}
	// Tokens: Authorization: Bearer, X-Algolia-Secure-User-Token, the jwt query parameter
	// (an API key that is a JWT is recognised by the verifier).
	c.Token = bearer(r)
	if c.Token == "" {
		c.Token = r.Header.Get("X-Algolia-Secure-User-Token")
	}
	if c.Token == "" {
		c.Token = q.Get("jwt")
	}
	c.ClientIP = s.clientIP(r)
	if n := len(c.APIKey); n > MaxAPIKeyLength {
		return c, &auth.RefusedError{Reason: errorf(errCredentialTooLong, "API key too long: %d bytes, more than MaxAPIKeyLength (%d bytes)", n, MaxAPIKeyLength)}
	}
	if len(c.Token) > auth.MaxTokenLength {
		return c, &auth.RefusedError{Reason: auth.ErrTokenTooLong}
	}
	return c, nil
}

func (s *Server) clientIP(r *http.Request) netip.Addr {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	peer, err := netip.ParseAddr(host)
	if err != nil {
		return netip.Addr{}
	}
	peer = peer.Unmap()
	if !s.trusted(peer) {
		return peer
	}
	// Walk X-Forwarded-For from the right: the first address that is not a trusted proxy is
	// the client.
	xff := r.Header.Values("X-Forwarded-For")
	var hops []string
	for _, v := range xff {
		hops = append(hops, strings.Split(v, ",")...)
	}
	for i := len(hops) - 1; i >= 0; i-- {
		a, err := netip.ParseAddr(strings.TrimSpace(hops[i]))
		if err != nil {
			return peer
		}
		a = a.Unmap()
		if !s.trusted(a) {
			return a
		}
		peer = a
	}
	return peer
}

func (s *Server) trusted(a netip.Addr) bool {
	for _, p := range s.TrustedProxies {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// authenticate is the one authentication middleware: every route under /1 goes through it.
func (s *Server) authenticate(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := s.credentials(r)
		if s.refusedTooOften(w, r, c.ClientIP) {
			return
		}
		var p *auth.Principal
		if err == nil {
			p, err = s.Auth.Authenticate(r.Context(), c)
		}
		if err != nil {
			s.countRefusal(err, c.ClientIP)
			s.auditRefusal(r, err, c)
			s.writeError(w, r, err)
			return
		}
		s.Metrics.Verdict("ok:" + p.Kind.String())
		if sw, ok := w.(*statusWriter); ok {
			sw.keyID = p.KeyID
		}
		if !s.allow(w, r, p) {
			return
		}
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), ctxPrincipal, p)))
	})
}

// failedAuthLimit bounds the credentials an address may have refused as unknown, forged or
// invalid: checking a never-seen forged secured key costs one HMAC per stored key, so
// unthrottled forgeries are a way to burn CPU.
func (s *Server) failedAuthLimit() ratelimit.Limit {
	return ratelimit.Limit{Events: s.FailedAuthPerMinute, Per: time.Minute}
}

// refusedTooOften answers 429 when the client address has had too many credentials refused
// lately, before any verification work.
func (s *Server) refusedTooOften(w http.ResponseWriter, r *http.Request, ip netip.Addr) bool {
	if s.Limiter == nil {
		return false
	}
	ex, retry := s.Limiter.Exhausted("authfail:"+ip.String(), s.failedAuthLimit())
	if !ex {
		return false
	}
	secs := max(int64(retry/time.Second), 1)
	w.Header().Set("Retry-After", itoa(secs))
	s.Metrics.RateLimited("failed_auth")
	s.writeError(w, r, errorf(errTooManyRequests, "Too many refused credentials from this address: retry in %d s", secs))
	return true
}

// countRefusal spends one of the address's refusals when a credential was unknown, forged or
// not a valid token (not for expiry, index or ACL refusals of a genuine credential).
func (s *Server) countRefusal(err error, ip netip.Addr) {
	if s.Limiter != nil && (errors.Is(err, auth.ErrInvalidCredentials) || errors.Is(err, auth.ErrInvalidToken)) {
		s.Limiter.Allow("authfail:"+ip.String(), s.failedAuthLimit())
	}
}

// auditRefusal writes the audit line of a refused credential: the key's id, the reason and the
// source address, never the credential itself.
func (s *Server) auditRefusal(r *http.Request, err error, c auth.Credentials) {
	var refused *auth.RefusedError
	keyID := ""
	if errors.As(err, &refused) {
		keyID = refused.KeyID
	}
	s.Metrics.Verdict("refused:" + refusalName(err))
	s.logger.LogAttrs(r.Context(), slog.LevelWarn, "credential refused",
		slog.String("request_id", requestID(r.Context())), slog.String("key_id", keyID),
		slog.String("reason", reasonOf(err)), slog.String("source", c.ClientIP.String()))
}

// allow applies the rate limits that concern the principal, answering 429 with Retry-After
// when one is exceeded: a stored key's maxQueriesPerIPPerHour (per user token when the
// request or the credential names one, else per client address), and a token's rateLimit
// (queries per minute per user).
func (s *Server) allow(w http.ResponseWriter, r *http.Request, p *auth.Principal) bool {
	if s.Limiter == nil || p.Unrestricted() {
		return true
	}
	type keyed struct {
		key   string
		limit ratelimit.Limit
		name  string // metrics label
	}
	var limits []keyed
	if n := p.Restrictions.MaxQueriesPerIPPerHour; n > 0 {
		who := p.Restrictions.UserToken
		if who == "" {
			who = r.Header.Get("X-Algolia-UserToken")
		}
		if who == "" {
			who = "ip:" + s.clientIP(r).String()
		} else {
			who = "user:" + who
		}
		limits = append(limits, keyed{"key:" + p.KeyID + ":" + who, ratelimit.Limit{Events: n, Per: time.Hour}, "key"})
	}
	if n := p.Restrictions.RateLimit; n > 0 {
		who := p.Restrictions.UserID
		if who == "" {
			who = p.Restrictions.UserToken
		}
		limits = append(limits, keyed{"tok:" + p.KeyID + ":" + who, ratelimit.Limit{Events: n, Per: time.Minute}, "token"})
	}
	for _, l := range limits {
		d := s.Limiter.Allow(l.key, l.limit)
		if !d.Allowed {
			s.Metrics.RateLimited(l.name)
			secs := int64(d.RetryAfter / time.Second)
			w.Header().Set("Retry-After", itoa(secs))
			s.writeError(w, r, errorf(errTooManyRequests, "Too many requests: rate limit of this key or token exceeded, retry in %d s", secs))
			return false
		}
	}
	return true
}

// reasonOf names the refusal for the audit log without any credential material.
func reasonOf(err error) string {
	_, msg := statusOf(err)
	return msg
}

// need wraps a handler with an ACL check.
func (s *Server) need(acl auth.ACL, h handlerFunc) http.Handler {
	return s.serve(func(w http.ResponseWriter, r *http.Request) error {
		if err := auth.CheckACL(principalOf(r), acl); err != nil {
			return err
		}
		return h(w, r)
	})
}

// handlerFunc is a handler that returns its error instead of writing it.
type handlerFunc func(w http.ResponseWriter, r *http.Request) error

// serve turns a handlerFunc into an http.HandlerFunc that answers its error through the one
// error table (writeError).
func (s *Server) serve(h handlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if err := h(w, r); err != nil {
			s.writeError(w, r, err)
		}
	}
}

// validator is implemented by request bodies that check their own limits (the number of
// operations of a batch, of queries in a multi-query...); decode calls it.
type validator interface {
	validate() error
}

// decode reads a JSON body (whatever its content type says) into v, capped in size. An empty
// body decodes as {} when allowEmpty. Invalid UTF-8 anywhere in the body is refused (the JSON
// decoder would silently replace it), naming where it is. When v is a validator, its limits
// are checked too.
func (s *Server) decode(w http.ResponseWriter, r *http.Request, v any, allowEmpty bool) error {
	body := http.MaxBytesReader(w, r.Body, s.MaxBodyBytes)
	b, err := io.ReadAll(body)
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return errorf(errBodyTooLarge, "request body larger than %d bytes", s.MaxBodyBytes)
		}
		return errorf(errBadRequest, "could not read the request body")
	}
	if len(strings.TrimSpace(string(b))) == 0 {
		if allowEmpty {
			b = []byte("{}")
		} else {
			return errorf(errBadJSON, "request body is empty, expected JSON")
		}
	}
	if !utf8.Valid(b) {
		return errorf(errBadRequest, "invalid UTF-8 in %s", invalidUTF8Path(b, ""))
	}
	dec := json.NewDecoder(strings.NewReader(string(b)))
	dec.UseNumber()
	if err := dec.Decode(v); err != nil {
		return errorf(errBadJSON, "malformed JSON body: %s", jsonErrText(err))
	}
	if dec.More() {
		return errorf(errBadJSON, "malformed JSON body: trailing data after the JSON value")
	}
	if vd, ok := v.(validator); ok {
		return vd.validate()
	}
	return nil
}

// invalidUTF8Path names the first member of a JSON body that holds invalid UTF-8
// ("requests[2].query"; path is the name so far, "" at the top), or "request body" when the
// body does not decode that far.
func invalidUTF8Path(b []byte, path string) string {
	var obj map[string]json.RawMessage
	if json.Unmarshal(b, &obj) == nil {
		keys := make([]string, 0, len(obj))
		for k := range obj {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			if !utf8.Valid(obj[k]) {
				name := k
				if path != "" {
					name = path + "." + k
				}
				return invalidUTF8Path(obj[k], name)
			}
		}
	} else {
		var arr []json.RawMessage
		if json.Unmarshal(b, &arr) == nil {
			for i, e := range arr {
				if !utf8.Valid(e) {
					return invalidUTF8Path(e, path+"["+itoa(int64(i))+"]")
				}
			}
		}
	}
	if path == "" {
		return "request body"
	}
	return path
}

func jsonErrText(err error) string {
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return se.Error() + " (at byte " + itoa(se.Offset) + ")"
	}
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		if te.Field != "" {
			return "field " + te.Field + " must be " + te.Type.String() + ", not " + te.Value
		}
		return "expected " + te.Type.String() + ", not " + te.Value
	}
	return err.Error()
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v)
}
