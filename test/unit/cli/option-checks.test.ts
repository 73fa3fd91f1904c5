// Option values the CLI must refuse before any work starts: integers beyond 2^53 (--epochs 1e20 used to loop for
// ever), format-specific data flags given with another format (they were silently ignored), and the kernels'
// out-of-memory error, which must name the CLI flag that helps rather than a library option.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BhembedError } from '../../../src/core/errors.js';
import { handleError } from '../../../src/cli/handle-error.js';
import { run } from '../../../src/cli/main.js';
import { parseIntOpt } from '../../../src/cli/options.js';

const argv = (...args: string[]): string[] => ['node', 'bhembed', ...args];

test('parseIntOpt: integers beyond Number.MAX_SAFE_INTEGER are refused, the largest safe one is kept', () => {
  assert.throws(() => parseIntOpt('--epochs', '99999999999999999999', 1), {
    name: 'UsageError',
    message: `--epochs: '99999999999999999999' is too large (at most ${Number.MAX_SAFE_INTEGER})`,
  });
  assert.equal(parseIntOpt('--epochs', String(Number.MAX_SAFE_INTEGER), 1), Number.MAX_SAFE_INTEGER);
});

test('train/sweep: --schema, --numeric, --split-hour with a format that ignores them exit 2 (before reading data)', async () => {
  // the data path does not exist: the usage error must come first
  const cases: [string[], string][] = [
    [['--format', 'criteo', '--schema', 's.json'], '--schema applies to --format csv, tsv, parquet only, not criteo'],
    [['--format', 'libsvm', '--numeric', 'dense'], '--numeric applies to --format criteo only, not libsvm'],
    [['--format', 'csv', '--schema', 's.json', '--split-hour'], '--split-hour applies to --format avazu only, not csv'],
  ];
  for (const [flags, message] of cases) {
    await assert.rejects(run(argv('train', '--train', '/nonexistent/t.txt', '--compression', '10', ...flags)), { name: 'UsageError', message });
    await assert.rejects(run(argv('sweep', '--train', '/nonexistent/t.txt', '--test', '/nonexistent/u.txt', ...flags)), { name: 'UsageError', message });
  }
});

test('handleError: the kernels running out of memory prints one line that names --batch-size, exit 1', () => {
  let out = '';
  const before = process.exitCode;
  handleError(new BhembedError('kernel.failed', 'WASM memory exhausted: need 6551641664 bytes, maximum is 4294967296 (raise maximumBytes, at most 4 GiB)', { need: 6551641664, limit: 4294967296 }), {
    write: (s: string) => (out += s),
  });
  const code = process.exitCode;
  process.exitCode = before;
  assert.equal(code, 1);
  assert.equal(
    out,
    'bhembed: out of memory for the compute kernels: need 6.1 GiB, the limit is 4.0 GiB; lower --batch-size (memory grows with batch size × fields × --dim and --mlp widths)\n',
  );
});

test('sweep: a method, ratio or seed given twice is a usage error (the cell was trained once and counted twice)', async () => {
  const base = ['sweep', '--train', '/nonexistent/t.txt', '--test', '/nonexistent/u.txt', '--format', 'criteo'];
  await assert.rejects(run(argv(...base, '--methods', 'hash,qr,hash')), { name: 'UsageError', message: '--methods: hash is given twice' });
  await assert.rejects(run(argv(...base, '--compressions', '10,100,10.0')), { name: 'UsageError', message: '--compressions: 10 is given twice' });
  await assert.rejects(run(argv(...base, '--seeds', '1,2,01')), { name: 'UsageError', message: '--seeds: 1 is given twice' });
});

test('handleError: `bhembed help train` exits 0; bare `bhembed` (help as an error) exits 2', async () => {
  const { CommanderError } = await import('commander');
  const before = process.exitCode;
  handleError(new CommanderError(0, 'commander.help', '(outputHelp)'));
  const helpCode = process.exitCode;
  handleError(new CommanderError(1, 'commander.help', '(outputHelp)'));
  const bareCode = process.exitCode;
  process.exitCode = before;
  assert.equal(helpCode, 0);
  assert.equal(bareCode, 2);
});

test('parseFloatOpt: decimal numbers only (hex and binary literals were read by Number())', async () => {
  const { parseFloatOpt } = await import('../../../src/cli/options.js');
  for (const t of ['0x10', '0b1', '1_0', '', ' ', 'Infinity', '1e400']) assert.throws(() => parseFloatOpt('--lr', t), { name: 'UsageError', message: `--lr: '${t}' is not a number` });
  assert.deepEqual(['.5', '2.', '1e-3', '+3', ' 4 ', '-0.25'].map((t) => parseFloatOpt('--x', t)), [0.5, 2, 0.001, 3, 4, -0.25]);
});

test('handleError on a terminal clears the line first (an interrupted progress bar left text there); not on a file', async () => {
  const { UsageError } = await import('../../../src/core/errors.js');
  const before = process.exitCode;
  let tty = '';
  let file = '';
  handleError(new UsageError('--x: bad'), { write: (s: string) => (tty += s), isTTY: true });
  handleError(new UsageError('--x: bad'), { write: (s: string) => (file += s) });
  process.exitCode = before;
  assert.equal(tty, '\r\x1b[2Kbhembed: --x: bad\n');
  assert.equal(file, 'bhembed: --x: bad\n');
});

test('sweep --seed is refused with the --seeds spelling (every cell takes its seed from --seeds; --seed was ignored)', async () => {
  await assert.rejects(run(argv('sweep', '--train', 'missing.tsv', '--test', 'missing.tsv', '--format', 'criteo', '--seed', '7')), {
    name: 'UsageError',
    message: '--seed: a sweep trains one run per seed of --seeds; use --seeds 7',
  });
});
