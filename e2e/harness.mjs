// Shared pieces of the e2e tests: the running keyhole (KEYHOLE_URL, KEYHOLE_ADMIN_KEY, started
// by run.sh), seeding through the real algoliasearch client, a static server for the test page,
// and Debian's chromium driven by playwright-core.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { algoliasearch } from 'algoliasearch';
import { chromium } from 'playwright-core';

export const base = new URL(process.env.KEYHOLE_URL ?? 'http://127.0.0.1:7700');
export const admin = process.env.KEYHOLE_ADMIN_KEY;
assert.ok(admin, 'KEYHOLE_ADMIN_KEY must be set');
export const appId = 'keyhole';
export const v5hosts = [{ url: base.hostname, port: Number(base.port), protocol: 'http', accept: 'readWrite' }];

export function adminClient() {
  return algoliasearch(appId, admin, { hosts: v5hosts });
}

// seed replaces an index's settings and records through the v5 client and waits until both
// are searchable.
export async function seed(indexName, indexSettings, objects) {
  const client = adminClient();
  const st = await client.setSettings({ indexName, indexSettings });
  await client.waitForTask({ indexName, taskID: st.taskID });
  const saved = await client.saveObjects({ indexName, objects, batchSize: 50 });
  for (const b of saved) await client.waitForTask({ indexName, taskID: b.taskID });
  return client;
}

// searchKey creates a stored search key for the indexes and returns its value and its id (the
// id is what a JWT's kid names).
export async function searchKey(indexes, description) {
  const client = adminClient();
  const { key } = await client.addApiKey({ acl: ['search'], indexes, description });
  await client.waitForApiKey({ key, operation: 'add' });
  const r = await fetch(new URL(`/1/keys/${encodeURIComponent(key)}`, base), { headers: { 'x-algolia-api-key': admin } });
  const body = await r.json();
  assert.equal(r.status, 200, JSON.stringify(body));
  assert.ok(body.id, 'a stored key has an id');
  return { key, id: body.id };
}

const here = path.dirname(fileURLToPath(import.meta.url));
const files = {
  '/search.html': [path.join(here, 'pages/search.html'), 'text/html; charset=utf-8'],
  '/search.js': [path.join(here, 'pages/search.js'), 'text/javascript; charset=utf-8'],
  '/vendor/algoliasearch-lite.umd.js': [path.join(here, 'node_modules/algoliasearch/dist/lite/builds/browser.umd.js'), 'text/javascript; charset=utf-8'],
  '/vendor/instantsearch.production.min.js': [path.join(here, 'node_modules/instantsearch.js/dist/instantsearch.production.min.js'), 'text/javascript; charset=utf-8'],
};

// startStatic serves the test page and the two browser builds on 127.0.0.1:0.
export async function startStatic() {
  const server = http.createServer((req, res) => {
    const f = files[new URL(req.url, 'http://x').pathname];
    if (!f || req.method !== 'GET') {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { 'content-type': f[1], 'cache-control': 'no-store' });
    fs.createReadStream(f[0]).pipe(res);
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${server.address().port}`;
  return {
    url,
    // pageURL is the search page for one credential.
    pageURL(params) {
      const q = new URLSearchParams({ host: base.origin, app: appId, ...params });
      return `${url}/search.html?${q}`;
    },
    close: () => new Promise((resolve) => { server.closeAllConnections(); server.close(resolve); }),
  };
}

export const chromiumPath = '/usr/bin/chromium';

// launchBrowser starts Debian's chromium with a fresh profile; close() stops it and removes the
// profile.
export async function launchBrowser() {
  assert.ok(fs.existsSync(chromiumPath), `${chromiumPath} is missing: apt-get install -y chromium`);
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'keyhole-e2e-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: chromiumPath,
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync'],
    timeout: 60_000,
  });
  context.setDefaultTimeout(15_000);
  return {
    context,
    async close() {
      await context.close();
      fs.rmSync(profile, { recursive: true, force: true });
    },
  };
}

// openPage opens a tab, records its console errors and uncaught exceptions in page.problems,
// loads url and waits for the first search to be answered and rendered.
export async function openPage(context, url) {
  const page = await context.newPage();
  page.problems = [];
  page.on('console', (m) => { if (m.type() === 'error') page.problems.push(`console: ${m.text()}`); });
  page.on('pageerror', (e) => page.problems.push(`pageerror: ${e.message}`));
  await page.goto(url);
  await page.waitForFunction(() => window.e2e && window.e2e.answered > 0 && window.e2e.inflight === 0);
  return page;
}

// settle runs action (which must make InstantSearch search) and waits until every search sent
// since has been answered; the page has rendered by then (InstantSearch renders in microtasks
// and the wait polls on animation frames).
export async function settle(page, action) {
  const before = await page.evaluate(() => window.e2e.answered);
  await action();
  await page.waitForFunction((n) => window.e2e.answered > n && window.e2e.inflight === 0, before);
}

// rendered reads what the page shows: the hits (id, team, owner, highlighted words, the name's
// raw text), the stats and the brand refinement list.
export function rendered(page) {
  return page.evaluate(() => ({
    hits: [...document.querySelectorAll('#hits .hit')].map((el) => ({
      id: el.dataset.id,
      team: el.dataset.team,
      owner: el.dataset.owner,
      marks: [...el.querySelectorAll('.name mark')].map((m) => m.textContent),
      name: el.querySelector('.name').textContent.trim(),
    })),
    nbHits: Number(document.querySelector('#stats .nbhits')?.dataset.nbhits ?? NaN),
    page: Number(document.querySelector('#stats .page')?.textContent ?? NaN),
    nbPages: Number(document.querySelector('#stats .nbpages')?.textContent ?? NaN),
    brands: [...document.querySelectorAll('#brands .ais-RefinementList-item')].map((el) => ({
      value: el.querySelector('.ais-RefinementList-labelText').textContent,
      count: Number(el.querySelector('.ais-RefinementList-count').textContent),
      marked: !!el.querySelector('.ais-RefinementList-labelText mark'),
    })),
    lastError: window.e2e.lastError ?? null,
    text: document.body.innerText,
  }));
}

// countBy counts the records by the value of attr.
export function countBy(records, attr) {
  const out = {};
  for (const r of records) out[r[attr]] = (out[r[attr]] ?? 0) + 1;
  return out;
}

// waitUntil polls a condition on the test's side (e.g. events collected from the browser) until
// it holds, failing after timeoutMs.
export async function waitUntil(cond, what, timeoutMs = 10_000) {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
