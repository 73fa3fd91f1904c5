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
