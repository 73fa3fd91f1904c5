// Output paths are checked before any work (a missing --out folder used to fail only after training), a file in
// the way of --out-dir is one clear line (was a stack trace), and predict --output is replaced only on success
// (a bad row used to leave a partial file).
import { existsSync, lstatSync, readFileSync, readdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { run } from '../../../src/cli/main.js';
import { bhembed, criteoLines, tempDir } from '../../e2e/cli-helpers.js';

const argv = (...args: string[]): string[] => ['node', 'bhembed', ...args];
const dir = tempDir('bhembed-out-');
const aFile = join(dir, 'a-file.txt');
writeFileSync(aFile, 'x\n');
// a --train that does not exist: each output error below must come before the data is read
const NO_TRAIN = ['--train', join(dir, 'missing.txt'), '--format', 'criteo', '--compression', '10'];

test('train: --out / --metrics in a missing folder, under a file, or naming a folder fail before reading data', async () => {
  await assert.rejects(run(argv('train', ...NO_TRAIN, '--out', join(dir, 'nodir', 'm.bhm'))), {
    name: 'IoError',
    message: `--out ${join(dir, 'nodir', 'm.bhm')}: cannot write: folder ${join(dir, 'nodir')} does not exist`,
  });
  await assert.rejects(run(argv('train', ...NO_TRAIN, '--metrics', join(aFile, 'm.json'))), {
    name: 'IoError',
    message: `--metrics ${join(aFile, 'm.json')}: cannot write: ${aFile} is not a folder`,
  });
  await assert.rejects(run(argv('train', ...NO_TRAIN, '--out', dir)), { name: 'IoError', message: `--out ${dir}: cannot write: it is a directory` });
});

test('sweep: --out-dir that is a file fails before reading data, one line', async () => {
  await assert.rejects(run(argv('sweep', ...NO_TRAIN.slice(0, 4), '--test', join(dir, 'missing2.txt'), '--out-dir', aFile)), {
    name: 'IoError',
    message: `--out-dir ${aFile}: a file is in the way, expected a folder`,
  });
  const r = bhembed(['sweep', ...NO_TRAIN.slice(0, 4), '--test', join(dir, 'missing2.txt'), '--out-dir', aFile]);
  assert.equal(r.status, 1);
  assert.equal(r.stderr, `bhembed: --out-dir ${aFile}: a file is in the way, expected a folder\n`);
});

test('predict --output: a bad row leaves the old file untouched and no temporary file; success replaces it', () => {
  const train = join(dir, 'train.txt');
  writeFileSync(train, `${criteoLines(300, 1).join('\n')}\n`);
  const model = join(dir, 'm.bhm');
  const t = bhembed(['train', '--train', train, '--format', 'criteo', '--embedding', 'hash', '--compression', '2', '--dim', '4', '--mlp', '4', '-q', '--out', model]);
  assert.equal(t.status, 0, t.stderr);
  const good = criteoLines(300, 2);
  const bad = join(dir, 'bad.txt');
  writeFileSync(bad, `${[...good.slice(0, 250), 'garbage', ...good.slice(250)].join('\n')}\n`);
  const out = join(dir, 'preds.csv');
  writeFileSync(out, 'old\n');
  const before = readdirSync(dir).sort();
  const r = bhembed(['predict', model, bad, '-q', '-o', out]);
  assert.equal(r.status, 2);
  assert.equal(r.stderr, `bhembed: ${bad}:251: expected 40 tab-separated fields, got 1\n`);
  assert.equal(readFileSync(out, 'utf8'), 'old\n');
  assert.deepEqual(readdirSync(dir).sort(), before);
  const ok = bhembed(['predict', model, train, '-q', '-o', out]);
  assert.equal(ok.status, 0, ok.stderr);
  assert.equal(readFileSync(out, 'utf8').split('\n').length, 302); // header + 300 rows + final newline
  assert.deepEqual(readdirSync(dir).sort(), before);
  // a symlink is written through, not replaced by a file
  const real = join(dir, 'real.csv');
  const link = join(dir, 'link.csv');
  symlinkSync(real, link);
  const viaLink = bhembed(['predict', model, train, '-q', '-o', link]);
  assert.equal(viaLink.status, 0, viaLink.stderr);
  assert.ok(lstatSync(link).isSymbolicLink());
  assert.ok(existsSync(real));
  assert.equal(readFileSync(real, 'utf8'), readFileSync(out, 'utf8'));
});

test('an output that is one of the inputs is refused before any work (also through a symlink or ..)', async () => {
  const data = join(dir, 'inputs.txt');
  writeFileSync(data, 'not read\n');
  const alias = join(dir, 'alias.txt');
  symlinkSync(data, alias);
  const model = join(dir, 'no-model.bhm'); // never opened: the check comes first
  await assert.rejects(run(argv('train', '--train', data, '--format', 'criteo', '--compression', '10', '--out', alias)), {
    name: 'UsageError',
    message: `--out ${alias}: is also the --train file; it would be overwritten`,
  });
  const dotted = join(dir, '..', ...dir.split('/').slice(-1), 'inputs.txt');
  await assert.rejects(run(argv('train', '--train', join(dir, 'missing.txt'), '--test', data, '--format', 'criteo', '--compression', '10', '--metrics', dotted)), {
    name: 'UsageError',
    message: `--metrics ${dotted}: is also the --test file; it would be overwritten`,
  });
  await assert.rejects(run(argv('predict', model, data, '-o', data)), { name: 'UsageError', message: `--output ${data}: is also the data file; it would be overwritten` });
  await assert.rejects(run(argv('eval', model, join(dir, 'x.txt'), data, '--metrics', alias)), {
    name: 'UsageError',
    message: `--metrics ${alias}: is also the data file 2; it would be overwritten`,
  });
  assert.equal(readFileSync(data, 'utf8'), 'not read\n');
});
