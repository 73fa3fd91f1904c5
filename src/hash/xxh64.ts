// XXH64 (Yann Collet's xxHash, 64-bit variant) in pure TypeScript with 32-bit arithmetic: every categorical
// value becomes a 64-bit hash id (HashIds, src/core/ids.ts) through this file. No BigInt and no allocation on
// the hot path; results leave through two module-level registers (R_LO, R_HI) written by the helpers below.

import type { HashIds } from '../core/ids.js';

// The five 64-bit primes of XXH64, split into 32-bit halves.
const P1_LO = 0x85ebca87;
const P1_HI = 0x9e3779b1;
const P2_LO = 0x27d4eb4f;
const P2_HI = 0xc2b2ae3d;
const P3_LO = 0x9e3779f9;
const P3_HI = 0x165667b1;
const P4_LO = 0xc2b2ae63;
const P4_HI = 0x85ebca77;
const P5_LO = 0x165667c5;
const P5_HI = 0x27d4eb2f;

// Result registers of mul64 / round64 (read right after the call).
let R_LO = 0;
let R_HI = 0;

/** (aHi:aLo) · (bHi:bLo) mod 2^64 → R_LO, R_HI. The low 32×32 product is split into 16-bit limbs so every partial product is an exact double. */
function mul64(aLo: number, aHi: number, bLo: number, bHi: number): void {
  const a0 = aLo & 0xffff;
  const a1 = aLo >>> 16;
  const b0 = bLo & 0xffff;
  const b1 = bLo >>> 16;
  const p00 = a0 * b0;
  const p01 = a0 * b1;
  const p10 = a1 * b0;
  const p11 = a1 * b1;
  const mid = (p00 >>> 16) + (p01 & 0xffff) + (p10 & 0xffff);
  R_LO = ((mid << 16) | (p00 & 0xffff)) >>> 0;
  const hi = p11 + (p01 >>> 16) + (p10 >>> 16) + (mid >>> 16);
  R_HI = (hi + Math.imul(aLo, bHi) + Math.imul(aHi, bLo)) >>> 0;
}

/** XXH64_round: acc = rotl(acc + input·P2, 31)·P1 → R_LO, R_HI. */
function round64(accLo: number, accHi: number, inLo: number, inHi: number): void {
  mul64(inLo, inHi, P2_LO, P2_HI);
  let lo = accLo + R_LO;
  const hi = (accHi + R_HI + (lo > 0xffffffff ? 1 : 0)) >>> 0;
  lo >>>= 0;
  // rotl 31
  const rLo = ((lo << 31) | (hi >>> 1)) >>> 0;
  const rHi = ((hi << 31) | (lo >>> 1)) >>> 0;
  mul64(rLo, rHi, P1_LO, P1_HI);
}

/** XXH64_mergeRound: h = (h ^ round(0, v))·P1 + P4 → R_LO, R_HI. */
function mergeRound(hLo: number, hHi: number, vLo: number, vHi: number): void {
  round64(0, 0, vLo, vHi);
  mul64((hLo ^ R_LO) >>> 0, (hHi ^ R_HI) >>> 0, P1_LO, P1_HI);
  const lo = R_LO + P4_LO;
  R_HI = (R_HI + P4_HI + (lo > 0xffffffff ? 1 : 0)) >>> 0;
  R_LO = lo >>> 0;
}

function read32(b: Uint8Array, p: number): number {
  return (b[p] | (b[p + 1] << 8) | (b[p + 2] << 16) | (b[p + 3] << 24)) >>> 0;
}

/**
 * XXH64 of buf[start, end) with a seed in [0, 2^32) (bhembed uses the field index), written as
 * out[2·outIndex] = low 32 bits, out[2·outIndex + 1] = high 32 bits. Allocates nothing.
 *
 * @example
 *   const out = new Uint32Array(2);
 *   xxh64Bytes(new Uint8Array(0), 0, 0, 0, out, 0); // out = [0x3751d8e9... lo, 0xef46db37 hi] = XXH64("", 0)
 */
export function xxh64Bytes(buf: Uint8Array, start: number, end: number, seed: number, out: HashIds, outIndex: number): void {
  const len = end - start;
  const sLo = seed >>> 0;
  let p = start;
  let hLo: number;
  let hHi: number;
  if (len >= 32) {
    // v1 = seed + P1 + P2, v2 = seed + P2, v3 = seed, v4 = seed − P1 (all mod 2^64)
    let t = sLo + P1_LO;
    let v1Hi = P1_HI + (t > 0xffffffff ? 1 : 0);
    t >>>= 0;
    let v1Lo = t + P2_LO;
    v1Hi = (v1Hi + P2_HI + (v1Lo > 0xffffffff ? 1 : 0)) >>> 0;
    v1Lo >>>= 0;
    let v2Lo = sLo + P2_LO;
    let v2Hi = (P2_HI + (v2Lo > 0xffffffff ? 1 : 0)) >>> 0;
    v2Lo >>>= 0;
    let v3Lo = sLo;
    let v3Hi = 0;
    // −P1 = ~P1 + 1
    const nP1Lo = (~P1_LO + 1) >>> 0;
    const nP1Hi = (~P1_HI + (nP1Lo === 0 ? 1 : 0)) >>> 0;
    let v4Lo = sLo + nP1Lo;
    let v4Hi = (nP1Hi + (v4Lo > 0xffffffff ? 1 : 0)) >>> 0;
    v4Lo >>>= 0;
    const limit = end - 32;
    do {
      round64(v1Lo, v1Hi, read32(buf, p), read32(buf, p + 4));
      v1Lo = R_LO;
      v1Hi = R_HI;
      round64(v2Lo, v2Hi, read32(buf, p + 8), read32(buf, p + 12));
      v2Lo = R_LO;
      v2Hi = R_HI;
      round64(v3Lo, v3Hi, read32(buf, p + 16), read32(buf, p + 20));
      v3Lo = R_LO;
      v3Hi = R_HI;
      round64(v4Lo, v4Hi, read32(buf, p + 24), read32(buf, p + 28));
      v4Lo = R_LO;
      v4Hi = R_HI;
      p += 32;
    } while (p <= limit);
    // h = rotl(v1,1) + rotl(v2,7) + rotl(v3,12) + rotl(v4,18)
    let lo = ((v1Lo << 1) | (v1Hi >>> 31)) >>> 0;
    let hi = ((v1Hi << 1) | (v1Lo >>> 31)) >>> 0;
    let aLo = ((v2Lo << 7) | (v2Hi >>> 25)) >>> 0;
    let aHi = ((v2Hi << 7) | (v2Lo >>> 25)) >>> 0;
    lo += aLo;
    hi = (hi + aHi + (lo > 0xffffffff ? 1 : 0)) >>> 0;
    lo >>>= 0;
    aLo = ((v3Lo << 12) | (v3Hi >>> 20)) >>> 0;
    aHi = ((v3Hi << 12) | (v3Lo >>> 20)) >>> 0;
    lo += aLo;
    hi = (hi + aHi + (lo > 0xffffffff ? 1 : 0)) >>> 0;
    lo >>>= 0;
    aLo = ((v4Lo << 18) | (v4Hi >>> 14)) >>> 0;
    aHi = ((v4Hi << 18) | (v4Lo >>> 14)) >>> 0;
    lo += aLo;
    hi = (hi + aHi + (lo > 0xffffffff ? 1 : 0)) >>> 0;
    lo >>>= 0;
    mergeRound(lo, hi, v1Lo, v1Hi);
    mergeRound(R_LO, R_HI, v2Lo, v2Hi);
    mergeRound(R_LO, R_HI, v3Lo, v3Hi);
    mergeRound(R_LO, R_HI, v4Lo, v4Hi);
    hLo = R_LO;
    hHi = R_HI;
  } else {
    hLo = sLo + P5_LO;
    hHi = (P5_HI + (hLo > 0xffffffff ? 1 : 0)) >>> 0;
    hLo >>>= 0;
  }
  // h += len (len < 2^32 here: Uint8Array lengths are far below)
  hLo += len;
  hHi = (hHi + (hLo > 0xffffffff ? 1 : 0)) >>> 0;
  hLo >>>= 0;

  // 8-byte lanes: h ^= round(0, k); h = rotl(h, 27)·P1 + P4
  while (p + 8 <= end) {
    round64(0, 0, read32(buf, p), read32(buf, p + 4));
    const xLo = (hLo ^ R_LO) >>> 0;
    const xHi = (hHi ^ R_HI) >>> 0;
    mul64(((xLo << 27) | (xHi >>> 5)) >>> 0, ((xHi << 27) | (xLo >>> 5)) >>> 0, P1_LO, P1_HI);
    hLo = R_LO + P4_LO;
    hHi = (R_HI + P4_HI + (hLo > 0xffffffff ? 1 : 0)) >>> 0;
    hLo >>>= 0;
    p += 8;
  }
  // one 4-byte lane: h ^= u32·P1; h = rotl(h, 23)·P2 + P3
  if (p + 4 <= end) {
    mul64(read32(buf, p), 0, P1_LO, P1_HI);
    const xLo = (hLo ^ R_LO) >>> 0;
    const xHi = (hHi ^ R_HI) >>> 0;
    mul64(((xLo << 23) | (xHi >>> 9)) >>> 0, ((xHi << 23) | (xLo >>> 9)) >>> 0, P2_LO, P2_HI);
    hLo = R_LO + P3_LO;
    hHi = (R_HI + P3_HI + (hLo > 0xffffffff ? 1 : 0)) >>> 0;
    hLo >>>= 0;
    p += 4;
  }
  // trailing bytes: h ^= byte·P5; h = rotl(h, 11)·P1
  while (p < end) {
    mul64(buf[p], 0, P5_LO, P5_HI);
    const xLo = (hLo ^ R_LO) >>> 0;
    const xHi = (hHi ^ R_HI) >>> 0;
    mul64(((xLo << 11) | (xHi >>> 21)) >>> 0, ((xHi << 11) | (xLo >>> 21)) >>> 0, P1_LO, P1_HI);
    hLo = R_LO;
    hHi = R_HI;
    p++;
  }
  // avalanche: h ^= h >> 33; h *= P2; h ^= h >> 29; h *= P3; h ^= h >> 32
  hLo = (hLo ^ (hHi >>> 1)) >>> 0;
  mul64(hLo, hHi, P2_LO, P2_HI);
  hLo = (R_LO ^ ((R_LO >>> 29) | (R_HI << 3))) >>> 0;
  hHi = (R_HI ^ (R_HI >>> 29)) >>> 0;
  mul64(hLo, hHi, P3_LO, P3_HI);
  out[2 * outIndex] = (R_LO ^ R_HI) >>> 0;
  out[2 * outIndex + 1] = R_HI;
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
 * Hashes many strings with one reused, growable UTF-8 scratch buffer (no allocation per value).
 * ASCII strings are copied byte by byte; anything else goes through TextEncoder.encodeInto.
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

  /** UTF-8 encode s into the scratch buffer; returns the byte length. */
  private encode(s: string): number {
    const n = s.length;
    let buf = this.scratch;
    if (buf.length < 3 * n) {
      let cap = buf.length;
      while (cap < 3 * n) cap *= 2;
      buf = this.scratch = new Uint8Array(cap);
    }
    for (let i = 0; i < n; i++) {
      const c = s.charCodeAt(i);
      if (c >= 0x80) return ENCODER.encodeInto(s, buf).written;
      buf[i] = c;
    }
    return n;
  }
}
