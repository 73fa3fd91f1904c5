// `bhembed index` as a user runs it (node dist/src/cli/bin.js), checked against the independent reference in
// test/unit/embedding/reference-index.ts on random values and settings, plus exit codes for bad input.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Rng } from '../../src/core/rng.js';
import { loadReference } from '../unit/embedding/reference-index.js';
import type { RefSpec } from '../unit/embedding/reference-index.js';
import { tempDir } from '../temp-dir.js';

function repoRoot(): string {
  let d = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(d, 'package.json'))) d = dirname(d);
  return d;
}
const BIN = join(repoRoot(), 'dist/src/cli/bin.js');

function cli(args: string[], debug = false): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', env: { ...process.env, BHEMBED_DEBUG: debug ? '1' : '' } });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

const CHARS = ['a', 'b', 'Z', '0', '9', ' ', '-', '_', 'é', '中', '😀', ','];
function randomValue(rng: Rng): string {
  let s = '';
  const len = rng.int(45);
  for (let i = 0; i < len; i++) s += CHARS[rng.int(CHARS.length)];
  return s;
}

interface Line {
  value: string;
  field: number;
  hash: string;
  rows: number[];
}

test('bh rows from the CLI equal the reference, both strategies, random settings', async () => {
  const ref = await loadReference();
  const rng = new Rng(99);
  for (let run = 0; run < 6; run++) {
    const strategy = run % 2 === 0 ? 'succession' : 'skip';
    const S = 1 + rng.int(64);
    const t = 1 + rng.int(Math.min(S, 20));
    const field = rng.int(1000);
    const values = Array.from({ length: 1 + rng.int(20) }, () => randomValue(rng));
    const args = ['index', '--method', 'bh', '--field', String(field), '--code-bits', String(S), '--block-bits', String(t), '--strategy', strategy, '--', ...values];
    const r = cli(args);
    assert.equal(r.code, 0, r.stderr);
    const lines = r.stdout.trimEnd().split('\n').map((l) => JSON.parse(l) as Line);
    assert.equal(lines.length, values.length);
    const spec: RefSpec = { method: 'bh', codeBits: S, blockBits: t, strategy };
    lines.forEach((line, i) => {
      const h = ref.hashId(values[i], field, false);
      assert.deepEqual(line, { value: values[i], field, hash: h.toString(16).padStart(16, '0'), rows: ref.rows(spec, h) }, `S=${S} t=${t} ${strategy}`);
    });
  }
});

test('dense ids and the baselines from the CLI equal the reference', async () => {
  const ref = await loadReference();
  const ids = ['0', '1', '77', '1000', '18446744073709551615'];
  const cases: Array<[string[], RefSpec, boolean]> = [
    [['--method', 'bh', '--dense', '--block-bits', '5', '--strategy', 'skip'], { method: 'bh', codeBits: 64, blockBits: 5, strategy: 'skip' }, true],
    [['--method', 'bh', '--dense', '--block-bits', '3', '--code-bits', '64'], { method: 'bh', codeBits: 64, blockBits: 3, strategy: 'succession' }, true],
    [['--method', 'hash', '--rows', '1000003'], { method: 'hash', rows: 1000003 }, false],
    [['--method', 'qr', '--remainder', '300', '--quotient', '400'], { method: 'qr', remainder: 300, quotient: 400 }, false],
    [['--method', 'dhash', '--rows', '5000', '--hashes', '3'], { method: 'dhash', rows: 5000, hashes: 3 }, false],
    [['--spec', '{"method":"qr","remainder":7,"quotient":9}', '--dense'], { method: 'qr', remainder: 7, quotient: 9 }, true],
  ];
  for (const [flags, spec, dense] of cases) {
    const r = cli(['index', '--field', '3', ...flags, ...ids]);
    assert.equal(r.code, 0, r.stderr);
    const lines = r.stdout.trimEnd().split('\n').map((l) => JSON.parse(l) as Line);
    lines.forEach((line, i) => {
      const h = ref.hashId(ids[i], 3, dense);
      assert.equal(line.hash, h.toString(16).padStart(16, '0'));
      assert.deepEqual(line.rows, ref.rows(spec, h), flags.join(' '));
    });
  }
});

test('full: a text vocabulary maps line i to row i + 1 and unknown values to row 0', async () => {
  const ref = await loadReference();
  const dir = tempDir('bhembed-index-');
  const file = join(dir, 'vocab.txt');
  writeFileSync(file, 'apple\nbanana\napple\ncherry\n');
  const r = cli(['index', '--method', 'full', '--vocab-file', file, '--field', '4', 'cherry', 'apple', 'durian', 'banana']);
  assert.equal(r.code, 0, r.stderr);
  const rows = r.stdout.trimEnd().split('\n').map((l) => (JSON.parse(l) as Line).rows[0]);
  assert.deepEqual(rows, [3, 1, 0, 2]);
  const vocab = ['apple', 'banana', 'cherry'].map((w) => ref.hashId(w, 4, false).toString(16).padStart(16, '0'));
  assert.deepEqual(ref.rows({ method: 'full', minCount: 1, vocab }, ref.hashId('cherry', 4, false)), [3]);
});

test('bad input exits 2 with one clear line; --help exits 0', () => {
  const bad: Array<[string[], RegExp]> = [
    [['index', '--block-bits', '0', 'x'], /--block-bits: 0 is out of range/],
    [['index', '--block-bits', '4', '--code-bits', '65', 'x'], /--code-bits: 65 is out of range/],
    [['index', '--block-bits', '4', '--strategy', 'zigzag', 'x'], /Allowed choices are succession, skip/],
    [['index', '--block-bits', '4'], /missing required argument 'values'/],
    [['index', 'x'], /--block-bits \(bh\) is required/],
    [['index', '--block-bits', '31', 'x'], /int32 limit.*smaller blockBits/],
    [['index', '--method', 'lsh', 'x'], /Allowed choices are bh, full, hash, qr, dhash/],
    [['index', '--dense', '--block-bits', '4', 'abc'], /not a non-negative integer/],
    [['index', '--dense', '--block-bits', '4', '--code-bits', '3', '8'], /needs 4 code bits/],
    [['index', '--spec', '{"method":"qr"}', 'x'], /--spec\.remainder must be an integer/],
    [['index', '--method', 'hash', '--rows', 'ten', 'x'], /--rows: 'ten' is not an integer/],
    [['indx', 'x'], /unknown command 'indx'/],
  ];
  for (const [args, re] of bad) {
    const r = cli(args);
    assert.equal(r.code, 2, `${args.join(' ')}: exit ${r.code}, stderr ${r.stderr}`);
    assert.match(r.stderr, re);
    assert.match(r.stderr, /^bhembed: /);
    assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace');
    assert.equal(r.stdout, '');
  }
  const missing = cli(['index', '--method', 'full', '--vocab-file', '/nonexistent/vocab.txt', 'x']);
  assert.equal(missing.code, 1);
  assert.match(missing.stderr, /^bhembed: --vocab-file: cannot read/);
  const debug = cli(['index', '--block-bits', '31', 'x'], true);
  assert.equal(debug.code, 2);
  assert.match(debug.stderr, /^bhembed: .*int32 limit[^]*\n\s+at /, 'BHEMBED_DEBUG=1 adds the stack');
  const help = cli(['index', '--help']);
  assert.equal(help.code, 0);
  assert.match(help.stdout, /--strategy <name>/);
});
