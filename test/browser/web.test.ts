// bhembed/web in headless Chromium: the bundle's scores equal Node's (the Predictor) within 1e-6 on the same rows,
// and so do onnxruntime-web's on the exported graph. Five models: every index method on id rows (ids ≥ 2^63 among
// them, multi-valued fields), then raw values hashed in the page as the readers hash them: a Criteo TSV, a CSV, and
// libsvm and libffm files whose `idx:val` values carry weights.
// Chromium is Debian's `chromium`, installed with apt-get when missing; without it the test skips and says why.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { createOps } from '../../src/kernels/index.js';
import { ensureChromium, launchChromium, serveRoutes, type Chromium } from './chromium.js';
import { PAGE_SETUP, scoreInPage, siteRoutes } from './web-page.js';
import { webCases, type WebCase } from './web-models.js';

const chromium = ensureChromium();
const skip = 'skip' in chromium ? `headless Chromium unavailable: ${chromium.skip}` : false;
if (skip) process.stderr.write(`# browser tests skipped: ${skip}\n`);

let cases: WebCase[] = [];
let site: Awaited<ReturnType<typeof serveRoutes>> | null = null;
let browser: Chromium | null = null;
let results: Record<string, { web: number[]; onnx: number[] }> = {};

before(async () => {
  if (skip) return;
  cases = await webCases(await createOps('auto'));
  site = await serveRoutes(siteRoutes(cases));
  browser = await launchChromium((chromium as { path: string }).path);
  const page = await browser.browser.newPage();
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  await page.goto(`${site.url}/`);
  assert.equal(await page.evaluate(PAGE_SETUP), true, errors.join('\n'));
  for (const c of cases) results[c.name] = (await page.evaluate(await scoreInPage(c))) as { web: number[]; onnx: number[] };
});

after(async () => {
  await browser?.close();
  await site?.close();
  results = {};
});

function maxDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  assert.equal(a.length, b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

for (const name of ['all-methods', 'criteo', 'csv', 'libsvm', 'libffm']) {
  test(`${name}: bhembed/web and onnxruntime-web in Chromium equal Node within 1e-6`, { skip }, () => {
    const c = cases.find((x) => x.name === name) as WebCase;
    const r = results[name];
    const web = maxDiff(r.web, c.want);
    const onnx = maxDiff(r.onnx, c.want);
    assert.ok(web <= 1e-6, `bundle vs Node: max diff ${web}`);
    assert.ok(onnx <= 1e-6, `onnxruntime-web vs Node: max diff ${onnx}`);
    assert.ok(Math.max(...c.want) - Math.min(...c.want) > 0.05, 'the scores carry a ranking');
  });
}
