// Damaged model files and atomic writes, through the CLI: corrupt and truncated files fail with one clear line
// and exit 1; --out replaces files whole and leaves no temporary files behind.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { bhembed, tempDir, writeCriteoSplits } from './cli-helpers.js';

const dir = tempDir();
const data = writeCriteoSplits(dir, { train: 400, valid: 100, test: 100 });
const args = ['--train', data.train, '--test', data.test, '--format', 'criteo', '--model', 'lr', '--embedding', 'hash', '--compression', '4', '-q'];
const modelDir = join(dir, 'models');
mkdirSync(modelDir);
const model = join(modelDir, 'm.bhm');

test('train --out writes atomically and replaces an existing file whole', () => {
  writeFileSync(model, 'an old model');
  const r = bhembed(['train', ...args, '--out', model]);
  assert.equal(r.status, 0, r.stderr);
  assert.deepEqual(readdirSync(modelDir), ['m.bhm']);
  assert.equal(readFileSync(model).subarray(0, 4).toString(), 'BHMF');
  // A target that cannot be written (a directory is in the way): error, nothing left behind, old file untouched.
  const blocked = join(modelDir, 'blocked.bhm');
  mkdirSync(blocked);
  const before = readFileSync(model);
  const f = bhembed(['train', ...args, '--out', blocked]);
  assert.equal(f.status, 1);
  assert.match(f.stderr, /^bhembed: .*blocked\.bhm: cannot write/m);
  assert.deepEqual(readdirSync(modelDir).sort(), ['blocked.bhm', 'm.bhm']);
  assert.deepEqual(readdirSync(blocked), []);
  assert.deepEqual(readFileSync(model), before);
});

test('corrupt, truncated and foreign model files fail with CheckpointError messages', () => {
  const good = readFileSync(model);
  const cases: [string, Buffer, RegExp][] = [
    ['flipped.bhm', Buffer.from(good.map((b, i) => (i === good.length - 9 ? b ^ 1 : b))), /checksum mismatch.*corrupt/],
    ['truncated.bhm', good.subarray(0, Math.floor(good.length * 0.7)), /truncated/],
    ['header.bhm', good.subarray(0, 20), /truncated/],
    ['empty.bhm', Buffer.alloc(0), /too short/],
    ['foreign.bhm', Buffer.from('label\tI1\tI2\nnot a model at all\n'), /wrong magic/],
  ];
  for (const [name, bytes, re] of cases) {
    const p = join(dir, name);
    writeFileSync(p, bytes);
    for (const cmd of [['predict', p, data.test], ['eval', p, data.test], ['inspect', p]]) {
      const r = bhembed(cmd);
      assert.equal(r.status, 1, `${cmd.join(' ')}: ${r.stderr}`);
      const lines = r.stderr.trim().split('\n');
      assert.equal(lines.length, 1, r.stderr);
      assert.ok(lines[0].startsWith(`bhembed: ${p}: not a valid bhembed model file: `), lines[0]);
      assert.match(lines[0], re);
      assert.equal(r.stdout, '');
    }
  }
  const missing = bhembed(['predict', join(dir, 'nope.bhm'), data.test]);
  assert.equal(missing.status, 1);
  assert.match(missing.stderr, /nope\.bhm: model file not found/);
});

test('a future format version is named as such', () => {
  const bytes = Buffer.from(readFileSync(model));
  bytes.writeUInt32LE(7, 4);
  const p = join(dir, 'v7.bhm');
  writeFileSync(p, bytes);
  const r = bhembed(['inspect', p]);
  assert.equal(r.status, 1);
  assert.match(r.stderr, /format version 7 is not supported \(this bhembed reads versions 1 and 2\)/);
});
