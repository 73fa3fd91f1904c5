// `--precision int8-static` through the real CLI: `train --out` records the activation ranges in the model file,
// predict and eval serve them (scores close to fp32, the same with --workers 2), and a model file without ranges
// (as older bhembed versions wrote) is a one-line error that points at int8 or retraining.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { decodeModelFile, encodeModelFile } from '../../src/models/model-file.js';
import { INPUT_RANGES_TENSOR } from '../../src/models/ctr-model.js';
import { bhembed, tempDir } from './cli-helpers.js';
import { sharedModel } from './shared-model.js';
import { bhembedInProcess } from './cli-in-process.js';
import { buildProgram } from '../../src/cli/main.js';

const dir = tempDir();
// The small BH model precision.test.ts uses too, trained once (shared-model.ts).
const { data, model } = await sharedModel();

test('predict/eval --precision int8-static round trip, and the error for a file without ranges', async () => {
  const file = decodeModelFile(readFileSync(model));
  const ranges = file.tensors.find((x) => x.name === INPUT_RANGES_TENSOR);
  assert.ok(ranges, 'train --out records the ranges');
  assert.deepEqual(ranges.shape, [3, 2]);

  const rows = (csv: string): number[] => readFileSync(csv, 'utf8').trim().split('\n').slice(1).map((l) => Number(l.split(',')[2]));
  const out32 = join(dir, 'p32.csv');
  const outS = join(dir, 'ps.csv');
  const mS = join(dir, 'ps.json');
  let r = bhembed(['predict', model, data.test, '--output', out32, '-q']);
  assert.equal(r.status, 0, r.stderr);
  r = bhembed(['predict', model, data.test, '--precision', 'int8-static', '--output', outS, '--metrics', mS, '-q']);
  assert.equal(r.status, 0, r.stderr);
  const jS = JSON.parse(readFileSync(mS, 'utf8'));
  assert.equal(jS.precision, 'int8-static');
  assert.equal(jS.rows, 600);
  const p32 = rows(out32);
  const pS = rows(outS);
  let maxDiff = 0;
  for (let i = 0; i < p32.length; i++) maxDiff = Math.max(maxDiff, Math.abs(pS[i] - p32[i]));
  assert.ok(maxDiff > 0 && maxDiff < 0.05, `int8-static scores close to fp32, not identical: max |Δp| ${maxDiff}`);

  const e = bhembed(['eval', model, data.test, '--precision', 'int8-static', '--json', '-q']);
  assert.equal(e.status, 0, e.stderr);
  const ev = JSON.parse(e.stdout);
  assert.equal(ev.precision, 'int8-static');
  assert.equal(ev.results[0].auc, jS.auc, 'eval and predict score the same rows');
  const e2 = bhembed(['eval', model, data.test, '--precision', 'int8-static', '--workers', '2', '--json', '-q']);
  assert.equal(e2.status, 0, e2.stderr);
  assert.equal(JSON.parse(e2.stdout).results[0].auc, jS.auc, 'workers: per-row scores, so the same AUC exactly');

  const h = buildProgram().commands.find((c) => c.name() === 'predict')?.helpInformation() ?? '';
  assert.match(h, /"int8-static"/);

  // The same model without its ranges, as an older bhembed wrote it.
  const old = join(dir, 'old.bhm');
  writeFileSync(old, encodeModelFile(file.model, file.meta, file.tensors.filter((x) => x.name !== INPUT_RANGES_TENSOR), { createdAt: file.createdAt }));
  const bad = await bhembedInProcess(['eval', old, data.test, '--precision', 'int8-static', '-q']);
  assert.equal(bad.status, 2, `int8-static on a file without ranges is a usage error (exit 2), got ${bad.status}: ${bad.stderr}`);
  assert.match(bad.stderr, /no calibrated activation ranges/);
  assert.match(bad.stderr, /'int8'/);
  const ok8 = bhembed(['eval', old, data.test, '--precision', 'int8', '--json', '-q']);
  assert.equal(ok8.status, 0, ok8.stderr);
});
