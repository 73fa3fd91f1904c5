// Data-parallel training worker. It builds the same model class from the same normalized config over the
// main thread's shared memory (weights, embedding tables, sparse optimizer state) and, per step, runs
// forward/backward on its shard of the batch, then takes part in the sparse update (merged: it steps the rows it
// owns with every shard's gradients, see sparse-sync.ts; hogwild: it steps its own shard's rows) and the dense
// Adam step on its slice of the parameters with the gradients of all threads summed (finishStep). Synchronization
// is a shared Int32Array with Atomics (no message per step). Importing this file on the main thread runs nothing.
//
// Threads receive batches: the main thread pulls each batch from the BatchSource into a batch buffer in shared
// memory, and each worker copies its shard of it out (data/batches/columns.ts appendRows).
//
//   ctrl[GEN]   bumped by main to start a step (or stop)   ctrl[DONE]  workers finished this step
//   ctrl[COUNT] batch size  ctrl[STEP] 1-based step
//   ctrl[CMD]   RUN (a step) | DATA (take the shared batch's arrays from `port`, then count as done) | STOP
//   ctrl[ERR]   set by a thread that failed (it still counts as done, then posts the error)
//   ctrl[ERR_FB] set by a thread whose forward/backward failed (before the sparse exchange: nobody updates rows)
//   ctrl[BAR], ctrl[BAR_GEN]  the step's barrier (arrivals, generation)   ctrl[ABORT]  set by main when a worker died

import { isMainThread, parentPort, receiveMessageOnPort, workerData, type MessagePort } from 'node:worker_threads';
import { meanScale, type BatchBuffer } from '../core/batch.js';
import { BhembedError, toPlain } from '../core/errors.js';
import { appendRows, batchBufferOf, type Columns } from '../data/batches/columns.js';
import { WasmOps, type WasmShared } from '../kernels/index.js';
import { createGemmProvider, type GemmKind } from '../kernels/index.js';
import type { Ops } from '../kernels/ops.js';
import { ReferenceOps } from '../kernels/reference.js';
import type { NormalizedModelConfig } from '../models/config.js';
import type { SharedModelState } from '../models/ctr-model.js';
import { createModel } from '../models/registry.js';
import type { NormalizedOptimConfig } from '../nn/optim/config.js';
import { mergeAndApply, SparseMerger, type SparseExchange } from './sparse-sync.js';
import type { CtrModel } from '../models/ctr-model.js';

export const CTRL_GEN = 0;
export const CTRL_DONE = 1;
export const CTRL_COUNT = 3;
export const CTRL_STEP = 4;
export const CTRL_CMD = 5;
export const CTRL_ERR = 6;
export const CTRL_ERR_FB = 7;
export const CTRL_BAR = 8;
export const CTRL_BAR_GEN = 9;
export const CTRL_ABORT = 10;
export const CTRL_SIZE = 16;
export const CMD_RUN = 1;
export const CMD_STOP = 2;
export const CMD_DATA = 3;

/** ReferenceOps whose arrays live in SharedArrayBuffers, so threads can share them (the WASM backend is shared by construction). */
export class SharedReferenceOps extends ReferenceOps {
  override allocF32(n: number): Float32Array {
    return new Float32Array(new SharedArrayBuffer(4 * n));
  }
  override allocI32(n: number): Int32Array {
    return new Int32Array(new SharedArrayBuffer(4 * n));
  }
}

/** Everything a worker needs; all typed arrays are SharedArrayBuffer views (shared, not copied, by postMessage). */
export interface WorkerInit {
  kind: 'bhembed-train-worker';
  workerId: number;
  nWorkers: number;
  config: NormalizedModelConfig;
  optim: NormalizedOptimConfig;
  wasm: WasmShared | null;
  gemm: GemmKind;
  shared: SharedModelState;
  ctrl: Int32Array;
  losses: Float64Array;
  shardMax: number;
  seed: number;
  /** The merged sparse update's exchange; null: Hogwild (each thread steps its own shard's rows). */
  exchange: SparseExchange | null;
  /** The shared batch's arrays (WorkerData), posted before CMD_DATA. */
  port: MessagePort;
}

/** What the main thread posts on `port` before CMD_DATA. */
export interface WorkerData {
  /** The shared batch buffer's arrays (SharedArrayBuffer views); each step's rows are in its first ctrl[COUNT] rows. */
  batch: Pick<Columns, 'labels' | 'fields' | 'dense' | 'numDense' | 'sampleWeights'>;
  /** Every thread's dense gradient buffer, by thread id (the main thread's is 0). */
  grads: Float32Array[];
}

/** Thread w's share [lo, hi) of n dense parameters: contiguous, split on 16-float (64-byte) boundaries. */
export function denseRange(n: number, threads: number, w: number): [number, number] {
  const chunk = Math.ceil(n / threads / 16) * 16;
  return [Math.min(n, w * chunk), Math.min(n, (w + 1) * chunk)];
}

/** One thread's part of a step after its forward/backward (same on the main thread and in workers). */
export interface StepSync {
  ctrl: Int32Array;
  threads: number;
  id: number;
  model: CtrModel;
  /** null: Hogwild (rows were stepped right after the backward). */
  merger: SparseMerger | null;
  grads: Float32Array[];
}

/**
 * Barrier, then (unless some thread's forward/backward failed) the merged row updates of the rows this thread owns
 * and the dense step of its parameter range: Σ_t grads[t] over [lo, hi) summed in thread order into grads[0]
 * (the same sum as one thread reducing them all), then Adam on that range. Every thread passes the same barriers.
 */
export async function finishStep(s: StepSync, ok: boolean, t: number, barrier: () => void | Promise<void>): Promise<void> {
  s.merger?.publish(ok ? s.model.sparseGrads() : null);
  await barrier();
  if (Atomics.load(s.ctrl, CTRL_ERR_FB) !== 0) {
    s.merger?.reset();
    return;
  }
  let err: unknown = null;
  if (s.merger !== null) {
    try {
      await mergeAndApply(s.merger, s.model, t, barrier);
    } catch (e) {
      if (e instanceof StepAborted) throw e;
      err = e;
    }
  }
  try {
    const g = s.grads;
    const [lo, hi] = denseRange(g[0].length, s.threads, s.id);
    if (hi > lo) {
      const g0 = g[0].subarray(lo, hi);
      for (let w = 1; w < g.length; w++) s.model.ops.axpy(1, g[w].subarray(lo, hi), g0, hi - lo);
      s.model.applyDenseRange(t, g[0], lo, hi);
    }
  } catch (e) {
    err ??= e;
  }
  if (err !== null) throw err;
}

// The message posted right before CMD_DATA (postMessage has queued it by then; wait briefly to be safe).
function receiveData(port: MessagePort, ctrl: Int32Array): WorkerData {
  for (let i = 0; i < 1000; i++) {
    const m = receiveMessageOnPort(port);
    if (m !== undefined) return m.message as WorkerData;
    Atomics.wait(ctrl, CTRL_SIZE - 1, 0, 5);
  }
  throw new BhembedError('internal', 'training worker: no batch arrived with CMD_DATA');
}

/** Thrown out of a barrier when the main thread aborted the step (a worker died). */
export class StepAborted extends BhembedError {
  constructor() {
    super('internal', 'training step aborted: a worker thread stopped');
  }
}

/**
 * Arrive at the step's barrier: the last of n arrivals resets it, opens the next generation and returns null;
 * the others get the generation to wait out.
 */
function arrive(ctrl: Int32Array, n: number): number | null {
  const g = Atomics.load(ctrl, CTRL_BAR_GEN);
  if (Atomics.add(ctrl, CTRL_BAR, 1) !== n - 1) return g;
  Atomics.store(ctrl, CTRL_BAR, 0);
  Atomics.add(ctrl, CTRL_BAR_GEN, 1);
  Atomics.notify(ctrl, CTRL_BAR_GEN);
  return null;
}

/** Block until all n threads arrived (worker threads). */
export function barrierSync(ctrl: Int32Array, n: number): void {
  const g = arrive(ctrl, n);
  if (g === null) return;
  while (Atomics.load(ctrl, CTRL_BAR_GEN) === g) {
    if (Atomics.load(ctrl, CTRL_ABORT) !== 0) throw new StepAborted();
    Atomics.wait(ctrl, CTRL_BAR_GEN, g);
  }
}

// Atomics.waitAsync is in Node ≥ 16 but not in the ES2022 lib typings.
export const waitAsync = (Atomics as unknown as { waitAsync: (a: Int32Array, i: number, v: number) => { async: boolean; value: Promise<string> | string } }).waitAsync;

/** The same barrier without blocking the event loop (main thread). */
export async function barrierAsync(ctrl: Int32Array, n: number): Promise<void> {
  const g = arrive(ctrl, n);
  if (g === null) return;
  while (Atomics.load(ctrl, CTRL_BAR_GEN) === g) {
    if (Atomics.load(ctrl, CTRL_ABORT) !== 0) throw new StepAborted();
    const w = waitAsync(ctrl, CTRL_BAR_GEN, g);
    if (w.async) await w.value;
  }
}

/** Shard w of a batch of `count` split N ways: [lo, hi) relative to the batch start. */
export function shardRange(count: number, n: number, w: number): [number, number] {
  const base = Math.floor(count / n);
  const extra = count % n;
  const lo = w * base + Math.min(w, extra);
  return [lo, lo + base + (w < extra ? 1 : 0)];
}

/** Dropout seed of (run seed, step, worker): distinct per shard so shards do not share masks. */
export function shardSeed(seed: number, step: number, w: number): number {
  let h = Math.imul(seed ^ 0x5bd1e995, 0x9e3779b1) + Math.imul(step, 0x85ebca6b) + Math.imul(w + 1, 0xc2b2ae35);
  h ^= h >>> 15;
  h = Math.imul(h, 0x2c1b3c6d);
  return (h ^ (h >>> 13)) | 0;
}

async function runWorker(init: WorkerInit): Promise<void> {
  const ops: Ops = init.wasm ? WasmOps.attach(init.wasm) : new SharedReferenceOps();
  const gemm = await createGemmProvider(init.gemm, ops);
  const model = createModel(init.config, { ops, gemm, maxBatch: init.shardMax, optim: init.optim, attach: { ...init.shared, buffers: undefined } });
  const merger = init.exchange ? new SparseMerger(model.ops, init.exchange, init.workerId) : null;
  let data: WorkerData | null = null;
  let sync: StepSync | null = null;
  let batch: BatchBuffer | null = null;
  const ctrl = init.ctrl;
  const N = init.nWorkers;
  const barrier = (): void => barrierSync(ctrl, N);
  const report = (e: unknown): void => {
    Atomics.store(ctrl, CTRL_ERR, 1);
    if (!(e instanceof StepAborted)) parentPort?.postMessage({ type: 'error', error: toPlain(e) });
  };
  // Read the generation before announcing readiness: the main thread may start step 1 right after 'ready'.
  let gen = Atomics.load(ctrl, CTRL_GEN);
  parentPort?.postMessage({ type: 'ready', grad: model.params.grad });
  for (;;) {
    Atomics.wait(ctrl, CTRL_GEN, gen);
    gen = Atomics.load(ctrl, CTRL_GEN);
    const cmd = Atomics.load(ctrl, CTRL_CMD);
    if (cmd === CMD_STOP) break;
    if (cmd === CMD_DATA) {
      try {
        data = receiveData(init.port, ctrl);
        const shape = {
          fields: data.batch.fields.map((f) => ({ multiValued: (f.offsets ?? null) !== null, weighted: (f.weights ?? null) !== null })),
          numDense: data.batch.numDense ?? 0,
          sampleWeights: (data.batch.sampleWeights ?? null) !== null,
        };
        batch = batchBufferOf(shape, init.shardMax);
        sync = { ctrl, threads: N, id: init.workerId, model, merger, grads: data.grads };
      } catch (e) {
        report(e);
      }
      Atomics.add(ctrl, CTRL_DONE, 1);
      Atomics.notify(ctrl, CTRL_DONE);
      continue;
    }
    const t = ctrl[CTRL_STEP];
    let ok = true;
    try {
      const count = ctrl[CTRL_COUNT];
      const [lo, hi] = shardRange(count, N, init.workerId);
      if (data === null || batch === null) throw new BhembedError('internal', 'training worker: step before any batch');
      batch.size = 0;
      appendRows({ rows: count, ...data.batch }, null, lo, hi - lo, batch);
      // Every thread scales by the whole batch's weight sum (the same sum in the same order as the main thread).
      init.losses[init.workerId] = await model.forwardBackward(batch, { scale: meanScale(data.batch.sampleWeights, count), dropoutSeed: shardSeed(init.seed, t, init.workerId) });
      if (merger === null) model.applySparse(t);
    } catch (e) {
      ok = false;
      Atomics.store(ctrl, CTRL_ERR_FB, 1);
      report(e);
    }
    try {
      if (sync === null) throw new BhembedError('internal', 'training worker: step before any batch');
      await finishStep(sync, ok, t, barrier);
    } catch (e) {
      if (ok) report(e);
    }
    Atomics.add(ctrl, CTRL_DONE, 1);
    Atomics.notify(ctrl, CTRL_DONE);
  }
  merger?.dispose();
  model.dispose();
  init.port.close();
  parentPort?.postMessage({ type: 'stopped' });
}

if (!isMainThread && (workerData as { kind?: string } | null)?.kind === 'bhembed-train-worker') {
  runWorker(workerData as WorkerInit).catch((e: unknown) => {
    parentPort?.postMessage({ type: 'error', error: toPlain(e) });
  });
}
