// Malformed input through the CLI: --on-error fail stops at the first bad row with `bhembed: file:line: reason` and
// exit 2; --on-error skip trains on the rest and reports the skip counts at the end. Usage errors exit 2, a missing
// file 1 (a runtime error). In-process through run() and handleError (a spawned node adds nothing here).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { criteoLines, tempDir } from './cli-helpers.js';
import { bhembedInProcess } from './cli-in-process.js';

const dir = tempDir();
const lines = criteoLines(300, 5);
const bad = [...lines];
bad[41] = bad[41].split('\t').slice(0, 30).join('\t'); // line 42: too few columns
bad[99] = `7\t${bad[99].split('\t').slice(1).join('\t')}`; // line 100: label not 0/1
const badPath = join(dir, 'bad.txt');
writeFileSync(badPath, `${bad.join('\n')}\n`);
const base = ['train', '--train', badPath, '--format', 'criteo', '--model', 'lr', '--embedding', 'hash', '--compression', '2', '-q'];

test('--on-error fail: exit 2 with file:line: reason', async () => {
  const r = await bhembedInProcess(base);
  assert.equal(r.status, 2, r.stderr);
  const msg = r.stderr.trim().split('\n');
  assert.equal(msg.length, 1, r.stderr);
  assert.match(msg[0], new RegExp(`^bhembed: ${badPath.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}:42: `));
  assert.equal(r.stdout, '');
});

test('--on-error skip: trains on the good rows and prints the skip counts', async () => {
  const r = await bhembedInProcess([...base, '--on-error', 'skip', '--metrics', join(dir, 'm.json')]);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /trained 298 rows/);
  const skipLines = r.stderr.trim().split('\n').filter((l) => l.startsWith('bhembed: skipped'));
  assert.equal(skipLines.length, 2, r.stderr);
  assert.ok(skipLines.some((l) => l.includes(`${badPath}:42:`)));
  assert.ok(skipLines.some((l) => l.includes(`${badPath}:100:`)));
});

test('usage errors exit 2 and name the fix; a missing file exits 1', async () => {
  const cases: [string[], number, RegExp][] = [
    [['train', '--train', badPath, '--format', 'criteo', '--embedding', 'bh'], 2, /--compression R or --memory-budget SIZE \(or --block-bits T\)/],
    [['train', '--train', badPath, '--format', 'criteo', '--embedding', 'hash', '--memory-budget', '4 parsecs'], 2, /--memory-budget: '4 parsecs' is not a size/],
    [['train', '--train', badPath, '--format', 'xml'], 2, /argument 'xml' is invalid/],
    [['train', '--format', 'criteo'], 2, /--train is required/],
    [['train', '--train', join(dir, 'missing.txt'), '--format', 'criteo', '--embedding', 'full'], 1, /missing\.txt: no such file/],
  ];
  for (const [args, status, re] of cases) {
    const r = await bhembedInProcess(args);
    assert.equal(r.status, status, `${args.join(' ')} must exit ${status} (${status === 2 ? 'usage' : 'runtime'} error), got ${r.status}: ${r.stderr}`);
    assert.match(r.stderr, re);
    assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace');
  }
});
