// Index planning from real (tiny, generated) data: full vocabularies match the distinct counts, the planner's
// budget holds, fields that fit stay full, and target flags are checked before any data is read.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Rng } from '../../../src/core/rng.js';
import { hashedCodeBits } from '../../../src/embedding/planner.js';
import { createIndexer } from '../../../src/embedding/registry.js';
import { checkModelOptions, loadRunData, planIndexSpecs } from '../../../src/experiment/pipeline.js';
import type { ModelOptions } from '../../../src/experiment/pipeline.js';
import { tempDir } from '../../temp-dir.js';

/** libfm rows with 3 fields of very different cardinality (3, 40, 400 values). */
function writeData(): string {
  const rng = new Rng(1);
  const lines: string[] = [];
  for (let i = 0; i < 2000; i++) lines.push(`${rng.int(2)} ${rng.int(3)}:1 ${10 + rng.int(40)}:1 ${100 + rng.int(400)}:1`);
  const path = join(tempDir('pipeline-'), 'd.libfm');
  writeFileSync(path, `${lines.join('\n')}\n`);
  return path;
}

const base: ModelOptions = { arch: 'fm', method: 'bh', dim: 4, epochs: 1, batchSize: 32, lr: 0.01, optimizer: 'adam', threads: 1, seed: 1 };

test('specs per method and target', async () => {
  const data = await loadRunData({ format: 'libfm', train: writeData() });
  assert.equal(data.train.numFields, 3);
  const distinct = data.distinct;
  assert.equal(distinct[0], 3);
  assert.equal(distinct[1], 40);
  assert.ok(distinct[2] > 350 && distinct[2] <= 400);

  const full = planIndexSpecs(data, { ...base, method: 'full' });
  assert.equal(full.plan, null);
  full.specs.forEach((s, f) => {
    assert.equal(s.method, 'full');
    assert.equal(s.method === 'full' && s.vocab.length, distinct[f]);
  });

  const bh = planIndexSpecs(data, { ...base, method: 'bh', blockBits: 3 });
  bh.specs.forEach((s, f) => assert.deepEqual(s, { method: 'bh', codeBits: hashedCodeBits(distinct[f]), blockBits: Math.min(3, hashedCodeBits(distinct[f])), strategy: 'succession', dense: false }));

  const fullRows = distinct.reduce((a, n) => a + n + 1, 0);
  for (const method of ['hash', 'qr', 'dhash', 'bh'] as const) {
    const r = planIndexSpecs(data, { ...base, method, compression: 4 });
    assert.ok(r.plan);
    assert.ok(r.plan.totalRows <= Math.floor(fullRows / 4), `${method}: ${r.plan.totalRows} rows`);
    // The 3-value field fits its share: it stays full (4 rows) with its vocabulary.
    assert.equal(r.specs[0].method, 'full');
    assert.equal(r.specs[2].method, method);
  }
});

test('--memory-budget holds every embedding byte: both tables, the block weights of weighted fusion and hybrid\'s hot keys', async () => {
  const data = await loadRunData({ format: 'libfm', train: writeData() });
  for (const method of ['bh', 'qr', 'dhash', 'hash', 'hybrid'] as const) {
    for (const budget of [600, 1500, 4000]) {
      const { specs } = planIndexSpecs(data, { ...base, method, memoryBudget: budget, fusion: 'weighted' });
      const ix = specs.map((s) => createIndexer(s));
      // fm: a dim-wide table and a 1-wide linear table, plus one weight per block per table, plus 8 bytes per hot key.
      const keys = specs.reduce((a, s) => a + (s.method === 'hybrid' ? 8 * s.hot.length : 0), 0);
      const bytes = keys + ix.reduce((a, i) => a + 4 * (i.numRows * (base.dim + 1) + 2 * i.rowsPerValue), 0);
      assert.ok(bytes <= budget, `${method} @ ${budget} B: ${bytes} B`);
      // Measured 0.75–1.0 of the budget: at 4000 B the 400-value field's share is 155 rows and succession BH at its
      // S = 18 reaches 104 (4 blocks of ≤ 5 bits; 3 blocks of 6 bits need 192), which the baselines then match.
      assert.ok(bytes >= 0.7 * budget, `${method} @ ${budget} B must use at least 70 % of the budget, uses ${bytes} B (${((100 * bytes) / budget).toFixed(0)} %)`);
    }
  }
});

test('target flags are checked without data', () => {
  assert.throws(() => checkModelOptions({ ...base, method: 'hash' }), /--embedding hash needs --compression R or --memory-budget SIZE$/);
  assert.throws(() => checkModelOptions({ ...base, method: 'bh' }), /\(or --block-bits T\)/);
  assert.throws(() => checkModelOptions({ ...base, method: 'qr', blockBits: 4 }), /--block-bits applies to --embedding bh only/);
  assert.throws(() => checkModelOptions({ ...base, method: 'bh', compression: 10, memoryBudget: 1000 }), /only one of/);
  assert.throws(() => checkModelOptions({ ...base, method: 'full', compression: 10 }), /full takes no/);
  checkModelOptions({ ...base, method: 'full' });
  checkModelOptions({ ...base, method: 'dhash', memoryBudget: 4096 });
});

test('a byte budget too small for 2 rows per compressed field: the suggested budget plans (block weights included), one byte less does not', async () => {
  const data = await loadRunData({ format: 'libfm', train: writeData() });
  for (const fusion of ['weighted', 'sum'] as const) {
    for (const method of ['bh', 'hash'] as const) {
      const m: ModelOptions = { ...base, method, fusion, memoryBudget: 50 };
      let message = '';
      assert.throws(() => planIndexSpecs(data, m), (e: Error) => ((message = e.message), e.name === 'ConfigError'));
      const need = Number(/raise the budget to at least (\d+) bytes/.exec(message)?.[1]);
      assert.ok(need > 50, message);
      const { plan } = planIndexSpecs(data, { ...m, memoryBudget: need });
      assert.ok(plan !== null && plan.fields.every((f) => f.rows >= 2));
      assert.throws(() => planIndexSpecs(data, { ...m, memoryBudget: need - 1 }), /fewer than the 2 rows|does not even hold/, `${fusion} ${method} ${need - 1}`);
    }
  }
});

test('--code-bits and --hot-share are refused for methods that would ignore them; --code-bits pins S in every bh plan', async () => {
  assert.throws(() => checkModelOptions({ ...base, method: 'hash', compression: 10, codeBits: 20 }), /--code-bits applies to --embedding bh and hybrid only, not hash/);
  assert.throws(() => checkModelOptions({ ...base, method: 'bh', compression: 10, hotShare: 0.5 }), /--hot-share applies to --embedding hybrid only, not bh/);
  const data = await loadRunData({ format: 'libfm', train: writeData() });
  const fixed = planIndexSpecs(data, { ...base, method: 'bh', blockBits: 3, codeBits: 12 });
  for (const s of fixed.specs) assert.deepEqual(s, { method: 'bh', codeBits: 12, blockBits: 3, strategy: 'succession', dense: false });
  for (const method of ['bh', 'hybrid'] as const) {
    const r = planIndexSpecs(data, { ...base, method, compression: 4, codeBits: 30 });
    assert.equal(r.specs[2].method, method);
    assert.equal((r.specs[2] as { codeBits: number }).codeBits, 30);
  }
});
