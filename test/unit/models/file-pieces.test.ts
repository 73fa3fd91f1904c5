// Model files and checkpoints of any size: written and read in pieces (never the whole file in one Buffer, which
// stops at 2-4 GiB). Forced tiny pieces here stand in for a table larger than a Buffer: the files are byte for byte
// the one-buffer encoding, read back equal, and damage is still caught (CRC-32, XXH64) with the same messages.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Rng } from '../../../src/core/rng.js';
import { xxh64Bytes, Xxh64Stream } from '../../../src/hash/xxh64.js';
import { emptyTensors, encodeModelFile, modelFileLayout, readModelFile, readModelFileHeader, readModelPieces, writeModelFile, writeModelPieces, type NamedTensor } from '../../../src/models/model-file.js';
import { encodeCheckpoint, readCheckpoint, writeCheckpoint, type CheckpointHeader } from '../../../src/train/resume/checkpoint-file.js';
import { tempDir } from '../../temp-dir.js';

const dir = tempDir('file-pieces-');

function tensors(): NamedTensor[] {
  const rng = new Rng(3);
  // odd lengths: padding between tensors, values across piece boundaries of every phase
  return [
    { name: 'emb', shape: [7, 3], data: new Float32Array(21).map(() => rng.normal()) },
    { name: 'half', shape: [5], data: new Float32Array(5).map(() => rng.normal()), dtype: 'float16' },
    { name: 'bias', shape: [1], data: Float32Array.of(0.25) },
    { name: 'w', shape: [9], data: new Float32Array(9).map(() => rng.normal()) },
  ];
}

test('XXH64 fed in pieces equals the one-shot hash for every length and cut', () => {
  const rng = new Rng(5);
  const bytes = new Uint8Array(300).map(() => rng.int(256));
  const one = new Uint32Array(2);
  const inPieces = new Uint32Array(2);
  for (const n of [0, 1, 7, 31, 32, 33, 63, 64, 65, 100, 300]) {
    xxh64Bytes(bytes, 0, n, 9, one, 0);
    for (const cut of [1, 5, 31, 32, 33, 64]) {
      const h = new Xxh64Stream(9);
      for (let p = 0; p < n; p += cut) h.update(bytes, p, Math.min(n, p + cut));
      h.digest(inPieces, 0);
      assert.deepEqual([...inPieces], [...one], `length ${n}, pieces of ${cut}`);
    }
  }
});

test('model files written and read in pieces of 8 to 64 bytes: the one-buffer bytes, the same tensors, damage caught', () => {
  const ts = tensors();
  const model = { arch: 'lr' };
  const meta = { note: 'pieces' };
  const whole = encodeModelFile(model, meta, ts, { createdAt: 'now' });
  for (const piece of [8, 16, 24, 64]) {
    const path = join(dir, `m${piece}.bhm`);
    const size = writeModelFile(path, model, meta, ts, { createdAt: 'now', pieceBytes: piece });
    assert.equal(size, whole.length);
    assert.deepEqual(readFileSync(path), Buffer.from(whole), `pieces of ${piece} bytes`);
    const back = readModelFile(path, { pieceBytes: piece });
    assert.deepEqual(back.tensors.map((t) => t.name), ts.map((t) => t.name));
    back.tensors.forEach((t, i) => {
      if (ts[i].dtype === 'float16') t.data.forEach((v, j) => assert.ok(Math.abs(v - ts[i].data[j]) < 2e-3));
      else assert.deepEqual(t.data, ts[i].data, t.name);
    });
  }
  assert.equal(readModelFileHeader(join(dir, 'm8.bhm')).fileBytes, whole.length);
  // No piece past the header is larger than asked, writing or reading.
  const layout = modelFileLayout(model, meta, ts, { createdAt: 'now' });
  const written: number[] = [];
  writeModelPieces(layout, ts, (b) => written.push(b.length), 16);
  assert.equal(written[0], layout.prefix.length);
  assert.ok(written.slice(1).every((n) => n <= 16) && written.length > 10, `pieces ${written.join(',')}`);
  assert.equal(written.reduce((a, b) => a + b, 0), whole.length);
  const read: number[] = [];
  readModelPieces(join(dir, 'm8.bhm'), (p) => emptyTensors(p.header), { pieceBytes: 16, onBytes: (b) => read.push(b.length) });
  assert.ok(read.slice(1).every((n) => n <= 16) && read.reduce((a, b) => a + b, 0) === whole.length, `read ${read.join(',')}`);
  // one flipped bit in the last tensor: the CRC over the pieces catches it
  const bad = Uint8Array.from(whole);
  bad[bad.length - 12] ^= 1;
  writeFileSync(join(dir, 'bad.bhm'), bad);
  assert.throws(() => readModelFile(join(dir, 'bad.bhm'), { pieceBytes: 8 }), /bad\.bhm: not a valid bhembed model file: checksum mismatch/);
  writeFileSync(join(dir, 'short.bhm'), whole.subarray(0, whole.length - 8));
  assert.throws(() => readModelFile(join(dir, 'short.bhm'), { pieceBytes: 8 }), /short\.bhm: .*expected \d+ \(truncated\)/);
  assert.throws(() => readModelFile(join(dir, 'none.bhm')), /none\.bhm: model file not found/);
  assert.throws(() => readModelFile(dir), /is a directory, expected a model file/);
});

test('checkpoints written and read in pieces: the one-buffer bytes, the same contents, XXH64 damage refused', () => {
  const ts = tensors().map((t) => ({ ...t, dtype: undefined }));
  const header: CheckpointHeader = { format: 'bhembed-checkpoint', runId: 'r1', rows: 42, done: false, trainer: { auc: NaN }, run: { a: 1 }, bhembed: 'test' };
  const model = { arch: 'lr' };
  for (const piece of [8, 40]) {
    const sub = join(dir, `ck${piece}`);
    mkdirSync(sub, { recursive: true });
    const { path, bytes } = writeCheckpoint(sub, model, header, ts, { pieceBytes: piece });
    const file = readFileSync(path);
    assert.equal(bytes, file.length);
    // the one-buffer encoding, up to the createdAt stamp inside the payload's header
    const whole = encodeCheckpoint(model, header, ts);
    assert.equal(file.length, whole.length);
    const back = readCheckpoint(path, { pieceBytes: piece });
    assert.equal(back.header.rows, 42);
    assert.ok(Number.isNaN(back.header.trainer.auc as number));
    back.tensors.forEach((t, i) => assert.deepEqual(t.data, ts[i].data, t.name));
    const bad = Uint8Array.from(file);
    bad[bad.length - 20] ^= 4;
    writeFileSync(join(sub, 'bad.bhck'), bad);
    assert.throws(() => readCheckpoint(join(sub, 'bad.bhck'), { pieceBytes: piece }), /bad\.bhck: checksum mismatch \(XXH64 of the payload\)/);
  }
});
