// The models and rows the Chromium test and bench:web score: the all-methods export model on id rows, and two models
// fed raw values (a Criteo TSV with integer columns, a CSV with bucketized, log1p-dense and multi-valued columns) whose
// Node reference is the Predictor reading the same file with the training format's reader. Their Node reference runs
// the WASM GEMM the page runs (engine 'wasm'): onnxruntime-node's GEMM sums in another order, 1.4e-6 apart on the
// Criteo model's probabilities. The Criteo (dcnv2) and CSV (wdl) models have fields of their own dims (a table per width).

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Rng } from '../../src/core/rng.js';
import { exportOnnx } from '../../src/export/onnx-model.js';
import type { Ops } from '../../src/kernels/index.js';
import type { ModelConfig } from '../../src/models/config.js';
import { decodeModelFile, encodeModelFile, type ModelFileContents } from '../../src/models/model-file.js';
import { createModel } from '../../src/models/registry.js';
import { Predictor } from '../../src/serve/predictor.js';
import { exportModelFile, exportRows } from '../export-models.js';

export const FIXTURES = join(process.cwd(), 'test/fixtures');

/** What the page gets for one model: the files' bytes, the rows (raw or as decimal id strings) and Node's scores. */
export interface WebCase {
  name: string;
  bhm: Uint8Array;
  onnx: Uint8Array;
  /** Raw rows by field/dense name, or null when the case feeds ids. */
  raw: Record<string, string | string[]>[] | null;
  /** Id rows: per field the unsigned 64-bit ids as decimal strings; dense floats. */
  ids: { ids: string[][]; dense: number[] }[] | null;
  want: Float32Array;
}

function spread(config: ModelConfig, ops: Ops, seed: number, meta: Record<string, unknown>): ModelFileContents {
  const model = createModel(config, { ops, maxBatch: 64 });
  const rng = new Rng(seed);
  for (const p of model.parameters()) for (let i = 0; i < p.data.length; i++) p.data[i] += (p.name.includes('table') ? 0.4 : 0.25) * rng.normal();
  const tensors = model.parameters().map((p) => ({ name: p.name, shape: p.shape, data: p.data.slice() }));
  model.dispose();
  return decodeModelFile(encodeModelFile(model.config, meta, tensors));
}

function metaFor(format: string, fieldNames: string[], denseNames: string[], reader: Record<string, unknown>): Record<string, unknown> {
  return { bhembed: 'test', data: { format, fieldNames, denseNames, reader }, engine: { ops: 'wasm', gemm: 'wasm' }, evalBatch: 64, embedding: { method: 'bh', dim: 4, fields: [] } };
}

async function scoresOfFile(file: ModelFileContents, path: string): Promise<Float32Array> {
  const p = await Predictor.fromContents(file, 'model.bhm');
  const out: number[] = [];
  for await (const b of p.predictFile(path)) out.push(...b.probs);
  await p.close();
  return Float32Array.from(out);
}

const bh = (codeBits: number, blockBits: number, strategy: 'succession' | 'skip') => ({ method: 'bh' as const, codeBits, blockBits, strategy });

/** The three cases; `rowsOfIds` rows for the id case. */
export async function webCases(ops: Ops, rowsOfIds = 64): Promise<WebCase[]> {
  const cases: WebCase[] = [];

  // 1. Every index method and a multi-valued field, on id rows (a third of them ≥ 2^63).
  const file = await exportModelFile(ops, 'deepfm', 77);
  const rows = exportRows(rowsOfIds, 5);
  for (const f of rows.batch.fields) f.weights = null; // a CSV-format model: its values carry no weights
  const p = await Predictor.fromContents(file, 'all-methods.bhm');
  const want = (await p.model.predict(rows.batch)).slice();
  await p.close();
  const ids = Array.from({ length: rows.n }, (_, r) => ({
    ids: rows.batch.fields.map((f) => {
      const lo = f.offsets ? f.offsets[r] : r;
      const hi = f.offsets ? f.offsets[r + 1] : r + 1;
      const out: string[] = [];
      for (let v = lo; v < hi; v++) out.push(((BigInt(f.ids[2 * v + 1]) << 32n) | BigInt(f.ids[2 * v])).toString());
      return out;
    }),
    dense: Array.from(rows.dense.subarray(r * 3, r * 3 + 3)),
  }));
  cases.push({ name: 'all-methods', bhm: encodeModelFile(file.model, file.meta, file.tensors), onnx: exportOnnx(file).bytes, raw: null, ids, want });

  // 2. Criteo TSV: I1..I13 through the integer rule, C1..C26 as text, empty cells missing.
  const criteoPath = join(FIXTURES, 'criteo.tsv');
  const ints = Array.from({ length: 13 }, (_, i) => `I${i + 1}`);
  const cats = Array.from({ length: 26 }, (_, i) => `C${i + 1}`);
  const names = [...ints, ...cats];
  const criteo = spread(
    // Fields of their own dims (one table per width: 2 for the integer columns, 6 for every third categorical one).
    { arch: 'dcnv2', dim: 4, mlp: [8], crossLayers: 1, fields: names.map((name, i) => ({ name, index: bh(24, 6, i % 2 === 0 ? 'succession' : 'skip'), fusion: 'weighted', ...(i < 13 ? { dim: 2 } : i % 3 === 0 ? { dim: 6 } : {}) })) },
    ops,
    8,
    metaFor('criteo', names, [], { numeric: 'category' }),
  );
  const criteoRaw = readFileSync(criteoPath, 'utf8')
    .trim()
    .split('\n')
    .map((line) => Object.fromEntries(line.split('\t').slice(1).map((v, i) => [names[i], v])));
  cases.push({ name: 'criteo', bhm: encodeModelFile(criteo.model, criteo.meta, criteo.tensors), onnx: exportOnnx(criteo).bytes, raw: criteoRaw, ids: null, want: await scoresOfFile(criteo, criteoPath) });

  // 3. CSV with a schema: categorical, bucketized (boundaries), log1p dense and a '|' multi-valued column.
  const csvPath = join(FIXTURES, 'table.csv');
  const schema = JSON.parse(readFileSync(join(FIXTURES, 'table.schema.json'), 'utf8')) as Record<string, unknown>;
  const csvFields = ['user', 'item', 'age', 'tags'];
  const csv = spread(
    { arch: 'wdl', dim: 4, mlp: [8], numDense: 1, fields: csvFields.map((name, i) => ({ name, index: i === 1 ? { method: 'qr', remainder: 7, quotient: 5 } : bh(16, 4, 'skip'), pooling: 'mean', ...(name === 'age' ? { dim: 2 } : {}) })) },
    ops,
    9,
    metaFor('csv', csvFields, ['price'], { schema }),
  );
  const lines = readFileSync(csvPath, 'utf8').trim().split('\n');
  const header = lines[0].split(',');
  const csvRaw = lines.slice(1).map((l) => Object.fromEntries(l.split(',').map((v, i) => [header[i], v])));
  cases.push({ name: 'csv', bhm: encodeModelFile(csv.model, csv.meta, csv.tensors), onnx: exportOnnx(csv).bytes, raw: csvRaw, ids: null, want: await scoresOfFile(csv, csvPath) });

  // 4–5. libsvm (single-valued `idx:val` tokens) and libffm (`field:idx:val`, multi-valued, sum pooling): values carry
  // weights (the files record valueWeights, as bhembed train writes them; 0.1.0 files without it: test/export/compat-weights).
  for (const format of ['libsvm', 'libffm'] as const) {
    const path = join(FIXTURES, `data.${format}`);
    const names = ['f0', 'f1', 'f2'];
    const file = spread(
      { arch: format === 'libsvm' ? 'fm' : 'deepfm', dim: 4, mlp: [8], fields: names.map((name, i) => ({ name, index: i === 2 ? { method: 'hash', rows: 13 } : bh(12, 3, 'skip'), pooling: 'sum' })) },
      ops,
      10,
      metaFor(format, names, [], { numFields: 3, valueWeights: true }),
    );
    const raw = readFileSync(path, 'utf8')
      .trim()
      .split('\n')
      .map((line) => {
        const toks = line.trim().split(/\s+/).slice(1);
        if (format === 'libsvm') return Object.fromEntries(toks.map((t, i) => [names[i], t]));
        const row: Record<string, string[]> = {};
        for (const t of toks) {
          const c = t.indexOf(':');
          (row[`f${t.slice(0, c)}`] ??= []).push(t.slice(c + 1));
        }
        return row;
      });
    cases.push({ name: format, bhm: encodeModelFile(file.model, file.meta, file.tensors), onnx: exportOnnx(file).bytes, raw, ids: null, want: await scoresOfFile(file, path) });
  }
  return cases;
}
