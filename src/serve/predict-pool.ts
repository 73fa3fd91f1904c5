// Data-parallel scoring for Predictor (LoadOptions.workers ≥ 2): each worker thread holds its own copy of the
// model (its own WASM memory and ORT sessions, 1 ORT thread by default) and scores whole batches, so indexing,
// the embedding gather and the tower of different batches run on different cores at once. Batches keep the
// exact rows of the single-thread path; only which thread scores them changes.

import { Worker } from 'node:worker_threads';
import { fromPlain, type PlainError } from '../core/errors.js';
import type { Batch } from '../core/batch.js';
import type { ModelFileContents } from '../models/model-file.js';
import type { WorkerLoadOptions } from './predict-worker.js';
import type { BodyOptions, PackedResults } from './predictor.js';

interface Pending {
  resolve: (p: never) => void;
  reject: (e: Error) => void;
}

interface Slot {
  worker: Worker;
  inFlight: number;
}

type Reply = { type: 'ready' } | { type: 'probs'; id: number; probs: Float32Array } | { type: 'packed'; id: number; packed: PackedResults } | { type: 'error'; id: number; error: PlainError };

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
    const transfer = [batch.labels.buffer, ...batch.fields.flatMap((f) => [f.ids.buffer, ...(f.offsets ? [f.offsets.buffer] : []), ...(f.weights ? [f.weights.buffer] : [])]), ...(batch.dense ? [batch.dense.buffer] : [])];
    return this.send<Float32Array>({ batch }, transfer as ArrayBuffer[]);
  }

  /**
   * Read and score JSON request bodies in one worker (Predictor.scoreBodiesHere there). The bodies are copied into
   * one buffer, which is transferred: one small message whatever the number of bodies and fields.
   */
  scoreBodies(bodies: readonly Uint8Array[], opts: BodyOptions): Promise<PackedResults> {
    let total = 0;
    for (const b of bodies) total += b.length;
    const bytes = new Uint8Array(total);
    const ends = new Uint32Array(bodies.length);
    let at = 0;
    for (let i = 0; i < bodies.length; i++) {
      bytes.set(bodies[i], at);
      at += bodies[i].length;
      ends[i] = at;
    }
    return this.send<PackedResults>({ bodies: { bytes, ends, opts } }, [bytes.buffer, ends.buffer]);
  }

  /** Post to the least busy worker; resolves with its reply. */
  private send<T>(msg: object, transfer: ArrayBuffer[]): Promise<T> {
    if (this.closed) return Promise.reject(new Error('PredictPool: closed'));
    let slot = this.slots[0];
    for (const s of this.slots) if (s.inFlight < slot.inFlight) slot = s;
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (p: never) => void, reject, slot });
      if (slot.inFlight++ === 0) slot.worker.ref();
      slot.worker.postMessage({ id, ...msg }, transfer);
    });
  }

  private onReply(slot: Slot, m: Reply): void {
    if (m.type === 'ready') return;
    const p = this.pending.get(m.id);
    if (p === undefined) return;
    this.pending.delete(m.id);
    if (--slot.inFlight === 0) slot.worker.unref();
    if (m.type === 'probs') (p.resolve as (x: Float32Array) => void)(m.probs);
    else if (m.type === 'packed') (p.resolve as (x: PackedResults) => void)(m.packed);
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
