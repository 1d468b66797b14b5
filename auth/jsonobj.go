package auth

import (
	"encoding/json"
	"slices"
	"strings"
	"unicode/utf8"
)

// member is one member of a JSON object: its name (unescaped) and its value, raw.
type member struct {
	name string
	val  json.RawMessage
}

// members is a JSON object's members sorted by name, each name once.
type members []member

// get returns the value of the named member.
func (ms members) get(name string) (json.RawMessage, bool) {
	i, ok := slices.BinarySearchFunc(ms, name, func(m member, n string) int { return strings.Compare(m.name, n) })
	if !ok {
		return nil, false
	}
	return ms[i].val, true
}

// objectMembers reads the members of a JSON object as encoding/json would into a
// map[string]json.RawMessage (names unescaped; of a repeated name, the last value), sorted by
// name. ok is false, as json.Unmarshal would fail or give a nil map, when b is not a valid
// JSON object (space around it allowed). The values alias b.
func objectMembers(b []byte) (ms members, ok bool) {
	ms, _, ok = readObject(b, make(members, 0, 8))
	return ms, ok
}

// readObject is objectMembers appending to ms[:0] (so that a caller can offer an array of
// its own), also returning how many members b has, repeats included.
func readObject(b []byte, ms members) (_ members, n int, ok bool) {
	ms = ms[:0]
	i := skipSpace(b, 0)
	if i >= len(b) || b[i] != '{' {
		return nil, 0, false
	}
	i = skipSpace(b, i+1)
	if i < len(b) && b[i] == '}' {
		if skipSpace(b, i+1) != len(b) {
			return nil, 0, false
		}
		return ms, 0, true
	}
	for i < len(b) {
		j, ok := validString(b, i)
		if !ok {
			return nil, 0, false
		}
		name, ok := unquote(b[i:j])
		if !ok {
			return nil, 0, false
		}
		i = skipSpace(b, j)
		if i >= len(b) || b[i] != ':' {
			return nil, 0, false
		}
		i = skipSpace(b, i+1)
		k, ok := validValue(b, i, 1)
		if !ok {
			return nil, 0, false
		}
		ms = append(ms, member{name: name, val: b[i:k]})
		i = skipSpace(b, k)
		if i < len(b) && b[i] == ',' {
			i = skipSpace(b, i+1)
			continue
		}
		if i < len(b) && b[i] == '}' && skipSpace(b, i+1) == len(b) {
			break
		}
		return nil, 0, false
	}
	if i >= len(b) {
		return nil, 0, false
	}
	n = len(ms)
	// Sorted by name; of equal names the later one wins, as in a map.
	slices.SortStableFunc(ms, func(a, b member) int { return strings.Compare(a.name, b.name) })
	out := ms[:0]
	for k, m := range ms {
		if k+1 < len(ms) && ms[k+1].name == m.name {
			continue
		}
		out = append(out, m)
	}
	return out, n, true
}

func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

// unquote decodes a JSON string (quotes included) as encoding/json does.
func unquote(q []byte) (string, bool) {
	if n := len(q); n >= 2 && q[0] == '"' && q[n-1] == '"' {
		in := q[1 : n-1]
		plain := true
		for _, c := range in {
			if c == '\\' || c == '"' || c < 0x20 {
				plain = false
				break
			}
		}
		if plain {
			if s, ok := knownName(in); ok {
				return s, true // no copy of a claim name we read
			}
			if utf8.Valid(in) {
				return string(in), true
			}
		}
	}
	var s string
	if err := json.Unmarshal(q, &s); err != nil {
		return "", false
	}
	return s, true
}

// knownName returns the claim or header name in, when it is one the verifier reads, without
// copying it (a switch on string(in) does not allocate).
func knownName(in []byte) (string, bool) {
	switch string(in) {
	case "alg":
		return "alg", true
	case "kid":
		return "kid", true
	case "typ":
		return "typ", true
	case "cty":
		return "cty", true
	case "exp":
		return "exp", true
	case "nbf":
		return "nbf", true
	case "iat":
		return "iat", true
	case "iss":
		return "iss", true
	case "sub":
		return "sub", true
	case "aud":
		return "aud", true
	case "jti":
		return "jti", true
	case "apiKeyUid":
		return "apiKeyUid", true
	case "public_key":
		return "public_key", true
	case "filters":
		return "filters", true
	case "facetFilters":
		return "facetFilters", true
	case "numericFilters":
		return "numericFilters", true
	case "tagFilters":
		return "tagFilters", true
	case "userToken":
		return "userToken", true
	case "maxHitsPerQuery":
		return "maxHitsPerQuery", true
	case "attributesToRetrieve":
		return "attributesToRetrieve", true
	case "searchParams":
		return "searchParams", true
	case "restrictIndices":
		return "restrictIndices", true
	case "searchRules":
		return "searchRules", true
	case "rateLimit":
		return "rateLimit", true
	case "validUntil":
		return "validUntil", true
	case "restrictSources":
		return "restrictSources", true
	case "referers":
		return "referers", true
	case "filter":
		return "filter", true
	case "hitsPerPage":
		return "hitsPerPage", true
	}
	return "", false
}

// maxJSONDepth is encoding/json's nesting limit.
const maxJSONDepth = 10000

// validValue checks the value at b[i] and returns the index after it.
func validValue(b []byte, i, depth int) (int, bool) {
	if i >= len(b) {
		return i, false
	}
	switch c := b[i]; {
	case c == '"':
		return validString(b, i)
	case c == '{' || c == '[':
		if depth >= maxJSONDepth {
			return i, false
		}
		closer := byte('}')
		if c == '[' {
			closer = ']'
		}
		i = skipSpace(b, i+1)
		if i < len(b) && b[i] == closer {
			return i + 1, true
		}
		for {
			var ok bool
			if c == '{' {
				if i, ok = validString(b, i); !ok {
					return i, false
				}
				if i = skipSpace(b, i); i >= len(b) || b[i] != ':' {
					return i, false
				}
				i = skipSpace(b, i+1)
			}
			if i, ok = validValue(b, i, depth+1); !ok {
				return i, false
			}
			i = skipSpace(b, i)
			if i >= len(b) {
				return i, false
			}
			switch b[i] {
			case ',':
				i = skipSpace(b, i+1)
			case closer:
				return i + 1, true
			default:
				return i, false
			}
		}
	case c == 't':
		return validLiteral(b, i, "true")
	case c == 'f':
		return validLiteral(b, i, "false")
	case c == 'n':
		return validLiteral(b, i, "null")
	}
	return validNumber(b, i)
}

func validLiteral(b []byte, i int, lit string) (int, bool) {
	if len(b)-i < len(lit) || string(b[i:i+len(lit)]) != lit {
		return i, false
	}
	return i + len(lit), true
}

// validString checks the string at b[i] (as encoding/json: no control characters, known
// escapes; any other byte, valid UTF-8 or not).
func validString(b []byte, i int) (int, bool) {
	if i >= len(b) || b[i] != '"' {
		return i, false
	}
	for i++; i < len(b); i++ {
		switch c := b[i]; {
		case c == '"':
			return i + 1, true
		case c < 0x20:
			return i, false
		case c == '\\':
			i++
			if i >= len(b) {
				return i, false
			}
			switch b[i] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
			case 'u':
				if len(b)-i < 5 {
					return i, false
				}
				for _, h := range b[i+1 : i+5] {
					if !('0' <= h && h <= '9' || 'a' <= h && h <= 'f' || 'A' <= h && h <= 'F') {
						return i, false
					}
				}
				i += 4
			default:
				return i, false
			}
		}
	}
	return i, false
}

// validNumber checks -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)? at b[i].
func validNumber(b []byte, i int) (int, bool) {
	digits := func(i int) (int, bool) {
		j := i
		for j < len(b) && '0' <= b[j] && b[j] <= '9' {
			j++
		}
		return j, j > i
	}
	if i < len(b) && b[i] == '-' {
		i++
	}
	if i >= len(b) {
		return i, false
	}
	var ok bool
	if b[i] == '0' {
		i++
	} else if i, ok = digits(i); !ok {
		return i, false
	}
	if i < len(b) && b[i] == '.' {
		if i, ok = digits(i + 1); !ok {
			return i, false
		}
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		if i, ok = digits(i); !ok {
			return i, false
		}
	}
	return i, true
}
