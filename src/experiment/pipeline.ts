// One training run from files to metrics and a model file: load the data, count distinct values per field,
// plan each field's table (planner: fields whose full table fits stay full), train, score valid/test, save.
// `train`, `sweep` and `demo` all go through here, so their numbers are comparable. Never prints: progress goes
// to the onProgress callback, which the CLI turns into a bar or log lines.

import { mkdirSync, readFileSync } from 'node:fs';
import { ConfigError, IoError, UsageError } from '../core/errors.js';
import type { Dataset as DataSet } from '../data/dataset.js';
import { MemorySource } from '../data/batches/memory.js';
import type { BatchSource } from '../data/batches/source.js';
import { StreamSource } from '../data/batches/stream.js';
import type { BatchShape } from '../data/batches/columns.js';
import { concatChunks, type DataChunk } from '../data/chunk.js';
import { expandInputs, inputBytes, MultiFileInput, rereadable } from '../data/inputs.js';
import { parsedOnWorker } from '../data/parse-worker.js';
import { DistinctCounter } from '../data/distinct.js';
import { countPlanSample, PLAN_SAMPLE_ROWS } from '../data/plan-sample.js';
import type { PassStats } from '../data/reader.js';
import type { DataFormat, ReaderOptions } from '../data/reader.js';
import { checkSomeRows } from '../data/reader.js';
import { checkSameFields } from '../data/same-fields.js';
import type { BhStrategy, IndexMethod, IndexSpec } from '../embedding/config.js';
import { bhNumRows } from '../embedding/config.js';
import { FullVocabBuilder } from '../embedding/full.js';
import type { EmbeddingPlan } from '../embedding/planner.js';
import { DEFAULT_MAX_COLLISION_RATE, hashedCodeBits, planEmbeddings } from '../embedding/planner.js';
import { createIndexer } from '../embedding/registry.js';
import { createGemmProvider, createOps } from '../kernels/index.js';
import type { GemmKind, OpsKind } from '../kernels/index.js';
import type { Arch, ModelConfig } from '../models/config.js';
import type { ModelFileMeta, WeightDtype } from '../models/model-file.js';
import { ARCH_PARTS } from '../models/registry.js';
import type { Fusion } from '../nn/embedding-bag.js';
import type { OptimConfig, SparseOptimizerKind } from '../nn/optim/config.js';
import { calibrateOnDataset, calibrateOnSource, saveModel } from '../train/checkpoint.js';
import type { EvalResult } from '../train/trainer.js';
import { Trainer } from '../train/trainer.js';
import type { SparseSync } from '../train/sparse-sync.js';
import { TRAINING_DEFAULTS } from './defaults.js';
import { mixedDimsError, normalizeModelConfig, type NormalizedModelConfig } from '../models/config.js';
import type { TrainerCheckpoint, TrainerLoopState } from '../train/trainer.js';
import { writeCheckpoint, type CheckpointContents } from '../train/resume/checkpoint-file.js';
import { configDifferences, refuseDifferences, type InitSource } from '../train/resume/init-from.js';
import { nextVersion, publishPath } from '../train/resume/publish.js';
import { FullIndexer } from '../embedding/full.js';
import { batchBufferOf } from '../data/batches/columns.js';
import type { FieldEmbeddingReport, GroupAucReport, RunMetrics } from './report.js';
import { summarizeEmbedding } from './report.js';
import { hotCandidatesOf, hybridFieldSpec, newHotCounter, topHot } from './hybrid-specs.js';
import type { HotCandidates } from '../data/heavy-hitters.js';
import type { FieldOverrides } from './field-overrides.js';
import { checkFieldOverrides } from './field-overrides.js';

export interface DataOptions {
  format: DataFormat;
  /** Files, globs (`day_*.gz`) or directories of parts, read in order (several: an array or comma-joined). */
  train: string | string[];
  valid?: string | string[];
  test?: string | string[];
  /**
   * 'memory' loads every row; 'stream' reads the files again each epoch through a shuffle buffer, so memory does
   * not grow with rows; 'auto' holds inputs up to AUTO_MEMORY_BYTES on disk in memory and streams larger ones.
   * @default 'auto'
   */
  dataMode?: 'auto' | 'memory' | 'stream';
  /** Streamed training: rows the shuffle draws from (about this many are held; 1 keeps the files' order). @default DEFAULT_SHUFFLE_BUFFER */
  shuffleBuffer?: number;
  /**
   * Streamed training: build full vocabularies in the counting pass. true: every field's (--embedding full, sweeps);
   * 'planned': only fields of at most PLANNED_VOCAB_MAX distinct values (a planner given --compression or
   * --memory-budget keeps small fields full; needsFullVocab says which a run needs). @default false
   */
  fullVocab?: boolean | 'planned';
  /** Streamed training with --embedding hybrid: count each field's most frequent values (bounded memory) in the counting pass. @default false */
  hotCounts?: boolean;
  /** csv/tsv/parquet: a schema file path (read and inlined into the model file). */
  schema?: string;
  /** @default 'fail' */
  onError?: 'fail' | 'skip';
  /** criteo: integer columns as categories or dense values. @default 'category' */
  numeric?: 'category' | 'dense';
  /** avazu: hour → hour_of_day + weekday. @default false */
  splitHour?: boolean;
  /** Stop each file after this many rows (quick experiments). */
  maxRows?: number;
  /**
   * What the plan counts distinct values on. 'pass': every training row (streamed data: one counting pass before
   * training). 'stream-sample': streamed training data: the plan sample (the first PLAN_SAMPLE_ROWS rows, read at
   * the start of the first epoch and trained on, so the data is read once per epoch and training starts at once;
   * rows, positives and skips then come from the first epoch); rows held in memory are counted whole. 'sample': the
   * plan sample in memory too (a memory/stream comparison of one plan). planCountsFor says which a run can use;
   * full vocabularies (fullVocab true) and hot counts need 'pass' and get it. @default 'pass'
   */
  planCounts?: 'pass' | 'stream-sample' | 'sample';
  /** Rows of the plan sample. @default PLAN_SAMPLE_ROWS (262,144) */
  planSampleRows?: number;
  /**
   * avazu/csv/tsv/parquet: a column of per-row sample weights (ReaderOptions.weightColumn): the training loss, its
   * gradients and the valid/test metrics weigh each row by it (valid/test without the column weigh 1).
   */
  weightColumn?: string;
}

/** Inputs up to this many bytes on disk are held in memory under dataMode 'auto' (gzip counts 4×). */
export const AUTO_MEMORY_BYTES = 256 * 2 ** 20;
/** Rows a streamed run's shuffle draws from by default (~65 MB of Criteo-shaped rows held). */
export const DEFAULT_SHUFFLE_BUFFER = 200_000;
/** Exact distinct counting of a streamed input stops (HyperLogLog estimates from then on) above this. */
export const DISTINCT_EXACT_CAP_BYTES = 64 * 2 ** 20;

/** One split (train, valid or test): its files, its columns' description and, held in memory or not, its rows. */
export interface SplitData {
  files: string[];
  fieldInfo: DataSet['fieldInfo'];
  fieldNames: readonly string[];
  numFields: number;
  denseNames: readonly string[];
  numDense: number;
  /** Rows of one pass (after skips); null: streamed training data without a counting pass, until its first pass ends. */
  rows: number | null;
  /** Rows labelled 1 (to tell a one-class validation set); null with rows. */
  positives: number | null;
  stats: DataSet['stats'];
  /** 'memory': `columns` holds every row. 'stream': every pass reads the files again. */
  mode: 'memory' | 'stream';
  /** The rows carry sample weights (the reader read its weight column). */
  sampleWeights: boolean;
  columns: DataSet | null;
  /** Streamed training without a counting pass: the plan sample's chunks and the open rest of that read (the first epoch). */
  head?: HeldPass | null;
  /** Reads of the files from their start so far: loading (a counting pass, or the plan sample's read, which the first epoch finishes), then every streamed pass. */
  reads: number;
}

/** A pass that was started to read the plan sample: its first chunks (held) and the rest, still to read. */
interface HeldPass {
  chunks: DataChunk[];
  rest: AsyncIterator<DataChunk> | null;
  /** The pass's reader statistics once it ended. */
  stats: () => PassStats | null;
}

/** Where the plan's distinct counts come from (RunData.planCounts; the metrics JSON's train.data.planCounts). */
export type PlanCountsInfo = { from: 'pass' } | { from: 'sample'; sampleRows: number; growingFields: string[] };

/** Everything one run needs from disk, loaded once (a sweep trains many cells on it). */
export interface RunData {
  options: DataOptions;
  train: SplitData;
  valid?: SplitData;
  test?: SplitData;
  /** Distinct values per field in the training data. */
  distinct: number[];
  /** true: the distinct counts are HyperLogLog estimates (a streamed input beyond the exact counter's memory cap). */
  distinctEstimated: boolean;
  /**
   * 'pass': distinct counted over every training row. 'sample': over the plan sample only (estimates: the fields in
   * growingFields still gained values in its second half, so their counts are lower bounds and the planner never
   * keeps them full).
   */
  planCounts: PlanCountsInfo;
  /** Streamed training with fullVocab: each field's full vocabulary, built in the counting pass. */
  fullSpecs: IndexSpec[] | null;
  /** Streamed training with hotCounts: each field's hot candidates from the counting pass (in memory: counted on demand). */
  hotCandidates?: HotCandidates[] | null;
  /** Streamed data: the counting pass's per-field value counts, for full vocabularies with another min count. */
  fullVocab?: FullVocabBuilder[];
  /** Reader options that reproduce this parsing (stored in the model file). */
  reader: ReaderOptions;
  /** Reader options the streamed splits are read with (the model file's, without what only the file records). */
  readerForSplits: ReaderOptions;
  loadSeconds: number;
}

export interface ModelOptions {
  arch: Arch;
  method: IndexMethod;
  /** @default 'succession' */
  bhStrategy?: BhStrategy;
  /** bh only: fixed block length t (code length from the collision rule). */
  blockBits?: number;
  /** bh, hybrid: pin the code length S (a paper setting); the planner then only chooses t. */
  codeBits?: number;
  /** hybrid: give this fraction of each field's bytes to hot rows instead of the planner's rule (measuring splits). */
  hotShare?: number;
  /** Target fullRows / rows. */
  compression?: number;
  /** Target embedding bytes (float32, all fields). */
  memoryBudget?: number;
  dim: number;
  /** @default TRAINING_DEFAULTS.mlp ([128, 64]) */
  mlp?: number[];
  /** @default TRAINING_DEFAULTS.fusion ('weighted') */
  fusion?: Fusion;
  epochs: number;
  batchSize: number;
  lr: number;
  optimizer: SparseOptimizerKind;
  threads: number;
  /** threads > 1: how embedding-row updates combine across threads (see Trainer). @default 'merged' */
  sparseSync?: SparseSync;
  seed: number;
  /** @default 'auto' */
  engine?: OpsKind;
  /** @default 'auto' */
  gemm?: GemmKind;
  /** Early stopping patience on validation AUC; 0 disables. @default TRAINING_DEFAULTS.patience (2) */
  patience?: number;
  /** With a validation set: evaluate every this many training rows (rounded to whole batches) instead of per epoch. */
  evalEveryRows?: number;
  /** Dropout after each hidden ReLU. @default 0 */
  dropout?: number;
  /** Batch norm after each hidden Linear. @default false */
  batchNorm?: boolean;
  /** L2 on the embedding rows a batch touches. @default 0 */
  embeddingL2?: number;
  /** L2 weight decay on dense weight matrices. @default 0 */
  weightDecay?: number;
  /** Std of the normal init of embedding rows. @default 0.01 */
  initStd?: number;
  /** Embedding learning rate. @default lr */
  embeddingLr?: number;
  /**
   * Full tables (method 'full', and fields the planner keeps full): values seen fewer times in the training data share
   * the OOV row (published Criteo pipelines use 10). @default TRAINING_DEFAULTS.minCount (1)
   */
  minCount?: number;
  /**
   * Name of a single-valued field (a user or query id) whose values group the valid/test rows for group AUC: the mean
   * of per-group AUCs weighted by group size, one-class groups left out and counted (metrics `gauc`).
   */
  groupBy?: string;
  /** Per-field overrides of the method (and min count or ratio) and the embedding dim, by field name (`--fields FILE`). */
  fields?: FieldOverrides;
  /** Where `fields` came from, for messages (the file path). @default 'fields' */
  fieldsSource?: string;
}

/** Create a run's output folder (and its parents); a file in the way is an IoError naming it. */
function outputFolder(what: string, dir: string): void {
  try {
    mkdirSync(dir, { recursive: true });
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'EEXIST' || code === 'ENOTDIR') throw new IoError(`${what} folder ${dir}: a file is in the way, expected a folder`, { file: dir });
    throw new IoError(`${what} folder ${dir}: cannot create it (${code ?? (e as Error).message})`, { file: dir });
  }
}

/** ModelOptions keys a caller may leave out: trainModel takes them from TRAINING_DEFAULTS, as the CLI's flags do. */
export type DefaultedModelKey = 'arch' | 'method' | 'dim' | 'epochs' | 'batchSize' | 'lr' | 'optimizer' | 'threads' | 'seed';
/** trainModel's options: ModelOptions with the keys TRAINING_DEFAULTS holds made optional. */
export type ModelOptionsInput = Omit<ModelOptions, DefaultedModelKey> & Partial<Pick<ModelOptions, DefaultedModelKey>>;

/**
 * Every key TRAINING_DEFAULTS holds, filled in where `m` leaves it out (or undefined), so the library trains what
 * `bhembed train` trains with no flags.
 * @example
 *   withTrainingDefaults({ method: 'hash', compression: 10 })  // arch 'deepfm', dim 16, batchSize 256, lr 0.001, …
 */
export function withTrainingDefaults(m: ModelOptionsInput): ModelOptions {
  const D = TRAINING_DEFAULTS;
  return {
    ...m,
    arch: m.arch ?? D.arch,
    method: m.method ?? D.method,
    dim: m.dim ?? D.dim,
    epochs: m.epochs ?? D.epochs,
    batchSize: m.batchSize ?? D.batchSize,
    lr: m.lr ?? D.lr,
    optimizer: m.optimizer ?? D.optimizer,
    threads: m.threads ?? D.threads,
    seed: m.seed ?? D.seed,
  };
}

/** The index of the groupBy field in the data, checked: it exists and has one value per row. */
export function groupFieldOf(data: RunData, groupBy: string | undefined): number | undefined {
  if (groupBy === undefined) return undefined;
  const names = data.train.fieldNames;
  const f = names.indexOf(groupBy);
  if (f < 0) throw new UsageError(`--group-by ${groupBy}: the data has no field '${groupBy}' (its fields: ${names.join(', ')})`);
  if (data.train.fieldInfo[f].multiValued) throw new UsageError(`--group-by ${groupBy}: a multi-valued field cannot group rows (a row must have one value); pick a single-valued field`);
  return f;
}

/** The optimizer settings of a run, as the trainer takes them. */
export function optimOf(m: ModelOptions): OptimConfig {
  const o: OptimConfig = { lr: m.lr, embeddingOptimizer: m.optimizer };
  if (m.embeddingLr !== undefined) o.embeddingLr = m.embeddingLr;
  if (m.embeddingL2 !== undefined && m.embeddingL2 > 0) o.embeddingL2 = m.embeddingL2;
  if (m.weightDecay !== undefined && m.weightDecay > 0) o.weightDecay = m.weightDecay;
  return o;
}

export type ProgressEvent =
  | { type: 'phase'; phase: 'load' | 'plan' | 'train' | 'eval' | 'save'; message: string }
  | { type: 'step'; epoch: number; epochs: number; done: number; total: number; loss?: number }
  | { type: 'epoch'; epoch: number; epochs: number; trainLoss?: number; auc?: number; logloss?: number; seconds: number };

export interface RunOutcome {
  metrics: RunMetrics;
  config: ModelConfig;
  plan: EmbeddingPlan | null;
  /** Written model file size (when `out` was given). */
  modelFileBytes?: number;
}


/** The regularization and init settings of a run, for the metrics JSON and the model file (only those set). */
export function regOf(m: ModelOptions): Pick<ModelOptions, 'dropout' | 'batchNorm' | 'embeddingL2' | 'weightDecay' | 'initStd' | 'embeddingLr' | 'minCount'> {
  const r: Pick<ModelOptions, 'dropout' | 'batchNorm' | 'embeddingL2' | 'weightDecay' | 'initStd' | 'embeddingLr' | 'minCount'> = {};
  if (m.dropout) r.dropout = m.dropout;
  if (m.batchNorm) r.batchNorm = true;
  if (m.embeddingL2) r.embeddingL2 = m.embeddingL2;
  if (m.weightDecay) r.weightDecay = m.weightDecay;
  if (m.initStd !== undefined) r.initStd = m.initStd;
  if (m.embeddingLr !== undefined) r.embeddingLr = m.embeddingLr;
  if (m.minCount !== undefined && m.minCount > 1) r.minCount = m.minCount;
  return r;
}

function readSchema(path: string): Record<string, unknown> {
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>;
  } catch (e) {
    throw new IoError(`--schema ${path}: cannot read JSON (${(e as Error).message})`, { file: path });
  }
}

/** A split's paths for messages. */
export function inputName(x: string | string[] | undefined): string {
  return x === undefined ? '' : typeof x === 'string' ? x : x.join(',');
}

/** Shape of a split's batches. */
function shapeOfSplit(d: SplitData): BatchShape {
  return { fields: d.fieldInfo.map((f) => ({ multiValued: f.multiValued, weighted: f.weighted })), numDense: d.numDense, ...(d.sampleWeights ? { sampleWeights: true } : {}) };
}

/** valid/test read a weight column when they have it (weighted metrics), else weigh every row 1. */
function evalReader(r: ReaderOptions): ReaderOptions {
  return r.weightColumn !== undefined ? { ...r, weights: 'detect' } : r;
}

/**
 * The split's rows as a batch source: in memory, shuffled per epoch (training) or in order; streamed, through a
 * shuffle buffer of `shuffleBuffer` rows (0: in order).
 */
export function splitSource(data: RunData, split: SplitData, opts: { shuffle: boolean; seed: number }): BatchSource {
  if (split.columns !== null) return new MemorySource(split.columns, opts);
  // Files are read, parsed and hashed on a worker thread while this thread trains.
  const pass = (): AsyncIterable<DataChunk> => {
    // The first pass of a run without a counting pass: the plan sample's chunks, then the rest of that read.
    const head = split.head ?? null;
    split.head = null;
    let stats: PassStats | null = null;
    if (head === null) split.reads++;
    const chunks = head !== null ? heldThenRest(head) : parsedOnWorker(data.options.format, split.files, split === data.train ? data.readerForSplits : evalReader(data.readerForSplits), (st) => (stats = st));
    return split.rows === null ? countedPass(split, chunks, () => (head !== null ? head.stats() : stats)) : chunks;
  };
  return new StreamSource({
    shape: shapeOfSplit(split),
    pass,
    shuffleBuffer: opts.shuffle ? Math.max(1, data.options.shuffleBuffer ?? DEFAULT_SHUFFLE_BUFFER) : 0,
    seed: opts.seed,
  });
}

async function* heldThenRest(head: HeldPass): AsyncGenerator<DataChunk> {
  const rest = head.rest;
  try {
    for (const c of head.chunks) yield c;
    head.chunks = [];
    if (rest === null) return;
    for (;;) {
      const r = await rest.next();
      if (r.done) return;
      yield r.value;
    }
  } finally {
    await rest?.return?.(undefined);
  }
}

/** The first whole pass of a split read without a counting pass sets its rows, positives and reader statistics. */
async function* countedPass(split: SplitData, chunks: AsyncIterable<DataChunk>, statsOf: () => PassStats | null): AsyncGenerator<DataChunk> {
  let rows = 0;
  let positives = 0;
  for await (const c of chunks) {
    rows += c.rows;
    for (let i = 0; i < c.rows; i++) positives += c.labels[i] === 1 ? 1 : 0;
    yield c;
  }
  const st = statsOf();
  if (split.rows === null) {
    split.rows = rows;
    split.positives = positives;
    if (st !== null) split.stats = st;
  }
}

/** A split's rows where they were counted when loading (valid, test, and training data read with planCounts 'pass'). */
export function countedRows(split: SplitData): number {
  if (split.rows === null) throw new Error(`internal: ${split.files.join(',')} has no row count (read without a counting pass)`);
  return split.rows;
}

/** Close a plan sample's read that no pass took over (a run that failed before training). */
export async function releaseHead(split: SplitData): Promise<void> {
  const head = split.head ?? null;
  split.head = null;
  await head?.rest?.return?.(undefined);
}

function splitOf(files: string[], input: MultiFileInput, columns: DataSet | null, rows: number | null, positives: number | null): SplitData {
  const r = input.first;
  return {
    files,
    fieldInfo: r.fields,
    fieldNames: r.fieldNames,
    numFields: r.numFields,
    denseNames: r.denseNames,
    numDense: r.numDense,
    rows,
    positives,
    stats: input.stats,
    mode: columns === null ? 'stream' : 'memory',
    sampleWeights: r.weightColumn !== undefined,
    columns,
    reads: 1,
  };
}

/** Load train (and valid/test) with one reader configuration and count distinct values per training field. */
export async function loadRunData(options: DataOptions, onProgress?: (e: ProgressEvent) => void): Promise<RunData> {
  const t0 = performance.now();
  const reader: ReaderOptions = { onError: options.onError ?? 'fail' };
  if (options.schema !== undefined) reader.schema = readSchema(options.schema) as unknown as ReaderOptions['schema'];
  if (options.numeric !== undefined) reader.numeric = options.numeric;
  if (options.splitHour !== undefined) reader.splitHour = options.splitHour;
  if (options.maxRows !== undefined) reader.maxRows = options.maxRows;
  if (options.weightColumn !== undefined) reader.weightColumn = options.weightColumn;
  if ((options.format === 'csv' || options.format === 'tsv' || options.format === 'parquet') && reader.schema === undefined) {
    throw new UsageError(`--format ${options.format} needs --schema FILE (label, categorical and numeric columns)`);
  }
  const mode = options.dataMode ?? 'auto';
  if (!['auto', 'memory', 'stream'].includes(mode)) throw new ConfigError(`dataMode: '${String(mode)}' is not one of auto | memory | stream`, { key: 'dataMode' });
  const trainName = inputName(options.train);
  const trainFiles = expandInputs(options.train, '--train');
  const gz = (f: string): number => (/\.gz$/i.test(f) ? 4 : 1);
  const bytes = trainFiles.reduce((a, f) => a + inputBytes([f]) * gz(f), 0);
  // stdin and pipes can be read once: their rows are held (the counting pass and the epochs need several passes).
  const once = !rereadable(trainFiles);
  if (once && mode === 'stream') throw new UsageError(`--data-mode stream reads the training data once per epoch, but ${trainName} can be read only once (stdin or a pipe); give files`);
  const inMemory = once || mode === 'memory' || (mode === 'auto' && bytes <= AUTO_MEMORY_BYTES);
  // The plan sample instead of a counting pass (planCounts; the pass stays for full vocabularies and hot counts).
  const planMode = options.fullVocab === true || options.hotCounts === true ? 'pass' : (options.planCounts ?? 'pass');
  const sampled = planMode === 'sample' || (planMode === 'stream-sample' && !inMemory);
  const sampleRows = options.planSampleRows ?? PLAN_SAMPLE_ROWS;
  if (!Number.isInteger(sampleRows) || sampleRows < 2) throw new ConfigError(`planSampleRows: must be an integer ≥ 2, got ${String(sampleRows)}`, { key: 'planSampleRows' });
  onProgress?.({ type: 'phase', phase: 'load', message: `${inMemory ? 'reading' : sampled ? 'sampling' : 'counting'} ${trainName}` });
  const trainIn = await MultiFileInput.open(options.format, trainFiles, reader);
  if (options.format === 'libsvm' || options.format === 'libfm' || options.format === 'libffm') {
    reader.numFields = trainIn.first.numFields;
    // Recorded in the model file: its values' weights reach the model (a file without the key is from 0.1.0, which
    // trained with every weight 1, and is scored that way: models/model-codec.ts ignoresValueWeights). Pooling is recorded
    // per field in the model config (fields[].pooling, from the reader's FieldInfo below).
    reader.valueWeights = true;
  }
  const splitReader = { ...reader };
  const first = trainIn.first;
  let train: SplitData;
  let distinct: number[];
  let distinctEstimated = false;
  let planCounts: PlanCountsInfo = { from: 'pass' };
  let vocab: FullVocabBuilder[] | null = null;
  let hot: ReturnType<typeof newHotCounter>[] | null = null;
  // The plan sample's counts, and the vocabularies of its complete fields (which a plan may keep full).
  const fromSample = (chunks: DataChunk[], all: boolean): void => {
    const sample = countPlanSample(chunks, first.numFields, all ? Infinity : sampleRows);
    distinct = sample.distinct;
    if (!all) planCounts = { from: 'sample', sampleRows: sample.rows, growingFields: first.fieldNames.filter((_, f) => sample.growing[f]) };
    vocab = first.fieldNames.map((_, f) => new FullVocabBuilder(1024, all || !sample.growing[f] ? Infinity : 0));
    const v = vocab;
    // Each value counted by its row's sample weight (FullVocabBuilder.addRows), as the counting pass does.
    let left = sample.rows;
    for (const c of chunks) {
      if (left <= 0) break;
      const rows = Math.min(left, c.rows);
      c.fields.forEach((col, f) => v[f].addRows(col.ids, col.offsets ?? null, rows, c.sampleWeights));
      left -= rows;
    }
  };
  if (sampled && !inMemory) {
    // Read the plan sample from the first epoch's own read (parsed on a worker); the rest of it stays open.
    let stats: PassStats | null = null;
    const it = parsedOnWorker(options.format, trainFiles, splitReader, (st) => (stats = st))[Symbol.asyncIterator]();
    const held: DataChunk[] = [];
    let heldRows = 0;
    let ended = false;
    try {
      while (heldRows < sampleRows) {
        const r = await it.next();
        if (r.done) {
          ended = true;
          break;
        }
        held.push(r.value);
        heldRows += r.value.rows;
      }
    } catch (e) {
      await it.return?.(undefined);
      throw e;
    }
    if (heldRows === 0) {
      await it.return?.(undefined);
      checkSomeRows(trainName, stats ?? trainIn.stats); // all skipped (onError 'skip'): how many, and the first reason
      throw new ConfigError(`${trainName}: no training rows`, { key: 'train' });
    }
    let positives = 0;
    for (const c of held) for (let i = 0; i < c.rows; i++) positives += c.labels[i] === 1 ? 1 : 0;
    // An input that ended within the sample is counted whole (exactly what a counting pass would give).
    train = splitOf(trainFiles, trainIn, null, ended ? heldRows : null, ended ? positives : null);
    if (ended && stats !== null) train.stats = stats;
    fromSample(held, ended);
    const statsOf = (): PassStats | null => stats;
    train.head = { chunks: held, rest: ended ? null : it, stats: statsOf };
  } else {
    const counter = new DistinctCounter(first.fieldNames, inMemory ? {} : { method: 'auto', exactCapBytes: DISTINCT_EXACT_CAP_BYTES });
    const vocabCap = options.fullVocab === 'planned' ? PLANNED_VOCAB_MAX : Infinity;
    vocab = !inMemory && (options.fullVocab ?? false) !== false ? first.fieldNames.map(() => new FullVocabBuilder(1024, vocabCap)) : null;
    hot = !inMemory && options.hotCounts === true ? first.fieldNames.map(() => newHotCounter()) : null;
    const parts: DataChunk[] = [];
    let rows = 0;
    let positives = 0;
    for await (const c of trainIn.chunks()) {
      rows += c.rows;
      for (let i = 0; i < c.rows; i++) positives += c.labels[i] === 1 ? 1 : 0;
      if (!sampled) counter.add(c);
      if (inMemory) parts.push(c);
      else if (vocab !== null) vocab.forEach((b, f) => b.addRows(c.fields[f].ids, c.fields[f].offsets ?? null, c.rows, c.sampleWeights));
      hot?.forEach((h, f) => h.addRows(c.fields[f].ids, c.fields[f].offsets ?? null, c.rows, c.sampleWeights));
    }
    if (rows === 0) {
      checkSomeRows(trainName, trainIn.stats); // all skipped (onError 'skip'): how many, and the first reason
      throw new ConfigError(`${trainName}: no training rows`, { key: 'train' });
    }
    if (sampled) fromSample(parts, rows <= sampleRows);
    else {
      const counted = counter.result();
      distinct = counted.distinct;
      distinctEstimated = counted.approx;
    }
    const columns: DataSet | null = inMemory
      ? { ...concatChunks(parts, first.fields, first.numDense), fieldInfo: first.fields, fieldNames: first.fieldNames, numFields: first.numFields, denseNames: first.denseNames, stats: trainIn.stats }
      : null;
    parts.length = 0;
    train = splitOf(trainFiles, trainIn, columns, rows, positives);
  }
  const load = async (path: string | string[] | undefined, flag: string): Promise<SplitData | undefined> => {
    if (path === undefined) return undefined;
    const name = inputName(path);
    const files = expandInputs(path, flag);
    onProgress?.({ type: 'phase', phase: 'load', message: `reading ${name}` });
    const input = await MultiFileInput.open(options.format, files, evalReader(splitReader));
    // Same columns by name and order (equal counts are not enough), and at least one row to score.
    checkSameFields(name, input.first, trainName, first);
    const held: DataChunk[] = [];
    const hold = inMemory || !rereadable(files); // stdin or a pipe is read once: its rows are held
    let n = 0;
    let pos = 0;
    for await (const c of input.chunks()) {
      n += c.rows;
      for (let i = 0; i < c.rows; i++) pos += c.labels[i] === 1 ? 1 : 0;
      if (hold) held.push(c);
    }
    checkSomeRows(name, input.stats);
    const cols: DataSet | null = hold
      ? { ...concatChunks(held, input.first.fields, input.first.numDense), fieldInfo: input.first.fields, fieldNames: input.first.fieldNames, numFields: input.first.numFields, denseNames: input.first.denseNames, stats: input.stats }
      : null;
    return splitOf(files, input, cols, n, pos);
  };
  let valid: SplitData | undefined;
  let test: SplitData | undefined;
  try {
    valid = await load(options.valid, '--valid');
    test = await load(options.test, '--test');
  } catch (e) {
    await releaseHead(train);
    throw e;
  }
  // Stored in the model file only (valid/test were read without it): eval/predict then refuse rows of another
  // dataset's shape instead of scoring them with padded fields.
  const minSeen = first.minFeaturesSeen;
  if (minSeen !== undefined && Number.isFinite(minSeen) && minSeen > 0) reader.minFeatures = minSeen;
  const vocabs = vocab as FullVocabBuilder[] | null;
  return {
    options,
    train,
    valid,
    test,
    distinct: distinct!,
    distinctEstimated,
    planCounts,
    fullSpecs: vocabs === null || options.fullVocab !== true ? null : vocabs.map((b) => b.build(1)),
    hotCandidates: hot === null ? null : hot.map(topHot),
    ...(vocabs === null ? {} : { fullVocab: vocabs }),
    reader,
    readerForSplits: splitReader,
    loadSeconds: (performance.now() - t0) / 1000,
  };
}

/** Field f's full vocabulary: values seen at least minCount times get a row, the rest share the OOV row. */
function fullSpec(data: RunData, f: number, minCount: number = TRAINING_DEFAULTS.minCount): IndexSpec {
  const ds = data.train.columns;
  // Planned on the plan sample: the vocabulary of the sample (only a field complete in it is kept full).
  if (ds === null || data.planCounts.from === 'sample') {
    if (data.fullSpecs !== null && minCount === 1) return data.fullSpecs[f];
    const b = data.fullVocab?.[f];
    if (b === undefined) throw new ConfigError('--embedding full on streamed data needs the vocabularies of the counting pass (loadRunData with fullVocab)', { key: 'fullVocab' });
    if (b.overflowed) {
      const name = data.train.fieldNames[f];
      throw new ConfigError(
        `field ${name}: the plan keeps its table full (${data.distinct[f]} values), but streamed data keeps vocabularies only for fields of at most ${PLANNED_VOCAB_MAX} values when a planner decides; give this field "method": "full" in --fields (counts it whole), a higher --compression, or --data-mode memory`,
        { key: 'fullVocab', field: name },
      );
    }
    return b.build(minCount);
  }
  const b = new FullVocabBuilder(1024);
  b.addRows(ds.fields[f].ids, ds.fields[f].offsets ?? null, ds.rows, ds.sampleWeights);
  return b.build(minCount);
}

/**
 * Floats per embedding row over all of the architecture's tables: dim (deep/FM/cross) + 1 (linear term); with a
 * field name, that field's own dim (--fields "dim") when it has one.
 */
function rowWidth(m: ModelOptions, field?: string): number {
  const p = ARCH_PARTS[m.arch];
  const dim = (field !== undefined ? m.fields?.[field]?.dim : undefined) ?? m.dim;
  return (p.fm || p.deep || p.cross ? dim : 0) + (p.linear ? 1 : 0);
}

/** The planner's per-field row width where a field's differs from the run's (undefined: the target's). */
function planDim(m: ModelOptions, field: string): number | undefined {
  const w = rowWidth(m, field);
  return w === rowWidth(m) ? undefined : w;
}

/** The memory-target rules that need no data (call before a long load to fail fast). */
export function checkModelOptions(m: ModelOptions): void {
  const targets = [m.blockBits !== undefined, m.compression !== undefined, m.memoryBudget !== undefined].filter(Boolean).length;
  if (targets > 1) throw new UsageError('give only one of --block-bits, --compression and --memory-budget');
  if (m.fields !== undefined) {
    checkFieldOverrides(m.fields, m.fieldsSource ?? 'fields');
    const own = Object.entries(m.fields).flatMap(([name, o]) => (o.dim !== undefined ? [{ name, dim: o.dim }] : []));
    const e = mixedDimsError(m.arch, m.dim, own, m.fieldsSource);
    if (e !== null) throw e;
  }
  if (m.minCount !== undefined && !(Number.isInteger(m.minCount) && m.minCount >= 1)) throw new UsageError(`--min-count: must be an integer ≥ 1, got ${JSON.stringify(m.minCount)}`);
  if (m.method === 'full' && targets > 0) throw new UsageError('--embedding full takes no --block-bits, --compression or --memory-budget (it is the uncompressed baseline)');
  if (m.blockBits !== undefined && m.method !== 'bh') throw new UsageError(`--block-bits applies to --embedding bh only; use --compression or --memory-budget with ${m.method}`);
  if (m.codeBits !== undefined && m.method !== 'bh' && m.method !== 'hybrid') throw new UsageError(`--code-bits applies to --embedding bh and hybrid only, not ${m.method}`);
  if (m.hotShare !== undefined && m.method !== 'hybrid') throw new UsageError(`--hot-share applies to --embedding hybrid only, not ${m.method}`);
  if (m.method !== 'full' && targets === 0) throw new UsageError(`--embedding ${m.method} needs --compression R or --memory-budget SIZE${m.method === 'bh' ? ' (or --block-bits T)' : ''}`);
}

/** Per hybrid field: hot values, the share of training occurrences they carry, and their keys' bytes. */
export interface HotReport {
  hot: number;
  hotShare: number;
  keyBytes: number;
}

function specsFromPlan(data: RunData, m: ModelOptions, plan: EmbeddingPlan, hotOut?: (HotReport | undefined)[], fieldOf?: readonly number[]): IndexSpec[] {
  return plan.fields.map((p, i): IndexSpec => {
    const f = fieldOf ? fieldOf[i] : i;
    if (p.method === 'full' || !p.bh || !p.alternatives) return fullSpec(data, f, m.minCount);
    switch (m.method) {
      case 'bh':
        return p.bh;
      case 'hybrid': {
        const h = hybridFieldSpec(p, hotCandidatesOf(data)[f], { strategy: p.bh.strategy, rowBytes: rowWidth(m, data.train.fieldNames[f]) * 4, maxCollisionRate: DEFAULT_MAX_COLLISION_RATE, codeBits: m.codeBits, hotShare: m.hotShare });
        if (hotOut) hotOut[i] = { hot: h.hot, hotShare: h.hotCoverage, keyBytes: h.keyBytes };
        return h.spec;
      }
      case 'hash':
        return p.alternatives.hash.spec;
      case 'qr':
        return p.alternatives.qr.spec;
      case 'dhash':
        return p.alternatives.dhash.spec;
      default:
        throw new ConfigError(`--embedding: unknown method '${String(m.method)}'`);
    }
  });
}

/** Bytes of the learned block weights of weighted fusion: Σ_f K_f per embedding table. */
function blockWeightBytes(m: ModelOptions, specs: IndexSpec[]): number {
  if ((m.fusion ?? TRAINING_DEFAULTS.fusion) !== 'weighted') return 0;
  const p = ARCH_PARTS[m.arch];
  const tables = (p.fm || p.deep || p.cross ? 1 : 0) + (p.linear ? 1 : 0);
  const blocks = specs.reduce((a, s) => a + (s.method === 'full' || s.method === 'hash' ? 1 : createIndexer(s).rowsPerValue), 0);
  return 4 * tables * blocks;
}

/**
 * Each field's index spec for the asked method and memory target, then the per-field overrides (ModelOptions.fields):
 * a field with method 'full' gets its full vocabulary (its own minCount), a field with another method is planned
 * alone at its own compression (or the run's). The planner sizes the other fields as without overrides.
 */
export function planIndexSpecs(data: RunData, m: ModelOptions): { specs: IndexSpec[]; plan: EmbeddingPlan | null; hot?: (HotReport | undefined)[] } {
  const planned = planAllFields(data, m);
  if (m.fields === undefined || Object.keys(m.fields).length === 0) return planned;
  const names = data.train.fieldNames;
  const where = m.fieldsSource ?? 'fields';
  const specs = [...planned.specs];
  const hot = [...(planned.hot ?? [])];
  for (const [name, o] of Object.entries(m.fields)) {
    const f = names.indexOf(name);
    if (f < 0) throw new ConfigError(`${where}: field '${name}': the training data has no such field (its fields: ${names.join(', ')})`, { file: where, field: name });
    // Only a dim: the planner above already sized this field at its own width.
    if (o.method === undefined && o.minCount === undefined && o.compression === undefined) continue;
    const method = o.method ?? (o.minCount !== undefined ? specs[f].method : m.method);
    if (method === 'full') {
      specs[f] = fullSpec(data, f, o.minCount ?? m.minCount);
      hot[f] = undefined;
      continue;
    }
    if (o.minCount !== undefined) throw new ConfigError(`${where}: field '${name}': key 'minCount' applies to full tables; this field is planned '${method}' (give "method": "full")`, { file: where, field: name, key: 'minCount' });
    const compression = o.compression ?? m.compression;
    if (compression === undefined) {
      throw new ConfigError(`${where}: field '${name}': method '${method}' needs a ratio: give "compression" for this field${m.memoryBudget !== undefined ? ' (--memory-budget sizes the whole run, not one field)' : m.blockBits !== undefined ? ' (--block-bits is not a ratio)' : ''}`, { file: where, field: name, key: 'compression' });
    }
    const one = planEmbeddings([{ name, cardinality: Math.max(1, data.distinct[f]) }], {
      compression,
      dim: rowWidth(m, name),
      strategy: m.bhStrategy ?? TRAINING_DEFAULTS.bhStrategy,
      maxCollisionRate: DEFAULT_MAX_COLLISION_RATE,
      codeBits: method === 'bh' || method === 'hybrid' ? m.codeBits : undefined,
    });
    const hotOne: (HotReport | undefined)[] = [];
    specs[f] = specsFromPlan(data, { ...m, method }, one, hotOne, [f])[0];
    hot[f] = hotOne[0];
  }
  return { specs, plan: planned.plan, hot };
}

/**
 * Streamed data: the most distinct values per field whose vocabulary the counting pass keeps when only a planner
 * might keep the field full (DataOptions.fullVocab 'planned'); ~16 bytes a value, so 26 fields hold at most ~110 MB.
 */
export const PLANNED_VOCAB_MAX = 1 << 18;

/**
 * Which full vocabularies the run needs (streamed data: built in the counting pass): all for --embedding full or a
 * field override to full; 'planned' when a planner sizes the tables (--compression, --memory-budget), since it
 * keeps small fields full; none with --block-bits.
 */
export function needsFullVocab(m: Pick<ModelOptions, 'method' | 'fields' | 'blockBits'>): boolean | 'planned' {
  if (m.method === 'full' || Object.values(m.fields ?? {}).some((o) => o.method === 'full')) return true;
  return m.blockBits === undefined ? 'planned' : false;
}

/**
 * What a run's plan may count on (DataOptions.planCounts): the plan sample of streamed data for the hashed methods
 * (bh, hash, dhash, qr) with --block-bits or --memory-budget, no per-field overrides and min count 1; every row
 * otherwise (--compression is a ratio to the full tables; full tables, hybrid and min counts need every value).
 */
export function planCountsFor(m: Pick<ModelOptions, 'method' | 'fields' | 'blockBits' | 'memoryBudget' | 'compression' | 'minCount'>): 'pass' | 'stream-sample' {
  const hashed = m.method === 'bh' || m.method === 'hash' || m.method === 'dhash' || m.method === 'qr';
  const target = m.compression === undefined && (m.blockBits !== undefined || m.memoryBudget !== undefined);
  // A field's own "dim" only changes its width, which the planner weighs without further counts.
  const plain = Object.values(m.fields ?? {}).every((o) => o.method === undefined && o.minCount === undefined && o.compression === undefined) && (m.minCount ?? 1) <= 1;
  return hashed && target && plain ? 'stream-sample' : 'pass';
}

/** Whether the run needs each field's hot values (hybrid; streamed data: counted in the counting pass). */
export function needsHotCounts(m: Pick<ModelOptions, 'method' | 'fields'>): boolean {
  return m.method === 'hybrid' || Object.values(m.fields ?? {}).some((o) => o.method === 'hybrid');
}

function planAllFields(data: RunData, m: ModelOptions): { specs: IndexSpec[]; plan: EmbeddingPlan | null; hot?: (HotReport | undefined)[] } {
  const names = data.train.fieldNames;
  const strategy = m.bhStrategy ?? TRAINING_DEFAULTS.bhStrategy;
  checkModelOptions(m);
  if (m.method === 'full') return { specs: names.map((_, f) => fullSpec(data, f, m.minCount)), plan: null };
  if (m.blockBits !== undefined) {
    return {
      specs: data.distinct.map((n) => {
        const S = m.codeBits ?? hashedCodeBits(n);
        return { method: 'bh', codeBits: S, blockBits: Math.min(m.blockBits as number, S), strategy, dense: false };
      }),
      plan: null,
    };
  }
  const pc = data.planCounts;
  if (pc.from === 'sample' && m.compression !== undefined) {
    throw new ConfigError('--compression is a ratio to the full tables, which needs every distinct value counted: load the data with planCounts \'pass\' (the counting pass)', { key: 'planCounts' });
  }
  // Planned on the plan sample: a field still gaining values there is never kept full (its count is a lower bound).
  const growing = new Set(pc.from === 'sample' ? pc.growingFields : []);
  // A field with its own dim (--fields "dim") costs rows × its own width: the budget is split in bytes.
  const fields = names.map((name, f) => ({ name, cardinality: Math.max(1, data.distinct[f]), lowerBound: growing.has(name), dim: planDim(m, name) }));
  const target = { compression: m.compression, budgetBytes: m.memoryBudget, dim: rowWidth(m), strategy, maxCollisionRate: DEFAULT_MAX_COLLISION_RATE, codeBits: m.codeBits };
  const hot: (HotReport | undefined)[] = [];
  if (m.memoryBudget === undefined) {
    const plan = planEmbeddings(fields, target);
    return { specs: specsFromPlan(data, m, plan, hot), plan, hot };
  }
  // Weighted fusion adds K learned weights per field and table; a byte budget must hold them too.
  const underBudget = (budget: number): { specs: IndexSpec[]; plan: EmbeddingPlan; hot: (HotReport | undefined)[] } => {
    let plan = planEmbeddings(fields, { ...target, budgetBytes: budget });
    let specs = specsFromPlan(data, m, plan, hot);
    const extra = blockWeightBytes(m, specs);
    if (extra > 0 && plan.totalBytes + extra > budget) {
      if (budget - extra < 1) throw tooSmallBudget(`plan: the budget of ${budget} bytes does not even hold the ${extra} bytes of block weights`, budget);
      plan = planEmbeddings(fields, { ...target, budgetBytes: budget - extra });
      specs = specsFromPlan(data, m, plan, hot);
    }
    return { specs, plan, hot };
  };
  try {
    return underBudget(m.memoryBudget);
  } catch (e) {
    const need = e instanceof ConfigError && typeof e.details.minBudgetBytes === 'number' ? e.details.minBudgetBytes : null;
    if (need === null) throw e;
    // The planner's minimum ignores the block weights: find the budget at which this whole procedure plans.
    const fits = (b: number): boolean => {
      try {
        underBudget(b);
        return true;
      } catch (x) {
        if (x instanceof ConfigError && typeof x.details.minBudgetBytes === 'number') return false;
        throw x;
      }
    };
    let lo = Math.max(m.memoryBudget, need - 1); // fails
    let hi = Math.max(need, lo + 1);
    while (!fits(hi)) [lo, hi] = [hi, 2 * hi];
    while (hi - lo > 1) {
      const mid = Math.floor((lo + hi) / 2);
      if (fits(mid)) hi = mid;
      else lo = mid;
    }
    const head = (e as Error).message.split('; raise the budget')[0];
    throw tooSmallBudget(`${head}; raise the budget to at least ${hi} bytes${hi !== need ? ' (it also holds the weighted fusion\'s block weights)' : ''}`, hi);
  }
}

function tooSmallBudget(message: string, minBudgetBytes: number): ConfigError {
  return new ConfigError(message, { key: 'memoryBudget', minBudgetBytes });
}

/** The model config a run trains (the cluster runner builds the same one). */
export function modelConfigFor(data: RunData, m: ModelOptions, specs: IndexSpec[]): ModelConfig {
  const names = data.train.fieldNames;
  const config: ModelConfig = {
    arch: m.arch,
    dim: m.dim,
    mlp: m.mlp ?? [...TRAINING_DEFAULTS.mlp],
    // A multi-valued column pools as its reader declares (a schema's "pooling", libffm's sum).
    fields: specs.map((index, f) => {
      const dim = m.fields?.[names[f]]?.dim;
      return { name: names[f], index, fusion: m.fusion ?? TRAINING_DEFAULTS.fusion, pooling: data.train.fieldInfo[f].pooling ?? 'mean', ...(dim !== undefined && dim !== m.dim ? { dim } : {}) };
    }),
    numDense: data.train.numDense,
    seed: m.seed,
  };
  if (m.dropout !== undefined && m.dropout > 0) config.dropout = m.dropout;
  if (m.batchNorm === true) config.batchNorm = true;
  if (m.initStd !== undefined) config.initStd = m.initStd;
  return config;
}

/** { dim } of field f when it has its own (for the reports), else nothing. */
function ownDim(config: ModelConfig, f: number): { dim?: number } {
  const d = config.fields[f].dim;
  return d !== undefined && d !== config.dim ? { dim: d } : {};
}

export function specRows(spec: IndexSpec): number {
  if (spec.method === 'full') return spec.vocab.length + 1;
  if (spec.method === 'bh') return bhNumRows(spec.codeBits, spec.blockBits, spec.strategy);
  return createIndexer(spec).numRows;
}

export interface TrainRunOptions {
  /** Model file to write (atomically). */
  out?: string;
  /** @default 'float32' */
  dtype?: WeightDtype;
  onProgress?: (e: ProgressEvent) => void;
  /** Package version for the metadata. */
  version?: string;
  /**
   * Write a checkpoint (train/resume/checkpoint-file.ts) into `dir` every `everyRows` training rows and once at the
   * end; `run` is stored in each (what resuming needs: options, data identity), `runId` names the run.
   */
  checkpoint?: { dir: string; everyRows: number; runId: string; run?: Record<string, unknown> };
  /** Go on from this checkpoint: the same data and options as the run that wrote it (readLatestCheckpoint). */
  resume?: CheckpointContents;
  /** Start from these weights (and optimizer state, from a checkpoint) with the source's tables (readInitSource). */
  initFrom?: InitSource;
  /** Write `dir`/N.bhm (N = 1, 2, … after the highest already there) every `everyRows` training rows. */
  publish?: { dir: string; everyRows: number };
}

/**
 * Train one model on loaded data; score valid and test with the best weights; optionally save the model file.
 * @example
 * const data = await loadRunData({ format: 'criteo', train: 'train.txt', test: 'test.txt' });
 * const { metrics } = await trainModel(data, { arch: 'deepfm', method: 'bh', compression: 100, dim: 16, epochs: 1,
 *   batchSize: 256, lr: 1e-3, optimizer: 'adam', threads: 1, seed: 1 }, { out: 'model.bhm' });
 */
export async function trainModel(data: RunData, m: ModelOptionsInput, run: TrainRunOptions = {}): Promise<RunOutcome> {
  try {
    return await trainLoaded(data, withTrainingDefaults(m), run);
  } finally {
    await releaseHead(data.train); // a run that failed before its first pass (a plan refused, a bad option)
  }
}

async function trainLoaded(data: RunData, m: ModelOptions, run: TrainRunOptions): Promise<RunOutcome> {
  const emit = run.onProgress;
  const groupField = groupFieldOf(data, m.groupBy);
  emit?.({ type: 'phase', phase: 'plan', message: `planning ${m.method} tables for ${data.train.numFields} fields` });
  const init = run.initFrom;
  // Continued training keeps the source's tables as they are (a new plan on new data would size them otherwise).
  const { specs, plan, hot } = init !== undefined ? { specs: init.config.fields.map((f) => f.index), plan: null, hot: undefined } : planIndexSpecs(data, m);
  const names = data.train.fieldNames;
  const config = modelConfigFor(data, m, specs);
  if (init !== undefined) {
    const ours = normalizeModelConfig({ ...config, seed: init.config.seed, initStd: init.config.initStd });
    const diffs = configDifferences(init.config, ours);
    if (init.method !== undefined && init.method !== m.method) diffs.unshift(`embedding: ${init.method} in the model, ${m.method} here`);
    if (init.target !== undefined) {
      const given = targetOf({ ...m, bhStrategy: undefined });
      for (const [k, v] of Object.entries(given)) if (init.target[k] !== v) diffs.push(`${k}: ${JSON.stringify(init.target[k] ?? null)} in the model, ${JSON.stringify(v)} here`);
    }
    if (init.optimizer !== null && init.optimizer.kind !== m.optimizer) diffs.push(`optimizer: ${init.optimizer.kind} in the checkpoint, ${m.optimizer} here (its state is for ${init.optimizer.kind})`);
    refuseDifferences(`--init-from ${init.path}: this run's model differs from the one stored`, diffs);
    config.seed = init.config.seed;
    config.initStd = init.config.initStd;
  }
  if (run.resume !== undefined) {
    const diffs = configDifferences(run.resume.model as NormalizedModelConfig, normalizeModelConfig(config));
    refuseDifferences(`--resume ${run.resume.path}: the data or options give another model than the checkpoint's (the training data changed?)`, diffs);
  }
  // Resolve 'auto' once, so the model file records the exact backend and GEMM the scores came from.
  const engine = m.engine ?? 'auto';
  const ops0 = await createOps(engine);
  const gemmKind: GemmKind = m.gemm && m.gemm !== 'auto' ? m.gemm : ((await createGemmProvider('auto', ops0)).name as GemmKind);
  // threads > 1 needs shared memory: WASM memory is shared; plain reference ops are swapped by the trainer.
  const ops = m.threads > 1 && ops0.name !== 'wasm' ? undefined : ops0;
  // Buffers are sized for the batch: one larger than the training set only reserves memory (--batch-size 1048576 on
  // 3,000 rows took ~6 GiB). Every step and evaluation batch is the same rows either way.
  const batchSize = data.train.rows === null ? m.batchSize : Math.min(m.batchSize, data.train.rows);
  let checkpointsWritten = 0;
  const published: number[] = [];
  // The library creates its output folders as the CLI does (a missing publish folder failed at the first version).
  for (const [what, dir] of [['checkpoint', run.checkpoint?.dir], ['publish', run.publish?.dir]] as const) if (dir !== undefined) outputFolder(what, dir);
  const writeCk = (c: TrainerCheckpoint, done: boolean): void => {
    const ck = run.checkpoint as NonNullable<TrainRunOptions['checkpoint']>;
    writeCheckpoint(ck.dir, trainer.model.config, { format: 'bhembed-checkpoint', runId: ck.runId, rows: c.loop.rows, done, trainer: c.loop as unknown as Record<string, unknown>, run: ck.run ?? {}, bhembed: run.version ?? 'unknown' }, c.tensors);
    checkpointsWritten++;
  };
  const publishNow = (rows: number): void => {
    const p = run.publish as NonNullable<TrainRunOptions['publish']>;
    const v = nextVersion(p.dir);
    const fieldReports: FieldEmbeddingReport[] = specs.map((sp, f) => ({ name: names[f], method: sp.method, rows: specRows(sp), fullRows: data.distinct[f] + 1 }));
    saveModel(publishPath(p.dir, v), trainer.model, modelMeta(data, m, run, trainer.ops.name, gemmKind, batchSize, fieldReports, { published: { version: v, trainingRows: rows } }));
    published.push(v);
  };
  const trainer = await Trainer.create(config, {
    batchSize,
    epochs: m.epochs,
    seed: m.seed,
    threads: m.threads,
    sparseSync: m.sparseSync,
    engine,
    gemm: gemmKind,
    ops,
    optim: optimOf(m),
    earlyStopping: (m.patience ?? TRAINING_DEFAULTS.patience) > 0 ? { patience: m.patience ?? TRAINING_DEFAULTS.patience } : false,
    evalEvery: m.evalEveryRows !== undefined && data.valid ? Math.max(1, Math.round(m.evalEveryRows / batchSize)) : 0,
    onStep: emit ? (st) => emit({ type: 'step', epoch: st.epoch, epochs: m.epochs, done: st.done, total: st.total }) : undefined,
    checkpointEvery: run.checkpoint?.everyRows,
    onCheckpoint: run.checkpoint !== undefined ? (c) => writeCk(c, false) : undefined,
    publishEvery: run.publish?.everyRows,
    onPublish: run.publish !== undefined ? (rows) => publishNow(rows) : undefined,
    onEvent: (e) => {
      // With a validation set, one line per epoch after its evaluation; without, at the end of the epoch.
      if (e.type === 'epoch' && data.valid) return;
      emit?.({ type: 'epoch', epoch: e.epoch, epochs: m.epochs, auc: e.auc, logloss: e.logloss, trainLoss: e.trainLoss, seconds: e.seconds });
    },
  });
  const sources: BatchSource[] = [];
  try {
    const model = trainer.model;
    emit?.({ type: 'phase', phase: 'train', message: `training ${m.arch}/${m.method} on ${data.train.rows ?? 'streamed'} rows` });
    const trainDs = await splitSource(data, data.train, { shuffle: true, seed: m.seed });
    const validDs = data.valid ? await splitSource(data, data.valid, { shuffle: false, seed: m.seed }) : undefined;
    sources.push(trainDs, ...(validDs ? [validDs] : []));
    const resumeCk: TrainerCheckpoint | undefined = run.resume !== undefined ? { loop: run.resume.header.trainer as unknown as TrainerLoopState, tensors: run.resume.tensors } : undefined;
    if (init !== undefined && resumeCk === undefined) {
      model.loadParameters(init.tensors);
      if (init.optimizer !== null) {
        model.loadOptimizerTensors(init.tensors);
        trainer.startAtStep(init.optimizer.step);
      }
    }
    const fit = await trainer.fit(trainDs, validDs, { resume: resumeCk });
    // Without a counting pass the rows (and positives, skips) of the training data are known from its first pass.
    const n = data.train.rows ?? trainDs.rowsPerPass ?? 0;
    if (run.checkpoint !== undefined) {
      const last = trainer.finalCheckpoint();
      if (last !== null) writeCk(last, true);
    }
    emit?.({ type: 'phase', phase: 'eval', message: 'scoring' });
    const score = async (split: SplitData | undefined): Promise<EvalResult | undefined> => {
      if (!split) return undefined;
      const src = split === data.valid && validDs ? validDs : await splitSource(data, split, { shuffle: false, seed: m.seed });
      sources.push(src);
      return trainer.evaluate(src, { groupField });
    };
    // Scored with the weights the model ends with (the best ones under early stopping, else the last), which are
    // the weights saved: `eval` on the valid file then reproduces these numbers.
    const valid = await score(data.valid);
    const test = await score(data.test);

    const fieldReports: FieldEmbeddingReport[] = specs.map((s, f) => ({ name: names[f], method: s.method, rows: specRows(s), fullRows: data.distinct[f] + 1, ...hot?.[f], ...ownDim(config, f) }));
    let embParams = 0;
    for (const p of model.parameters()) if (p.kind === 'embedding' || p.name.endsWith('block_weights')) embParams += p.data.length;
    let denseParams = 0;
    for (const p of model.parameters()) if (p.kind === 'dense' && !p.name.endsWith('block_weights')) denseParams += p.data.length;
    const skipped: Record<string, number> = { ...data.train.stats.skipped.counts };
    const metrics: RunMetrics = {
      model: m.arch,
      embedding: summarizeEmbedding(m.method, m.dim, fieldReports, embParams),
      train: {
        rows: n,
        epochs: fit.epochs,
        seconds: fit.seconds,
        samplesPerSec: (n * fit.epochs) / Math.max(fit.seconds, 1e-9),
        threads: m.threads,
        ...(m.threads > 1 ? { sparseSync: m.sparseSync ?? 'merged' } : {}),
        batchSize,
        lr: m.lr,
        optimizer: m.optimizer,
        seed: m.seed,
        patience: m.patience ?? TRAINING_DEFAULTS.patience,
        // Early stopping restores the best epoch's weights: say which epoch the model (and its scores) come from.
        ...(validDs && (m.patience ?? TRAINING_DEFAULTS.patience) > 0 && fit.best ? { keptEpoch: fit.best.epoch + 1, stoppedEarly: fit.stoppedEarly } : {}),
        ...regOf(m),
        skipped: Object.keys(skipped).length ? skipped : undefined,
        loss: fit.history.length ? fit.history.map((h) => h.trainLoss) : [fit.trainLoss],
        data: {
          mode: data.train.mode,
          ...(data.train.mode === 'stream' ? { shuffleBuffer: data.options.shuffleBuffer ?? DEFAULT_SHUFFLE_BUFFER } : {}),
          files: data.train.files.length,
          distinctEstimated: data.distinctEstimated,
          // (Continued training keeps the model's tables: no plan was made on this data.)
          ...(data.planCounts.from === 'sample' && init === undefined ? { planCounts: data.planCounts } : {}),
          ...(data.planCounts.from === 'sample' ? { rowsFrom: 'first epoch' as const } : {}),
          ...(data.options.weightColumn !== undefined ? { weightColumn: data.options.weightColumn } : {}),
        },
      },
      denseParams,
      data: {
        format: data.options.format,
        train: inputName(data.options.train),
        valid: data.options.valid === undefined ? undefined : inputName(data.options.valid),
        test: data.options.test === undefined ? undefined : inputName(data.options.test),
      },
      bhembedVersion: run.version,
      createdAt: new Date().toISOString(),
    };
    const gaucOf = (r: EvalResult): { gauc?: GroupAucReport } => (r.group && m.groupBy !== undefined ? { gauc: { field: m.groupBy, ...r.group } } : {});
    const weightOf = (r: EvalResult): { weight?: number } => (r.weight !== undefined ? { weight: r.weight } : {});
    if (valid && data.valid) metrics.valid = { auc: valid.auc, logloss: valid.logloss, rows: countedRows(data.valid), ...weightOf(valid), ...gaucOf(valid) };
    // Progressive validation: one point per evaluation, at the training rows seen so far.
    if (metrics.valid && m.evalEveryRows !== undefined) metrics.valid.series = fit.history.map((h) => ({ rows: h.step * batchSize, auc: h.auc, logloss: h.logloss }));
    if (test && data.test) metrics.test = { auc: test.auc, logloss: test.logloss, rows: countedRows(data.test), ...weightOf(test), ...gaucOf(test) };
    if (run.resume !== undefined) metrics.train.resumedFrom = { file: run.resume.path, rows: run.resume.header.rows };
    if (init !== undefined) {
      const oov = await oovCounts(data, specs, m.seed);
      metrics.train.initFrom = { file: init.path, kind: init.kind, optimizerState: init.optimizer !== null, ...(oov !== null ? { oovValues: oov, oovTotal: Object.values(oov).reduce((a, b) => a + b, 0) } : {}) };
    }
    if (run.checkpoint !== undefined) metrics.train.checkpoints = { dir: run.checkpoint.dir, written: checkpointsWritten };
    if (run.publish !== undefined) metrics.train.published = { dir: run.publish.dir, versions: published };
    const outcome: RunOutcome = { metrics, config, plan };
    if (run.out !== undefined) {
      emit?.({ type: 'phase', phase: 'save', message: `writing ${run.out}` });
      metrics.modelFile = run.out;
      const meta = modelMeta(data, m, run, trainer.ops.name, gemmKind, batchSize, fieldReports, { metrics: metrics as unknown as Record<string, unknown> });
      // Activation ranges for precision 'int8-static', from the training rows (always present, and what the
      // weights were fit to; the validation set is optional), evenly strided, up to CALIBRATION_ROWS.
      if (data.train.columns !== null) await calibrateOnDataset(model, data.train.columns);
      else {
        const src = await splitSource(data, data.train, { shuffle: false, seed: m.seed });
        sources.push(src);
        await calibrateOnSource(model, src);
      }
      outcome.modelFileBytes = saveModel(run.out, model, meta, { dtype: run.dtype });
      metrics.modelFileBytes = outcome.modelFileBytes;
    }
    return outcome;
  } finally {
    for (const src of sources) await src.close();
    // Frees the model's backend memory too, so a sweep of many cells does not grow WASM memory without bound.
    await trainer.dispose();
  }
}

/** The memory target a run was planned with (stored in model files: continued training compares a given one). */
export function targetOf(m: Pick<ModelOptions, 'compression' | 'memoryBudget' | 'blockBits' | 'codeBits' | 'hotShare' | 'bhStrategy'>): Record<string, number | string> {
  const t: Record<string, number | string> = {};
  for (const k of ['compression', 'memoryBudget', 'blockBits', 'codeBits', 'hotShare', 'bhStrategy'] as const) if (m[k] !== undefined) t[k] = m[k] as number | string;
  return t;
}

/** The model file's metadata (the final save and every published version). */
function modelMeta(data: RunData, m: ModelOptions, run: TrainRunOptions, ops: string, gemmKind: GemmKind, batchSize: number, fieldReports: FieldEmbeddingReport[], extra: Record<string, unknown>): ModelFileMeta {
  const meta: ModelFileMeta = {
    bhembed: run.version ?? 'unknown',
    data: { format: data.options.format, fieldNames: [...data.train.fieldNames], denseNames: [...data.train.denseNames], reader: { ...(data.reader as Record<string, unknown>) } },
    engine: { ops, gemm: gemmKind },
    evalBatch: batchSize,
    embedding: { method: m.method, dim: m.dim, fields: fieldReports, target: targetOf(m) },
    optim: { lr: m.lr, optimizer: m.optimizer, epochs: m.epochs, batchSize, seed: m.seed, threads: m.threads, patience: m.patience ?? TRAINING_DEFAULTS.patience, ...regOf(m) },
    ...extra,
  };
  delete (meta.data.reader as ReaderOptions).maxRows;
  return meta;
}

/**
 * Continued training: per full-table field, how many training values (one pass) are not in the model's vocabulary
 * and so go to its OOV row (row 0). Null when no field is full (hashed methods give every value rows).
 */
async function oovCounts(data: RunData, specs: IndexSpec[], seed: number): Promise<Record<string, number> | null> {
  const full = specs.map((s, f) => (s.method === 'full' ? { f, ix: new FullIndexer(s) } : null)).filter((x) => x !== null);
  if (full.length === 0) return null;
  const counts = new Float64Array(specs.length);
  const src = splitSource(data, data.train, { shuffle: false, seed });
  try {
    const buf = batchBufferOf(src.shape, 4096);
    let rows = new Int32Array(4096);
    for (;;) {
      const n = await src.next(buf, 4096);
      if (n === 0) break;
      for (const { f, ix } of full) {
        const fld = buf.fields[f];
        const k = fld.offsets === null ? n : fld.offsets[n];
        if (rows.length < k) rows = new Int32Array(2 * k);
        ix.index(fld.ids, k, rows, 0);
        for (let i = 0; i < k; i++) if (rows[i] === 0) counts[f]++;
      }
    }
  } finally {
    await src.close();
  }
  return Object.fromEntries(full.map(({ f }) => [data.train.fieldNames[f], counts[f]]));
}
