// Browser path: InstantSearch.js widgets on the algoliasearch v5 lite client in Debian's
// chromium (playwright-core), against the running keyhole, with secured API keys minted by
// algoliasearch's own generateSecuredApiKey and user JWTs minted by jsonwebtoken.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import jwt from 'jsonwebtoken';
import { adminClient, countBy, launchBrowser, openPage, rendered, searchKey, seed, settle, startStatic, waitUntil } from './harness.mjs';

const index = `e2e_browser_${process.pid}`;

// Two tenants. Brands: Bolt is shared, the others belong to one tenant; owners u1..u3 exist in
// both. A third of the names are toasters, so the query "kettle" matches a subset.
const records = [];
for (const [team, n, brands] of [['acme', 18, ['Acme', 'Bolt', 'Crest', 'Bolt']], ['globex', 13, ['Globex', 'Bolt', 'Dyna']]]) {
  for (let i = 0; i < n; i++) {
    records.push({
      objectID: `${team}-${i}`,
      team,
      owner: `u${(i % 3) + 1}`,
      name: `${['red', 'blue', 'green'][i % 3]} ${i % 3 === 2 ? 'toaster' : 'kettle'} ${team} ${i}`,
      brand: brands[i % brands.length],
      price: 5 + ((i * 7) % 40),
    });
  }
}
const words = (r) => r.name.toLowerCase().split(' ');
const matches = (query) => (r) => query === '' || words(r).includes(query);
const ids = (list) => list.map((r) => r.objectID).sort();

let server, browser, key, keyId, securedFor;

before(async () => {
  await seed(index, {
    searchableAttributes: ['name', 'brand'],
    attributesForFaceting: ['team', 'searchable(brand)', 'price', 'owner'],
    userAttribute: 'owner',
  }, records);
  ({ key, id: keyId } = await searchKey([index], 'e2e browser'));
  const client = adminClient();
  const validUntil = Math.floor(Date.now() / 1000) + 3600;
  securedFor = (team) => client.generateSecuredApiKey({ parentApiKey: key, restrictions: { filters: `team:${team}`, validUntil, restrictIndices: [index] } });
  server = await startStatic();
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await server?.close();
});

function assertNoProblems(page) {
  assert.deepEqual(page.problems, [], 'console errors or page errors');
}

describe('InstantSearch with a tenant secured key', () => {
  test('query, highlights, stats, facet search, page 2, refinement and price range show only the tenant', async () => {
    const tenant = records.filter((r) => r.team === 'acme');
    const page = await openPage(browser.context, server.pageURL({ index, key: securedFor('acme') }));

    // The first, empty search: every acme record and only those.
    let view = await rendered(page);
    assert.equal(view.lastError, null);
    assert.equal(view.nbHits, tenant.length);
    assert.ok(view.hits.length > 0 && view.hits.every((h) => h.team === 'acme'), JSON.stringify(view.hits));

    // Type a query.
    const query = 'kettle';
    let expected = tenant.filter(matches(query));
    assert.ok(expected.length > 8 && expected.length < tenant.length, 'the seeded data gives the query more than two pages');
    await settle(page, () => page.fill('#searchbox input', query));
    view = await rendered(page);
    assert.equal(view.nbHits, expected.length);
    assert.equal(view.nbPages, Math.ceil(expected.length / 4));
    assert.equal(view.hits.length, 4);
    for (const h of view.hits) {
      assert.equal(h.team, 'acme', `hit ${h.id}`);
      assert.ok(ids(expected).includes(h.id), `hit ${h.id} matches the query`);
      assert.deepEqual(h.marks.map((m) => m.toLowerCase()), [query], `hit ${h.id} highlights the query as <mark>`);
    }
    assert.doesNotMatch(view.text, /ais-highlight|<em>|&lt;/, 'highlight tags render as elements, not text');
    // The brand facet shows the tenant's brands with the tenant's counts.
    assert.deepEqual(Object.fromEntries(view.brands.map((b) => [b.value, b.count])), countBy(expected, 'brand'));

    // Page 2.
    await settle(page, () => page.click('#pagination .ais-Pagination-item--page a[aria-label="Page 2"]'));
    const page1 = view.hits.map((h) => h.id);
    view = await rendered(page);
    assert.equal(view.page, 2);
    assert.equal(view.nbHits, expected.length);
    assert.equal(view.hits.length, Math.min(4, expected.length - 4));
    assert.ok(view.hits.every((h) => h.team === 'acme' && ids(expected).includes(h.id) && !page1.includes(h.id)), JSON.stringify(view.hits));

    // Search facet values: only the tenant's brands, with its counts for the current query.
    await settle(page, () => page.fill('#brands .ais-SearchBox-input', 'bo'));
    view = await rendered(page);
    assert.deepEqual(view.brands.map((b) => [b.value, b.count, b.marked]), [['Bolt', expected.filter((r) => r.brand === 'Bolt').length, true]]);
    await settle(page, () => page.fill('#brands .ais-SearchBox-input', 'dy')); // globex's brand
    view = await rendered(page);
    assert.deepEqual(view.brands, []);
    assert.ok(await page.locator('#brands .ais-RefinementList-noResults').count() === 1, 'the refinement list says no results');
    // Clearing the facet query sends nothing: the list goes back to the last search's facets.
    await page.fill('#brands .ais-SearchBox-input', '');
    await page.waitForFunction(() => document.querySelectorAll('#brands .ais-RefinementList-item').length > 0);
    view = await rendered(page);
    assert.deepEqual(Object.fromEntries(view.brands.map((b) => [b.value, b.count])), countBy(expected, 'brand'));

    // Click a refinement.
    await settle(page, () => page.click('#brands .ais-RefinementList-item:has(.ais-RefinementList-labelText:text-is("Bolt")) input'));
    expected = expected.filter((r) => r.brand === 'Bolt');
    view = await rendered(page);
    assert.equal(view.nbHits, expected.length);
    assert.equal(view.page, 1);
    assert.ok(view.hits.every((h) => h.team === 'acme' && ids(expected).includes(h.id)), JSON.stringify(view.hits));

    // A price range inside the refined records' prices.
    const prices = expected.map((r) => r.price).sort((a, b) => a - b);
    const [lo, hi] = [prices[1], prices[prices.length - 2]];
    const inRange = expected.filter((r) => r.price >= lo && r.price <= hi);
    assert.ok(inRange.length > 0 && inRange.length < expected.length, 'the range narrows the results');
    await page.fill('#price .ais-RangeInput-input--min', String(lo));
    await page.fill('#price .ais-RangeInput-input--max', String(hi));
    await settle(page, () => page.click('#price .ais-RangeInput-submit'));
    view = await rendered(page);
    assert.equal(view.nbHits, inRange.length);
    assert.equal(view.hits.length, Math.min(4, inRange.length));
    assert.ok(view.hits.every((h) => h.team === 'acme' && ids(inRange).includes(h.id)), JSON.stringify(view.hits));

    assertNoProblems(page);
    await page.close();
  });

  test('an expired secured key renders no hits and InstantSearch reports keyhole\'s reason', async () => {
    const expired = adminClient().generateSecuredApiKey({ parentApiKey: key, restrictions: { filters: 'team:acme', validUntil: Math.floor(Date.now() / 1000) - 60 } });
    const page = await openPage(browser.context, server.pageURL({ index, key: expired }));
    const view = await rendered(page);
    assert.match(view.lastError ?? '', /validUntil parameter expired/);
    assert.deepEqual(view.hits, []);
    // The browser logs the refused request; nothing else went wrong.
    await waitUntil(() => page.problems.length > 0, 'the browser to log the refused request');
    assert.ok(page.problems.length > 0 && page.problems.every((p) => /status of 400/.test(p)), JSON.stringify(page.problems));
    await page.close();
  });
});

describe('InstantSearch with a user JWT', () => {
  // keyhole's user tokens: HS256 signed with a stored key's value, header kid = the key's id,
  // sub = the user, exp required; an index with userAttribute shows only that user's records.
  for (const how of ['in place of the API key', 'in X-Algolia-Secure-User-Token beside its signing key']) {
    test(`a token for u2 ${how} shows only u2's records`, async () => {
      const token = jwt.sign({ sub: 'u2' }, key, { algorithm: 'HS256', keyid: keyId, expiresIn: '10m' });
      const params = how.startsWith('in place') ? { index, key: token, hitsPerPage: '50' } : { index, key, userToken: token, hitsPerPage: '50' };
      const page = await openPage(browser.context, server.pageURL(params));
      const mine = records.filter((r) => r.owner === 'u2');
      let view = await rendered(page);
      assert.equal(view.lastError, null);
      assert.equal(view.nbHits, mine.length);
      assert.deepEqual(view.hits.map((h) => h.id).sort(), ids(mine));
      assert.ok(new Set(mine.map((r) => r.team)).size === 2, 'the user has records in both teams');

      const expected = mine.filter(matches('kettle'));
      await settle(page, () => page.fill('#searchbox input', 'kettle'));
      view = await rendered(page);
      assert.equal(view.nbHits, expected.length);
      assert.deepEqual(view.hits.map((h) => h.id).sort(), ids(expected));
      assert.ok(view.hits.every((h) => h.owner === 'u2'));
      assertNoProblems(page);
      await page.close();
    });
  }
});

describe('two tenants side by side', () => {
  test('two tabs show disjoint records; swapping their keys in place swaps the records, never mixing', async () => {
    const acme = records.filter((r) => r.team === 'acme');
    const globex = records.filter((r) => r.team === 'globex');
    const keys = { acme: securedFor('acme'), globex: securedFor('globex') };
    const a = await openPage(browser.context, server.pageURL({ index, key: keys.acme, hitsPerPage: '50' }));
    const b = await openPage(browser.context, server.pageURL({ index, key: keys.globex, hitsPerPage: '50' }));

    const check = async (page, team, label) => {
      const want = records.filter((r) => r.team === team);
      const view = await rendered(page);
      const shown = view.hits.map((h) => h.id).sort();
      assert.equal(view.lastError, null, label);
      assert.deepEqual(view.hits.map((h) => h.team).filter((t) => t !== team), [], `${label}: every hit is ${team}'s`);
      assert.deepEqual(shown, ids(want), `${label}: exactly ${team}'s records`);
      assert.equal(view.nbHits, want.length, label);
      assert.deepEqual(Object.fromEntries(view.brands.map((x) => [x.value, x.count])), countBy(want, 'brand'), `${label}: ${team}'s brands`);
    };
    await check(a, 'acme', 'tab A');
    await check(b, 'globex', 'tab B');
    assert.deepEqual(ids(acme).filter((id) => ids(globex).includes(id)), []);

    // Swap in place: the same client and InstantSearch instance, the same request, another key.
    await Promise.all([
      settle(a, () => a.evaluate((k) => window.e2e.swapKey(k), keys.globex)),
      settle(b, () => b.evaluate((k) => window.e2e.swapKey(k), keys.acme)),
    ]);
    await check(a, 'globex', 'tab A after the swap');
    await check(b, 'acme', 'tab B after the swap');

    // Swap back (the clients' caches hold an answer for each key now), then search in both.
    await Promise.all([
      settle(a, () => a.evaluate((k) => window.e2e.swapKey(k), keys.acme)),
      settle(b, () => b.evaluate((k) => window.e2e.swapKey(k), keys.globex)),
    ]);
    await check(a, 'acme', 'tab A swapped back');
    await check(b, 'globex', 'tab B swapped back');

    for (const p of [a, b]) {
      assertNoProblems(p);
      await p.close();
    }
  });
});
