// `bhembed train` → `bhembed export` → onnxruntime-node scores equal `bhembed predict` on the same file within 1e-6:
// a CSV model (categorical, log1p-dense, bucketized and multi-valued '|' columns) with skip BH, and a Criteo model
// with succession BH. The ids fed to ONNX come from the same reader `predict` uses, so this also checks the graph's
// input contract (names, multi-valued padding and counts, the dense input).

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import * as ort from 'onnxruntime-node';
import { openReader } from '../../src/data/open.js';
import type { DataFormat, ReaderOptions } from '../../src/data/reader.js';
import { bhembed, tempDir, writeCriteoSplits } from './cli-helpers.js';

const dir = tempDir();
const fixtures = join(process.cwd(), 'test/fixtures');

/** Read every row of `path` as the model's reader does and build the ONNX feeds from the graph's metadata. */
async function feedsFromFile(format: DataFormat, path: string, reader: ReaderOptions, inputs: { name: string; kind: string; field: number }[]): Promise<Record<string, ort.Tensor>> {
  const r = await openReader(format, path, reader);
  const ids: bigint[][][] = r.fields.map(() => []);
  const dense: number[] = [];
  let n = 0;
  for await (const c of r.chunks()) {
    c.fields.forEach((col, f) => {
      for (let row = 0; row < c.rows; row++) {
        const lo = col.offsets ? col.offsets[row] : row;
        const hi = col.offsets ? col.offsets[row + 1] : row + 1;
        const vals: bigint[] = [];
        for (let v = lo; v < hi; v++) vals.push(BigInt.asIntN(64, (BigInt(col.ids[2 * v + 1]) << 32n) | BigInt(col.ids[2 * v])));
        ids[f].push(vals);
      }
    });
    if (c.dense) dense.push(...c.dense.subarray(0, c.rows * c.numDense));
    n += c.rows;
  }
  const feeds: Record<string, ort.Tensor> = {};
  for (const x of inputs) {
    const rows = ids[x.field];
    if (x.kind === 'dense') feeds[x.name] = new ort.Tensor('float32', Float32Array.from(dense), [n, dense.length / n]);
    else if (x.kind === 'count') feeds[x.name] = new ort.Tensor('int64', BigInt64Array.from(rows, (v) => BigInt(v.length)), [n]);
    else if (r.fields[x.field].multiValued) {
      const L = Math.max(1, ...rows.map((v) => v.length));
      const flat = new BigInt64Array(n * L);
      rows.forEach((v, i) => v.forEach((id, j) => (flat[i * L + j] = id)));
      feeds[x.name] = new ort.Tensor('int64', flat, [n, L]);
    } else feeds[x.name] = new ort.Tensor('int64', BigInt64Array.from(rows, (v) => v[0]), [n]);
  }
  return feeds;
}

async function exportMatchesPredict(name: string, format: DataFormat, trainArgs: string[], dataFile: string, reader: ReaderOptions): Promise<void> {
  const model = join(dir, `${name}.bhm`);
  const onnx = join(dir, `${name}.onnx`);
  const t = bhembed(['train', ...trainArgs, '--out', model, '-q']);
  assert.equal(t.status, 0, t.stderr);
  const e = bhembed(['export', model, '-o', onnx]);
  assert.equal(e.status, 0, e.stderr);
  assert.match(e.stderr, /probability +float32/);
  const p = bhembed(['predict', model, dataFile, '--output-format', 'jsonl', '-q']);
  assert.equal(p.status, 0, p.stderr);
  const want = p.stdout.trim().split('\n').map((l) => (JSON.parse(l) as { probability: number }).probability);
  const session = await ort.InferenceSession.create(readFileSync(onnx));
  const meta = await readInputsMeta(onnx);
  const got = (await session.run(await feedsFromFile(format, dataFile, reader, meta))).probability.data as Float32Array;
  await session.release();
  assert.equal(got.length, want.length);
  let maxDiff = 0;
  for (let i = 0; i < want.length; i++) maxDiff = Math.max(maxDiff, Math.abs(got[i] - want[i]));
  assert.ok(maxDiff <= 1e-6, `max |onnx − predict| = ${maxDiff}`);
}

/** The graph's input list, from the metadata the exporter writes (read back with the CLI's own JSON). */
async function readInputsMeta(onnx: string): Promise<{ name: string; kind: string; field: number }[]> {
  const bytes = readFileSync(onnx);
  const text = bytes.toString('latin1');
  const at = text.indexOf('bhembed_inputs');
  assert.ok(at > 0, 'bhembed_inputs metadata present');
  const start = text.indexOf('[', at);
  const end = text.indexOf(']', start);
  return JSON.parse(bytes.subarray(start, end + 1).toString('utf8'));
}

test('csv (dense, bucketized, multi-valued columns), dcnv2, skip BH: export equals predict', async () => {
  const csv = join(fixtures, 'table.csv');
  const schema = join(fixtures, 'table.schema.json');
  await exportMatchesPredict(
    'csv-skip',
    'csv',
    ['--train', csv, '--format', 'csv', '--schema', schema, '--model', 'dcnv2', '--mlp', '8', '--dim', '4', '--embedding', 'bh', '--bh-strategy', 'skip', '--block-bits', '5', '--epochs', '1'],
    csv,
    { schema },
  );
});

test('criteo, deepfm, succession BH: export equals predict', async () => {
  const data = writeCriteoSplits(dir, { train: 600, valid: 100, test: 200 });
  await exportMatchesPredict('criteo-succ', 'criteo', ['--train', data.train, '--format', 'criteo', '--model', 'deepfm', '--mlp', '8', '--dim', '4', '--embedding', 'bh', '--block-bits', '4', '--epochs', '1'], data.test, {});
});

test('export: usage errors exit 2 with one line', () => {
  const r = bhembed(['export', join(dir, 'missing.bhm')]);
  assert.equal(r.status, 2);
  assert.match(r.stderr, /-o <file>/);
});
