// Takes docs/demo.png from a running `keyhole demo`, and checks the page on the way: hits in
// both tenant panes, disjoint teams, no console errors. Not part of the test suite (it needs
// a browser); run it by hand after changing the page:
//
//   mkdir -p /tmp/demo-npm && cd /tmp/demo-npm && npm init -y && \
//     npm i algoliasearch@5.64.0 instantsearch.js@4 instantsearch.css playwright-core
//   apt-get install -y chromium            # Debian's chromium, not `npx playwright install`
//   go run ./cmd/keyhole demo --listen 127.0.0.1:7700 --assets /tmp/demo-npm/node_modules &
//   NODE_PATH=/tmp/demo-npm/node_modules node demo/screenshot.mjs http://127.0.0.1:7700/demo docs/demo.png
//   pngquant --quality 65-90 --strip --force --output docs/demo.png docs/demo.png   # keeps it small
//
// CHROMIUM overrides the browser path (default /usr/bin/chromium).
import { createRequire } from 'node:module';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const require = createRequire(join(process.env.NODE_PATH || process.cwd(), 'x.js'));
const { chromium } = require('playwright-core');

const url = process.argv[2] || 'http://127.0.0.1:7700/demo';
const out = process.argv[3] || 'docs/demo.png';
const profile = mkdtempSync(join(tmpdir(), 'keyhole-demo-chromium-'));
const context = await chromium.launchPersistentContext(profile, {
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  headless: true,
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking',
    '--disable-component-update', '--disable-sync'],
  viewport: { width: 1240, height: 1000 },
});
const problems = [];
try {
  const page = context.pages()[0] || await context.newPage();
  page.on('console', (m) => { if (m.type() === 'error') problems.push('console: ' + m.text()); });
  page.on('pageerror', (e) => problems.push('page error: ' + e.message));
  page.on('requestfailed', (r) => problems.push('request failed: ' + r.url()));
  await page.goto(url, { waitUntil: 'load' });
  const teams = async (pane) => page.$$eval(`#${pane} [data-team].hit`, (els) => els.map((e) => e.dataset.team));
  for (const pane of ['tenant-a', 'tenant-b', 'user']) {
    await page.waitForSelector(`#${pane} .hit[data-team]`, { timeout: 15000 });
  }
  const a = await teams('tenant-a');
  const b = await teams('tenant-b');
  if (new Set(a).size !== 1 || new Set(b).size !== 1 || a[0] === b[0]) {
    problems.push(`panes not disjoint: tenant-a ${a}, tenant-b ${b}`);
  }
  // Search tenant B's brands (a facet-value search through the secured key), then clear it.
  await page.fill('#tenant-b .brand .ais-SearchBox-input', 'brew');
  await page.waitForFunction(() => [...document.querySelectorAll('#tenant-b .brand .ais-RefinementList-labelText')]
    .map((e) => e.textContent).join() === 'Brewster');
  await page.fill('#tenant-b .brand .ais-SearchBox-input', '');
  await page.waitForFunction(() => document.querySelectorAll('#tenant-b .brand .ais-RefinementList-item').length > 1);
  // Type a query in tenant A's pane and wait for it to narrow the hits.
  const before = await page.textContent('#tenant-a .stats');
  await page.fill('#tenant-a .ais-SearchBox-input', 'tent');
  await page.waitForFunction((prev) => document.querySelector('#tenant-a .stats').textContent !== prev, before);
  await page.waitForSelector('#tenant-a .hit mark, #tenant-a .hit .ais-Highlight-highlighted');
  const afterA = await teams('tenant-a');
  if (afterA.some((t) => t !== a[0])) problems.push(`tenant-a shows another team after the query: ${afterA}`);
  if (!(await page.isHidden('#error'))) problems.push('error banner: ' + await page.textContent('#error'));
  await page.screenshot({ path: out, fullPage: true });
  console.log(`saved ${out}: tenant-a ${a[0]} (${await page.textContent('#tenant-a .stats')}), tenant-b ${b[0]} (${await page.textContent('#tenant-b .stats')})`);
} finally {
  await context.close();
  rmSync(profile, { recursive: true, force: true });
}
if (problems.length) {
  console.error(problems.join('\n'));
  process.exit(1);
}
