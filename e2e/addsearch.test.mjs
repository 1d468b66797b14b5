// AddSearch path: the real addsearch-js-client (setJWT) against keyhole's GET /v1/search/{sitekey}.
// The index's settings name the sitekey (publicKey), require a JWT (requireJwt) and name the
// stored key whose value signs the tokens (jwtKeyId): AddSearch-style tokens (HS256, no kid,
// claims public_key, iat, exp, jti) with a sub, which the index's userAttribute turns into
// "only this user's records".
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import AddSearchClient from 'addsearch-js-client';
import jwt from 'jsonwebtoken';
import { base, countBy, searchKey, seed } from './harness.mjs';

const index = `e2e_addsearch_${process.pid}`;
const sitekey = crypto.randomBytes(16).toString('hex');

const records = [];
for (let i = 0; i < 15; i++) {
  records.push({
    objectID: `doc-${i}`,
    title: `${['rock', 'jazz', 'rock', 'folk'][i % 4]} concert notes ${i}`,
    url: `https://example.test/doc/${i}`,
    owner: ['u1', 'u2', 'u3'][i % 3],
    genre: ['rock', 'jazz', 'rock', 'folk'][i % 4],
  });
}
const idsOf = (list) => list.map((r) => r.objectID).sort();

let signer; // the stored key whose value signs the tokens

before(async () => {
  signer = await searchKey([index], 'e2e addsearch');
  await seed(index, {
    searchableAttributes: ['title'],
    attributesForFaceting: ['owner', 'genre'],
    userAttribute: 'owner',
    publicKey: sitekey,
    requireJwt: true,
    jwtKeyId: signer.id,
  }, records);
});

// token signs an AddSearch-style token: header {"alg":"HS256","typ":"JWT"} (no kid).
function token(claims, secret = signer.key) {
  const now = Math.floor(Date.now() / 1000);
  return jwt.sign({ public_key: sitekey, iat: now, exp: now + 600, jti: crypto.randomUUID(), ...claims }, secret, { algorithm: 'HS256', noTimestamp: true });
}

// client is an AddSearch client pointed at keyhole over http (the client only builds https://
// URLs); sent collects the URLs it requested.
function client(jwtToken) {
  const c = new AddSearchClient(sitekey);
  c.sent = [];
  c.setApiHostname(base.host);
  c.setApiRequestInterceptor(({ url, headers }) => {
    const u = url.replace(/^https:\/\//, 'http://');
    c.sent.push(u);
    return { url: u, headers };
  }, { searchApiRequestOnly: true });
  if (jwtToken) c.setJWT(jwtToken);
  return c;
}

// search runs client.search and resolves with what its callback received, and what the client
// logged with console.error (it logs the HTTP error, and hands the callback a generic one).
async function search(t, c, term) {
  const logged = [];
  const mock = t.mock.method(console, 'error', (...args) => logged.push(args));
  try {
    const res = await new Promise((resolve) => c.search(term, resolve));
    return { res, logged };
  } finally {
    mock.mock.restore();
  }
}

test('setJWT: a token for u1 finds only u1 records, with facets and a customField filter', async (t) => {
  const c = client(token({ sub: 'u1' }));
  c.addFacetField('custom_fields.genre');
  c.setPaging(1, 50, 'relevance', 'desc');
  const { res, logged } = await search(t, c, 'concert');
  assert.deepEqual(logged, []);
  assert.equal(res.error, undefined, JSON.stringify(res));
  const mine = records.filter((r) => r.owner === 'u1');
  assert.equal(res.total_hits, mine.length);
  assert.deepEqual(res.hits.map((h) => h.id).sort(), idsOf(mine));
  for (const h of res.hits) {
    assert.equal(h.custom_fields.owner, 'u1');
    assert.equal(h.url, records.find((r) => r.objectID === h.id).url);
  }
  assert.deepEqual(Object.fromEntries(res.facets.genre.map((f) => [f.value, f.count])), countBy(mine, 'genre'));
  assert.match(c.sent[0], /^http:\/\/127\.0\.0\.1:\d+\/v1\/search\/[0-9a-f]{32}\?term=concert&.*jwt=/);

  // customField=genre=rock narrows within the user's records; the term narrows too.
  const c2 = client(token({ sub: 'u1' }));
  c2.setPaging(1, 50, 'relevance', 'desc');
  c2.addCustomFieldFilter('genre', 'rock');
  const r2 = (await search(t, c2, 'notes')).res;
  const rock = mine.filter((r) => r.genre === 'rock');
  assert.ok(rock.length > 0 && rock.length < mine.length);
  assert.deepEqual(r2.hits.map((h) => h.id).sort(), idsOf(rock));
  assert.equal(r2.total_hits, rock.length);
});

test('setJWT: tokens for two users find disjoint records (term * is everything the user may see)', async (t) => {
  const seen = {};
  for (const user of ['u2', 'u3']) {
    const c = client(token({ sub: user }));
    c.setPaging(1, 50, 'relevance', 'desc');
    const { res } = await search(t, c, '*');
    const mine = records.filter((r) => r.owner === user);
    assert.equal(res.total_hits, mine.length, JSON.stringify(res));
    assert.deepEqual(res.hits.map((h) => h.id).sort(), idsOf(mine));
    seen[user] = res.hits.map((h) => h.id);
  }
  assert.deepEqual(seen.u2.filter((id) => seen.u3.includes(id)), []);
});

// Refusals reach the client as a 401 from keyhole with a message naming the reason; the client
// hands its callback a generic error and logs the HTTP error (status and body) with console.error.
const refusals = [
  ['an expired token', () => token({ sub: 'u1', iat: 1700000000, exp: 1700000060 }), /expired/],
  ['no token on a requireJwt sitekey', () => null, /requires a JWT/],
  ['a token for another sitekey', () => token({ sub: 'u1', public_key: 'f'.repeat(32) }), /public_key does not match the site key/],
  ['a token signed with another secret', () => token({ sub: 'u1' }, 'not-the-stored-key'), /signature/],
];
for (const [name, mint, message] of refusals) {
  test(`setJWT: ${name} is refused with a 401 that says why`, async (t) => {
    const { res, logged } = await search(t, client(mint()), 'concert');
    assert.ok(res.error, `the callback gets an error: ${JSON.stringify(res)}`);
    assert.equal(res.hits, undefined);
    assert.equal(logged.length, 1, 'the client logged the HTTP error once');
    const httpErr = logged[0][0];
    assert.equal(httpErr.response?.status, 401, String(httpErr));
    assert.equal(httpErr.response.data.status, 401);
    assert.match(httpErr.response.data.message, message);
  });
}
