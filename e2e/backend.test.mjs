// Backend path with the real npm clients against a running keyhole: KEYHOLE_URL and
// KEYHOLE_ADMIN_KEY name it (run-e2e.sh starts one). Run with: node --test
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { algoliasearch } from 'algoliasearch';
import algoliasearch4 from 'algoliasearch4';
import jwt from 'jsonwebtoken';
import { generateTenantToken } from 'meilisearch/token';

const base = new URL(process.env.KEYHOLE_URL ?? 'http://127.0.0.1:7700');
const admin = process.env.KEYHOLE_ADMIN_KEY;
assert.ok(admin, 'KEYHOLE_ADMIN_KEY must be set');
const appId = 'keyhole';
const v5hosts = [{ url: base.hostname, port: Number(base.port), protocol: 'http', accept: 'readWrite' }];
const v4hosts = [{ url: `${base.hostname}:${base.port}`, protocol: 'http' }];
const index = `e2e_${process.pid}`;

const records = [];
for (const [team, n] of [['acme', 6], ['globex', 4]]) {
  for (let i = 0; i < n; i++) {
    records.push({ objectID: `${team}-${i}`, team, owner: i % 2 ? 'u1' : 'u2', name: `${['red', 'blue'][i % 2]} kettle ${i}`, brand: ['Acme', 'Zenith'][i % 2], price: 10 * (i + 1) });
  }
}

async function post(path, body, headers) {
  const r = await fetch(new URL(path, base), { method: 'POST', body: JSON.stringify(body), headers });
  return { status: r.status, body: await r.json() };
}

test('v5 client: settings, batches, tasks, keys, secured keys on every read path', async () => {
  const client = algoliasearch(appId, admin, { hosts: v5hosts });
  const st = await client.setSettings({ indexName: index, indexSettings: {
    searchableAttributes: ['name', 'brand'], attributesForFaceting: ['team', 'searchable(brand)', 'price', 'owner'], userAttribute: 'owner',
  } });
  await client.waitForTask({ indexName: index, taskID: st.taskID });
  const saved = await client.saveObjects({ indexName: index, objects: records, batchSize: 4 });
  for (const b of saved) await client.waitForTask({ indexName: index, taskID: b.taskID });

  const { key } = await client.addApiKey({ acl: ['search', 'browse'], indexes: [index], description: 'e2e' });
  await client.waitForApiKey({ key, operation: 'add' });
  const secured = client.generateSecuredApiKey({ parentApiKey: key, restrictions: { filters: 'team:acme', validUntil: Math.floor(Date.now() / 1000) + 3600, restrictIndices: [index] } });
  assert.ok(client.getSecuredApiKeyRemainingValidity({ securedApiKey: secured }) > 3000);

  const tenant = algoliasearch(appId, secured, { hosts: v5hosts });
  const res = await tenant.searchSingleIndex({ indexName: index, searchParams: { query: 'kettle', filters: 'team:globex OR team:acme', facets: ['team'], hitsPerPage: 100 } });
  assert.equal(res.nbHits, 6);
  assert.deepEqual(res.facets.team, { acme: 6 });
  assert.ok(res.hits.every((h) => h.team === 'acme'));
  assert.match(res.hits[0]._highlightResult.name.value, /<em>kettle<\/em>/);

  const multi = await tenant.search({ requests: [
    { indexName: index, query: '', filters: 'team:globex' },
    { indexName: index, type: 'facet', facet: 'brand', facetQuery: 'ze' },
  ] });
  assert.equal(multi.results[0].nbHits, 0);
  assert.equal(multi.results[1].facetHits[0].count, 3);

  const fv = await tenant.searchForFacetValues({ indexName: index, facetName: 'brand', searchForFacetValuesRequest: { facetQuery: 'ac' } });
  assert.equal(fv.facetHits[0].count, 3);

  const objs = await tenant.getObjects({ requests: [{ indexName: index, objectID: 'acme-1' }, { indexName: index, objectID: 'globex-1' }] });
  assert.equal(objs.results[0].objectID, 'acme-1');
  assert.equal(objs.results[1], null);

  const seen = [];
  await tenant.browseObjects({ indexName: index, browseParams: { hitsPerPage: 2 }, aggregator: (r) => seen.push(...r.hits) });
  assert.equal(seen.length, 6);
  assert.ok(seen.every((h) => h.team === 'acme'));

  await assert.rejects(tenant.saveObject({ indexName: index, body: { objectID: 'x', team: 'acme' } }), /Method not allowed/);
  const expired = client.generateSecuredApiKey({ parentApiKey: key, restrictions: { validUntil: 1700000000 } });
  await assert.rejects(algoliasearch(appId, expired, { hosts: v5hosts }).searchSingleIndex({ indexName: index }), /validUntil parameter expired/);
});

test('v4 client: search, facet search and its own secured keys', async () => {
  const client = algoliasearch4(appId, admin, { hosts: v4hosts });
  const keyRes = await client.addApiKey(['search'], { indexes: [index] }).wait();
  const secured = client.generateSecuredApiKey(keyRes.key, { filters: 'team:globex', validUntil: Math.floor(Date.now() / 1000) + 600 });
  const idx = algoliasearch4(appId, secured, { hosts: v4hosts }).initIndex(index);
  const res = await idx.search('kettle', { facets: ['team'], filters: 'NOT team:globex OR team:acme' });
  assert.ok(res.hits.every((h) => h.team === 'globex'));
  assert.ok(Object.keys(res.facets.team ?? {}).every((t) => t === 'globex'));
  const fv = await idx.searchForFacetValues('brand', 'z');
  assert.equal(fv.facetHits[0].count, 2);
});

test('jsonwebtoken and meilisearch tenant tokens scope searches', async () => {
  const client = algoliasearch(appId, admin, { hosts: v5hosts });
  const { key } = await client.addApiKey({ acl: ['search'], indexes: [index] });
  await client.waitForApiKey({ key, operation: 'add' });
  const stored = await client.getApiKey({ key });
  const r0 = await fetch(new URL(`/1/keys/${key}`, base), { headers: { 'x-algolia-api-key': admin } });
  const { id } = await r0.json();
  assert.ok(id, `key ${stored.description} has an id`);

  const token = jwt.sign({ sub: 'u1' }, key, { algorithm: 'HS256', keyid: id, expiresIn: '10m' });
  let r = await post(`/1/indexes/${index}/query`, { filters: 'owner:u2 OR owner:u1', hitsPerPage: 100 }, { 'X-Algolia-Secure-User-Token': token });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  assert.ok(r.body.hits.length > 0 && r.body.hits.every((h) => h.owner === 'u1'));

  const tenantToken = await generateTenantToken({ apiKey: key, apiKeyUid: id, searchRules: { [index]: { filter: 'team = globex' } }, expiresAt: new Date(Date.now() + 600_000) });
  r = await post(`/1/indexes/${index}/query`, { query: '', hitsPerPage: 100 }, { Authorization: `Bearer ${tenantToken}` });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  assert.equal(r.body.nbHits, 4);
  assert.ok(r.body.hits.every((h) => h.team === 'globex'));

  const expired = jwt.sign({ sub: 'u1', iat: 1700000000, exp: 1700000060 }, key, { algorithm: 'HS256', keyid: id });
  r = await post(`/1/indexes/${index}/query`, {}, { Authorization: `Bearer ${expired}` });
  assert.equal(r.status, 401);
  assert.match(r.body.message, /expired/);
});
