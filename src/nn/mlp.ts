// The deep tower: [Linear → (BatchNorm) → ReLU → (Dropout)] × hidden sizes, then an optional Linear to `outDim`.
// One class so models describe their MLP with the config's numbers only.

import { Dropout, Relu } from './activations.js';
import { BatchNorm } from './batch-norm.js';
import type { LayerContext } from './layer.js';
import { Linear } from './linear.js';
import type { DenseParams } from './params.js';

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

  constructor(ctx: LayerContext, params: DenseParams, buffers: DenseParams, name: string, inDim: number, opts: MlpOptions) {
    this.ctx = ctx;
    this.inDim = inDim;
    let width = inDim;
    opts.hidden.forEach((h, i) => {
      const fc = new Linear(ctx, params, `${name}.${i}.fc`, width, h, { inputGrad: i > 0 || (opts.inputGrad ?? true) });
      const bn = opts.batchNorm ? new BatchNorm(ctx, params, buffers, `${name}.${i}.bn`, h) : null;
      this.blocks.push({ fc, bn, relu: new Relu(ctx, h), drop: new Dropout(ctx, h, opts.dropout), x: fc.out, act: fc.out });
      width = h;
    });
    this.head = opts.outDim > 0 ? new Linear(ctx, params, `${name}.out`, width, opts.outDim, { inputGrad: opts.hidden.length > 0 || (opts.inputGrad ?? true) }) : null;
    this.outWidth = opts.outDim > 0 ? opts.outDim : width;
  }

  /** seed keys the dropout masks (layer i uses seed + i). */
  async forward(x: Float32Array, batch: number, train: boolean, seed: number): Promise<Float32Array> {
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

  /** dOut: batch × outWidth (may be overwritten). Returns dL/dx (batch × inDim). */
  async backward(dOut: Float32Array, batch: number): Promise<Float32Array> {
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
