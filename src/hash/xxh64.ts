// XXH64 (Yann Collet's xxHash, 64-bit variant) in pure TypeScript with 32-bit arithmetic: every categorical
// value becomes a 64-bit hash id (HashIds, src/core/ids.ts) through this file. No BigInt and no allocation on
// the hot path.

import type { HashIds } from '../core/ids.js';
import { mul64 } from './int64.js';

// The five 64-bit primes of XXH64, split into 32-bit halves.
const P1_LO = 0x85ebca87 | 0;
const P1_HI = 0x9e3779b1 | 0;
const P2_LO = 0x27d4eb4f | 0;
const P2_HI = 0xc2b2ae3d | 0;
const P3_LO = 0x9e3779f9 | 0;
const P3_HI = 0x165667b1 | 0;
const P4_LO = 0xc2b2ae63 | 0;
const P4_HI = 0x85ebca77 | 0;
const P5_LO = 0x165667c5 | 0;
const P5_HI = 0x27d4eb2f | 0;

// Every 64-bit value is two int32 halves (signed representation, converted to u32 only when written out), so V8
// keeps the arithmetic in 32-bit integer registers. Helper results leave through R, a typed array: storing a
// number ≥ 2^31 into a module-level `let` would box it (one heap number per store); a typed-array store never does.
const R = new Int32Array(2);
/** The four XXH64 accumulators of stripes(), as lo/hi pairs. */
const ACC = new Int32Array(8);

/** XXH64_round: acc = rotl(acc + input·P2, 31)·P1 → R. */
function round64(accLo: number, accHi: number, inLo: number, inHi: number): void {
  mul64(inLo, inHi, P2_LO, P2_HI, R);
  const lo = (accLo + R[0]) | 0;
  const hi = (accHi + R[1] + ((lo >>> 0) < (accLo >>> 0) ? 1 : 0)) | 0;
  // rotl 31
  mul64((lo << 31) | (hi >>> 1), (hi << 31) | (lo >>> 1), P1_LO, P1_HI, R);
}

/** XXH64_mergeRound: h = (h ^ round(0, v))·P1 + P4 → R. */
function mergeRound(hLo: number, hHi: number, vLo: number, vHi: number): void {
  round64(0, 0, vLo, vHi);
  mul64(hLo ^ R[0], hHi ^ R[1], P1_LO, P1_HI, R);
  const lo = (R[0] + P4_LO) | 0;
  R[1] = (R[1] + P4_HI + ((lo >>> 0) < (P4_LO >>> 0) ? 1 : 0)) | 0;
  R[0] = lo;
}

function read32(b: Uint8Array, p: number): number {
  return b[p] | (b[p + 1] << 8) | (b[p + 2] << 16) | (b[p + 3] << 24);
}

/** The ≥ 32-byte head: 32-byte stripes into four accumulators, then their merge → R. Returns the first unread byte. */
function stripes(buf: Uint8Array, start: number, end: number, sLo: number): number {
  let p = start;
  // v1 = seed + P1 + P2, v2 = seed + P2, v3 = seed, v4 = seed − P1 (all mod 2^64; seed < 2^32 so its high word is 0)
  const p12Lo = (P1_LO + P2_LO) | 0;
  const p12Hi = (P1_HI + P2_HI + ((p12Lo >>> 0) < (P1_LO >>> 0) ? 1 : 0)) | 0;
  let v1Lo = (sLo + p12Lo) | 0;
  let v1Hi = (p12Hi + ((v1Lo >>> 0) < (p12Lo >>> 0) ? 1 : 0)) | 0;
  let v2Lo = (sLo + P2_LO) | 0;
  let v2Hi = (P2_HI + ((v2Lo >>> 0) < (P2_LO >>> 0) ? 1 : 0)) | 0;
  let v3Lo = sLo;
  let v3Hi = 0;
  // −P1 = ~P1 + 1 (P1's low word is not 0, so no carry into the high word)
  const nP1Lo = (~P1_LO + 1) | 0;
  const nP1Hi = ~P1_HI;
  let v4Lo = (sLo + nP1Lo) | 0;
  let v4Hi = (nP1Hi + ((v4Lo >>> 0) < (nP1Lo >>> 0) ? 1 : 0)) | 0;
  // one call site per helper keeps stripes() small enough for V8 to inline every multiply
  const acc = ACC;
  acc[0] = v1Lo;
  acc[1] = v1Hi;
  acc[2] = v2Lo;
  acc[3] = v2Hi;
  acc[4] = v3Lo;
  acc[5] = v3Hi;
  acc[6] = v4Lo;
  acc[7] = v4Hi;
  const limit = end - 32;
  do {
    for (let j = 0; j < 8; j += 2) {
      round64(acc[j], acc[j + 1], read32(buf, p), read32(buf, p + 4));
      acc[j] = R[0];
      acc[j + 1] = R[1];
      p += 8;
    }
  } while (p <= limit);
  v1Lo = acc[0];
  v1Hi = acc[1];
  v2Lo = acc[2];
  v2Hi = acc[3];
  v3Lo = acc[4];
  v3Hi = acc[5];
  v4Lo = acc[6];
  v4Hi = acc[7];
  // h = rotl(v1,1) + rotl(v2,7) + rotl(v3,12) + rotl(v4,18)
  let lo = (v1Lo << 1) | (v1Hi >>> 31);
  let hi = (v1Hi << 1) | (v1Lo >>> 31);
  let aLo = (v2Lo << 7) | (v2Hi >>> 25);
  let aHi = (v2Hi << 7) | (v2Lo >>> 25);
  let sum = (lo + aLo) | 0;
  hi = (hi + aHi + ((sum >>> 0) < (lo >>> 0) ? 1 : 0)) | 0;
  lo = sum;
  aLo = (v3Lo << 12) | (v3Hi >>> 20);
  aHi = (v3Hi << 12) | (v3Lo >>> 20);
  sum = (lo + aLo) | 0;
  hi = (hi + aHi + ((sum >>> 0) < (lo >>> 0) ? 1 : 0)) | 0;
  lo = sum;
  aLo = (v4Lo << 18) | (v4Hi >>> 14);
  aHi = (v4Hi << 18) | (v4Lo >>> 14);
  sum = (lo + aLo) | 0;
  hi = (hi + aHi + ((sum >>> 0) < (lo >>> 0) ? 1 : 0)) | 0;
  lo = sum;
  for (let j = 0; j < 8; j += 2) {
    mergeRound(lo, hi, acc[j], acc[j + 1]);
    lo = R[0];
    hi = R[1];
  }
  return p;
}

/** Lanes of 8, 4 and 1 bytes from p to end, then the avalanche; writes the finished hash to out. */
function finish(buf: Uint8Array, start: number, end: number, hLo: number, hHi: number, out: HashIds, outIndex: number): void {
  let p = start;
  // 8-byte lanes: h ^= round(0, k); h = rotl(h, 27)·P1 + P4
  while (p + 8 <= end) {
    round64(0, 0, read32(buf, p), read32(buf, p + 4));
    const xLo = hLo ^ R[0];
    const xHi = hHi ^ R[1];
    mul64((xLo << 27) | (xHi >>> 5), (xHi << 27) | (xLo >>> 5), P1_LO, P1_HI, R);
    hLo = (R[0] + P4_LO) | 0;
    hHi = (R[1] + P4_HI + ((hLo >>> 0) < (P4_LO >>> 0) ? 1 : 0)) | 0;
    p += 8;
  }
  // one 4-byte lane: h ^= u32·P1; h = rotl(h, 23)·P2 + P3
  if (p + 4 <= end) {
    mul64(read32(buf, p), 0, P1_LO, P1_HI, R);
    const xLo = hLo ^ R[0];
    const xHi = hHi ^ R[1];
    mul64((xLo << 23) | (xHi >>> 9), (xHi << 23) | (xLo >>> 9), P2_LO, P2_HI, R);
    hLo = (R[0] + P3_LO) | 0;
    hHi = (R[1] + P3_HI + ((hLo >>> 0) < (P3_LO >>> 0) ? 1 : 0)) | 0;
    p += 4;
  }
  // trailing bytes: h ^= byte·P5; h = rotl(h, 11)·P1
  while (p < end) {
    mul64(buf[p], 0, P5_LO, P5_HI, R);
    const xLo = hLo ^ R[0];
    const xHi = hHi ^ R[1];
    mul64((xLo << 11) | (xHi >>> 21), (xHi << 11) | (xLo >>> 21), P1_LO, P1_HI, R);
    hLo = R[0];
    hHi = R[1];
    p++;
  }
  avalanche(hLo, hHi, out, outIndex);
}

/** h ^= h >> 33; h *= P2; h ^= h >> 29; h *= P3; h ^= h >> 32, written to out. */
function avalanche(hLo: number, hHi: number, out: HashIds, outIndex: number): void {
  mul64(hLo ^ (hHi >>> 1), hHi, P2_LO, P2_HI, R);
  const aLo = R[0] ^ ((R[0] >>> 29) | (R[1] << 3));
  const aHi = R[1] ^ (R[1] >>> 29);
  mul64(aLo, aHi, P3_LO, P3_HI, R);
  out[2 * outIndex] = R[0] ^ R[1];
  out[2 * outIndex + 1] = R[1];
}

/**
 * XXH64 of buf[start, end) with a seed in [0, 2^32) (bhembed uses the field index), written as
 * out[2·outIndex] = low 32 bits, out[2·outIndex + 1] = high 32 bits. Allocates nothing.
 *
 * @example
 *   const out = new Uint32Array(2);
 *   xxh64Bytes(new Uint8Array(0), 0, 0, 0, out, 0); // out = [0x51d8e999, 0xef46db37] = XXH64("", 0)
 */
export function xxh64Bytes(buf: Uint8Array, start: number, end: number, seed: number, out: HashIds, outIndex: number): void {
  const len = end - start;
  const sLo = seed | 0;
  let p = start;
  let hLo: number;
  let hHi: number;
  if (len >= 32) {
    p = stripes(buf, start, end, sLo);
    hLo = R[0];
    hHi = R[1];
  } else {
    hLo = (sLo + P5_LO) | 0;
    hHi = (P5_HI + ((hLo >>> 0) < (P5_LO >>> 0) ? 1 : 0)) | 0;
  }
  // h += len (len < 2^31 here: typed-array lengths are far below)
  const withLen = (hLo + len) | 0;
  hHi = (hHi + ((withLen >>> 0) < (hLo >>> 0) ? 1 : 0)) | 0;
  finish(buf, p, end, withLen, hHi, out, outIndex);
}

const ENCODER = new TextEncoder();

/** XXH64 of the UTF-8 bytes of s as a BigInt. A convenience for tests and tools; hot paths use BatchHasher. */
export function xxh64String(s: string, seed: number): bigint {
  const bytes = ENCODER.encode(s);
  const out = new Uint32Array(2);
  xxh64Bytes(bytes, 0, bytes.length, seed, out, 0);
  return (BigInt(out[1]) << 32n) | BigInt(out[0]);
}

/**
 * Hashes many strings with one reused, growable UTF-8 scratch buffer (no allocation per value). The UTF-8
 * encoding is hand-written and byte-identical to TextEncoder (checked in the tests).
 * A missing value (undefined/null at run time) hashes as "".
 *
 * @example
 *   const h = new BatchHasher();
 *   const ids = new Uint32Array(2 * values.length);
 *   h.hashStrings(values, fieldIndex, ids); // ids[2i] = lo32, ids[2i+1] = hi32 of XXH64(values[i], fieldIndex)
 */
export class BatchHasher {
  private scratch: Uint8Array;

  constructor(initialBytes = 256) {
    this.scratch = new Uint8Array(Math.max(16, initialBytes));
  }

  /** Hash values[i] with seed into out[2(outOffset+i)], out[2(outOffset+i)+1]. outOffset counts ids, not words. @default outOffset 0 */
  hashStrings(values: readonly string[], seed: number, out: HashIds, outOffset = 0): void {
    const n = values.length;
    for (let i = 0; i < n; i++) {
      const s = (values[i] as string | undefined | null) ?? '';
      const len = this.encode(s);
      xxh64Bytes(this.scratch, 0, len, seed, out, outOffset + i);
    }
  }

  /** Hash one string into out[2·outIndex], out[2·outIndex+1]. */
  hashString(s: string, seed: number, out: HashIds, outIndex: number): void {
    const len = this.encode(s ?? '');
    xxh64Bytes(this.scratch, 0, len, seed, out, outIndex);
  }

  /**
   * UTF-8 encode s into the scratch buffer (exactly as TextEncoder does, lone surrogates → U+FFFD); returns the
   * byte length. Hand-written because encodeInto costs more per call than hashing a short value.
   */
  private encode(s: string): number {
    const n = s.length;
    let buf = this.scratch;
    if (buf.length < 3 * n) {
      let cap = buf.length;
      while (cap < 3 * n) cap *= 2;
      buf = this.scratch = new Uint8Array(cap);
    }
    let p = 0;
    for (let i = 0; i < n; i++) {
      let c = s.charCodeAt(i);
      if (c < 0x80) {
        buf[p++] = c;
      } else if (c < 0x800) {
        buf[p++] = 0xc0 | (c >>> 6);
        buf[p++] = 0x80 | (c & 63);
      } else {
        if (c >= 0xd800 && c <= 0xdfff) {
          const d = i + 1 < n ? s.charCodeAt(i + 1) : 0;
          if (c <= 0xdbff && d >= 0xdc00 && d <= 0xdfff) {
            c = 0x10000 + ((c - 0xd800) << 10) + (d - 0xdc00);
            i++;
            buf[p++] = 0xf0 | (c >>> 18);
            buf[p++] = 0x80 | ((c >>> 12) & 63);
            buf[p++] = 0x80 | ((c >>> 6) & 63);
            buf[p++] = 0x80 | (c & 63);
            continue;
          }
          c = 0xfffd;
        }
        buf[p++] = 0xe0 | (c >>> 12);
        buf[p++] = 0x80 | ((c >>> 6) & 63);
        buf[p++] = 0x80 | (c & 63);
      }
    }
    return p;
  }
}

/**
 * XXH64 fed in pieces (files too large for one buffer): the same hash as xxh64Bytes over the pieces joined, for any
 * way of cutting them and any total length below 2^53 bytes.
 *
 * @example
 *   const h = new Xxh64Stream(0);
 *   h.update(a); h.update(b);
 *   const out = new Uint32Array(2);
 *   h.digest(out, 0); // = xxh64Bytes(a ++ b, …, 0, out, 0)
 */
export class Xxh64Stream {
  private readonly acc = new Int32Array(8);
  private readonly tail = new Uint8Array(32);
  private tailLen = 0;
  private total = 0;

  constructor(private readonly seed = 0) {
    // v1 = seed + P1 + P2, v2 = seed + P2, v3 = seed, v4 = seed − P1, as in stripes()
    const sLo = seed | 0;
    const p12Lo = (P1_LO + P2_LO) | 0;
    const p12Hi = (P1_HI + P2_HI + ((p12Lo >>> 0) < (P1_LO >>> 0) ? 1 : 0)) | 0;
    const a = this.acc;
    a[0] = (sLo + p12Lo) | 0;
    a[1] = (p12Hi + ((a[0] >>> 0) < (p12Lo >>> 0) ? 1 : 0)) | 0;
    a[2] = (sLo + P2_LO) | 0;
    a[3] = (P2_HI + ((a[2] >>> 0) < (P2_LO >>> 0) ? 1 : 0)) | 0;
    a[4] = sLo;
    a[5] = 0;
    const nP1Lo = (~P1_LO + 1) | 0;
    a[6] = (sLo + nP1Lo) | 0;
    a[7] = (~P1_HI + ((a[6] >>> 0) < (nP1Lo >>> 0) ? 1 : 0)) | 0;
  }

  private stripe(buf: Uint8Array, p: number): void {
    const a = this.acc;
    for (let j = 0; j < 8; j += 2) {
      round64(a[j], a[j + 1], read32(buf, p), read32(buf, p + 4));
      a[j] = R[0];
      a[j + 1] = R[1];
      p += 8;
    }
  }

  /** Hash bytes[start, end) next. */
  update(bytes: Uint8Array, start = 0, end = bytes.length): void {
    this.total += end - start;
    let p = start;
    if (this.tailLen > 0) {
      const n = Math.min(32 - this.tailLen, end - p);
      this.tail.set(bytes.subarray(p, p + n), this.tailLen);
      this.tailLen += n;
      p += n;
      if (this.tailLen < 32) return;
      this.stripe(this.tail, 0);
      this.tailLen = 0;
    }
    for (; p + 32 <= end; p += 32) this.stripe(bytes, p);
    this.tail.set(bytes.subarray(p, end), 0);
    this.tailLen = end - p;
  }

  /** The hash of everything given so far: out[2·outIndex] low 32 bits, out[2·outIndex + 1] high. */
  digest(out: HashIds, outIndex: number): void {
    let hLo: number;
    let hHi: number;
    if (this.total >= 32) {
      const a = this.acc;
      const rot = (lo: number, hi: number, r: number): [number, number] => [(lo << r) | (hi >>> (32 - r)), (hi << r) | (lo >>> (32 - r))];
      hLo = 0;
      hHi = 0;
      const parts = [rot(a[0], a[1], 1), rot(a[2], a[3], 7), rot(a[4], a[5], 12), rot(a[6], a[7], 18)];
      for (const [lo, hi] of parts) {
        const sum = (hLo + lo) | 0;
        hHi = (hHi + hi + ((sum >>> 0) < (hLo >>> 0) ? 1 : 0)) | 0;
        hLo = sum;
      }
      for (let j = 0; j < 8; j += 2) {
        mergeRound(hLo, hHi, a[j], a[j + 1]);
        hLo = R[0];
        hHi = R[1];
      }
    } else {
      hLo = ((this.seed | 0) + P5_LO) | 0;
      hHi = (P5_HI + ((hLo >>> 0) < (P5_LO >>> 0) ? 1 : 0)) | 0;
    }
    // h += total length (64-bit)
    const lenLo = this.total % 2 ** 32 | 0;
    const lenHi = Math.floor(this.total / 2 ** 32) | 0;
    const lo = (hLo + lenLo) | 0;
    hHi = (hHi + lenHi + ((lo >>> 0) < (hLo >>> 0) ? 1 : 0)) | 0;
    finish(this.tail, 0, this.tailLen, lo, hHi, out, outIndex);
  }
}
