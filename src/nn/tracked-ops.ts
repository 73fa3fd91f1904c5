// An Ops that records what it allocates, so a model can give all of its backend memory back (WASM memory is a
// bump allocator: without free, a sweep that builds many models would exhaust it). Every kernel call forwards
// unchanged to the wrapped backend; only allocF32/allocI32/free are intercepted.

import type { FusedBag, FusedBagField } from '../kernels/fused-bag.js';
import type { BackendName, Ops } from '../kernels/ops.js';
import type { RowState, RowStateShared } from '../kernels/row-state.js';

export class TrackedOps implements Ops {
  readonly name: BackendName;
  readonly inner: Ops;
  private readonly live = new Set<Float32Array | Int32Array>();

  constructor(inner: Ops) {
    this.inner = inner;
    this.name = inner.name;
  }

  allocF32(n: number): Float32Array {
    const a = this.inner.allocF32(n);
    this.live.add(a);
    return a;
  }

  allocI32(n: number): Int32Array {
    const a = this.inner.allocI32(n);
    this.live.add(a);
    return a;
  }

  free(a: Float32Array | Int32Array): void {
    if (this.live.delete(a)) this.inner.free(a);
  }

  /** Free everything still allocated through this wrapper; returns how many arrays were released. */
  releaseAll(): number {
    const n = this.live.size;
    for (const a of this.live) this.inner.free(a);
    this.live.clear();
    return n;
  }

  /** Arrays currently allocated through this wrapper. */
  get liveCount(): number {
    return this.live.size;
  }

  gemm(transA: boolean, transB: boolean, m: number, n: number, k: number, alpha: number, a: Float32Array, b: Float32Array, beta: number, c: Float32Array): void {
    this.inner.gemm(transA, transB, m, n, k, alpha, a, b, beta, c);
  }

  addRowVector(y: Float32Array, v: Float32Array, m: number, n: number): void {
    this.inner.addRowVector(y, v, m, n);
  }

  sumRows(x: Float32Array, m: number, n: number, out: Float32Array, accumulate: boolean): void {
    this.inner.sumRows(x, m, n, out, accumulate);
  }

  relu(x: Float32Array, y: Float32Array, n: number): void {
    this.inner.relu(x, y, n);
  }

  reluBackward(y: Float32Array, dy: Float32Array, dx: Float32Array, n: number): void {
    this.inner.reluBackward(y, dy, dx, n);
  }

  sigmoid(x: Float32Array, y: Float32Array, n: number): void {
    this.inner.sigmoid(x, y, n);
  }

  mul(a: Float32Array, b: Float32Array, out: Float32Array, n: number): void {
    this.inner.mul(a, b, out, n);
  }

  axpy(alpha: number, x: Float32Array, y: Float32Array, n: number): void {
    this.inner.axpy(alpha, x, y, n);
  }

  dropoutMask(mask: Float32Array, n: number, p: number, seed: number): void {
    this.inner.dropoutMask(mask, n, p, seed);
  }

  bceWithLogits(logits: Float32Array, labels: Float32Array, n: number, dlogits: Float32Array, scale: number): number {
    return this.inner.bceWithLogits(logits, labels, n, dlogits, scale);
  }

  batchNormTrain(x: Float32Array, m: number, n: number, gamma: Float32Array, beta: Float32Array, runMean: Float32Array, runVar: Float32Array, momentum: number, eps: number, y: Float32Array, saveMean: Float32Array, saveInvStd: Float32Array): void {
    this.inner.batchNormTrain(x, m, n, gamma, beta, runMean, runVar, momentum, eps, y, saveMean, saveInvStd);
  }

  batchNormInfer(x: Float32Array, m: number, n: number, gamma: Float32Array, beta: Float32Array, runMean: Float32Array, runVar: Float32Array, eps: number, y: Float32Array): void {
    this.inner.batchNormInfer(x, m, n, gamma, beta, runMean, runVar, eps, y);
  }

  batchNormBackward(x: Float32Array, dy: Float32Array, m: number, n: number, gamma: Float32Array, saveMean: Float32Array, saveInvStd: Float32Array, dx: Float32Array, dGamma: Float32Array, dBeta: Float32Array): void {
    this.inner.batchNormBackward(x, dy, m, n, gamma, saveMean, saveInvStd, dx, dGamma, dBeta);
  }

  embeddingBagForward(table: Float32Array, dim: number, rows: Int32Array, offsets: Int32Array, nSeg: number, weights: Float32Array | null, mean: boolean, out: Float32Array): void {
    this.inner.embeddingBagForward(table, dim, rows, offsets, nSeg, weights, mean, out);
  }

  /** The backend's fused inference bag (undefined when it has none), its memory tracked here. */
  fusedBag(fields: readonly FusedBagField[], maxBatch: number): FusedBag | undefined {
    return this.inner.fusedBag?.(fields, maxBatch, this);
  }

  embeddingBagBackward(dOut: Float32Array, dim: number, rows: Int32Array, offsets: Int32Array, nSeg: number, weights: Float32Array | null, mean: boolean, slot: Int32Array, uniqueRows: Int32Array, gradRows: Float32Array): number {
    return this.inner.embeddingBagBackward(dOut, dim, rows, offsets, nSeg, weights, mean, slot, uniqueRows, gradRows);
  }

  embeddingBagWeightGrad(dOut: Float32Array, table: Float32Array, dim: number, rows: Int32Array, offsets: Int32Array, nSeg: number, mean: boolean, dWeights: Float32Array): void {
    this.inner.embeddingBagWeightGrad(dOut, table, dim, rows, offsets, nSeg, mean, dWeights);
  }

  sparseGradMerge(dim: number, rows: Int32Array, grad: Float32Array, u: number, mod: number, rem: number, slot: Int32Array, outRows: Int32Array, outGrad: Float32Array, count: number): number {
    return this.inner.sparseGradMerge(dim, rows, grad, u, mod, rem, slot, outRows, outGrad, count);
  }

  bhRows(ids: Int32Array, n: number, blocks: Int32Array, K: number, out: Int32Array, outStride: number, outOffset: number): void {
    this.inner.bhRows(ids, n, blocks, K, out, outStride, outOffset);
  }

  sparseSgd(table: Float32Array, dim: number, rows: Int32Array, u: number, grad: Float32Array, lr: number, l2: number): void {
    this.inner.sparseSgd(table, dim, rows, u, grad, lr, l2);
  }

  sparseAdagrad(table: Float32Array, acc: Float32Array, dim: number, rows: Int32Array, u: number, grad: Float32Array, lr: number, l2: number, eps: number): void {
    this.inner.sparseAdagrad(table, acc, dim, rows, u, grad, lr, l2, eps);
  }

  sparseAdam(table: Float32Array, m: Float32Array, v: Float32Array, dim: number, rows: Int32Array, u: number, grad: Float32Array, lr: number, beta1: number, beta2: number, eps: number, l2: number, step: number): void {
    this.inner.sparseAdam(table, m, v, dim, rows, u, grad, lr, beta1, beta2, eps, l2, step);
  }

  /** The backend's sharded optimizer state (null when it has none or the state fits), its staging tracked here. */
  rowState(numRows: number, dim: number, arrays: 1 | 2, attach?: RowStateShared): RowState | null {
    return this.inner.rowState?.(numRows, dim, arrays, attach, this) ?? null;
  }

  /** See Ops.tableOutside (false when the backend has no such notion). */
  tableOutside(bytes: number): boolean {
    return this.inner.tableOutside?.(bytes) ?? false;
  }

  /** See Ops.holds (true when the backend cannot tell: every array is its own). */
  holds(a: Float32Array | Int32Array): boolean {
    return this.inner.holds?.(a) ?? true;
  }

  adam(w: Float32Array, g: Float32Array, m: Float32Array, v: Float32Array, n: number, lr: number, beta1: number, beta2: number, eps: number, wd: number, step: number): void {
    this.inner.adam(w, g, m, v, n, lr, beta1, beta2, eps, wd, step);
  }

  fmForward(x: Float32Array, b: number, f: number, d: number, out: Float32Array): void {
    this.inner.fmForward(x, b, f, d, out);
  }

  fmBackward(x: Float32Array, dOut: Float32Array, b: number, f: number, d: number, dx: Float32Array): void {
    this.inner.fmBackward(x, dOut, b, f, d, dx);
  }

  crossForward(x0: Float32Array, u: Float32Array, xl: Float32Array, out: Float32Array, n: number): void {
    this.inner.crossForward(x0, u, xl, out, n);
  }

  crossBackward(x0: Float32Array, u: Float32Array, dOut: Float32Array, dU: Float32Array, dX0: Float32Array, n: number): void {
    this.inner.crossBackward(x0, u, dOut, dU, dX0, n);
  }
}
