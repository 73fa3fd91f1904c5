// Shared test harness for backend-vs-reference checks: twin arrays (one in the backend under test, one plain)
// filled from a seeded Rng, NaN poisoning of outputs, and an allclose that names the first bad index.

import assert from 'node:assert/strict';
import { Rng } from '../../src/core/rng.js';
import type { Ops } from '../../src/kernels/ops.js';

export interface TwinF32 {
  t: Float32Array; // in the backend under test
  r: Float32Array; // plain, for ReferenceOps
}
export interface TwinI32 {
  t: Int32Array;
  r: Int32Array;
}

export class Twins {
  readonly rng: Rng;
  constructor(readonly ops: Ops, seed: number) {
    this.rng = new Rng(seed);
  }

  f32(n: number, fill: (i: number) => number = () => this.rng.normal()): TwinF32 {
    const t = this.ops.allocF32(n);
    const r = new Float32Array(n);
    for (let i = 0; i < n; i++) t[i] = r[i] = fill(i);
    return { t, r };
  }

  i32(values: ArrayLike<number>): TwinI32 {
    const t = this.ops.allocI32(values.length);
    const r = new Int32Array(values.length);
    for (let i = 0; i < values.length; i++) t[i] = r[i] = values[i];
    return { t, r };
  }

  /** An output both sides must overwrite: NaN everywhere. */
  poisoned(n: number): TwinF32 {
    return this.f32(n, () => NaN);
  }

  /** Segment offsets for nSeg bags with lengths in [0, maxLen] (some empty), rows drawn from a small range so duplicates occur. */
  bags(nSeg: number, maxLen: number, numRows: number): { offsets: number[]; rows: number[] } {
    const offsets = [0];
    const rows: number[] = [];
    for (let s = 0; s < nSeg; s++) {
      const len = s % 5 === 3 ? 0 : this.rng.int(maxLen + 1);
      for (let i = 0; i < len; i++) rows.push(this.rng.int(numRows));
      offsets.push(rows.length);
    }
    return { offsets, rows };
  }
}

/** |actual − expected| ≤ atol + rtol·|expected| elementwise; NaN anywhere fails. */
export function assertClose(actual: ArrayLike<number>, expected: ArrayLike<number>, atol: number, rtol: number, label: string, n = expected.length): void {
  assert.ok(actual.length >= n, `${label}: length ${actual.length} < ${n}`);
  for (let i = 0; i < n; i++) {
    const a = actual[i];
    const e = expected[i];
    if (!(Math.abs(a - e) <= atol + rtol * Math.abs(e))) {
      assert.fail(`${label}[${i}]: got ${a}, expected ${e} (atol ${atol}, rtol ${rtol}, n ${n})`);
    }
  }
}

export function assertEqualArrays(actual: ArrayLike<number>, expected: ArrayLike<number>, label: string, n = expected.length): void {
  for (let i = 0; i < n; i++) {
    if (!Object.is(actual[i], expected[i])) assert.fail(`${label}[${i}]: got ${actual[i]}, expected ${expected[i]}`);
  }
}

/** GEMM agreement: max |actual − expected| ≤ tol · max |expected| (normwise relative error, insensitive to near-zero entries). */
export function assertNormwiseClose(actual: ArrayLike<number>, expected: ArrayLike<number>, tol: number, label: string): number {
  let scale = 0;
  for (let i = 0; i < expected.length; i++) scale = Math.max(scale, Math.abs(expected[i]));
  let worst = 0;
  for (let i = 0; i < expected.length; i++) {
    const d = Math.abs(actual[i] - expected[i]);
    if (!(d <= tol * scale)) assert.fail(`${label}[${i}]: got ${actual[i]}, expected ${expected[i]} (tolerance ${tol} × ${scale})`);
    worst = Math.max(worst, d);
  }
  return scale === 0 ? worst : worst / scale;
}
