// `bhembed generate` option checks: each names the flag (--ctr 1 used to report the library key 'ctr'; --pairs 1e9
// ran out of heap after 45 s; --prob-out equal to --out wrote both into one file; a missing folder said "no such file").
import { join } from 'node:path';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { run } from '../../../src/cli/main.js';
import { tempDir } from '../../e2e/cli-helpers.js';

const argv = (...args: string[]): string[] => ['node', 'bhembed', 'generate', '-q', ...args];
const dir = tempDir('bhembed-gen-');
const out = join(dir, 'g.txt');

test('generate: bad values name the flag and the allowed range', async () => {
  const cases: [string[], string, string][] = [
    [['--ctr', '1'], 'UsageError', '--ctr: 1 is out of range (must be > 0 and < 1)'],
    [['--pairs', '1000000000'], 'UsageError', '--pairs: 1000000000 is out of range (0 ≤ value ≤ 325)'],
    [['--cardinalities', '99999999999'], 'UsageError', `--cardinalities: 99999999999 is out of range (1 ≤ value ≤ ${2 ** 31})`],
    [['--prob-out', out], 'UsageError', `--prob-out ${out}: same file as --out; the probabilities would overwrite the rows`],
  ];
  for (const [flags, name, message] of cases) await assert.rejects(run(argv('--rows', '10', '--out', out, ...flags)), { name, message });
});

test('generate: an output in a missing folder is refused before writing, naming the flag', async () => {
  const missing = join(dir, 'nodir', 'g.txt');
  await assert.rejects(run(argv('--rows', '10', '--out', missing)), { name: 'IoError', message: `--out ${missing}: cannot write: folder ${join(dir, 'nodir')} does not exist` });
  await assert.rejects(run(argv('--rows', '10', '--out', out, '--prob-out', missing)), {
    name: 'IoError',
    message: `--prob-out ${missing}: cannot write: folder ${join(dir, 'nodir')} does not exist`,
  });
});

test('generate: a file that repeats another file\'s rows (same --seed and --teacher-seed) is named in a warning', async () => {
  const { bhembedInProcess } = await import('../../e2e/cli-in-process.js');
  const d = tempDir('bhembed-gen-same-');
  const gen = (name: string, ...flags: string[]): Promise<{ status: number; stdout: string; stderr: string }> => bhembedInProcess(['generate', '--rows', '40', '--cardinalities', '50', '--out', join(d, name), ...flags]);
  const a = await gen('train.tsv', '--seed', '5');
  assert.equal(a.status, 0);
  assert.match(a.stderr, /^generated 40 rows to .*train\.tsv .*\(seed 5, teacher seed 1\)/);
  assert.doesNotMatch(a.stderr, /warning/);
  assert.doesNotMatch((await gen('test.tsv', '--seed', '6')).stderr, /warning/);
  // In this process the library itself remembers train.tsv's seeds; a new process finds the file in the folder.
  const gz = await gen('test2.tsv.gz', '--seed', '5', '-q');
  assert.equal(gz.status, 0);
  assert.equal(gz.stderr, `bhembed generate: warning: ${join(d, 'test2.tsv.gz')} starts with the same rows as ${join(d, 'train.tsv')} (same seed 5 and teacherSeed 1): for a train/test pair give each file its own seed and the same teacherSeed\n`);
  const { bhembed } = await import('../../e2e/cli-helpers.js');
  const spawned = bhembed(['generate', '--rows', '40', '--cardinalities', '50', '--out', join(d, 'test3.tsv'), '--seed', '5', '-q']);
  assert.equal(spawned.status, 0);
  assert.equal(spawned.stderr, `bhembed generate: warning: ${join(d, 'test3.tsv')} starts with the same rows as ${join(d, 'test2.tsv.gz')} (same --seed and --teacher-seed): a test set would repeat training rows; give each file its own --seed\n`);
  assert.doesNotMatch((await gen('other-teacher.tsv', '--seed', '5', '--teacher-seed', '2')).stderr, /warning/);
});
