// Micro-batching for the server: rows of concurrent requests are scored together as one engine call. A batch
// leaves as soon as a scoring slot is free (or after maxWaitMs, when set), so a lone request waits for nothing and
// a busy server fills its batches while the previous ones are scored. Nothing here knows about HTTP.

import type { DataChunk } from '../../data/chunk.js';

export interface BatcherOptions {
  /** Rows per engine call (a single larger request still goes alone, in one call). @default 1024 */
  maxBatchRows?: number;
  /** Longest time a request waits for others to join its batch, in ms; 0 = only while every slot is busy. @default 0 */
  maxWaitMs?: number;
  /** Engine calls in flight at once (≥ the scoring threads keeps them all busy). @default 2 */
  maxInFlight?: number;
}

interface Waiting {
  chunk: DataChunk;
  resolve: (p: Float32Array) => void;
  reject: (e: unknown) => void;
}

/** Scores chunks through `score` (one call per batch of queued chunks) and hands each request its own rows. */
export class MicroBatcher {
  private readonly queue: Waiting[] = [];
  private queuedRows = 0;
  private inFlight = 0;
  private timer: NodeJS.Timeout | null = null;
  private readonly maxBatchRows: number;
  private readonly maxWaitMs: number;
  private readonly maxInFlight: number;

  constructor(
    private readonly score: (chunks: DataChunk[]) => Promise<Float32Array>,
    opts: BatcherOptions = {},
    /** Called with the rows of each engine call (metrics). */
    private readonly onBatch: (rows: number) => void = () => undefined,
  ) {
    this.maxBatchRows = opts.maxBatchRows ?? 1024;
    this.maxWaitMs = opts.maxWaitMs ?? 0;
    this.maxInFlight = opts.maxInFlight ?? 2;
  }

  /** Requests queued or being scored. */
  get pending(): number {
    return this.queue.length + this.inFlight;
  }

  /** The probabilities of the chunk's rows. */
  submit(chunk: DataChunk): Promise<Float32Array> {
    return new Promise<Float32Array>((resolve, reject) => {
      this.queue.push({ chunk, resolve, reject });
      this.queuedRows += chunk.rows;
      this.pump();
    });
  }

  private pump(): void {
    while (this.queue.length > 0 && this.inFlight < this.maxInFlight) {
      if (this.maxWaitMs > 0 && this.queuedRows < this.maxBatchRows) {
        if (this.timer === null) {
          this.timer = setTimeout(() => {
            this.timer = null;
            if (this.queue.length > 0 && this.inFlight < this.maxInFlight) this.dispatch();
            this.pump();
          }, this.maxWaitMs);
        }
        return;
      }
      this.dispatch();
    }
  }

  private dispatch(): void {
    if (this.timer !== null) {
      clearTimeout(this.timer);
      this.timer = null;
    }
    const taken: Waiting[] = [];
    let rows = 0;
    while (this.queue.length > 0 && (taken.length === 0 || rows + this.queue[0].chunk.rows <= this.maxBatchRows)) {
      const w = this.queue.shift() as Waiting;
      rows += w.chunk.rows;
      taken.push(w);
    }
    this.queuedRows -= rows;
    this.inFlight++;
    this.onBatch(rows);
    this.score(taken.map((w) => w.chunk)).then(
      (probs) => {
        let at = 0;
        for (const w of taken) {
          w.resolve(probs.slice(at, at + w.chunk.rows));
          at += w.chunk.rows;
        }
      },
      (e: unknown) => {
        for (const w of taken) w.reject(e);
      },
    ).finally(() => {
      this.inFlight--;
      this.pump();
    });
  }
}
