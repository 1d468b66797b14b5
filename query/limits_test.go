package query

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/keyhole-search/keyhole/auth"
	"github.com/keyhole-search/keyhole/query/filter"
)

// TestParamLimits checks that every decoding limit is a *ParamError naming the parameter, the
// limit and the value, in both the JSON and the params-string forms.
func TestParamLimits(t *testing.T) {
	many := func(n int, f func(i int) string) []string {
		out := make([]string, n)
		for i := range out {
			out[i] = f(i)
		}
		return out
	}
	attrs := many(MaxAttributes+1, func(i int) string { return fmt.Sprintf("a%d", i) })
	facets := many(MaxFacets+1, func(i int) string { return fmt.Sprintf("f%d", i) })
	for _, c := range []struct {
		name  string
		param string
		v     any    // JSON form
		want  string // in the message
		text  string // in the message of the text form, when it differs
	}{
		{"query bytes", "query", strings.Repeat("a", MaxQueryBytes+1), "513 bytes, more than MaxQueryBytes (512 bytes)", ""},
		{"facetQuery bytes", "facetQuery", strings.Repeat("a", MaxFacetQueryBytes+1), "257 bytes, more than MaxFacetQueryBytes (256 bytes)", ""},
		{"facets", "facets", facets, "101 entries, more than MaxFacets (100)", ""},
		{"attributesToRetrieve", "attributesToRetrieve", attrs, "101 entries, more than MaxAttributes (100)", ""},
		{"attributesToHighlight", "attributesToHighlight", attrs, "more than MaxAttributes (100)", ""},
		{"attributesToSnippet", "attributesToSnippet", attrs, "more than MaxAttributes (100)", ""},
		{"restrictSearchableAttributes", "restrictSearchableAttributes", attrs, "more than MaxAttributes (100)", ""},
		{"control character", "attributesToRetrieve", []string{"name", "bad\x00name"}, "entry 2 holds a control character (U+0000)", ""},
		{"control character DEL", "restrictSearchableAttributes", []string{"x\x7f"}, "control character (U+007F)", ""},
		{"float out of range", "hitsPerPage", json.Number("1e400"), "must be between 0 and 1000, got 1e400", `expected an integer, got "1e400"`},
		{"negative fraction", "page", json.Number("-0.5"), "expected an integer, got -0.5", `expected an integer, got "-0.5"`},
		{"huge integer", "page", json.Number("99999999999999999999"), "must be between 0 and 2147483647", ""},
		{"huge integer text", "offset", "99999999999999999999", "must be between 0 and 2147483647", ""},
		{"float text", "hitsPerPage", "1e400", "expected an integer", ""},
		{"invalid UTF-8 query", "query", "caf\xe9", "invalid UTF-8 in query", ""},
		{"invalid UTF-8 filters", "filters", "team:\xff", "invalid UTF-8 in filters", ""},
		{"invalid UTF-8 facetFilters", "facetFilters", []any{[]any{"team:\xff"}}, "invalid UTF-8 in facetFilters", ""},
		{"invalid UTF-8 attribute", "attributesToRetrieve", []string{"\xc3"}, "invalid UTF-8 in attributesToRetrieve", ""},
		{"invalid UTF-8 highlight tag", "highlightPreTag", "<\xff>", "invalid UTF-8 in highlightPreTag", ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			// JSON form: the value as decoded JSON would give it.
			var p Params
			v := c.v
			if ss, ok := v.([]string); ok {
				arr := make([]any, len(ss))
				for i, s := range ss {
					arr[i] = s
				}
				v = arr
			}
			err := p.set(c.param, value{v: v})
			checkParamErr(t, err, c.param, c.want)
			// Text form (params string, GET query string), for what has one.
			var text string
			switch x := c.v.(type) {
			case string:
				text = x
			case json.Number:
				text = x.String()
			case []string:
				b, _ := json.Marshal(x)
				text = string(b)
				if strings.Contains(c.want, "UTF-8") {
					return // json.Marshal would have replaced the bad bytes
				}
			default:
				return
			}
			want := c.want
			if c.text != "" {
				want = c.text
			}
			_, err = DecodeParamsString(url.Values{c.param: {text}}.Encode())
			checkParamErr(t, err, c.param, want)
		})
	}
	// At the limit is fine.
	var p Params
	if err := p.ApplyValues(url.Values{"query": {strings.Repeat("a", MaxQueryBytes)}, "hitsPerPage": {"1000"}}); err != nil {
		t.Fatalf("at the limits: %v", err)
	}
	if err := p.set("page", value{v: json.Number("2.0")}); err != nil || *p.Page != 2 {
		t.Fatalf("integral float: %v", err)
	}
}

func checkParamErr(t *testing.T, err error, param, want string) {
	t.Helper()
	var pe *ParamError
	if !errors.As(err, &pe) || !errors.Is(err, ErrInvalidParam) {
		t.Fatalf("got %v, want a *ParamError", err)
	}
	if pe.Param != param || !strings.Contains(err.Error(), want) {
		t.Fatalf("got %q (param %s), want param %s and %q", err, pe.Param, param, want)
	}
}

// TestFilterLimits checks that filter.MaxFilterLength, filter.MaxDepth and MaxFilterLeaves
// each refuse a request (a ParamError, so a 400 through the API).
func TestFilterLimits(t *testing.T) {
	or := func(n int) string {
		parts := make([]string, n)
		for i := range parts {
			parts[i] = fmt.Sprintf("team:t%d", i)
		}
		return strings.Join(parts, " OR ")
	}
	facetOr := func(n int) []any {
		inner := make([]any, n)
		for i := range inner {
			inner[i] = fmt.Sprintf("team:t%d", i)
		}
		return []any{inner}
	}
	for _, c := range []struct {
		name string
		p    Params
		want string
	}{
		{"length", Params{Filters: strings.Repeat("team:a OR ", filter.MaxFilterLength/10+1) + "team:a"}, "MaxFilterLength"},
		{"depth", Params{Filters: strings.Repeat("(", filter.MaxDepth+1) + "team:a" + strings.Repeat(")", filter.MaxDepth+1)}, "MaxDepth"},
		{"leaves in filters", Params{Filters: or(MaxFilterLeaves + 1)}, "1001 conditions"},
		{"leaves across parameters", Params{Filters: or(600), FacetFilters: facetOr(401)}, "1001 conditions across filters, facetFilters"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := c.p.RequestFilter()
			if !errors.Is(err, ErrInvalidParam) || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("got %v, want an invalid parameter error containing %q", err, c.want)
			}
		})
	}
	if _, err := (&Params{Filters: or(MaxFilterLeaves)}).RequestFilter(); err != nil {
		t.Fatalf("%d conditions: %v", MaxFilterLeaves, err)
	}
}

// TestQueryShapeLimits checks the limits prepare applies: words after tokenizing, typo
// expansion of the first MaxTypoWords words only, no one-letter prefix on a large index, and
// a page beyond paginationLimitedTo.
func TestQueryShapeLimits(t *testing.T) {
	_, svc := catalogue(t)
	ctx := context.Background()
	admin := auth.Admin()

	words := strings.TrimSpace(strings.Repeat("knife ", MaxQueryWords+1))
	_, err := svc.Search(ctx, admin, "products", Params{Query: words})
	checkParamErr(t, err, "query", "33 words, more than MaxQueryWords (32)")
	if _, err := svc.Search(ctx, admin, "products", Params{Query: strings.TrimSpace(strings.Repeat("knife ", MaxQueryWords))}); err != nil {
		t.Fatalf("%d words: %v", MaxQueryWords, err)
	}

	tp := planText(svc.an, strings.Repeat("espresso ", MaxTypoWords+2), "true", 4, 8)
	for i, n := range tp.typos {
		if (i < MaxTypoWords) != (n > 0) {
			t.Fatalf("word %d allows %d typos (MaxTypoWords %d)", i, n, MaxTypoWords)
		}
	}

	// One-letter prefix: expanded on a small index, not above the threshold.
	pl, err := svc.prepare(admin, "products", Params{Query: "k"})
	if err != nil || !pl.text.prefix {
		t.Fatalf("small index: prefix %v, err %v", pl != nil && pl.text.prefix, err)
	}
	small := *svc
	small.oneLetterPrefixMax = 1
	pl, err = small.prepare(admin, "products", Params{Query: "k"})
	if err != nil || pl.text.prefix {
		t.Fatalf("large index: one-letter prefix kept (err %v)", err)
	}
	if pl, _ = small.prepare(admin, "products", Params{Query: "kn"}); !pl.text.prefix {
		t.Fatalf("large index: two-letter prefix dropped")
	}

	// Pagination beyond paginationLimitedTo (1000 by default) is a 400 naming both numbers.
	_, err = svc.Search(ctx, admin, "products", Params{Page: intp(50), HitsPerPage: intp(20)})
	checkParamErr(t, err, "page", "page 50 × hitsPerPage 20 = 1000 is beyond paginationLimitedTo (1000)")
	_, err = svc.Search(ctx, admin, "products", Params{Offset: intp(1000), Length: intp(5)})
	checkParamErr(t, err, "offset", "offset 1000 is beyond paginationLimitedTo (1000)")
	if _, err := svc.Search(ctx, admin, "products", Params{Page: intp(49), HitsPerPage: intp(20)}); err != nil {
		t.Fatalf("last reachable page: %v", err)
	}
	if _, err := svc.Search(ctx, admin, "products", Params{Page: intp(5000), HitsPerPage: intp(0)}); err != nil {
		t.Fatalf("hitsPerPage 0 on any page: %v", err)
	}
}

// TestSearchDeadline checks that a search whose context has ended returns the context's
// cause, whatever Bleve did with it.
func TestSearchDeadline(t *testing.T) {
	_, svc := catalogue(t)
	cause := errors.New("the test's deadline")
	ctx, cancel := context.WithDeadlineCause(context.Background(), time.Now().Add(-time.Second), cause)
	defer cancel()
	if _, err := svc.Search(ctx, auth.Admin(), "products", Params{Query: "knife"}); !errors.Is(err, cause) {
		t.Fatalf("Search: got %v, want the context's cause", err)
	}
	if _, err := svc.SearchFacetValues(ctx, auth.Admin(), "products", "brand", Params{}); !errors.Is(err, cause) {
		t.Fatalf("SearchFacetValues: got %v", err)
	}
	if _, err := svc.Browse(ctx, auth.Admin(), "products", Params{}, ""); !errors.Is(err, cause) {
		t.Fatalf("Browse: got %v", err)
	}
	ctx2, cancel2 := context.WithTimeout(context.Background(), -time.Second)
	defer cancel2()
	if _, err := svc.Search(ctx2, auth.Admin(), "products", Params{}); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("plain deadline: got %v", err)
	}
}
