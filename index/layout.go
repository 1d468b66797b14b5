package index

import (
	"cmp"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

// A partitioned generation (fieldSpec.Tenant set) holds several Bleve indexes, its shards,
// in <gen>/shard-<name>/, and its layout in <gen>/layout.json. Every record lives in exactly
// one shard, chosen from its tenant key (see tenantKeyOf):
//
//   - shard 0, "mixed": records whose tenant attribute holds several values or an object;
//     every search reads it (when it is not empty);
//   - shards 1..Shared, "s0".."s<Shared-1>": tenants without a shard of their own, by
//     hash(key) % Shared;
//   - the remaining shards, "o0", "o1"...: one per tenant listed in layout.Own.
//
// The layout is decided when the generation is built, from the record counts of each
// tenant, and never changes during the generation's life (a tenant that grows triggers a
// rebuild into a new generation).

const (
	layoutName      = "layout.json"
	shardDirPrefix  = "shard-"
	mixedShardName  = "mixed"
	mixedShard      = 0
	tenantField     = "_tenant" // one exact term per record: tenantTerm(key) or mixedTerm
	seqField        = "_seq"    // stored only: the write sequence number of the record
	seqInternalKey  = "keyhole.seq"
	mixedTerm       = "#mixed"
	tenantTermStart = "="
)

// layout is the persisted shard layout of a partitioned generation.
type layout struct {
	Attr   string `json:"tenantAttribute"`
	Shared int    `json:"sharedShards"`
	// Own lists the tenant keys that have a shard of their own; Own[i] is shard "o<i>".
	Own []string `json:"own"`

	own map[string]int // key -> shard number
}

func (l *layout) init() {
	l.own = make(map[string]int, len(l.Own))
	for i, k := range l.Own {
		l.own[k] = 1 + l.Shared + i
	}
}

// numShards is the number of shards, the mixed one included.
func (l *layout) numShards() int { return 1 + l.Shared + len(l.Own) }

// shardName names shard i.
func (l *layout) shardName(i int) string {
	switch {
	case i == mixedShard:
		return mixedShardName
	case i <= l.Shared:
		return "s" + strconv.Itoa(i-1)
	}
	return "o" + strconv.Itoa(i-1-l.Shared)
}

// shardOf returns the shard of a tenant key (not the mixed shard).
func (l *layout) shardOf(key string) int {
	if i, ok := l.own[key]; ok {
		return i
	}
	h := fnv.New32a()
	_, _ = h.Write([]byte(key))
	return 1 + int(h.Sum32()%uint32(l.Shared))
}

// isShared reports whether shard i is a shared one.
func (l *layout) isShared(i int) bool { return i >= 1 && i <= l.Shared }

// decideLayout gives a shard of its own to every tenant with at least ts.OwnShardMin
// records, MaxOwnShards at most, biggest first. counts maps tenant keys to record counts.
func decideLayout(ts tenantSpec, counts map[string]int) *layout {
	l := &layout{Attr: ts.Attr, Shared: ts.Shared, Own: []string{}}
	for k, n := range counts {
		if n >= ts.OwnShardMin {
			l.Own = append(l.Own, k)
		}
	}
	slices.SortFunc(l.Own, func(a, b string) int {
		if c := cmp.Compare(counts[b], counts[a]); c != 0 {
			return c
		}
		return strings.Compare(a, b)
	})
	if len(l.Own) > MaxOwnShards {
		l.Own = l.Own[:MaxOwnShards]
	}
	l.init()
	return l
}

func saveLayout(dir string, l *layout) error {
	data, err := json.MarshalIndent(l, "", "  ")
	if err != nil {
		return err
	}
	return writeFileAtomic(dir, layoutName, data)
}

func loadLayout(dir string) (*layout, error) {
	data, err := os.ReadFile(filepath.Join(dir, layoutName))
	if err != nil {
		return nil, err
	}
	var l layout
	if err := json.Unmarshal(data, &l); err != nil {
		return nil, fmt.Errorf("parse %s: %w", layoutName, err)
	}
	if l.Shared < 1 || l.Attr == "" {
		return nil, fmt.Errorf("%s: bad layout", layoutName)
	}
	l.init()
	return &l, nil
}

// TenantKey normalises a facet value the way facet filters compare it (the lowercased term
// of FacetLowerField): the routing key of a tenant whose attribute holds that value.
func TenantKey(facetValue string) string { return strings.ToLower(facetValue) }

// tenantKeyOf returns the routing key of a record for tenant attribute attr: the TenantKey
// of the one facet value at attr, "" when it has none, mixed when it has several distinct
// ones or an object there (such a record can match facet filters on several values).
func tenantKeyOf(rec map[string]any, attr string) (key string, mixed bool, err error) {
	fr, err := flatten(rec)
	if err != nil {
		return "", false, err
	}
	found := false
	for _, l := range fr.leaves {
		if !under(l.path, attr) {
			continue
		}
		if l.path != attr {
			return "", true, nil
		}
		v, ok := FacetValue(l.value)
		if !ok || v == "" {
			continue // buildDocument indexes no facet term for it either
		}
		k := TenantKey(v)
		if found && k != key {
			return "", true, nil
		}
		key, found = k, true
	}
	// An object at attr without leaves still counts as an object.
	for _, p := range fr.exists {
		if len(p) > len(attr) && under(p, attr) {
			return "", true, nil
		}
	}
	return key, false, nil
}

func tenantTerm(key string, mixed bool) string {
	if mixed {
		return mixedTerm
	}
	return tenantTermStart + key
}
