package auth

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/keyhole-search/keyhole/query/filter"
)

// TokenClaims are the restrictions of a token to mint with GenerateToken. Every field is
// optional; each only narrows what the signing key allows.
type TokenClaims struct {
	// Subject is the user id ("sub"): indexes with a userAttribute show only that user's
	// records, and indexes without one refuse the token unless SearchRules or RestrictIndices
	// name them exactly.
	Subject string
	// Filters is an Algolia filter ANDed with every search.
	Filters string
	// RestrictIndices are index names and patterns the token may read.
	RestrictIndices []string
	// SearchRules maps index patterns to a Meilisearch filter (Meilisearch's searchRules
	// object; an empty Filter means the pattern is allowed without a filter).
	SearchRules map[string]SearchRule
	// UserToken binds the token to an analytics user token.
	UserToken string
	// RateLimit, when above 0, is the most queries per minute for the token's user.
	RateLimit int
}

// SearchRule is one rule of TokenClaims.SearchRules.
type SearchRule struct {
	// Filter is a Meilisearch filter expression ("" for none).
	Filter string
}

// GenerateToken mints an HS256 token for Go backends: signed with key.Value, header kid =
// key.ID, claims sub, filters, restrictIndices, searchRules, userToken, rateLimit, a random
// jti, iat = now and exp = now + ttl. ttl must be positive and should not exceed the
// verifier's MaxTokenLifetime (24 h by default), or the token is refused. The filters are
// parsed first, so a token that would be refused for them is never minted.
func GenerateToken(key Key, claims TokenClaims, ttl time.Duration, now time.Time) (string, error) {
	switch {
	case key.Value == "" || !validKeyID(key.ID):
		return "", errors.New("generate token: the key needs a value and an id")
	case ttl <= 0:
		return "", errors.New("generate token: ttl must be positive")
	}
	var jtiBytes [16]byte
	if _, err := rand.Read(jtiBytes[:]); err != nil {
		return "", fmt.Errorf("generate token: %w", err)
	}
	mc := jwt.MapClaims{
		"jti": hex.EncodeToString(jtiBytes[:]),
		"iat": now.Unix(),
		"exp": now.Add(ttl).Unix(),
	}
	if claims.Subject != "" {
		mc["sub"] = claims.Subject
	}
	if strings.TrimSpace(claims.Filters) != "" {
		if _, err := filter.Parse(claims.Filters); err != nil {
			return "", fmt.Errorf("generate token: filters: %s", describeFilterError(err))
		}
		mc["filters"] = claims.Filters
	}
	if len(claims.RestrictIndices) > 0 {
		mc["restrictIndices"] = claims.RestrictIndices
	}
	if len(claims.SearchRules) > 0 {
		rules := map[string]any{}
		for pattern, rule := range claims.SearchRules {
			if strings.TrimSpace(pattern) == "" {
				return "", errors.New("generate token: searchRules: empty index pattern")
			}
			if strings.TrimSpace(rule.Filter) == "" {
				rules[pattern] = map[string]any{}
				continue
			}
			if _, err := filter.ParseMeili(rule.Filter); err != nil {
				return "", fmt.Errorf("generate token: searchRules: %s", describeFilterError(err))
			}
			rules[pattern] = map[string]any{"filter": rule.Filter}
		}
		mc["searchRules"] = rules
	}
	if claims.UserToken != "" {
		mc["userToken"] = claims.UserToken
	}
	if claims.RateLimit < 0 {
		return "", errors.New("generate token: rateLimit must not be negative")
	}
	if claims.RateLimit > 0 {
		mc["rateLimit"] = claims.RateLimit
	}
	t := jwt.NewWithClaims(jwt.SigningMethodHS256, mc)
	t.Header["kid"] = key.ID
	s, err := t.SignedString([]byte(key.Value))
	if err != nil {
		return "", fmt.Errorf("generate token: %w", err)
	}
	return s, nil
}
