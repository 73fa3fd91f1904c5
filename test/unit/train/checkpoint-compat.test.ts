// Checkpoint compatibility across versions: test/fixtures/compat/0.1.0/checkpoint/ holds a mid-run checkpoint
// (format version 1) written by test/fixtures/make-checkpoint-compat.ts and the scores of that run left
// uninterrupted. This version must resume it on the same data and end with the same scores (within 1e-6, as the
// model-file fixtures: float summation order may change between versions, the format and the resume may not).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadRunData, trainModel, type ModelOptions } from '../../../src/experiment/pipeline.js';
import { Predictor } from '../../../src/serve/predictor.js';
import { decodeCheckpoint, readCheckpoint } from '../../../src/train/resume/checkpoint-file.js';
import { CHECKPOINT_COMPAT_DATA, type CheckpointCompat } from '../../fixtures/make-checkpoint-compat.js';
import { tempDir } from '../../temp-dir.js';

const FIXTURES = resolve(dirname(fileURLToPath(import.meta.url)), '../../../../test/fixtures');
const DIR = join(FIXTURES, 'compat', '0.1.0', 'checkpoint');

test('the 0.1.0 checkpoint (format 1) resumes mid-run and ends with the scores of the uninterrupted run', async () => {
  const expected = JSON.parse(readFileSync(join(DIR, 'expected.json'), 'utf8')) as CheckpointCompat;
  const ck = readCheckpoint(join(DIR, expected.checkpoint));
  assert.equal(ck.header.done, false, 'a mid-run checkpoint');
  assert.ok(ck.header.rows > 0 && ck.header.rows < 600);
  const m = (ck.header.run as { modelOptions: ModelOptions }).modelOptions;
  const cwd = process.cwd();
  process.chdir(FIXTURES);
  const out = join(tempDir('bhembed-ckpt-compat-'), 'resumed.bhm');
  try {
    const data = await loadRunData(CHECKPOINT_COMPAT_DATA);
    await trainModel(data, m, { resume: ck, out });
    const p = await Predictor.load(out);
    const got: number[] = [];
    for await (const b of p.predictFile('criteo.tsv')) got.push(...b.probs);
    await p.close();
    assert.equal(got.length, expected.scores.length);
    let worst = 0;
    for (let i = 0; i < got.length; i++) worst = Math.max(worst, Math.abs(got[i] - expected.scores[i]));
    assert.ok(worst <= 1e-6, `max |Δ| ${worst}`);
  } finally {
    process.chdir(cwd);
  }
});

test('checkpoint bytes: every damaged copy of the fixture is refused with its reason', () => {
  const expected = JSON.parse(readFileSync(join(DIR, 'expected.json'), 'utf8')) as CheckpointCompat;
  const bytes = readFileSync(join(DIR, expected.checkpoint));
  assert.equal(decodeCheckpoint(bytes, 'x.bhck').header.runId, 'compat-fixture');
  const cases: [string, Uint8Array, RegExp][] = [
    ['empty', new Uint8Array(0), /^x\.bhck: not a bhembed training checkpoint/],
    ['short', bytes.subarray(0, 20), /^x\.bhck: truncated: 20 bytes/],
    ['truncated', bytes.subarray(0, bytes.length - 1), /^x\.bhck: truncated: \d+ bytes, the checkpoint says \d+/],
    ['trailing', Buffer.concat([bytes, Buffer.from([0])]), /^x\.bhck: 1 bytes of trailing garbage/],
  ];
  for (let i = 16; i < bytes.length; i += Math.ceil(bytes.length / 7)) {
    const b = Uint8Array.from(bytes);
    b[i] ^= 1;
    cases.push([`bit flip at ${i}`, b, /^x\.bhck: checksum mismatch/]);
  }
  const tail = Uint8Array.from(bytes);
  tail[tail.length - 3] ^= 0x80;
  cases.push(['checksum flip', tail, /^x\.bhck: checksum mismatch/]);
  for (const [what, b, re] of cases) assert.throws(() => decodeCheckpoint(b, 'x.bhck'), (e: Error & { code?: string }) => re.test(e.message) && (e.code ?? '').startsWith('checkpoint.'), what);
});
