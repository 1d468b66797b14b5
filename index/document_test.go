package index

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/blevesearch/bleve/v2/document"
	bindex "github.com/blevesearch/bleve_index_api"
)

type fieldDesc struct {
	Name  string
	Value string
	Opts  bindex.FieldIndexingOptions
}

func (f fieldDesc) String() string { return fmt.Sprintf("%s=%q(%s)", f.Name, f.Value, f.Opts) }

func describe(doc *document.Document) []fieldDesc {
	var out []fieldDesc
	for _, f := range doc.Fields {
		d := fieldDesc{Name: f.Name(), Opts: f.Options()}
		switch f := f.(type) {
		case *document.NumericField:
			n, _ := f.Number()
			d.Value = fmt.Sprint(n)
		default:
			d.Value = string(f.Value())
		}
		out = append(out, d)
	}
	slices.SortFunc(out, func(a, b fieldDesc) int { return strings.Compare(a.String(), b.String()) })
	return out
}

func TestBuildDocument(t *testing.T) {
	an, err := NewAnalyzer()
	if err != nil {
		t.Fatal(err)
	}
	const (
		T  = bindex.IndexField
		F  = bindex.IndexField | bindex.DocValues
		FL = bindex.IndexField
		N  = bindex.IndexField | bindex.DocValues
		E  = bindex.IndexField
	)
	src := func(s string) fieldDesc { return fieldDesc{FieldSource, s, bindex.StoreField} }
	ex := func(p string) fieldDesc { return fieldDesc{FieldExists, p, E} }
	tests := []struct {
		name     string
		settings string
		record   string
		want     []fieldDesc
	}{
		{
			name:     "every attribute searchable, nested object",
			settings: `{}`,
			record:   `{"objectID":"1","title":"Café Noir","authors":{"main":"Ann","co":null}}`,
			want: []fieldDesc{
				src(`{"authors":{"co":null,"main":"Ann"},"objectID":"1","title":"Café Noir"}`),
				{"t.authors.main", "Ann", T}, {"t.title", "Café Noir", T},
				ex("authors"), ex("authors.main"), ex("objectID"), ex("title"),
			},
		},
		{
			name:     "numbers keep digits in source and facets, every number indexed",
			settings: `{"attributesForFaceting":["price","sizes"]}`,
			record:   `{"objectID":"2","price":10.50,"big":12345678901234567890,"sizes":[10,9.99],"count":3}`,
			want: []fieldDesc{
				src(`{"big":12345678901234567890,"count":3,"objectID":"2","price":10.50,"sizes":[10,9.99]}`),
				{"f.price", "10.5", F}, {"fl.price", "10.5", FL},
				{"f.sizes", "10", F}, {"fl.sizes", "10", FL}, {"f.sizes", "9.99", F}, {"fl.sizes", "9.99", FL},
				{"n.price", "10.5", N}, {"n.big", "1.2345678901234567e+19", N}, {"n.count", "3", N},
				{"n.sizes", "10", N}, {"n.sizes", "9.99", N},
				ex("big"), ex("count"), ex("objectID"), ex("price"), ex("sizes"),
			},
		},
		{
			name:     "booleans, tags, facets lowercased, searchable subset",
			settings: `{"searchableAttributes":["title","unordered(authors)"],"attributesForFaceting":["filterOnly(brand)","inStock"]}`,
			record:   `{"objectID":"3","title":"Go","authors":[{"name":"Rob"},{"name":"Ken"}],"brand":"ACME","inStock":true,"_tags":["new","Sale"],"note":"not searchable"}`,
			want: []fieldDesc{
				src(`{"_tags":["new","Sale"],"authors":[{"name":"Rob"},{"name":"Ken"}],"brand":"ACME","inStock":true,"note":"not searchable","objectID":"3","title":"Go"}`),
				{"t.title", "Go", T}, {"t.authors", "Rob", T}, {"t.authors", "Ken", T},
				{"f.brand", "ACME", F}, {"fl.brand", "acme", FL}, {"f.inStock", "true", F}, {"fl.inStock", "true", FL},
				{"n.inStock", "1", N},
				{FieldTags, "new", F}, {FieldTags, "Sale", F},
				ex("_tags"), ex("authors"), ex("authors.name"), ex("brand"), ex("inStock"), ex("note"), ex("objectID"), ex("title"),
			},
		},
		{
			name:     "facet on an object path takes every leaf under it; arrays of arrays flatten",
			settings: `{"searchableAttributes":["a"],"attributesForFaceting":["a"]}`,
			record:   `{"objectID":"4","a":{"b":"X","c":[[false,"Y"]],"d":[]},"e":{}}`,
			want: []fieldDesc{
				src(`{"a":{"b":"X","c":[[false,"Y"]],"d":[]},"e":{},"objectID":"4"}`),
				{"t.a", "X", T}, {"t.a", "Y", T},
				{"f.a", "X", F}, {"fl.a", "x", FL}, {"f.a", "false", F}, {"fl.a", "false", FL}, {"f.a", "Y", F}, {"fl.a", "y", FL},
				{"n.a.c", "0", N},
				ex("a"), ex("a.b"), ex("a.c"), ex("e"), ex("objectID"),
			},
		},
		{
			name:     "userAttribute is indexed for exact filters",
			settings: `{"userAttribute":"owner"}`,
			record:   `{"objectID":"5","owner":"U-1"}`,
			want: []fieldDesc{
				src(`{"objectID":"5","owner":"U-1"}`),
				{"t.owner", "U-1", T}, {"f.owner", "U-1", F}, {"fl.owner", "u-1", FL},
				ex("objectID"), ex("owner"),
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var s Settings
			if err := s.UnmarshalJSON([]byte(tt.settings)); err != nil {
				t.Fatal(err)
			}
			rec := MustRecord(t, tt.record)
			srcJSON, err := encodeRecord(rec)
			if err != nil {
				t.Fatal(err)
			}
			doc, err := buildDocument(rec["objectID"].(string), rec, srcJSON, specOf(s), an.Bleve())
			if err != nil {
				t.Fatal(err)
			}
			got := describe(doc)
			want := slices.Clone(tt.want)
			slices.SortFunc(want, func(a, b fieldDesc) int { return strings.Compare(a.String(), b.String()) })
			if !slices.Equal(got, want) {
				t.Errorf("fields differ\n got: %v\nwant: %v", got, want)
			}
		})
	}
}

func TestBuildDocumentRejects(t *testing.T) {
	an, err := NewAnalyzer()
	if err != nil {
		t.Fatal(err)
	}
	// The record itself is level 1.
	deep := strings.Repeat(`{"a":`, MaxDepth+1) + `1` + strings.Repeat(`}`, MaxDepth+1)
	deepArr := `{"a":` + strings.Repeat(`[`, MaxDepth) + `1` + strings.Repeat(`]`, MaxDepth) + `}`
	okDeep := strings.Repeat(`{"a":`, MaxDepth) + `1` + strings.Repeat(`}`, MaxDepth)
	tests := []struct {
		record string
		ok     bool
		want   string
	}{
		{`{"":1}`, false, "must not be empty"},
		{`{"a\u0001":1}`, false, "control characters"},
		{`{"a":{"":1}}`, false, "must not be empty"},
		{deep, false, "deeper than 32"},
		{deepArr, false, "deeper than 32"},
		{okDeep, true, ""},
	}
	for _, tt := range tests {
		rec := MustRecord(t, tt.record)
		_, err := buildDocument("x", rec, []byte(tt.record), fieldSpec{AllText: true}, an.Bleve())
		if tt.ok {
			if err != nil {
				t.Errorf("%.40s: %v", tt.record, err)
			}
			continue
		}
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%.40s: err = %v, want %q", tt.record, err, tt.want)
		}
	}
}

func TestTokenize(t *testing.T) {
	an, err := NewAnalyzer()
	if err != nil {
		t.Fatal(err)
	}
	text := "Café au LAIT, Ærø straße"
	got := an.Tokenize(text)
	want := []Token{{"cafe", 0, 5}, {"au", 6, 8}, {"lait", 9, 13}, {"aero", 15, 20}, {"strasse", 21, 28}}
	if !slices.Equal(got, want) {
		t.Fatalf("Tokenize = %v, want %v", got, want)
	}
	for _, tok := range got {
		t.Logf("%q -> %s", text[tok.Start:tok.End], tok.Term)
	}
}
