// Dense parameters of a model in one flat buffer, so the optimizer is one Adam call per region, gradients
// from worker threads reduce with one loop, and a model file enumerates tensors by name. Layers declare
// their tensors first (name, shape, init, weight decay or not); `allocate` or `attach` then hands out views.
//
//   data = [ decayed weights … | no-decay (biases, BN γ/β, block weights) … ]     grad has the same layout

import { ConfigError } from '../core/errors.js';
import type { Rng } from '../core/rng.js';

export type InitKind = 'zeros' | 'ones' | 'xavier' | 'normal';

export interface ParamDecl {
  name: string;
  shape: number[];
  size: number;
  decay: boolean;
  init: InitKind;
  /** Std for 'normal'; fan-in/fan-out come from shape [in, out] for 'xavier'. */
  std?: number;
  bind: (w: Float32Array, g: Float32Array) => void;
  offset: number;
}

/** A named tensor (view) of a model: dense weights, embedding tables or running statistics. */
export interface NamedParam {
  name: string;
  shape: number[];
  data: Float32Array;
  kind: 'dense' | 'embedding' | 'buffer';
}

export class DenseParams {
  private readonly decls: ParamDecl[] = [];
  /** All dense weights (views of it are held by layers). */
  data: Float32Array = new Float32Array(0);
  /** Gradient of `data`, same layout; each backward overwrites every entry. */
  grad: Float32Array = new Float32Array(0);
  /** Entries [0, decaySize) get weight decay, [decaySize, size) do not. */
  decaySize = 0;
  size = 0;
  private bound = false;

  /** Declare a tensor. `bind` receives its weight and gradient views once memory exists. */
  add(name: string, shape: number[], init: InitKind, decay: boolean, bind: (w: Float32Array, g: Float32Array) => void, std?: number): void {
    if (this.bound) throw new ConfigError(`params: '${name}' declared after allocation`);
    if (this.decls.some((d) => d.name === name)) throw new ConfigError(`params: duplicate tensor name '${name}'`);
    const size = shape.reduce((a, b) => a * b, 1);
    this.decls.push({ name, shape, size, decay, init, std, bind, offset: 0 });
  }

  private layout(): void {
    let off = 0;
    for (const pass of [true, false]) {
      for (const d of this.decls) {
        if (d.decay !== pass) continue;
        d.offset = off;
        off += d.size;
      }
      if (pass) this.decaySize = off;
    }
    this.size = off;
  }

  /** Allocate fresh memory (through `alloc`, e.g. ops.allocF32) and initialize from rng in declaration order. */
  allocate(alloc: (n: number) => Float32Array, rng: Rng): void {
    this.layout();
    this.data = alloc(Math.max(1, this.size)).subarray(0, this.size);
    this.grad = alloc(Math.max(1, this.size)).subarray(0, this.size);
    for (const d of this.decls) initTensor(this.data.subarray(d.offset, d.offset + d.size), d, rng);
    this.bindAll();
  }

  /** Use existing weight memory (shared with another thread); gradients are private (allocated here). */
  attach(data: Float32Array, alloc: (n: number) => Float32Array): void {
    this.layout();
    if (data.length !== this.size) throw new ConfigError(`params: attach got ${data.length} floats, model needs ${this.size}`);
    this.data = data;
    this.grad = alloc(Math.max(1, this.size)).subarray(0, this.size);
    this.bindAll();
  }

  private bindAll(): void {
    for (const d of this.decls) d.bind(this.data.subarray(d.offset, d.offset + d.size), this.grad.subarray(d.offset, d.offset + d.size));
    this.bound = true;
  }

  list(): NamedParam[] {
    return this.decls.map((d) => ({ name: d.name, shape: d.shape.slice(), data: this.data.subarray(d.offset, d.offset + d.size), kind: 'dense' as const }));
  }
}

function initTensor(w: Float32Array, d: ParamDecl, rng: Rng): void {
  switch (d.init) {
    case 'zeros':
      w.fill(0);
      return;
    case 'ones':
      w.fill(1);
      return;
    case 'normal': {
      const std = d.std ?? 0.01;
      for (let i = 0; i < w.length; i++) w[i] = std * rng.normal();
      return;
    }
    case 'xavier': {
      const fanIn = d.shape[0];
      const fanOut = d.shape.length > 1 ? d.shape[1] : 1;
      const a = Math.sqrt(6 / (fanIn + fanOut));
      for (let i = 0; i < w.length; i++) w[i] = a * (2 * rng.next() - 1);
      return;
    }
  }
}
