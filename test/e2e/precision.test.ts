// `--precision fp32|int8` on predict and eval through the real CLI: int8 runs (scores recorded as int8, close to
// fp32 and not identical), fp32 stays the default and exact, and a bad value is a one-line usage error (exit 2).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildProgram } from '../../src/cli/main.js';
import { bhembed, tempDir } from './cli-helpers.js';
import { bhembedInProcess } from './cli-in-process.js';
import { sharedModel } from './shared-model.js';

const dir = tempDir();
// The small BH model int8-static.test.ts uses too, trained once (shared-model.ts).
const { data, model, metrics: trained } = await sharedModel();

test('predict/eval --precision int8 round trip', async () => {

  const rows = (csv: string): number[] => readFileSync(csv, 'utf8').trim().split('\n').slice(1).map((l) => Number(l.split(',')[2]));
  const out32 = join(dir, 'p32.csv');
  const out8 = join(dir, 'p8.csv');
  const m32 = join(dir, 'p32.json');
  const m8 = join(dir, 'p8.json');
  let r = bhembed(['predict', model, data.test, '--output', out32, '--metrics', m32, '-q']);
  assert.equal(r.status, 0, r.stderr);
  r = bhembed(['predict', model, data.test, '--precision', 'int8', '--output', out8, '--metrics', m8, '-q']);
  assert.equal(r.status, 0, r.stderr);
  const j32 = JSON.parse(readFileSync(m32, 'utf8'));
  const j8 = JSON.parse(readFileSync(m8, 'utf8'));
  assert.equal(j32.precision, 'fp32');
  assert.equal(j8.precision, 'int8');
  assert.equal(j32.auc, trained.test.auc, 'fp32 default reproduces training exactly');
  assert.equal(j8.rows, 600);
  const p32 = rows(out32);
  const p8 = rows(out8);
  assert.equal(p8.length, 600);
  let maxDiff = 0;
  for (let i = 0; i < p32.length; i++) maxDiff = Math.max(maxDiff, Math.abs(p8[i] - p32[i]));
  assert.ok(maxDiff > 0 && maxDiff < 0.05, `int8 scores close to fp32, not identical: max |Δp| ${maxDiff}`);
  assert.ok(Math.abs(j8.auc - j32.auc) < 0.01, `AUC int8 ${j8.auc} vs fp32 ${j32.auc}`);

  const e = bhembed(['eval', model, data.test, '--precision', 'int8', '--json', '-q']);
  assert.equal(e.status, 0, e.stderr);
  const ev = JSON.parse(e.stdout);
  assert.equal(ev.precision, 'int8');
  assert.equal(ev.results[0].auc, j8.auc, 'eval and predict score the same int8 batches');

  const e2 = bhembed(['eval', model, data.test, '--precision', 'int8', '--workers', '2', '--json', '-q']);
  assert.equal(e2.status, 0, e2.stderr);
  assert.ok(Math.abs(JSON.parse(e2.stdout).results[0].auc - j8.auc) < 1e-3, 'eval --workers 2 scores the same batches');
  const bad = await bhembedInProcess(['eval', model, data.test, '--workers', '0']);
  assert.equal(bad.status, 2);
  assert.match(bad.stderr, /--workers: 0 is out of range/);

  const h = buildProgram().commands.find((c) => c.name() === 'predict')?.helpInformation() ?? '';
  assert.match(h, /--precision <p>/);
  assert.match(h, /int8/);
  assert.match(h, /choices:\s+"fp32",\s+"int8"/);
});

test('int8 without onnxruntime (BHEMBED_ENGINE forces the WASM GEMM) is a one-line config error, not a silent fp32', () => {
  const saved = process.env.BHEMBED_ENGINE;
  process.env.BHEMBED_ENGINE = 'wasm';
  try {
    const r = bhembed(['eval', model, data.test, '--precision', 'int8', '-q']);
    assert.equal(r.status, 2, r.stderr);
    assert.match(r.stderr, /precision 'int8' runs on onnxruntime/);
    assert.doesNotMatch(r.stderr, /\n\s+at /);
    assert.equal(r.stderr.trim().split('\n').length, 1);
  } finally {
    if (saved === undefined) delete process.env.BHEMBED_ENGINE;
    else process.env.BHEMBED_ENGINE = saved;
  }
});

test('a bad --precision is a usage error naming the choices, without a stack trace', async () => {
  for (const cmd of ['predict', 'eval']) {
    const r = await bhembedInProcess([cmd, join(dir, 'missing.bhm'), data.test, '--precision', 'fp16']);
    assert.equal(r.status, 2, `${cmd}: ${r.stderr}`);
    assert.match(r.stderr, /argument 'fp16' is invalid\. Allowed choices are fp32, int8/);
    assert.doesNotMatch(r.stderr, /\n\s+at /);
  }
});
