// Package jwks loads JSON Web Key Sets (a file, or an https URL refreshed in the background)
// into a jwt.Keyfunc, with github.com/MicahParks/keyfunc. It holds the HTTP side of identity
// providers so that package auth itself stays free of net/http (see auth.NewJWKSProvider).
package jwks

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/MicahParks/keyfunc/v3"
	"github.com/golang-jwt/jwt/v5"
	"golang.org/x/time/rate"
)

// Client is the HTTP client type that fetches a JWK Set; an alias, so that package auth can
// name it without importing net/http.
type Client = *http.Client

// Options say where a JWK Set comes from and how it is kept fresh.
type Options struct {
	// Name names the provider in logs.
	Name string
	// URL is the https URL of the JWK Set (http only to a loopback host). Exactly one of URL
	// and File is set.
	URL string
	// File is a file holding the JWK Set, read once.
	File string
	// RefreshInterval is how often the JWK Set is fetched again (0: one hour).
	RefreshInterval time.Duration
	// UnknownKIDRefreshEvery bounds the refreshes that tokens naming an unknown kid trigger:
	// at most one per this interval (0: one minute). Other unknown kids are refused at once
	// (or after a wait shorter than 10 s for the next allowed refresh).
	UnknownKIDRefreshEvery time.Duration
	// Logger receives failed refreshes, by provider name (nil: discard).
	Logger *slog.Logger
}

// MaxJWKSSize bounds a fetched or read JWK Set, in bytes.
const MaxJWKSSize = 1 << 20

// httpTimeout bounds one fetch of a JWK Set (and the wait for an unknown-kid refresh).
const httpTimeout = 10 * time.Second

// NewKeyfunc returns a jwt.Keyfunc over the JWK Set of a file or URL, built with
// github.com/MicahParks/keyfunc. A URL is fetched now (an error if that fails), then again
// every RefreshInterval in a goroutine that ends with ctx, and at most once per
// UnknownKIDRefreshEvery when a token names a kid that the set lacks. client is the HTTP
// client for the URL (nil: one with a 10 s timeout); responses over MaxJWKSSize fail.
func NewKeyfunc(ctx context.Context, o Options, client Client) (jwt.Keyfunc, error) {
	if (o.URL == "") == (o.File == "") {
		return nil, errors.New("set exactly one of the JWKS URL and the JWKS file")
	}
	log := o.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if o.File != "" {
		f, err := os.Open(o.File)
		if err != nil {
			return nil, err
		}
		defer f.Close()
		raw, err := io.ReadAll(io.LimitReader(f, MaxJWKSSize+1))
		if err != nil {
			return nil, err
		}
		if len(raw) > MaxJWKSSize {
			return nil, fmt.Errorf("JWKS file larger than %d bytes", MaxJWKSSize)
		}
		kf, err := keyfunc.NewJWKSetJSON(raw)
		if err != nil {
			return nil, fmt.Errorf("JWKS file: %w", err)
		}
		return kf.Keyfunc, nil
	}
	if err := CheckJWKSURL(o.URL); err != nil {
		return nil, err
	}
	if client == nil {
		client = &http.Client{Timeout: httpTimeout}
	}
	limited := *client
	base := limited.Transport
	if base == nil {
		base = http.DefaultTransport
	}
	limited.Transport = limitTransport{base: base}
	interval := o.RefreshInterval
	if interval <= 0 {
		interval = time.Hour
	}
	every := o.UnknownKIDRefreshEvery
	if every <= 0 {
		every = time.Minute
	}
	fatal := false
	kf, err := keyfunc.NewDefaultOverrideCtx(ctx, []string{o.URL}, keyfunc.Override{
		Client:                    &limited,
		HTTPTimeout:               httpTimeout,
		NoErrorReturnFirstHTTPReq: &fatal,
		// The wait for the unknown-kid limiter, and the refresh it allows, share this bound.
		RateLimitWaitMax:  httpTimeout,
		RefreshInterval:   interval,
		RefreshUnknownKID: rate.NewLimiter(rate.Every(every), 1),
		RefreshErrorHandlerFunc: func(string) func(context.Context, error) {
			return func(ctx context.Context, err error) {
				log.WarnContext(ctx, "identity provider JWKS refresh failed", "provider", o.Name, "error", err)
			}
		},
	})
	if err != nil {
		return nil, fmt.Errorf("JWKS URL: %w", err)
	}
	return kf.Keyfunc, nil
}

// CheckJWKSURL accepts an https URL, or an http URL whose host is loopback (localhost,
// 127.0.0.0/8, ::1). Keys fetched over plain HTTP can be replaced by anyone on the path, who
// could then sign tokens that keyhole accepts; a loopback connection never leaves the host.
func CheckJWKSURL(s string) error {
	u, err := url.Parse(s)
	if err != nil {
		return fmt.Errorf("JWKS URL does not parse")
	}
	if u.Host == "" || u.User != nil {
		return errors.New("JWKS URL needs a host and no user information")
	}
	switch u.Scheme {
	case "https":
		return nil
	case "http":
		if IsLoopbackHost(u.Hostname()) {
			return nil
		}
		return errors.New("JWKS URL must be https (http only to a loopback host): keys fetched in clear can be swapped")
	}
	return errors.New("JWKS URL must be https")
}

// IsLoopbackHost reports whether host is "localhost" or a loopback IP address.
func IsLoopbackHost(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// limitTransport fails responses whose body exceeds MaxJWKSSize.
type limitTransport struct{ base http.RoundTripper }

// RoundTrip implements http.RoundTripper.
func (t limitTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := t.base.RoundTrip(req)
	if err != nil {
		return nil, err
	}
	resp.Body = &limitedBody{rc: resp.Body, left: MaxJWKSSize}
	return resp, nil
}

type limitedBody struct {
	rc   io.ReadCloser
	left int64
}

func (b *limitedBody) Read(p []byte) (int, error) {
	if b.left <= 0 {
		return 0, fmt.Errorf("JWKS response larger than %d bytes", MaxJWKSSize)
	}
	if int64(len(p)) > b.left {
		p = p[:b.left]
	}
	n, err := b.rc.Read(p)
	b.left -= int64(n)
	return n, err
}

func (b *limitedBody) Close() error { return b.rc.Close() }
