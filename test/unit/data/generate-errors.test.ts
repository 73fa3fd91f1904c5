// generateCriteo's refusals: an output in a missing folder is a write error (it read "no such file", as for an
// input), pairs beyond the 325 field pairs (10^9 exhausted the heap), the bad cardinality by name, and one file for
// both the rows and the probabilities.
import { join } from 'node:path';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MAX_PAIRS, generateCriteo } from '../../../src/data/generate.js';
import { tmpDir } from './helpers.js';

test('generateCriteo: an output in a missing folder is an IoError that says the folder is missing', async () => {
  const out = join(tmpDir(), 'nodir', 'g.tsv');
  await assert.rejects(generateCriteo({ rows: 5, out, probOut: null }), { name: 'IoError', message: `${out}: cannot write: folder ${join(tmpDir(), 'nodir')} does not exist` });
});

test('generateCriteo: pairs is bounded by the number of field pairs', async () => {
  assert.equal(MAX_PAIRS, (26 * 25) / 2);
  const out = join(tmpDir(), 'p.tsv');
  await assert.rejects(generateCriteo({ rows: 5, out, probOut: null, pairs: MAX_PAIRS + 1 }), {
    name: 'ConfigError',
    message: `pairs must be an integer in [0, 325] (the field pairs of C1..C26), got ${MAX_PAIRS + 1}`,
  });
  const st = await generateCriteo({ rows: 5, out, probOut: null, pairs: MAX_PAIRS });
  assert.equal(st.pairs.length, MAX_PAIRS);
});

test('generateCriteo: an out-of-range cardinality is named by field', async () => {
  const card = new Array<number>(26).fill(10);
  card[4] = 2 ** 31 + 1;
  await assert.rejects(generateCriteo({ rows: 5, out: join(tmpDir(), 'c.tsv'), probOut: null, cardinalities: card }), {
    name: 'ConfigError',
    message: `cardinalities: C5 is ${2 ** 31 + 1}, must be an integer in [1, 2^31]`,
  });
});

test('generateCriteo: probOut and out may not be the same file (also through ..)', async () => {
  const out = join(tmpDir(), 'same.tsv');
  const alias = join(tmpDir(), '..', ...tmpDir().split('/').slice(-1), 'same.tsv');
  await assert.rejects(generateCriteo({ rows: 5, out, probOut: alias }), {
    name: 'ConfigError',
    message: `probOut and out are the same file (${out}): the probabilities would overwrite the rows`,
  });
});
