package auth

import (
	"encoding/json"
	"fmt"
	"math"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/keyhole-search/keyhole/query/filter"
)

// maxValidUntil is the largest validUntil accepted (year 5138): a larger value is almost
// certainly milliseconds, which would make a key live forever, so it is refused (fail closed).
const maxValidUntil = 1e11

// paramError says which restriction parameter is wrong and why, never with its value.
type paramError struct {
	name string
	why  string
}

// Error names the parameter and the fault.
func (e *paramError) Error() string {
	return fmt.Sprintf("parameter %q: %s", e.name, e.why)
}

func badParam(name, why string) error {
	if len(name) > 64 {
		name = name[:64] + "…"
	}
	return &paramError{name: name, why: why}
}

// layer is one credential's own restrictions, as read from a params string (a secured key's
// message or a stored key's queryParameters) and, for stored keys, its own fields.
type layer struct {
	indexes       []string
	hasIndexes    bool
	filter        filter.Node
	params        url.Values
	maxHits       int
	attrs         []string
	hasAttrs      bool
	validUntil    int64
	hasValidUntil bool
	sources       []netip.Prefix
	referers      []string
	userToken     string
}

// restrictionBit returns a distinct bit for each parameter that restricts (rather than
// overrides a search parameter), 0 for any other; each such parameter may appear once.
func restrictionBit(name string) uint16 {
	switch name {
	case "filters":
		return 1 << 0
	case "facetFilters":
		return 1 << 1
	case "numericFilters":
		return 1 << 2
	case "tagFilters":
		return 1 << 3
	case "validUntil":
		return 1 << 4
	case "restrictIndices":
		return 1 << 5
	case "restrictSources":
		return 1 << 6
	case "referers":
		return 1 << 7
	case "userToken":
		return 1 << 8
	case "maxHitsPerQuery":
		return 1 << 9
	case "attributesToRetrieve":
		return 1 << 10
	}
	return 0
}

// parseParams reads a restrictions message leniently as a form: '&' separates pairs, '+' is a
// space, %XX escapes; a value of "undefined" (JS v4) means absent. Any restriction it cannot
// read is an error (fail closed): callers wrap it in their sentinel.
func parseParams(msg string) (*layer, error) {
	l := &layer{}
	if err := l.parseParams(msg, nil); err != nil {
		return nil, err
	}
	return l, nil
}

// parseParams is parseParams into l (which a caller may keep on its stack), parsing filters
// through fc (nil: no cache).
func (l *layer) parseParams(msg string, fc *filterCache) error {
	var seen uint16            // restrictionBit of each restriction seen
	var filters [4]filter.Node // filters, facetFilters, numericFilters, tagFilters
	for rest := msg; rest != ""; {
		part, next, _ := strings.Cut(rest, "&")
		rest = next
		if part == "" {
			continue
		}
		rawName, rawValue, _ := strings.Cut(part, "=")
		name, err := url.QueryUnescape(rawName)
		if err != nil {
			return badParam("?", "bad escape in a parameter name")
		}
		value, err := url.QueryUnescape(rawValue)
		if err != nil {
			return badParam(name, "bad escape")
		}
		if name == "" {
			return badParam(name, "empty name")
		}
		if value == "undefined" {
			continue
		}
		bit := restrictionBit(name)
		if bit == 0 {
			if l.params == nil {
				l.params = url.Values{}
			}
			l.params.Add(name, value)
			continue
		}
		if seen&bit != 0 {
			return badParam(name, "repeated")
		}
		seen |= bit
		switch name {
		case "filters", "facetFilters", "numericFilters", "tagFilters":
			if strings.TrimSpace(value) == "" {
				continue
			}
			n, err := fc.parseFilterParam(name, value)
			if err != nil {
				return badParam(name, describeFilterError(err))
			}
			filters[filterSlot(name)] = n
		case "validUntil":
			v, err := parseUnixSeconds(value)
			if err != nil {
				return badParam(name, err.Error())
			}
			l.validUntil, l.hasValidUntil = v, true
		case "restrictIndices":
			list, err := parseList(value, ",")
			if err != nil {
				return badParam(name, err.Error())
			}
			l.indexes, l.hasIndexes = list, true
		case "restrictSources":
			list, err := parseList(value, ",;")
			if err != nil {
				return badParam(name, err.Error())
			}
			for _, s := range list {
				p, err := parseSource(s)
				if err != nil {
					return badParam(name, "not an IP address or CIDR range")
				}
				l.sources = append(l.sources, p)
			}
		case "referers":
			list, err := parseList(value, ",")
			if err != nil {
				return badParam(name, err.Error())
			}
			l.referers = list
		case "userToken":
			l.userToken = value
		case "maxHitsPerQuery":
			n, err := strconv.Atoi(strings.TrimSpace(value))
			if err != nil || n < 0 {
				return badParam(name, "not a non-negative integer")
			}
			l.maxHits = n
		case "attributesToRetrieve":
			list, err := parseList(value, ",")
			if err != nil && strings.TrimSpace(value) != "[]" {
				return badParam(name, err.Error())
			}
			l.attrs, l.hasAttrs = list, true
		}
	}
	l.filter = filter.Conj(filters[:]...)
	return nil
}

func filterSlot(name string) int {
	switch name {
	case "filters":
		return 0
	case "facetFilters":
		return 1
	case "numericFilters":
		return 2
	}
	return 3
}

// parseUnixSeconds reads a validUntil: integer seconds (a fractional part is dropped).
func parseUnixSeconds(s string) (int64, error) {
	s = strings.TrimSpace(s)
	v, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		f, ferr := strconv.ParseFloat(s, 64)
		if ferr != nil || math.IsNaN(f) || math.IsInf(f, 0) {
			return 0, fmt.Errorf("not Unix seconds")
		}
		if f > maxValidUntil || f < -maxValidUntil {
			return 0, fmt.Errorf("out of range (milliseconds?)")
		}
		v = int64(math.Floor(f))
	}
	if v > maxValidUntil || v < -maxValidUntil {
		return 0, fmt.Errorf("out of range (milliseconds?)")
	}
	return v, nil
}

// parseList reads a list given as a JSON array of strings or as text separated by any of
// seps. Blank items are dropped; an empty list is an error, since a restriction to nothing
// is not what anyone signs on purpose and reading it as "no restriction" would widen it.
func parseList(s, seps string) ([]string, error) {
	var out []string
	t := strings.TrimSpace(s)
	if strings.HasPrefix(t, "[") {
		var items []any
		d := json.NewDecoder(strings.NewReader(t))
		d.UseNumber()
		if err := d.Decode(&items); err != nil || d.More() {
			return nil, fmt.Errorf("not a JSON array")
		}
		for _, it := range items {
			switch v := it.(type) {
			case string:
				if v = strings.TrimSpace(v); v != "" {
					out = append(out, v)
				}
			case json.Number:
				out = append(out, v.String())
			default:
				return nil, fmt.Errorf("array item is not a string")
			}
		}
	} else {
		for item := range strings.FieldsFuncSeq(t, func(r rune) bool { return strings.ContainsRune(seps, r) }) {
			if item = strings.TrimSpace(item); item != "" {
				out = append(out, item)
			}
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("empty list")
	}
	return out, nil
}

// parseSource reads an IP address or a CIDR range, IPv4-mapped IPv6 read as IPv4.
func parseSource(s string) (netip.Prefix, error) {
	if strings.Contains(s, "/") {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return netip.Prefix{}, err
		}
		a, bits := p.Addr(), p.Bits()
		if a.Is4In6() {
			if bits < 96 {
				return netip.Prefix{}, fmt.Errorf("mapped prefix too short")
			}
			a, bits = a.Unmap(), bits-96
		}
		return netip.PrefixFrom(a, bits).Masked(), nil
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Prefix{}, err
	}
	a = a.Unmap().WithZone("")
	return netip.PrefixFrom(a, a.BitLen()), nil
}

// compiled is the immutable result of stacking layers: the Restrictions handed out (every
// slice capped at its length, so that a caller's append copies) and what must be checked on
// every use.
type compiled struct {
	r Restrictions
	// refererLayers holds every layer's referer patterns: each must be matched.
	refererLayers [][]string
}

// apply stacks l over base (nil: nothing) and returns a new compiled; base is not changed.
// Every step only narrows.
func apply(base *compiled, l *layer) *compiled {
	c := &compiled{}
	if base != nil {
		c.r = base.r
		c.refererLayers = base.refererLayers
	}
	r := &c.r
	if l.hasIndexes {
		idx := capped(append([]string(nil), l.indexes...))
		r.IndexLayers = capped(append(append([][]string(nil), r.IndexLayers...), idx))
	}
	r.Filter = filter.Conj(r.Filter, l.filter)
	if len(l.params) > 0 {
		r.Params = capped(append(append([]url.Values(nil), r.Params...), cloneValues(l.params)))
	}
	if l.maxHits > 0 && (r.MaxHitsPerQuery == 0 || l.maxHits < r.MaxHitsPerQuery) {
		r.MaxHitsPerQuery = l.maxHits
	}
	if l.hasAttrs {
		r.AttributesToRetrieve = capped(intersectAttrs(r.AttributesToRetrieve, l.attrs))
	}
	if l.hasValidUntil {
		t := time.Unix(l.validUntil, 0)
		if r.ValidUntil.IsZero() || t.Before(r.ValidUntil) {
			r.ValidUntil = t
		}
	}
	if len(l.sources) > 0 {
		r.Sources = capped(intersectSources(r.Sources, l.sources))
	}
	if len(l.referers) > 0 {
		refs := capped(append([]string(nil), l.referers...))
		c.refererLayers = capped(append(append([][]string(nil), c.refererLayers...), refs))
		r.Referers = refs
	}
	if l.userToken != "" {
		r.UserToken = l.userToken
	}
	clampHitsPerPage(r)
	return c
}

// clampHitsPerPage lowers a hitsPerPage forced by some layer to MaxHitsPerQuery, so that a
// later layer's maxHitsPerQuery also binds an earlier layer's hitsPerPage. (The query layer
// caps the request's hitsPerPage with MaxHitsPerQuery too.) Maps are copied, never changed.
func clampHitsPerPage(r *Restrictions) {
	if r.MaxHitsPerQuery == 0 {
		return
	}
	copied := false
	for i, p := range r.Params {
		vs, ok := p["hitsPerPage"]
		if !ok {
			continue
		}
		changed := false
		out := make([]string, len(vs))
		for j, s := range vs {
			out[j] = s
			if n, err := strconv.Atoi(strings.TrimSpace(s)); err == nil && n > r.MaxHitsPerQuery {
				out[j] = strconv.Itoa(r.MaxHitsPerQuery)
				changed = true
			}
		}
		if !changed {
			continue
		}
		if !copied {
			r.Params = capped(append([]url.Values(nil), r.Params...))
			copied = true
		}
		np := cloneValues(p)
		np["hitsPerPage"] = out
		r.Params[i] = np
	}
}

func capped[T any](s []T) []T { return s[:len(s):len(s)] }

func cloneValues(v url.Values) url.Values {
	out := make(url.Values, len(v))
	for k, vs := range v {
		out[k] = append([]string(nil), vs...)
	}
	return out
}

// intersectAttrs narrows an attributesToRetrieve bound: nil means no bound, "*" means all.
func intersectAttrs(have, want []string) []string {
	if want == nil {
		want = []string{}
	}
	if have == nil || contains(want, "*") {
		if have == nil {
			return append([]string{}, want...)
		}
		return append([]string{}, have...)
	}
	if contains(have, "*") {
		return append([]string{}, want...)
	}
	out := []string{}
	for _, a := range have {
		if contains(want, a) {
			out = append(out, a)
		}
	}
	return out
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// intersectSources returns the addresses in both lists (an empty have means all). Two
// prefixes either nest or are disjoint, so the intersection is the inner one of each nested
// pair. When nothing is left, it returns a list that allows no address.
func intersectSources(have, want []netip.Prefix) []netip.Prefix {
	if len(have) == 0 {
		return append([]netip.Prefix(nil), want...)
	}
	var out []netip.Prefix
	for _, a := range have {
		for _, b := range want {
			if !a.IsValid() || !b.IsValid() || a.Addr().Is4() != b.Addr().Is4() {
				continue
			}
			switch {
			case a.Bits() >= b.Bits() && b.Contains(a.Addr()):
				out = append(out, a)
			case b.Bits() > a.Bits() && a.Contains(b.Addr()):
				out = append(out, b)
			}
		}
	}
	if len(out) == 0 {
		out = []netip.Prefix{{}} // the zero Prefix contains no address: allows none
	}
	return out
}

// check enforces what must be checked on every use: expiry, client address, referer.
func (c *compiled) check(now time.Time, creds *Credentials) error {
	r := &c.r
	if !r.ValidUntil.IsZero() && !now.Before(r.ValidUntil) {
		return ErrExpired
	}
	if len(r.Sources) > 0 {
		ip := creds.ClientIP.Unmap().WithZone("")
		ok := false
		if ip.IsValid() {
			for _, p := range r.Sources {
				if p.Contains(ip) {
					ok = true
					break
				}
			}
		}
		if !ok {
			return ErrSourceNotAllowed
		}
	}
	for _, refs := range c.refererLayers {
		ok := false
		if creds.Referer != "" {
			for _, pat := range refs {
				if matchGlob(pat, creds.Referer) {
					ok = true
					break
				}
			}
		}
		if !ok {
			return ErrRefererNotAllowed
		}
	}
	return nil
}

// restrictions returns a copy of the restrictions to hand to one caller: slices are shared
// (read-only, capped), the mutable Params maps are copied.
func (c *compiled) restrictions() Restrictions {
	r := c.r
	if len(r.Params) > 0 {
		ps := make([]url.Values, len(r.Params))
		for i, p := range r.Params {
			ps[i] = cloneValues(p)
		}
		r.Params = ps
	}
	return r
}

// matchGlob reports whether s matches pattern, where '*' matches any run of characters
// (Algolia's referer patterns: "https://example.com/*", "*.example.com", "*example.com*").
func matchGlob(pattern, s string) bool {
	px, sx := 0, 0
	starP, starS := -1, 0
	for sx < len(s) {
		switch {
		case px < len(pattern) && pattern[px] == '*':
			starP, starS = px, sx
			px++
		case px < len(pattern) && pattern[px] == s[sx]:
			px++
			sx++
		case starP >= 0:
			px = starP + 1
			starS++
			sx = starS
		default:
			return false
		}
	}
	for px < len(pattern) && pattern[px] == '*' {
		px++
	}
	return px == len(pattern)
}
