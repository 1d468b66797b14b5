// Package index owns keyhole's named indexes and every Bleve handle behind them: it opens them
// at start, closes them at shutdown, turns schemaless JSON records into Bleve documents, keeps
// each index's Algolia-style settings, and makes every write durable before it returns.
//
// Physical layout (private to this package):
//
//	<dataDir>/indexes/.lock               flock held while a Manager is open
//	<dataDir>/indexes/<hex(name)>/meta.json   name, dates, settings, current generation
//	<dataDir>/indexes/<hex(name)>/gen-N/      the Bleve (scorch) index of generation N
//
// or, when the settings name a tenantAttribute (see layout.go and shards.go):
//
//	<dataDir>/indexes/<hex(name)>/gen-N/layout.json       tenants with a shard of their own
//	<dataDir>/indexes/<hex(name)>/gen-N/shard-<name>/     one Bleve index per shard
//
// A new index is built as .tmp-<hex> and renamed into place; a deleted index is renamed to
// .del-<hex>-<task> and then removed; a settings change that alters the indexed fields builds
// gen-N+1 from gen-N's stored records while gen-N keeps serving, then swaps. Open removes
// whatever a crash left half done and restarts unfinished rebuilds.
//
// Field names inside a Bleve document are built by TextField, FacetField, FacetLowerField,
// NumericField and the Field* constants; the search layer builds its queries with them.
package index
