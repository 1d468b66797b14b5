package filter

import "slices"

// Pins returns the values a filter pins attribute attr to, normalised by norm (the way
// Facet compares them): every record that matches n and whose attr holds exactly one value
// holds one of vals. ok is false when n does not pin attr (some matching record may hold any
// value, or none). Records whose attr holds several values may match without holding any of
// vals: callers must look at them separately.
//
// A positive Facet on attr pins it to its value; an And pins to the intersection of the
// children that pin; an Or pins to the union when every child pins (an empty Or matches
// nothing and pins to no value); Not and every other node do not pin.
func Pins(n Node, attr string, norm func(string) string) (vals []string, ok bool) {
	switch t := n.(type) {
	case Facet:
		if t.Attr == attr {
			return []string{norm(t.Value)}, true
		}
	case And:
		var set []string
		pinned := false
		for _, c := range t.Nodes {
			v, ok := Pins(c, attr, norm)
			if !ok {
				continue
			}
			if !pinned {
				set, pinned = v, true
				continue
			}
			set = slices.DeleteFunc(set, func(s string) bool { return !slices.Contains(v, s) })
		}
		if pinned {
			return normalize(set), true
		}
	case Or:
		set := []string{}
		for _, c := range t.Nodes {
			v, ok := Pins(c, attr, norm)
			if !ok {
				return nil, false
			}
			set = append(set, v...)
		}
		return normalize(set), true
	}
	return nil, false
}

func normalize(set []string) []string {
	out := slices.Clone(set)
	if out == nil {
		out = []string{}
	}
	slices.Sort(out)
	return slices.Compact(out)
}
