package auth

import (
	"errors"
)

// Refusals. Authenticate, CheckIndex and CheckACL return them wrapped in a *RefusedError;
// callers test them with errors.Is and map them to a status and a message in one table. The
// text of each sentinel is Algolia's message where Algolia has one. No message ever holds a
// key's value or its filters.
var (
	// ErrInvalidCredentials refuses an unknown, forged, malformed or deleted key, a missing
	// key, or a request naming another application id (Algolia: 403).
	ErrInvalidCredentials = errors.New("Invalid Application-ID or API key")
	// ErrExpired refuses a secured key past its validUntil or a stored key past its validity
	// (Algolia: 400).
	ErrExpired = errors.New("validUntil parameter expired (less than current date)")
	// ErrSourceNotAllowed refuses a client address outside the key's restrictSources (403).
	ErrSourceNotAllowed = errors.New("Source not allowed with this API key")
	// ErrRefererNotAllowed refuses a request whose Referer matches none of the key's referers,
	// or that has none when the key names some (403).
	ErrRefererNotAllowed = errors.New("Referer not allowed with this API key")
	// ErrInvalidRestrictions refuses a key whose signature verifies but whose restrictions do
	// not parse: keyhole fails closed rather than ignore a restriction it cannot read. The
	// wrapping error names the parameter (never its value) (400).
	ErrInvalidRestrictions = errors.New("Invalid restrictions in API key")
	// ErrParentNotSearch refuses a secured key whose parent key lacks the search ACL (403).
	ErrParentNotSearch = errors.New("The parent API key of a secured API key must have the search ACL")
	// ErrIndexNotAllowed refuses access to an index the principal may not touch (403).
	ErrIndexNotAllowed = errors.New("Index not allowed with this API key")
	// ErrMethodNotAllowed refuses an operation the principal's ACL does not grant (403).
	ErrMethodNotAllowed = errors.New("Method not allowed with this API key")
)

// ErrInvalidToken is matched (errors.Is) by every token refusal below, so that one row of an
// error table can map them all (a 401 or 403); each has its own sentinel for tests and logs.
// Token refusals never quote the token or its claims.
var ErrInvalidToken = errors.New("invalid token")

// tokenError is a token refusal sentinel: it is itself and also ErrInvalidToken.
type tokenError struct{ msg string }

// Error returns the refusal's message.
func (e *tokenError) Error() string { return e.msg }

// Is reports whether target is ErrInvalidToken (identity is checked by errors.Is itself).
func (e *tokenError) Is(target error) bool { return target == ErrInvalidToken }

// Token refusals. Authenticate and AuthenticateToken return them wrapped in a *RefusedError;
// errors.Is(err, ErrInvalidToken) holds for each. A claim of the wrong type is refused with
// ErrInvalidRestrictions instead, naming the claim.
var (
	// ErrTokenMalformed refuses text that is not a compact JWT (three base64url segments with
	// JSON header and claims), or a header with a "crit" member.
	ErrTokenMalformed error = &tokenError{"malformed token"}
	// ErrTokenTooLong refuses a token longer than MaxTokenLength before any work.
	ErrTokenTooLong error = &tokenError{"token too long (more than 8 KiB)"}
	// ErrTokenAlgorithm refuses "alg": "none", an unknown algorithm, and an algorithm not
	// pinned for the key that would check it (an HS* token claiming an identity provider's
	// issuer, an RS*/ES*/EdDSA token naming an API key): method confusion.
	ErrTokenAlgorithm error = &tokenError{"token signing algorithm not allowed for its key"}
	// ErrTokenKeyID refuses a "kid" (or "apiKeyUid") outside [A-Za-z0-9._-]{1,128} or holding
	// "..": a key id is never a path or a URL.
	ErrTokenKeyID error = &tokenError{"token key id must be 1 to 128 letters, digits, '.', '_' or '-'"}
	// ErrTokenUnknownKey refuses a token naming no live signing key (unknown, deleted, or no
	// key named at all and no default), or an identity provider token whose kid its JWKS lacks.
	ErrTokenUnknownKey error = &tokenError{"token signing key not found"}
	// ErrTokenSignature refuses a token whose signature does not verify with its key.
	ErrTokenSignature error = &tokenError{"token signature is invalid"}
	// ErrTokenNoExpiry refuses a token without an "exp" claim.
	ErrTokenNoExpiry error = &tokenError{"token has no exp claim"}
	// ErrTokenMilliseconds refuses an "exp", "nbf" or "iat" above 1e11: almost surely
	// milliseconds where JWT times are seconds.
	ErrTokenMilliseconds error = &tokenError{"token exp, nbf or iat looks like milliseconds: JWT times are Unix seconds"}
	// ErrTokenExpired refuses a token past its "exp" (plus the leeway).
	ErrTokenExpired error = &tokenError{"token expired"}
	// ErrTokenNotYetValid refuses a token whose "nbf" or "iat" is in the future (beyond the
	// leeway).
	ErrTokenNotYetValid error = &tokenError{"token not valid yet (nbf or iat in the future)"}
	// ErrTokenLifetime refuses a token whose exp is too far after its iat (or, without iat,
	// after now): see VerifierOptions.MaxTokenLifetime.
	ErrTokenLifetime error = &tokenError{"token lifetime too long (exp too far after iat)"}
	// ErrTokenKeyNotSearch refuses a token signed by a key without the search ACL.
	ErrTokenKeyNotSearch error = &tokenError{"token signing key must have the search ACL"}
	// ErrTokenRevoked refuses a token whose jti is revoked, or whose subject's tokens issued
	// before some time are (see KeyStore.RevokeToken and RevokeUser).
	ErrTokenRevoked error = &tokenError{"token revoked"}
	// ErrTokenIssuer refuses an RS*/ES*/EdDSA token whose "iss" is no configured identity
	// provider's issuer.
	ErrTokenIssuer error = &tokenError{"token issuer not accepted"}
	// ErrTokenAudience refuses an identity provider token whose "aud" names none of the
	// provider's audiences.
	ErrTokenAudience error = &tokenError{"token audience not accepted"}
	// ErrTokenPublicKey refuses a token whose "public_key" claim is not the site key the
	// request names (AddSearch tokens, see TokenOptions.PublicKey).
	ErrTokenPublicKey error = &tokenError{"token public_key does not match the site key"}
	// ErrTokenKeyMismatch refuses a request that sends an API key along with a token when the
	// API key is not the token's own signing key (or is another token).
	ErrTokenKeyMismatch error = &tokenError{"an API key sent with a token must be the token's signing key"}
)

// Errors of the key store and of the secured key helpers.
var (
	// ErrKeyNotFound says no live (or, for Restore, recently deleted) key has that value (404).
	ErrKeyNotFound = errors.New("Key does not exist")
	// ErrKeyExists refuses CreateWithValue for a value some key (live or deleted) already has.
	ErrKeyExists = errors.New("Key already exists")
	// ErrInvalidKeySpec refuses a KeySpec; the wrapping error names the field (400).
	ErrInvalidKeySpec = errors.New("invalid API key specification")
	// ErrNoValidUntil says a secured key carries no validUntil (SecuredKeyRemainingValidity).
	ErrNoValidUntil = errors.New("secured API key has no validUntil")
	// ErrStoreClosed is returned by a KeyStore method called after Close.
	ErrStoreClosed = errors.New("key store is closed")
)

// RefusedError is a refusal of credentials or of an operation. KeyID names the key involved
// ("" when no key was identified) so that it can be logged; Reason wraps one of the sentinel
// errors. Error returns the reason's text only, which never holds a key value or filters.
type RefusedError struct {
	KeyID  string
	Reason error
}

// Error returns the reason's message.
func (e *RefusedError) Error() string { return e.Reason.Error() }

// Unwrap returns the reason, so that errors.Is finds the sentinel.
func (e *RefusedError) Unwrap() error { return e.Reason }

func refuse(keyID string, reason error) error {
	return &RefusedError{KeyID: keyID, Reason: reason}
}

// CheckIndex returns nil when the principal may touch the named index, otherwise a
// *RefusedError wrapping ErrIndexNotAllowed.
func (p *Principal) CheckIndex(name string) error {
	if p.IndexAllowed(name) {
		return nil
	}
	return refuse(p.KeyID, ErrIndexNotAllowed)
}

// CheckACL returns nil when the principal holds every right in need, otherwise a
// *RefusedError wrapping ErrMethodNotAllowed. A nil principal holds no right.
func CheckACL(p *Principal, need ACL) error {
	if p != nil && p.Can(need) {
		return nil
	}
	id := ""
	if p != nil {
		id = p.KeyID
	}
	return refuse(id, ErrMethodNotAllowed)
}
