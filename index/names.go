package index

import (
	"encoding/hex"
	"strings"
	"unicode"
	"unicode/utf8"
)

// MaxNameBytes is the longest index name accepted, in bytes.
const MaxNameBytes = 100

// ValidateName reports whether name can name an index: 1 to 100 bytes of valid UTF-8, no
// control characters, no '/' or '\', not "." or "..", no '*' (it is the pattern character of key restrictions). The error wraps
// ErrInvalidName and says what is wrong. Names are case-sensitive: "Products" and "products"
// are two indexes.
func ValidateName(name string) error {
	switch {
	case name == "":
		return errorf(ErrInvalidName, "index name must not be empty")
	case len(name) > MaxNameBytes:
		return errorf(ErrInvalidName, "index name must be at most %d bytes, got %d", MaxNameBytes, len(name))
	case !utf8.ValidString(name):
		return errorf(ErrInvalidName, "index name must be valid UTF-8")
	case name == "." || name == "..":
		return errorf(ErrInvalidName, "index name must not be %q", name)
	case strings.Contains(name, "*"):
		return errorf(ErrInvalidName, "index name must not contain '*' (it is the wildcard of index patterns)")
	case strings.ContainsAny(name, `/\`):
		return errorf(ErrInvalidName, "index name must not contain '/' or '\\'")
	}
	for _, r := range name {
		if unicode.IsControl(r) {
			return errorf(ErrInvalidName, "index name must not contain control characters")
		}
	}
	return nil
}

// dirName maps a valid index name to its directory name: lowercase hex of its bytes, so no
// name can escape the indexes directory or collide with another on a case-insensitive disk.
func dirName(name string) string { return hex.EncodeToString([]byte(name)) }

// nameFromDir is the inverse of dirName; ok is false for directories that are not indexes.
func nameFromDir(dir string) (string, bool) {
	b, err := hex.DecodeString(dir)
	if err != nil || dir != hex.EncodeToString(b) || ValidateName(string(b)) != nil {
		return "", false
	}
	return string(b), true
}
