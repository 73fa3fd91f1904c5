// Data-parallel training worker. It builds the same model class from the same normalized config over the
// main thread's shared memory (weights, embedding tables, sparse optimizer state) and, per step, runs
// forward/backward on its shard of the batch, applies the embedding-row updates itself (Hogwild) and leaves its
// dense gradient in its own shared buffer for the main thread to sum. Synchronization is a shared Int32Array
// with Atomics (no message per step). Importing this file on the main thread runs nothing.
//
//   ctrl[GEN]   bumped by main to start a step (or stop)   ctrl[DONE]  workers finished this step
//   ctrl[START] first position in `order`  ctrl[COUNT] batch size  ctrl[STEP] 1-based step  ctrl[CMD] RUN | STOP
//   ctrl[ERR]   set by a worker that failed (it still counts as done, then posts the error)

import { isMainThread, parentPort, workerData } from 'node:worker_threads';
import { toPlain } from '../core/errors.js';
import { WasmOps, type WasmShared } from '../kernels/index.js';
import { createGemmProvider, type GemmKind } from '../kernels/index.js';
import type { Ops } from '../kernels/ops.js';
import { ReferenceOps } from '../kernels/reference.js';
import type { NormalizedModelConfig } from '../models/config.js';
import type { SharedModelState } from '../models/ctr-model.js';
import { createModel } from '../models/registry.js';
import type { NormalizedOptimConfig } from '../nn/optim/config.js';
import { batchBufferFor, gatherBatch, type Dataset } from './dataset.js';

export const CTRL_GEN = 0;
export const CTRL_DONE = 1;
export const CTRL_START = 2;
export const CTRL_COUNT = 3;
export const CTRL_STEP = 4;
export const CTRL_CMD = 5;
export const CTRL_ERR = 6;
export const CTRL_SIZE = 8;
export const CMD_RUN = 1;
export const CMD_STOP = 2;

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
  dataset: Dataset;
  order: Int32Array;
  ctrl: Int32Array;
  losses: Float64Array;
  shardMax: number;
  seed: number;
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
  const batch = batchBufferFor(init.dataset, init.shardMax);
  const ctrl = init.ctrl;
  // Read the generation before announcing readiness: the main thread may start step 1 right after 'ready'.
  let gen = Atomics.load(ctrl, CTRL_GEN);
  parentPort?.postMessage({ type: 'ready', grad: model.params.grad });
  for (;;) {
    Atomics.wait(ctrl, CTRL_GEN, gen);
    gen = Atomics.load(ctrl, CTRL_GEN);
    if (Atomics.load(ctrl, CTRL_CMD) === CMD_STOP) break;
    try {
      const start = ctrl[CTRL_START];
      const count = ctrl[CTRL_COUNT];
      const t = ctrl[CTRL_STEP];
      const [lo, hi] = shardRange(count, init.nWorkers, init.workerId);
      gatherBatch(init.dataset, init.order, start + lo, hi - lo, batch);
      init.losses[init.workerId] = await model.forwardBackward(batch, { scale: 1 / count, dropoutSeed: shardSeed(init.seed, t, init.workerId) });
      model.applySparse(t);
    } catch (e) {
      Atomics.store(ctrl, CTRL_ERR, 1);
      parentPort?.postMessage({ type: 'error', error: toPlain(e) });
    }
    Atomics.add(ctrl, CTRL_DONE, 1);
    Atomics.notify(ctrl, CTRL_DONE);
  }
  model.dispose();
  parentPort?.postMessage({ type: 'stopped' });
}

if (!isMainThread && (workerData as { kind?: string } | null)?.kind === 'bhembed-train-worker') {
  runWorker(workerData as WorkerInit).catch((e: unknown) => {
    parentPort?.postMessage({ type: 'error', error: toPlain(e) });
  });
}
