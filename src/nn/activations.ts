// ReLU and inverted dropout. ReLU works in place (the backward only needs its output); dropout keeps its own
// output and mask so the previous layer's activations stay intact for its backward.

import type { LayerContext } from './layer.js';

/** In-place ReLU over batch × width. */
export class Relu {
  private readonly ctx: LayerContext;
  readonly width: number;
  constructor(ctx: LayerContext, width: number) {
    this.ctx = ctx;
    this.width = width;
  }
  /** y = max(x, 0) written over x; returns x. */
  forward(x: Float32Array, batch: number): Float32Array {
    this.ctx.ops.relu(x, x, batch * this.width);
    return x;
  }
  /** dy is overwritten with dx; y is the forward output. */
  backward(y: Float32Array, dy: Float32Array, batch: number): Float32Array {
    this.ctx.ops.reluBackward(y, dy, dy, batch * this.width);
    return dy;
  }
}

/**
 * Inverted dropout (kept units scaled by 1/(1−p)). The mask comes from the backend's counter-based stream keyed
 * by a seed the caller derives from (layer, step, worker), so a run is reproducible and a forward can be repeated.
 */
export class Dropout {
  private readonly ctx: LayerContext;
  readonly width: number;
  readonly p: number;
  private readonly mask: Float32Array;
  private readonly out: Float32Array;
  private readonly dx: Float32Array;
  private active = false;

  constructor(ctx: LayerContext, width: number, p: number) {
    this.ctx = ctx;
    this.width = width;
    this.p = p;
    const n = p > 0 ? ctx.maxBatch * width : 0;
    this.mask = ctx.ops.allocF32(n);
    this.out = ctx.ops.allocF32(n);
    this.dx = ctx.ops.allocF32(n);
  }

  forward(x: Float32Array, batch: number, train: boolean, seed: number): Float32Array {
    this.active = train && this.p > 0;
    if (!this.active) return x;
    const n = batch * this.width;
    this.ctx.ops.dropoutMask(this.mask, n, this.p, seed);
    this.ctx.ops.mul(x, this.mask, this.out, n);
    return this.out;
  }

  backward(dy: Float32Array, batch: number): Float32Array {
    if (!this.active) return dy;
    this.ctx.ops.mul(dy, this.mask, this.dx, batch * this.width);
    return this.dx;
  }
}
