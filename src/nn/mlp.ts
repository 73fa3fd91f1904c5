// The deep tower: [Linear → (BatchNorm) → ReLU → (Dropout)] × hidden sizes, then an optional Linear to `outDim`.
// One class so models describe their MLP with the config's numbers only. Without batch norm and dropout, and
// when the GEMM provider offers a fused DenseTower (onnxruntime), the whole chain runs as one graph per forward
// and one per backward, with the hidden activations in ordinary (non-shared) arrays so nothing is copied.
// Inference on tiny batches (≤ SMALL_BATCH rows) still runs layer by layer, where the WASM GEMM wins on latency.

import { Dropout, Relu } from './activations.js';
import { BatchNorm } from './batch-norm.js';
import { ConfigError } from '../core/errors.js';
import type { DenseTower } from '../kernels/ops.js';
import type { LayerContext } from './layer.js';
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
  /** Tower output (backend memory: callers run Ops on it) and input gradient. */
  private readonly towerOut: Float32Array = new Float32Array(0);
  private readonly towerDx: Float32Array | null = null;
  private towerX: Float32Array = new Float32Array(0);
  private towerParams: { w: Float32Array[]; b: Float32Array[]; dw: Float32Array[]; db: Float32Array[] } | null = null;

  constructor(ctx: LayerContext, params: DenseParams, buffers: DenseParams, name: string, inDim: number, opts: MlpOptions) {
    this.ctx = ctx;
    this.inDim = inDim;
    const inputGrad = opts.inputGrad ?? true;
    const dims = [inDim, ...opts.hidden, ...(opts.outDim > 0 ? [opts.outDim] : [])];
    const layers = dims.slice(1).map((d, i) => ({ inDim: dims[i], outDim: d, relu: i < opts.hidden.length }));
    const tower = !opts.batchNorm && opts.dropout === 0 && layers.length > 0 ? (ctx.gemm.tower?.(layers, { inputGrad, maxBatch: ctx.maxBatch }) ?? null) : null;
    // With a tower the layers only run small inference batches: small buffers, no input gradients.
    const fcOpts = (grad: boolean): { inputGrad: boolean; bufferRows?: number } => (tower === null ? { inputGrad: grad } : { inputGrad: false, bufferRows: Math.min(ctx.maxBatch, SMALL_BATCH) });
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
      const B = ctx.maxBatch;
      this.towerOut = ctx.ops.allocF32(B * this.outWidth);
      this.towerDx = inputGrad ? ctx.ops.allocF32(B * inDim) : null;
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

  /** Whether an inference forward of `batch` rows runs the fused tower, which reads x from any memory (not only the backend's). */
  infersOnTower(batch: number): boolean {
    return this.tower !== null && batch > SMALL_BATCH;
  }

  /** seed keys the dropout masks (layer i uses seed + i). */
  async forward(x: Float32Array, batch: number, train: boolean, seed: number): Promise<Float32Array> {
    if (this.tower !== null && (train || batch > SMALL_BATCH)) {
      const p = this.towerTensors();
      const out = this.towerOut;
      if (train) {
        this.towerX = x;
        this.tower.forwardTrain(batch, x, p.w, p.b, out);
      } else this.tower.forward(batch, x, p.w, p.b, out);
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
    return this.tower?.trainStep != null;
  }

  /**
   * Forward + BCE gradient + backward in one fused call (see DenseTower.trainStep): logits = MLP(x) + extra (may
   * alias extra), parameter gradients written, returns dL/dx (batch × inDim). Only when canTrainStep.
   */
  trainStep(x: Float32Array, batch: number, extra: Float32Array, labels: Float32Array, scale: number, logits: Float32Array): Float32Array {
    const step = this.tower?.trainStep;
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
    if (this.tower !== null) {
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
