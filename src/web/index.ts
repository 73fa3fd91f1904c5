// `bhembed/web`: score a `.bhm` model in a web page (or any JS runtime with WebAssembly) on the project's own WASM
// kernels, with no onnxruntime, so a page pays for a small runtime (the bundle inlines kernels.wasm; scripts/build.mjs
// writes it). Raw values are hashed exactly as the training format's reader does (raw-values.ts). It only predicts:
// it never trains, never touches a file system, and needs no SharedArrayBuffer (an ordinary, private WASM memory).
//
//   const model = await WebModel.load('model.bhm');            // a URL, or the file's bytes
//   const p = await model.score([{ C1: '68fd1e64', I3: 5, tags: ['a', 'b'] }]);   // Float32Array of probabilities

import type { Batch } from '../core/batch.js';
import type { FieldRule } from './raw-values.js';
import { ConfigError } from '../core/errors.js';
import { COUNT_SUFFIX, DENSE_INPUT, OUTPUT_NAME, WEIGHT_SUFFIX } from '../export/names.js';
import type { Ops, WasmModule } from '../kernels/index.js';
import { unsharedKernelBytes, WasmOps } from '../kernels/index.js';
import type { NormalizedModelConfig, ModelConfig } from '../models/config.js';
import { normalizeModelConfig } from '../models/config.js';
import type { CtrModel } from '../models/ctr-model.js';
import { decodeModelFile, type ModelFileContents } from '../models/model-codec.js';
import { createModel } from '../models/registry.js';
import { kernelBytes } from './kernel-bytes.js';
import { denseValue, hashText, rawRules, splitWeighted, valueTexts, type RawRules, type RawValue } from './raw-values.js';

export { OUTPUT_NAME, DENSE_INPUT, COUNT_SUFFIX, WEIGHT_SUFFIX };
export type { RawValue, RawRules, FieldRule, DenseRule } from './raw-values.js';

/** One row of raw values by field name (and dense input name). Missing fields read as missing values. */
export type RawRow = Record<string, RawValue>;

/** A row as hash ids: per field the 64-bit ids (one, or several for a multi-valued field), and the dense floats. */
export interface IdRow {
  ids: bigint[][];
  dense: number[];
  /** Per field, one weight per id (libsvm/libfm/libffm values); absent or null for unweighted fields. */
  weights?: (number[] | null)[];
}

export interface WebLoadOptions {
  /** Rows per scoring batch (the model's buffers are sized for it). @default 256 */
  maxBatch?: number;
}

interface Compiled {
  module: WasmModule;
}
let compiled: Promise<Compiled> | null = null;

/** kernels.wasm compiled once per page, with an ordinary (unshared) memory import. */
function kernels(): Promise<Compiled> {
  if (compiled === null) {
    const WA = (globalThis as unknown as { WebAssembly: { compile(b: Uint8Array): Promise<WasmModule> } }).WebAssembly;
    compiled = kernelBytes().then(async (b) => ({ module: await WA.compile(unsharedKernelBytes(b)) }));
    compiled.catch(() => {
      compiled = null;
    });
  }
  return compiled;
}

async function bytesOf(source: string | URL | ArrayBuffer | Uint8Array): Promise<{ bytes: Uint8Array; name: string }> {
  if (source instanceof Uint8Array) return { bytes: source, name: '<bytes>' };
  if (source instanceof ArrayBuffer) return { bytes: new Uint8Array(source), name: '<bytes>' };
  const url = String(source);
  const res = await fetch(url);
  if (!res.ok) throw new ConfigError(`${url}: HTTP ${res.status} ${res.statusText}`, { key: 'source' });
  return { bytes: new Uint8Array(await res.arrayBuffer()), name: url };
}

/**
 * A model file loaded for scoring in the browser.
 * @example
 * const model = await WebModel.load(await (await fetch('model.bhm')).arrayBuffer());
 * model.fieldNames;                                   // ['I1', …, 'C26']
 * const probs = await model.score([{ I1: 3, C1: '05db9164' }]);
 */
export class WebModel {
  readonly config: NormalizedModelConfig;
  readonly meta: Record<string, unknown>;
  readonly rules: RawRules;
  readonly maxBatch: number;
  private readonly model: CtrModel;
  private readonly multi: boolean[];

  private constructor(file: ModelFileContents, model: CtrModel, config: NormalizedModelConfig, maxBatch: number) {
    this.config = config;
    this.meta = file.meta;
    this.model = model;
    this.maxBatch = maxBatch;
    this.rules = rawRules(file.meta, config.fields.map((f) => f.name), config.numDense);
    this.multi = this.rules.fields.map((r) => r.separator !== null);
  }

  /** Load a `.bhm` from a URL (fetch) or its bytes, and build the model on a private WASM memory. */
  static async load(source: string | URL | ArrayBuffer | Uint8Array, opts: WebLoadOptions = {}): Promise<WebModel> {
    const { bytes, name } = await bytesOf(source);
    const file = decodeModelFile(bytes, name);
    const config = normalizeModelConfig(file.model as ModelConfig);
    const maxBatch = opts.maxBatch ?? 256;
    if (!(Number.isInteger(maxBatch) && maxBatch >= 1)) throw new ConfigError(`maxBatch: must be a positive integer, got ${String(opts.maxBatch)}`, { key: 'maxBatch' });
    // Memory: the tensors, the batch's activations and row buffers, with room for the allocator's rounding.
    const tensorBytes = file.tensors.reduce((s, t) => s + 4 * t.data.length, 0);
    const width = config.fields.reduce((w, f) => w + (f.dim ?? config.dim), 0) * 8 + config.numDense + config.mlp.reduce((a, b) => a + b, 0) * (config.crossLayers + 2);
    const ops: Ops = WasmOps.createPrivate((await kernels()).module, tensorBytes + maxBatch * 4 * (8 * width + 64) + (8 << 20));
    const model = createModel(config, { ops, maxBatch });
    model.loadParameters(file.tensors);
    return new WebModel(file, model, config, maxBatch);
  }

  get fieldNames(): string[] {
    return this.config.fields.map((f) => f.name);
  }

  get denseNames(): string[] {
    return this.rules.dense.map((d) => d.name);
  }

  /** Whether field f takes several values per row. */
  isMultiValued(f: number): boolean {
    return this.multi[f];
  }

  /** The hash ids (and value weights) and dense floats of raw rows, as the training format's reader makes them. */
  toIds(rows: readonly RawRow[]): IdRow[] {
    const tmp = new Uint32Array(2);
    const id = (rule: FieldRule, t: string): bigint => {
      hashText(rule, t, tmp, 0);
      return (BigInt(tmp[1]) << 32n) | BigInt(tmp[0]);
    };
    return rows.map((row) => {
      const ids: bigint[][] = [];
      const weights: (number[] | null)[] = [];
      for (const rule of this.rules.fields) {
        const texts = valueTexts(rule, row[rule.name]);
        if (rule.weighted) {
          const parts = texts.map((t) => splitWeighted(rule, t));
          ids.push(parts.map((p) => id(rule, p.text)));
          weights.push(rule.valueWeights ? parts.map((p) => p.weight) : null);
        } else {
          ids.push(texts.map((t) => id(rule, t)));
          weights.push(null);
        }
      }
      return { ids, weights, dense: this.rules.dense.map((d) => denseValue(d, row[d.name] as string | number | null | undefined)) };
    });
  }

  /** Click probabilities of raw rows. */
  async score(rows: readonly RawRow[]): Promise<Float32Array> {
    return this.scoreIds(this.toIds(rows));
  }

  /** Click probabilities of rows given as hash ids (e.g. from toIds, or computed elsewhere by docs/index-spec.md). */
  async scoreIds(rows: readonly IdRow[]): Promise<Float32Array> {
    const out = new Float32Array(rows.length);
    for (let start = 0; start < rows.length; start += this.maxBatch) {
      const part = rows.slice(start, start + this.maxBatch);
      out.set(await this.model.predict(this.batchOf(part)), start);
    }
    return out;
  }

  private batchOf(rows: readonly IdRow[]): Batch {
    const B = rows.length;
    const nd = this.config.numDense;
    const dense = nd > 0 ? new Float32Array(B * nd) : null;
    if (dense !== null) rows.forEach((r, i) => dense.set(r.dense, i * nd));
    const fields = this.config.fields.map((_, f) => {
      const multi = this.multi[f];
      const n = multi ? rows.reduce((s, r) => s + r.ids[f].length, 0) : B;
      const ids = new Uint32Array(2 * n);
      const offsets = multi ? new Int32Array(B + 1) : null;
      const weights = this.rules.fields[f].valueWeights ? new Float32Array(n) : null;
      let v = 0;
      rows.forEach((r, i) => {
        const vals = r.ids[f];
        if (!multi && vals.length !== 1) throw new ConfigError(`field ${this.config.fields[f].name}: ${vals.length} values given, it takes one`, { key: this.config.fields[f].name });
        const w = r.weights?.[f] ?? null;
        for (let j = 0; j < vals.length; j++) {
          const id = vals[j];
          ids[2 * v] = Number(id & 0xffffffffn);
          ids[2 * v + 1] = Number((id >> 32n) & 0xffffffffn);
          if (weights !== null) weights[v] = w === null ? 1 : w[j];
          v++;
        }
        if (offsets !== null) offsets[i + 1] = v;
      });
      return { ids, offsets, weights };
    });
    return { size: B, labels: new Float32Array(B), fields, dense };
  }

  /**
   * The feeds of `bhembed export`'s graph for these rows, as tensors of the given onnxruntime module (onnxruntime-web
   * or -node; passed in so this bundle never includes it): per field int64 ids ([N], or [N, L] padded plus
   * `<field>_count`), and `dense` [N, numDense]. Run the session and read `probability`.
   */
  onnxFeeds<T>(rows: readonly IdRow[], ort: { Tensor: new (type: string, data: BigInt64Array | Float32Array, dims: number[]) => T }): Record<string, T> {
    const n = rows.length;
    const feeds: Record<string, T> = {};
    this.config.fields.forEach((field, f) => {
      const weighted = this.rules.fields[f].valueWeights;
      const wOf = (r: IdRow, j: number): number => r.weights?.[f]?.[j] ?? 1;
      if (!this.multi[f]) {
        feeds[field.name] = new ort.Tensor('int64', BigInt64Array.from(rows, (r) => BigInt.asIntN(64, r.ids[f][0])), [n]);
        if (weighted) feeds[`${field.name}${WEIGHT_SUFFIX}`] = new ort.Tensor('float32', Float32Array.from(rows, (r) => wOf(r, 0)), [n]);
        return;
      }
      const L = Math.max(1, ...rows.map((r) => r.ids[f].length));
      const flat = new BigInt64Array(n * L);
      const w = new Float32Array(n * L);
      rows.forEach((r, i) =>
        r.ids[f].forEach((id, j) => {
          flat[i * L + j] = BigInt.asIntN(64, id);
          w[i * L + j] = wOf(r, j);
        }),
      );
      feeds[field.name] = new ort.Tensor('int64', flat, [n, L]);
      feeds[`${field.name}${COUNT_SUFFIX}`] = new ort.Tensor('int64', BigInt64Array.from(rows, (r) => BigInt(r.ids[f].length)), [n]);
      if (weighted) feeds[`${field.name}${WEIGHT_SUFFIX}`] = new ort.Tensor('float32', w, [n, L]);
    });
    const nd = this.config.numDense;
    if (nd > 0) {
      const d = new Float32Array(n * nd);
      rows.forEach((r, i) => d.set(r.dense, i * nd));
      feeds[DENSE_INPUT] = new ort.Tensor('float32', d, [n, nd]);
    }
    return feeds;
  }

  /** Frees the model's WASM memory; the model is unusable afterwards. */
  dispose(): void {
    this.model.dispose();
  }
}
