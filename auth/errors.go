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
