package auth

import (
	"encoding/json"
	"strings"
	"testing"
)

// FuzzObjectMembers checks objectMembers against encoding/json decoding the same document
// into a map[string]json.RawMessage: refused alike, else same names, same raw values.
func FuzzObjectMembers(f *testing.F) {
	for _, s := range []string{
		`{}`, ` { "a" : 1 , "b":[1,{"c":"]}"}] } `, `{"a":1,"a":2}`, `{"\u0061":"x","a":"y"}`,
		`{"k\"q":"v\\"}`, `{"x":{"y":{"z":null}},"w":true,"v":-1.5e3}`, `[]`, `null`, `"s"`, `1`,
		"{\"\xff\":1,\"\xfe\":2}", `{"é":"ü","":""}`, `{"a":1}}`, `{"a":1`, `{"a":01}`, `{"a":[}`, `{}x`, ` {} `,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		b := []byte(s)
		var want map[string]json.RawMessage
		err := json.Unmarshal(b, &want)
		got, ok := objectMembers(b)
		if ok != (err == nil && want != nil) {
			t.Fatalf("%q: ok = %v, encoding/json: %v, %v", s, ok, err, want)
		}
		if !ok {
			return
		}
		if len(got) != len(want) {
			t.Fatalf("%q: %d members, encoding/json %d", s, len(got), len(want))
		}
		for i, m := range got {
			if i > 0 && got[i-1].name >= m.name {
				t.Fatalf("%q: members not sorted and unique", s)
			}
			if w, ok := want[m.name]; !ok || string(w) != string(m.val) {
				t.Fatalf("%q: member %q = %s, encoding/json %s", s, m.name, m.val, w)
			}
			if v, ok := got.get(m.name); !ok || string(v) != string(m.val) {
				t.Fatalf("%q: get(%q) = %s", s, m.name, v)
			}
		}
	})
}

// FuzzJSONString checks jsonString against encoding/json on valid JSON values (as callers
// pass them: without surrounding space).
func FuzzJSONString(f *testing.F) {
	for _, s := range []string{`"a"`, `"a\"b"`, "\"\xff\"", `"\u00e9"`, `""`, `1`, `null`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		s = strings.TrimSpace(s)
		if !json.Valid([]byte(s)) {
			return
		}
		var want string
		err := json.Unmarshal([]byte(s), &want)
		got, ok := jsonString([]byte(s))
		if s == "null" {
			return // encoding/json leaves the string alone: callers check null first
		}
		if ok != (err == nil) || got != want {
			t.Fatalf("%q: %q, %v; encoding/json %q, %v", s, got, ok, want, err)
		}
	})
}

// FuzzValidJSON checks validJSON against encoding/json.Valid.
func FuzzValidJSON(f *testing.F) {
	for _, s := range []string{
		`{}`, `[]`, ` {"a" : [1, -0.5e+3, true, false, null, "x\u00e9\n"]} `, `{"a":}`, `[1,]`, `01`, `-`,
		`1.`, `1e`, `"\x"`, "\"\x01\"", "\"\xff\"", `{"a" 1}`, `[1 2]`, `nul`, `"\u12"`, `{"a":1}x`,
		strings.Repeat("[", 10001) + strings.Repeat("]", 10001), strings.Repeat("[", 10000) + strings.Repeat("]", 10000),
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if got, want := validJSON([]byte(s)), json.Valid([]byte(s)); got != want {
			t.Fatalf("validJSON(%q) = %v, encoding/json %v", s, got, want)
		}
	})
}

// validJSON reports whether b is one valid JSON value (surrounded by optional space) with
// validValue, the checker behind objectMembers.
func validJSON(b []byte) bool {
	i, ok := validValue(b, skipSpace(b, 0), 0)
	return ok && skipSpace(b, i) == len(b)
}
