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
// name. b must be valid JSON (checked by the caller, or a value taken from a checked
// document); ok is false when it is not an object. The values alias b.
func objectMembers(b []byte) (ms members, ok bool) {
	i := skipSpace(b, 0)
	if i >= len(b) || b[i] != '{' {
		return nil, false
	}
	ms = make(members, 0, 8)
	i = skipSpace(b, i+1)
	if i < len(b) && b[i] == '}' {
		return ms, true
	}
	for i < len(b) {
		j := endOfString(b, i)
		if j < 0 {
			return nil, false
		}
		name, ok := unquote(b[i:j])
		if !ok {
			return nil, false
		}
		i = skipSpace(b, j)
		if i >= len(b) || b[i] != ':' {
			return nil, false
		}
		i = skipSpace(b, i+1)
		k := endOfValue(b, i)
		if k < 0 {
			return nil, false
		}
		ms = append(ms, member{name: name, val: b[i:k]})
		i = skipSpace(b, k)
		if i < len(b) && b[i] == ',' {
			i = skipSpace(b, i+1)
			continue
		}
		if i < len(b) && b[i] == '}' {
			break
		}
		return nil, false
	}
	// Sorted by name; of equal names the later one wins, as in a map.
	slices.SortStableFunc(ms, func(a, b member) int { return strings.Compare(a.name, b.name) })
	out := ms[:0]
	for k, m := range ms {
		if k+1 < len(ms) && ms[k+1].name == m.name {
			continue
		}
		out = append(out, m)
	}
	return out, true
}

func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

// endOfString returns the index just after the string starting at b[i] ('"'), or -1.
func endOfString(b []byte, i int) int {
	if i >= len(b) || b[i] != '"' {
		return -1
	}
	for i++; i < len(b); i++ {
		switch b[i] {
		case '\\':
			i++
		case '"':
			return i + 1
		}
	}
	return -1
}

// endOfValue returns the index just after the value starting at b[i], or -1.
func endOfValue(b []byte, i int) int {
	if i >= len(b) {
		return -1
	}
	switch b[i] {
	case '"':
		return endOfString(b, i)
	case '{', '[':
		depth := 0
		for ; i < len(b); i++ {
			switch b[i] {
			case '"':
				j := endOfString(b, i)
				if j < 0 {
					return -1
				}
				i = j - 1
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					return i + 1
				}
			}
		}
		return -1
	}
	j := i
	for j < len(b) && !strings.ContainsRune(",}] \t\r\n", rune(b[j])) {
		j++
	}
	if j == i {
		return -1
	}
	return j
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
		if plain && utf8.Valid(in) {
			return string(in), true
		}
	}
	var s string
	if err := json.Unmarshal(q, &s); err != nil {
		return "", false
	}
	return s, true
}
