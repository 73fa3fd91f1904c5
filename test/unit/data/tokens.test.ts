// The readers' byte-level token helpers against plain references: integers and floats parsed from bytes as
// Number() reads the same text, Criteo's ln² rule as Math.log, bucket indices as a linear count, and both id
// caches (small integers, short tokens) against xxh64Bytes itself, including cache slots shared by several
// tokens (a 2-slot table), tokens that differ only in length (zero bytes) and one token in several fields.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Rng } from '../../../src/core/rng.js';
import { xxh64Bytes } from '../../../src/hash/xxh64.js';
import { bucketIndex, FLOAT32_MAX, IntIdCache, label01, logSquaredBucket, parseFloatBytes, parseIntBytes, quote, ShortTokenCache, tokenString } from '../../../src/data/tokens.js';

const enc = new TextEncoder();
/** The text inside a line buffer with a byte of padding either side (the helpers must read only [s, e)). */
function inLine(t: string): [Uint8Array, number, number] {
  const b = enc.encode(`9${t}9`);
  return [b, 1, b.length - 1];
}

function ref(buf: Uint8Array, s: number, e: number, seed: number): [number, number] {
  const out = new Uint32Array(2);
  xxh64Bytes(buf, s, e, seed, out, 0);
  return [out[0], out[1]];
}

test('parseIntBytes: [+-]?[0-9]+ as Number reads it, anything else NaN', () => {
  for (const t of ['0', '7', '-7', '+7', '10', '0012', '-0', '9007199254740991', '123456789']) assert.equal(parseIntBytes(...inLine(t)), Number(t), t);
  for (const t of ['', '+', '-', '1a', 'a1', '1 ', ' 1', '1.0', '--1', '+-1', '/', ':', '1e3', '٣']) assert.ok(Number.isNaN(parseIntBytes(...inLine(t))), `'${t}' is not an integer`);
});

test('parseFloatBytes: decimals and exponents as Number reads them; hex, inf, nan, blanks and > 64 bytes are NaN', () => {
  for (const t of ['1.5', '-2e3', '+.5', '.5', '.25', '-.125e2', '5.', '1E-3', '-0.000123', '3.4e38', '12', '-12', '0.1']) assert.equal(parseFloatBytes(...inLine(t)), Number(t), t);
  const digits70 = '9'.repeat(70);
  assert.equal(parseFloatBytes(...inLine(digits70)), Number(digits70), 'an integer of 70 digits (longer than the decimal limit) still parses');
  for (const t of ['', '.', 'e3', '1e', '1e+', '0x10', 'inf', 'Infinity', 'nan', '1.2.3', '1 ', '- 1', '1,5', '+-1.5']) assert.ok(Number.isNaN(parseFloatBytes(...inLine(t))), `'${t}' is not a number`);
  const long64 = `0.${'1'.repeat(62)}`;
  assert.equal(long64.length, 64);
  assert.equal(parseFloatBytes(...inLine(long64)), Number(long64), 'a 64-byte decimal still parses');
  assert.ok(Number.isNaN(parseFloatBytes(...inLine(`${long64}1`))), 'a 65-byte decimal is refused');
  assert.equal(FLOAT32_MAX, 3.4028234663852886e38);
  assert.equal(Math.fround(FLOAT32_MAX), FLOAT32_MAX, 'FLOAT32_MAX is a float32');
});

test('label01, quote, tokenString', () => {
  assert.deepEqual(['0', '1', '2', '00', '01', '', '/', ':'].map((t) => label01(...inLine(t))), [0, 1, -1, -1, -1, -1, -1, -1]);
  assert.equal(quote(...inLine('abc')), "'abc'");
  assert.equal(quote(...inLine('x'.repeat(40))), `'${'x'.repeat(40)}'`, '40 characters are not cut');
  assert.equal(quote(...inLine('x'.repeat(41))), `'${'x'.repeat(40)}…'`, 'past 40 characters: cut, with an ellipsis');
  assert.equal(tokenString(...inLine('héllo')), 'héllo');
  const bad = Uint8Array.of(0x61, 0xff, 0x62);
  assert.equal(tokenString(bad, 0, 3), 'a\ufffdb', 'invalid UTF-8 decodes with a replacement character, no throw');
  assert.equal(quote(bad, 0, 3), "'a\ufffdb'");
});

test('logSquaredBucket: v > 2 → ⌊ln(v)²⌋, else v, on both sides of the 65536-entry table', () => {
  const want = (v: number): number => (v > 2 ? Math.floor(Math.log(v) ** 2) : v);
  for (let v = -5; v < 70000; v++) assert.equal(logSquaredBucket(v), want(v), `v = ${v}`);
  for (const v of [2.5, 3.5, 65535.5, 1e9, -1.5, 0.5]) assert.equal(logSquaredBucket(v), want(v), `v = ${v}`);
});

test('bucketIndex: the number of boundaries ≤ v (values on, between and beyond the boundaries)', () => {
  const rng = new Rng(4);
  for (let k = 0; k < 300; k++) {
    const n = rng.int(9);
    const b = Array.from({ length: n }, () => rng.int(50)).sort((x, y) => x - y);
    for (let v = -2; v < 53; v += 0.5) assert.equal(bucketIndex(v, b), b.filter((x) => x <= v).length, `v ${v} among [${b.join(', ')}]`);
  }
});

test('IntIdCache: cached and uncached ids equal XXH64 of the decimal text, per seed', () => {
  const seeds = [0, 5, 13];
  const cache = new IntIdCache(seeds, -3, 20);
  assert.equal(cache.lo, -3);
  assert.equal(cache.hi, 20);
  const out = new Uint32Array(8);
  for (let k = 0; k < 4; k++) {
    const seed = k < 3 ? seeds[k] : 99; // k = 3: no cached row, hashed with its seed
    for (const v of [-5, -4, -3, -2, -1, 0, 1, 9, 18, 19, 20, 21, 1000, 123456789]) {
      cache.write(k, seed, v, out, 3);
      assert.deepEqual([out[6], out[7]], ref(enc.encode(String(v)), 0, String(v).length, seed), `k ${k}, seed ${seed}, v ${v}`);
    }
  }
});

test('ShortTokenCache = xxh64Bytes for every length, in shared slots, tokens differing only in length, one token in several fields', () => {
  const rng = new Rng(9);
  const tokens: Uint8Array[] = [];
  for (let len = 0; len <= 8; len++) tokens.push(new Uint8Array(len)); // zero bytes: the same words, only the length differs
  for (let i = 0; i < 600; i++) tokens.push(Uint8Array.from({ length: rng.int(13) }, () => (rng.next() < 0.3 ? 0 : 1 + rng.int(255))));
  for (const bits of [1, 2, 12]) {
    const cache = new ShortTokenCache(3, bits);
    const out = new Uint32Array(4);
    for (let round = 0; round < 3; round++) {
      for (let i = 0; i < tokens.length; i++) {
        const t = tokens[(i * 7 + round * 13) % tokens.length];
        const line = new Uint8Array(t.length + 4).fill(0x41);
        line.set(t, 2);
        for (const f of [0, 1, 2]) {
          cache.hash(line, 2, 2 + t.length, f, out, 1);
          assert.deepEqual([out[2], out[3]], ref(t, 0, t.length, f), `bits ${bits}, round ${round}, field ${f}, token [${Array.from(t).join(',')}]`);
        }
      }
    }
  }
});

test('ShortTokenCache: tokens that share a slot\'s words only under a wrong byte layout get their own ids', () => {
  // Each pair hashed back to back in one field: were the 8 token bytes packed into the two words wrongly (a byte
  // read from outside the token, two bytes on the same bits), the second would hit the first's cache entry.
  const pairs: number[][][] = [
    [[1, 2, 3, 4, 5, 6, 7, 8], [1, 2, 3, 4, 6, 6, 7, 8]], // differ in byte 4 only
    [[1, 2, 3, 4, 5, 6, 7, 8], [1, 2, 3, 4, 5, 6, 7, 9]], // byte 7 only
    [[1, 2, 3, 4, 5, 6, 7, 8], [1, 2, 3, 4, 9, 9, 9, 9]], // the high word only
    [[1, 0, 0, 0, 2], [2, 0, 0, 0, 1]], // bytes 0 and 4 swapped
    [[0, 0, 0, 0, 1], [1, 0, 0, 0, 0]],
    [[9, 9, 9, 9, 16, 0, 0], [9, 9, 9, 9, 0, 0, 1]], // bytes 4 and 6 on overlapping bits
    [[9, 9, 9, 9, 0, 1, 0], [9, 9, 9, 9, 0, 0, 1]],
    [[5, 1, 0, 0, 7, 0], [5, 0, 0, 0, 7, 1]],
    [[3, 0, 0], [0, 3, 0]],
  ];
  const out = new Uint32Array(2);
  for (const bits of [1, 12]) {
    const cache = new ShortTokenCache(2, bits);
    for (const [a, b] of pairs) {
      for (const t of [a, b, a, b]) {
        const line = new Uint8Array(t.length + 16).fill(7);
        line.set(t, 8);
        cache.hash(line, 8, 8 + t.length, 1, out, 0);
        assert.deepEqual([out[0], out[1]], ref(Uint8Array.from(t), 0, t.length, 1), `bits ${bits}: token [${t.join(',')}] after [${(t === a ? b : a).join(',')}]`);
      }
    }
  }
});

test('ShortTokenCache: a field whose tokens never repeat is bypassed and still hashes right', () => {
  const cache = new ShortTokenCache(2, 4);
  const out = new Uint32Array(2);
  const buf = new Uint8Array(4);
  const view = new DataView(buf.buffer);
  for (let i = 0; i < 70000; i++) {
    view.setUint32(0, i * 2654435761, true);
    const f = i & 1;
    cache.hash(buf, 0, 4, f, out, 0);
    if (i % 997 === 0 || i > 69990) assert.deepEqual([out[0], out[1]], ref(buf, 0, 4, f), `lookup ${i}`);
  }
});
