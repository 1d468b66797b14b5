package query

import "github.com/keyhole-search/keyhole/index"

// These accessors read index settings with Algolia's defaults for unset values.

func settingUserAttribute(st index.Settings) string { return st.UserAttribute }

func settingTypo(st index.Settings) string {
	if st.TypoTolerance == "" {
		return string(index.TypoOn)
	}
	return string(st.TypoTolerance)
}

func settingTypoSizes(st index.Settings) (int, int) {
	a, b := st.MinWordSizeFor1Typo, st.MinWordSizeFor2Typos
	if a <= 0 {
		a = 4
	}
	if b <= 0 {
		b = 8
	}
	return a, b
}

func settingHitsPerPage(st index.Settings) int {
	if st.HitsPerPage <= 0 {
		return 20
	}
	return st.HitsPerPage
}

func settingPaginationLimit(st index.Settings) int {
	if st.PaginationLimitedTo <= 0 {
		return 1000
	}
	return st.PaginationLimitedTo
}

func settingMaxValuesPerFacet(st index.Settings) int {
	if st.MaxValuesPerFacet <= 0 {
		return 100
	}
	return st.MaxValuesPerFacet
}

func settingTags(st index.Settings) (string, string) {
	pre, post := st.HighlightPreTag, st.HighlightPostTag
	if pre == "" && post == "" {
		return "<em>", "</em>"
	}
	return pre, post
}

func settingEllipsis(st index.Settings) string {
	if st.SnippetEllipsisText == "" {
		return "…"
	}
	return st.SnippetEllipsisText
}

func settingHighlight(st index.Settings) []string { return st.AttributesToHighlight }

func settingSearchable(st index.Settings) []string { return st.SearchableAttributes }

func settingSnippet(st index.Settings) []string { return st.AttributesToSnippet }

func settingRetrieve(st index.Settings) []string {
	if st.AttributesToRetrieve == nil {
		return []string{"*"}
	}
	return st.AttributesToRetrieve
}

func settingUnretrievable(st index.Settings) []string { return st.UnretrievableAttributes }

func settingCustomRanking(st index.Settings) []index.RankKey { return st.CustomRanking() }
