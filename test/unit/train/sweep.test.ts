// Sweep bookkeeping: the grid, resume without redoing cells, fingerprint checks, and the summary tables.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadSweepResults, runSweep, summarizeSweep, sweepCells, sweepCsv, sweepMarkdown, sweepSvg } from '../../../src/train/sweep.js';
import type { SweepCell } from '../../../src/train/sweep.js';

test('grid: full once per seed, others at every ratio', () => {
  const cells = sweepCells(['full', 'hash', 'bh'], [10, 100], [1, 2]);
  assert.deepEqual(
    cells.map((c) => c.key),
    ['full@1#1', 'hash@10#1', 'hash@100#1', 'bh@10#1', 'bh@100#1', 'full@1#2', 'hash@10#2', 'hash@100#2', 'bh@10#2', 'bh@100#2'],
  );
});

test('resume runs only unfinished cells and refuses other options', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'sweep-'));
  const path = join(dir, 'results.json');
  const fp = { train: 'a.txt', dim: 8 };
  const cells = sweepCells(['hash', 'bh'], [10, 100], [1, 2]);
  const fake = async (c: SweepCell) => ({ rows: 1000 / c.compression, actualCompression: c.compression, params: 8000 / c.compression, bytes: 32000 / c.compression, test: { auc: 0.8 - c.compression / 1e4 + c.seed / 1e3, logloss: 0.4 }, seconds: 1 });
  const calls: string[] = [];
  // First run stops after 3 cells (simulated crash).
  let n = 0;
  await assert.rejects(
    runSweep({ cells, results: loadSweepResults(path, fp), path, runCell: async (c) => { if (n++ === 3) throw new Error('killed'); calls.push(c.key); return fake(c); } }),
    /killed/,
  );
  assert.equal(Object.keys(JSON.parse(readFileSync(path, 'utf8')).cells).length, 3);
  const second = await runSweep({ cells, results: loadSweepResults(path, fp), path, runCell: async (c) => (calls.push(c.key), fake(c)) });
  assert.deepEqual(second, { ran: 5, skipped: 3 });
  assert.deepEqual(calls, cells.map((c) => c.key)); // each cell exactly once over both runs
  const third = await runSweep({ cells, results: loadSweepResults(path, fp), path, runCell: async () => assert.fail('nothing to redo') });
  assert.deepEqual(third, { ran: 0, skipped: 8 });
  assert.throws(() => loadSweepResults(path, { ...fp, dim: 16 }), /different options \(dim: 8 → 16\)/);

  const results = loadSweepResults(path, fp);
  const summary = summarizeSweep(results, cells);
  assert.equal(summary.length, 4);
  const bh10 = summary.find((r) => r.method === 'bh' && r.compression === 10)!;
  assert.equal(bh10.seeds, 2);
  assert.ok(Math.abs(bh10.aucMean - (0.8 - 0.001 + 0.0015)) < 1e-12);
  assert.ok(Math.abs(bh10.aucStd - Math.sqrt(2 * 0.0005 ** 2)) < 1e-12);
  const csv = sweepCsv(results, cells).trim().split('\n');
  assert.equal(csv.length, 9);
  assert.ok(csv[0].startsWith('key,method,compression,seed'));
  const md = sweepMarkdown(summary);
  assert.equal(md.trim().split('\n').length, 6);
  assert.match(md, /\| bh \| 10 \| 10\.0 \| 100 \|/);
  assert.equal([...sweepSvg(summary).matchAll(/<polyline/g)].length, 2);
});
