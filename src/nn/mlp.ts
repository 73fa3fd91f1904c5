// The deep tower: [Linear → (BatchNorm) → ReLU → (Dropout)] × hidden sizes, then an optional Linear to `outDim`.
// One class so models describe their MLP with the config's numbers only. Without batch norm and dropout, and
// when the GEMM provider offers a fused DenseTower (onnxruntime), the whole chain runs as one graph per forward
// and one per backward, with the hidden activations in ordinary (non-shared) arrays so nothing is copied.
// With batch norm or dropout, training runs layer by layer, but inference still runs the fused tower: dropout is
// the identity there and batch norm (running statistics) an affine map per channel right after the Linear, so
// both fold into that Linear's weights (foldBatchNorm). Inference on tiny batches (≤ SMALL_BATCH rows) runs layer
// by layer, where the WASM GEMM wins on latency, except with an 'int8-static' tower, which takes every inference
// batch (its rows are independent of their batch, so a row scored alone must get the same bits as in a batch).
// Calibration (recordInputRanges) records each tower layer's input range for 'int8-static'.

import { Dropout, Relu } from './activations.js';
import { BatchNorm, BN_EPS } from './batch-norm.js';
import { ConfigError } from '../core/errors.js';
import type { DenseTower } from '../kernels/ops.js';
import { runGemm, type LayerContext } from './layer.js';
import { Linear } from './linear.js';
import type { DenseParams } from './params.js';

/** Largest inference batch that skips the fused tower (per-graph overhead dominates; WASM GEMM is faster there). */
export const SMALL_BATCH = 8;

export interface MlpOptions {
  hidden: number[];
  /** Output width of a final plain Linear; 0 = none (the last hidden activation is the output). */
  outDim: number;
  dropout: number;
  batchNorm: boolean;
  /** Compute the input gradient (false when the input needs none). @default true */
  inputGrad?: boolean;
}

/**
 * Folds an inference batch norm y = γ(z − μ)/√(σ² + ε) + β that follows z = x·W + b into the Linear:
 * W'[:, j] = W[:, j]·s_j and b'_j = (b_j − μ_j)·s_j + β_j with s_j = γ_j/√(σ²_j + ε), computed in float64 and
 * rounded once per entry. W is [inDim × outDim] (row-major, as Linear stores it); writes wOut and bOut.
 */
export function foldBatchNorm(w: Float32Array, b: Float32Array | null, inDim: number, outDim: number, gamma: Float32Array, beta: Float32Array, mean: Float32Array, variance: Float32Array, eps: number, wOut: Float32Array, bOut: Float32Array): void {
  const s = new Float64Array(outDim);
  for (let j = 0; j < outDim; j++) {
    s[j] = gamma[j] / Math.sqrt(variance[j] + eps);
    bOut[j] = ((b === null ? 0 : b[j]) - mean[j]) * s[j] + beta[j];
  }
  for (let i = 0; i < inDim; i++) {
    const row = i * outDim;
    for (let j = 0; j < outDim; j++) wOut[row + j] = w[row + j] * s[j];
  }
}

/** The inference tower's weights of a model with batch norm: folded copies for BN layers, the live arrays otherwise. */
interface Folded {
  w: Float32Array[];
  b: Float32Array[];
  /** Copies of every folded layer's sources (W, b, γ, β, μ, σ²) as of the fold; null once frozen. */
  snapshot: Float32Array[] | null;
}

interface Block {
  fc: Linear;
  bn: BatchNorm | null;
  relu: Relu;
  drop: Dropout;
  /** Input of fc (set during forward). */
  x: Float32Array;
  /** ReLU output (in place over fc.out or bn.out). */
  act: Float32Array;
}

export class Mlp {
  readonly inDim: number;
  readonly outWidth: number;
  private readonly blocks: Block[] = [];
  private readonly head: Linear | null;
  private headX: Float32Array = new Float32Array(0);
  private readonly ctx: LayerContext;
  /** Fused path (null: layer by layer). */
  private readonly tower: DenseTower | null = null;
  /** Whether the tower also trains (no batch norm, no dropout); otherwise it only runs inference forwards, on folded weights. */
  private readonly towerTrains: boolean = false;
  /** Folded inference weights (batch-norm models), made on the first inference forward on the tower. */
  private folded: Folded | null = null;
  /** Set by freeze(): fold once, never compare the sources again. */
  private frozen = false;
  /** Tower output (backend memory: callers run Ops on it) and input gradient. */
  private readonly towerOut: Float32Array = new Float32Array(0);
  private readonly towerDx: Float32Array | null = null;
  private towerX: Float32Array = new Float32Array(0);
  private towerParams: { w: Float32Array[]; b: Float32Array[]; dw: Float32Array[]; db: Float32Array[] } | null = null;
  /** Calibrated [min, max] of each tower layer's input (hidden layers, then the head), or null. */
  private ranges: Float32Array | null = null;

  constructor(ctx: LayerContext, params: DenseParams, buffers: DenseParams, name: string, inDim: number, opts: MlpOptions) {
    this.ctx = ctx;
    this.inDim = inDim;
    const inputGrad = opts.inputGrad ?? true;
    const dims = [inDim, ...opts.hidden, ...(opts.outDim > 0 ? [opts.outDim] : [])];
    const layers = dims.slice(1).map((d, i) => ({ inDim: dims[i], outDim: d, relu: i < opts.hidden.length }));
    const trains = !opts.batchNorm && opts.dropout === 0;
    // Batch norm / dropout: an inference-only tower (its training graphs are never built, its input gradient never needed).
    const tower = layers.length > 0 ? (ctx.gemm.tower?.(layers, { inputGrad: trains && inputGrad, maxBatch: ctx.maxBatch }) ?? null) : null;
    // With a training tower the layers only run small inference batches: small buffers, no input gradients.
    const fcOpts = (grad: boolean): { inputGrad: boolean; bufferRows?: number } => (tower === null || !trains ? { inputGrad: grad } : { inputGrad: false, bufferRows: Math.min(ctx.maxBatch, SMALL_BATCH) });
    let width = inDim;
    opts.hidden.forEach((h, i) => {
      const fc = new Linear(ctx, params, `${name}.${i}.fc`, width, h, fcOpts(i > 0 || inputGrad));
      const bn = opts.batchNorm ? new BatchNorm(ctx, params, buffers, `${name}.${i}.bn`, h) : null;
      this.blocks.push({ fc, bn, relu: new Relu(ctx, h), drop: new Dropout(ctx, h, opts.dropout), x: fc.out, act: fc.out });
      width = h;
    });
    this.head = opts.outDim > 0 ? new Linear(ctx, params, `${name}.out`, width, opts.outDim, fcOpts(opts.hidden.length > 0 || inputGrad)) : null;
    this.outWidth = opts.outDim > 0 ? opts.outDim : width;
    if (tower !== null) {
      this.tower = tower;
      this.towerTrains = trains;
      const B = ctx.maxBatch;
      this.towerOut = ctx.ops.allocF32(B * this.outWidth);
      this.towerDx = trains && inputGrad ? ctx.ops.allocF32(B * inDim) : null;
    }
  }

  // Weight views are bound when the parameters are allocated (after construction): collect them on first use.
  private towerTensors(): { w: Float32Array[]; b: Float32Array[]; dw: Float32Array[]; db: Float32Array[] } {
    if (this.towerParams === null) {
      const fcs = this.blocks.map((b) => b.fc);
      if (this.head !== null) fcs.push(this.head);
      const t = { w: [] as Float32Array[], b: [] as Float32Array[], dw: [] as Float32Array[], db: [] as Float32Array[] };
      for (const fc of fcs) {
        t.w.push(fc.w);
        t.dw.push(fc.dw);
        t.b.push(fc.b as Float32Array);
        t.db.push(fc.db as Float32Array);
      }
      this.towerParams = t;
    }
    return this.towerParams;
  }

  /**
   * The inference tower's weights with every batch norm folded in (see foldBatchNorm). Refolded when a source (W,
   * b, γ, β, running mean/variance) differs from the copy taken at the last fold (an exact memcmp, measured
   * 0.2–0.4 ms per batch for a 624-400-400-400 tower, whose refold costs ~1.3 ms): a training run's evaluation
   * refolds once per evaluation; after freeze() neither runs again.
   */
  private foldedTensors(): { w: Float32Array[]; b: Float32Array[] } {
    const p = this.towerTensors();
    if (!this.blocks.some((b) => b.bn !== null)) return p;
    const f = this.folded;
    const sources = this.foldSources();
    if (f !== null) {
      if (f.snapshot === null) return f;
      if (sameContents(f.snapshot, sources)) {
        if (this.frozen) f.snapshot = null;
        return f;
      }
    }
    const w = p.w.slice();
    const b = p.b.slice();
    this.blocks.forEach((blk, i) => {
      if (blk.bn === null) return;
      const { fc, bn } = blk;
      // Ordinary memory: onnxruntime reads it in place. Reuses the previous fold's arrays.
      w[i] = f?.w[i] ?? new Float32Array(fc.inDim * fc.outDim);
      b[i] = f?.b[i] ?? new Float32Array(fc.outDim);
      foldBatchNorm(fc.w, fc.b, fc.inDim, fc.outDim, bn.gamma, bn.beta, bn.runMean, bn.runVar, BN_EPS, w[i], b[i]);
    });
    this.folded = { w, b, snapshot: this.frozen ? null : sources.map((a) => a.slice()) };
    return this.folded;
  }

  private foldSources(): Float32Array[] {
    const out: Float32Array[] = [];
    for (const { fc, bn } of this.blocks) {
      if (bn === null) continue;
      out.push(fc.w, bn.gamma, bn.beta, bn.runMean, bn.runVar);
      if (fc.b !== null) out.push(fc.b);
    }
    return out;
  }

  /**
   * Promise that the parameters and batch-norm statistics no longer change (a served model): the next inference
   * forward on the tower checks (or makes) the fold one last time, later ones never compare the sources again.
   */
  freeze(): void {
    this.frozen = true;
  }

  /** Whether an inference forward of `batch` rows runs the fused tower, which reads x from any memory (not only the backend's). */
  infersOnTower(batch: number): boolean {
    return this.tower !== null && (batch > SMALL_BATCH || this.tower.precision === 'int8-static');
  }

  /** Linear layers of the tower (hidden layers, then the head when present): inputRanges holds 2 values per layer. */
  get numLayers(): number {
    return this.blocks.length + (this.head !== null ? 1 : 0);
  }

  /**
   * The calibrated input range of every tower layer: [min_0, max_0, min_1, max_1, …] (see numLayers), as
   * recordInputRanges measures them; 'int8-static' inference derives its fixed activation scales from it. null
   * clears it. Copied.
   */
  setInputRanges(ranges: Float32Array | null): void {
    if (ranges !== null && ranges.length !== 2 * this.numLayers) {
      throw new ConfigError(`mlp: input ranges need ${2 * this.numLayers} values (min, max of ${this.numLayers} layers), got ${ranges.length}`, { key: 'inputRanges' });
    }
    this.ranges = ranges === null ? null : Float32Array.from(ranges);
  }

  /** The calibrated input ranges (a copy), or null when never calibrated. */
  inputRanges(): Float32Array | null {
    return this.ranges === null ? null : this.ranges.slice();
  }

  /**
   * Widens `ranges` (2 per layer, see numLayers; start from +∞/−∞) to cover every tower layer's input over x's
   * `batch` rows, computed in fp32 as inference does: batch norm with its running statistics, dropout skipped. Runs
   * layer by layer through the GEMM provider on scratch memory, in slices of up to maxBatch rows; x may be any
   * Float32Array. Changes no state of the model.
   */
  async recordInputRanges(x: Float32Array, batch: number, ranges: Float32Array): Promise<void> {
    const L = this.numLayers;
    if (ranges.length !== 2 * L) throw new ConfigError(`mlp: input ranges need ${2 * L} values, got ${ranges.length}`, { key: 'inputRanges' });
    if (batch <= 0) return;
    const { ops, maxBatch } = this.ctx;
    const widths = [this.inDim, ...this.blocks.map((b) => b.fc.outDim)];
    const wide = Math.max(...widths);
    const rows = Math.min(maxBatch, batch);
    const bufs = [ops.allocF32(rows * wide), ops.allocF32(rows * wide)];
    try {
      for (let r0 = 0; r0 < batch; r0 += rows) {
        const n = Math.min(rows, batch - r0);
        let h = bufs[0];
        h.set(x.subarray(r0 * this.inDim, (r0 + n) * this.inDim));
        for (let i = 0; i < this.blocks.length; i++) {
          const { fc, bn } = this.blocks[i];
          widenRange(ranges, i, h, n * fc.inDim);
          let z = bufs[(i + 1) % 2];
          const r = runGemm(this.ctx, false, false, n, fc.outDim, fc.inDim, 1, h, fc.w, 0, z);
          if (r) await r;
          if (fc.b !== null) ops.addRowVector(z, fc.b, n, fc.outDim);
          if (bn !== null) {
            z.set(bn.forward(z, n, false).subarray(0, n * fc.outDim));
          }
          ops.relu(z, z, n * fc.outDim);
          h = z;
        }
        if (this.head !== null) widenRange(ranges, this.blocks.length, h, n * this.head.inDim);
      }
    } finally {
      for (const b of bufs) ops.free(b);
    }
  }

  /** The next training forward's sample weights (null: each row 1), for the batch norms' weighted statistics. */
  set sampleWeights(w: Float32Array | null) {
    for (const b of this.blocks) if (b.bn !== null) b.bn.sampleWeights = w;
  }

  /** seed keys the dropout masks (layer i uses seed + i). */
  async forward(x: Float32Array, batch: number, train: boolean, seed: number): Promise<Float32Array> {
    if (this.tower !== null && !train && this.infersOnTower(batch) && !this.towerTrains) {
      const p = this.foldedTensors();
      this.tower.forward(batch, x, p.w, p.b, this.towerOut, this.ranges);
      return this.towerOut;
    }
    if (this.tower !== null && this.towerTrains && (train || this.infersOnTower(batch))) {
      const p = this.towerTensors();
      const out = this.towerOut;
      if (train) {
        this.towerX = x;
        this.tower.forwardTrain(batch, x, p.w, p.b, out);
      } else this.tower.forward(batch, x, p.w, p.b, out, this.ranges);
      return out;
    }
    let h = x;
    for (let i = 0; i < this.blocks.length; i++) {
      const b = this.blocks[i];
      b.x = h;
      let z = await b.fc.forward(h, batch);
      if (b.bn !== null) z = b.bn.forward(z, batch, train);
      b.act = b.relu.forward(z, batch);
      h = b.drop.forward(b.act, batch, train, (seed + Math.imul(i + 1, 0x632be5ab)) | 0);
    }
    if (this.head !== null) {
      this.headX = h;
      h = await this.head.forward(h, batch);
    }
    return h;
  }

  /** Whether trainStep is available (a fused tower ending in a Linear to 1). */
  get canTrainStep(): boolean {
    return this.towerTrains && this.tower?.trainStep != null;
  }

  /**
   * Forward + BCE gradient + backward in one fused call (see DenseTower.trainStep): logits = MLP(x) + extra (may
   * alias extra), parameter gradients written, returns dL/dx (batch × inDim). Only when canTrainStep.
   */
  trainStep(x: Float32Array, batch: number, extra: Float32Array, labels: Float32Array, scale: number, logits: Float32Array): Float32Array {
    const step = this.towerTrains ? this.tower?.trainStep : null;
    if (step == null) throw new ConfigError('mlp: trainStep needs a fused tower ending in a Linear to 1');
    const p = this.towerTensors();
    step(batch, x, p.w, p.b, extra, labels, scale, logits, p.dw, p.db, this.towerDx);
    return this.towerDx ?? new Float32Array(0);
  }

  /** Frees the fused tower's sessions and activation memory (backend arrays are freed by the model's TrackedOps). */
  dispose(): void {
    this.tower?.dispose();
  }

  /** dOut: batch × outWidth (may be overwritten). Returns dL/dx (batch × inDim). */
  async backward(dOut: Float32Array, batch: number): Promise<Float32Array> {
    if (this.tower !== null && this.towerTrains) {
      const p = this.towerTensors();
      this.tower.backward(batch, this.towerX, p.w, dOut, p.dw, p.db, this.towerDx);
      return this.towerDx ?? new Float32Array(0);
    }
    let d = dOut;
    if (this.head !== null) d = await this.head.backward(this.headX, d, batch);
    for (let i = this.blocks.length - 1; i >= 0; i--) {
      const b = this.blocks[i];
      d = b.drop.backward(d, batch);
      d = b.relu.backward(b.act, d, batch);
      if (b.bn !== null) d = b.bn.backward(b.fc.out, d, batch);
      d = await b.fc.backward(b.x, d, batch);
    }
    return d;
  }
}

// ranges[2i] = min(ranges[2i], min of a[0..n)), ranges[2i+1] = max(…).
function widenRange(ranges: Float32Array, i: number, a: Float32Array, n: number): void {
  let lo = ranges[2 * i];
  let hi = ranges[2 * i + 1];
  for (let k = 0; k < n; k++) {
    const v = a[k];
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  ranges[2 * i] = lo;
  ranges[2 * i + 1] = hi;
}

/** Exact equality of the arrays' bits (Node's Buffer.equals is a native memcmp; a word loop elsewhere). */
function sameContents(a: Float32Array[], b: Float32Array[]): boolean {
  if (a.length !== b.length) return false;
  const NodeBuffer = (globalThis as { Buffer?: typeof Buffer }).Buffer;
  for (let i = 0; i < a.length; i++) {
    const x = a[i];
    const y = b[i];
    if (x.length !== y.length) return false;
    if (NodeBuffer !== undefined) {
      if (!NodeBuffer.from(x.buffer, x.byteOffset, x.byteLength).equals(NodeBuffer.from(y.buffer, y.byteOffset, y.byteLength))) return false;
      continue;
    }
    const u = new Uint32Array(x.buffer, x.byteOffset, x.length);
    const v = new Uint32Array(y.buffer, y.byteOffset, y.length);
    for (let j = 0; j < u.length; j++) if (u[j] !== v[j]) return false;
  }
  return true;
}
