// The training loop: shuffled mini-batches, epochs, validation AUC with early stopping (best weights restored),
// seeded so one thread reproduces a run bit for bit. With threads: N it runs synchronous data parallelism over
// worker_threads on shared memory:
//   - each batch is split into N shards; thread w (the main thread is w = 0) runs forward/backward on shard w
//     with the loss scaled by 1/B, so the shard gradients sum to the full-batch gradient;
//   - embedding rows (sparseSync 'merged', the default): after a barrier, thread w sums the gradients of the rows
//     it owns (runs of 16 rows, ⌊row/16⌋ mod N = w) over all shards in shard order and takes one optimizer step per row
//     (train/sparse-sync.ts): the same lazy Adam / Adagrad / SGD and L2 as one thread on the full batch, up to
//     float summation order. 'hogwild': each thread steps its own shard's rows at once (Niu et al. 2011), so a
//     row two shards touch takes two smaller steps: a different optimizer;
//   - dense weights: after the same barrier, thread w sums the N dense gradients over its slice of the flat
//     parameters (thread order) and takes the Adam step on that slice of the shared weights and moments; every
//     thread finishes before the next step's forward: the same update as one thread on the full batch, up to
//     float summation order and dropout masks;
//   - batch norm normalizes per shard; the main thread's shard alone updates the running statistics.

import { TRAINING_DEFAULTS } from '../core/defaults.js';
import { MessageChannel, Worker, type MessagePort } from 'node:worker_threads';
import { meanScale, weightSum, type BatchBuffer } from '../core/batch.js';
import { BhembedError, ConfigError, fromPlain, toPlain, type PlainError } from '../core/errors.js';
import { batchBufferOf, checkColumns, type BatchShape, type Columns } from '../data/batches/columns.js';
import { MemorySource } from '../data/batches/memory.js';
import { isBatchSource, type BatchSource, type SourceState } from '../data/batches/source.js';
import { createGemmProvider, createOps, WasmOps, type GemmKind, type OpsKind } from '../kernels/index.js';
import type { GemmProvider, Ops } from '../kernels/ops.js';
import type { ModelConfig } from '../models/config.js';
import type { CtrModel } from '../models/ctr-model.js';
import { createModel } from '../models/registry.js';
import { normalizeOptim, type OptimConfig } from '../nn/optim/config.js';
import { BinaryMetrics, GroupAuc } from './metrics.js';
import type { GroupAucResult } from './metrics.js';
import {
  CMD_DATA,
  CMD_RUN,
  CMD_STOP,
  CTRL_CMD,
  CTRL_COUNT,
  CTRL_DONE,
  CTRL_ABORT,
  CTRL_BAR_GEN,
  CTRL_ERR,
  CTRL_ERR_FB,
  CTRL_GEN,
  CTRL_SIZE,
  CTRL_STEP,
  barrierAsync,
  finishStep,
  SharedReferenceOps,
  shardRange,
  shardSeed,
  StepAborted,
  waitAsync,
  type StepSync,
  type WorkerData,
  type WorkerInit,
} from './worker.js';
import { createExchange, freeExchange, SPARSE_SYNCS, SparseMerger, type SparseExchange, type SparseSync } from './sparse-sync.js';

export interface EarlyStoppingOptions {
  /** Evaluations without improvement before stopping. @default 2 */
  patience?: number;
  /** Smallest AUC gain that counts as an improvement. @default 0 */
  minDelta?: number;
}

export interface TrainerOptions {
  /** @default 256 */
  batchSize?: number;
  /** @default 1 */
  epochs?: number;
  /** Reshuffle the rows every epoch (rows given as Columns; a BatchSource shuffles as it was built to). @default true */
  shuffle?: boolean;
  /** Shuffling and dropout seed (the model's init seed is ModelConfig.seed). @default 1 */
  seed?: number;
  optim?: OptimConfig;
  /** Worker threads for data-parallel training (main thread included). @default 1 */
  threads?: number;
  /**
   * How threads > 1 update embedding rows. 'merged': each touched row gets one optimizer step with its gradient
   * summed over all shards (the same optimizer as one thread); 'hogwild': each thread steps its own shard's rows,
   * so a row in two shards takes two steps. No effect with one thread. @default 'merged'
   */
  sparseSync?: SparseSync;
  /** Evaluate the validation set every this many steps; 0 = at the end of each epoch. @default 0 */
  evalEvery?: number;
  /**
   * Early stopping on validation AUC (needs a validation set): stop after `patience` evaluations without a gain
   * and restore the best weights. false: train all epochs and keep the final weights (validation is still
   * reported). @default { patience: 2 }
   */
  earlyStopping?: EarlyStoppingOptions | false;
  /** Compute backend. @default 'auto' (WASM when it loads) */
  engine?: OpsKind;
  /** Dense GEMM provider. @default 'auto' */
  gemm?: GemmKind;
  /**
   * onnxruntime intra-op threads of the main thread's dense tower/GEMMs (training; workers always use 1). With
   * threads: 1 this parallelizes only the dense part inside each step. @default 1
   */
  gemmThreads?: number;
  /** onnxruntime intra-op threads for inference (predict/evaluate) through the fused tower. @default 2 when the machine has 2+ cores */
  inferThreads?: number;
  /** Use this backend instead of creating one (threads > 1 needs shared memory: WasmOps or SharedReferenceOps). */
  ops?: Ops;
  /** Progress callback (not part of any saved config). */
  onEvent?: (e: TrainEvent) => void;
  /** Called after every optimizer step (cheap; for progress bars). */
  onStep?: (s: StepProgress) => void;
  /** Hand a TrainerCheckpoint to onCheckpoint every this many training rows (counted over epochs, at step ends). */
  checkpointEvery?: number;
  /** Receives the checkpoints (e.g. train/resume/ writes them); training waits for it. */
  onCheckpoint?: (c: TrainerCheckpoint) => void | Promise<void>;
  /** Call onPublish every this many training rows (e.g. to write a numbered model file for a server). */
  publishEvery?: number;
  onPublish?: (rows: number) => void | Promise<void>;
}

/**
 * Where fit() is, as plain JSON: with the tensors of a TrainerCheckpoint and the same data, options and seed,
 * fit(…, { resume }) goes on exactly as the run that wrote it (1 thread: bit for bit). Dropout masks are keyed by
 * (seed, step), so the step is the whole RNG state besides the source's.
 */
export interface TrainerLoopState {
  epoch: number;
  step: number;
  /** Rows of the current epoch done. */
  epochRows: number;
  /** Rows done over all epochs. */
  rows: number;
  epochLoss: number;
  /** Σ sample weights of the current epoch's rows (epochRows when the rows carry none; absent in older checkpoints). */
  epochWeight?: number;
  evalLoss: number;
  evalCount: number;
  /** Early stopping: evaluations without a gain so far. */
  bad: number;
  /** The best evaluation's weights are among the tensors ('best.<name>'). */
  hasBest: boolean;
  best: FitResult['best'];
  history: FitResult['history'];
  /** The training source's position. */
  source: SourceState;
  /** fit() returned: the tensors are the final weights and `result` what it returned. */
  done: boolean;
  result?: FitResult;
}

/** A TrainerLoopState plus the tensors: weights, optimizer state ('optim.*') and the best weights ('best.*'). */
export interface TrainerCheckpoint {
  loop: TrainerLoopState;
  tensors: { name: string; shape: number[]; data: Float32Array }[];
}

export interface FitOptions {
  /** Go on from this checkpoint (same model config, data and options as the run that wrote it). */
  resume?: TrainerCheckpoint;
}

export interface StepProgress {
  epoch: number;
  /** 1-based global step. */
  step: number;
  /** Rows of this epoch done so far. */
  done: number;
  /** Rows per epoch (for a stream not yet read through: the rows done so far). */
  total: number;
  /** Summed (not mean) loss of this step's batch. */
  loss: number;
}

export interface TrainEvent {
  type: 'epoch' | 'eval';
  epoch: number;
  step: number;
  /** Mean training loss since the previous event of the same type. */
  trainLoss?: number;
  auc?: number;
  logloss?: number;
  seconds: number;
}

export interface EvalResult {
  auc: number;
  logloss: number;
  n: number;
  /** Σ sample weights of the rows when they carry weights (the metrics are then weighted); absent: unweighted. */
  weight?: number;
  /** With EvalOptions.groupField: group AUC over that field's values (train/metrics.ts GroupAuc). */
  group?: GroupAucResult;
}

export interface EvalOptions {
  /** Index of a single-valued field whose values group the rows for group AUC (one user, one query). */
  groupField?: number;
}

export interface FitResult {
  steps: number;
  epochs: number;
  /** Best validation result (with early stopping, the weights left in the model); null without a validation set. */
  best: (EvalResult & { step: number; epoch: number }) | null;
  history: { step: number; epoch: number; auc: number; logloss: number; trainLoss: number }[];
  stoppedEarly: boolean;
  /** Mean training loss of the last epoch. */
  trainLoss: number;
  seconds: number;
}

interface WorkerHandle {
  worker: Worker;
  /** Carries each fit's shared batch buffer (read synchronously by the worker on CMD_DATA). */
  port: MessagePort;
  grad: Float32Array;
  errors: PlainError[];
}

/** A source's batches must have the model's fields and dense width. */
function checkShape(shape: BatchShape, numFields: number, numDense: number, what: string): void {
  if (shape.fields.length !== numFields) throw new ConfigError(`${what}: ${shape.fields.length} fields, the model has ${numFields}`);
  if (shape.numDense !== numDense) throw new ConfigError(`${what}: ${shape.numDense} dense inputs per row, the model expects ${numDense}`, { key: 'numDense' });
}

let eventsDue = 0;

/**
 * Steps run synchronously between awaits of resolved promises, which never let timers or signal handlers in: Ctrl-C
 * went unanswered until training ended. Every ~100 ms, wait one macrotask (setImmediate: ~µs) so they run.
 */
async function letEventsIn(): Promise<void> {
  const now = performance.now();
  if (now < eventsDue) return;
  eventsDue = now + 100;
  await new Promise<void>((resolve) => setImmediate(resolve));
}

/**
 * Non-finite loss or NaN scores: the weights blew up (learning rate or initial weights far too large). A ConfigError
 * (the settings, not the data, are at fault); details.diverged lets the CLI name its flags.
 */
function divergedError(epoch: number, step: number, what: string): ConfigError {
  return new ConfigError(
    `training diverged at epoch ${epoch + 1} step ${step} (${what}); lower the learning rate (lr) or the initial weight scale (initStd)`,
    { key: 'lr', diverged: true, epoch: epoch + 1, step, what },
  );
}

/**
 * @example
 * const trainer = await Trainer.create({ arch: 'dnn', dim: 16, mlp: [64], fields }, { epochs: 3, threads: 2 });
 * const result = await trainer.fit(trainSet, validSet);   // best-AUC weights restored
 * const { auc } = await trainer.evaluate(testSet);
 * await trainer.close();
 */
export class Trainer {
  readonly model: CtrModel;
  readonly ops: Ops;
  readonly threads: number;
  private readonly opts: Required<Pick<TrainerOptions, 'batchSize' | 'epochs' | 'shuffle' | 'seed' | 'evalEvery'>> & TrainerOptions;
  private readonly gemmKind: GemmKind;
  private workers: WorkerHandle[] = [];
  private ctrl: Int32Array | null = null;
  private losses: Float64Array | null = null;
  /** The buffers of the shared batch the workers hold (re-sent when the batch grows). */
  private sentVersion = -1;
  private sync: StepSync | null = null;
  private exchange: SparseExchange | null = null;
  private merger: SparseMerger | null = null;
  private step = 0;
  /** The epoch (0-based) fit() is in or last ran, for the divergence message of evaluate(). */
  private epoch = 0;

  private constructor(model: CtrModel, ops: Ops, opts: TrainerOptions, gemmKind: GemmKind) {
    this.model = model;
    this.ops = ops;
    this.threads = opts.threads ?? TRAINING_DEFAULTS.threads;
    this.gemmKind = gemmKind;
    this.opts = { batchSize: TRAINING_DEFAULTS.batchSize, epochs: TRAINING_DEFAULTS.epochs, shuffle: true, seed: TRAINING_DEFAULTS.seed, evalEvery: 0, ...opts };
  }

  static async create(config: ModelConfig, opts: TrainerOptions = {}): Promise<Trainer> {
    const threads = opts.threads ?? TRAINING_DEFAULTS.threads;
    if (!Number.isInteger(threads) || threads < 1) throw new ConfigError(`threads: must be a positive integer, got ${String(opts.threads)}`, { key: 'threads' });
    const batchSize = opts.batchSize ?? TRAINING_DEFAULTS.batchSize;
    if (!Number.isInteger(batchSize) || batchSize < 1) throw new ConfigError(`batchSize: must be a positive integer, got ${String(opts.batchSize)}`, { key: 'batchSize' });
    const epochs = opts.epochs ?? TRAINING_DEFAULTS.epochs;
    if (!Number.isInteger(epochs) || epochs < 1) throw new ConfigError(`epochs: must be a positive integer, got ${String(opts.epochs)}`, { key: 'epochs' });
    let ops = opts.ops ?? (await createOps(opts.engine ?? 'auto'));
    if (threads > 1 && !(ops instanceof WasmOps)) {
      if (opts.ops && !(ops instanceof SharedReferenceOps)) throw new ConfigError('threads > 1 needs a shared-memory backend (WasmOps or SharedReferenceOps)', { key: 'threads' });
      if (!(ops instanceof SharedReferenceOps)) ops = new SharedReferenceOps();
    }
    if (opts.sparseSync !== undefined && !SPARSE_SYNCS.includes(opts.sparseSync)) {
      throw new ConfigError(`sparseSync: '${String(opts.sparseSync)}' is not one of ${SPARSE_SYNCS.join(' | ')}`, { key: 'sparseSync' });
    }
    const gemmKind = opts.gemm ?? 'auto';
    const gemm: GemmProvider = await createGemmProvider(gemmKind, ops, { intraOpNumThreads: opts.gemmThreads, inferThreads: opts.inferThreads });
    const model = createModel(config, { ops, gemm, maxBatch: batchSize, optim: normalizeOptim(opts.optim) });
    const trainer = new Trainer(model, ops, opts, gemmKind);
    // The worker threads start now (each builds its model over the shared weights and its GEMM sessions), so fit()
    // only hands them the dataset; close() stops them and a later fit() starts them again.
    if (threads > 1) {
      try {
        await trainer.startWorkers();
      } catch (e) {
        model.dispose();
        throw e;
      }
    }
    return trainer;
  }

  /**
   * Train on `train` (rows in memory, shuffled each epoch, or any BatchSource), evaluating on `valid` (if given)
   * for early stopping; the best weights stay in the model.
   */
  async fit(train: Columns | BatchSource, valid?: Columns | BatchSource, fitOpts: FitOptions = {}): Promise<FitResult> {
    // Idle workers do not keep the process alive (a forgotten close() cannot hang it); training ones do.
    const ref = (on: boolean): void => this.workers.forEach((w) => (on ? w.worker.ref() : w.worker.unref()));
    ref(true);
    try {
      return await this.fitLoop(train, valid, fitOpts.resume);
    } finally {
      ref(false);
    }
  }

  private async fitLoop(trainIn: Columns | BatchSource, validIn?: Columns | BatchSource, resume?: TrainerCheckpoint): Promise<FitResult> {
    const t0 = performance.now();
    const { batchSize, epochs, shuffle, evalEvery } = this.opts;
    const train = this.sourceOf(trainIn, 'train', { shuffle, seed: this.opts.seed });
    const valid = validIn === undefined ? undefined : this.sourceOf(validIn, 'valid', {});
    const es = this.opts.earlyStopping === false || !valid ? null : { patience: this.opts.earlyStopping?.patience ?? TRAINING_DEFAULTS.patience, minDelta: this.opts.earlyStopping?.minDelta ?? 0 };
    // No step has more rows than a pass (a buffer larger than the data only reserves memory).
    const cap = Math.max(1, Math.min(batchSize, train.rowsPerPass ?? batchSize));
    const batch = batchBufferOf(train.shape, cap, this.threads > 1);
    if (this.threads > 1) {
      if (this.workers.length === 0) {
        await this.startWorkers();
        for (const w of this.workers) w.worker.ref();
      }
      this.sentVersion = -1;
      await this.shareBatch(batch);
    }
    const history: FitResult['history'] = [];
    let best: FitResult['best'] = null;
    let snapshot: Float32Array[] | null = null;
    let bad = 0;
    let stopped = false;
    let epochLoss = 0;
    let epochWeight = 0;
    let evalLoss = 0;
    let evalCount = 0;
    let epoch = 0;

    const evaluateNow = async (): Promise<boolean> => {
      if (!valid) return false;
      const r = await this.evaluate(valid);
      const trainLoss = evalCount > 0 ? evalLoss / evalCount : NaN;
      evalLoss = 0;
      evalCount = 0;
      history.push({ step: this.step, epoch, auc: r.auc, logloss: r.logloss, trainLoss });
      this.opts.onEvent?.({ type: 'eval', epoch, step: this.step, trainLoss, auc: r.auc, logloss: r.logloss, seconds: (performance.now() - t0) / 1000 });
      if (best === null || r.auc > best.auc + (es?.minDelta ?? 0) || (Number.isNaN(best.auc) && !Number.isNaN(r.auc))) {
        best = { ...r, step: this.step, epoch };
        if (es !== null) snapshot = this.snapshot(snapshot);
        bad = 0;
      } else bad++;
      return es !== null && bad >= es.patience;
    };

    let n = 0;
    let rows = 0;
    let firstEpoch = 0;
    let resumed = false;
    const every = this.opts.checkpointEvery ?? 0;
    const publishEvery = this.opts.publishEvery ?? 0;
    const capture = (done: boolean, result?: FitResult): TrainerCheckpoint => {
      const tensors: TrainerCheckpoint['tensors'] = this.model.parameters().map((p) => ({ name: p.name, shape: p.shape, data: p.data.slice() }));
      tensors.push(...this.model.optimizerTensors());
      const snap = snapshot as Float32Array[] | null;
      if (snap !== null && !done) this.model.parameters().forEach((p, i) => tensors.push({ name: `best.${p.name}`, shape: p.shape, data: snap[i].slice() }));
      const loop: TrainerLoopState = { epoch, step: this.step, epochRows: n, rows, epochLoss, epochWeight, evalLoss, evalCount, bad, hasBest: snap !== null && !done, best, history: history.slice(), source: train.state(), done };
      if (result !== undefined) loop.result = result;
      return { loop, tensors };
    };
    if (resume !== undefined) {
      const L = resume.loop;
      this.model.loadParameters(resume.tensors);
      this.model.loadOptimizerTensors(resume.tensors);
      this.step = L.step;
      this.model.step = L.step;
      if (L.done && L.result !== undefined) return { ...L.result, history: L.result.history.slice() };
      if (L.hasBest) {
        const byName = new Map(resume.tensors.map((t) => [t.name, t.data]));
        snapshot = this.model.parameters().map((p) => {
          const d = byName.get(`best.${p.name}`);
          if (d === undefined || d.length !== p.data.length) throw new ConfigError(`resume: the checkpoint lacks the best weights of '${p.name}'`);
          return d.slice();
        });
      }
      await train.restore(L.source);
      history.push(...L.history);
      best = L.best;
      bad = L.bad;
      epochLoss = L.epochLoss;
      epochWeight = L.epochWeight ?? L.epochRows;
      evalLoss = L.evalLoss;
      evalCount = L.evalCount;
      n = L.epochRows;
      rows = L.rows;
      firstEpoch = L.epoch;
      resumed = true;
    }
    for (epoch = firstEpoch; epoch < epochs && !stopped; epoch++) {
      this.epoch = epoch;
      if (resumed) resumed = false;
      else {
        epochLoss = 0;
        epochWeight = 0;
        n = 0;
      }
      for (;;) {
        const count = await train.next(batch, batchSize);
        if (count === 0) break;
        const loss = this.threads > 1 ? await this.parallelStep(batch, count) : await this.serialStep(batch, count);
        if (!Number.isFinite(loss)) throw divergedError(epoch, this.step, `loss ${loss}`);
        // Losses are Σ w·loss: the mean is over the rows' weight (their count without weights).
        const w = weightSum(batch.sampleWeights, count);
        epochLoss += loss;
        epochWeight += w;
        evalLoss += w > 0 ? loss / w : 0;
        evalCount++;
        n += count;
        const before = rows;
        rows += count;
        this.opts.onStep?.({ epoch, step: this.step, done: n, total: train.rowsPerPass ?? n, loss });
        await letEventsIn();
        if (evalEvery > 0 && this.step % evalEvery === 0 && (await evaluateNow())) {
          stopped = true;
          break;
        }
        const crossed = (k: number): boolean => k > 0 && Math.floor(rows / k) > Math.floor(before / k);
        if (crossed(publishEvery) && this.opts.onPublish) await this.opts.onPublish(rows);
        if (crossed(every) && this.opts.onCheckpoint) await this.opts.onCheckpoint(capture(false));
      }
      const trainLoss = epochWeight > 0 ? epochLoss / epochWeight : NaN;
      this.opts.onEvent?.({ type: 'epoch', epoch, step: this.step, trainLoss, seconds: (performance.now() - t0) / 1000 });
      if (!stopped && evalEvery === 0 && (await evaluateNow())) stopped = true;
    }
    if (snapshot !== null) this.restore(snapshot);
    const result: FitResult = {
      steps: this.step,
      epochs: epoch,
      best,
      history,
      stoppedEarly: stopped,
      trainLoss: epochWeight > 0 ? epochLoss / epochWeight : NaN,
      seconds: (performance.now() - t0) / 1000,
    };
    this.lastCheckpoint = () => capture(true, result);
    return result;
  }

  private lastCheckpoint: (() => TrainerCheckpoint) | null = null;

  /** Continue the step count (Adam's bias correction) from an earlier run whose optimizer state was loaded. */
  startAtStep(step: number): void {
    this.step = step;
    this.model.step = step;
  }

  /**
   * The state after the last fit() returned (its final weights, optimizer state and result): a checkpoint that
   * resumes to "done", and what `--init-from` a checkpoint folder continues from. Null before any fit().
   */
  finalCheckpoint(): TrainerCheckpoint | null {
    return this.lastCheckpoint?.() ?? null;
  }

  /** Rows given as Columns become an in-memory source; a source must have the model's fields. */
  private sourceOf(x: Columns | BatchSource, what: string, opts: { shuffle?: boolean; seed?: number }): BatchSource {
    const cfg = this.model.config;
    if (isBatchSource(x)) {
      checkShape(x.shape, cfg.fields.length, cfg.numDense, what);
      return x;
    }
    checkColumns(x, cfg.fields.length, cfg.numDense, what);
    return new MemorySource(x, opts);
  }

  private async serialStep(batch: BatchBuffer, count: number): Promise<number> {
    const m = this.model;
    const t = ++this.step;
    const loss = await m.forwardBackward(batch, { scale: meanScale(batch.sampleWeights, count), dropoutSeed: shardSeed(this.opts.seed, t, 0) });
    m.applySparse(t);
    m.applyDense(t);
    return loss;
  }

  // The batch is in shared memory: every thread takes its shard of it (workers copy theirs out; the main thread
  // narrows the batch to its shard in place, since it is the last to read it).
  private async parallelStep(batch: BatchBuffer, count: number): Promise<number> {
    const ctrl = this.ctrl as Int32Array;
    const losses = this.losses as Float64Array;
    const N = this.threads;
    if (batch.version !== this.sentVersion) await this.shareBatch(batch);
    const t = ++this.step;
    ctrl[CTRL_COUNT] = count;
    ctrl[CTRL_STEP] = t;
    Atomics.store(ctrl, CTRL_DONE, 0);
    Atomics.store(ctrl, CTRL_CMD, CMD_RUN);
    Atomics.add(ctrl, CTRL_GEN, 1);
    Atomics.notify(ctrl, CTRL_GEN);
    // Shard 0 on this thread.
    const m = this.model;
    let loss = 0;
    let ok = true;
    let failure: unknown = null;
    try {
      const [lo, hi] = shardRange(count, N, 0);
      // Shard 0 is rows [0, hi) of the batch: the batch itself with its size cut (lo is 0).
      batch.size = hi - lo;
      loss = await m.forwardBackward(batch, { scale: meanScale(batch.sampleWeights, count), dropoutSeed: shardSeed(this.opts.seed, t, 0) });
      if (this.merger === null) m.applySparse(t);
    } catch (e) {
      ok = false;
      failure = e;
      Atomics.store(ctrl, CTRL_ERR_FB, 1);
      Atomics.store(ctrl, CTRL_ERR, 1);
    }
    try {
      await finishStep(this.sync as StepSync, ok, t, () => barrierAsync(ctrl, N));
    } catch (e) {
      failure ??= e;
      Atomics.store(ctrl, CTRL_ERR, 1);
    }
    await this.waitWorkers(failure);
    for (let w = 1; w < N; w++) loss += losses[w];
    return loss;
  }

  // Waits for every worker to finish the step; then throws this thread's failure, else a worker's.
  private async waitWorkers(failure: unknown = null): Promise<void> {
    const ctrl = this.ctrl as Int32Array;
    const need = this.threads - 1;
    for (;;) {
      const done = Atomics.load(ctrl, CTRL_DONE);
      if (done >= need || Atomics.load(ctrl, CTRL_ABORT) !== 0) break;
      const w = waitAsync(ctrl, CTRL_DONE, done);
      if (w.async) await w.value;
    }
    if (failure !== null && !(failure instanceof StepAborted)) {
      await this.close();
      throw failure;
    }
    if (Atomics.load(ctrl, CTRL_ERR) !== 0 || Atomics.load(ctrl, CTRL_ABORT) !== 0) {
      // Let the worker's error message arrive.
      for (let i = 0; i < 50 && this.workers.every((w) => w.errors.length === 0); i++) await new Promise((r) => setTimeout(r, 10));
      const e = this.workers.find((w) => w.errors.length > 0)?.errors[0];
      await this.close();
      throw e ? fromPlain(e) : new BhembedError('internal', 'training worker failed');
    }
  }

  // A worker died outside its step loop's error handling: release every thread waiting in this step.
  private abort(handle: WorkerHandle, error: PlainError): void {
    handle.errors.push(error);
    const ctrl = this.ctrl;
    if (ctrl === null) return;
    Atomics.store(ctrl, CTRL_ERR, 1);
    Atomics.store(ctrl, CTRL_ABORT, 1);
    Atomics.add(ctrl, CTRL_BAR_GEN, 1);
    Atomics.notify(ctrl, CTRL_BAR_GEN);
    Atomics.notify(ctrl, CTRL_DONE);
  }

  // Hands the shared batch buffer (its current arrays) to every worker; again whenever the batch grows.
  private async shareBatch(batch: BatchBuffer): Promise<void> {
    const ctrl = this.ctrl as Int32Array;
    const grads = [this.model.params.grad, ...this.workers.map((w) => w.grad)];
    const data: WorkerData = { batch: { labels: batch.labels, fields: batch.fields, dense: batch.dense, numDense: this.model.config.numDense, sampleWeights: batch.sampleWeights }, grads };
    this.sentVersion = batch.version;
    for (const w of this.workers) w.port.postMessage(data);
    this.sync = { ctrl, threads: this.threads, id: 0, model: this.model, merger: this.merger, grads };
    Atomics.store(ctrl, CTRL_DONE, 0);
    Atomics.store(ctrl, CTRL_CMD, CMD_DATA);
    Atomics.add(ctrl, CTRL_GEN, 1);
    Atomics.notify(ctrl, CTRL_GEN);
    await this.waitWorkers();
  }

  private async startWorkers(): Promise<void> {
    if (this.workers.length > 0) await this.close();
    const N = this.threads;
    this.ctrl = new Int32Array(new SharedArrayBuffer(4 * CTRL_SIZE));
    this.losses = new Float64Array(new SharedArrayBuffer(8 * N));
    const shardMax = Math.ceil(this.opts.batchSize / N);
    const model = this.model;
    if ((this.opts.sparseSync ?? 'merged') === 'merged') {
      this.exchange = createExchange(this.ops, model, N, shardMax);
      this.merger = new SparseMerger(this.ops, this.exchange, 0);
    }
    const url = new URL('./worker.js', import.meta.url);
    const starts: Promise<WorkerHandle>[] = [];
    for (let w = 1; w < N; w++) {
      const channel = new MessageChannel();
      const init: WorkerInit = {
        kind: 'bhembed-train-worker',
        workerId: w,
        nWorkers: N,
        config: model.config,
        optim: model.optim,
        wasm: this.ops instanceof WasmOps ? this.ops.shared : null,
        gemm: this.gemmKind,
        shared: { ...model.sharedState(), buffers: undefined },
        ctrl: this.ctrl,
        losses: this.losses,
        shardMax,
        seed: this.opts.seed,
        exchange: this.exchange,
        port: channel.port2,
      };
      const worker = new Worker(url, { workerData: init, transferList: [channel.port2] });
      starts.push(
        new Promise<WorkerHandle>((resolve, reject) => {
          const handle: WorkerHandle = { worker, port: channel.port1, grad: new Float32Array(0), errors: [] };
          let ready = false;
          let stopping = false;
          worker.on('message', (msg: { type: string; grad?: Float32Array; error?: PlainError }) => {
            if (msg.type === 'ready' && msg.grad) {
              handle.grad = msg.grad;
              ready = true;
              resolve(handle);
            } else if (msg.type === 'stopped') stopping = true;
            else if (msg.type === 'error' && msg.error) {
              handle.errors.push(msg.error);
              reject(fromPlain(msg.error));
            }
          });
          worker.on('error', (e: unknown) => {
            if (ready) this.abort(handle, toPlain(e));
            reject(e);
          });
          worker.on('exit', (code: number) => {
            // A crash, not a setting: a runtime failure (exit 1), never a usage error.
            if (ready && !stopping && this.workers.includes(handle)) this.abort(handle, toPlain(new BhembedError('internal', `training worker ${w} exited unexpectedly (code ${code})`)));
          });
        }),
      );
    }
    try {
      this.workers = await Promise.all(starts);
      for (const w of this.workers) w.worker.unref();
    } catch (e) {
      await Promise.all(starts.map((p) => p.then((h) => h.worker.terminate(), () => undefined)));
      await this.close();
      throw e;
    }
  }

  /** AUC and log loss of the model on rows in memory or one pass of a source (inference mode, batches of batchSize). */
  async evaluate(ds: Columns | BatchSource, opts: EvalOptions = {}): Promise<EvalResult> {
    const metrics = new BinaryMetrics();
    const groups = opts.groupField === undefined ? null : new GroupAuc();
    await this.forEachPrediction(ds, (p, labels, count, batch) => {
      // Weights blown up to Infinity give NaN scores even while the clamped training loss stays finite.
      for (let i = 0; i < count; i++) if (Number.isNaN(p[i])) throw divergedError(this.epoch, this.step, 'the model scores NaN');
      metrics.add(p, labels, count, batch.sampleWeights);
      groups?.add(p, labels, batch.fields[opts.groupField as number].ids, count, batch.sampleWeights);
    });
    const r = metrics.result();
    const weighted = (isBatchSource(ds) ? ds.shape.sampleWeights === true : (ds.sampleWeights ?? null) !== null);
    return { auc: r.auc, logloss: r.logloss, n: r.n, ...(weighted ? { weight: r.weight } : {}), ...(groups ? { group: groups.result() } : {}) };
  }

  /** Click probabilities for every row (in order) of rows in memory or one pass of a source. */
  async predict(ds: Columns | BatchSource): Promise<Float32Array> {
    let out = new Float32Array(isBatchSource(ds) ? 1024 : Math.max(1, ds.rows));
    let pos = 0;
    await this.forEachPrediction(ds, (p, _l, count) => {
      if (pos + count > out.length) {
        const bigger = new Float32Array(Math.max(2 * out.length, pos + count));
        bigger.set(out);
        out = bigger;
      }
      out.set(p.subarray(0, count), pos);
      pos += count;
    });
    return out.slice(0, pos);
  }

  private async forEachPrediction(ds: Columns | BatchSource, sink: (p: Float32Array, labels: Float32Array, count: number, batch: BatchBuffer) => void): Promise<void> {
    const B = this.opts.batchSize;
    const src = this.sourceOf(ds, 'eval', {});
    const batch = batchBufferOf(src.shape, Math.max(1, Math.min(B, src.rowsPerPass ?? B))); // no larger buffer than the data
    for (;;) {
      const count = await src.next(batch, B);
      if (count === 0) break;
      const p = await this.model.predict(batch);
      sink(p, batch.labels, count, batch);
      await letEventsIn();
    }
  }

  private snapshot(prev: Float32Array[] | null): Float32Array[] {
    const ps = this.model.parameters();
    const out = prev ?? ps.map((p) => new Float32Array(p.data.length));
    ps.forEach((p, i) => out[i].set(p.data));
    return out;
  }

  private restore(s: Float32Array[]): void {
    this.model.parameters().forEach((p, i) => p.data.set(s[i]));
  }

  /** close(), then free the model's backend memory (WASM memory is reused by later models). */
  async dispose(): Promise<void> {
    await this.close();
    this.model.dispose();
  }

  /** Stop the worker threads (the model stays usable on this thread). */
  async close(): Promise<void> {
    const ctrl = this.ctrl;
    const ws = this.workers;
    this.workers = [];
    const ex = this.exchange;
    const merger = this.merger;
    this.exchange = null;
    this.merger = null;
    if (ctrl && ws.length > 0) {
      Atomics.store(ctrl, CTRL_CMD, CMD_STOP);
      Atomics.add(ctrl, CTRL_GEN, 1);
      Atomics.notify(ctrl, CTRL_GEN);
      await Promise.all(
        ws.map(
          (w) =>
            new Promise<void>((resolve) => {
              const timer = setTimeout(() => void w.worker.terminate().then(() => resolve()), 2000);
              w.worker.once('exit', () => {
                clearTimeout(timer);
                w.port.close();
                resolve();
              });
            }),
        ),
      );
    }
    merger?.dispose();
    if (ex !== null) freeExchange(this.ops, ex);
  }
}
