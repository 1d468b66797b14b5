package auth

import (
	"errors"
	"fmt"

	"github.com/keyhole-search/keyhole/query/filter"
)

// parseFilterParam parses one of the filter parameters of a restrictions message.
func parseFilterParam(name, value string) (filter.Node, error) {
	if name == "filters" {
		return filter.Parse(value)
	}
	v, err := filter.ParseListValue(value)
	if err != nil {
		return nil, err
	}
	switch name {
	case "facetFilters":
		return filter.ParseFacetFilters(v)
	case "numericFilters":
		return filter.ParseNumericFilters(v)
	case "tagFilters":
		return filter.ParseTagFilters(v)
	}
	return nil, fmt.Errorf("not a filter parameter")
}

// describeFilterError says where a filter failed to parse without quoting any of it (the
// parser's own message quotes the offending text, which must not reach logs or responses).
func describeFilterError(err error) string {
	var se *filter.SyntaxError
	switch {
	case errors.As(err, &se):
		msg := "syntax error"
		if se.Element != "" {
			msg += " in element " + se.Element
		}
		if se.Column > 0 {
			msg += fmt.Sprintf(" at column %d", se.Column)
		}
		return msg
	case errors.Is(err, filter.ErrTooLong):
		return "filter too long"
	case errors.Is(err, filter.ErrTooDeep):
		return "filter nested too deeply"
	}
	return "does not parse"
}
