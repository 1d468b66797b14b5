package main

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"math/rand/v2"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// crashSettings are the settings the crash test changes: both alter the indexed fields, so
// every change starts a background rebuild.
type crashSettings struct {
	Facets     []string `json:"attributesForFaceting"`
	Searchable []string `json:"searchableAttributes"`
}

func (s crashSettings) norm() crashSettings {
	if s.Facets == nil {
		s.Facets = []string{}
	}
	if s.Searchable == nil {
		s.Searchable = []string{}
	}
	return s
}

func (s crashSettings) equal(o crashSettings) bool {
	return slices.Equal(s.norm().Facets, o.norm().Facets) && slices.Equal(s.norm().Searchable, o.norm().Searchable)
}

// The title is searchable in every option, so that the text check holds during rebuilds.
var (
	crashFacetOpts      = [][]string{{"tenant"}, {"tenant", "color"}, {}}
	crashSearchableOpts = [][]string{{}, {"title", "body"}, {"title", "body", "color"}}
)

// crashControl makes the admin writes other than records (stored keys, token revocations,
// settings changes, index creations and deletions) and keeps what was acknowledged.
type crashControl struct {
	rng     *rand.Rand
	indexes []string

	keys       map[string]string // acknowledged key value -> description
	keyPending []string          // descriptions of creations never answered
	keyN       int

	jti        map[string]bool  // acknowledged revoked jti
	sub        map[string]int64 // acknowledged revoked subject -> before (Unix s)
	revN       int
	revPending int

	settings        map[string]crashSettings  // acknowledged, by index
	settingsPending map[string]*crashSettings // sent, never answered

	churn        map[string]bool // index -> exists (acknowledged)
	churnPending map[string]bool // index -> unanswered create (true) or delete (false)
	churnN       int

	ackedKeys, ackedRevocations, ackedSettings, ackedChurn int
}

func newCrashControl(seed uint64, indexes []string) *crashControl {
	c := &crashControl{rng: rand.New(rand.NewPCG(seed, 1000)), indexes: indexes,
		keys: map[string]string{}, jti: map[string]bool{}, sub: map[string]int64{},
		settings: map[string]crashSettings{}, settingsPending: map[string]*crashSettings{},
		churn: map[string]bool{}, churnPending: map[string]bool{}}
	return c
}

// setup gives each index its first settings (creating it), before any kill.
func (c *crashControl) setup(ctx context.Context, p *serverProc, admin string) error {
	for _, ix := range c.indexes {
		s := crashSettings{Facets: crashFacetOpts[0], Searchable: crashSearchableOpts[0]}
		if err := p.mustJSON(ctx, "PUT", "/1/indexes/"+ix+"/settings", admin, s, nil); err != nil {
			return err
		}
		c.settings[ix] = s
	}
	return nil
}

// errDead means the server stopped answering (it was killed).
var errDead = fmt.Errorf("server gone")

func (c *crashControl) createKey(ctx context.Context, p *serverProc, admin string) error {
	c.keyN++
	desc := fmt.Sprintf("crash-key-%d", c.keyN)
	var res struct {
		Key string `json:"key"`
		ID  string `json:"id"`
	}
	status, data, err := p.call(ctx, "POST", "/1/keys", admin, rec{"acl": []string{"search"}, "description": desc, "indexes": c.indexes})
	if err != nil {
		c.keyPending = append(c.keyPending, desc)
		return errDead
	}
	if status != 200 {
		return fmt.Errorf("create key: status %d: %s", status, data)
	}
	if err := json.Unmarshal(data, &res); err != nil || res.Key == "" || res.ID == "" {
		return fmt.Errorf("create key: %s: %v", data, err)
	}
	c.keys[res.Key] = desc
	c.ackedKeys++
	return nil
}

func (c *crashControl) revoke(ctx context.Context, p *serverProc, admin string) error {
	c.revN++
	var body rec
	jti, sub, before := "", "", time.Now().Unix()
	if c.rng.IntN(2) == 0 {
		jti = fmt.Sprintf("crash-jti-%d", c.revN)
		body = rec{"jti": jti, "exp": time.Now().Add(2 * time.Hour).Unix()}
	} else {
		sub = fmt.Sprintf("crash-user-%d", c.revN)
		body = rec{"sub": sub, "before": before}
	}
	status, data, err := p.call(ctx, "POST", "/1/tokens/revoke", admin, body)
	if err != nil {
		c.revPending++
		return errDead
	}
	if status != 200 {
		return fmt.Errorf("revoke %v: status %d: %s", body, status, data)
	}
	if jti != "" {
		c.jti[jti] = true
	} else {
		c.sub[sub] = before
	}
	c.ackedRevocations++
	return nil
}

func (c *crashControl) changeSettings(ctx context.Context, p *serverProc, admin string) error {
	ix := c.indexes[c.rng.IntN(len(c.indexes))]
	cur := c.settings[ix]
	var next crashSettings
	for {
		next = crashSettings{Facets: crashFacetOpts[c.rng.IntN(len(crashFacetOpts))],
			Searchable: crashSearchableOpts[c.rng.IntN(len(crashSearchableOpts))]}
		if !next.equal(cur) {
			break
		}
	}
	status, data, err := p.call(ctx, "PUT", "/1/indexes/"+ix+"/settings", admin, next)
	if err != nil {
		c.settingsPending[ix] = &next
		return errDead
	}
	if status != 200 {
		return fmt.Errorf("settings %s: status %d: %s", ix, status, data)
	}
	c.settings[ix] = next
	c.ackedSettings++
	return nil
}

// churnIndex creates an index (by its first write) or deletes one.
func (c *crashControl) churnIndex(ctx context.Context, p *serverProc, admin string) error {
	live := slices.Sorted(maps.Keys(c.churn))
	if len(live) >= 2 || (len(live) > 0 && c.rng.IntN(2) == 0) {
		name := live[c.rng.IntN(len(live))]
		status, data, err := p.call(ctx, "DELETE", "/1/indexes/"+name, admin, nil)
		if err != nil {
			c.churnPending[name] = false
			return errDead
		}
		if status != 200 {
			return fmt.Errorf("delete index %s: status %d: %s", name, status, data)
		}
		delete(c.churn, name)
		c.ackedChurn++
		return nil
	}
	c.churnN++
	name := fmt.Sprintf("crash_churn_%d", c.churnN)
	status, data, err := p.call(ctx, "POST", "/1/indexes/"+name+"/batch", admin,
		rec{"requests": []rec{{"action": "updateObject", "body": rec{"objectID": "x", "v": 1}}}})
	if err != nil {
		c.churnPending[name] = true
		return errDead
	}
	if status != 200 {
		return fmt.Errorf("create index %s: status %d: %s", name, status, data)
	}
	c.churn[name] = true
	c.ackedChurn++
	return nil
}

// run makes random admin writes until ctx ends or the server dies. A forced action ("key" or
// "settings") received on forced is made at once, then the server is killed.
func (c *crashControl) run(ctx context.Context, p *serverProc, admin string, forced <-chan forcedKill, kill func()) error {
	for ctx.Err() == nil {
		select {
		case f := <-forced:
			var err error
			if f.action == "key" {
				err = c.createKey(ctx, p, admin)
			} else {
				err = c.changeSettings(ctx, p, admin)
			}
			time.Sleep(f.delay)
			kill()
			if err == errDead {
				return nil
			}
			return err
		default:
		}
		var err error
		switch k := c.rng.IntN(100); {
		case k < 30:
			err = c.createKey(ctx, p, admin)
		case k < 55:
			err = c.revoke(ctx, p, admin)
		case k < 75:
			err = c.changeSettings(ctx, p, admin)
		default:
			err = c.churnIndex(ctx, p, admin)
		}
		if err == errDead {
			return nil
		}
		if err != nil {
			return err
		}
		select {
		case <-ctx.Done():
		case <-time.After(time.Duration(5+c.rng.IntN(40)) * time.Millisecond):
		}
	}
	return nil
}

// forcedKill asks the control loop to make one action and kill the server delay after its
// answer.
type forcedKill struct {
	action string
	delay  time.Duration
}

// resolveAndVerify adopts what the server has for unanswered admin writes (each is a single
// bbolt transaction or file rename: present or absent, nothing in between to see), then checks
// every acknowledged one.
func (c *crashControl) resolveAndVerify(ctx context.Context, p *serverProc, admin string) error {
	var errs []string
	// Keys.
	var list struct {
		Keys []struct {
			Value       string `json:"value"`
			Description string `json:"description"`
		} `json:"keys"`
	}
	if err := p.mustJSON(ctx, "GET", "/1/keys", admin, nil, &list); err != nil {
		return err
	}
	seen := map[string]int{}
	byDesc := map[string]string{}
	for _, k := range list.Keys {
		seen[k.Description]++
		byDesc[k.Description] = k.Value
	}
	for _, desc := range c.keyPending {
		if v, ok := byDesc[desc]; ok {
			c.keys[v] = desc
		}
	}
	c.keyPending = nil
	for d, n := range seen {
		if n > 1 {
			errs = append(errs, fmt.Sprintf("key %q listed %d times", d, n))
		}
	}
	for _, v := range slices.Sorted(maps.Keys(c.keys)) {
		desc := c.keys[v]
		var k struct {
			Description string `json:"description"`
			ID          string `json:"id"`
		}
		if err := p.mustJSON(ctx, "GET", "/1/keys/"+url.PathEscape(v), admin, nil, &k); err != nil {
			errs = append(errs, fmt.Sprintf("acknowledged key %s: %v", desc, err))
			continue
		}
		if k.Description != desc || k.ID == "" {
			errs = append(errs, fmt.Sprintf("acknowledged key %s reads back as %+v", desc, k))
		}
		if byDesc[desc] != v {
			errs = append(errs, fmt.Sprintf("acknowledged key %s missing from GET /1/keys", desc))
		}
		if err := p.mustJSON(ctx, "POST", "/1/indexes/"+c.indexes[0]+"/query", v, rec{"query": "", "hitsPerPage": 1}, nil); err != nil {
			errs = append(errs, fmt.Sprintf("acknowledged key %s cannot search: %v", desc, err))
		}
	}
	// Revocations.
	var revs struct {
		Revocations []struct {
			JTI    string    `json:"jti"`
			Sub    string    `json:"sub"`
			Before time.Time `json:"before"`
		} `json:"revocations"`
	}
	if err := p.mustJSON(ctx, "GET", "/1/tokens/revocations", admin, nil, &revs); err != nil {
		return err
	}
	jtis, subs := map[string]bool{}, map[string]int64{}
	for _, r := range revs.Revocations {
		if r.JTI != "" {
			jtis[r.JTI] = true
		}
		if r.Sub != "" {
			subs[r.Sub] = r.Before.Unix()
		}
	}
	for j := range c.jti {
		if !jtis[j] {
			errs = append(errs, fmt.Sprintf("acknowledged revocation of jti %s is not listed", j))
		}
	}
	for s, before := range c.sub {
		if got, ok := subs[s]; !ok || got < before {
			errs = append(errs, fmt.Sprintf("acknowledged revocation of sub %s (before %d) is listed as %v, %d", s, before, ok, got))
		}
	}
	c.revPending = 0
	// Settings.
	for _, ix := range c.indexes {
		var got crashSettings
		if err := p.mustJSON(ctx, "GET", "/1/indexes/"+ix+"/settings", admin, nil, &got); err != nil {
			return err
		}
		want := c.settings[ix]
		if pend := c.settingsPending[ix]; pend != nil && got.equal(*pend) {
			want = *pend
			c.settings[ix] = want
		}
		if !got.equal(want) {
			errs = append(errs, fmt.Sprintf("settings of %s: got %+v, want %+v (or the unanswered %+v)", ix, got, want, c.settingsPending[ix]))
		}
	}
	clear(c.settingsPending)
	// Index creations and deletions.
	names := map[string]bool{}
	for n := range c.churn {
		names[n] = true
	}
	for n := range c.churnPending {
		names[n] = true
	}
	for _, name := range slices.Sorted(maps.Keys(names)) {
		status, data, err := p.call(ctx, "GET", "/1/indexes/"+name+"/x", admin, nil)
		if err != nil {
			return err
		}
		exists := status == 200
		if status != 200 && status != 404 {
			errs = append(errs, fmt.Sprintf("index %s: GET record: status %d: %s", name, status, data))
			continue
		}
		if _, pending := c.churnPending[name]; pending {
			if exists {
				c.churn[name] = true
			} else {
				delete(c.churn, name)
			}
			continue
		}
		if exists != c.churn[name] {
			errs = append(errs, fmt.Sprintf("index %s: exists = %v, but its acknowledged state is %v", name, exists, c.churn[name]))
		}
	}
	clear(c.churnPending)
	if len(errs) > 0 {
		return fmt.Errorf("admin state:\n  %s", strings.Join(errs, "\n  "))
	}
	return nil
}

// predictRecovery reads what a kill left in the data directory and returns the messages the
// next start must log (index.Open logs each recovery action), and whether a settings rebuild
// was under way. It reads the private layout documented in index/doc.go.
func predictRecovery(dataDir string) (msgs []string, rebuilding bool) {
	root := filepath.Join(dataDir, "indexes")
	entries, err := os.ReadDir(root)
	if err != nil {
		return nil, false
	}
	add := func(m string) {
		if !slices.Contains(msgs, m) {
			msgs = append(msgs, m)
		}
	}
	for _, e := range entries {
		name := e.Name()
		switch {
		case name == ".lock":
		case strings.HasPrefix(name, ".tmp-"):
			add("removing an index whose creation did not finish")
		case strings.HasPrefix(name, ".del-"):
			add("finishing the deletion of an index")
		case e.IsDir():
			data, err := os.ReadFile(filepath.Join(root, name, "meta.json"))
			if err != nil {
				continue
			}
			var meta struct {
				Generation   int     `json:"generation"`
				PendingTasks []int64 `json:"pendingTasks"`
			}
			if json.Unmarshal(data, &meta) != nil {
				continue
			}
			subs, _ := os.ReadDir(filepath.Join(root, name))
			for _, s := range subs {
				switch {
				case strings.Contains(s.Name(), ".tmp-"):
					add("removing a partial temporary file")
				case strings.HasPrefix(s.Name(), "gen-") && s.Name() != fmt.Sprintf("gen-%d", meta.Generation):
					add("removing a generation that is not the serving one")
				}
			}
			if len(meta.PendingTasks) > 0 {
				add("restarting an unfinished settings rebuild")
				rebuilding = true
			}
		}
	}
	return msgs, rebuilding
}
