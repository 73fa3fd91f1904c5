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
  if (dim === 1) {
    for (let c = 0; c < n; c++) dst[c] = src[rows[c]];
    return;
  }
  for (let c = 0, o = 0; c < n; c++, o += dim) {
    const s = rows[c] * dim;
    for (let j = 0; j < dim; j++) dst[o + j] = src[s + j];
  }
}

/** dst[rows[c]·dim …] = src[c·dim …] for c < n (the inverse of gatherRows). */
export function scatterRows(src: Float32Array, dim: number, rows: Int32Array, n: number, dst: Float32Array): void {
  if (dim === 1) {
    for (let c = 0; c < n; c++) dst[rows[c]] = src[c];
    return;
  }
  for (let c = 0, o = 0; c < n; c++, o += dim) {
    const s = rows[c] * dim;
    for (let j = 0; j < dim; j++) dst[s + j] = src[o + j];
  }
}
