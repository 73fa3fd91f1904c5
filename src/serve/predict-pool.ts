// Data-parallel scoring for Predictor (LoadOptions.workers ≥ 2): each worker thread holds its own copy of the
// model (its own WASM memory and ORT sessions, 1 ORT thread by default) and scores whole batches, so indexing,
// the embedding gather and the tower of different batches run on different cores at once. Batches keep the
// exact rows of the single-thread path; only which thread scores them changes.

import { Worker } from 'node:worker_threads';
import { fromPlain, type PlainError } from '../core/errors.js';
import type { Batch } from '../core/batch.js';
import type { ModelFileContents } from '../models/model-file.js';
import type { WorkerLoadOptions } from './predict-worker.js';

interface Pending {
  resolve: (p: Float32Array) => void;
  reject: (e: Error) => void;
}

interface Slot {
  worker: Worker;
  inFlight: number;
}

type Reply = { type: 'ready' } | { type: 'probs'; id: number; probs: Float32Array } | { type: 'error'; id: number; error: PlainError };

/** A fixed set of model workers; score() sends one batch (≤ evalBatch rows) to the least busy. */
export class PredictPool {
  private readonly slots: Slot[];
  private readonly pending = new Map<number, Pending & { slot: Slot }>();
  private nextId = 0;
  private closed = false;

  private constructor(slots: Slot[]) {
    this.slots = slots;
  }

  static async start(n: number, file: ModelFileContents, path: string, opts: WorkerLoadOptions): Promise<PredictPool> {
    const url = new URL('./predict-worker.js', import.meta.url);
    const slots: Slot[] = [];
    const ready: Promise<void>[] = [];
    for (let i = 0; i < n; i++) {
      const worker = new Worker(url, { workerData: { file, path, opts } });
      const slot = { worker, inFlight: 0 };
      slots.push(slot);
      ready.push(
        new Promise<void>((resolve, reject) => {
          const onMessage = (m: Reply): void => {
            if (m.type === 'ready') {
              worker.off('message', onMessage);
              worker.off('error', reject);
              resolve();
            } else if (m.type === 'error') reject(fromPlain(m.error));
          };
          worker.on('message', onMessage);
          worker.once('error', reject);
        }),
      );
    }
    try {
      await Promise.all(ready);
    } catch (e) {
      await Promise.all(slots.map((s) => s.worker.terminate()));
      throw e;
    }
    const pool = new PredictPool(slots);
    for (const s of slots) {
      s.worker.on('message', (m: Reply) => pool.onReply(s, m));
      s.worker.on('error', (e: Error) => pool.failAll(s, e));
      // Idle workers do not keep the process alive; a worker with a batch in flight does (see score()).
      s.worker.unref();
    }
    return pool;
  }

  get size(): number {
    return this.slots.length;
  }

  /** Probabilities of the batch's rows (≤ the model's evalBatch). The batch's arrays are transferred (unusable after). */
  score(batch: Batch): Promise<Float32Array> {
    if (this.closed) return Promise.reject(new Error('PredictPool: closed'));
    let slot = this.slots[0];
    for (const s of this.slots) if (s.inFlight < slot.inFlight) slot = s;
    const id = this.nextId++;
    const transfer = [batch.labels.buffer, ...batch.fields.flatMap((f) => [f.ids.buffer, ...(f.offsets ? [f.offsets.buffer] : []), ...(f.weights ? [f.weights.buffer] : [])]), ...(batch.dense ? [batch.dense.buffer] : [])];
    return new Promise<Float32Array>((resolve, reject) => {
      this.pending.set(id, { resolve, reject, slot });
      if (slot.inFlight++ === 0) slot.worker.ref();
      slot.worker.postMessage({ id, batch }, transfer as ArrayBuffer[]);
    });
  }

  private onReply(slot: Slot, m: Reply): void {
    if (m.type === 'ready') return;
    const p = this.pending.get(m.id);
    if (p === undefined) return;
    this.pending.delete(m.id);
    if (--slot.inFlight === 0) slot.worker.unref();
    if (m.type === 'probs') p.resolve(m.probs);
    else p.reject(fromPlain(m.error));
  }

  private failAll(slot: Slot, e: Error): void {
    for (const [id, p] of this.pending) {
      if (p.slot !== slot) continue;
      this.pending.delete(id);
      p.reject(e);
    }
    slot.inFlight = 0;
  }

  async close(): Promise<void> {
    this.closed = true;
    await Promise.all(this.slots.map((s) => s.worker.terminate()));
  }
}
