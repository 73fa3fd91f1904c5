// Continued training (issue 10 item 5): one generated Criteo-shaped file cut into day 1, day 2 and a test set (one
// teacher). Training day 1, then `--init-from` its checkpoint on day 2, lands within 0.002 test AUC of one run over
// days 1+2, and clearly above day 1 alone. A full table sends day 2's unseen values to its OOV row, and the run says
// how many: the count per field equals the values of day 2 missing from day 1, counted here from the text.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir } from './cli-helpers.js';
import { bhembedInProcess } from './cli-in-process.js';

const dir = tempDir('bhembed-init-from-');
const day1 = join(dir, 'day1.txt');
const day2 = join(dir, 'day2.txt');
const both = join(dir, 'days12.txt');
const testFile = join(dir, 'test.txt');
let lines: string[] = [];

async function data(): Promise<void> {
  if (lines.length > 0) return;
  const all = join(dir, 'all.txt');
  const g = await bhembedInProcess(['generate', '--rows', '90000', '--out', all, '--no-prob', '--seed', '5', '-q']);
  assert.equal(g.status, 0, g.stderr);
  lines = readFileSync(all, 'utf8').trimEnd().split('\n');
  writeFileSync(day1, `${lines.slice(0, 40000).join('\n')}\n`);
  writeFileSync(day2, `${lines.slice(40000, 80000).join('\n')}\n`);
  writeFileSync(both, `${lines.slice(0, 80000).join('\n')}\n`);
  writeFileSync(testFile, `${lines.slice(80000).join('\n')}\n`);
}

async function train(args: string[]): Promise<{ auc: number; metrics: Record<string, unknown>; stdout: string }> {
  const metricsFile = join(dir, `m${Math.random().toString(36).slice(2)}.json`);
  const r = await bhembedInProcess(['train', '--format', 'criteo', '--test', testFile, '--metrics', metricsFile, '-q', ...args]);
  assert.equal(r.status, 0, r.stderr);
  const metrics = JSON.parse(readFileSync(metricsFile, 'utf8')) as { test: { auc: number } };
  return { auc: metrics.test.auc, metrics: metrics as unknown as Record<string, unknown>, stdout: r.stdout };
}

test('--init-from day 1 on day 2 lands within 0.002 test AUC of one run over days 1+2 (BH, Adam state carried)', async () => {
  await data();
  const model = ['--model', 'lr', '--embedding', 'bh', '--memory-budget', '24KB', '--optimizer', 'adam', '--epochs', '1'];
  const ck = join(dir, 'ck-day1');
  const d1 = await train(['--train', day1, ...model, '--checkpoint-dir', ck]);
  const d2 = await train(['--train', day2, '--init-from', ck]);
  const one = await train(['--train', both, ...model]);
  assert.match(d2.stdout, /started from .*ckpt-0*40000\.bhck \(weights and optimizer state\)/);
  assert.ok(d2.auc > d1.auc + 0.005, `day 2 from day 1 (${d2.auc}) should clearly beat day 1 alone (${d1.auc})`);
  assert.ok(Math.abs(d2.auc - one.auc) <= 0.002, `day 1 → day 2 ${d2.auc.toFixed(4)} vs one run over both ${one.auc.toFixed(4)}`);
  // A different model is refused with the differences.
  const bad = await bhembedInProcess(['train', '--format', 'criteo', '--train', day2, '--init-from', ck, '--model', 'fm', '--dim', '4', '-q']);
  assert.equal(bad.status, 2, bad.stderr);
  assert.match(bad.stderr, /^bhembed: --init-from .*differs from the one stored: \d+ difference\(s\): arch: "lr" in the model, "fm" here; .*\n$/);
});

test('--init-from with DeepFM and --memory-budget, streamed: day 1 and the one run plan on the same first rows (no counting pass), within 0.002', async () => {
  await data();
  // In memory each run plans on its own data's counts (day 1's vs both days': 0.6799 vs 0.6835 in the README); the
  // plan sample (the first 20,000 rows here; 262,144 by default) is day 1's first rows in both runs.
  const model = ['--model', 'deepfm', '--embedding', 'bh', '--memory-budget', '24KB', '--dim', '8', '--data-mode', 'stream', '--plan-sample', '20000'];
  const ck = join(dir, 'ck-deepfm-day1');
  const d1 = await train(['--train', day1, ...model, '--checkpoint-dir', ck]);
  const d2 = await train(['--train', day2, '--data-mode', 'stream', '--init-from', ck]);
  const one = await train(['--train', both, ...model]);
  type M = { embedding: { fields: { method: string; rows: number }[] }; train: { data: { planCounts?: { sampleRows: number } } } };
  const tables = (r: { metrics: Record<string, unknown> }): string => JSON.stringify((r.metrics as unknown as M).embedding.fields.map((f) => [f.method, f.rows]));
  assert.equal(tables(one), tables(d1), 'the same tables');
  assert.equal((d1.metrics as unknown as M).train.data.planCounts?.sampleRows, 20000);
  assert.ok(Math.abs(d2.auc - one.auc) <= 0.002, `day 1 → day 2 ${d2.auc.toFixed(4)} vs one run over both ${one.auc.toFixed(4)}`);
});

test('--init-from a full-table model: day 2 values unseen on day 1 go to the OOV row, counted per field in the summary', async () => {
  await data();
  const small1 = join(dir, 'small1.txt');
  const small2 = join(dir, 'small2.txt');
  writeFileSync(small1, `${lines.slice(0, 3000).join('\n')}\n`);
  writeFileSync(small2, `${lines.slice(3000, 6000).join('\n')}\n`);
  const model = join(dir, 'full1.bhm');
  await train(['--train', small1, '--model', 'lr', '--embedding', 'full', '--out', model]);
  const r = await train(['--train', small2, '--init-from', model]);
  const init = (r.metrics.train as { initFrom: { kind: string; optimizerState: boolean; oovValues: Record<string, number>; oovTotal: number } }).initFrom;
  assert.equal(init.kind, 'model');
  assert.equal(init.optimizerState, false);
  // C1..C26 are columns 14..39 of the text: count day 2 values that day 1 never had.
  let expectedTotal = 0;
  for (let c = 0; c < 26; c++) {
    const seen = new Set(lines.slice(0, 3000).map((l) => l.split('\t')[14 + c]));
    const unseen = lines.slice(3000, 6000).filter((l) => !seen.has(l.split('\t')[14 + c])).length;
    assert.equal(init.oovValues[`C${c + 1}`], unseen, `C${c + 1}`);
    expectedTotal += unseen;
  }
  assert.ok(expectedTotal > 1000, 'day 2 brings many new values');
  assert.ok(init.oovTotal >= expectedTotal);
  assert.match(r.stdout, new RegExp(`full tables: ${init.oovTotal} training values not in the model's vocabulary went to the OOV row`));
});
