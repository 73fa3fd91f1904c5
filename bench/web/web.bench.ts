// `npm run bench:web`: what a page pays for scoring with bhembed/web against onnxruntime-web on the same model.
//   1. Bytes: the bundle (raw, gzipped) against onnxruntime-web's files for its plain WASM backend.
//   2. Rows/s in headless Chromium, same model (Criteo-shaped DeepFM with BH) and batch, both single-threaded: the
//      bundle's scoreIds against onnxruntime-web running the exported graph, timed in the page, rounds interleaved.
//   3. Rows/s in Node: the exported graph in onnxruntime-node against bhembed's own Predictor, rounds interleaved.
// Medians of the rounds; the machine is shared, so the numbers are noisy. Writes bench/results/web.json.

import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import * as ort from 'onnxruntime-node';
import { Rng } from '../../src/core/rng.js';
import { exportOnnx } from '../../src/export/onnx-model.js';
import { createOps } from '../../src/kernels/index.js';
import type { ModelConfig } from '../../src/models/config.js';
import { decodeModelFile, encodeModelFile } from '../../src/models/model-file.js';
import { createModel } from '../../src/models/registry.js';
import { Predictor } from '../../src/serve/predictor.js';
import { ensureChromium, launchChromium, serveRoutes } from '../../test/browser/chromium.js';
import { BUNDLE, ORT_WEB_DIR, ORT_WEB_FILES } from '../../test/browser/web-page.js';

const quick = process.argv.includes('--quick');
const BATCH = 256;
const ROUNDS = quick ? 3 : 9;
const REPS = quick ? 5 : 20;

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const kb = (n: number): string => `${(n / 1024).toFixed(1)} KB`;

// ---------------------------------------------------------------- the model: Criteo-shaped DeepFM, BH at ~100×
const names = [...Array.from({ length: 13 }, (_, i) => `I${i + 1}`), ...Array.from({ length: 26 }, (_, i) => `C${i + 1}`)];
const config: ModelConfig = {
  arch: 'deepfm',
  dim: 16,
  mlp: [128, 64],
  fields: names.map((name) => ({ name, index: { method: 'bh', codeBits: 32, blockBits: 8, strategy: 'succession' }, fusion: 'weighted' })),
};
const ops = await createOps('wasm');
const model = createModel(config, { ops, maxBatch: BATCH });
const rng = new Rng(7);
for (const p of model.parameters()) for (let i = 0; i < p.data.length; i++) p.data[i] += 0.1 * rng.normal();
const meta = { bhembed: 'bench', data: { format: 'criteo', fieldNames: names, denseNames: [], reader: {} }, engine: { ops: 'wasm', gemm: 'auto' }, evalBatch: BATCH, embedding: { method: 'bh', dim: 16, fields: [] } };
const bhm = encodeModelFile(model.config, meta, model.parameters().map((p) => ({ name: p.name, shape: p.shape, data: p.data.slice() })));
model.dispose();
const file = decodeModelFile(bhm);
const onnx = exportOnnx(file).bytes;

// One batch of ids, a third ≥ 2^63.
const idWords = names.map(() => {
  const w = new Uint32Array(2 * BATCH);
  for (let i = 0; i < w.length; i++) w[i] = rng.int(0x10000) * 0x10000 + rng.int(0x10000);
  return w;
});
const toBig = (w: Uint32Array): bigint[] => Array.from({ length: BATCH }, (_, r) => (BigInt(w[2 * r + 1]) << 32n) | BigInt(w[2 * r]));
const idRows = Array.from({ length: BATCH }, (_, r) => ({ ids: idWords.map((w) => [toBig(w)[r].toString()]), dense: [] as number[] }));

// ---------------------------------------------------------------- 1. bytes
const gz = (b: Uint8Array): number => gzipSync(b, { level: 9 }).length;
const bundle = readFileSync(BUNDLE);
const ortFiles = ORT_WEB_FILES.map((f) => readFileSync(join(ORT_WEB_DIR, f)));
const sizes = {
  bundle: { raw: bundle.length, gzip: gz(bundle) },
  onnxruntimeWeb: { files: ORT_WEB_FILES, raw: ortFiles.reduce((s, b) => s + b.length, 0), gzip: ortFiles.reduce((s, b) => s + gz(b), 0) },
  model: { bhm: bhm.length, onnx: onnx.length },
};
console.log('bytes a page loads (gzip -9)');
console.log(`  bhembed/web bundle      ${kb(sizes.bundle.raw).padStart(11)}  gzipped ${kb(sizes.bundle.gzip).padStart(10)}`);
console.log(`  onnxruntime-web (wasm)  ${kb(sizes.onnxruntimeWeb.raw).padStart(11)}  gzipped ${kb(sizes.onnxruntimeWeb.gzip).padStart(10)}   (${(sizes.onnxruntimeWeb.gzip / sizes.bundle.gzip).toFixed(0)}× the bundle)`);
console.log(`  the model: .bhm ${kb(bhm.length)}, .onnx ${kb(onnx.length)}`);

// ---------------------------------------------------------------- 2. Chromium
let chromiumResult: Record<string, unknown> | { skipped: string };
const chromium = ensureChromium();
if ('skip' in chromium) {
  chromiumResult = { skipped: chromium.skip };
  console.log(`\nChromium: skipped (${chromium.skip})`);
} else {
  const routes: Parameters<typeof serveRoutes>[0] = {
    '/': { body: '<!doctype html><meta charset="utf-8"><body></body>', type: 'text/html' },
    '/bhembed-web.js': { body: bundle, type: 'text/javascript' },
    '/model.bhm': { body: bhm, type: 'application/octet-stream' },
    '/model.onnx': { body: onnx, type: 'application/octet-stream' },
  };
  ORT_WEB_FILES.forEach((f, i) => (routes[`/ort/${f}`] = { body: ortFiles[i], type: f.endsWith('.wasm') ? 'application/wasm' : 'text/javascript' }));
  const site = await serveRoutes(routes);
  const c = await launchChromium(chromium.path);
  try {
    const page = await c.browser.newPage();
    await page.goto(`${site.url}/`);
    const res = (await page.evaluate(`(async () => {
      const bh = await import('/bhembed-web.js');
      const ort = await import('/ort/ort.wasm.min.mjs');
      ort.env.wasm.numThreads = 1;
      ort.env.wasm.wasmPaths = '/ort/';
      const idRows = ${JSON.stringify(idRows)};
      const model = await bh.WebModel.load('/model.bhm', { maxBatch: ${BATCH} });
      const rows = idRows.map((r) => ({ ids: r.ids.map((v) => v.map((x) => BigInt(x))), dense: [] }));
      const session = await ort.InferenceSession.create('/model.onnx');
      const feeds = model.onnxFeeds(rows, ort);
      const a = await model.scoreIds(rows);
      const b = (await session.run(feeds))[bh.OUTPUT_NAME].data;
      let maxDiff = 0;
      for (let i = 0; i < a.length; i++) maxDiff = Math.max(maxDiff, Math.abs(a[i] - b[i]));
      const web = [], onnx = [];
      for (let round = 0; round < ${ROUNDS}; round++) {
        let t = performance.now();
        for (let k = 0; k < ${REPS}; k++) await model.scoreIds(rows);
        web.push((performance.now() - t) / ${REPS});
        t = performance.now();
        for (let k = 0; k < ${REPS}; k++) await session.run(feeds);
        onnx.push((performance.now() - t) / ${REPS});
      }
      return { web, onnx, maxDiff };
    })()`)) as { web: number[]; onnx: number[]; maxDiff: number };
    const w = median(res.web);
    const o = median(res.onnx);
    chromiumResult = { batch: BATCH, rounds: ROUNDS, reps: REPS, msPerBatch: { bundle: res.web, onnxruntimeWeb: res.onnx }, rowsPerSec: { bundle: (1000 * BATCH) / w, onnxruntimeWeb: (1000 * BATCH) / o }, maxDiff: res.maxDiff };
    console.log(`\nChromium (headless, 1 thread each), batch ${BATCH}, median of ${ROUNDS} interleaved rounds × ${REPS}`);
    console.log(`  bhembed/web       ${w.toFixed(2).padStart(8)} ms/batch  ${Math.round((1000 * BATCH) / w).toLocaleString('en').padStart(10)} rows/s`);
    console.log(`  onnxruntime-web   ${o.toFixed(2).padStart(8)} ms/batch  ${Math.round((1000 * BATCH) / o).toLocaleString('en').padStart(10)} rows/s   bundle / ort-web speed = ${(o / w).toFixed(2)}×   (max |diff| ${res.maxDiff.toExponential(1)})`);
  } finally {
    await c.close();
    await site.close();
  }
}

// ---------------------------------------------------------------- 3. Node: onnxruntime-node vs the Predictor
const NODE_BATCH = 1024;
const predictor = await Predictor.fromContents({ ...file, meta: { ...file.meta, evalBatch: NODE_BATCH } }, 'bench.bhm');
const words = names.map(() => {
  const w = new Uint32Array(2 * NODE_BATCH);
  for (let i = 0; i < w.length; i++) w[i] = rng.int(0x10000) * 0x10000 + rng.int(0x10000);
  return w;
});
const batch = { size: NODE_BATCH, labels: new Float32Array(NODE_BATCH), fields: words.map((ids) => ({ ids, offsets: null })), dense: null };
const session = await ort.InferenceSession.create(onnx);
const feeds: Record<string, ort.Tensor> = {};
names.forEach((n, f) => (feeds[n] = new ort.Tensor('int64', BigInt64Array.from({ length: NODE_BATCH }, (_, r) => BigInt.asIntN(64, (BigInt(words[f][2 * r + 1]) << 32n) | BigInt(words[f][2 * r]))), [NODE_BATCH])));
const want = (await predictor.model.predict(batch)).slice();
const got = (await session.run(feeds)).probability.data as Float32Array;
let nodeDiff = 0;
for (let i = 0; i < NODE_BATCH; i++) nodeDiff = Math.max(nodeDiff, Math.abs(got[i] - want[i]));
const pTimes: number[] = [];
const oTimes: number[] = [];
for (let round = 0; round < ROUNDS; round++) {
  let t = performance.now();
  for (let k = 0; k < REPS; k++) await predictor.model.predict(batch);
  pTimes.push((performance.now() - t) / REPS);
  t = performance.now();
  for (let k = 0; k < REPS; k++) await session.run(feeds);
  oTimes.push((performance.now() - t) / REPS);
}
await session.release();
await predictor.close();
const pm = median(pTimes);
const om = median(oTimes);
console.log(`\nNode ${process.version}, batch ${NODE_BATCH}, median of ${ROUNDS} interleaved rounds × ${REPS}`);
console.log(`  bhembed Predictor            ${pm.toFixed(2).padStart(8)} ms/batch  ${Math.round((1000 * NODE_BATCH) / pm).toLocaleString('en').padStart(10)} rows/s`);
console.log(`  exported graph, ort-node     ${om.toFixed(2).padStart(8)} ms/batch  ${Math.round((1000 * NODE_BATCH) / om).toLocaleString('en').padStart(10)} rows/s   Predictor / ort-node speed = ${(om / pm).toFixed(2)}×   (max |diff| ${nodeDiff.toExponential(1)})`);

mkdirSync('bench/results', { recursive: true });
writeFileSync(
  'bench/results/web.json',
  `${JSON.stringify(
    {
      machine: { cpu: cpus()[0]?.model, cores: cpus().length, node: process.version },
      onnxruntime: { node: (await import('onnxruntime-node/package.json', { with: { type: 'json' } })).default.version, web: JSON.parse(readFileSync(join(ORT_WEB_DIR, '../package.json'), 'utf8')).version },
      model: { arch: 'deepfm', fields: names.length, dim: 16, mlp: [128, 64], index: 'bh S=32 t=8 succession', bytes: sizes.model },
      sizes,
      chromium: chromiumResult,
      node: { batch: NODE_BATCH, rounds: ROUNDS, reps: REPS, msPerBatch: { predictor: pTimes, onnxruntimeNode: oTimes }, rowsPerSec: { predictor: (1000 * NODE_BATCH) / pm, onnxruntimeNode: (1000 * NODE_BATCH) / om }, maxDiff: nodeDiff },
    },
    null,
    2,
  )}\n`,
);
console.log('\nwrote bench/results/web.json');
