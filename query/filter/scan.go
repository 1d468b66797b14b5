package filter

import (
	"math"
	"strconv"
	"unicode"
	"unicode/utf8"
)

// tagsAttr is the attribute that holds a record's tags: an equality on it is a Tag.
const tagsAttr = "_tags"

// spaceAt reports whether a whitespace rune starts at s[i], and its width.
func spaceAt(s string, i int) (bool, int) {
	c := s[i]
	if c < utf8.RuneSelf {
		return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f', 1
	}
	r, w := utf8.DecodeRuneInString(s[i:])
	return unicode.IsSpace(r), w
}

// skipSpace returns the offset of the first non-space byte of s at or after i.
func skipSpace(s string, i int) int {
	for i < len(s) {
		sp, w := spaceAt(s, i)
		if !sp {
			break
		}
		i += w
	}
	return i
}

// parseNumber parses s as a finite decimal number: an optional sign, digits with an optional
// fraction (at least one digit in all), and an optional exponent. Unlike strconv.ParseFloat it
// refuses "Inf", "NaN", hexadecimal, underscores and out-of-range values.
func parseNumber(s string) (float64, bool) {
	i := 0
	if i < len(s) && (s[i] == '+' || s[i] == '-') {
		i++
	}
	digits := 0
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		i++
		digits++
	}
	if i < len(s) && s[i] == '.' {
		i++
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
			digits++
		}
	}
	if digits == 0 {
		return 0, false
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		i++
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			i++
		}
		exp := 0
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
			exp++
		}
		if exp == 0 {
			return 0, false
		}
	}
	if i != len(s) {
		return 0, false
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsInf(f, 0) || math.IsNaN(f) {
		return 0, false
	}
	return f, true
}

// formatNumber renders f so that parseNumber gives f back exactly.
func formatNumber(f float64) string {
	return strconv.FormatFloat(f, 'g', -1, 64)
}

// readQuoted reads the quoted string that starts at s[i] (with its quote character, ' or ")
// and returns its value and the offset after the closing quote. Inside it a backslash
// escapes a quote or a backslash (\" \' \\); any other backslash is kept literally.
// ok is false when the string is not closed.
func readQuoted(s string, i int) (val string, end int, ok bool) {
	q := s[i]
	i++
	buf := make([]byte, 0, 16)
	for i < len(s) {
		c := s[i]
		switch {
		case c == '\\' && i+1 < len(s) && (s[i+1] == '"' || s[i+1] == '\'' || s[i+1] == '\\'):
			buf = append(buf, s[i+1])
			i += 2
		case c == q:
			return string(buf), i + 1, true
		default:
			buf = append(buf, c)
			i++
		}
	}
	return "", i, false
}

// isKeyword reports whether s is one of the words the Algolia syntax reserves (in capitals).
func isKeyword(s string) bool {
	switch s {
	case "AND", "OR", "NOT", "TO":
		return true
	}
	return false
}
