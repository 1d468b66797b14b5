package index

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"unicode"
)

// TypoMode is the typoTolerance setting: "true", "false", "min" or "strict". It marshals as
// Algolia does: a JSON boolean for true and false, a string for min and strict.
type TypoMode string

// The values of TypoMode.
const (
	TypoOn     TypoMode = "true"
	TypoOff    TypoMode = "false"
	TypoMin    TypoMode = "min"
	TypoStrict TypoMode = "strict"
)

// MarshalJSON writes true/false as booleans, min/strict as strings.
func (t TypoMode) MarshalJSON() ([]byte, error) {
	switch t {
	case TypoOn, "":
		return []byte("true"), nil
	case TypoOff:
		return []byte("false"), nil
	}
	return json.Marshal(string(t))
}

// Settings are the settings of one index, with Algolia's JSON names. A Settings obtained
// from this package always has every default filled in; its JSON is the shape of Algolia's
// GET /1/indexes/{name}/settings. Unmarshalling JSON into a Settings applies it as a patch
// over the defaults, with the same validation as SetSettings.
type Settings struct {
	// SearchableAttributes lists "attr", "unordered(attr)" or "a,b" (same rank); empty means
	// every attribute, all at the same rank.
	SearchableAttributes []string `json:"searchableAttributes"`
	// AttributesForFaceting lists "attr", "filterOnly(attr)", "searchable(attr)",
	// "afterDistinct(attr)".
	AttributesForFaceting []string `json:"attributesForFaceting"`
	// AttributesToRetrieve lists attributes returned in hits; "*" is all, "-attr" excludes.
	AttributesToRetrieve []string `json:"attributesToRetrieve"`
	// UnretrievableAttributes are never returned, unless the key may see them.
	UnretrievableAttributes []string `json:"unretrievableAttributes"`
	// CustomRankingRules lists "asc(attr)" / "desc(attr)" (Algolia's customRanking).
	CustomRankingRules []string `json:"customRanking"`
	// AttributesToHighlight lists attributes to highlight; "*" is all.
	AttributesToHighlight []string `json:"attributesToHighlight"`
	// AttributesToSnippet lists "attr" or "attr:N" (N words).
	AttributesToSnippet []string `json:"attributesToSnippet"`
	// HitsPerPage is the default page size, 1..1000.
	HitsPerPage int `json:"hitsPerPage"`
	// PaginationLimitedTo caps how many hits can be paged through, 1..20000.
	PaginationLimitedTo int `json:"paginationLimitedTo"`
	// MaxValuesPerFacet caps the values returned per facet, 1..1000.
	MaxValuesPerFacet int `json:"maxValuesPerFacet"`
	// TypoTolerance is true, false, "min" or "strict".
	TypoTolerance TypoMode `json:"typoTolerance"`
	// MinWordSizeFor1Typo is the shortest word that may match with one typo.
	MinWordSizeFor1Typo int `json:"minWordSizefor1Typo"`
	// MinWordSizeFor2Typos is the shortest word that may match with two typos.
	MinWordSizeFor2Typos int `json:"minWordSizefor2Typos"`
	// HighlightPreTag opens a highlighted match.
	HighlightPreTag string `json:"highlightPreTag"`
	// HighlightPostTag closes a highlighted match.
	HighlightPostTag string `json:"highlightPostTag"`
	// SnippetEllipsisText marks cut text in snippets.
	SnippetEllipsisText string `json:"snippetEllipsisText"`
	// UserAttribute (keyhole's own) is the attribute a user token's sub is forced onto.
	// It is always indexed for exact filtering in FacetField / FacetLowerField, faceted
	// or not. Security: records without it are visible to no user token.
	UserAttribute string `json:"userAttribute"`
	// PublicKey (keyhole's own) is the index's AddSearch-style sitekey: GET /v1/search/{publicKey}
	// searches this index. Empty (the default) disables that endpoint for the index.
	PublicKey string `json:"publicKey"`
	// RequireJWT (keyhole's own) makes the sitekey endpoint refuse requests without a valid
	// JWT. Warning: when false, anyone who knows the publicKey can search the whole index.
	RequireJWT bool `json:"requireJwt"`
	// JWTKeyID (keyhole's own) is the id of the stored key whose value checks sitekey JWTs
	// that name no key (AddSearch's tokens carry no kid).
	JWTKeyID string `json:"jwtKeyId"`
	// TenantAttribute (keyhole's own) partitions the index physically by this attribute:
	// a search whose filters pin it to a few values reads only the shards holding them.
	// Empty (the default): one Bleve index. Changing it rebuilds the index in the background.
	TenantAttribute string `json:"tenantAttribute"`
	// TenantShards (keyhole's own) is the number of shared shards that small tenants are
	// hashed into, 1..64 (default 4).
	TenantShards int `json:"tenantShards"`
	// TenantOwnShardMin (keyhole's own) is the number of records from which a tenant gets a
	// shard of its own (at most MaxOwnShards tenants do, biggest first). Default 2000.
	TenantOwnShardMin int `json:"tenantOwnShardMin"`
}

// Limits of the numeric settings.
const (
	MaxHitsPerPage         = 1000
	MaxPaginationLimitedTo = 20000
	MaxValuesPerFacetLimit = 1000
	// DefaultSnippetWords is the snippet length of an "attr" entry without ":N".
	DefaultSnippetWords = 10
	// MaxTenantShards bounds tenantShards.
	MaxTenantShards = 64
	// MaxTenantOwnShardMin bounds tenantOwnShardMin.
	MaxTenantOwnShardMin = 100_000_000
	// MaxOwnShards is the most tenants that get a shard of their own.
	MaxOwnShards = 256
)

// DefaultSettings returns the settings of a new index.
func DefaultSettings() Settings {
	return Settings{
		AttributesToRetrieve: []string{"*"},
		HitsPerPage:          20,
		PaginationLimitedTo:  1000,
		MaxValuesPerFacet:    100,
		TypoTolerance:        TypoOn,
		MinWordSizeFor1Typo:  4,
		MinWordSizeFor2Typos: 8,
		HighlightPreTag:      "<em>",
		HighlightPostTag:     "</em>",
		SnippetEllipsisText:  "…",
		TenantShards:         4,
		TenantOwnShardMin:    2000,
	}
}

// settingsJSON has the fields of Settings without its methods.
type settingsJSON Settings

// MarshalJSON writes the Algolia GET shape (defaults filled in; unset lists are null).
func (s Settings) MarshalJSON() ([]byte, error) {
	d := DefaultSettings()
	if s.HitsPerPage == 0 {
		s.HitsPerPage = d.HitsPerPage
	}
	if s.PaginationLimitedTo == 0 {
		s.PaginationLimitedTo = d.PaginationLimitedTo
	}
	if s.MaxValuesPerFacet == 0 {
		s.MaxValuesPerFacet = d.MaxValuesPerFacet
	}
	if s.MinWordSizeFor1Typo == 0 {
		s.MinWordSizeFor1Typo = d.MinWordSizeFor1Typo
	}
	if s.MinWordSizeFor2Typos == 0 {
		s.MinWordSizeFor2Typos = d.MinWordSizeFor2Typos
	}
	if s.AttributesToRetrieve == nil {
		s.AttributesToRetrieve = d.AttributesToRetrieve
	}
	if s.TenantShards == 0 {
		s.TenantShards = d.TenantShards
	}
	if s.TenantOwnShardMin == 0 {
		s.TenantOwnShardMin = d.TenantOwnShardMin
	}
	return json.Marshal(settingsJSON(s))
}

// UnmarshalJSON applies data as a patch over DefaultSettings (see Settings.Patch).
func (s *Settings) UnmarshalJSON(data []byte) error {
	var patch map[string]json.RawMessage
	if err := json.Unmarshal(data, &patch); err != nil {
		return errorf(ErrInvalidSettings, "settings must be a JSON object")
	}
	ns, err := DefaultSettings().Patch(patch)
	if err != nil {
		return err
	}
	*s = ns
	return nil
}

// Clone returns a deep copy of s.
func (s Settings) Clone() Settings {
	s.SearchableAttributes = slices.Clone(s.SearchableAttributes)
	s.AttributesForFaceting = slices.Clone(s.AttributesForFaceting)
	s.AttributesToRetrieve = slices.Clone(s.AttributesToRetrieve)
	s.UnretrievableAttributes = slices.Clone(s.UnretrievableAttributes)
	s.CustomRankingRules = slices.Clone(s.CustomRankingRules)
	s.AttributesToHighlight = slices.Clone(s.AttributesToHighlight)
	s.AttributesToSnippet = slices.Clone(s.AttributesToSnippet)
	return s
}

// Patch returns s with the keys of patch applied, Algolia style: only keys present change, a
// JSON null resets that setting to its default, unknown keys are ignored. Errors wrap
// ErrInvalidSettings and name the setting.
func (s Settings) Patch(patch map[string]json.RawMessage) (Settings, error) {
	out := s.Clone()
	d := DefaultSettings()
	// Iterate in a fixed order so that the first error reported is deterministic.
	keys := make([]string, 0, len(patch))
	for k := range patch {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		raw := bytes.TrimSpace(patch[k])
		null := len(raw) == 0 || string(raw) == "null"
		var err error
		switch k {
		case "searchableAttributes":
			out.SearchableAttributes, err = listSetting(k, raw, null, d.SearchableAttributes, checkSearchableEntry)
		case "attributesForFaceting":
			out.AttributesForFaceting, err = listSetting(k, raw, null, d.AttributesForFaceting, checkFacetEntry)
		case "attributesToRetrieve":
			out.AttributesToRetrieve, err = listSetting(k, raw, null, d.AttributesToRetrieve, checkRetrieveEntry)
		case "unretrievableAttributes":
			out.UnretrievableAttributes, err = listSetting(k, raw, null, d.UnretrievableAttributes, checkAttrEntry)
		case "customRanking":
			out.CustomRankingRules, err = listSetting(k, raw, null, d.CustomRankingRules, checkRankEntry)
		case "attributesToHighlight":
			out.AttributesToHighlight, err = listSetting(k, raw, null, d.AttributesToHighlight, checkRetrieveEntry)
		case "attributesToSnippet":
			out.AttributesToSnippet, err = listSetting(k, raw, null, d.AttributesToSnippet, checkSnippetEntry)
		case "hitsPerPage":
			out.HitsPerPage, err = intSetting(k, raw, null, d.HitsPerPage, 1, MaxHitsPerPage)
		case "paginationLimitedTo":
			out.PaginationLimitedTo, err = intSetting(k, raw, null, d.PaginationLimitedTo, 1, MaxPaginationLimitedTo)
		case "maxValuesPerFacet":
			out.MaxValuesPerFacet, err = intSetting(k, raw, null, d.MaxValuesPerFacet, 1, MaxValuesPerFacetLimit)
		case "minWordSizefor1Typo":
			out.MinWordSizeFor1Typo, err = intSetting(k, raw, null, d.MinWordSizeFor1Typo, 1, 100)
		case "minWordSizefor2Typos":
			out.MinWordSizeFor2Typos, err = intSetting(k, raw, null, d.MinWordSizeFor2Typos, 1, 100)
		case "typoTolerance":
			out.TypoTolerance, err = typoSetting(raw, null)
		case "highlightPreTag":
			out.HighlightPreTag, err = stringSetting(k, raw, null, d.HighlightPreTag)
		case "highlightPostTag":
			out.HighlightPostTag, err = stringSetting(k, raw, null, d.HighlightPostTag)
		case "snippetEllipsisText":
			out.SnippetEllipsisText, err = stringSetting(k, raw, null, d.SnippetEllipsisText)
		case "userAttribute":
			out.UserAttribute, err = stringSetting(k, raw, null, d.UserAttribute)
			if err == nil && out.UserAttribute != "" {
				if e := checkAttrName(out.UserAttribute); e != "" {
					err = errorf(ErrInvalidSettings, "userAttribute: %s", e)
				}
			}
		case "tenantAttribute":
			out.TenantAttribute, err = stringSetting(k, raw, null, d.TenantAttribute)
			if err == nil && out.TenantAttribute != "" {
				if e := checkAttrName(out.TenantAttribute); e != "" {
					err = errorf(ErrInvalidSettings, "tenantAttribute: %s", e)
				} else if out.TenantAttribute == FieldTags || out.TenantAttribute == "objectID" {
					err = errorf(ErrInvalidSettings, "tenantAttribute: %q cannot be the tenant attribute", out.TenantAttribute)
				}
			}
		case "tenantShards":
			out.TenantShards, err = intSetting(k, raw, null, d.TenantShards, 1, MaxTenantShards)
		case "tenantOwnShardMin":
			out.TenantOwnShardMin, err = intSetting(k, raw, null, d.TenantOwnShardMin, 1, MaxTenantOwnShardMin)
		case "publicKey":
			out.PublicKey, err = stringSetting(k, raw, null, d.PublicKey)
		case "jwtKeyId":
			out.JWTKeyID, err = stringSetting(k, raw, null, d.JWTKeyID)
		case "requireJwt":
			out.RequireJWT = d.RequireJWT
			if !null && json.Unmarshal(raw, &out.RequireJWT) != nil {
				err = errorf(ErrInvalidSettings, "requireJwt: must be true or false, got %s", raw)
			}
		}
		if err != nil {
			return s, err
		}
	}
	if out.MinWordSizeFor1Typo > out.MinWordSizeFor2Typos {
		return s, errorf(ErrInvalidSettings, "minWordSizefor1Typo (%d) must not exceed minWordSizefor2Typos (%d)",
			out.MinWordSizeFor1Typo, out.MinWordSizeFor2Typos)
	}
	return out, nil
}

func listSetting(name string, raw []byte, null bool, def []string, check func(string) string) ([]string, error) {
	if null {
		return slices.Clone(def), nil
	}
	var list []string
	if err := json.Unmarshal(raw, &list); err != nil {
		return nil, errorf(ErrInvalidSettings, "%s: must be an array of strings", name)
	}
	for i, e := range list {
		if msg := check(e); msg != "" {
			return nil, errorf(ErrInvalidSettings, "%s[%d] %q: %s", name, i, e, msg)
		}
	}
	if list == nil {
		list = []string{}
	}
	return list, nil
}

func intSetting(name string, raw []byte, null bool, def, lo, hi int) (int, error) {
	if null {
		return def, nil
	}
	n, err := strconv.ParseInt(string(raw), 10, 64)
	if err != nil || n < int64(lo) || n > int64(hi) {
		return 0, errorf(ErrInvalidSettings, "%s: must be an integer between %d and %d, got %s", name, lo, hi, raw)
	}
	return int(n), nil
}

func stringSetting(name string, raw []byte, null bool, def string) (string, error) {
	if null {
		return def, nil
	}
	var v string
	if err := json.Unmarshal(raw, &v); err != nil {
		return "", errorf(ErrInvalidSettings, "%s: must be a string", name)
	}
	return v, nil
}

func typoSetting(raw []byte, null bool) (TypoMode, error) {
	if null {
		return TypoOn, nil
	}
	var v any
	if err := json.Unmarshal(raw, &v); err == nil {
		switch v := v.(type) {
		case bool:
			if v {
				return TypoOn, nil
			}
			return TypoOff, nil
		case string:
			switch TypoMode(v) {
			case TypoOn, TypoOff, TypoMin, TypoStrict:
				return TypoMode(v), nil
			}
		}
	}
	return "", errorf(ErrInvalidSettings, `typoTolerance: must be true, false, "min" or "strict", got %s`, raw)
}

// checkAttrName returns what is wrong with an attribute path, or "".
func checkAttrName(a string) string {
	if a == "" {
		return "attribute name must not be empty"
	}
	if a == "*" {
		return `"*" is not allowed here`
	}
	for _, r := range a {
		if unicode.IsControl(r) {
			return "attribute name must not contain control characters"
		}
	}
	if strings.HasPrefix(a, ".") || strings.HasSuffix(a, ".") || strings.Contains(a, "..") {
		return "attribute path has an empty segment"
	}
	return ""
}

func checkAttrEntry(e string) string { return checkAttrName(e) }

// unwrap returns the inner text of fn(inner), if e has that form.
func unwrap(e, fn string) (string, bool) {
	if strings.HasPrefix(e, fn+"(") && strings.HasSuffix(e, ")") {
		return e[len(fn)+1 : len(e)-1], true
	}
	return "", false
}

func checkSearchableEntry(e string) string {
	for _, part := range strings.Split(e, ",") {
		part = strings.TrimSpace(part)
		if inner, ok := unwrap(part, "unordered"); ok {
			part = inner
		} else if strings.ContainsAny(part, "()") {
			return "only unordered(attr) is allowed"
		}
		if msg := checkAttrName(part); msg != "" {
			return msg
		}
	}
	return ""
}

func checkFacetEntry(e string) string {
	_, err := parseFacet(e)
	return err
}

func checkRetrieveEntry(e string) string {
	if e == "*" {
		return ""
	}
	return checkAttrName(strings.TrimPrefix(e, "-"))
}

func checkRankEntry(e string) string {
	if _, err := parseRank(e); err != "" {
		return err
	}
	return ""
}

func checkSnippetEntry(e string) string {
	_, err := parseSnippet(e)
	return err
}

// SearchableAttribute is one searchable attribute: its name, the text field that holds its
// words, its rank (0 is first and highest) and whether the position of a match within the
// attribute is ignored.
type SearchableAttribute struct {
	Name      string
	Field     string
	Rank      int
	Unordered bool
}

// Searchable parses searchableAttributes. It is empty when every attribute is searchable
// (see Index.SearchableAttributes for the fields present).
func (s Settings) Searchable() []SearchableAttribute {
	var out []SearchableAttribute
	seen := map[string]bool{}
	for rank, e := range s.SearchableAttributes {
		for _, part := range strings.Split(e, ",") {
			part = strings.TrimSpace(part)
			inner, unordered := unwrap(part, "unordered")
			if unordered {
				part = inner
			}
			if part == "" || seen[part] {
				continue
			}
			seen[part] = true
			out = append(out, SearchableAttribute{Name: part, Field: TextField(part), Rank: rank, Unordered: unordered})
		}
	}
	return out
}

// FacetAttribute is one entry of attributesForFaceting.
type FacetAttribute struct {
	Name          string
	FilterOnly    bool
	Searchable    bool
	AfterDistinct bool
}

func parseFacet(e string) (FacetAttribute, string) {
	var f FacetAttribute
	if inner, ok := unwrap(e, "afterDistinct"); ok {
		f.AfterDistinct, e = true, inner
	}
	if inner, ok := unwrap(e, "filterOnly"); ok {
		f.FilterOnly, e = true, inner
	} else if inner, ok := unwrap(e, "searchable"); ok {
		f.Searchable, e = true, inner
	}
	if strings.ContainsAny(e, "()") {
		return f, "only filterOnly(attr), searchable(attr) and afterDistinct(attr) are allowed"
	}
	if msg := checkAttrName(e); msg != "" {
		return f, msg
	}
	f.Name = e
	return f, ""
}

// Facets parses attributesForFaceting.
func (s Settings) Facets() []FacetAttribute {
	var out []FacetAttribute
	for _, e := range s.AttributesForFaceting {
		if f, err := parseFacet(e); err == "" {
			out = append(out, f)
		}
	}
	return out
}

// IsFacet reports whether attr is in attributesForFaceting (filterOnly or not).
func (s Settings) IsFacet(attr string) bool {
	for _, f := range s.Facets() {
		if f.Name == attr {
			return true
		}
	}
	return false
}

// RankKey is one customRanking entry.
type RankKey struct {
	Attr string
	Desc bool
}

func parseRank(e string) (RankKey, string) {
	var k RankKey
	inner, ok := unwrap(e, "asc")
	if !ok {
		inner, ok = unwrap(e, "desc")
		k.Desc = true
	}
	if !ok {
		return k, "must be asc(attr) or desc(attr)"
	}
	if msg := checkAttrName(inner); msg != "" {
		return k, msg
	}
	k.Attr = inner
	return k, ""
}

// CustomRanking parses customRanking.
func (s Settings) CustomRanking() []RankKey {
	var out []RankKey
	for _, e := range s.CustomRankingRules {
		if k, err := parseRank(e); err == "" {
			out = append(out, k)
		}
	}
	return out
}

// SnippetAttribute is one attributesToSnippet entry.
type SnippetAttribute struct {
	Name  string
	Words int
}

func parseSnippet(e string) (SnippetAttribute, string) {
	sa := SnippetAttribute{Name: e, Words: DefaultSnippetWords}
	if i := strings.LastIndexByte(e, ':'); i >= 0 {
		n, err := strconv.Atoi(e[i+1:])
		if err != nil || n < 1 || n > 1000 {
			return sa, "word count after ':' must be an integer between 1 and 1000"
		}
		sa.Name, sa.Words = e[:i], n
	}
	if sa.Name == "*" {
		return sa, ""
	}
	if msg := checkAttrName(sa.Name); msg != "" {
		return sa, msg
	}
	return sa, ""
}

// Snippets parses attributesToSnippet.
func (s Settings) Snippets() []SnippetAttribute {
	var out []SnippetAttribute
	for _, e := range s.AttributesToSnippet {
		if sa, err := parseSnippet(e); err == "" {
			out = append(out, sa)
		}
	}
	return out
}

// TypoMode returns typoTolerance ("" is read as TypoOn).
func (s Settings) TypoMode() TypoMode {
	if s.TypoTolerance == "" {
		return TypoOn
	}
	return s.TypoTolerance
}

// fieldSpec is the part of the settings that decides which fields a document gets; a change
// of it needs a rebuild.
type fieldSpec struct {
	AllText bool     `json:"allText"`
	Text    []string `json:"text,omitempty"`
	Facets  []string `json:"facets,omitempty"`
	// Tenant, when set, partitions the generation into shards (see layout.go).
	Tenant *tenantSpec `json:"tenant,omitempty"`
}

// tenantSpec is the partitioning of a generation: its tenant attribute and the thresholds
// its layout was decided with.
type tenantSpec struct {
	Attr        string `json:"attr"`
	Shared      int    `json:"shared"`
	OwnShardMin int    `json:"ownShardMin"`
}

func specOf(s Settings) fieldSpec {
	var sp fieldSpec
	for _, a := range s.Searchable() {
		sp.Text = append(sp.Text, a.Name)
	}
	sp.AllText = len(sp.Text) == 0
	for _, f := range s.Facets() {
		sp.Facets = append(sp.Facets, f.Name)
	}
	if s.UserAttribute != "" {
		sp.Facets = append(sp.Facets, s.UserAttribute)
	}
	slices.Sort(sp.Text)
	sp.Text = slices.Compact(sp.Text)
	slices.Sort(sp.Facets)
	sp.Facets = slices.Compact(sp.Facets)
	if s.TenantAttribute != "" {
		d := DefaultSettings()
		ts := &tenantSpec{Attr: s.TenantAttribute, Shared: s.TenantShards, OwnShardMin: s.TenantOwnShardMin}
		if ts.Shared <= 0 {
			ts.Shared = d.TenantShards
		}
		if ts.OwnShardMin <= 0 {
			ts.OwnShardMin = d.TenantOwnShardMin
		}
		sp.Tenant = ts
	}
	return sp
}

func (a fieldSpec) equal(b fieldSpec) bool {
	if (a.Tenant == nil) != (b.Tenant == nil) || (a.Tenant != nil && *a.Tenant != *b.Tenant) {
		return false
	}
	return a.AllText == b.AllText && slices.Equal(a.Text, b.Text) && slices.Equal(a.Facets, b.Facets)
}

func (a fieldSpec) String() string {
	t := "all"
	if !a.AllText {
		t = strings.Join(a.Text, ",")
	}
	out := fmt.Sprintf("text=[%s] facets=[%s]", t, strings.Join(a.Facets, ","))
	if a.Tenant != nil {
		out += fmt.Sprintf(" tenant=%s shared=%d ownMin=%d", a.Tenant.Attr, a.Tenant.Shared, a.Tenant.OwnShardMin)
	}
	return out
}
