// 64-bit integer helpers on (lo, hi) u32 halves for the baseline indexers: h mod R, floor(h / m), and the
// splitmix64 finalizer used by double hashing. Exact with doubles because every intermediate stays < 2^53.
// No BigInt and no allocation; results that are 64 bits wide go into a caller's Uint32Array.

/**
 * h mod r for h = hi·2^32 + lo, 1 ≤ r ≤ 2^32. Three exact steps over 16-bit digits:
 *   r1 = hi mod r;  r2 = (r1·2^16 + (lo >>> 16)) mod r;  h mod r = (r2·2^16 + (lo & 0xffff)) mod r
 * Each left operand is < r·2^16 ≤ 2^48, exact in a double.
 */
export function mod64(lo: number, hi: number, r: number): number {
  const r1 = (hi >>> 0) % r;
  const r2 = (r1 * 65536 + (lo >>> 16)) % r;
  return (r2 * 65536 + (lo & 0xffff)) % r;
}

/**
 * floor(h / m) for 1 ≤ m ≤ 2^31, by long division over four 16-bit digits (each partial dividend < m·2^16 ≤ 2^47).
 * Writes the quotient's low and high words to out[0], out[1]; returns h mod m.
 */
export function divmod64(lo: number, hi: number, m: number, out: Uint32Array): number {
  let r = 0;
  let x = hi >>> 16;
  const q3 = Math.floor(x / m);
  r = x - q3 * m;
  x = r * 65536 + (hi & 0xffff);
  const q2 = Math.floor(x / m);
  r = x - q2 * m;
  x = r * 65536 + (lo >>> 16);
  const q1 = Math.floor(x / m);
  r = x - q1 * m;
  x = r * 65536 + (lo & 0xffff);
  const q0 = Math.floor(x / m);
  r = x - q0 * m;
  out[0] = q1 * 65536 + q0;
  out[1] = q3 * 65536 + q2;
  return r;
}

// Result register of mul64 here: a typed array, because a u32 ≥ 2^31 stored in a module-level `let` is boxed.
const M = new Int32Array(2);

/**
 * (aHi:aLo)·(bHi:bLo) mod 2^64 → out[0] (low word), out[1] (high word), both as int32. The high word of aLo·bLo
 * comes from 16-bit limbs, so every Math.imul is exact. Results leave through a typed array (never boxed); XXH64
 * (xxh64.ts) shares this multiply.
 */
export function mul64(aLo: number, aHi: number, bLo: number, bHi: number, out: Int32Array): void {
  const a0 = aLo & 0xffff;
  const a1 = aLo >>> 16;
  const b0 = bLo & 0xffff;
  const b1 = bLo >>> 16;
  const p00 = Math.imul(a0, b0);
  const p01 = Math.imul(a0, b1);
  const p10 = Math.imul(a1, b0);
  const mid = (p00 >>> 16) + (p01 & 0xffff) + (p10 & 0xffff);
  out[0] = (mid << 16) | (p00 & 0xffff);
  out[1] = (Math.imul(a1, b1) + (p01 >>> 16) + (p10 >>> 16) + (mid >>> 16) + Math.imul(aLo, bHi) + Math.imul(aHi, bLo)) | 0;
}

/** The splitmix64 increment γ = 0x9e3779b97f4a7c15. */
const GAMMA_LO = 0x7f4a7c15;
const GAMMA_HI = 0x9e3779b9 | 0;

/** s·γ mod 2^64 as [lo, hi]: the additive salt of mix64 for seed s (precompute once per seed). */
export function mix64Salt(seed: number): [number, number] {
  mul64(seed | 0, 0, GAMMA_LO, GAMMA_HI, M);
  return [M[0] >>> 0, M[1] >>> 0];
}

/**
 * The splitmix64 finalizer of z = h + salt (salt = seed·0x9e3779b97f4a7c15, from mix64Salt):
 *   z ^= z >> 30; z *= 0xbf58476d1ce4e5b9; z ^= z >> 27; z *= 0x94d049bb133111eb; z ^= z >> 31
 * A bijection on 64 bits. Writes out[2·outIndex] = lo, out[2·outIndex + 1] = hi.
 */
export function mix64(lo: number, hi: number, saltLo: number, saltHi: number, out: Uint32Array, outIndex: number): void {
  let zLo = (lo + saltLo) | 0;
  let zHi = (hi + saltHi + ((zLo >>> 0) < (lo >>> 0) ? 1 : 0)) | 0;
  // z ^= z >> 30
  zLo ^= (zLo >>> 30) | (zHi << 2);
  zHi ^= zHi >>> 30;
  mul64(zLo, zHi, 0x1ce4e5b9, 0xbf58476d | 0, M);
  // z ^= z >> 27
  zLo = M[0] ^ ((M[0] >>> 27) | (M[1] << 5));
  zHi = M[1] ^ (M[1] >>> 27);
  mul64(zLo, zHi, 0x133111eb, 0x94d049bb | 0, M);
  // z ^= z >> 31
  out[2 * outIndex] = M[0] ^ ((M[0] >>> 31) | (M[1] << 1));
  out[2 * outIndex + 1] = M[1] ^ (M[1] >>> 31);
}
