// The peer dump is the contract between bhembed and the PyTorch / tfjs peers: check that both layouts read back
// the rows that were written, and that the harness's AUC and log loss match their definitions.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Rng } from '../../../src/core/rng.js';
import { SplitWriter, logLoss, readMeta, readSplit, rocAuc, writeMeta, type PeerMeta } from '../../../bench/peers/dump.js';

function meta(layout: PeerMeta['layout'], n: number): PeerMeta {
  return {
    format: 'bhembed-peer-dump',
    version: 1,
    name: 't',
    source: 'test',
    indexer: 'library',
    layout,
    fields: [
      { name: 'a', numRows: 10, rowsPerValue: 1, fusion: 'sum', offset: 0, method: 'full', spec: {}, numCodes: layout === 'values' ? 3 : undefined },
      { name: 'b', numRows: 32, rowsPerValue: 2, fusion: 'sum', offset: 1, method: 'bh', spec: {}, numCodes: layout === 'values' ? 2 : undefined },
    ],
    rowsPerSample: 3,
    dim: 4,
    arch: 'dnn',
    mlp: [8],
    batch: 2,
    lr: 1e-3,
    epochs: 1,
    optimizer: { dense: 'adam', embedding: 'sparse_adam', beta1: 0.9, beta2: 0.999, eps: 1e-8 },
    init: { embedding: 'normal', embeddingStd: 0.01, dense: 'glorot_uniform', linear: 'zeros' },
    export: { config: 't', quick: true },
    seed: 1,
    n: { train: n, valid: 0, test: 0 },
  };
}

test('rows layout: gather returns the written rows in the requested order', () => {
  const dir = mkdtempSync(join(tmpdir(), 'peer-dump-'));
  try {
    const m = meta('rows', 3);
    writeMeta(dir, m);
    const w = new SplitWriter(dir, 'train', 3);
    w.write(Int32Array.from([1, 2, 3, 4, 5, 6, 7, 8, 9]), Float32Array.from([1, 0, 1]), 3);
    w.close();
    const s = readSplit(dir, readMeta(dir), 'train');
    const out = new Int32Array(6);
    s.gather([2, 0], 0, 2, out);
    assert.deepEqual([...out], [7, 8, 9, 1, 2, 3]);
    assert.deepEqual([...s.labels], [1, 0, 1]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('values layout: sample rows come from the per-field code tables', () => {
  const dir = mkdtempSync(join(tmpdir(), 'peer-dump-'));
  try {
    const m = meta('values', 2);
    writeMeta(dir, m);
    // field a: code c -> row 5 + c ; field b: code c -> rows [10c, 10c + 1]
    writeFileSync(join(dir, 'field0.rows.i32'), new Uint8Array(Int32Array.from([5, 6, 7]).buffer));
    writeFileSync(join(dir, 'field1.rows.i32'), new Uint8Array(Int32Array.from([0, 1, 10, 11]).buffer));
    const w = new SplitWriter(dir, 'train', 2, 'values');
    w.write(Int32Array.from([2, 1, 0, 0]), Float32Array.from([0, 1]), 2);
    w.close();
    const s = readSplit(dir, readMeta(dir), 'train');
    const out = new Int32Array(6);
    s.gather([0, 1], 0, 2, out);
    assert.deepEqual([...out], [7, 10, 11, 5, 0, 1]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('rocAuc equals the pairwise definition (ties count ½) on random data', () => {
  const rng = new Rng(7);
  const n = 300;
  const y = Float32Array.from({ length: n }, () => (rng.next() < 0.3 ? 1 : 0));
  const p = Float32Array.from({ length: n }, (_, i) => Math.round((y[i] * 0.4 + rng.next()) * 20) / 20); // many ties
  let num = 0;
  let den = 0;
  for (let i = 0; i < n; i++) {
    if (y[i] !== 1) continue;
    for (let j = 0; j < n; j++) {
      if (y[j] !== 0) continue;
      den++;
      num += p[i] > p[j] ? 1 : p[i] === p[j] ? 0.5 : 0;
    }
  }
  assert.ok(Math.abs(rocAuc(y, p) - num / den) < 1e-12);
  assert.ok(Number.isNaN(rocAuc([1, 1], [0.2, 0.3])));
});

test('logLoss is the mean binary cross-entropy', () => {
  const got = logLoss([1, 0], [0.8, 0.4]);
  assert.ok(Math.abs(got - -(Math.log(0.8) + Math.log(0.6)) / 2) < 1e-12);
});
