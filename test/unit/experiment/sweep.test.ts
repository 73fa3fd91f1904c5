// Sweep bookkeeping: the grid, resume without redoing cells, fingerprint checks, and the summary tables.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadSweepResults, runSweep, summarizeSweep, sweepCells, sweepCsv, sweepInfeasibleNotes, sweepMarkdown, sweepSvg } from '../../../src/experiment/sweep.js';
import type { SweepCell } from '../../../src/experiment/sweep.js';
import { tempDir } from '../../temp-dir.js';

test('grid: full once per seed, others at every ratio', () => {
  const cells = sweepCells(['full', 'hash', 'bh'], [10, 100], [1, 2]);
  assert.deepEqual(
    cells.map((c) => c.key),
    ['full@1#1', 'hash@10#1', 'hash@100#1', 'bh@10#1', 'bh@100#1', 'full@1#2', 'hash@10#2', 'hash@100#2', 'bh@10#2', 'bh@100#2'],
  );
});

test('resume runs only unfinished cells and refuses other options', async () => {
  const dir = tempDir('sweep-');
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
  // Other shared options: every saved cell is stale, with the reason, and runs again under the new options.
  const reasons: string[] = [];
  const rerun = await runSweep({ cells, results: loadSweepResults(path, { ...fp, dim: 16 }), path, runCell: fake, onCell: (_c, _i, skip, why) => reasons.push(`${skip}:${why}`) });
  assert.deepEqual(rerun, { ran: 8, skipped: 0 });
  assert.deepEqual(new Set(reasons), new Set(['false:dim: 8 → 16']));
  const back = await runSweep({ cells, results: loadSweepResults(path, fp), path, runCell: fake });
  assert.deepEqual(back, { ran: 8, skipped: 0 }, 'and back again: the file holds the latest options');

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

test('relative AUC pairs each cell with the full cell of the same seed; infeasible cells are listed, not summarized', async () => {
  const dir = tempDir('sweep-rel-');
  const path = join(dir, 'results.json');
  const cells = sweepCells(['full', 'bh'], [10, 1000], [1, 2]);
  const auc: Record<string, number> = { 'full@1#1': 0.8, 'full@1#2': 0.9, 'bh@10#1': 0.76, 'bh@10#2': 0.72 };
  await runSweep({
    cells,
    results: loadSweepResults(path, {}),
    path,
    runCell: async (c) =>
      c.compression === 1000
        ? { rows: 0, actualCompression: 0, params: 0, bytes: 0, seconds: 0, infeasible: 'plan: field f3 gets 1 rows' }
        : { rows: 10, actualCompression: c.compression, params: 10, bytes: 40, test: { auc: auc[c.key], logloss: 0.5 }, seconds: 1 },
  });
  const results = loadSweepResults(path, {});
  const summary = summarizeSweep(results, cells);
  assert.deepEqual(summary.map((r) => `${r.method}@${r.compression}`), ['full@1', 'bh@10']);
  const bh = summary.find((r) => r.method === 'bh')!;
  // per seed: 0.76/0.8 = 0.95 and 0.72/0.9 = 0.8 → mean 0.875, sample std |0.95−0.8|/√2
  assert.ok(Math.abs(bh.relMean - 0.875) < 1e-12);
  assert.ok(Math.abs(bh.relStd - 0.15 / Math.SQRT2) < 1e-12);
  const full = summary.find((r) => r.method === 'full')!;
  assert.equal(full.relMean, 1);
  assert.equal(full.relStd, 0);
  assert.match(sweepMarkdown(summary), /\| bh \| 10 \| 10\.0 \| 10 \| 0\.0 KB \| 0\.7400 ± 0\.0283 \| 0\.8750 ± 0\.1061 \|/);
  const notes = sweepInfeasibleNotes(results, cells);
  assert.equal(notes, '\nCells that cannot be built at their ratio:\n- bh@1000 (seeds 1, 2) not run: plan: field f3 gets 1 rows\n');
  assert.match(sweepCsv(results, cells), /bh@1000#1,bh,1000,1,0,0,0,0,,,,,0,plan: field f3 gets 1 rows/);
  // A rerun does not retry infeasible cells.
  const again = await runSweep({ cells, results, path, runCell: async () => assert.fail('nothing to redo') });
  assert.deepEqual(again, { ran: 0, skipped: 6 });
});

test('a corrupt or foreign results.json names the file and the --out-dir flag', () => {
  const path = join(tempDir('bhembed-sweep-corrupt-'), 'results.json');
  for (const [text, why] of [['{"cells": ', /cannot read sweep results \(/], ['{"format": "other"}', /not a bhembed sweep results file/]] as const) {
    writeFileSync(path, text);
    assert.throws(() => loadSweepResults(path, {}), (e: Error) => {
      assert.equal(e.name, 'IoError');
      assert.ok(e.message.startsWith(`${path}: `), e.message);
      assert.match(e.message, why);
      assert.match(e.message, /; delete it or pick another --out-dir$/);
      return true;
    });
  }
});
