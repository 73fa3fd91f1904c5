// The .bhm container: round trips, float16 rounding, and every way a file can be damaged.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  crc32,
  decodeModelFile,
  encodeModelFile,
  fromHalf,
  readModelFile,
  toHalf,
  writeModelFile,
} from '../../../src/models/model-file.js';
import { Rng } from '../../../src/core/rng.js';
import { tempDir } from '../../temp-dir.js';

function sample(): { model: unknown; meta: Record<string, unknown>; tensors: { name: string; shape: number[]; data: Float32Array }[] } {
  const rng = new Rng(7);
  const a = new Float32Array(12).map(() => rng.normal());
  const b = new Float32Array(5).map(() => rng.normal() * 1e-3);
  return {
    model: { arch: 'fm', dim: 4 },
    meta: { fields: ['a', 'b'], specs: [{ method: 'hash', rows: 3 }] },
    tensors: [
      { name: 'emb.0', shape: [3, 4], data: a },
      { name: 'bias', shape: [5], data: b },
    ],
  };
}

test('crc32 matches the standard check value', () => {
  assert.equal(crc32(new TextEncoder().encode('123456789')), 0xcbf43926);
});

test('float16 conversion: exact values, rounding to nearest even, specials', () => {
  assert.equal(toHalf(1), 0x3c00);
  assert.equal(toHalf(-2), 0xc000);
  assert.equal(toHalf(65504), 0x7bff);
  assert.equal(toHalf(1e6), 0x7c00);
  assert.equal(toHalf(2 ** -24), 0x0001);
  assert.equal(fromHalf(0x0001), 2 ** -24);
  // 1 + 2^-11 is halfway between 1 and 1 + 2^-10: ties go to the even mantissa (1).
  assert.equal(toHalf(1 + 2 ** -11), 0x3c00);
  assert.equal(toHalf(1 + 3 * 2 ** -11), 0x3c02);
  assert.ok(Number.isNaN(fromHalf(toHalf(NaN))));
  for (let h = 0; h < 0x7c00; h += 37) assert.equal(toHalf(fromHalf(h)), h);
});

test('float32 round trip is bit exact and keeps header fields', () => {
  const s = sample();
  const bytes = encodeModelFile(s.model, s.meta, s.tensors, { createdAt: '2026-01-01T00:00:00.000Z' });
  const back = decodeModelFile(bytes);
  assert.deepEqual(back.model, s.model);
  assert.deepEqual(back.meta, s.meta);
  assert.equal(back.createdAt, '2026-01-01T00:00:00.000Z');
  assert.equal(back.tensors.length, 2);
  for (let i = 0; i < 2; i++) {
    assert.equal(back.tensors[i].name, s.tensors[i].name);
    assert.deepEqual(back.tensors[i].shape, s.tensors[i].shape);
    assert.deepEqual(Array.from(back.tensors[i].data), Array.from(s.tensors[i].data));
  }
});

test('float16 file is about half the weight bytes and within half precision', () => {
  const s = sample();
  const b32 = encodeModelFile(s.model, s.meta, s.tensors);
  const b16 = encodeModelFile(s.model, s.meta, s.tensors, { dtype: 'float16' });
  assert.ok(b16.length < b32.length);
  const back = decodeModelFile(b16);
  for (let i = 0; i < 2; i++) {
    const src = s.tensors[i].data;
    back.tensors[i].data.forEach((v, j) => assert.ok(Math.abs(v - src[j]) <= Math.abs(src[j]) * 2 ** -11 + 2 ** -24));
  }
});

test('damaged files fail with CheckpointError naming the problem', () => {
  const s = sample();
  const good = encodeModelFile(s.model, s.meta, s.tensors);
  const expectErr = (bytes: Uint8Array, code: string, re: RegExp): void =>
    assert.throws(() => decodeModelFile(bytes, 'm.bhm'), (e: unknown) => {
      const err = e as { name: string; code: string; message: string };
      assert.equal(err.name, 'CheckpointError');
      assert.equal(err.code, code);
      assert.match(err.message, /^m\.bhm: /);
      assert.match(err.message, re);
      return true;
    });
  // Truncated at every 7th length.
  for (let n = 0; n < good.length; n += 7) expectErr(good.subarray(0, n), 'checkpoint.corrupt', /truncated|too short|checksum|not valid JSON/);
  // A flipped bit in the weights.
  const flipped = good.slice();
  flipped[good.length - 10] ^= 0x10;
  expectErr(flipped, 'checkpoint.corrupt', /checksum mismatch/);
  // Wrong magic.
  const magic = good.slice();
  magic[0] = 0x50;
  expectErr(magic, 'checkpoint.corrupt', /wrong magic/);
  // Future version.
  const ver = good.slice();
  new DataView(ver.buffer).setUint32(4, 99, true);
  expectErr(ver, 'checkpoint.version', /version 99 is not supported/);
  // Trailing garbage.
  const longer = new Uint8Array(good.length + 3);
  longer.set(good);
  expectErr(longer, 'checkpoint.corrupt', /trailing data/);
});

test('format version: 1 for every model a version-1 reader describes (BH-cold hybrid included), 2 for a hybrid with a dhash cold part; both read back', () => {
  const { meta, tensors } = sample();
  const field = (index: unknown): unknown => ({ arch: 'fm', dim: 4, fields: [{ name: 'a', index: { method: 'hash', rows: 3 } }, { name: 'b', index }] });
  const cases: [unknown, number][] = [
    [sample().model, 1],
    [field({ method: 'bh', codeBits: 8, blockBits: 4, strategy: 'succession' }), 1],
    [field({ method: 'hybrid', hot: ['0000000000000001'], codeBits: 8, blockBits: 4, strategy: 'skip' }), 1],
    [field({ method: 'hybrid', hot: ['0000000000000001'], cold: 'bh', codeBits: 8, blockBits: 4, strategy: 'skip' }), 1],
    [field({ method: 'hybrid', hot: ['0000000000000001'], cold: 'dhash', rows: 6, hashes: 2 }), 2],
  ];
  for (const [model, version] of cases) {
    const bytes = encodeModelFile(model, meta, tensors);
    assert.equal(new DataView(bytes.buffer, bytes.byteOffset).getUint32(4, true), version, JSON.stringify(model));
    const back = decodeModelFile(bytes, 'm.bhm');
    assert.equal(back.version, version);
    assert.deepEqual(back.model, model);
  }
  const v3 = encodeModelFile(sample().model, meta, tensors);
  new DataView(v3.buffer, v3.byteOffset).setUint32(4, 3, true);
  assert.throws(() => decodeModelFile(v3, 'm.bhm'), (e: unknown) => (e as Error).message === 'm.bhm: model file format version 3 is not supported (this bhembed reads versions 1 and 2)');
});

test('writeModelFile is atomic: no temp files left, old file replaced whole', () => {
  const dir = tempDir('bhm-');
  const path = join(dir, 'm.bhm');
  writeFileSync(path, 'old contents');
  const s = sample();
  const n = writeModelFile(path, s.model, s.meta, s.tensors);
  assert.equal(readFileSync(path).length, n);
  assert.deepEqual(readdirSync(dir), ['m.bhm']);
  assert.deepEqual(readModelFile(path).model, s.model);
  assert.throws(() => readModelFile(join(dir, 'missing.bhm')), /model file not found/);
  assert.throws(() => writeModelFile(join(dir, 'no-such-dir', 'm.bhm'), s.model, s.meta, s.tensors), /cannot write/);
  assert.deepEqual(readdirSync(dir), ['m.bhm']);
});
