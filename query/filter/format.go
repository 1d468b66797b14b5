package filter

import (
	"fmt"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"
)

// String renders a tree as canonical, fully parenthesised text in Algolia's filters syntax,
// for tests and debugging: every And and Or is wrapped in parentheses, NOT prefixes its
// operand, and attributes and values are quoted unless they are plain words (letters, digits,
// '_', '-', '.', and not a keyword). A nil tree is "".
//
// Parse(String(n)) gives back a tree equal to n (reflect.DeepEqual) for every tree the parsers
// of this package produce, except trees holding an Exists or an empty Or, which the Algolia
// syntax cannot express: an Exists is rendered EXISTS(attr), an empty And "(AND)" and an empty
// Or "(OR)", none of which Parse accepts. A one-child And or Or (which no parser produces)
// renders as its child in parentheses, which parses back as the child alone; a Facet on _tags
// renders _tags:value, which parses back as a Tag.
func String(n Node) string {
	var b strings.Builder
	write(&b, n)
	return b.String()
}

// write renders n into b.
func write(b *strings.Builder, n Node) {
	switch x := n.(type) {
	case nil:
	case And:
		writeGroup(b, x.Nodes, " AND ", "(AND)")
	case Or:
		writeGroup(b, x.Nodes, " OR ", "(OR)")
	case Not:
		b.WriteString("NOT ")
		write(b, x.Node)
	case Facet:
		writeText(b, x.Attr)
		b.WriteByte(':')
		writeText(b, x.Value)
	case Tag:
		writeText(b, x.Value)
	case Numeric:
		writeText(b, x.Attr)
		b.WriteString(x.Op.String())
		b.WriteString(formatNumber(x.Value))
	case Range:
		writeText(b, x.Attr)
		b.WriteByte(':')
		b.WriteString(formatNumber(x.Min))
		b.WriteString(" TO ")
		b.WriteString(formatNumber(x.Max))
	case Exists:
		b.WriteString("EXISTS(")
		writeText(b, x.Attr)
		b.WriteByte(')')
	default:
		fmt.Fprintf(b, "<%T>", n)
	}
}

// writeGroup renders the children of an And or Or, parenthesised.
func writeGroup(b *strings.Builder, nodes []Node, sep, empty string) {
	if len(nodes) == 0 {
		b.WriteString(empty)
		return
	}
	b.WriteByte('(')
	for i, c := range nodes {
		if i > 0 {
			b.WriteString(sep)
		}
		write(b, c)
	}
	b.WriteByte(')')
}

// plainWord reports whether s can be written unquoted as an attribute, a value or a tag.
func plainWord(s string) bool {
	if s == "" || isKeyword(s) {
		return false
	}
	for _, r := range s {
		if r == utf8.RuneError {
			return false
		}
		if !unicode.IsLetter(r) && !unicode.IsDigit(r) && r != '_' && r != '-' && r != '.' {
			return false
		}
	}
	return true
}

// writeText writes s as a plain word or a double-quoted string.
func writeText(b *strings.Builder, s string) {
	if plainWord(s) {
		b.WriteString(s)
		return
	}
	b.WriteByte('"')
	for i := 0; i < len(s); i++ {
		if s[i] == '"' || s[i] == '\\' {
			b.WriteByte('\\')
		}
		b.WriteByte(s[i])
	}
	b.WriteByte('"')
}

// Walk calls fn for n and then, when fn returns true, for each of n's children in order,
// depth first. It does nothing for a nil tree.
func Walk(n Node, fn func(Node) bool) {
	if n == nil || !fn(n) {
		return
	}
	switch x := n.(type) {
	case And:
		for _, c := range x.Nodes {
			Walk(c, fn)
		}
	case Or:
		for _, c := range x.Nodes {
			Walk(c, fn)
		}
	case Not:
		Walk(x.Node, fn)
	}
}

// Attributes returns the distinct attributes a tree mentions, sorted, with "_tags" standing
// for every Tag; nil when there are none. Callers check them against attributesForFaceting.
func Attributes(n Node) []string {
	var attrs []string
	Walk(n, func(n Node) bool {
		switch x := n.(type) {
		case Facet:
			attrs = append(attrs, x.Attr)
		case Tag:
			attrs = append(attrs, tagsAttr)
		case Numeric:
			attrs = append(attrs, x.Attr)
		case Range:
			attrs = append(attrs, x.Attr)
		case Exists:
			attrs = append(attrs, x.Attr)
		}
		return true
	})
	slices.Sort(attrs)
	return slices.Compact(attrs)
}
