// Early stopping needs a validation AUC; a --valid file with one class has none (NaN), so every later epoch lost to
// the first and the first epoch's weights were kept silently. Refused unless --patience 0 or one epoch.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { bhembed, criteoLines, tempDir } from '../../e2e/cli-helpers.js';

test('train: a one-class --valid file with early stopping exits 2; --patience 0 or one epoch trains', () => {
  const dir = tempDir('bhembed-valid-');
  const train = join(dir, 'train.txt');
  writeFileSync(train, `${criteoLines(300, 1).join('\n')}\n`);
  const valid = join(dir, 'valid.txt');
  writeFileSync(valid, `${criteoLines(60, 2).map((l) => `0${l.slice(1)}`).join('\n')}\n`);
  const flags = ['--train', train, '--valid', valid, '--format', 'criteo', '--embedding', 'hash', '--compression', '2', '--dim', '4', '--mlp', '4', '-q'];
  const r = bhembed(['train', ...flags, '--epochs', '3']);
  assert.equal(r.status, 2);
  assert.equal(
    r.stderr,
    `bhembed: ${valid}: every label is 0, so the validation AUC is undefined and cannot pick the best epoch; give a validation file with both classes, or --patience 0 to keep the last epoch\n`,
  );
  assert.equal(bhembed(['train', ...flags, '--epochs', '3', '--patience', '0']).status, 0);
  assert.equal(bhembed(['train', ...flags]).status, 0);
});

test('eval: a one-class file prints AUC n/a instead of NaN', () => {
  const dir = tempDir('bhembed-eval1-');
  const train = join(dir, 'train.txt');
  writeFileSync(train, `${criteoLines(300, 1).join('\n')}\n`);
  const ones = join(dir, 'ones.txt');
  writeFileSync(ones, `${criteoLines(40, 2).map((l) => `1${l.slice(1)}`).join('\n')}\n`);
  const model = join(dir, 'm.bhm');
  assert.equal(bhembed(['train', '--train', train, '--format', 'criteo', '--embedding', 'hash', '--compression', '2', '--dim', '4', '--mlp', '4', '-q', '--out', model]).status, 0);
  const r = bhembed(['eval', model, ones, '-q']);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, new RegExp(`^${ones}: AUC n/a \\(one class only\\)  logloss \\d+\\.\\d{4}  \\(40 rows, 40 positive\\)\\n$`));
});
