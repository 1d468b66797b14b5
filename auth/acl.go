package auth

import (
	"fmt"
	"sort"
)

// ACL is a set of rights, as in Algolia's key API.
type ACL uint32

// The rights a key may hold.
const (
	ACLSearch ACL = 1 << iota
	ACLBrowse
	ACLAddObject
	ACLDeleteObject
	ACLDeleteIndex
	ACLSettings
	ACLEditSettings
	ACLListIndexes
	ACLLogs
	ACLAnalytics
	ACLRecommendation
	ACLUsage
	ACLInference
	ACLSeeUnretrievableAttributes
)

// ACLAll holds every right (the admin key).
const ACLAll ACL = 1<<14 - 1

var aclNames = map[string]ACL{
	"search":                     ACLSearch,
	"browse":                     ACLBrowse,
	"addObject":                  ACLAddObject,
	"deleteObject":               ACLDeleteObject,
	"deleteIndex":                ACLDeleteIndex,
	"settings":                   ACLSettings,
	"editSettings":               ACLEditSettings,
	"listIndexes":                ACLListIndexes,
	"logs":                       ACLLogs,
	"analytics":                  ACLAnalytics,
	"recommendation":             ACLRecommendation,
	"usage":                      ACLUsage,
	"inference":                  ACLInference,
	"seeUnretrievableAttributes": ACLSeeUnretrievableAttributes,
}

// ParseACL turns Algolia ACL names into a set; an unknown name is an error naming it.
func ParseACL(names []string) (ACL, error) {
	var a ACL
	for _, n := range names {
		bit, ok := aclNames[n]
		if !ok {
			return 0, fmt.Errorf("unknown ACL %q", n)
		}
		a |= bit
	}
	return a, nil
}

// Names lists the rights in a, sorted.
func (a ACL) Names() []string {
	out := []string{}
	for n, bit := range aclNames {
		if a&bit != 0 {
			out = append(out, n)
		}
	}
	sort.Strings(out)
	return out
}
