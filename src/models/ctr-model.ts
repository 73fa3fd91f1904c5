// The one composed CTR model every architecture file instantiates: a first-order (linear) term, an FM term, a
// cross network and a deep tower, each switched on by the architecture's ArchParts. Owns all buffers (sized for
// maxBatch, so a steady-state step allocates nothing), the dense parameters in one flat buffer and the
// embedding tables, and splits a step into forwardBackward / applySparse / applyDense so the trainer can run
// the pieces on several threads.
//
//   logit = [bias + Σ_f w_f(x) + w_dense·dense]           linear    (lr, fm, wdl, deepfm)
//         + FM(e_1 … e_S)                                 fm        (fm, deepfm)
//         + MLP([e_1 … e_S, dense])  or  MLP(Cross(…))    deep      (dnn, wdl, deepfm, dcnv2)
//
// Fields with their own dim (FieldConfig.dim): one embedding bag per distinct width (embedding-groups.ts), and the deep
// input is the bags' outputs side by side, then the dense inputs. A uniform model has the one bag 'emb', as before.

import type { Batch } from '../core/batch.js';
import { ConfigError } from '../core/errors.js';
import { Rng } from '../core/rng.js';
import type { Indexer } from '../embedding/table.js';
import type { GemmProvider, Ops } from '../kernels/ops.js';
import { CrossNetwork } from '../nn/cross.js';
import { EmbeddingBag, EmbeddingLayout } from '../nn/embedding-bag.js';
import { FmInteraction } from '../nn/fm.js';
import type { LayerContext } from '../nn/layer.js';
import { bceWithLogits } from '../nn/loss.js';
import { Mlp } from '../nn/mlp.js';
import { DenseAdam } from '../nn/optim/adam.js';
import { normalizeOptim, type NormalizedOptimConfig, type OptimConfig } from '../nn/optim/config.js';
import { SparseOptimizer, type SparseStateShared } from '../nn/optim/sparse.js';
import { DenseParams, type NamedParam } from '../nn/params.js';
import { TrackedOps } from '../nn/tracked-ops.js';
import type { NormalizedModelConfig } from './config.js';
import { EmbeddingGroups } from './embedding-groups.js';

/** Which terms an architecture sums into its logit. */
export interface ArchParts {
  linear: boolean;
  fm: boolean;
  /** Deep tower (hidden layers from config.mlp, then a Linear to 1). */
  deep: boolean;
  /** DCN-v2 cross network in front of the deep tower. */
  cross: boolean;
}

/** Memory another thread created, to run the same model on it (see train/worker.ts). */
export interface SharedModelState {
  dense: Float32Array;
  /** Running statistics; omit to keep private ones (only one thread should update the shared copy). */
  buffers?: Float32Array;
  tables: Record<string, Float32Array>;
  sparseState: Record<string, SparseStateShared>;
  /** Dense Adam moments, for threads that step a range of the dense parameters (applyDenseRange). */
  denseAdam?: { m: Float32Array; v: Float32Array };
}

export interface ModelDeps {
  ops: Ops;
  /** Dense GEMM provider. @default the ops' own gemm */
  gemm?: GemmProvider;
  /** Largest batch forward/predict will see. @default 1024 */
  maxBatch?: number;
  optim?: OptimConfig;
  /** One indexer per field; built from the config's index specs when omitted. */
  indexers?: Indexer[];
  /** Run on another thread's parameters instead of initializing new ones. */
  attach?: SharedModelState;
}

/** One bag's touched rows and their merged gradients after forwardBackward (views of the bag's buffers). */
export interface SparseGrad {
  /** The table: 'emb', 'emb_d<D>' (fields of their own dim D) or 'linear' (parameter name without '.table'). */
  name: string;
  dim: number;
  /** Rows in the table (numRows × dim floats). */
  numRows: number;
  /** rows[0..count) are distinct; grad holds count × dim. */
  rows: Int32Array;
  grad: Float32Array;
  count: number;
}

export interface ForwardBackwardOptions {
  /** Gradient scale: 1/B for a batch mean (the default), 1/B_total when this is one shard of a larger batch. */
  scale?: number;
  /** Keys the dropout masks. @default derived from the seed and step */
  dropoutSeed?: number;
}

/**
 * Name of the optional model-file tensor with the deep tower's calibrated input ranges (Mlp.setInputRanges): not a
 * parameter (parameters() leaves it out, so files without it still load), read by loadParameters when present.
 */
export const INPUT_RANGES_TENSOR = 'mlp.input_ranges';

function mix(a: number, b: number): number {
  let h = Math.imul(a ^ 0x9e3779b9, 0x85ebca6b) ^ Math.imul(b + 0x632be5ab, 0xc2b2ae35);
  h ^= h >>> 15;
  h = Math.imul(h, 0x2c1b3c6d);
  return (h ^ (h >>> 12)) | 0;
}

export class CtrModel {
  readonly config: NormalizedModelConfig;
  readonly parts: ArchParts;
  readonly maxBatch: number;
  /** The backend, wrapped so that dispose() can free everything this model allocated. */
  readonly ops: TrackedOps;
  readonly params = new DenseParams();
  readonly buffers = new DenseParams();
  /** Every field's rows (the linear term's, and the embedding's in a uniform model). */
  readonly layout: EmbeddingLayout;
  /** The embedding bag of a uniform model (every field one dim); null without embeddings or with mixed dims. */
  readonly emb: EmbeddingBag | null;
  /** Every embedding bag: one per distinct field dim (a uniform model: [emb]); none without embeddings. */
  readonly embs: EmbeddingBag[];
  /** The bags with their fields; null without embeddings (lr). */
  readonly groups: EmbeddingGroups | null;
  readonly lin: EmbeddingBag | null;
  readonly fm: FmInteraction | null;
  readonly cross: CrossNetwork | null;
  readonly mlp: Mlp | null;
  optim: NormalizedOptimConfig;
  /** Optimizer steps taken (1-based step of the next update is step + 1). */
  step = 0;

  private readonly ctx: LayerContext;
  private linDense: Float32Array = new Float32Array(0);
  private dLinDense: Float32Array = new Float32Array(0);
  private linBias: Float32Array = new Float32Array(0);
  private dLinBias: Float32Array = new Float32Array(0);
  private readonly deepIn: Float32Array | null;
  private readonly deepWidth: number;
  private readonly logits: Float32Array;
  private readonly dlogits: Float32Array;
  /** Labels copied into backend memory (batches come from plain arrays; WASM kernels need their own memory). */
  private readonly labelBuf: Float32Array;
  private readonly probs: Float32Array;
  private probsView: Float32Array = new Float32Array(0);
  private readonly dEmb: Float32Array;
  private readonly dLin: Float32Array;
  private readonly embWidth: number;
  // Row-wise optimizer state (2× the table for Adam) is created on first use, so predict-only models skip it.
  private embOpts: SparseOptimizer[] | null = null;
  private linOpt: SparseOptimizer | null = null;
  private readonly attachedState: SharedModelState['sparseState'] | null;
  private readonly attachedAdam: SharedModelState['denseAdam'] | null;
  private adam: DenseAdam | null = null;

  constructor(config: NormalizedModelConfig, parts: ArchParts, indexers: Indexer[], deps: ModelDeps) {
    this.config = config;
    this.parts = parts;
    this.ops = new TrackedOps(deps.ops);
    this.maxBatch = deps.maxBatch ?? 1024;
    if (!(Number.isInteger(this.maxBatch) && this.maxBatch >= 1)) throw new ConfigError(`maxBatch: must be a positive integer, got ${String(deps.maxBatch)}`, { key: 'maxBatch' });
    if (indexers.length !== config.fields.length) throw new ConfigError(`indexers: ${indexers.length} given for ${config.fields.length} fields`);
    const ops = this.ops;
    const raw = deps.ops;
    const gemm: GemmProvider = deps.gemm ?? { name: raw.name, gemm: (ta, tb, m, n, k, al, a, b, be, c) => raw.gemm(ta, tb, m, n, k, al, a, b, be, c) };
    const ctx: LayerContext = { ops, gemm, maxBatch: this.maxBatch };
    this.ctx = ctx;
    this.optim = normalizeOptim(deps.optim);
    const B = this.maxBatch;
    const nd = config.numDense;

    this.layout = new EmbeddingLayout(
      ops,
      config.fields.map((f, i) => ({ indexer: indexers[i], fusion: f.fusion, pooling: f.pooling })),
      B,
    );
    const needEmb = parts.fm || parts.deep || parts.cross;
    this.groups = needEmb ? new EmbeddingGroups(ctx, this.params, config, this.layout) : null;
    this.embs = this.groups?.bags ?? [];
    this.emb = this.groups?.uniform === true ? this.embs[0] : null;
    this.lin = parts.linear ? new EmbeddingBag(ctx, this.params, 'linear', this.layout, { dim: 1, initStd: 0 }) : null;
    if (parts.linear) {
      if (nd > 0) {
        this.params.add('linear.dense_weight', [nd, 1], 'zeros', true, (w, g) => {
          this.linDense = w;
          this.dLinDense = g;
        });
      }
      this.params.add('linear.bias', [1], 'zeros', false, (w, g) => {
        this.linBias = w;
        this.dLinBias = g;
      });
    }
    this.fm = parts.fm && this.emb ? new FmInteraction(ctx, this.layout.segPerSample, config.dim) : null;
    const embWidth = this.groups?.width ?? 0;
    this.embWidth = embWidth;
    this.deepWidth = embWidth + nd;
    this.deepIn = (parts.deep || parts.cross) && nd > 0 ? ops.allocF32(B * this.deepWidth) : null;
    this.cross = parts.cross ? new CrossNetwork(ctx, this.params, 'cross', this.deepWidth, config.crossLayers) : null;
    this.mlp = parts.deep || parts.cross ? new Mlp(ctx, this.params, this.buffers, 'mlp', this.deepWidth, { hidden: config.mlp, outDim: 1, dropout: config.dropout, batchNorm: config.batchNorm }) : null;

    this.logits = ops.allocF32(B);
    this.dlogits = ops.allocF32(B);
    this.labelBuf = ops.allocF32(B);
    this.probs = ops.allocF32(B);
    this.dEmb = ops.allocF32(B * embWidth);
    this.dLin = ops.allocF32(this.lin ? B * this.lin.width : 0);

    const alloc = (n: number): Float32Array => ops.allocF32(n);
    const rng = new Rng(config.seed);
    const a = deps.attach;
    if (a) {
      this.params.attach(a.dense, alloc);
      if (a.buffers) this.buffers.attach(a.buffers, alloc);
      else this.buffers.allocate(alloc, rng.fork(3));
      for (const bag of this.bags()) {
        const t = a.tables[bag.name];
        if (!t) throw new ConfigError(`attach: no table '${bag.name}'`);
        bag.attachTable(t);
      }
    } else {
      this.params.allocate(alloc, rng.fork(1));
      this.buffers.allocate(alloc, rng.fork(3));
      // The first bag draws from the stream a uniform model's one table always drew from; the others from their own.
      this.embs.forEach((bag, g) => bag.allocateTable(rng.fork(g === 0 ? 2 : 16 + g)));
      this.lin?.allocateTable(rng.fork(4));
    }
    this.attachedState = a?.sparseState ?? null;
    this.attachedAdam = a?.denseAdam ?? null;
  }

  private bags(): EmbeddingBag[] {
    const out: EmbeddingBag[] = [...this.embs];
    if (this.lin) out.push(this.lin);
    return out;
  }

  /** Logits for the batch (a view of an internal buffer, valid until the next call). */
  async forward(batch: Batch, train: boolean, dropoutSeed = 0): Promise<Float32Array> {
    return this.forwardParts(batch, train, dropoutSeed, true);
  }

  /** The deep tower's input of the last forwardParts (embeddings, or embeddings + dense). */
  private deepX: Float32Array = new Float32Array(0);

  // deep = false leaves the MLP out of the logits (the fused training step adds it), after preparing deepX.
  private async forwardParts(batch: Batch, train: boolean, dropoutSeed: number, deep: boolean): Promise<Float32Array> {
    const B = batch.size;
    if (B > this.maxBatch) throw new ConfigError(`batch: size ${B} exceeds maxBatch ${this.maxBatch}`, { key: 'maxBatch' });
    const nd = this.config.numDense;
    if (nd > 0 && (batch.dense === null || batch.dense.length < B * nd)) throw new ConfigError(`batch: the model needs ${nd} dense inputs per sample`, { key: 'numDense' });
    // The model's layout serves the linear term and a uniform model's bag; mixed widths lay out each group's own.
    if (this.emb !== null || this.lin !== null) this.layout.build(batch, !train);
    this.groups?.build(batch, !train);
    const logits = this.logits;
    logits.fill(0, 0, B);
    if (this.lin) {
      const lo = this.lin.forward();
      const S = this.lin.width;
      const bias = this.linBias[0];
      const dense = batch.dense;
      for (let b = 0; b < B; b++) {
        let s = bias;
        for (let j = 0; j < S; j++) s += lo[b * S + j];
        for (let i = 0; i < nd; i++) s += (dense as Float32Array)[b * nd + i] * this.linDense[i];
        logits[b] += s;
      }
    }
    if (this.groups !== null) {
      // Inference straight into the fused tower: the embeddings may stay out of WASM memory (no copy for onnxruntime).
      const plain = !train && this.fm === null && this.cross === null && this.deepIn === null && this.mlp !== null && this.mlp.infersOnTower(B);
      const E = this.groups.forward(B, plain);
      if (this.fm) this.ctx.ops.axpy(1, this.fm.forward(E, B), logits, B);
      if (this.mlp) {
        let x = E;
        if (this.deepIn) {
          const W = this.embWidth;
          const D = this.deepWidth;
          const din = this.deepIn;
          const dense = batch.dense as Float32Array;
          for (let b = 0; b < B; b++) {
            for (let j = 0; j < W; j++) din[b * D + j] = E[b * W + j];
            for (let i = 0; i < nd; i++) din[b * D + W + i] = dense[b * nd + i];
          }
          x = din;
        }
        if (this.cross) x = await this.cross.forward(x, B);
        this.deepX = x;
        if (deep) {
          this.mlp.sampleWeights = train ? (batch.sampleWeights ?? null) : null;
          const y = await this.mlp.forward(x, B, train, dropoutSeed);
          this.ctx.ops.axpy(1, y, logits, B);
        }
      }
    }
    return logits;
  }

  /**
   * Forward in training mode and backward of Σ_i w_i · bce_i · scale (w_i: the batch's sample weights, 1 without).
   * Leaves dense gradients in params.grad and each bag's touched rows in uniqueRows/gradRows; changes no parameter.
   * Returns Σ_i w_i · bce_i (unscaled).
   */
  async forwardBackward(batch: Batch, opts: ForwardBackwardOptions = {}): Promise<number> {
    const B = batch.size;
    const seed = opts.dropoutSeed ?? mix(this.config.seed, this.step);
    const sw = batch.sampleWeights ?? null;
    const scale = opts.scale ?? (B > 0 ? 1 / B : 1);
    // Without a cross network, a fused tower runs the MLP's forward, loss gradient and backward as one call; it
    // takes the loss gradient as it computes it, so weighted rows go the unfused way (dlogits scaled per row).
    const fused = sw === null && this.mlp !== null && this.embs.length > 0 && this.cross === null && this.mlp.canTrainStep;
    const logits = await this.forwardParts(batch, true, seed, !fused);
    const dl = this.dlogits;
    for (let i = 0; i < B; i++) this.labelBuf[i] = batch.labels[i];
    let dxDeep: Float32Array | null = null;
    if (fused) dxDeep = (this.mlp as Mlp).trainStep(this.deepX, B, logits, this.labelBuf, scale, logits);
    let loss = bceWithLogits(this.ops, logits, this.labelBuf, B, dl, scale);
    if (sw !== null) loss = weightLossGrad(logits, this.labelBuf, sw, B, dl);
    const nd = this.config.numDense;
    if (this.lin) {
      const S = this.lin.width;
      let db = 0;
      for (let b = 0; b < B; b++) {
        const g = dl[b];
        db += g;
        for (let j = 0; j < S; j++) this.dLin[b * S + j] = g;
      }
      this.dLinBias[0] = db;
      if (nd > 0) {
        const dense = batch.dense as Float32Array;
        for (let i = 0; i < nd; i++) {
          let s = 0;
          for (let b = 0; b < B; b++) s += dl[b] * dense[b * nd + i];
          this.dLinDense[i] = s;
        }
      }
      this.lin.backward(this.dLin);
    }
    if (this.groups !== null) {
      const W = this.embWidth;
      let dE = this.dEmb;
      if (this.mlp) {
        let dx = dxDeep ?? (await this.mlp.backward(dl, B));
        if (this.cross) dx = await this.cross.backward(dx, B);
        const D = this.deepWidth;
        // Without dense inputs the tower's input gradient is exactly B × W: use it in place (nothing reads it later).
        if (D === W) dE = dx;
        else for (let b = 0; b < B; b++) for (let j = 0; j < W; j++) dE[b * W + j] = dx[b * D + j];
      } else dE.fill(0, 0, B * W);
      if (this.fm && this.emb) this.fm.backward(this.emb.out, dl, B, dE);
      this.groups.backward(dE, B);
    }
    return loss;
  }

  private sparseOptimizers(): SparseOptimizer[] {
    if (this.embOpts === null) {
      const kind = this.optim.embeddingOptimizer;
      const st = this.attachedState;
      this.embOpts = this.embs.map((bag) => new SparseOptimizer(this.ops, kind, bag.table.length, st?.[bag.name], bag.dim, bag.external));
      if (this.lin) this.linOpt = new SparseOptimizer(this.ops, kind, this.lin.table.length, st?.linear, this.lin.dim, this.lin.external);
    }
    return this.linOpt === null ? this.embOpts : [...this.embOpts, this.linOpt];
  }

  /** Row-wise optimizer on the rows the last forwardBackward touched (t: 1-based global step). */
  applySparse(t: number): void {
    const opts = this.sparseOptimizers();
    this.bags().forEach((bag, i) => opts[i].update(bag.table, bag.dim, bag.uniqueRows, bag.nUnique, bag.gradRows, this.optim, t));
  }

  /** The rows the last forwardBackward touched, per table, with their gradients (what applySparse consumes). */
  sparseGrads(): SparseGrad[] {
    return this.bags().map((b) => ({ name: b.name, dim: b.dim, numRows: b.layout.totalRows, rows: b.uniqueRows, grad: b.gradRows, count: b.nUnique }));
  }

  /**
   * Row-wise optimizer step on table `name` for `count` distinct rows with the given gradients (count × dim): what
   * applySparse does with this model's own rows, for gradients merged elsewhere (train/sparse-sync.ts).
   */
  applySparseRows(name: string, rows: Int32Array, count: number, grad: Float32Array, t: number): void {
    const opts = this.sparseOptimizers();
    const i = this.bags().findIndex((b) => b.name === name);
    if (i < 0) throw new ConfigError(`applySparseRows: no table '${name}'`, { key: 'name' });
    const bag = this.bags()[i];
    opts[i].update(bag.table, bag.dim, rows, count, grad, this.optim, t);
  }

  /** One Adam step on the dense parameters with `grad` (default: this model's own gradient). */
  applyDense(t: number, grad?: Float32Array): void {
    this.denseAdam().step(this.optim, t, grad);
  }

  /** applyDense on parameters [lo, hi) only (threads stepping disjoint ranges of shared weights). */
  applyDenseRange(t: number, grad: Float32Array, lo: number, hi: number): void {
    this.denseAdam().stepRange(this.optim, t, grad, lo, hi);
  }

  private denseAdam(): DenseAdam {
    if (this.adam === null) this.adam = new DenseAdam(this.ops, this.params, this.attachedAdam ?? undefined);
    return this.adam;
  }

  /** forwardBackward + both optimizer steps. Returns the batch's mean loss. */
  async trainStep(batch: Batch): Promise<number> {
    const loss = await this.forwardBackward(batch);
    const t = ++this.step;
    this.applySparse(t);
    this.applyDense(t);
    return batch.size > 0 ? loss / batch.size : 0;
  }

  /** Click probabilities for the batch (a view of an internal buffer of length batch.size, valid until the next call). */
  async predict(batch: Batch): Promise<Float32Array> {
    const z = await this.forward(batch, false);
    this.ops.sigmoid(z, this.probs, batch.size);
    if (this.probsView.length !== batch.size) this.probsView = this.probs.subarray(0, batch.size);
    return this.probsView;
  }

  /** Every tensor by name: dense weights, embedding tables ('emb.table', 'linear.table') and BN running stats. */
  parameters(): NamedParam[] {
    const out: NamedParam[] = this.params.list();
    for (const bag of this.bags()) out.push({ name: `${bag.name}.table`, shape: [bag.layout.totalRows, bag.dim], data: bag.table, kind: 'embedding' });
    for (const p of this.buffers.list()) out.push({ ...p, kind: 'buffer' });
    return out;
  }

  /**
   * Copy tensors in by name; every model tensor must be present with the same size. The optional calibration
   * tensor (INPUT_RANGES_TENSOR) sets the tower's input ranges when present; when absent they stay as they were.
   */
  loadParameters(tensors: { name: string; data: Float32Array }[]): void {
    const byName = new Map(tensors.map((t) => [t.name, t.data]));
    for (const p of this.parameters()) {
      const src = byName.get(p.name);
      if (!src) throw new ConfigError(`load: tensor '${p.name}' missing`, { key: p.name });
      if (src.length !== p.data.length) throw new ConfigError(`load: tensor '${p.name}' has ${src.length} values, the model needs ${p.data.length}`, { key: p.name });
      p.data.set(src);
    }
    const ranges = byName.get(INPUT_RANGES_TENSOR);
    if (ranges !== undefined && this.mlp !== null) this.mlp.setInputRanges(ranges);
  }

  /**
   * Measures the deep tower's input ranges (each layer's input min/max, fp32 as inference computes it) over the
   * given batches and keeps them (Mlp.setInputRanges), replacing earlier ones: what precision 'int8-static' needs.
   * Use a few tens of thousands of representative rows (the trainer's pipeline uses up to 65,536 training rows).
   * @example
   * await model.calibrate([batch1, batch2]);   // then predict with an 'int8-static' GEMM provider
   */
  async calibrate(batches: Iterable<Batch> | AsyncIterable<Batch>): Promise<void> {
    const mlp = this.mlp;
    if (mlp === null) throw new ConfigError(`calibrate: arch '${this.config.arch}' has no deep tower to calibrate`, { key: 'arch' });
    const ranges = new Float32Array(2 * mlp.numLayers);
    for (let i = 0; i < mlp.numLayers; i++) {
      ranges[2 * i] = Infinity;
      ranges[2 * i + 1] = -Infinity;
    }
    let rows = 0;
    for await (const batch of batches) {
      if (batch.size === 0) continue;
      await this.forwardParts(batch, false, 0, false);
      await mlp.recordInputRanges(this.deepX, batch.size, ranges);
      rows += batch.size;
    }
    if (rows === 0) throw new ConfigError('calibrate: no rows given', { key: 'batches' });
    mlp.setInputRanges(ranges);
  }

  /** The calibration tensor for a model file (INPUT_RANGES_TENSOR, [layers, 2]), or null when never calibrated. */
  inputRangesTensor(): { name: string; shape: number[]; data: Float32Array } | null {
    const r = this.mlp?.inputRanges() ?? null;
    return r === null ? null : { name: INPUT_RANGES_TENSOR, shape: [r.length / 2, 2], data: r };
  }

  /** The memory a worker thread attaches to (see SharedModelState). */
  sharedState(): SharedModelState {
    const opts = this.sparseOptimizers();
    const tables: Record<string, Float32Array> = {};
    const sparseState: SharedModelState['sparseState'] = {};
    this.bags().forEach((bag, i) => {
      tables[bag.name] = bag.table;
      sparseState[bag.name] = opts[i].shared;
    });
    const adam = this.denseAdam();
    return { dense: this.params.data, buffers: this.buffers.data, tables, sparseState, denseAdam: { m: adam.m, v: adam.v } };
  }

  /**
   * Give every backend array this model allocated back to the backend (tables, activations, optimizer state;
   * memory attached from another thread is not touched). The model must not be used afterwards.
   */
  dispose(): void {
    this.mlp?.dispose();
    this.ops.releaseAll();
    this.adam = null;
  }

  /**
   * The optimizer state as named tensors (copies): dense Adam moments ('optim.dense.m' / '.v') and each table's row
   * state ('optim.emb.state1', …; read out of row shards when it lives there), for checkpoints (train/resume/).
   */
  optimizerTensors(): { name: string; shape: number[]; data: Float32Array }[] {
    this.sparseOptimizers();
    const adam = this.denseAdam();
    const out: { name: string; shape: number[]; data: Float32Array }[] = [
      { name: 'optim.dense.m', shape: [adam.m.length], data: adam.m.slice() },
      { name: 'optim.dense.v', shape: [adam.v.length], data: adam.v.slice() },
    ];
    for (const { bag, opt, a, name } of this.rowStateArrays()) {
      const rs = opt.rowState;
      let data: Float32Array;
      if (rs !== null) {
        data = new Float32Array(rs.numRows * rs.dim);
        forRowBlocks(rs.numRows, rs.dim, (r, n) => rs.read(a, r, n, data.subarray(r * rs.dim, (r + n) * rs.dim)));
      } else data = (a === 0 ? opt.state1 : opt.state2).slice();
      out.push({ name, shape: [bag.table.length / bag.dim, bag.dim], data });
    }
    return out;
  }

  /** Each table's sparse optimizer state arrays (Adam 2, Adagrad 1, SGD none), named as in optimizerTensors(). */
  private *rowStateArrays(): Generator<{ bag: EmbeddingBag; opt: SparseOptimizer; a: number; name: string }> {
    const opts = this.sparseOptimizers();
    const bags = this.bags();
    for (let i = 0; i < bags.length; i++) {
      const bag = bags[i];
      const opt = opts[i];
      const arrays = opt.kind === 'adam' ? 2 : opt.kind === 'adagrad' ? 1 : 0;
      for (let a = 0; a < arrays; a++) yield { bag, opt, a, name: `optim.${bag.name}.state${a + 1}` };
    }
  }

  /** Set the optimizer state from optimizerTensors() output (every tensor this optimizer needs, same sizes). */
  loadOptimizerTensors(tensors: { name: string; data: Float32Array }[]): void {
    this.sparseOptimizers();
    const adam = this.denseAdam();
    const byName = new Map(tensors.map((t) => [t.name, t.data]));
    const take = (name: string, n: number): Float32Array => {
      const src = byName.get(name);
      if (src === undefined) throw new ConfigError(`load: optimizer tensor '${name}' missing (another optimizer?)`, { key: name });
      if (src.length !== n) throw new ConfigError(`load: optimizer tensor '${name}' has ${src.length} values, the model needs ${n}`, { key: name });
      return src;
    };
    adam.m.set(take('optim.dense.m', adam.m.length));
    adam.v.set(take('optim.dense.v', adam.v.length));
    for (const { bag, opt, a, name } of this.rowStateArrays()) {
      const src = take(name, bag.table.length);
      const rs = opt.rowState;
      if (rs !== null) forRowBlocks(rs.numRows, rs.dim, (r, n) => rs.write(a, r, n, src.subarray(r * rs.dim, (r + n) * rs.dim)));
      else (a === 0 ? opt.state1 : opt.state2).set(src);
    }
  }

  /** Zero optimizer state (Adam moments, sparse accumulators) and the step counter. */
  resetOptimizer(): void {
    this.adam?.reset();
    for (const o of this.embOpts ?? []) o.reset();
    this.linOpt?.reset();
    this.step = 0;
  }
}

/** Rows [0, numRows) in blocks of about 2^20 floats (row shards are read and written a block at a time). */
function forRowBlocks(numRows: number, dim: number, f: (row: number, n: number) => void): void {
  const step = Math.max(1, Math.floor(2 ** 20 / dim));
  for (let r = 0; r < numRows; r += step) f(r, Math.min(step, numRows - r));
}

/**
 * Sample weights on a computed loss gradient: dl_i ← w_i·dl_i, and the weighted loss Σ_i w_i·bce_i (bce as in
 * kernels/reference.ts, in float64) — what the rows would give repeated w_i times.
 */
function weightLossGrad(logits: Float32Array, labels: Float32Array, w: Float32Array, n: number, dl: Float32Array): number {
  let total = 0;
  for (let i = 0; i < n; i++) {
    const z = logits[i];
    total += w[i] * (Math.max(z, 0) - z * labels[i] + Math.log1p(Math.exp(-Math.abs(z))));
    dl[i] *= w[i];
  }
  return total;
}
