package auth

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/keyhole-search/keyhole/auth/jwks"
	"github.com/keyhole-search/keyhole/query/filter"
)

// Provider is an identity provider whose tokens (RS*, PS*, ES* or EdDSA, never HS*) are
// accepted: a token whose "iss" is Issuer is checked only with Keyfunc's keys. Its principal
// is KindToken with KeyID "idp:"+Name and the search ACL only.
type Provider struct {
	// Name identifies the provider in principals and logs.
	Name string
	// Issuer is the exact "iss" of the provider's tokens (required, unique).
	Issuer string
	// Audience, when not empty, lists the accepted "aud" values: a token must name one.
	Audience []string
	// Indexes are the index names and patterns the provider's tokens may read (the first
	// restrictions layer). Empty: none (use "*" for all).
	Indexes []string
	// Filters is an Algolia filter forced on every token of the provider ("" for none). If it
	// does not parse, the provider's tokens are refused (ErrInvalidRestrictions).
	Filters string
	// Keyfunc returns the public key for a token (see NewJWKSProvider).
	Keyfunc jwt.Keyfunc
}

// ProviderConfig describes an identity provider whose keys NewJWKSProvider loads.
type ProviderConfig struct {
	// Name, Issuer, Audience, Indexes and Filters are as in Provider.
	Name     string
	Issuer   string
	Audience []string
	Indexes  []string
	Filters  string
	// JWKSURL is the https URL of the provider's JWK Set (http only to a loopback host, see
	// jwks.CheckJWKSURL). Exactly one of JWKSURL and JWKSFile is set.
	JWKSURL string
	// JWKSFile is a file holding the JWK Set, read once.
	JWKSFile string
	// RefreshInterval is how often the JWK Set is fetched again (0: one hour).
	RefreshInterval time.Duration
	// UnknownKIDRefreshEvery bounds the refreshes that tokens naming an unknown kid trigger:
	// at most one per this interval (0: one minute); other unknown kids are refused.
	UnknownKIDRefreshEvery time.Duration
	// Logger receives failed refreshes, by provider name (nil: discard).
	Logger *slog.Logger
}

// NewJWKSProvider builds a Provider whose keys come from a JWK Set file or URL (with
// github.com/MicahParks/keyfunc, see jwks.NewKeyfunc): a URL is fetched now (an error if that
// fails), refreshed every RefreshInterval until ctx ends, and at most once per
// UnknownKIDRefreshEvery for a token naming an unknown kid. client is an *http.Client for the
// URL (nil: one with a 10 s timeout). A Filters that does not parse is an error here.
func NewJWKSProvider(ctx context.Context, cfg ProviderConfig, client jwks.Client) (Provider, error) {
	fail := func(format string, args ...any) (Provider, error) {
		return Provider{}, fmt.Errorf("identity provider %q: %s", cfg.Name, fmt.Sprintf(format, args...))
	}
	switch {
	case !validKeyID(cfg.Name):
		return fail("name must be 1 to 128 letters, digits, '.', '_' or '-'")
	case cfg.Issuer == "":
		return fail("issuer is required")
	}
	if strings.TrimSpace(cfg.Filters) != "" {
		if _, err := filter.Parse(cfg.Filters); err != nil {
			return fail("filters: %s", describeFilterError(err))
		}
	}
	kf, err := jwks.NewKeyfunc(ctx, jwks.Options{
		Name: cfg.Name, URL: cfg.JWKSURL, File: cfg.JWKSFile, RefreshInterval: cfg.RefreshInterval,
		UnknownKIDRefreshEvery: cfg.UnknownKIDRefreshEvery, Logger: cfg.Logger,
	}, client)
	if err != nil {
		return fail("%v", err)
	}
	return Provider{
		Name: cfg.Name, Issuer: cfg.Issuer, Audience: cfg.Audience, Indexes: cfg.Indexes,
		Filters: cfg.Filters, Keyfunc: kf,
	}, nil
}
