// The list of compute ops. Each op keeps one name in three places: the AssemblyScript export
// (wasm/assembly/), the WASM wrapper (wasm.ts) and the plain-TypeScript reference (reference.ts).
// Layers (nn/) and optimizers call only this interface; they never see WASM or onnxruntime directly.
//
// Memory: every array passed to a backend must come from that backend's allocF32/allocI32 (for WASM they
// are views into its linear memory, shared between worker threads when threads > 1). All matrices are
// row-major float32. "n" is an element count; "m × n" a matrix with m rows of n columns.

import type { FusedBag, FusedBagAlloc, FusedBagField } from './fused-bag.js';
import type { InferPrecision } from './quantize.js';
import type { RowState, RowStateShared } from './row-state.js';

export type BackendName = 'reference' | 'wasm';

export interface Ops {
  readonly name: BackendName;

  // --- memory ---
  /** A zero-filled float32 array that this backend's kernels can read and write. */
  allocF32(n: number): Float32Array;
  /** A zero-filled int32 array that this backend's kernels can read and write. */
  allocI32(n: number): Int32Array;
  /** free: give back a whole array from allocF32/allocI32 (not a subarray); it must not be used afterwards. */
  free(a: Float32Array | Int32Array): void;

  // --- dense linear algebra ---
  /** gemm: C[m×n] = alpha · op(A) · op(B) + beta · C, op(A) is m×k (A stored k×m when transA), op(B) is k×n (B stored n×k when transB). beta = 0 ignores C's old contents (NaN included). */
  gemm(transA: boolean, transB: boolean, m: number, n: number, k: number, alpha: number, a: Float32Array, b: Float32Array, beta: number, c: Float32Array): void;
  /** addRowVector: y[i, j] += v[j] for an m × n matrix y. */
  addRowVector(y: Float32Array, v: Float32Array, m: number, n: number): void;
  /** sumRows: out[j] = (accumulate ? out[j] : 0) + Σ_i x[i, j] (bias gradients). */
  sumRows(x: Float32Array, m: number, n: number, out: Float32Array, accumulate: boolean): void;

  // --- elementwise ---
  /** relu: y = max(x, 0). y may alias x. */
  relu(x: Float32Array, y: Float32Array, n: number): void;
  /** reluBackward: dx = y > 0 ? dy : 0, with y the relu output. dx may alias dy. */
  reluBackward(y: Float32Array, dy: Float32Array, dx: Float32Array, n: number): void;
  /** sigmoid: y = 1 / (1 + e^-x). */
  sigmoid(x: Float32Array, y: Float32Array, n: number): void;
  /** mul: out = a ⊙ b. */
  mul(a: Float32Array, b: Float32Array, out: Float32Array, n: number): void;
  /** axpy: y += alpha · x. */
  axpy(alpha: number, x: Float32Array, y: Float32Array, n: number): void;
  /** dropoutMask: mask[i] = 1/(1-p) with probability 1-p else 0, from a counter-based stream keyed by seed. */
  //   (The stream is reference.ts dropoutUniform(seed, i); every backend produces the same mask bit for bit.)
  dropoutMask(mask: Float32Array, n: number, p: number, seed: number): void;

  // --- loss ---
  /** bceWithLogits: returns Σ_i loss_i (numerically stable); writes dlogits[i] = scale · (σ(z_i) − y_i). */
  bceWithLogits(logits: Float32Array, labels: Float32Array, n: number, dlogits: Float32Array, scale: number): number;

  // --- normalization ---
  /** batchNormTrain: per column j of x (m × n): batch mean/var, y = γ(x−μ)/√(var+eps) + β; updates running stats with momentum; saves μ and 1/√(var+eps). */
  //   (PyTorch convention: run ← (1 − momentum)·run + momentum·batch; y uses the biased variance, runVar the unbiased one.)
  batchNormTrain(x: Float32Array, m: number, n: number, gamma: Float32Array, beta: Float32Array, runMean: Float32Array, runVar: Float32Array, momentum: number, eps: number, y: Float32Array, saveMean: Float32Array, saveInvStd: Float32Array): void;
  /** batchNormInfer: y = γ(x − runMean)/√(runVar + eps) + β. */
  batchNormInfer(x: Float32Array, m: number, n: number, gamma: Float32Array, beta: Float32Array, runMean: Float32Array, runVar: Float32Array, eps: number, y: Float32Array): void;
  /** batchNormBackward: dx, and dGamma/dBeta accumulated (+=). */
  batchNormBackward(x: Float32Array, dy: Float32Array, m: number, n: number, gamma: Float32Array, saveMean: Float32Array, saveInvStd: Float32Array, dx: Float32Array, dGamma: Float32Array, dBeta: Float32Array): void;

  // --- embedding bag ---
  //   segment s covers rows[offsets[s] .. offsets[s+1])        (offsets has nSeg + 1 entries)
  //   out[s·dim .. s·dim+dim) = Σ_i w_i · table[rows[i]·dim ..]  (w_i = weights[i], or 1 when weights is null)
  //   mean divides by the segment's length (an empty segment gives zeros).
  //   Segments are laid out sample-major (sample b, field f) so `out` is the concatenated B × (F·dim) input.
  //   Concat fusion = one segment per block.
  /** embeddingBagForward: gather and fuse; see above. */
  embeddingBagForward(table: Float32Array, dim: number, rows: Int32Array, offsets: Int32Array, nSeg: number, weights: Float32Array | null, mean: boolean, out: Float32Array): void;
  /**
   * embeddingBagBackward: the gradient of each distinct row touched, duplicates merged.
   * Writes uniqueRows[0..u) (in first-touch order) and gradRows[u·dim] and returns u.
   * slot is scratch of numRows int32 that must be all −1 on entry; it is left all −1 on exit.
   */
  embeddingBagBackward(dOut: Float32Array, dim: number, rows: Int32Array, offsets: Int32Array, nSeg: number, weights: Float32Array | null, mean: boolean, slot: Int32Array, uniqueRows: Int32Array, gradRows: Float32Array): number;
  /** embeddingBagWeightGrad: dWeights[i] = ⟨dOut[seg(i)], table[rows[i]]⟩ (÷ segment length when mean), for learned per-block weights. */
  embeddingBagWeightGrad(dOut: Float32Array, table: Float32Array, dim: number, rows: Int32Array, offsets: Int32Array, nSeg: number, mean: boolean, dWeights: Float32Array): void;
  /**
   * fusedBag (optional, inference only): embeddingBagForward over single-valued, non-concat fields with each
   * field's rows computed inside the gather from the ids (BH) or given (other methods); see fused-bag.ts.
   * Same rows and additions in the same order as the index + layout + embeddingBagForward path. alloc: @default this
   */
  fusedBag?(fields: readonly FusedBagField[], maxBatch: number, alloc?: FusedBagAlloc): FusedBag | undefined;
  /**
   * sparseGradMerge: add one shard's row gradients (u rows, u × dim) into an accumulator, keeping only rows r with
   * ⌊r / 16⌋ mod `mod` = rem (the rows this thread owns: runs of 16 rows, whole cache lines of a 64-byte aligned
   * table). slot maps row → accumulator index (numRows int32, −1 = absent);
   * a new row takes index count (outRows[count] = r, its gradient copied), a known one is added to. Returns the
   * new count. slot stays set: the caller resets slot[outRows[i]] = −1 once done with the accumulator.
   */
  sparseGradMerge(dim: number, rows: Int32Array, grad: Float32Array, u: number, mod: number, rem: number, slot: Int32Array, outRows: Int32Array, outGrad: Float32Array, count: number): number;
  /**
   * bhRows: BH rows of n single-valued 64-bit ids (ids: n (lo, hi) pairs as int32) for the K blocks in `blocks` (3
   * int32 per block: start bit, mask 2^w − 1, first row): out[b·outStride + outOffset + k] = first_k +
   * ((code_b >> start_k) & mask_k). The succession strategy's BinaryCodeIndexer.index, written sample-major.
   */
  bhRows(ids: Int32Array, n: number, blocks: Int32Array, K: number, out: Int32Array, outStride: number, outOffset: number): void;

  // --- sparse (row-wise) optimizers, on the u unique rows from embeddingBagBackward; g ← g + l2·w first ---
  /** sparseSgd: w −= lr · g. */
  sparseSgd(table: Float32Array, dim: number, rows: Int32Array, u: number, grad: Float32Array, lr: number, l2: number): void;
  /** sparseAdagrad: acc += g²; w −= lr · g / (√acc + eps). acc has the table's shape. */
  sparseAdagrad(table: Float32Array, acc: Float32Array, dim: number, rows: Int32Array, u: number, grad: Float32Array, lr: number, l2: number, eps: number): void;
  /** sparseAdam (lazy Adam): m, v updated only on touched rows; bias correction from the global step t (1-based). */
  sparseAdam(table: Float32Array, m: Float32Array, v: Float32Array, dim: number, rows: Int32Array, u: number, grad: Float32Array, lr: number, beta1: number, beta2: number, eps: number, l2: number, step: number): void;

  /**
   * rowState (optional): row-wise optimizer state (`arrays` table-shaped float arrays: 2 for lazy Adam's m and v, 1
   * for Adagrad) kept in memories of its own when it does not fit next to the table (wasm32: 4 GiB), or `attach`
   * from another thread's RowState.shared. null: allocate the state with allocF32 as usual. alloc: where this
   * thread's staging buffers come from (@default the backend). See row-state.ts.
   */
  rowState?(numRows: number, dim: number, arrays: 1 | 2, attach?: RowStateShared, alloc?: Pick<Ops, 'allocF32' | 'allocI32' | 'free'>): RowState | null;

  /**
   * tableOutside (optional): whether an embedding table of `bytes` lives outside this backend's memory (the WASM
   * backend: when it would not fit in wasm32 memory); the bag then copies each step's rows in (external-table.ts).
   * holds: whether an array is in this backend's memory (an attached table may not be). Absent: always inside.
   */
  tableOutside?(bytes: number): boolean;
  holds?(a: Float32Array | Int32Array): boolean;

  // --- dense optimizer ---
  /** adam: g ← g + wd·w; m,v moments; w −= lr · m̂ / (√v̂ + eps), step t 1-based. */
  adam(w: Float32Array, g: Float32Array, m: Float32Array, v: Float32Array, n: number, lr: number, beta1: number, beta2: number, eps: number, wd: number, step: number): void;

  // --- interactions ---
  /** fmForward: x is b × f × d; out[i] = ½ Σ_d ((Σ_f x)² − Σ_f x²). */
  fmForward(x: Float32Array, b: number, f: number, d: number, out: Float32Array): void;
  /** fmBackward: dx[i,j,:] += dOut[i] · (Σ_f x[i,:,:] − x[i,j,:]). */
  fmBackward(x: Float32Array, dOut: Float32Array, b: number, f: number, d: number, dx: Float32Array): void;
  /** crossForward (DCN-v2, after u = x_l·Wᵀ + b by gemm): out = x0 ⊙ u + xl. */
  crossForward(x0: Float32Array, u: Float32Array, xl: Float32Array, out: Float32Array, n: number): void;
  /** crossBackward: dU = dOut ⊙ x0; dX0 += dOut ⊙ u. (dXl = dOut + dU·W is done by the caller.) */
  crossBackward(x0: Float32Array, u: Float32Array, dOut: Float32Array, dU: Float32Array, dX0: Float32Array, n: number): void;
}

/** An asynchronous dense GEMM (onnxruntime-node, or the WASM gemm wrapped). Same contract as Ops.gemm. */
export interface GemmProvider {
  readonly name: 'ort' | 'wasm' | 'reference';
  gemm(transA: boolean, transB: boolean, m: number, n: number, k: number, alpha: number, a: Float32Array, b: Float32Array, beta: number, c: Float32Array): void | Promise<void>;
  /**
   * A whole Linear(→ReLU) chain run as fused graphs (forward, and backward for training), when the provider
   * can; undefined otherwise (callers then run layer by layer with gemm and Ops). See DenseTower.
   */
  tower?(layers: TowerLayer[], opts: { inputGrad: boolean; maxBatch: number }): DenseTower | undefined;
  dispose?(): Promise<void> | void;
}

/** One layer of a dense tower: y = x·W + b with W stored [inDim × outDim], then ReLU when relu. */
export interface TowerLayer {
  inDim: number;
  outDim: number;
  relu: boolean;
}

/**
 * A dense tower H_i = act(H_{i−1}·W_i + b_i), H_{−1} = x, for up to maxBatch rows (m). The tower owns the hidden
 * activations (kept where its engine reads them without copies). x, out, dOut, dX, weights and gradients may be
 * backend arrays or ordinary Float32Arrays. Synchronous.
 */
export interface DenseTower {
  /**
   * Inference: out (m × last outDim) = the tower applied to x. inputRanges (2 per layer: min, max of that layer's
   * input, calibrated) is read by 'int8-static' towers only, which need it (ConfigError otherwise).
   */
  forward(m: number, x: Float32Array, weights: Float32Array[], biases: Float32Array[], out: Float32Array, inputRanges?: Float32Array | null): void;
  /**
   * Inference precision of forward ('fp32' when absent). With 'int8-static' a row's output does not depend on the
   * other rows of its batch, for any batch size, so callers send every inference batch, even one row, to forward.
   */
  readonly precision?: InferPrecision;
  /** Training forward: like forward, and keeps every H_i for the next backward. */
  forwardTrain(m: number, x: Float32Array, weights: Float32Array[], biases: Float32Array[], out: Float32Array): void;
  /** Backward of the last forwardTrain (same m, x, weights) from dOut = ∂L/∂out: writes dWeights, dBiases, and dX when built with inputGrad. */
  backward(m: number, x: Float32Array, weights: Float32Array[], dOut: Float32Array, dWeights: Float32Array[], dBiases: Float32Array[], dX: Float32Array | null): void;
  /**
   * A whole training step when the last layer is a plain Linear to 1 (null otherwise): z = tower(x) + extra,
   * ∂(scale · Σ bce(z, labels)) back through the tower; writes logits (= z; may alias extra), dWeights, dBiases and
   * dX (inputGrad). The intermediates never leave the engine (no activation copies).
   */
  readonly trainStep: ((m: number, x: Float32Array, weights: Float32Array[], biases: Float32Array[], extra: Float32Array, labels: Float32Array, scale: number, logits: Float32Array, dWeights: Float32Array[], dBiases: Float32Array[], dX: Float32Array | null) => void) | null;
  /** Frees the sessions and activation memory. */
  dispose(): void;
}
