package filter

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"
)

// MaxFilterLength is the longest filter the parsers accept, in bytes: a filters string, a
// Meilisearch expression, or the total size of the strings of an array form. Longer input is
// rejected with an error wrapping ErrTooLong before any parsing.
const MaxFilterLength = 16 << 10

// MaxDepth is the deepest nesting the parsers accept: each parenthesised group and each NOT
// counts as one level. Deeper input is rejected with an error wrapping ErrTooDeep, so the
// parsers' recursion is bounded whatever the input. (Array forms nest at most two deep; a
// deeper array is a syntax error.)
const MaxDepth = 32

// ErrSyntax is wrapped by every syntax error of the parsers (each one a *SyntaxError), so that
// errors.Is(err, ErrSyntax) tells a malformed filter apart from one that breaks a limit.
var ErrSyntax = errors.New("syntax error")

// ErrTooLong is wrapped by the error returned for input longer than MaxFilterLength.
var ErrTooLong = errors.New("filter too long")

// ErrTooDeep is wrapped by the error returned for input nested deeper than MaxDepth.
var ErrTooDeep = errors.New("filter nested too deeply")

// SyntaxError describes a malformed filter: where it is and what the parser expected there.
// errors.Is(err, ErrSyntax) is true for every *SyntaxError.
type SyntaxError struct {
	// Param names the parameter that holds the filter: "filters", "facetFilters",
	// "numericFilters", "tagFilters", "filter" (Meilisearch) or "list" (ParseListValue).
	Param string
	// Element is the position of the faulty element in an array form or comma string, counted
	// from 1 ("2" is the second element, "2.1" the first element of the second, inner, array).
	// It is empty for a filters string or a Meilisearch expression.
	Element string
	// Column is the 1-based column of the error, counted in runes (Unicode code points, not
	// bytes) from the start of the string (or of the element, when Element is set). It is 0
	// when the error has no single position.
	Column int
	// Expected says what the parser expected, for example "a value after ':'".
	Expected string
	// Found says what it found instead: "end of input", or the offending text quoted.
	Found string
}

// Error returns the error as one line, for example
// `filters: syntax error at column 12: expected a value after ':', found end of input`.
func (e *SyntaxError) Error() string {
	var b strings.Builder
	b.WriteString(e.Param)
	if e.Element != "" {
		b.WriteString(": element ")
		b.WriteString(e.Element)
	}
	switch {
	case e.Column > 0:
		b.WriteString(": syntax error at column ")
		b.WriteString(strconv.Itoa(e.Column))
	case e.Element == "":
		b.WriteString(": syntax error")
	}
	b.WriteString(": expected ")
	b.WriteString(e.Expected)
	b.WriteString(", found ")
	b.WriteString(e.Found)
	return b.String()
}

// Unwrap returns ErrSyntax, so that errors.Is(err, ErrSyntax) holds for every syntax error.
func (e *SyntaxError) Unwrap() error { return ErrSyntax }

// endOfInput is what SyntaxError.Found says at the end of the input.
const endOfInput = "end of input"

// maxFoundRunes bounds how much of the offending text an error quotes.
const maxFoundRunes = 40

// quoteFound renders offending text for SyntaxError.Found: quoted and truncated.
func quoteFound(s string) string {
	if utf8.RuneCountInString(s) > maxFoundRunes {
		n := 0
		for i := range s {
			if n == maxFoundRunes {
				s = s[:i] + "…"
				break
			}
			n++
		}
	}
	return strconv.Quote(s)
}

// column returns the 1-based rune column of byte offset off in s.
func column(s string, off int) int {
	if off > len(s) {
		off = len(s)
	}
	return utf8.RuneCountInString(s[:off]) + 1
}

// tooLong returns the error for input of n bytes in parameter param.
func tooLong(param string, n int) error {
	return fmt.Errorf("%s: %w: %d bytes, more than MaxFilterLength (%d bytes)", param, ErrTooLong, n, MaxFilterLength)
}

// tooDeep returns the error for nesting beyond MaxDepth at rune column col (0: unknown).
func tooDeep(param string, col int) error {
	if col > 0 {
		return fmt.Errorf("%s: %w at column %d: more than MaxDepth (%d) levels of parentheses and NOTs", param, ErrTooDeep, col, MaxDepth)
	}
	return fmt.Errorf("%s: %w: more than MaxDepth (%d) levels of parentheses and NOTs", param, ErrTooDeep, MaxDepth)
}
