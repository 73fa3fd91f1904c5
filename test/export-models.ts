// Tiny models for the export tests (Node and Chromium) and bench:web: every architecture over one set of fields that
// uses every index method (BH succession, skip and dense; hash; qr; dhash; full; hybrid with a BH and a dhash cold part), every fusion and a multi-valued
// field, with dense inputs; weights spread with seeded noise so scores vary. Plus rows whose hash ids include
// values ≥ 2^63, vocabulary ids and OOV ids.

import type { Batch } from '../src/core/batch.js';
import { Rng } from '../src/core/rng.js';
import type { FieldConfig, ModelConfig, Arch } from '../src/models/config.js';
import { ARCHS } from '../src/models/config.js';
import { encodeModelFile, decodeModelFile, type ModelFileContents } from '../src/models/model-file.js';
import { createModel } from '../src/models/registry.js';
import type { Ops } from '../src/kernels/index.js';

export { ARCHS };

/** 16-hex-digit ids of the full field's vocabulary (some ≥ 2^63). */
export const VOCAB = ['0000000000000007', 'ffffffffffffffff', '8000000000000000', '26c7827d889f6da3', 'a1b2c3d4e5f60718', '0000000100000000'];

/**
 * The fields: every index method, every fusion, two multi-valued fields ('tags' mean pooling, 'kw' sum pooling).
 * single: without the multi-valued fields (the exporter then fuses all fields with one Gather and one MatMul).
 */
export function exportFields(single = false): FieldConfig[] {
  const all: FieldConfig[] = [
    { name: 'site', index: { method: 'bh', codeBits: 64, blockBits: 8, strategy: 'succession' }, fusion: 'sum' },
    { name: 'app', index: { method: 'bh', codeBits: 20, blockBits: 6, strategy: 'skip' }, fusion: 'weighted' },
    { name: 'dev', index: { method: 'bh', codeBits: 61, blockBits: 7, strategy: 'skip' }, fusion: 'mean' },
    { name: 'hour', index: { method: 'bh', codeBits: 10, blockBits: 4, strategy: 'succession', dense: true }, fusion: 'concat' },
    { name: 'user', index: { method: 'hash', rows: 1009 } },
    { name: 'ad', index: { method: 'qr', remainder: 97, quotient: 89 }, fusion: 'concat' },
    { name: 'pub', index: { method: 'dhash', rows: 331, hashes: 3 }, fusion: 'weighted' },
    { name: 'cat', index: { method: 'full', minCount: 1, vocab: VOCAB } },
    { name: 'tags', index: { method: 'bh', codeBits: 32, blockBits: 8, strategy: 'skip' }, pooling: 'mean' },
    { name: 'kw', index: { method: 'qr', remainder: 31, quotient: 37 }, fusion: 'mean', pooling: 'sum' },
    { name: 'topic', index: { method: 'hybrid', hot: VOCAB.slice(1, 5), codeBits: 23, blockBits: 6, strategy: 'skip' }, fusion: 'weighted' },
    { name: 'genre', index: { method: 'hybrid', hot: VOCAB.slice(0, 3), cold: 'dhash', rows: 7, hashes: 2 }, fusion: 'weighted' },
  ];
  return single ? all.filter((_, i) => !MULTI.includes(i)) : all;
}

/** Indices of the multi-valued fields in exportFields(). */
export const MULTI = [8, 9];
/** Fields whose values carry weights in the multi-valued set (as libsvm/libffm values do): 'user' and 'tags'. */
export const WEIGHTED = [4, 8];

/** exportFields' weighted flags (none when single). */
export function weightedFlags(single = false): boolean[] {
  return exportFields(single).map((_, i) => !single && WEIGHTED.includes(i));
}
export const NUM_DENSE = 3;

/** Per-field dims of the mixed-dim cases, by field name (the rest take the model's 4): three tables of widths 2, 4, 8, 3. */
export const MIXED_DIMS: Record<string, number> = { site: 2, dev: 8, hour: 2, ad: 3, cat: 8, tags: 2, topic: 3 };

/** A model config of `arch` over exportFields(), tiny widths; mixed: fields of their own dims (MIXED_DIMS). */
export function exportConfig(arch: Arch, batchNorm = false, single = false, mixed = false): ModelConfig {
  const fields = exportFields(single).map((f) => (mixed && MIXED_DIMS[f.name as string] !== undefined ? { ...f, dim: MIXED_DIMS[f.name as string] } : f));
  return { arch, dim: 4, mlp: [16, 8], crossLayers: 2, batchNorm, fields, numDense: NUM_DENSE, seed: 5 };
}

/** The model file contents of `arch` with spread weights (and, with batch norm, spread running statistics). */
export async function exportModelFile(ops: Ops, arch: Arch, seed: number, batchNorm = false, single = false, mixed = false): Promise<ModelFileContents> {
  const config = exportConfig(arch, batchNorm, single, mixed);
  const model = createModel(config, { ops, maxBatch: 64 });
  const rng = new Rng(seed);
  for (const p of model.parameters()) {
    const s = p.name.includes('table') ? 0.4 : 0.25;
    for (let i = 0; i < p.data.length; i++) p.data[i] = p.name.endsWith('running_var') ? 0.5 + rng.next() : p.data[i] + s * rng.normal();
  }
  const meta = {
    bhembed: 'test',
    data: {
      format: 'csv',
      fieldNames: config.fields.map((f) => f.name as string),
      denseNames: ['d0', 'd1', 'd2'],
      reader: { schema: { label: 'y', multi: single ? [] : MULTI.map((i) => ({ name: exportFields()[i].name })) } },
    },
    engine: { ops: ops.name, gemm: 'auto' },
    evalBatch: 64,
    embedding: { method: 'mixed', dim: 4, fields: [] },
  };
  const tensors = model.parameters().map((p) => ({ name: p.name, shape: p.shape, data: p.data.slice() }));
  model.dispose();
  return decodeModelFile(encodeModelFile(model.config, meta, tensors));
}

/** Rows as both a bhembed Batch and ONNX feeds (ids as signed int64, multi-valued fields padded to L with counts). */
export interface ExportRows {
  batch: Batch;
  /** Per field: the ids as BigInt64Array ([N] or [N, L]); for multi-valued fields also L and the counts; value weights (same layout) for weighted fields. */
  ids: { values: BigInt64Array; L: number; counts: BigInt64Array | null; weights: Float32Array | null }[];
  dense: Float32Array;
  n: number;
}

const TOP = 0x80000000;

/** n rows with seeded ids: a third of the 64-bit ids ≥ 2^63, the full field mixing vocabulary and OOV ids. */
export function exportRows(n: number, seed: number, single = false): ExportRows {
  const rng = new Rng(seed);
  const fields = exportFields(single);
  const u32 = (): number => rng.int(0x10000) * 0x10000 + rng.int(0x10000);
  const batchFields: Batch['fields'] = [];
  const ids: ExportRows['ids'] = [];
  fields.forEach((f, fi) => {
    const multi = !single && MULTI.includes(fi);
    const per = Array.from({ length: n }, () => (multi ? rng.int(4) : 1)); // multi: 0–3 values, empty rows included
    const L = Math.max(1, ...per);
    const words: number[] = [];
    const padded = new BigInt64Array(n * (multi ? L : 1));
    const weighted = !single && WEIGHTED.includes(fi);
    const paddedW = weighted ? new Float32Array(n * (multi ? L : 1)) : null;
    const valueW: number[] = [];
    for (let r = 0; r < n; r++) {
      for (let v = 0; v < per[r]; v++) {
        let lo = u32();
        let hi = u32();
        if (rng.int(3) === 0) hi = (hi | TOP) >>> 0;
        if (f.index.method === 'bh' && f.index.dense) {
          hi = 0;
          lo = rng.int(1 << f.index.codeBits);
        }
        if ((f.index.method === 'full' || f.index.method === 'hybrid') && rng.int(3) > 0) {
          const h = VOCAB[rng.int(VOCAB.length)];
          hi = parseInt(h.slice(0, 8), 16);
          lo = parseInt(h.slice(8), 16);
        }
        words.push(lo, hi);
        padded[r * (multi ? L : 1) + v] = BigInt.asIntN(64, (BigInt(hi) << 32n) | BigInt(lo));
        if (paddedW !== null) {
          const w = Math.fround(0.25 + 2 * rng.next());
          valueW.push(w);
          paddedW[r * (multi ? L : 1) + v] = w;
        }
      }
    }
    let offsets: Int32Array | null = null;
    if (multi) {
      offsets = new Int32Array(n + 1);
      for (let r = 0; r < n; r++) offsets[r + 1] = offsets[r] + per[r];
    }
    batchFields.push({ ids: Uint32Array.from(words), offsets, weights: paddedW !== null ? Float32Array.from(valueW) : null });
    ids.push({ values: padded, L: multi ? L : 0, counts: multi ? BigInt64Array.from(per, (c) => BigInt(c)) : null, weights: paddedW });
  });
  const dense = Float32Array.from({ length: n * NUM_DENSE }, () => rng.normal());
  return { batch: { size: n, labels: new Float32Array(n), fields: batchFields, dense }, ids, dense, n };
}

/** The architectures the export tests run, with batch norm on for two of them (folded into the exported Linear). */
export const EXPORT_CASES: { arch: Arch; batchNorm: boolean; mixed?: boolean }[] = [
  ...ARCHS.map((arch) => ({ arch, batchNorm: arch === 'dnn' || arch === 'dcnv2' })),
  // Fields of their own dims (one table per width): the architectures that concatenate field vectors.
  ...(['dnn', 'wdl', 'dcnv2'] as const).map((arch) => ({ arch, batchNorm: arch === 'dnn', mixed: true })),
];
