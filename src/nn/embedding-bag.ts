// The embedding bag: every field's hash ids → its Indexer's K rows per value → segments → one fused vector per
// field (or K for concat), written sample-major so the output is directly the B × width MLP input.
// All fields share ONE table (rows of field f start at rowBase[f]), so the backward, the sparse optimizer and
// the Hogwild sharing between threads each deal with one buffer. Fusion follows BH (Yan et al., CIKM 2021, §3.3):
// sum (paper default), mean, concat (one segment per block) and weighted (a learned weight per block and field).
//
//   field f, K = 2, sample b with values [v0, v1] (multi-valued, pooling mean):
//   sum/mean/weighted: one segment  rows = [r(v0,0), r(v0,1), r(v1,0), r(v1,1)]  w = pool · fuse · α
//   concat:            two segments rows = [r(v0,0), r(v1,0)] | [r(v0,1), r(v1,1)]  w = pool
//
// EmbeddingLayout (rows, segments, constant weights) is built once per batch and can feed several bags of
// different widths (the dim-d embedding and the dim-1 linear term of LR/FM/W&D/DeepFM). An inference-only build
// of single-valued, non-concat fields skips all of that: the backend's fused bag (kernels/fused-bag.ts) computes
// BH rows inside the gather (same rows, same sums), and the layout's rows/offsets are left untouched.
// A table too large for the backend's memory lives outside it (EmbeddingBag.external): each batch's rows are copied
// into a compact working table (compact-rows.ts) and the same kernels run on it, bit for bit.

import type { Batch } from '../core/batch.js';
import { ConfigError } from '../core/errors.js';
import type { Rng } from '../core/rng.js';
import type { BinaryCodeIndexer } from '../embedding/binary-code.js';
import type { Indexer } from '../embedding/table.js';
import type { FusedBag, FusedBagField } from '../kernels/fused-bag.js';
import { allocExternalF32 } from '../kernels/index.js';
import type { Ops } from '../kernels/ops.js';
import { CompactRows } from './compact-rows.js';
import type { LayerContext } from './layer.js';
import type { DenseParams } from './params.js';

export type Fusion = 'sum' | 'mean' | 'concat' | 'weighted';
export type Pooling = 'sum' | 'mean';
export const FUSIONS: readonly Fusion[] = ['sum', 'mean', 'concat', 'weighted'];
export const POOLINGS: readonly Pooling[] = ['sum', 'mean'];

export interface BagField {
  indexer: Indexer;
  fusion: Fusion;
  /** How the values of a multi-valued field are pooled. */
  pooling: Pooling;
}

/** Rows and segments of one batch, shared by every bag built on the same fields. */
export class EmbeddingLayout {
  readonly fields: BagField[];
  /** First row of each field in the shared table. */
  readonly rowBase: number[];
  readonly totalRows: number;
  /** Output vectors per sample: Σ_f (concat ? K_f : 1). */
  readonly segPerSample: number;
  /** First learned block weight of each field (−1 unless fusion is 'weighted'). */
  readonly blockBase: number[];
  /** Learned block weights in total (Σ K_f over weighted fields). */
  readonly numBlocks: number;

  rows: Int32Array;
  offsets: Int32Array;
  /** Constant per-row weights (pooling and mean fusion); valid when useWeights. */
  baseWeights: Float32Array;
  /** Learned block weight index of each row, −1 when none. */
  blockOf: Int32Array;
  nRows = 0;
  nSeg = 0;
  batch = 0;
  /** False when every weight is 1 (the kernels then skip the multiply). */
  useWeights = false;
  /** Bumped whenever rows/baseWeights are reallocated, so bags resize their scratch. */
  capacityVersion = 0;
  /** The last build ran on the fused inference kernel: rows/offsets/weights were not written (no backward). */
  fusedActive = false;
  /** False once a bag's table lives outside the backend's memory (the fused kernel reads tables in place). */
  fusedAllowed = true;
  /** The backend's fused bag for these fields; undefined until first needed, null when unavailable. */
  private fusedBag: FusedBag | null | undefined = undefined;
  private readonly maxBatch: number;

  private readonly ops: Ops;
  private readonly scratch: Int32Array[];
  /**
   * Succession-BH fields: the block table ops.bhRows reads (3 int32 per block: start bit, mask, first row), so
   * training builds write their rows in a kernel instead of the JS indexer; null for other fields.
   */
  private readonly bhBlocks: (Int32Array | null)[];
  /** Backend copies of those fields' batch ids (int32 for the kernel, a u32 view for copying in); made on first use. */
  private readonly bhIds: ({ i32: Int32Array; u32: Uint32Array } | null)[];
  /** Fields whose rows the current single-valued build computes with ops.bhRows. */
  private readonly viaKernel: boolean[];
  private readonly staticWeights: boolean;
  /** Rows per sample when every field is single-valued (Σ K_f). */
  readonly rowsPerSample: number;
  /** Field f's first row within a sample (single-valued layout). */
  private readonly fieldRowOffset: number[];
  /** No field uses concat fusion (one segment per field per sample: the fast single-valued layout applies). */
  private readonly noConcat: boolean;

  constructor(ops: Ops, fields: BagField[], maxBatch: number) {
    if (fields.length === 0) throw new ConfigError('fields: a model needs at least one categorical field');
    this.ops = ops;
    this.fields = fields;
    this.rowBase = [];
    this.blockBase = [];
    let rows = 0;
    let seg = 0;
    let blocks = 0;
    let perSample = 0;
    for (const f of fields) {
      if (!FUSIONS.includes(f.fusion)) throw new ConfigError(`fusion: '${String(f.fusion)}' is not one of ${FUSIONS.join(' | ')}`, { key: 'fusion' });
      if (!POOLINGS.includes(f.pooling)) throw new ConfigError(`pooling: '${String(f.pooling)}' is not one of ${POOLINGS.join(' | ')}`, { key: 'pooling' });
      const K = f.indexer.rowsPerValue;
      this.rowBase.push(rows);
      rows += f.indexer.numRows;
      seg += f.fusion === 'concat' ? K : 1;
      this.blockBase.push(f.fusion === 'weighted' ? blocks : -1);
      if (f.fusion === 'weighted') blocks += K;
      perSample += K;
    }
    if (rows > 0x7fffffff) throw new ConfigError(`embedding: ${rows} rows in total exceed the int32 row index`);
    this.totalRows = rows;
    this.segPerSample = seg;
    this.numBlocks = blocks;
    this.staticWeights = fields.some((f) => f.fusion === 'mean' || f.fusion === 'weighted');
    this.rowsPerSample = perSample;
    this.fieldRowOffset = [];
    let fo = 0;
    for (const f of fields) {
      this.fieldRowOffset.push(fo);
      fo += f.indexer.rowsPerValue;
    }
    this.noConcat = fields.every((f) => f.fusion !== 'concat');
    const cap = Math.max(1, maxBatch * perSample);
    this.rows = ops.allocI32(cap);
    this.baseWeights = ops.allocF32(cap);
    this.blockOf = new Int32Array(blocks > 0 ? cap : 0);
    this.offsets = ops.allocI32(maxBatch * seg + 1);
    this.maxBatch = maxBatch;
    this.scratch = fields.map((f) => new Int32Array(Math.max(1, maxBatch * f.indexer.rowsPerValue)));
    this.bhBlocks = fields.map((f, i) => {
      if (f.indexer.method !== 'bh') return null;
      const bh = f.indexer as BinaryCodeIndexer;
      if (bh.spec.strategy !== 'succession') return null;
      // The indexer's contiguous layout: block k is code bits [Σ_{j<k} w_j, … + w_k), rows from offsets[k].
      const K = bh.widths.length;
      const t = ops.allocI32(3 * K);
      let pos = 0;
      for (let k = 0; k < K; k++) {
        t[3 * k] = pos;
        t[3 * k + 1] = (2 ** bh.widths[k] - 1) | 0;
        t[3 * k + 2] = this.rowBase[i] + bh.offsets[k];
        pos += bh.widths[k];
      }
      return t;
    });
    this.bhIds = fields.map(() => null);
    this.viaKernel = fields.map(() => false);
  }

  private slotArr: Int32Array | null = null;

  /**
   * Scratch for embeddingBagBackward: one int32 per table row, all −1 between calls. Shared by every bag on this
   * layout (they run one after the other), so a model pays for it once per thread, not once per table.
   */
  get slot(): Int32Array {
    if (this.slotArr === null) {
      this.slotArr = this.ops.allocI32(this.totalRows);
      this.slotArr.fill(-1);
    }
    return this.slotArr;
  }

  /** Widest row count this layout has held (bags size their per-row scratch with it). */
  get capacity(): number {
    return this.rows.length;
  }

  private ensureRows(n: number): void {
    if (n <= this.rows.length) return;
    let cap = this.rows.length;
    while (cap < n) cap *= 2;
    this.ops.free(this.rows);
    this.ops.free(this.baseWeights);
    this.rows = this.ops.allocI32(cap);
    this.baseWeights = this.ops.allocF32(cap);
    this.blockOf = new Int32Array(this.numBlocks > 0 ? cap : 0);
    this.capacityVersion++;
  }

  /**
   * Index every field of the batch and lay out rows, segments and constant weights. inferOnly: the batch is only
   * forwarded (no backward), so the fused kernel may take it when the backend has one and every field is
   * single-valued with sum/mean/weighted fusion; otherwise the general layout is built.
   */
  build(batch: Batch, inferOnly = false): void {
    const B = batch.size;
    const F = this.fields.length;
    if (batch.fields.length !== F) throw new ConfigError(`batch: ${batch.fields.length} fields given, the model has ${F}`);
    if (B * this.segPerSample + 1 > this.offsets.length) throw new ConfigError(`batch: size ${B} exceeds the model's maxBatch`);
    this.fusedActive = false;
    const valueWeights = batch.fields.some((bf) => (bf.weights ?? null) !== null);
    if (inferOnly && this.fusedAllowed && this.noConcat && !valueWeights && batch.fields.every((bf) => bf.offsets === null) && this.buildFused(batch)) return;
    let total = 0;
    let weights = this.staticWeights || valueWeights;
    const single = this.noConcat && batch.fields.every((bf) => bf.offsets === null);
    for (let f = 0; f < F; f++) {
      const bf = batch.fields[f];
      const K = this.fields[f].indexer.rowsPerValue;
      const n = bf.offsets === null ? B : bf.offsets[B];
      if (bf.offsets !== null && this.fields[f].pooling === 'mean') weights = true;
      // Succession BH on the single-valued layout: buildSingleValued writes the rows with ops.bhRows (a dense id out
      // of range goes through the indexer, which throws the error).
      const bh = this.bhBlocks[f] !== null ? (this.fields[f].indexer as BinaryCodeIndexer).spec : null;
      this.viaKernel[f] = single && bh !== null && (!bh.dense || denseIdsFit(bf.ids, B, bh.codeBits));
      if (this.viaKernel[f]) {
        total += n * K;
        continue;
      }
      if (this.scratch[f].length < n * K) {
        let cap = this.scratch[f].length;
        while (cap < n * K) cap *= 2;
        this.scratch[f] = new Int32Array(cap);
      }
      this.fields[f].indexer.index(bf.ids, n, this.scratch[f], 0);
      total += n * K;
    }
    this.ensureRows(total);
    if (single) {
      this.buildSingleValued(batch, valueWeights);
      return;
    }
    const rows = this.rows;
    const offs = this.offsets;
    const bw = this.baseWeights;
    const blk = this.numBlocks > 0 ? this.blockOf : null;
    let r = 0;
    let s = 0;
    for (let b = 0; b < B; b++) {
      for (let f = 0; f < F; f++) {
        const fld = this.fields[f];
        const K = fld.indexer.rowsPerValue;
        const base = this.rowBase[f];
        const sc = this.scratch[f];
        const o = batch.fields[f].offsets;
        const vw = batch.fields[f].weights ?? null;
        const lo = o === null ? b : o[b];
        const hi = o === null ? b + 1 : o[b + 1];
        const pool = fld.pooling === 'mean' && hi > lo ? 1 / (hi - lo) : 1;
        if (fld.fusion === 'concat') {
          for (let k = 0; k < K; k++) {
            offs[s++] = r;
            for (let v = lo; v < hi; v++) {
              rows[r] = base + sc[v * K + k];
              bw[r] = vw === null ? pool : pool * vw[v];
              if (blk !== null) blk[r] = -1;
              r++;
            }
          }
        } else {
          offs[s++] = r;
          const w = fld.fusion === 'mean' ? pool / K : pool;
          const bb = this.blockBase[f];
          for (let v = lo; v < hi; v++) {
            const wv = vw === null ? w : w * vw[v];
            for (let k = 0; k < K; k++) {
              rows[r] = base + sc[v * K + k];
              bw[r] = wv;
              if (blk !== null) blk[r] = bb < 0 ? -1 : bb + k;
              r++;
            }
          }
        }
      }
    }
    offs[s] = r;
    this.nRows = r;
    this.nSeg = s;
    this.batch = B;
    this.useWeights = weights;
  }

  /** The fused bag, built on first use (null when the backend has none). */
  get fused(): FusedBag | null {
    if (this.fusedBag === undefined) {
      const desc: FusedBagField[] = this.fields.map((f, i) => {
        const ix = f.indexer;
        if (ix.method === 'bh') {
          const bh = ix as BinaryCodeIndexer;
          return { kind: 'bh', codeBits: bh.spec.codeBits, widths: bh.widths, strategy: bh.spec.strategy, rowBase: this.rowBase[i] };
        }
        return { kind: 'rows', rowsPerValue: ix.rowsPerValue, rowBase: this.rowBase[i] };
      });
      this.fusedBag = this.ops.fusedBag?.(desc, this.maxBatch) ?? null;
    }
    return this.fusedBag;
  }

  // Hands the batch to the fused kernel: BH ids are copied as they are, other methods' rows indexed here. False
  // (general path) when there is no fused kernel or a dense BH id is out of range (the indexer then throws).
  private buildFused(batch: Batch): boolean {
    const fb = this.fused;
    if (fb === null) return false;
    const B = batch.size;
    const ids: Uint32Array[] = [];
    for (let f = 0; f < this.fields.length; f++) {
      const ix = this.fields[f].indexer;
      const bf = batch.fields[f];
      ids.push(bf.ids);
      if (ix.method !== 'bh') ix.index(bf.ids, B, fb.rows(f), 0);
      else if ((ix as BinaryCodeIndexer).spec.dense && !denseIdsFit(bf.ids, B, (ix as BinaryCodeIndexer).spec.codeBits)) return false;
    }
    fb.setBatch(B, ids);
    this.fusedActive = true;
    this.nRows = B * this.rowsPerSample;
    this.nSeg = B * this.fields.length;
    this.batch = B;
    this.useWeights = this.staticWeights;
    return true;
  }

  // The same layout as build's general loop when every field is single-valued and none is concat: sample b's
  // field f is segment b·F + f, covering rows [b·P + o_f, b·P + o_f + K_f) (P = Σ K, o_f = Σ_{g<f} K_g).
  // Field-major loops with no per-row branches; weights and block ids are written only when a kernel reads them.
  private buildSingleValued(batch: Batch, valueWeights: boolean): void {
    const B = batch.size;
    const F = this.fields.length;
    const P = this.rowsPerSample;
    const rows = this.rows;
    const offs = this.offsets;
    for (let f = 0; f < F; f++) {
      const K = this.fields[f].indexer.rowsPerValue;
      if (this.viaKernel[f]) {
        let ids = this.bhIds[f];
        if (ids === null) {
          const i32 = this.ops.allocI32(2 * this.maxBatch);
          ids = { i32, u32: new Uint32Array(i32.buffer, i32.byteOffset, i32.length) };
          this.bhIds[f] = ids;
        }
        ids.u32.set(batch.fields[f].ids.subarray(0, 2 * B));
        this.ops.bhRows(ids.i32, B, this.bhBlocks[f] as Int32Array, K, rows, P, this.fieldRowOffset[f]);
        continue;
      }
      const base = this.rowBase[f];
      const sc = this.scratch[f];
      const fo = this.fieldRowOffset[f];
      for (let b = 0; b < B; b++) {
        const dst = b * P + fo;
        const src = b * K;
        for (let k = 0; k < K; k++) rows[dst + k] = base + sc[src + k];
      }
    }
    for (let b = 0, s = 0; b < B; b++) for (let f = 0; f < F; f++) offs[s++] = b * P + this.fieldRowOffset[f];
    offs[B * F] = B * P;
    if (this.staticWeights || valueWeights || this.numBlocks > 0) {
      const bw = this.baseWeights;
      const blk = this.numBlocks > 0 ? this.blockOf : null;
      for (let f = 0; f < F; f++) {
        const fld = this.fields[f];
        const K = fld.indexer.rowsPerValue;
        const w = fld.fusion === 'mean' ? 1 / K : 1;
        const vw = batch.fields[f].weights ?? null;
        const bb = this.blockBase[f];
        const fo = this.fieldRowOffset[f];
        for (let b = 0; b < B; b++) {
          const dst = b * P + fo;
          const wb = vw === null ? w : w * vw[b];
          for (let k = 0; k < K; k++) bw[dst + k] = wb;
          if (blk !== null) for (let k = 0; k < K; k++) blk[dst + k] = bb < 0 ? -1 : bb + k;
        }
      }
    }
    this.nRows = B * P;
    this.nSeg = B * F;
    this.batch = B;
    this.useWeights = this.staticWeights || valueWeights;
  }
}

/** Every one of the n ids is below 2^codeBits (dense BH mode: the id is the code). */
function denseIdsFit(ids: Uint32Array, n: number, codeBits: number): boolean {
  if (codeBits >= 64) return true;
  for (let i = 0; i < n; i++) {
    const lo = ids[2 * i];
    const hi = ids[2 * i + 1];
    if (codeBits >= 32 ? hi >>> (codeBits - 32) !== 0 : hi !== 0 || lo >>> codeBits !== 0) return false;
  }
  return true;
}

export interface EmbeddingBagOptions {
  dim: number;
  /** Std of the normal initialization; 0 initializes to zeros. */
  initStd: number;
}

/**
 * One table of layout.totalRows × dim over an EmbeddingLayout.
 * @example
 * const layout = new EmbeddingLayout(ops, [{ indexer, fusion: 'sum', pooling: 'mean' }], 256);
 * const bag = new EmbeddingBag(ctx, params, 'emb', layout, { dim: 16, initStd: 0.01 });
 * params.allocate(ops.allocF32, rng); bag.allocateTable(rng);
 * layout.build(batch); const x = bag.forward();   // batch × (segPerSample·16)
 */
export class EmbeddingBag {
  readonly name: string;
  readonly dim: number;
  readonly width: number;
  readonly layout: EmbeddingLayout;
  table: Float32Array = new Float32Array(0);
  /** Learned block weights α (weighted fusion), a dense parameter; empty otherwise. */
  alpha: Float32Array = new Float32Array(0);
  dAlpha: Float32Array = new Float32Array(0);
  readonly out: Float32Array;
  /** After backward: rows touched (first-touch order) and their merged gradients. */
  uniqueRows: Int32Array;
  gradRows: Float32Array;
  nUnique = 0;
  /**
   * The table lives outside the backend's memory (too large for it: kernels/external-table.ts); each batch's rows
   * are copied into a compact working table (compact-rows.ts) and the optimizer copies rows in and out.
   */
  external = false;
  private compact: CompactRows | null = null;

  private effWeights: Float32Array;
  private dWeights: Float32Array;
  private version = -1;
  private readonly initStd: number;
  private readonly ctx: LayerContext;

  constructor(ctx: LayerContext, params: DenseParams, name: string, layout: EmbeddingLayout, opts: EmbeddingBagOptions) {
    this.ctx = ctx;
    this.name = name;
    this.layout = layout;
    this.dim = opts.dim;
    this.initStd = opts.initStd;
    this.width = layout.segPerSample * opts.dim;
    if (layout.numBlocks > 0) {
      params.add(`${name}.block_weights`, [layout.numBlocks], 'ones', false, (w, g) => {
        this.alpha = w;
        this.dAlpha = g;
      });
    }
    this.out = ctx.ops.allocF32(ctx.maxBatch * this.width);
    this.effWeights = new Float32Array(0);
    this.dWeights = new Float32Array(0);
    this.uniqueRows = new Int32Array(0);
    this.gradRows = new Float32Array(0);
    this.resize();
  }

  private resize(): void {
    if (this.version === this.layout.capacityVersion) return;
    const { ops } = this.ctx;
    const cap = this.layout.capacity;
    const uniq = Math.min(cap, this.layout.totalRows);
    // free() ignores arrays the backend did not allocate (the empty placeholders).
    for (const a of [this.effWeights, this.dWeights, this.uniqueRows, this.gradRows]) if (a.length > 0) ops.free(a);
    // Effective weights (base × learned α) exist only with weighted fusion; weights() returns early otherwise.
    this.effWeights = ops.allocF32(this.layout.numBlocks > 0 ? cap : 0);
    this.dWeights = ops.allocF32(this.layout.numBlocks > 0 ? cap : 0);
    this.uniqueRows = ops.allocI32(uniq);
    this.gradRows = ops.allocF32(uniq * this.dim);
    this.version = this.layout.capacityVersion;
  }

  /** Fresh table: normal(0, initStd) per entry from rng. */
  allocateTable(rng: Rng): void {
    const n = this.layout.totalRows * this.dim;
    // A table the backend's memory cannot hold (wasm32: 4 GiB) lives outside it, bounded only by RAM.
    if (this.ctx.ops.tableOutside?.(4 * n) === true) {
      this.table = allocExternalF32(n, `${this.name}: a table of ${this.layout.totalRows} rows × dim ${this.dim}`);
      this.goExternal();
    } else this.table = this.ctx.ops.allocF32(n);
    if (this.initStd > 0) for (let i = 0; i < this.table.length; i++) this.table[i] = this.initStd * rng.normal();
  }

  /** Use a table that lives elsewhere (another thread's shared memory). */
  attachTable(table: Float32Array): void {
    if (table.length !== this.layout.totalRows * this.dim) throw new ConfigError(`${this.name}: attached table has ${table.length} floats, expected ${this.layout.totalRows * this.dim}`);
    this.table = table;
    if (this.ctx.ops.holds?.(table) === false) this.goExternal();
  }

  private goExternal(): void {
    this.external = true;
    this.compact = new CompactRows(this.ctx.ops, this.layout.totalRows, this.dim);
    this.layout.fusedAllowed = false;
  }

  /** The weights handed to the kernels for the current layout (null when all are 1). */
  private weights(): Float32Array | null {
    const L = this.layout;
    if (L.numBlocks === 0) return L.useWeights ? L.baseWeights : null;
    const ew = this.effWeights;
    const bw = L.baseWeights;
    const blk = L.blockOf;
    const a = this.alpha;
    const uw = L.useWeights;
    for (let i = 0; i < L.nRows; i++) {
      const k = blk[i];
      const base = uw ? bw[i] : 1;
      ew[i] = k < 0 ? base : base * a[k];
    }
    return ew;
  }

  /**
   * Fused embeddings for the layout's current batch: batch × width. plain: the caller only reads the result from JS
   * or hands it to onnxruntime, never to an Ops kernel, so an inference-only batch may come back in ordinary
   * (non-shared) memory, which onnxruntime reads without copying it.
   */
  forward(plain = false): Float32Array {
    this.resize();
    const L = this.layout;
    if (L.fusedActive) return this.forwardFused(L.fused as FusedBag, plain);
    const c = this.compact;
    if (c !== null) {
      c.load(this.table, L.rows, L.nRows);
      this.ctx.ops.embeddingBagForward(c.work, this.dim, c.local, L.offsets, L.nSeg, this.weights(), false, this.out);
      return this.out;
    }
    this.ctx.ops.embeddingBagForward(this.table, this.dim, L.rows, L.offsets, L.nSeg, this.weights(), false, this.out);
    return this.out;
  }

  // Per-block weights as weights() would give each row of the single-valued layout: 1/K for mean fusion, α for
  // weighted, 1 otherwise (the same float32 values, so the kernel's sums are bit-identical).
  private forwardFused(fb: FusedBag, plain: boolean): Float32Array {
    const L = this.layout;
    if (L.useWeights) {
      const w = fb.weights;
      for (let f = 0; f < L.fields.length; f++) {
        const fld = L.fields[f];
        const K = fld.indexer.rowsPerValue;
        const o = fb.weightOffset[f];
        const bb = L.blockBase[f];
        for (let k = 0; k < K; k++) w[o + k] = bb >= 0 ? this.alpha[bb + k] : fld.fusion === 'mean' ? 1 / K : 1;
      }
    }
    if (plain) {
      const o = fb.forwardPlain(this.table, this.dim, L.useWeights, this.width);
      if (o !== null) return o;
    }
    fb.forward(this.table, this.dim, L.useWeights, this.out, this.width);
    return this.out;
  }

  /** dOut: batch × width. Fills uniqueRows/gradRows/nUnique and dAlpha (overwritten). */
  backward(dOut: Float32Array): void {
    const L = this.layout;
    if (L.fusedActive) throw new ConfigError(`${this.name}: backward after an inference-only forward (build the layout with inferOnly = false)`);
    const { ops } = this.ctx;
    const w = this.weights();
    // An outside table: the same kernels on the forward's working table and local rows (its rows still hold the
    // values the forward read: the optimizer runs after the backward).
    const c = this.compact;
    const table = c === null ? this.table : c.work;
    const rows = c === null ? L.rows : c.local;
    this.nUnique = ops.embeddingBagBackward(dOut, this.dim, rows, L.offsets, L.nSeg, w, false, c === null ? L.slot : c.slot, this.uniqueRows, this.gradRows);
    c?.toGlobal(this.uniqueRows, this.nUnique);
    if (L.numBlocks > 0) {
      // y = Σ_i base_i · α_{blk(i)} · e_i  ⇒  ∂L/∂α_k = Σ_{i: blk(i)=k} base_i · ⟨dOut_seg(i), e_i⟩
      ops.embeddingBagWeightGrad(dOut, table, this.dim, rows, L.offsets, L.nSeg, false, this.dWeights);
      this.dAlpha.fill(0);
      const blk = L.blockOf;
      const bw = L.baseWeights;
      const uw = L.useWeights;
      for (let i = 0; i < L.nRows; i++) {
        const k = blk[i];
        if (k >= 0) this.dAlpha[k] += (uw ? bw[i] : 1) * this.dWeights[i];
      }
    }
  }
}
