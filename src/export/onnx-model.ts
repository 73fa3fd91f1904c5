// The whole model of a `.bhm` file as one ONNX graph (opset 18, IR 8): per-field int64 hash ids and the dense inputs
// in, the click probability out, so any onnxruntime (Python, Java, C#, C++, the browser) scores it with no bhembed
// code. The parts mirror models/ctr-model.ts term by term; the index maths is index-graph.ts. It never trains.
//
//   ids (per field) ──index──▶ rows ──Gather──▶ [N, K, D] ──fuse (sum | mean | weighted | concat)──▶ [N, D | K·D]
//   multi-valued: [N, L] ids + [N] counts ──▶ [N, L, K, D] ──fuse, mask, pool (sum | mean)──▶ [N, D | K·D]
//   weighted (libsvm/libfm/libffm values): each value's fused vector × its weight, before pooling
//   E = concat over fields ──▶ linear + FM + MLP(Cross(E ‖ dense)) ──▶ Sigmoid ──▶ probability [N]

import { ConfigError } from '../core/errors.js';
import { createIndexer } from '../embedding/registry.js';
import type { Indexer } from '../embedding/table.js';
import { encodeOnnxModel, type OnnxValue } from '../kernels/onnx-encode.js';
import type { NormalizedFieldConfig, NormalizedModelConfig, ModelConfig } from '../models/config.js';
import { normalizeModelConfig } from '../models/config.js';
import { ignoresValueWeights } from '../models/model-codec.js';
import type { ModelFileContents } from '../models/model-file.js';
import { ARCH_PARTS } from '../models/registry.js';
import { BN_EPS } from '../nn/batch-norm.js';
import { foldBatchNorm } from '../nn/mlp.js';
import { GraphBuilder } from './graph.js';
import { indexRows } from './index-graph.js';
import { COUNT_SUFFIX, DENSE_INPUT, OUTPUT_NAME, WEIGHT_SUFFIX } from './names.js';

/** The operator sets the exported graphs use. */
export const EXPORT_OPSET = 18;
export const EXPORT_ML_OPSET = 3;
export { COUNT_SUFFIX, DENSE_INPUT, OUTPUT_NAME, WEIGHT_SUFFIX };

/** One graph input, as a caller must feed it. */
export interface ExportedInput {
  name: string;
  /**
   * 'ids': int64 hash ids ([N], or [N, L] for a multi-valued field); 'count': int64 [N] values used of each row's L;
   * 'weight': float32 per-value weights, the shape of the field's ids; 'dense': float32 [N, numDense].
   */
  kind: 'ids' | 'count' | 'weight' | 'dense';
  /** The model field it feeds (index into config.fields), −1 for dense. */
  field: number;
  type: 'int64' | 'float32';
  dims: (string | number)[];
}

export interface ExportOptions {
  /**
   * Which fields take several values per row (fed as [N, L] ids plus a count). @default from the model file's
   * reader settings: every field for libffm, the schema's `multi` columns for csv/tsv/parquet, none otherwise
   */
  multiValued?: boolean[];
  /**
   * Which fields' values carry weights (a `<field>_weight` input). @default every field for libsvm/libfm/libffm
   * model files that record `valueWeights` (none for 0.1.0 files, which ignore weights), none otherwise
   */
  weighted?: boolean[];
}

export interface ExportedModel {
  /** The serialized ModelProto. */
  bytes: Uint8Array;
  inputs: ExportedInput[];
  output: string;
  config: NormalizedModelConfig;
}

/** The fields the model file's training data read as multi-valued (see ExportOptions.multiValued). */
export function multiValuedFields(file: ModelFileContents, config: NormalizedModelConfig): boolean[] {
  const data = (file.meta as { data?: { format?: unknown; reader?: { schema?: unknown } } }).data;
  if (data?.format === 'libffm') return config.fields.map(() => true);
  const schema = data?.reader?.schema;
  const multi = typeof schema === 'object' && schema !== null ? (schema as { multi?: unknown }).multi : undefined;
  const names = new Set(Array.isArray(multi) ? multi.map((m) => (m as { name?: unknown }).name) : []);
  return config.fields.map((f) => names.has(f.name));
}

/**
 * The fields whose values' weights reach the model (libsvm, libfm, libffm). A file from bhembed 0.1.0 (no
 * `valueWeights` in its reader settings) was trained and is scored with every weight 1: its graph takes no weights.
 */
export function weightedFields(file: ModelFileContents, config: NormalizedModelConfig): boolean[] {
  const format = (file.meta as { data?: { format?: unknown } }).data?.format;
  const w = (format === 'libsvm' || format === 'libfm' || format === 'libffm') && !ignoresValueWeights(file.meta);
  return config.fields.map(() => w);
}

/** Float tensors of the file by name; a missing one is a ConfigError naming it. */
function tensorsOf(file: ModelFileContents): (name: string) => Float32Array {
  const byName = new Map(file.tensors.map((t) => [t.name, t.data]));
  return (name) => {
    const t = byName.get(name);
    if (t === undefined) throw new ConfigError(`export: the model file has no tensor '${name}'`, { key: name });
    return t;
  };
}

/** Every field's input names, checked to be distinct from each other and from the dense input and the output. */
function inputNames(config: NormalizedModelConfig, multi: boolean[], weighted: boolean[]): ExportedInput[] {
  const out: ExportedInput[] = [];
  config.fields.forEach((f, i) => {
    const dims = multi[i] ? ['N', `L_${i}`] : ['N'];
    out.push({ name: f.name, kind: 'ids', field: i, type: 'int64', dims });
    if (multi[i]) out.push({ name: `${f.name}${COUNT_SUFFIX}`, kind: 'count', field: i, type: 'int64', dims: ['N'] });
    if (weighted[i]) out.push({ name: `${f.name}${WEIGHT_SUFFIX}`, kind: 'weight', field: i, type: 'float32', dims });
  });
  if (config.numDense > 0) out.push({ name: DENSE_INPUT, kind: 'dense', field: -1, type: 'float32', dims: ['N', config.numDense] });
  const seen = new Set<string>([OUTPUT_NAME]);
  for (const x of out) {
    if (seen.has(x.name)) throw new ConfigError(`export: two graph inputs (or an input and the output) would both be named '${x.name}'; rename the field`, { key: x.name });
    seen.add(x.name);
  }
  return out;
}

/**
 * One field's fused, pooled vectors for one table: [N, W_f] with W_f = dim (or K·dim for concat). Weights follow
 * nn/embedding-bag.ts: mean fusion 1/K, weighted fusion the learned α_k of `alpha` (per block), pooling sum or mean
 * over the first count values of a multi-valued row (an empty row gives zeros).
 */
function fieldVectors(g: GraphBuilder, field: NormalizedFieldConfig, K: number, dim: number, gathered: string, multi: string | null, weight: string | null, alpha: Float32Array | null): string {
  // gathered: [N, K, dim] or, multi-valued, [N, L, K, dim]
  let fused: string;
  if (field.fusion === 'concat') {
    fused = g.reshape(gathered, multi === null ? [0, K * dim] : [0, 0, K * dim]);
  } else {
    let x = gathered;
    if (field.fusion === 'mean' || field.fusion === 'weighted') {
      const w = field.fusion === 'mean' ? new Array<number>(K).fill(Math.fround(1 / K)) : Array.from(alpha as Float32Array);
      x = g.op('Mul', [x, g.f32(w, [K, 1])]);
    }
    fused = g.reduceSum(x, -2, false);
  }
  if (weight !== null) fused = g.op('Mul', [fused, g.unsqueeze(weight, -1)]);
  if (multi === null) return fused;
  // mask[n, l] = l < count[n]; pooled = Σ_l mask·v, divided by max(count, 1) for mean pooling.
  const L = g.op('Gather', [g.op('Shape', [gathered]), g.i64([1], [])], { axis: { int: 0 } });
  const pos = g.op('Range', [g.i64([0], []), L, g.i64([1], [])]);
  const mask = g.cast(g.op('Less', [pos, g.unsqueeze(multi, -1)]), 'float');
  const pooled = g.reduceSum(g.op('Mul', [fused, g.unsqueeze(mask, -1)]), 1, false);
  if (field.pooling === 'sum') return pooled;
  const n = g.cast(g.op('Max', [multi, g.i64([1], [])]), 'float');
  return g.op('Div', [pooled, g.unsqueeze(n, -1)]);
}

/**
 * Build the ONNX graph of a model file's contents.
 * @example
 * const { bytes, inputs } = exportOnnx(readModelFile('model.bhm'));
 * writeFileSync('model.onnx', bytes);   // feed inputs[i].name → int64 hash ids, 'dense' → float32 [N, numDense]
 */
export function exportOnnx(file: ModelFileContents, opts: ExportOptions = {}): ExportedModel {
  const config = normalizeModelConfig(file.model as ModelConfig);
  const parts = ARCH_PARTS[config.arch];
  const multi = opts.multiValued ?? multiValuedFields(file, config);
  const weighted = opts.weighted ?? weightedFields(file, config);
  for (const [key, v] of [['multiValued', multi], ['weighted', weighted]] as const) {
    if (v.length !== config.fields.length) throw new ConfigError(`export: ${key} has ${v.length} entries, the model has ${config.fields.length} fields`, { key });
  }
  const tensor = tensorsOf(file);
  const inputs = inputNames(config, multi, weighted);
  const g = new GraphBuilder();
  const D = config.dim;
  const nd = config.numDense;

  const indexers: Indexer[] = config.fields.map((f) => createIndexer(f.index));
  const counts = config.fields.map((f, i) => (multi[i] ? `${f.name}${COUNT_SUFFIX}` : null));
  const weights = config.fields.map((f, i) => (weighted[i] ? `${f.name}${WEIGHT_SUFFIX}` : null));
  // A table over the fields `fs` (all of them for the linear term and a uniform model's embedding; a mixed-dim model's
  // embedding has one table per width, over that width's fields), rows numbered from 0 as the model's layouts do.
  const bag = (name: string, dim: number, fs: readonly number[]): string => {
    const fields = fs.map((i) => config.fields[i]);
    const ixs = fs.map((i) => indexers[i]);
    const rowBase: number[] = [];
    let totalRows = 0;
    for (const ix of ixs) {
      rowBase.push(totalRows);
      totalRows += ix.numRows;
    }
    // Rows of each field (the same node for the embedding and the linear table when the row bases agree).
    const rows = fields.map((f, j) => rowsOf(fs[j], rowBase[j]));
    const blockBase: number[] = [];
    let blocks = 0;
    fields.forEach((f, j) => {
      blockBase.push(blocks);
      if (f.fusion === 'weighted') blocks += ixs[j].rowsPerValue;
    });
    const S = fields.reduce((a, f, j) => a + (f.fusion === 'concat' ? ixs[j].rowsPerValue : 1), 0);
    const P = ixs.reduce((a, ix) => a + ix.rowsPerValue, 0);
    // Every field single-valued and unweighted: the rows of all fields as one [N, P] tensor and ONE Gather; fusion is then one MatMul
    // by a constant [S, P] matrix (segment s of a sample = Σ_p M[s, p]·row_p: weights 1, 1/K or α_k, or one row per
    // segment for concat). Measured: faster in onnxruntime than a Gather, Mul and ReduceSum per field.
    const single = fs.every((i) => !multi[i] && !weighted[i]);
    const allRows = single ? (rows.length === 1 ? rows[0] : concatRows(fs, rowBase, rows)) : null;
    const table = g.named(`${name}.table`, [totalRows, dim], tensor(`${name}.table`));
    const alpha = blocks > 0 ? tensor(`${name}.block_weights`) : null;
    if (allRows !== null) {
      const m = new Float32Array(S * P);
      let seg = 0;
      let col = 0;
      fields.forEach((f, j) => {
        const K = ixs[j].rowsPerValue;
        for (let k = 0; k < K; k++) {
          const w = f.fusion === 'mean' ? Math.fround(1 / K) : f.fusion === 'weighted' && alpha !== null ? alpha[blockBase[j] + k] : 1;
          m[(f.fusion === 'concat' ? seg + k : seg) * P + col + k] = w;
        }
        seg += f.fusion === 'concat' ? K : 1;
        col += K;
      });
      const gathered = g.op('Gather', [table, allRows], { axis: { int: 0 } });
      return g.reshape(g.op('MatMul', [g.tensor(`${name}_fusion`, [S, P], m), gathered]), [0, S * dim]);
    }
    const vecs = fields.map((f, j) => {
      const K = ixs[j].rowsPerValue;
      const gathered = g.op('Gather', [table, rows[j]], { axis: { int: 0 } });
      const a = f.fusion === 'weighted' && alpha !== null ? alpha.subarray(blockBase[j], blockBase[j] + K) : null;
      return fieldVectors(g, f, K, dim, gathered, counts[fs[j]], weights[fs[j]], a);
    });
    return vecs.length === 1 ? vecs[0] : g.op('Concat', vecs, { axis: { int: 1 } });
  };
  // Field i's rows at row base `base`, built once per (field, base).
  const rowNodes = new Map<string, string>();
  const rowsOf = (i: number, base: number): string => {
    const key = `${i}@${base}`;
    let r = rowNodes.get(key);
    if (r === undefined) {
      r = indexRows(g, config.fields[i].index, indexers[i], config.fields[i].name, base);
      rowNodes.set(key, r);
    }
    return r;
  };
  const catNodes = new Map<string, string>();
  const concatRows = (fs: readonly number[], bases: readonly number[], rows: string[]): string => {
    const key = fs.map((i, j) => `${i}@${bases[j]}`).join(',');
    let r = catNodes.get(key);
    if (r === undefined) {
      r = g.op('Concat', rows, { axis: { int: 1 } });
      catNodes.set(key, r);
    }
    return r;
  };
  const allFields = config.fields.map((_, i) => i);
  // The embedding tables: one per distinct field dim, in the order of each width's first field (models/ctr-model.ts).
  const groups = new Map<number, number[]>();
  allFields.forEach((i) => {
    const d = config.fields[i].dim ?? D;
    groups.set(d, [...(groups.get(d) ?? []), i]);
  });

  const logits: string[] = [];
  if (parts.linear) {
    let lin = g.reduceSum(bag('linear', 1, allFields), 1, true);
    lin = g.op('Add', [lin, g.named('linear.bias', [1], tensor('linear.bias'))]);
    if (nd > 0) lin = g.op('Add', [lin, g.op('MatMul', [DENSE_INPUT, g.named('linear.dense_weight', [nd, 1], tensor('linear.dense_weight'))])]);
    logits.push(lin);
  }
  if (parts.fm || parts.deep || parts.cross) {
    const embs = [...groups].map(([d, fs]) => bag(groups.size === 1 || d === D ? 'emb' : `emb_d${d}`, d, fs));
    const E = embs.length === 1 ? embs[0] : g.op('Concat', embs, { axis: { int: 1 } });
    const S = config.fields.reduce((a, f, i) => a + (f.fusion === 'concat' ? indexers[i].rowsPerValue : 1), 0);
    const embWidth = [...groups].reduce((a, [d, fs]) => a + d * fs.reduce((n, i) => n + (config.fields[i].fusion === 'concat' ? indexers[i].rowsPerValue : 1), 0), 0);
    if (parts.fm) {
      // Rendle 2010: ½ Σ_d ((Σ_s v_s)² − Σ_s v_s²)
      const v = g.reshape(E, [0, S, D]);
      const sum = g.reduceSum(v, 1, false);
      const sq = g.reduceSum(g.op('Mul', [v, v]), 1, false);
      const diff = g.op('Sub', [g.op('Mul', [sum, sum]), sq]);
      logits.push(g.op('Mul', [g.reduceSum(diff, 1, true), g.f32([0.5], [])]));
    }
    if (parts.deep || parts.cross) {
      const width = embWidth + nd;
      let x = nd > 0 ? g.op('Concat', [E, DENSE_INPUT], { axis: { int: 1 } }) : E;
      if (parts.cross) {
        // DCN-v2 (Wang et al., WWW 2021, eq. 1): x_{l+1} = x0 ⊙ (x_l·W_l + b_l) + x_l
        const x0 = x;
        for (let l = 0; l < config.crossLayers; l++) {
          const u = g.op('Gemm', [x, g.named(`cross.${l}.weight`, [width, width], tensor(`cross.${l}.weight`)), g.named(`cross.${l}.bias`, [width], tensor(`cross.${l}.bias`))]);
          x = g.op('Add', [g.op('Mul', [x0, u]), x]);
        }
      }
      let inDim = width;
      config.mlp.forEach((h, i) => {
        let w = tensor(`mlp.${i}.fc.weight`);
        let b = tensor(`mlp.${i}.fc.bias`);
        if (config.batchNorm) {
          // Inference batch norm folded into the Linear exactly as the predictor's tower does (nn/mlp.ts).
          const wf = new Float32Array(w.length);
          const bf = new Float32Array(h);
          foldBatchNorm(w, b, inDim, h, tensor(`mlp.${i}.bn.gamma`), tensor(`mlp.${i}.bn.beta`), tensor(`mlp.${i}.bn.running_mean`), tensor(`mlp.${i}.bn.running_var`), BN_EPS, wf, bf);
          w = wf;
          b = bf;
        }
        x = g.op('Relu', [g.op('Gemm', [x, g.named(`mlp.${i}.weight`, [inDim, h], w), g.named(`mlp.${i}.bias`, [h], b)])]);
        inDim = h;
      });
      logits.push(g.op('Gemm', [x, g.named('mlp.out.weight', [inDim, 1], tensor('mlp.out.weight')), g.named('mlp.out.bias', [1], tensor('mlp.out.bias'))]));
    }
  }
  let z = logits[0];
  for (let i = 1; i < logits.length; i++) z = g.op('Add', [z, logits[i]]);
  g.op('Reshape', [g.op('Sigmoid', [z]), g.i64([-1])], undefined, { out: OUTPUT_NAME });

  const graphInputs: OnnxValue[] = inputs.map((x) => ({ name: x.name, dims: x.dims, type: x.type === 'int64' ? 'int64' : 'float' }));
  const bytes = encodeOnnxModel(
    { name: `bhembed_${config.arch}`, nodes: g.nodes, inputs: graphInputs, outputs: [{ name: OUTPUT_NAME, dims: ['N'] }], initializers: g.initializers },
    EXPORT_OPSET,
    {
      domains: g.nodes.some((n) => n.domain === 'ai.onnx.ml') ? { 'ai.onnx.ml': EXPORT_ML_OPSET } : {},
      doc: `bhembed ${config.arch} model: inputs are XXH64 hash ids per field (docs/index-spec.md), output the click probability`,
      metadata: { bhembed_inputs: JSON.stringify(inputs.map(({ name, kind, field }) => ({ name, kind, field }))) },
    },
  );
  return { bytes, inputs, output: OUTPUT_NAME, config };
}
