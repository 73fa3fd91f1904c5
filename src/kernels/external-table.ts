// Embedding tables (and their optimizer state) kept OUTSIDE the backend's memory: a wasm32 memory stops at 4 GiB,
// a full Criteo Kaggle table at dim 32 is 4.3 GB (Adam adds 8.7 GB). Such a table is one SharedArrayBuffer of any
// size RAM allows (threads share it as they share the WASM memory); the kernels never read it. Each step copies the
// rows it needs into the backend's memory and back:
//
//   layout rows (global) ──remap──▶ local rows 0…u−1 (first-touch order)     nn/compact-rows.ts
//   table[uniq[c]] ──gatherRows──▶ working table (u × dim, WASM memory) ──▶ forward / backward kernels unchanged
//   optimizer:  table, state rows ──gatherRows──▶ staging ──sparse kernel (rows 0…u−1)──▶ scatterRows back
//
// Every kernel then runs the same float32 operations on the same values as with the table in the main memory, so
// training is bit-identical. Copies between two memories go through JS in any design (a wasm32 instance sees one
// memory); with the table outside, one JS pass per direction suffices (no staging in shard memories).

import { ConfigError } from '../core/errors.js';

/**
 * A zeroed float array outside any backend memory (SharedArrayBuffer: worker threads attach to it). Too large for
 * this machine: a ConfigError naming the size.
 */
export function allocExternalF32(n: number, what: string): Float32Array {
  const bytes = 4 * n;
  try {
    return new Float32Array(new SharedArrayBuffer(bytes));
  } catch (e) {
    const gib = (bytes / 2 ** 30).toFixed(2);
    throw new ConfigError(`${what}: ${gib} GiB could not be allocated (${(e as Error).message}); the machine's memory is the limit for tables outside WASM memory: lower dim, use a compressed embedding, or add RAM`, { value: bytes });
  }
}

/** dst[c·dim …] = src[rows[c]·dim …] for c < n (rows of a big table into a compact one). */
export function gatherRows(src: Float32Array, dim: number, rows: Int32Array, n: number, dst: Float32Array): void {
  copyRows([src], [dst], dim, rows, n, true);
}

/** dst[rows[c]·dim …] = src[c·dim …] for c < n (the inverse of gatherRows). */
export function scatterRows(src: Float32Array, dim: number, rows: Int32Array, n: number, dst: Float32Array): void {
  copyRows([src], [dst], dim, rows, n, false);
}

/**
 * gatherRows (gather) or scatterRows for one to three arrays at once (a table and its optimizer state: one pass
 * keeps several rows' memory reads in flight). Even rows are copied as float64 pairs (about 2.5× faster than float32
 * elements in V8); the bits are the same, except that a pair whose upper float is NaN may come back with the
 * lower float zeroed (a NaN float64 may be canonicalized), which only a diverged table holds.
 */
export function copyRows(big: Float32Array[], compact: Float32Array[], dim: number, rows: Int32Array, n: number, gather: boolean): void {
  const k = big.length;
  if (k === 0 || n === 0) return;
  const wide = dim % 2 === 0 && big.every((a) => a.byteOffset % 8 === 0) && compact.every((a) => a.byteOffset % 8 === 0);
  if (!wide) {
    for (let a = 0; a < k; a++) copyOne(big[a], compact[a], dim, rows, n, gather);
    return;
  }
  const h = dim / 2;
  const b = big.map((a) => new Float64Array(a.buffer, a.byteOffset, a.length / 2));
  const c = compact.map((a) => new Float64Array(a.buffer, a.byteOffset, Math.floor(a.length / 2)));
  let a = 0;
  for (; a + 1 < k; a += 2) copyTwo(b[a], b[a + 1], c[a], c[a + 1], h, rows, n, gather);
  if (a < k) copyWide(b[a], c[a], h, rows, n, gather);
}

// Three copies of one loop, each kept monomorphic (float32 elements, float64 pairs, two float64 arrays at once).
function copyOne(big: Float32Array, compact: Float32Array, w: number, rows: Int32Array, n: number, gather: boolean): void {
  if (gather) {
    for (let r = 0, o = 0; r < n; r++, o += w) {
      const s = rows[r] * w;
      for (let j = 0; j < w; j++) compact[o + j] = big[s + j];
    }
  } else {
    for (let r = 0, o = 0; r < n; r++, o += w) {
      const s = rows[r] * w;
      for (let j = 0; j < w; j++) big[s + j] = compact[o + j];
    }
  }
}

function copyWide(big: Float64Array, compact: Float64Array, w: number, rows: Int32Array, n: number, gather: boolean): void {
  if (gather) {
    for (let r = 0, o = 0; r < n; r++, o += w) {
      const s = rows[r] * w;
      for (let j = 0; j < w; j++) compact[o + j] = big[s + j];
    }
  } else {
    for (let r = 0, o = 0; r < n; r++, o += w) {
      const s = rows[r] * w;
      for (let j = 0; j < w; j++) big[s + j] = compact[o + j];
    }
  }
}
function copyTwo(b0: Float64Array, b1: Float64Array, c0: Float64Array, c1: Float64Array, w: number, rows: Int32Array, n: number, gather: boolean): void {
  if (gather) {
    for (let r = 0, o = 0; r < n; r++, o += w) {
      const s = rows[r] * w;
      for (let j = 0; j < w; j++) {
        c0[o + j] = b0[s + j];
        c1[o + j] = b1[s + j];
      }
    }
  } else {
    for (let r = 0, o = 0; r < n; r++, o += w) {
      const s = rows[r] * w;
      for (let j = 0; j < w; j++) {
        b0[s + j] = c0[o + j];
        b1[s + j] = c1[o + j];
      }
    }
  }
}
