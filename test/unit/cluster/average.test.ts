// Merging replicas (cluster/average.ts) and the blobs that carry them (cluster/codec.ts): exact values on small
// hand-made tensors.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { averageInto } from '../../../src/cluster/average.js';
import { decodeShard, decodeSubmission, diffParams, encodeShard, encodeSubmission, sliceColumns, type Submission } from '../../../src/cluster/codec.js';
import type { NamedParam } from '../../../src/nn/params.js';
import type { Columns } from '../../../src/data/batches/columns.js';

const f32 = (a: number[]): Float32Array => Float32Array.from(a);

function params(dense: number[], table: number[]): NamedParam[] {
  return [
    { name: 'w', shape: [dense.length], data: f32(dense), kind: 'dense' },
    { name: 'emb.table', shape: [table.length / 2, 2], data: f32(table), kind: 'embedding' },
  ];
}

function sub(worker: string, ps: NamedParam[], base: Float32Array[], rows = 10, baseKey: string | null = 'b'): Submission {
  return { worker, base: baseKey, rows, shards: { s: rows }, tensors: diffParams(ps, base) };
}

test('diffParams sends only the embedding rows that changed, dense tensors whole', () => {
  const base = [f32([1, 2]), f32([0, 0, 1, 1, 2, 2])];
  const ps = params([1.5, 2], [0, 0, 1, 3, 2, 2]);
  const [d, e] = diffParams(ps, base);
  assert.equal(d.kind, 'full');
  assert.deepEqual([...d.values], [1.5, 2]);
  assert.equal(e.kind, 'rows');
  if (e.kind === 'rows') {
    assert.deepEqual([...e.rows], [1]);
    assert.deepEqual([...e.values], [1, 3]);
  }
});

test("sum: every worker's change lands; a row one worker changed is copied exactly; untouched rows stay", () => {
  const base = [f32([1, 2]), f32([0, 0, 1, 1, 2, 2])];
  const a = sub('a', params([1.5, 2], [0.1, 0.2, 1, 1, 2, 2]), base); // dense +0.5, row 0
  const b = sub('b', params([1.25, 3], [0.3, 0.1, 1, 1, 2.5, 2]), base); // dense +0.25/+1, rows 0 and 2
  const g = base.map((x) => new Float32Array(x));
  const st = averageInto(g, [a, b], 'sum');
  assert.deepEqual([...g[0]], [1.75, 3]);
  assert.deepEqual([...g[1]], [Math.fround(Math.fround(0.1) + Math.fround(0.3)), Math.fround(Math.fround(0.2) + Math.fround(0.1)), 1, 1, 2.5, 2]);
  assert.equal(st.contributors, 2);
  assert.equal(st.rowsChanged, 2);
});

test('mean: dense mean over contributors, a row the mean over the workers that changed it; idle workers count for nothing', () => {
  const base = [f32([1, 2]), f32([0, 0, 1, 1, 2, 2])];
  const a = sub('a', params([2, 2], [1, 1, 1, 1, 2, 2]), base);
  const b = sub('b', params([4, 6], [3, 5, 1, 1, 2, 4]), base);
  const idle: Submission = { worker: 'c', base: 'b', rows: 0, shards: {}, tensors: null };
  const g = base.map((x) => new Float32Array(x));
  averageInto(g, [a, b, idle], 'mean');
  assert.deepEqual([...g[0]], [3, 4]);
  assert.deepEqual([...g[1]], [2, 3, 1, 1, 2, 4]);
});

test('one worker alone: the merge is its replica bit for bit (values whose difference rounds are not re-added)', () => {
  const base = [f32([0.1, 1e8]), f32([0.3, 0.7, 1e-8, 5])];
  const ps = params([0.1 + 1e-9, 1e8 + 8], [0.30000001, 0.7, 3e-8, 5]);
  const g = base.map((x) => new Float32Array(x));
  averageInto(g, [sub('a', ps, base)], 'sum');
  assert.deepEqual([...g[0]], [...ps[0].data]);
  assert.deepEqual([...g[1]], [...ps[1].data]);
});

test('a worker that started from an older snapshot adds its change relative to that snapshot', () => {
  const old = [f32([1]), f32([0, 0])];
  const cur = [f32([2]), f32([1, 1])];
  const ps: NamedParam[] = [
    { name: 'w', shape: [1], data: f32([1.5]), kind: 'dense' },
    { name: 'emb.table', shape: [1, 2], data: f32([0.5, 0]), kind: 'embedding' },
  ];
  const s = sub('late', ps, old, 5, 'old');
  const g = cur.map((x) => new Float32Array(x));
  averageInto(g, [s], 'sum', (x) => (x.base === 'old' ? old : g));
  assert.deepEqual([...g[0]], [2.5]);
  assert.deepEqual([...g[1]], [1.5, 1]);
});

test('submission and shard blobs round-trip; a slice view reads the same rows', () => {
  const base = [f32([1, 2]), f32([0, 0, 1, 1, 2, 2])];
  const s = sub('w1', params([1.5, 2], [0, 0, 1, 3, 2, 2]), base, 7, null);
  const back = decodeSubmission(encodeSubmission(s));
  assert.equal(back.worker, 'w1');
  assert.equal(back.base, null);
  assert.equal(back.rows, 7);
  assert.deepEqual(back.shards, { s: 7 });
  assert.deepEqual(back.tensors?.map((t) => [...t.values]), s.tensors?.map((t) => [...t.values]));
  assert.equal(back.at, undefined);
  assert.equal(back.blob, undefined);
  const head = decodeSubmission(encodeSubmission({ ...s, tensors: null, at: 1234, blob: 'sub/3/w1' }));
  assert.deepEqual([head.at, head.blob, head.rows, head.tensors], [1234, 'sub/3/w1', 7, null]);

  const ds: Columns = {
    rows: 4,
    labels: f32([1, 0, 1, 0]),
    fields: [
      { ids: Uint32Array.from([10, 0, 11, 0, 12, 0, 13, 0]), offsets: null },
      { ids: Uint32Array.from([1, 0, 2, 0, 3, 0]), offsets: Int32Array.from([0, 2, 2, 3, 3]) },
    ],
    numDense: 1,
    dense: f32([0.5, 1.5, 2.5, 3.5]),
  };
  const sh = decodeShard(encodeShard(ds, [2, 0, 3]));
  assert.equal(sh.rows, 3);
  assert.deepEqual([...sh.labels], [1, 1, 0]);
  assert.deepEqual([...sh.fields[0].ids], [12, 0, 10, 0, 13, 0]);
  assert.deepEqual([...(sh.fields[1].offsets as Int32Array)], [0, 1, 3, 3]);
  assert.deepEqual([...sh.fields[1].ids], [3, 0, 1, 0, 2, 0]);
  assert.deepEqual([...(sh.dense as Float32Array)], [2.5, 0.5, 3.5]);
  const v = sliceColumns(sh, 1, 3);
  assert.equal(v.rows, 2);
  assert.deepEqual([...v.fields[0].ids], [10, 0, 13, 0]);
  const o = v.fields[1].offsets as Int32Array;
  assert.deepEqual([...v.fields[1].ids.subarray(2 * o[0], 2 * o[2])], [1, 0, 2, 0]);
  assert.deepEqual([...(v.dense as Float32Array)], [0.5, 3.5]);
});
