// A cluster job's plan, written once by the first coordinator: the data and model options, the model config (the
// planner ran on the whole training set, exactly as `bhembed train` plans it), and the shards. Shard k of epoch e
// is rows order_e[kS, (k+1)S) of the epoch's shuffled row order, drawn with the trainer's own RNG and seed, so one
// worker taking the shards in order sees the very batches `bhembed train` sees. Each shard's rows go to the object
// store as columnar data (no worker needs the input files) and its id to the work-queue stream.

import { IoError, UsageError } from '../core/errors.js';
import { Rng } from '../core/rng.js';
import { createGemmProvider, createOps, type GemmKind } from '../kernels/index.js';
import type { ModelConfig } from '../models/config.js';
import type { ModelFileMeta } from '../models/model-file.js';
import type { ReaderOptions } from '../data/reader.js';
import { countedRows, loadRunData, modelConfigFor, needsFullVocab, needsHotCounts, optimOf, planIndexSpecs, regOf, specRows, type DataOptions, type ModelOptions, type ProgressEvent, type RunData } from '../experiment/pipeline.js';
import { Trainer } from '../train/trainer.js';
import type { Columns } from '../data/batches/columns.js';
import { concatChunks, type DataChunk } from '../data/chunk.js';
import { MultiFileInput } from '../data/inputs.js';
import type { MergeMode } from './average.js';
import { decodeShard, encodeShard } from './codec.js';
import type { JobStore } from './nats.js';

/** When workers average: every this many rows (per worker) or seconds, and at every shard's end. */
export type SyncEvery = { rows: number } | { seconds: number };

export interface ShardRef {
  id: string;
  epoch: number;
  index: number;
  rows: number;
  /** Streamed setup: the object holding the rows (a run of the input, shared by every epoch). @default `shard/<id>` */
  blob?: string;
  /** Streamed setup: the seed the worker shuffles the run's rows with (one per epoch and shard). */
  shuffle?: number;
}

/** The object holding a shard's rows. */
export function shardBlob(s: ShardRef): string {
  return s.blob ?? `shard/${s.id}`;
}

export interface JobSpec {
  job: string;
  data: DataOptions;
  model: ModelOptions;
  /** Training rows per epoch. */
  rows: number;
  epochs: number;
  batchSize: number;
  shardRows: number;
  shards: ShardRef[];
  sync: SyncEvery;
  merge: MergeMode;
  ackWaitS: number;
  /** Rows of the valid and test sets (in the object store as eval/valid, eval/test), 0 when not given. */
  evalRows: { valid: number; test: number };
  meta: Pick<ModelFileMeta, 'data' | 'embedding'>;
  fieldRows: { name: string; method: string; rows: number; fullRows: number }[];
  createdAt: string;
  version: string;
}

export const DEFAULT_SHARD_ROWS = 16_384;

export interface SetupOptions {
  data: DataOptions;
  model: ModelOptions;
  sync: SyncEvery;
  /** @default 'mean' */
  merge?: MergeMode;
  shardRows?: number;
  ackWaitS: number;
  version: string;
  onProgress?: (e: ProgressEvent) => void;
}

/** Loads and plans like `bhembed train`, uploads config and shards, publishes the shard ids. Returns the data too. */
export async function setupJob(store: JobStore, o: SetupOptions, stillLeader: () => boolean): Promise<{ spec: JobSpec; config: ModelConfig; data: RunData }> {
  // The shards carry no sample weights and the workers' loss takes none: refused here too, not only by the CLI.
  if (o.data.weightColumn !== undefined) throw new UsageError(`weightColumn '${o.data.weightColumn}': cluster training does not weigh rows yet; train on one machine (trainModel), or repeat each row by its weight`);
  await store.purgeShards();
  const m = o.model;
  // --data-mode as `bhembed train` reads it: held in memory (auto: inputs up to 256 MiB), or streamed, the
  // counting pass keeping no rows (and the full/hybrid vocabularies counted in it, as train does).
  const data = await loadRunData({ ...o.data, fullVocab: needsFullVocab(m), hotCounts: needsHotCounts(m) }, o.onProgress);
  const ds = data.train.columns;
  const { specs } = planIndexSpecs(data, m);
  const config = modelConfigFor(data, m, specs);
  const n = countedRows(data.train); // planCounts 'pass' (the default): counted when loading
  const batchSize = Math.min(m.batchSize, n);
  const wantShard = Math.max(1, o.shardRows ?? DEFAULT_SHARD_ROWS);
  const shardRows = Math.ceil(wantShard / batchSize) * batchSize; // whole batches: the same steps as one process
  await store.putBlob('config.json', new TextEncoder().encode(JSON.stringify(config)));
  // Valid and test rows go to the object store too, so whichever worker coordinates at the end can score them.
  // (Streamed, the valid and test rows are read here: they are scored whole, so the coordinator holds them.)
  for (const [name, split] of [['valid', data.valid], ['test', data.test]] as const) {
    if (split === undefined) continue;
    const cols = split.columns ?? (await readSplit(data, split.files));
    await store.putBlob(`eval/${name}`, encodeShard(cols, Int32Array.from({ length: cols.rows }, (_, i) => i)));
  }
  const shards = ds !== null ? await heldShards(store, ds, m, shardRows) : await streamedShards(store, data, m, shardRows, o.onProgress);
  const names = data.train.fieldNames;
  const fieldRows = specs.map((s, f) => ({ name: names[f], method: s.method, rows: specRows(s), fullRows: data.distinct[f] + 1 }));
  const reader = { ...(data.reader as Record<string, unknown>) } as ReaderOptions;
  delete reader.maxRows;
  const spec: JobSpec = {
    job: store.job,
    data: o.data,
    model: m,
    rows: n,
    epochs: m.epochs,
    batchSize,
    shardRows,
    shards,
    sync: o.sync,
    merge: o.merge ?? 'mean',
    ackWaitS: o.ackWaitS,
    evalRows: { valid: data.valid?.rows ?? 0, test: data.test?.rows ?? 0 },
    meta: {
      data: { format: o.data.format, fieldNames: [...names], denseNames: [...data.train.denseNames], reader: reader as Record<string, unknown> },
      embedding: { method: m.method, dim: m.dim, fields: fieldRows },
    },
    fieldRows,
    createdAt: new Date().toISOString(),
    version: o.version,
  };
  if (!stillLeader()) throw new Error('lost the coordinator lease during setup');
  await store.putJson('spec', spec);
  // Shard ids go out last: a worker that takes one finds its data, the spec and the config in place.
  for (const s of shards) await store.publishShard(new TextEncoder().encode(JSON.stringify(s)));
  return { spec, config, data };
}

/**
 * Rows held in memory: shard k of epoch e is rows order_e[kS, (k+1)S) of the epoch's shuffled order (the trainer's
 * RNG and seed), so one worker taking the shards in order trains exactly what `bhembed train` trains.
 */
async function heldShards(store: JobStore, ds: Columns, m: ModelOptions, shardRows: number): Promise<ShardRef[]> {
  const n = ds.rows;
  const rng = new Rng(m.seed);
  const order = new Int32Array(n);
  for (let i = 0; i < n; i++) order[i] = i;
  const shards: ShardRef[] = [];
  for (let e = 0; e < m.epochs; e++) {
    rng.shuffle(order); // as Trainer.fit: one RNG, shuffled in place every epoch
    for (let k = 0, start = 0; start < n; k++, start += shardRows) {
      const rows = order.subarray(start, Math.min(n, start + shardRows));
      const ref: ShardRef = { id: `e${e}-s${k}`, epoch: e, index: k, rows: rows.length };
      await store.putBlob(shardBlob(ref), encodeShard(ds, rows));
      shards.push(ref);
    }
  }
  return shards;
}

/**
 * Streamed: the training files are read once more, in order, and cut into runs of S rows as they arrive (at most
 * one run plus one reader chunk is held), each run uploaded once as `rows/<k>`. Epoch e takes the runs in an order
 * shuffled by the seed, and each shard names a seed the worker shuffles the run's rows with; as
 * `--data-mode stream` trains through a shuffle buffer, the mixing is local (within a run, and across the runs
 * the workers train at the same time) rather than one global permutation.
 */
async function streamedShards(store: JobStore, data: RunData, m: ModelOptions, shardRows: number, onProgress?: (e: ProgressEvent) => void): Promise<ShardRef[]> {
  onProgress?.({ type: 'phase', phase: 'load', message: `cutting ${data.train.files.join(',')} into runs of ${shardRows} rows` });
  const runs: number[] = [];
  const put = async (c: Columns, rows: ArrayLike<number>): Promise<void> => {
    await store.putBlob(`rows/${runs.length}`, encodeShard(c, rows));
    runs.push(rows.length);
  };
  const range = (a: number, b: number): Int32Array => Int32Array.from({ length: b - a }, (_, i) => a + i);
  const input = await MultiFileInput.open(data.options.format, data.train.files, data.readerForSplits);
  const { fields, numDense } = input.first;
  let held: DataChunk[] = [];
  let heldRows = 0;
  const cut = async (last: boolean): Promise<void> => {
    if (heldRows === 0 || (heldRows < shardRows && !last)) return;
    const all = held.length === 1 ? held[0] : concatChunks(held, fields, numDense);
    let start = 0;
    for (; all.rows - start >= shardRows; start += shardRows) await put(all, range(start, start + shardRows));
    if (last && start < all.rows) {
      await put(all, range(start, all.rows));
      start = all.rows;
    }
    held = start < all.rows ? [chunkOf(decodeShard(encodeShard(all, range(start, all.rows))))] : [];
    heldRows = all.rows - start;
  };
  for await (const c of input.chunks()) {
    held.push(c);
    heldRows += c.rows;
    await cut(false);
  }
  await cut(true);
  const rows = runs.reduce((a, r) => a + r, 0);
  if (rows !== data.train.rows) throw new IoError(`${data.train.files.join(',')}: ${rows} rows on the second read, ${data.train.rows} on the first (did the files change?)`);
  const rng = new Rng(m.seed);
  const order = Int32Array.from(runs, (_, i) => i);
  const shards: ShardRef[] = [];
  for (let e = 0; e < m.epochs; e++) {
    rng.shuffle(order);
    order.forEach((run, k) => shards.push({ id: `e${e}-s${k}`, epoch: e, index: k, rows: runs[run], blob: `rows/${run}`, shuffle: rng.nextU32() }));
  }
  return shards;
}

/** A shard's compact columns as a reader chunk (offsets from 0), to join the next chunks. */
function chunkOf(c: Columns): DataChunk {
  const out: DataChunk = {
    rows: c.rows,
    labels: c.labels,
    numDense: c.numDense ?? 0,
    fields: c.fields.map((f) => ({ ids: f.ids, ...(f.offsets ? { offsets: Uint32Array.from(f.offsets) } : {}), ...(f.weights ? { weights: f.weights } : {}) })),
  };
  if (c.dense) out.dense = c.dense;
  return out;
}

/** A streamed split's rows, read whole (valid/test: scored at once). */
async function readSplit(data: RunData, files: string[]): Promise<Columns> {
  const input = await MultiFileInput.open(data.options.format, files, data.readerForSplits);
  const parts: DataChunk[] = [];
  for await (const c of input.chunks()) parts.push(c);
  return concatChunks(parts, input.first.fields, input.first.numDense);
}

/** The rows of a shard as the worker trains them: the stored run, shuffled by the shard's seed when it has one. */
export function shardColumns(bytes: Uint8Array, s: ShardRef): Columns {
  const ds = decodeShard(bytes);
  if (s.shuffle === undefined) return ds;
  const order = new Rng(s.shuffle).shuffle(Int32Array.from({ length: ds.rows }, (_, i) => i));
  return decodeShard(encodeShard(ds, order));
}

/** A trainer for the job's model on this machine, built as trainModel builds it (engine, GEMM, optimizer). */
export async function makeTrainer(config: ModelConfig, spec: JobSpec, threads: number): Promise<{ trainer: Trainer; gemm: GemmKind }> {
  const m = spec.model;
  const engine = m.engine ?? 'auto';
  const ops0 = await createOps(engine);
  const gemm: GemmKind = m.gemm && m.gemm !== 'auto' ? m.gemm : ((await createGemmProvider('auto', ops0)).name as GemmKind);
  const ops = threads > 1 && ops0.name !== 'wasm' ? undefined : ops0;
  const trainer = await Trainer.create(config, {
    batchSize: spec.batchSize,
    epochs: 1,
    shuffle: false, // the shards are already in the epoch's shuffled order
    seed: m.seed,
    threads,
    sparseSync: m.sparseSync,
    engine,
    gemm,
    ops,
    optim: optimOf(m),
    earlyStopping: false,
  });
  return { trainer, gemm };
}

/** The model file's metadata for a model version of the job. */
export function versionMeta(spec: JobSpec, engine: { ops: string; gemm: string }, metrics: Record<string, unknown>): ModelFileMeta {
  const m = spec.model;
  return {
    bhembed: spec.version,
    data: spec.meta.data,
    engine,
    evalBatch: spec.batchSize,
    embedding: spec.meta.embedding,
    optim: { lr: m.lr, optimizer: m.optimizer, epochs: m.epochs, batchSize: spec.batchSize, seed: m.seed, threads: m.threads, patience: 0, ...regOf(m), cluster: { job: spec.job, sync: spec.sync, merge: spec.merge, shardRows: spec.shardRows } },
    metrics,
  };
}

export function parseSyncEvery(text: string): SyncEvery {
  const t = text.trim();
  const sec = /^(\d+(?:\.\d+)?)s$/.exec(t);
  if (sec) {
    const s = Number(sec[1]);
    if (s > 0) return { seconds: s };
  }
  if (/^\d+$/.test(t) && Number(t) > 0) return { rows: Number(t) };
  throw new UsageError(`--sync-every '${text}': give rows (4096) or seconds (2s)`);
}
