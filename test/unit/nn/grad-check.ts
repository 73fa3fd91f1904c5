// Shared helpers for the finite-difference tests of nn/ and models/: central differences on float32 storage
// with the loss accumulated in float64, plus random batch generation. Not a test file itself.

import type { Batch } from '../../../src/core/batch.js';
import type { Rng } from '../../../src/core/rng.js';

/** Default tolerance: |analytic − numeric| ≤ ATOL + RTOL · max(|analytic|, |numeric|). */
export const ATOL = 2e-4;
export const RTOL = 2e-2;
/** Central-difference step on float32 parameters. */
export const EPS = 3e-3;

/** Central difference of loss() w.r.t. x[i] (x restored afterwards). */
export async function numGrad(loss: () => number | Promise<number>, x: Float32Array, i: number, eps = EPS): Promise<number> {
  const old = x[i];
  x[i] = old + eps;
  const up = await loss();
  x[i] = old - eps;
  const down = await loss();
  x[i] = old;
  // Use the float32 values actually stored, not the nominal eps.
  const h = Math.fround(old + eps) - Math.fround(old - eps);
  return (up - down) / h;
}

export function close(a: number, n: number, atol = ATOL, rtol = RTOL): boolean {
  return Math.abs(a - n) <= atol + rtol * Math.max(Math.abs(a), Math.abs(n));
}

/** Compare analytic grad[i] to the numeric one for each i in idx; returns the failures as strings. */
export async function checkEntries(
  name: string,
  loss: () => number | Promise<number>,
  x: Float32Array,
  grad: (i: number) => number,
  idx: Iterable<number>,
  atol = ATOL,
  rtol = RTOL,
  eps = EPS,
): Promise<string[]> {
  const bad: string[] = [];
  for (const i of idx) {
    const n = await numGrad(loss, x, i, eps);
    const a = grad(i);
    if (!close(a, n, atol, rtol)) bad.push(`${name}[${i}]: analytic ${a.toExponential(4)} numeric ${n.toExponential(4)}`);
  }
  return bad;
}

/** Up to k distinct indices in [0, n), always including 0 and n − 1. */
export function sampleIdx(rng: Rng, n: number, k: number): number[] {
  if (n <= k) return Array.from({ length: n }, (_, i) => i);
  const s = new Set<number>([0, n - 1]);
  while (s.size < k) s.add(rng.int(n));
  return [...s];
}

export function randn(rng: Rng, n: number, std = 1): Float32Array {
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = std * rng.normal();
  return a;
}

/** Σ c_i · y_i in float64: a loss whose gradient w.r.t. y is c. */
export function dot64(c: Float32Array, y: Float32Array, n: number): number {
  let s = 0;
  for (let i = 0; i < n; i++) s += c[i] * y[i];
  return s;
}

export interface FieldGen {
  /** Distinct values drawn (ids are 0..card−1 in the low word, random high word when hashed). */
  card: number;
  /** Max values per sample (multi-valued when set; 0..maxLen values). */
  maxLen?: number;
}

/** A random batch: ids are small integers (high word 0) so dense BH and hashing both apply. */
export function randomBatch(rng: Rng, B: number, fields: FieldGen[], numDense: number, posRate = 0.5): Batch {
  const labels = new Float32Array(B);
  for (let b = 0; b < B; b++) labels[b] = rng.next() < posRate ? 1 : 0;
  const fs = fields.map((g) => {
    if (g.maxLen === undefined) {
      const ids = new Uint32Array(2 * B);
      for (let b = 0; b < B; b++) ids[2 * b] = rng.int(g.card);
      return { ids, offsets: null };
    }
    const offsets = new Int32Array(B + 1);
    const vals: number[] = [];
    for (let b = 0; b < B; b++) {
      const len = rng.int(g.maxLen + 1);
      for (let k = 0; k < len; k++) vals.push(rng.int(g.card));
      offsets[b + 1] = vals.length;
    }
    const ids = new Uint32Array(2 * Math.max(1, vals.length));
    vals.forEach((v, i) => (ids[2 * i] = v));
    return { ids, offsets };
  });
  const dense = numDense > 0 ? randn(rng, B * numDense) : null;
  return { size: B, labels, fields: fs, dense };
}

/**
 * Like checkEntries, for functions with ReLU kinks (models with batch norm put many pre-activations near 0).
 * An entry passes when the analytic gradient matches the central difference, or — when the two one-sided
 * differences disagree beyond the tolerance, i.e. a kink lies within ±eps — when it matches one of them (same
 * tolerance; away from the kink a one-sided difference is exact up to O(eps·f'')). Those count in `kinks`.
 */
export async function checkEntriesKinks(
  name: string,
  loss: () => number | Promise<number>,
  x: Float32Array,
  grad: (i: number) => number,
  idx: Iterable<number>,
  eps = EPS,
): Promise<{ bad: string[]; kinks: number; checked: number }> {
  const bad: string[] = [];
  let kinks = 0;
  let checked = 0;
  for (const i of idx) {
    checked++;
    const old = x[i];
    const f0 = await loss();
    x[i] = old + eps;
    const hUp = Math.fround(old + eps) - old;
    const up = await loss();
    x[i] = old - eps;
    const hDown = old - Math.fround(old - eps);
    const down = await loss();
    x[i] = old;
    const central = (up - down) / (hUp + hDown);
    const a = grad(i);
    if (close(a, central)) continue;
    const sUp = (up - f0) / hUp;
    const sDown = (f0 - down) / hDown;
    if (!close(sUp, sDown) && (close(a, sUp) || close(a, sDown))) {
      kinks++;
      continue;
    }
    bad.push(`${name}[${i}]: analytic ${a.toExponential(4)} central ${central.toExponential(4)} one-sided ${sUp.toExponential(4)} / ${sDown.toExponential(4)}`);
  }
  return { bad, kinks, checked };
}
