// The loopback site the Chromium test and bench:web open: the bhembed/web bundle, onnxruntime-web (its single-
// threaded WASM build: a page that is not cross-origin isolated has no SharedArrayBuffer) and the cases' files.

import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Routes } from './chromium.js';
import type { WebCase } from './web-models.js';

const here = dirname(fileURLToPath(import.meta.url));
/** dist/src/web/bhembed-web.js, the bundle `npm run build` writes. */
export const BUNDLE = join(here, '../../src/web/bhembed-web.js');
export const ORT_WEB_DIR = join(process.cwd(), 'node_modules/onnxruntime-web/dist');
/** The onnxruntime-web files a page loads for the plain WASM backend. */
export const ORT_WEB_FILES = ['ort.wasm.min.mjs', 'ort-wasm-simd-threaded.mjs', 'ort-wasm-simd-threaded.wasm'];

export function siteRoutes(cases: WebCase[]): Routes {
  const routes: Routes = {
    '/': { body: '<!doctype html><meta charset="utf-8"><title>bhembed web test</title><body></body>', type: 'text/html' },
    '/bhembed-web.js': { body: readFileSync(BUNDLE), type: 'text/javascript' },
  };
  for (const f of ORT_WEB_FILES) routes[`/ort/${f}`] = { body: readFileSync(join(ORT_WEB_DIR, f)), type: f.endsWith('.wasm') ? 'application/wasm' : 'text/javascript' };
  for (const c of cases) {
    routes[`/${c.name}.bhm`] = { body: c.bhm, type: 'application/octet-stream' };
    routes[`/${c.name}.onnx`] = { body: c.onnx, type: 'application/octet-stream' };
  }
  return routes;
}

/** In the page: load both runtimes once (globals `bh` and `ort`). */
export const PAGE_SETUP = `(async () => {
  globalThis.bh = await import('/bhembed-web.js');
  const ort = await import('/ort/ort.wasm.min.mjs');
  ort.env.wasm.numThreads = 1;
  ort.env.wasm.wasmPaths = '/ort/';
  globalThis.ort = ort;
  return true;
})()`;

/**
 * In the page, for one case: the bundle's scores (from raw rows, or from id rows) and onnxruntime-web's on the exported
 * graph with feeds the bundle builds. Returns plain arrays.
 */
export async function scoreInPage(c: WebCase): Promise<string> {
  return `(async () => {
    const name = ${JSON.stringify(c.name)};
    const raw = ${JSON.stringify(c.raw)};
    const idRows = ${JSON.stringify(c.ids)};
    const model = await bh.WebModel.load('/' + name + '.bhm', { maxBatch: 64 });
    const rows = raw !== null ? model.toIds(raw) : idRows.map((r) => ({ ids: r.ids.map((v) => v.map((x) => BigInt(x))), dense: r.dense }));
    const web = raw !== null ? await model.score(raw) : await model.scoreIds(rows);
    const session = await ort.InferenceSession.create('/' + name + '.onnx');
    const res = await session.run(model.onnxFeeds(rows, ort));
    const onnx = res[bh.OUTPUT_NAME].data;
    await session.release();
    model.dispose();
    return { web: Array.from(web), onnx: Array.from(onnx) };
  })()`;
}
