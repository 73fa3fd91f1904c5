// Byte-level token helpers shared by the text parsers: integers and floats straight from the line buffer, label
// checks, and short quoted excerpts for error messages. No string is built on the success path of parseIntBytes.

import { xxh64Bytes } from '../hash/xxh64.js';

const DECODER = new TextDecoder('utf-8', { fatal: false });

/** The token as text for a message, quoted and cut to 40 characters. */
export function quote(buf: Uint8Array, s: number, e: number): string {
  const t = DECODER.decode(buf.subarray(s, Math.min(e, s + 160)));
  return `'${t.length > 40 ? t.slice(0, 40) + '…' : t}'`;
}

export function tokenString(buf: Uint8Array, s: number, e: number): string {
  return DECODER.decode(buf.subarray(s, e));
}

/** Decimal integer [+-]?[0-9]+ → number, NaN when not one. */
export function parseIntBytes(buf: Uint8Array, s: number, e: number): number {
  let neg = false;
  if (s < e && (buf[s] === 45 || buf[s] === 43)) {
    neg = buf[s] === 45;
    s++;
  }
  if (s >= e) return NaN;
  let v = 0;
  for (let i = s; i < e; i++) {
    const d = buf[i] - 48;
    if (d < 0 || d > 9) return NaN;
    v = v * 10 + d;
  }
  return neg ? -v : v;
}

/** Largest finite float32: dense inputs are stored as float32, so a larger value would become Infinity. */
export const FLOAT32_MAX = 3.4028234663852886e38;

const FLOAT_RE = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;

/** A finite decimal number (integers, decimals, exponents; no hex, no inf/nan) → number, NaN when not one. */
export function parseFloatBytes(buf: Uint8Array, s: number, e: number): number {
  const i = parseIntBytes(buf, s, e);
  if (!Number.isNaN(i)) return i;
  if (e - s > 64) return NaN;
  let t = '';
  for (let k = s; k < e; k++) t += String.fromCharCode(buf[k]);
  if (!FLOAT_RE.test(t)) return NaN;
  return Number(t);
}

/** '0' → 0, '1' → 1, anything else → -1. */
export function label01(buf: Uint8Array, s: number, e: number): number {
  if (e - s === 1) {
    const c = buf[s];
    if (c === 48) return 0;
    if (c === 49) return 1;
  }
  return -1;
}

/**
 * Hash ids of small integers as decimal strings, per seed, precomputed: the Criteo integer features and any
 * bucketized numeric column map to a few hundred distinct categories, so this removes their hashing cost.
 */
export class IntIdCache {
  readonly lo: number;
  readonly hi: number;
  private readonly ids: Uint32Array;
  private readonly seeds: number;
  private readonly scratch = new Uint8Array(32);

  constructor(seeds: readonly number[], lo = -64, hi = 1024) {
    this.lo = lo;
    this.hi = hi;
    this.seeds = seeds.length;
    const span = hi - lo;
    this.ids = new Uint32Array(2 * span * seeds.length);
    for (let k = 0; k < seeds.length; k++) {
      for (let v = lo; v < hi; v++) this.hashInt(v, seeds[k], this.ids, k * span + (v - lo));
    }
  }

  /** XXH64 of String(v) with seed into out[2·outIndex..]. */
  hashInt(v: number, seed: number, out: Uint32Array, outIndex: number): void {
    const s = String(v);
    const n = s.length;
    for (let i = 0; i < n; i++) this.scratch[i] = s.charCodeAt(i);
    xxh64Bytes(this.scratch, 0, n, seed, out, outIndex);
  }

  /** Id of integer v for the k-th seed given to the constructor (cached when lo ≤ v < hi). */
  write(k: number, seed: number, v: number, out: Uint32Array, outIndex: number): void {
    if (v >= this.lo && v < this.hi && k < this.seeds) {
      const src = 2 * (k * (this.hi - this.lo) + (v - this.lo));
      out[2 * outIndex] = this.ids[src];
      out[2 * outIndex + 1] = this.ids[src + 1];
    } else {
      this.hashInt(v, seed, out, outIndex);
    }
  }
}

const SMALL_BUCKETS = new Uint8Array(1 << 16);
for (let v = 0; v < SMALL_BUCKETS.length; v++) SMALL_BUCKETS[v] = v > 2 ? lnSquaredFloor(v) : v;

function lnSquaredFloor(v: number): number {
  const l = Math.log(v);
  return Math.floor(l * l);
}

/** Criteo's integer-to-category rule (Juan et al.'s FFM winning solution): v > 2 → floor(ln(v)²), else v. */
export function logSquaredBucket(v: number): number {
  if (v >= 0 && v < 65536 && v === Math.floor(v)) return SMALL_BUCKETS[v];
  return v > 2 ? lnSquaredFloor(v) : v;
}

/**
 * A direct-mapped memo of XXH64 for short tokens (≤ 8 bytes), one table per field. Categorical columns are
 * Zipf-distributed, so most tokens repeat and skip the 64-bit multiply chain; a miss costs one probe. Results
 * are identical to xxh64Bytes: the table stores the token bytes and length and is only a cache.
 */
export class ShortTokenCache {
  private readonly bits: number;
  private readonly mask: number;
  /** Per entry: w0, w1, len + 1 (0 = empty), idLo, idHi. */
  private readonly table: Uint32Array;
  /** Per field: lookups and hits in the current window, and lookups left while bypassed. */
  private readonly lookups: Int32Array;
  private readonly hits: Int32Array;
  private readonly bypass: Int32Array;

  constructor(fields: number, bits = 12) {
    this.bits = bits;
    this.mask = (1 << bits) - 1;
    this.table = new Uint32Array((5 * fields) << bits);
    this.lookups = new Int32Array(fields);
    this.hits = new Int32Array(fields);
    this.bypass = new Int32Array(fields);
  }

  /** XXH64(buf[s, e), seed = f) into out[2·outIndex..], for any token length. */
  hash(buf: Uint8Array, s: number, e: number, f: number, out: Uint32Array, outIndex: number): void {
    const len = e - s;
    if (len > 8) {
      xxh64Bytes(buf, s, e, f, out, outIndex);
      return;
    }
    // A field whose values rarely repeat (hit rate < 1/4 over 65536 lookups) skips the memo for 2^20 lookups.
    if (this.bypass[f] > 0) {
      this.bypass[f]--;
      xxh64Bytes(buf, s, e, f, out, outIndex);
      return;
    }
    if (++this.lookups[f] === 65536) {
      if (this.hits[f] < 16384) this.bypass[f] = 1 << 20;
      this.lookups[f] = 0;
      this.hits[f] = 0;
    }
    let w0 = 0;
    let w1 = 0;
    if (len === 8) {
      w0 = (buf[s] | (buf[s + 1] << 8) | (buf[s + 2] << 16) | (buf[s + 3] << 24)) >>> 0;
      w1 = (buf[s + 4] | (buf[s + 5] << 8) | (buf[s + 6] << 16) | (buf[s + 7] << 24)) >>> 0;
    } else {
      for (let i = 0; i < len; i++) {
        if (i < 4) w0 |= buf[s + i] << (8 * i);
        else w1 |= buf[s + i] << (8 * (i - 4));
      }
      w0 >>>= 0;
      w1 >>>= 0;
    }
    const slot = (f << this.bits) + ((Math.imul(w0 ^ Math.imul(w1 ^ len, 0x9e3779b1), 0x85ebca6b) >>> (32 - this.bits)) & this.mask);
    const t = this.table;
    const p = 5 * slot;
    if (t[p] === w0 && t[p + 1] === w1 && t[p + 2] === len + 1) {
      this.hits[f]++;
      out[2 * outIndex] = t[p + 3];
      out[2 * outIndex + 1] = t[p + 4];
      return;
    }
    xxh64Bytes(buf, s, e, f, out, outIndex);
    t[p] = w0;
    t[p + 1] = w1;
    t[p + 2] = len + 1;
    t[p + 3] = out[2 * outIndex];
    t[p + 4] = out[2 * outIndex + 1];
  }
}

/** Category index of v among ascending boundaries: the number of boundaries ≤ v. */
export function bucketIndex(v: number, boundaries: readonly number[]): number {
  let lo = 0;
  let hi = boundaries.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (boundaries[mid] <= v) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
