// The README's first command, `keyhole demo`, seen in Debian's chromium: both tenant panes
// render hits of their own team only (disjoint), searching in one pane changes only that pane,
// the user-token pane shows only its user's records, and the page logs no errors. KEYHOLE_BIN is
// the binary run.sh built; the scripts come from this folder's node_modules (--assets).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { launchBrowser } from './harness.mjs';

const bin = process.env.KEYHOLE_BIN;
const here = path.dirname(fileURLToPath(import.meta.url));

// startDemo runs `keyhole demo` on a free port and resolves with its /demo URL and a stop
// function (by pid).
async function startDemo() {
  assert.ok(bin && fs.existsSync(bin), 'KEYHOLE_BIN must name the built keyhole binary (run.sh sets it)');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'keyhole-e2e-demo-'));
  const child = spawn(bin, ['demo', '--listen', '127.0.0.1:0', '--data-dir', path.join(dir, 'data'), '--assets', path.join(here, 'node_modules')],
    { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stderr.on('data', (d) => { err += d; });
  const url = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`keyhole demo printed no URL in 60 s: ${err}`)), 60_000);
    child.stdout.on('data', (d) => {
      out += d;
      const m = out.match(/keyhole demo: open (http:\/\/\S+)/);
      if (m) { clearTimeout(timer); resolve(m[1]); }
    });
    child.on('exit', (code) => { clearTimeout(timer); reject(new Error(`keyhole demo exited (${code}): ${err}`)); });
  });
  return {
    url,
    async stop() {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      process.kill(child.pid, 'SIGTERM');
      await exited;
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

test('keyhole demo: two tenants side by side in chromium, disjoint, no console errors', async () => {
  const demo = await startDemo();
  const browser = await launchBrowser();
  try {
    const page = await browser.context.newPage();
    const problems = [];
    page.on('console', (m) => { if (m.type() === 'error') problems.push(`console: ${m.text()}`); });
    page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
    page.on('requestfailed', (r) => problems.push(`request failed: ${r.url()}`));
    await page.goto(demo.url);
    const teams = (pane) => page.$$eval(`#${pane} .hit[data-team]`, (els) => els.map((e) => e.dataset.team));
    const paneTeam = (pane) => page.$eval(`#${pane}`, (el) => el.dataset.team);
    for (const pane of ['tenant-a', 'tenant-b']) await page.waitForSelector(`#${pane} .hit[data-team]`);
    const [ta, tb] = [await paneTeam('tenant-a'), await paneTeam('tenant-b')];
    assert.notEqual(ta, tb);
    const a = await teams('tenant-a');
    const b = await teams('tenant-b');
    assert.ok(a.length > 0 && b.length > 0, 'both panes show hits');
    assert.deepEqual([...new Set(a)], [ta], `pane A shows only team ${ta}`);
    assert.deepEqual([...new Set(b)], [tb], `pane B shows only team ${tb}`);

    // Search in pane A: its hits change to matches of its own team; pane B is untouched.
    const before = await teams('tenant-b');
    const firstName = await page.$eval('#tenant-a .hit .hit-name', (el) => el.textContent.trim().split(/\s+/).pop());
    await page.fill('#tenant-a .ais-SearchBox-input', firstName);
    await page.waitForFunction((w) => {
      const hits = [...document.querySelectorAll('#tenant-a .hit')];
      return hits.length > 0 && hits.every((h) => h.querySelector('.hit-name mark'));
    }, firstName.toLowerCase());
    assert.deepEqual([...new Set(await teams('tenant-a'))], [ta]);
    assert.deepEqual(await teams('tenant-b'), before);

    // The user-token pane shows only records of its sub (the page prints it).
    await page.waitForSelector('#user .hit[data-team]');
    const sub = await page.$eval('#user', (el) => el.textContent.match(/sub\s+(\S+)/)[1]);
    const owners = await page.$$eval('#user .hit .hit-meta', (els) => els.map((e) => e.textContent.match(/owner (\S+)/)[1]));
    assert.ok(owners.length > 0);
    assert.deepEqual([...new Set(owners)], [sub]);
    assert.deepEqual(problems, []);
  } finally {
    await browser.close();
    await demo.stop();
  }
});
