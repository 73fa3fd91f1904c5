// Load a `.bhm` model file and predict click probabilities. Never imports train/: the file carries everything
// needed (model config with index specs, reader settings, engine, evaluation batch size). Rows are always cut into
// contiguous batches of `evalBatch` from the start of the input, the same batches the training run scored its
// test set with, so a loaded model reproduces the training run's metrics bit for bit.

import type { Batch, BatchBuffer } from '../core/batch.js';
import { appendRows, batchBufferOf, shapeOf, type Columns } from '../data/batches/columns.js';
import { StreamSource } from '../data/batches/stream.js';
import { CheckpointError, ConfigError, DataError, isBhembedError } from '../core/errors.js';
import type { DataChunk } from '../data/chunk.js';
import { openReader } from '../data/open.js';
import type { DataFormat, DataReader, ReaderOptions } from '../data/reader.js';
import { DATA_FORMATS } from '../data/reader.js';
import { checkSameFields } from '../data/same-fields.js';
import { createIndexer } from '../embedding/registry.js';
import { availableParallelism } from 'node:os';
import { PredictPool } from './predict-pool.js';
import { createGemmProvider, createOps, INFER_PRECISIONS } from '../kernels/index.js';
import type { GemmKind, InferPrecision, OpsKind } from '../kernels/index.js';
import type { GemmProvider, Ops } from '../kernels/ops.js';
import type { ModelConfig, NormalizedModelConfig } from '../models/config.js';
import { normalizeModelConfig } from '../models/config.js';
import { INPUT_RANGES_TENSOR, type CtrModel } from '../models/ctr-model.js';
import type { ModelFileContents, ModelFileMeta } from '../models/model-file.js';
import { ignoresValueWeights, readModelFile } from '../models/model-file.js';
import { ARCH_PARTS, createModel } from '../models/registry.js';
import { RowEncoder, RowError } from '../data/row-encoder.js';
import type { Row, RowEncoderOptions } from '../data/row-encoder.js';
import { BodyError } from '../data/json-rows.js';

export interface LoadOptions {
  /** Compute backend. @default the one the model was trained with ('auto' when unknown) */
  ops?: OpsKind;
  /** Dense GEMM provider. @default the one the model was trained with ('auto' with precision 'int8') */
  gemm?: GemmKind;
  /**
   * Numeric format of the deep tower at inference. 'fp32' reproduces the training run's scores bit for bit.
   * 'int8' runs the hidden layers as int8 GEMMs on onnxruntime (weights quantized per output column at load,
   * activations per batch): about 3× the tower's speed at large batches, scores within ~1e-3 of fp32 (AUC
   * typically within 1e-3), and a row's score then depends slightly on the rest of its batch. Batches of ≤ 8
   * rows still run fp32. The weights are quantized at the first batch: changing `predictor.model`'s parameters
   * afterwards does not reach the int8 tower. Batch norm and dropout fold into the tower's Linear layers (both
   * precisions), also once, at the first batch. Throws ConfigError when onnxruntime-node is unavailable.
   * 'int8-static': the hidden layers' inputs are quantized with fixed scales from the activation ranges that
   * training recorded in the file (CtrModel.calibrate), so a row's score does not depend on the rest of its batch
   * (every batch, even one row, runs int8) and the tower is faster than 'int8'. A file without ranges (from an older
   * bhembed) throws ConfigError unless `calibration` is given. @default 'fp32'
   */
  precision?: InferPrecision;
  /**
   * Rows to calibrate 'int8-static' on (a few tens of thousands, representative of what will be scored), for a
   * model file without recorded ranges; replaces recorded ones. Workers get the result. @default the file's ranges
   */
  calibration?: Iterable<Batch> | AsyncIterable<Batch>;
  /**
   * Worker threads that score batches in parallel, each with its own copy of the model (memory × (workers + 1):
   * the calling thread keeps `model` too).
   * Batches are the same rows as with 1; with fp32 a worker's 1-thread tower can differ from the default
   * 2-thread one in the last bits. @default 1 (score in the calling thread)
   */
  workers?: number;
  /** ORT threads for the tower's inference forward. @default 2 on 2+ cores; with workers: cores / workers */
  inferThreads?: number;
  /**
   * Score in worker threads even with `workers: 1`, so the calling thread's event loop stays free while a batch is
   * scored (a server's health checks). @default false
   */
  offThread?: boolean;
}

/** How a JSON request body is read (predictJsonBodies). */
export interface BodyOptions {
  /** Most instances in one body. @default 4096 */
  maxInstances?: number;
  /** Longest value, in characters. @default 4096 */
  maxValueLength?: number;
}

/** Why a body was not scored: the message, and the instance and field it names. */
export interface BodyFailure {
  error: string;
  instance?: number;
  field?: string;
  /** 'malformed_json': not JSON; 'invalid': a wrong shape or value. */
  kind: 'malformed_json' | 'invalid';
}

/** The probabilities of a body's rows, or why it was not scored. */
export type BodyResult = { probs: Float32Array } | BodyFailure;

/** The results of several bodies in one message: rows[i] = −1 for a failed body, whose failure is errors[i]. */
export interface PackedResults {
  probs: Float32Array;
  rows: Int32Array;
  errors: Array<BodyFailure | null>;
}

export interface PredictedBatch {
  /** Probabilities of the batch's rows (a copy, safe to keep). */
  probs: Float32Array;
  /** The rows' labels as read (0 when the input has none). */
  labels: Float32Array;
  /** Index of the batch's first row in the input. */
  firstRow: number;
}

/**
 * A model loaded from a file, ready to score data in the format it was trained on.
 * @example
 * const p = await Predictor.load('model.bhm');
 * for await (const b of p.predictFile('test.txt')) console.log(b.probs);
 */
export class Predictor {
  readonly path: string;
  readonly config: NormalizedModelConfig;
  readonly meta: ModelFileMeta;
  readonly model: CtrModel;
  readonly evalBatch: number;
  readonly ops: Ops;
  /** The tower's inference precision this predictor runs at. */
  readonly precision: InferPrecision;
  private readonly pool: PredictPool | null;

  private constructor(path: string, config: NormalizedModelConfig, meta: ModelFileMeta, model: CtrModel, ops: Ops, precision: InferPrecision, pool: PredictPool | null) {
    this.precision = precision;
    this.pool = pool;
    this.path = path;
    this.config = config;
    this.meta = meta;
    this.model = model;
    this.evalBatch = model.maxBatch;
    this.ops = ops;
  }

  /** Read, verify and build. Damaged files throw CheckpointError; a missing file IoError. */
  static async load(path: string, opts: LoadOptions = {}): Promise<Predictor> {
    checkPrecision(opts.precision ?? 'fp32');
    checkWorkers(opts.workers ?? 1);
    return Predictor.fromContents(readModelFile(path), path, opts);
  }

  static async fromContents(file: ModelFileContents, path = '<model>', opts: LoadOptions = {}): Promise<Predictor> {
    const meta = file.meta as unknown as ModelFileMeta;
    let config: NormalizedModelConfig;
    let model: CtrModel;
    const opsKind = opts.ops ?? (meta.engine?.ops as OpsKind | undefined) ?? 'auto';
    const precision = checkPrecision(opts.precision ?? 'fp32');
    const workers = checkWorkers(opts.workers ?? 1);
    const inferThreads = opts.inferThreads ?? (workers > 1 ? Math.max(1, Math.floor(availableParallelism() / workers)) : undefined);
    // The recorded backend first (bit-identical scores); if this machine cannot load it, the best available one.
    const ops = await createOps(opsKind).catch(() => createOps('auto'));
    let gemm: GemmProvider;
    if (precision !== 'fp32') {
      // No fallback: int8 needs onnxruntime, and a silent fp32 fallback would misreport what is served. Built
      // outside the try below so its ConfigError is not reported as a damaged model file.
      // frozenWeights: a served model's weights are set once (loadParameters below, before any forward).
      gemm = await createGemmProvider(opts.gemm ?? 'auto', ops, { inferPrecision: precision, inferThreads, frozenWeights: true });
    } else {
      const gemmKind = opts.gemm ?? (meta.engine?.gemm as GemmKind | undefined) ?? 'auto';
      gemm = await createGemmProvider(gemmKind, ops, { inferThreads }).catch(() => createGemmProvider('auto', ops, { inferThreads }));
    }
    try {
      config = normalizeModelConfig(file.model as ModelConfig);
      const evalBatch = Number.isInteger(meta.evalBatch) && meta.evalBatch > 0 ? meta.evalBatch : 1024;
      model = createModel(config, { ops, gemm, maxBatch: evalBatch, indexers: config.fields.map((f) => createIndexer(f.index)) });
      model.loadParameters(file.tensors);
      // The weights never change from here on: batch norm folds into the tower once, with no per-batch check.
      model.mlp?.freeze();
    } catch (e) {
      if (isBhembedError(e) && e.code === 'config.invalid') {
        throw new CheckpointError('checkpoint.corrupt', `${path}: the model file's contents do not describe a valid model: ${e.message}`, { file: path });
      }
      throw e;
    }
    if (precision !== 'fp32') {
      // int8 applies to the fused deep tower only; say so instead of silently serving fp32 under an int8 label.
      // (Batch norm and dropout are fine: at inference they fold into the tower's Linear layers.)
      const parts = ARCH_PARTS[config.arch];
      // A model without a deep tower has no mlp at all (its config still carries the default sizes): say that.
      const why = !(parts.deep || parts.cross) ? `arch '${config.arch}' has no deep tower, so no hidden layers to quantize` : config.mlp.length === 0 ? `arch '${config.arch}' was trained with no hidden layers (mlp []), so there is nothing to quantize` : null;
      if (why !== null) {
        model.dispose?.();
        throw new ConfigError(`precision '${precision}': ${path}: ${why}; use precision 'fp32'`, { key: 'precision', value: precision });
      }
    }
    let poolFile = file;
    if (precision === 'int8-static') {
      if (opts.calibration !== undefined) {
        await model.calibrate(opts.calibration);
        // Workers build their models from the file contents: hand them the new ranges as the file's tensor.
        const t = model.inputRangesTensor();
        if (t !== null) poolFile = { ...file, tensors: [...file.tensors.filter((x) => x.name !== INPUT_RANGES_TENSOR), t] };
      }
      if (model.inputRangesTensor() === null) {
        model.dispose?.();
        throw new ConfigError(
          `precision 'int8-static': ${path} has no calibrated activation ranges (it was saved by an older bhembed or without calibration); use precision 'int8' (per-batch scales), retrain with this version, or pass rows as LoadOptions.calibration`,
          { key: 'precision', value: precision },
        );
      }
    }
    const pool = workers > 1 || opts.offThread === true ? await PredictPool.start(workers, poolFile, path, { ops: opts.ops, gemm: opts.gemm, precision, inferThreads }) : null;
    return new Predictor(path, config, meta, model, ops, precision, pool);
  }

  /** Number of threads scoring batches (LoadOptions.workers). */
  get workers(): number {
    return this.pool?.size ?? 1;
  }

  /** Stops the worker threads (if any) and frees the model's memory. The predictor is unusable afterwards. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.pool?.close();
    this.model.dispose?.();
  }

  private closed = false;

  /**
   * false when the model takes every value weight as 1 (a libsvm/libfm/libffm file from bhembed 0.1.0, see
   * ignoresValueWeights): weights in chunks from any reader are then dropped before scoring.
   */
  private get valueWeights(): boolean {
    return !ignoresValueWeights(this.meta);
  }

  // The same contiguous batches as predictChunks, each sent whole to a worker; up to 2 per worker in flight,
  // results yielded in input order.
  private async *predictChunksPooled(chunks: AsyncIterable<DataChunk>, pool: PredictPool): AsyncGenerator<PredictedBatch> {
    const B = this.evalBatch;
    const src = await inOrder(chunks, this.valueWeights);
    if (src === null) return;
    const inFlight: Array<{ probs: Promise<Float32Array>; labels: Float32Array; firstRow: number }> = [];
    const take = async (): Promise<PredictedBatch> => {
      const b = inFlight.shift() as (typeof inFlight)[number];
      return { probs: await b.probs, labels: b.labels, firstRow: b.firstRow };
    };
    let firstRow = 0;
    try {
      for (;;) {
        // A fresh buffer per batch: score() transfers its arrays to the worker.
        const batch = batchBufferOf(src.shape, B);
        const n = await src.next(batch);
        if (n === 0) break;
        const labels = batch.labels.slice(0, n); // before score(): it transfers the batch's buffers to the worker
        const probs = pool.score(batch);
        probs.catch(() => undefined); // awaited in order below; keeps an early failure from being unhandled
        inFlight.push({ probs, labels, firstRow });
        firstRow += n;
        if (inFlight.length >= 2 * pool.size) yield await take();
      }
      while (inFlight.length > 0) yield await take();
    } finally {
      await src.close();
    }
  }

  private encoders = new Map<number, Promise<RowEncoder>>();
  private serial: Promise<unknown> = Promise.resolve();

  /**
   * The encoder of plain-object rows for this model (values hashed exactly as its training format's reader hashes
   * them). A model file whose format cannot be laid out as rows, or whose fields differ from the encoder's, throws.
   */
  rowEncoder(opts: RowEncoderOptions = {}): Promise<RowEncoder> {
    const key = opts.maxValueLength ?? 0;
    let p = this.encoders.get(key);
    if (p === undefined) {
      p = this.makeRowEncoder(opts);
      this.encoders.set(key, p);
      p.catch(() => this.encoders.delete(key));
    }
    return p;
  }

  private async makeRowEncoder(opts: RowEncoderOptions): Promise<RowEncoder> {
    const d = this.dataMeta();
    let enc: RowEncoder;
    try {
      enc = await RowEncoder.create(d.format, d.reader as ReaderOptions, d.fieldNames, opts);
    } catch (e) {
      if (isBhembedError(e) && e.code === 'config.invalid') {
        throw new CheckpointError('checkpoint.corrupt', `${this.path}: the reader settings stored in the model file cannot lay out a row: ${e.message}`, { file: this.path });
      }
      throw e;
    }
    const want = d.fieldNames ?? null;
    const same = (a: readonly string[], b: readonly string[]): boolean => a.length === b.length && a.every((x, i) => x === b[i]);
    if ((want !== null && !same(enc.fieldNames, want)) || enc.fields.length !== this.config.fields.length || enc.denseNames.length !== this.config.numDense) {
      throw new CheckpointError('checkpoint.corrupt', `${this.path}: the model's fields (${(want ?? []).join(', ')}) differ from the ${d.format} row layout (${enc.fieldNames.join(', ')})`, { file: this.path });
    }
    return enc;
  }

  /**
   * Score rows given as plain objects, keyed by the training file's column names, with the values a training file
   * holds ({"C1": "68fd1e64", "I1": 3}); a missing key is a missing value, as in the file. A bad row throws
   * RowError naming its index and field.
   * @example
   * const probs = await predictor.predictRows([{ C1: '68fd1e64', I1: 3 }, { C1: 'a' }]);
   */
  async predictRows(rows: readonly Row[]): Promise<Float32Array> {
    const enc = await this.rowEncoder();
    return this.predictChunkList([enc.encode(rows)]);
  }

  /**
   * Score request bodies `{"instances": [{…}, …]}` (UTF-8 JSON), each on its own: a bad body fails alone, with the
   * message, instance and field of its first error, and the others are scored. With worker threads (or offThread)
   * the bodies are read and scored there, off the calling thread.
   */
  async predictJsonBodies(bodies: readonly Uint8Array[], opts: BodyOptions = {}): Promise<BodyResult[]> {
    const packed = this.pool !== null ? await this.pool.scoreBodies(bodies, opts) : await this.serialized(() => this.scoreBodiesHere(bodies, opts));
    return unpackResults(packed);
  }

  /** Read and score bodies in this thread (a pool worker runs this). */
  async scoreBodiesHere(bodies: readonly Uint8Array[], opts: BodyOptions): Promise<PackedResults> {
    const enc = await this.rowEncoder({ maxValueLength: opts.maxValueLength });
    const chunks: DataChunk[] = [];
    const rows = new Int32Array(bodies.length);
    const errors: Array<BodyFailure | null> = [];
    let total = 0;
    for (let i = 0; i < bodies.length; i++) {
      try {
        const e = enc.encodeJson(bodies[i], opts.maxInstances ?? 4096, this.evalBatch);
        for (const c of e.chunks) chunks.push(c);
        rows[i] = e.rows;
        total += e.rows;
        errors.push(null);
      } catch (e) {
        rows[i] = -1;
        if (e instanceof RowError) errors.push(e.field === null ? { error: e.message, instance: e.instance, kind: 'invalid' } : { error: e.message, instance: e.instance, field: e.field, kind: 'invalid' });
        else if (e instanceof BodyError) errors.push(e.instance === undefined ? { error: e.message, kind: e.kind } : { error: e.message, instance: e.instance, kind: e.kind });
        else throw e;
      }
    }
    return { probs: await this.scoreNow(chunks, total), rows, errors };
  }

  private servingBatch: BatchBuffer | null = null;

  /** Probabilities of the chunks' rows, in batches of ≤ evalBatch rows through one reused buffer. */
  private async scoreNow(chunks: readonly DataChunk[], total: number): Promise<Float32Array> {
    const out = new Float32Array(total);
    if (total === 0) return out;
    const B = this.evalBatch;
    // As in inOrder: a model that takes every value weight as 1 gets none.
    const cols = (c: DataChunk): Columns => (this.valueWeights ? c : { ...c, fields: c.fields.map((f) => ({ ids: f.ids, offsets: f.offsets ?? null })) });
    const buf = (this.servingBatch ??= batchBufferOf(shapeOf(cols(chunks[0])), B));
    buf.size = 0;
    let at = 0;
    const flush = async (): Promise<void> => {
      const n = buf.size;
      out.set((await this.model.predict(buf)).subarray(0, n), at);
      at += n;
      buf.size = 0;
    };
    for (const chunk of chunks) {
      const c = cols(chunk);
      for (let r = 0; r < c.rows; ) {
        const k = Math.min(c.rows - r, B - buf.size);
        appendRows(c, null, r, k, buf);
        r += k;
        if (buf.size === B) await flush();
      }
    }
    if (buf.size > 0) await flush();
    return out;
  }

  /** Runs calls of this (worker-less) predictor one after another. */
  private serialized<T>(run: () => Promise<T>): Promise<T> {
    const p = this.serial.then(run, run);
    this.serial = p.catch(() => undefined);
    return p;
  }

  /**
   * Probabilities of the rows of `chunks`, concatenated in order (in contiguous batches of evalBatch rows). Calls
   * may overlap: without worker threads they run one after another.
   */
  predictChunkList(chunks: readonly DataChunk[]): Promise<Float32Array> {
    const run = async (): Promise<Float32Array> => {
      let n = 0;
      for (const c of chunks) n += c.rows;
      const out = new Float32Array(n);
      async function* each(): AsyncGenerator<DataChunk> {
        for (const c of chunks) if (c.rows > 0) yield c;
      }
      for await (const b of this.predictChunks(each())) out.set(b.probs, b.firstRow);
      return out;
    };
    if (this.pool !== null) return run();
    return this.serialized(run);
  }

  /** Reader options that parse data exactly as during training (same fields, same numeric handling). */
  readerOptions(extra: ReaderOptions = {}): ReaderOptions {
    return { ...this.dataMeta().reader, weights: 'ignore', ...extra } as ReaderOptions;
  }

  get format(): DataFormat {
    return this.dataMeta().format;
  }

  /** The file's description of its training data, checked (only reading data files needs it). */
  private dataMeta(): TrainingData {
    return checkTrainingData(this.path, this.meta, this.config);
  }

  /**
   * Open `path` with the training run's format and reader settings. Data whose fields differ from the training
   * data's by name or order is a DataError naming the first differing field; invalid settings stored in the model
   * file are a CheckpointError naming it.
   */
  async open(path: string, extra: ReaderOptions = {}): Promise<DataReader> {
    const d = this.dataMeta();
    let reader: DataReader;
    try {
      // A training weight column is dropped unread (a probability does not depend on it) unless `extra` asks
      // for it (eval: weights 'detect').
      reader = await openReader(d.format, path, { ...d.reader, weights: 'ignore', ...extra } as ReaderOptions);
    } catch (e) {
      // A bad value among the stored settings (not among the caller's `extra`) is the model file's fault.
      const key = isBhembedError(e) && e.code === 'config.invalid' ? e.details.key : undefined;
      const stored = typeof key === 'string' ? Object.hasOwn(d.reader, key) && !Object.hasOwn(extra, key) : Object.keys(extra).length === 0;
      if (isBhembedError(e) && e.code === 'config.invalid' && stored) {
        throw new CheckpointError('checkpoint.corrupt', `${this.path}: the reader settings stored in the model file are invalid: ${e.message}`, { file: this.path, key });
      }
      throw e;
    }
    const ref = `the model ${this.path}`;
    if (d.fieldNames !== undefined && d.denseNames !== undefined) checkSameFields(path, reader, ref, { fieldNames: d.fieldNames, denseNames: d.denseNames });
    if (reader.numFields !== this.config.fields.length || reader.numDense !== this.config.numDense) {
      throw new DataError(`${path}: has ${reader.numFields} fields and ${reader.numDense} dense inputs, ${ref} expects ${this.config.fields.length} and ${this.config.numDense}`, {
        file: path,
      });
    }
    return reader;
  }

  /** Predict every row of a file, in contiguous batches of evalBatch rows. */
  async *predictFile(path: string, extra: ReaderOptions = {}): AsyncGenerator<PredictedBatch> {
    const reader = await this.open(path, extra);
    yield* this.predictChunks(reader.chunks());
  }

  /** Predict rows from any chunk stream; batches never depend on how rows were split into chunks. */
  async *predictChunks(chunks: AsyncIterable<DataChunk>): AsyncGenerator<PredictedBatch> {
    if (this.pool !== null) {
      yield* this.predictChunksPooled(chunks, this.pool);
      return;
    }
    const src = await inOrder(chunks, this.valueWeights);
    if (src === null) return;
    const buf: BatchBuffer = batchBufferOf(src.shape, this.evalBatch);
    let firstRow = 0;
    try {
      for (;;) {
        const n = await src.next(buf);
        if (n === 0) break;
        const labels = buf.labels.slice(0, n);
        const probs = (await this.model.predict(buf)).slice(0, n);
        yield { probs, labels, firstRow };
        firstRow += n;
      }
    } finally {
      await src.close();
    }
  }
}

/** Each body's own probabilities (views of one array) or its failure. */
function unpackResults(p: PackedResults): BodyResult[] {
  const out: BodyResult[] = [];
  let at = 0;
  for (let i = 0; i < p.rows.length; i++) {
    const n = p.rows[i];
    if (n < 0) out.push(p.errors[i] as BodyFailure);
    else {
      out.push({ probs: p.probs.subarray(at, at + n) });
      at += n;
    }
  }
  return out;
}

/**
 * One pass over a chunk stream as an in-order source (contiguous batches from the first row, whatever the chunk
 * sizes); its shape is the first chunk's. null when the stream is empty. valueWeights false: the chunks' value
 * weights are dropped (every value weighs 1).
 */
async function inOrder(chunks: AsyncIterable<DataChunk>, valueWeights = true): Promise<StreamSource | null> {
  const it = chunks[Symbol.asyncIterator]();
  const first = await it.next();
  if (first.done) return null;
  const cols = (c: DataChunk): Columns => (valueWeights ? c : { ...c, fields: c.fields.map((f) => ({ ids: f.ids, offsets: f.offsets ?? null })) });
  const head = cols(first.value);
  async function* all(): AsyncGenerator<Columns> {
    yield head;
    for (let r = await it.next(); !r.done; r = await it.next()) yield cols(r.value);
  }
  return new StreamSource({ shape: shapeOf(head), pass: all });
}

/** What a model file records about its training data: enough to read new data the same way. */
interface TrainingData {
  format: DataFormat;
  reader: Record<string, unknown>;
  fieldNames?: string[];
  denseNames?: string[];
}

const isStrings = (x: unknown): x is string[] => Array.isArray(x) && x.every((v) => typeof v === 'string');
const isRecord = (x: unknown): x is Record<string, unknown> => typeof x === 'object' && x !== null && !Array.isArray(x);

/**
 * meta.data of a model file, checked: a file without it (written by other code than `bhembed train`, or damaged
 * and re-checksummed) is a CheckpointError naming the file and the missing or bad key, not a TypeError.
 */
function checkTrainingData(path: string, meta: ModelFileMeta, config: NormalizedModelConfig): TrainingData {
  const bad = (key: string, why: string): CheckpointError =>
    new CheckpointError('checkpoint.corrupt', `${path}: the model file's metadata ${why}, so it cannot read data files`, { file: path, key });
  const data = (meta as { data?: unknown }).data;
  if (!isRecord(data)) throw bad('data', data === undefined ? "has no key 'data' (the training data's format, fields and reader settings)" : "key 'data' is not an object");
  if (typeof data.format !== 'string') throw bad('data.format', data.format === undefined ? "has no key 'data.format'" : "key 'data.format' is not a string");
  if (!(DATA_FORMATS as readonly string[]).includes(data.format)) {
    throw bad('data.format', `key 'data.format' is '${data.format}', not one of: ${DATA_FORMATS.join(', ')}`);
  }
  if (!isRecord(data.reader)) throw bad('data.reader', data.reader === undefined ? "has no key 'data.reader'" : "key 'data.reader' is not an object");
  // A libsvm/libfm/libffm file without valueWeights (0.1.0) reads every value weight as 1, as it was trained.
  const out: TrainingData = { format: data.format as DataFormat, reader: ignoresValueWeights(meta) ? { ...data.reader, valueWeights: false } : data.reader };
  for (const [key, n] of [['fieldNames', config.fields.length], ['denseNames', config.numDense]] as const) {
    const v = data[key];
    if (v === undefined) continue; // older files: the field counts are still compared
    if (!isStrings(v)) throw bad(`data.${key}`, `key 'data.${key}' is not a list of names`);
    if (v.length !== n) throw bad(`data.${key}`, `key 'data.${key}' has ${v.length} names but the model has ${n}`);
    out[key] = v;
  }
  return out;
}

function checkPrecision(p: InferPrecision): InferPrecision {
  if (!INFER_PRECISIONS.includes(p)) {
    throw new ConfigError(`precision: unknown value '${String(p)}'; allowed: ${INFER_PRECISIONS.map((x) => `'${x}'`).join(' | ')}`, { key: 'precision', value: p });
  }
  return p;
}

function checkWorkers(n: number): number {
  if (!Number.isInteger(n) || n < 1) throw new ConfigError(`workers must be a positive integer, got ${String(n)}`, { key: 'workers', value: n });
  return n;
}
