// The embedding of a model whose fields have different dims: one EmbeddingBag per distinct width, each over its own
// fields (TorchRec's EmbeddingBagCollection: a bag per table, outputs side by side), composed without touching the
// bag's internals. A uniform model has one group, the bag over the model's own layout, and pays nothing extra.
//
//   fields  a(2) b(4) c(2) d(8)   →  bags  emb_d2 [a, c] | emb [b] | emb_d8 [d]   (model dim 4)
//   output per sample:  [a c | b | d]   (the deep tower's input order; concat fusion gives K segments per field)

import type { Batch } from '../core/batch.js';
import { ConfigError } from '../core/errors.js';
import { EmbeddingBag, EmbeddingLayout } from '../nn/embedding-bag.js';
import type { LayerContext } from '../nn/layer.js';
import type { DenseParams } from '../nn/params.js';
import { fieldDim, type NormalizedModelConfig } from './config.js';

/** Field indices grouped by width, in the order of each width's first field. */
export function fieldsByDim(config: NormalizedModelConfig): { dim: number; fields: number[] }[] {
  const byDim = new Map<number, number[]>();
  config.fields.forEach((_, i) => {
    const d = fieldDim(config, i);
    const g = byDim.get(d);
    if (g === undefined) byDim.set(d, [i]);
    else g.push(i);
  });
  return [...byDim].map(([dim, fields]) => ({ dim, fields }));
}

/** The table name of a group's bag: 'emb' for the model's dim, 'emb_d<D>' for the others. */
export function groupTableName(config: NormalizedModelConfig, dim: number): string {
  return dim === config.dim ? 'emb' : `emb_d${dim}`;
}

export class EmbeddingGroups {
  readonly bags: EmbeddingBag[];
  /** The fields of each bag (indices into config.fields). */
  readonly fields: number[][];
  /** Floats per sample over every bag: Σ_g bags[g].width. */
  readonly width: number;
  /** One group on the model's own layout (a uniform model). */
  readonly uniform: boolean;
  private readonly cat: Float32Array | null;
  private readonly dParts: Float32Array[];

  /** layout: every field's layout (the uniform model's one bag uses it; other groups build their own). */
  constructor(ctx: LayerContext, params: DenseParams, config: NormalizedModelConfig, layout: EmbeddingLayout) {
    const groups = fieldsByDim(config);
    this.uniform = groups.length === 1;
    this.fields = groups.map((g) => g.fields);
    this.bags = groups.map(({ dim, fields }) => {
      const l = this.uniform ? layout : new EmbeddingLayout(ctx.ops, fields.map((i) => layout.fields[i]), ctx.maxBatch);
      return new EmbeddingBag(ctx, params, groupTableName(config, dim), l, { dim, initStd: config.initStd });
    });
    this.width = this.bags.reduce((w, b) => w + b.width, 0);
    const B = ctx.maxBatch;
    this.cat = this.uniform ? null : ctx.ops.allocF32(B * this.width);
    this.dParts = this.uniform ? [] : this.bags.map((b) => ctx.ops.allocF32(B * b.width));
  }

  /** Lay out each group's rows (a uniform model's layout is the model's, which the model builds). */
  build(batch: Batch, inferOnly: boolean): void {
    if (this.uniform) return;
    const F = this.fields.reduce((n, fs) => n + fs.length, 0);
    if (batch.fields.length !== F) throw new ConfigError(`batch: ${batch.fields.length} fields given, the model has ${F}`);
    this.bags.forEach((bag, g) => bag.layout.build({ ...batch, fields: this.fields[g].map((i) => batch.fields[i]) }, inferOnly));
  }

  /** Every bag's output side by side (B × width); a uniform model's is its one bag's own buffer (plain as there). */
  forward(B: number, plain: boolean): Float32Array {
    if (this.cat === null) return this.bags[0].forward(plain);
    const cat = this.cat;
    const W = this.width;
    let off = 0;
    for (const bag of this.bags) {
      const e = bag.forward(false);
      const w = bag.width;
      for (let b = 0; b < B; b++) cat.set(e.subarray(b * w, (b + 1) * w), b * W + off);
      off += w;
    }
    return cat;
  }

  /** Hand each bag its slice of dE (B × width). */
  backward(dE: Float32Array, B: number): void {
    if (this.cat === null) {
      this.bags[0].backward(dE);
      return;
    }
    const W = this.width;
    let off = 0;
    this.bags.forEach((bag, g) => {
      const w = bag.width;
      const d = this.dParts[g];
      for (let b = 0; b < B; b++) d.set(dE.subarray(b * W + off, b * W + off + w), b * w);
      bag.backward(d);
      off += w;
    });
  }
}
