package index

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"math"
	"strconv"
)

// Action is what a write operation does.
type Action int

// The write actions (Algolia's batch actions).
const (
	// ActionAddObject adds a record; without an objectID one is generated.
	ActionAddObject Action = iota + 1
	// ActionUpdateObject replaces the whole record (creating it if missing).
	ActionUpdateObject
	// ActionPartialUpdate merges top-level attributes into the record, creating it if missing.
	ActionPartialUpdate
	// ActionPartialUpdateNoCreate merges top-level attributes; nothing happens when missing.
	ActionPartialUpdateNoCreate
	// ActionDelete deletes one record (deleting a missing record is not an error).
	ActionDelete
	// ActionClear deletes every record of the index.
	ActionClear
)

// String returns Algolia's name of the action.
func (a Action) String() string {
	switch a {
	case ActionAddObject:
		return "addObject"
	case ActionUpdateObject:
		return "updateObject"
	case ActionPartialUpdate:
		return "partialUpdateObject"
	case ActionPartialUpdateNoCreate:
		return "partialUpdateObjectNoCreate"
	case ActionDelete:
		return "deleteObject"
	case ActionClear:
		return "clear"
	}
	return "Action(" + strconv.Itoa(int(a)) + ")"
}

// ParseAction maps Algolia's batch action names to an Action.
func ParseAction(name string) (Action, bool) {
	for a := ActionAddObject; a <= ActionClear; a++ {
		if a.String() == name {
			return a, true
		}
	}
	return 0, false
}

// Op is one write operation. ObjectID, when set, wins over Body's objectID. Body holds the
// record (or, for partial updates, the attributes to merge, possibly as built-in operations
// {"_operation": "Increment", "value": 1}). Body values may be any Go values that encode to
// JSON; numbers keep their digits when they are json.Number.
type Op struct {
	Action   Action
	ObjectID string
	Body     map[string]any
}

// newObjectID returns a random objectID.
func newObjectID() string {
	var b [12]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// applyPartial merges attrs into rec (which it modifies). It returns false when an
// IncrementFrom or IncrementSet condition fails: the whole update must then be ignored.
// created tells whether rec did not exist before this update.
func applyPartial(rec, attrs map[string]any, created bool) (bool, error) {
	for k, v := range attrs {
		if k == "objectID" {
			continue
		}
		op, ok := v.(map[string]any)
		name, isOp := op["_operation"].(string)
		if !ok || !isOp {
			rec[k] = v
			continue
		}
		val, hasVal := op["value"]
		cur, exists := rec[k]
		if exists && cur == nil {
			exists = false
		}
		switch name {
		case "Increment", "Decrement":
			if !hasVal {
				return false, errorf(ErrInvalidObject, "attribute %q: %s needs a numeric value", k, name)
			}
			if !exists {
				cur = json.Number("0")
			}
			sign := 1
			if name == "Decrement" {
				sign = -1
			}
			n, err := addNumbers(cur, val, sign)
			if err != nil {
				return false, errorf(ErrInvalidObject, "attribute %q: %s: %v", k, name, err)
			}
			rec[k] = n
		case "Add", "AddUnique":
			if !hasVal {
				return false, errorf(ErrInvalidObject, "attribute %q: %s needs a value", k, name)
			}
			arr := asArray(cur, exists)
			if name == "AddUnique" && containsJSON(arr, val) {
				rec[k] = arr
				continue
			}
			rec[k] = append(arr, val)
		case "Remove":
			if !hasVal {
				return false, errorf(ErrInvalidObject, "attribute %q: Remove needs a value", k)
			}
			if !exists {
				continue
			}
			arr := asArray(cur, exists)
			out := make([]any, 0, len(arr))
			for _, e := range arr {
				if !equalJSON(e, val) {
					out = append(out, e)
				}
			}
			rec[k] = out
		case "IncrementFrom", "IncrementSet":
			want, ok := numberValue(val)
			if !hasVal || !ok {
				return false, errorf(ErrInvalidObject, "attribute %q: %s needs a numeric value", k, name)
			}
			curN := 0.0
			if exists {
				if curN, ok = numberValue(cur); !ok {
					return false, errorf(ErrInvalidObject, "attribute %q: %s on a value that is not a number", k, name)
				}
			}
			if name == "IncrementFrom" {
				// Increment by one only if the current value is the given one; a missing
				// record is created only for IncrementFrom 0.
				if curN != want || (created && want != 0) {
					return false, nil
				}
				n, err := addNumbers(numberOrZero(cur, exists), json.Number("1"), 1)
				if err != nil {
					return false, errorf(ErrInvalidObject, "attribute %q: %v", k, err)
				}
				rec[k] = n
			} else {
				// Set to the given value only if it is greater than the current one; a
				// missing record is created only for a value above 0.
				if want <= curN {
					return false, nil
				}
				rec[k] = val
			}
		default:
			return false, errorf(ErrInvalidObject, "attribute %q: unknown _operation %q", k, name)
		}
	}
	return true, nil
}

func numberOrZero(v any, exists bool) any {
	if !exists {
		return json.Number("0")
	}
	return v
}

func asArray(cur any, exists bool) []any {
	if !exists {
		return []any{}
	}
	if a, ok := cur.([]any); ok {
		return append([]any(nil), a...)
	}
	return []any{cur}
}

// addNumbers returns a + sign*b, exact for integers that fit in int64.
func addNumbers(a, b any, sign int) (json.Number, error) {
	if n, ok := addInts(a, b, sign); ok {
		return n, nil
	}
	af, ok := numberValue(a)
	if !ok {
		return "", errorf(ErrInvalidObject, "current value is not a number")
	}
	bf, ok := numberValue(b)
	if !ok {
		return "", errorf(ErrInvalidObject, "value is not a number")
	}
	data, err := json.Marshal(af + float64(sign)*bf)
	if err != nil {
		return "", errorf(ErrInvalidObject, "result is not a finite number")
	}
	return json.Number(data), nil
}

// addInts adds two integer json.Numbers; ok is false when either is not an int64 or the
// result overflows.
func addInts(a, b any, sign int) (json.Number, bool) {
	an, aok := a.(json.Number)
	bn, bok := b.(json.Number)
	if !aok || !bok {
		return "", false
	}
	ai, aerr := strconv.ParseInt(an.String(), 10, 64)
	bi, berr := strconv.ParseInt(bn.String(), 10, 64)
	if aerr != nil || berr != nil {
		return "", false
	}
	if sign < 0 {
		if bi == math.MinInt64 {
			return "", false
		}
		bi = -bi
	}
	s := ai + bi
	if (bi > 0 && s < ai) || (bi < 0 && s > ai) {
		return "", false
	}
	return json.Number(strconv.FormatInt(s, 10)), true
}

func containsJSON(arr []any, v any) bool {
	for _, e := range arr {
		if equalJSON(e, v) {
			return true
		}
	}
	return false
}

// equalJSON compares JSON values; numbers compare by value ("1" equals "1.0").
func equalJSON(a, b any) bool {
	if af, ok := numberValue(a); ok {
		bf, ok := numberValue(b)
		return ok && af == bf
	}
	switch a := a.(type) {
	case nil:
		return b == nil
	case string:
		bs, ok := b.(string)
		return ok && a == bs
	case bool:
		bb, ok := b.(bool)
		return ok && a == bb
	case []any:
		bl, ok := b.([]any)
		if !ok || len(a) != len(bl) {
			return false
		}
		for i := range a {
			if !equalJSON(a[i], bl[i]) {
				return false
			}
		}
		return true
	case map[string]any:
		bm, ok := b.(map[string]any)
		if !ok || len(a) != len(bm) {
			return false
		}
		for k, v := range a {
			w, ok := bm[k]
			if !ok || !equalJSON(v, w) {
				return false
			}
		}
		return true
	}
	return false
}
