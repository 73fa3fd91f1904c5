// XXH64 in 32-bit arithmetic must agree bit for bit with the reference xxHash (xxhash-wasm) on every tail path.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import xxhash from 'xxhash-wasm';
import { BatchHasher, xxh64Bytes, xxh64String } from '../../../src/hash/xxh64.js';
import { Rng } from '../../../src/core/rng.js';

const ALPHABET = ['a', 'Z', '0', ' ', '~', 'é', 'ß', '中', '文', '😀', '\u0000', '\u007f', '\u0080', '\u07ff', '\u0800', '\uffff', '\ud83d', '\ude00', '\udbff\udfff'];

function randomString(rng: Rng, len: number, asciiOnly: boolean): string {
  let s = '';
  for (let i = 0; i < len; i++) {
    s += asciiOnly ? String.fromCharCode(32 + rng.int(95)) : ALPHABET[rng.int(ALPHABET.length)];
  }
  return s;
}

test('XXH64 published vectors', () => {
  assert.equal(xxh64String('', 0), 0xef46db3751d8e999n);
  assert.equal(xxh64String('a', 0), 0xd24ec4f1a98c6e5bn);
  assert.equal(xxh64String('abc', 0), 0x44bc2cf5ad770999n);
});

test('XXH64 matches xxhash-wasm for lengths 0..100 (all tail paths), many seeds', async () => {
  const { h64, h64Raw } = await xxhash();
  const rng = new Rng(12345);
  for (let len = 0; len <= 100; len++) {
    for (let r = 0; r < 8; r++) {
      const seed = r === 0 ? 0 : r === 1 ? 0xffffffff : rng.nextU32();
      const s = randomString(rng, len, r % 2 === 0);
      assert.equal(xxh64String(s, seed), h64(s, BigInt(seed)), `len=${len} seed=${seed}`);
      // raw bytes of exactly len bytes, at a non-zero offset
      const buf = new Uint8Array(len + 7);
      for (let i = 0; i < buf.length; i++) buf[i] = rng.int(256);
      const out = new Uint32Array(6);
      xxh64Bytes(buf, 3, 3 + len, seed, out, 1);
      const want = h64Raw(buf.subarray(3, 3 + len), BigInt(seed));
      assert.equal(out[2], Number(want & 0xffffffffn));
      assert.equal(out[3], Number(want >> 32n));
      assert.equal(out[0] | out[1] | out[4] | out[5], 0, 'writes only its own slot');
    }
  }
});

test('BatchHasher equals xxh64String, grows its scratch, treats missing as ""', async () => {
  const rng = new Rng(7);
  const values: string[] = [];
  for (let i = 0; i < 300; i++) values.push(randomString(rng, rng.int(i < 290 ? 40 : 2000), i % 3 === 0));
  (values as unknown[])[5] = undefined;
  const h = new BatchHasher(16);
  const out = new Uint32Array(2 * (values.length + 2));
  h.hashStrings(values, 9, out, 2);
  for (let i = 0; i < values.length; i++) {
    const want = xxh64String(values[i] ?? '', 9);
    const got = (BigInt(out[2 * (i + 2) + 1]) << 32n) | BigInt(out[2 * (i + 2)]);
    assert.equal(got, want, `value ${i}`);
  }
  assert.equal(out[0] | out[1] | out[2] | out[3], 0);
});

test('BatchHasher encodes UTF-16 edge cases as TextEncoder does: pairs, lone and swapped surrogates, range edges', () => {
  const units = [0x7f, 0x80, 0x7ff, 0x800, 0xd7ff, 0xd800, 0xdbff, 0xdc00, 0xdfff, 0xe000, 0xfffd, 0xffff];
  const values: string[] = [];
  for (const a of units) {
    values.push(String.fromCharCode(a), `x${String.fromCharCode(a)}`);
    for (const b of units) values.push(String.fromCharCode(a, b), String.fromCharCode(a, b, 0x61));
  }
  values.push('\u{1F600}', '\u{10000}', '\u{10FFFF}', 'a\uD83D', '\uDE00\uD83D', '\uD83D\uD83D\uDE00');
  const h = new BatchHasher(16);
  const out = new Uint32Array(2);
  for (const v of values) {
    h.hashString(v, 3, out, 0);
    const codes = Array.from(v, (c) => c.codePointAt(0)!.toString(16)).join(' ');
    assert.equal((BigInt(out[1]) << 32n) | BigInt(out[0]), xxh64String(v, 3), `code points ${codes}: BatchHasher must encode as TextEncoder does (lone surrogates → U+FFFD)`);
  }
});
