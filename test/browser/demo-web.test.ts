// `bhembed demo --web` writes a page that works from a file:// URL with no network: in headless Chromium it shows the
// score of a test row, picking another value changes it, and both scores equal the Predictor's on the same raw
// Criteo lines within 1e-6. A screenshot is written next to the page (BHEMBED_SCREENSHOT=path copies it there).

import assert from 'node:assert/strict';
import { copyFileSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { pathToFileURL } from 'node:url';
import { Predictor } from '../../src/serve/predictor.js';
import { bhembed, tempDir } from '../e2e/cli-helpers.js';
import { ensureChromium, launchChromium } from './chromium.js';

const chromium = ensureChromium();
const skip = 'skip' in chromium ? `headless Chromium unavailable: ${chromium.skip}` : false;

async function nodeScores(model: string, lines: string[], dir: string): Promise<Float32Array> {
  const path = join(dir, 'rows.tsv');
  writeFileSync(path, `${lines.join('\n')}\n`);
  const p = await Predictor.load(model);
  const out: number[] = [];
  for await (const b of p.predictFile(path)) out.push(...b.probs);
  await p.close();
  return Float32Array.from(out);
}

test('demo --web: the page scores offline from a file, and a picked value changes the score as Node does', { skip }, async () => {
  const dir = tempDir();
  const out = join(dir, 'demo');
  const r = bhembed(['demo', '--out-dir', out, '--rows', '2000', '--test-rows', '500', '--web', '-q']);
  assert.equal(r.status, 0, r.stderr);
  const pagePath = join(out, 'web', 'index.html');
  assert.match(r.stdout, /web page: .*index\.html/);
  const testLine = readFileSync(join(out, 'data', 'test.txt'), 'utf8').split('\n')[0];

  const c = await launchChromium((chromium as { path: string }).path);
  try {
    const page = await c.browser.newPage();
    await page.setViewport({ width: 1200, height: 900 });
    // No network: any request other than the file itself (and the page's blob: module) is refused.
    await page.setRequestInterception(true);
    const refused: string[] = [];
    page.on('request', (req) => {
      if (req.url().startsWith('file:') || req.url().startsWith('blob:') || req.url().startsWith('data:')) void req.continue();
      else {
        refused.push(req.url());
        void req.abort();
      }
    });
    await page.goto(pathToFileURL(pagePath).href);
    // (Page code is passed as strings: this file compiles without the DOM types.)
    await page.waitForFunction('document.body.dataset.probability !== undefined || document.body.dataset.error !== undefined', { timeout: 60_000 });
    assert.equal(await page.evaluate('document.body.dataset.error'), undefined);
    const first = Number(await page.evaluate('document.body.dataset.probability'));

    // Pick the second most frequent value of C1 (or the first, when the row already has it).
    const picked = (await page.evaluate(`(async () => {
      const s = document.querySelectorAll('select')[13]; // I1..I13, then C1
      const now = s.value;
      const v = [...s.options].map((o) => o.value).find((x) => x !== '' && x !== now);
      s.value = v;
      s.dispatchEvent(new Event('change'));
      await window.bhembedDemo.update();
      return { v, p: Number(document.body.dataset.probability) };
    })()`)) as { v: string; p: number };
    const shot = join(out, 'web', 'screenshot.png');
    await page.screenshot({ path: shot });
    assert.ok(statSync(shot).size > 10_000, 'a real screenshot');
    if (process.env.BHEMBED_SCREENSHOT) copyFileSync(shot, process.env.BHEMBED_SCREENSHOT);
    assert.deepEqual(refused, []);

    const cols = testLine.split('\t');
    const changed = [...cols];
    changed[14] = picked.v; // label, I1..I13, then C1
    const want = await nodeScores(join(out, 'web', 'model.bhm'), [testLine, changed.join('\t')], dir);
    assert.ok(Math.abs(first - want[0]) <= 1e-6, `first row: page ${first}, Node ${want[0]}`);
    assert.ok(Math.abs(picked.p - want[1]) <= 1e-6, `picked C1=${picked.v}: page ${picked.p}, Node ${want[1]}`);
    assert.notEqual(picked.p, first, 'the picked value changed the score');
  } finally {
    await c.close();
  }
});
