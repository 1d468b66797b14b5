package auth

// PublicSearch returns the principal of an anonymous search through an index's public
// sitekey (the AddSearch dialect, when the index does not require a JWT): search only, on
// that one index only. Warning: it restricts no records; an index that holds private data
// must set requireJwt.
func PublicSearch(index string) *Principal {
	return &Principal{
		Kind:         KindAPIKey,
		KeyID:        "sitekey:" + index,
		ACL:          ACLSearch,
		Restrictions: Restrictions{IndexLayers: [][]string{{index}}},
	}
}
