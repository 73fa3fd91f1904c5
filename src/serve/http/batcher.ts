// Micro-batching for the server: the bodies of concurrent requests are scored together in one call to the scoring
// threads. A batch leaves as soon as a scoring slot is free (or after maxWaitMs, when set), so a lone request waits
// for nothing and a busy server fills its batches while the previous ones are scored. Nothing here knows about HTTP.

export interface BatcherOptions {
  /** Bytes of request bodies per call (a single larger request still goes alone, in one call). @default 1048576 */
  maxBatchBytes?: number;
  /** Longest time a request waits for others to join its batch, in ms; 0 = only while every slot is busy. @default 0 */
  maxWaitMs?: number;
  /** Calls in flight at once (≥ the scoring threads keeps them all busy). @default 2 */
  maxInFlight?: number;
}

interface Waiting<T, R> {
  item: T;
  size: number;
  resolve: (r: R) => void;
  reject: (e: unknown) => void;
}

/** Scores items through `score` (one call per batch of queued items, one result per item, in order). */
export class MicroBatcher<T, R> {
  private readonly queue: Waiting<T, R>[] = [];
  private head = 0;
  private queuedSize = 0;
  private inFlight = 0;
  private timer: NodeJS.Timeout | null = null;
  private readonly maxBatchBytes: number;
  private readonly maxWaitMs: number;
  private readonly maxInFlight: number;

  constructor(
    private readonly score: (items: T[]) => Promise<R[]>,
    /** An item's size in bytes (the batch bound). */
    private readonly sizeOf: (item: T) => number,
    opts: BatcherOptions = {},
  ) {
    this.maxBatchBytes = opts.maxBatchBytes ?? 1 << 20;
    this.maxWaitMs = opts.maxWaitMs ?? 0;
    this.maxInFlight = opts.maxInFlight ?? 2;
  }

  /** Requests queued or being scored. */
  get pending(): number {
    return this.queue.length - this.head + this.inFlight;
  }

  /** The item's result. */
  submit(item: T): Promise<R> {
    return new Promise<R>((resolve, reject) => {
      const size = this.sizeOf(item);
      this.queue.push({ item, size, resolve, reject });
      this.queuedSize += size;
      this.pump();
    });
  }

  private pump(): void {
    while (this.queue.length > this.head && this.inFlight < this.maxInFlight) {
      if (this.maxWaitMs > 0 && this.queuedSize < this.maxBatchBytes) {
        if (this.timer === null) {
          this.timer = setTimeout(() => {
            this.timer = null;
            if (this.queue.length > this.head && this.inFlight < this.maxInFlight) this.dispatch();
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
    const taken: Waiting<T, R>[] = [];
    let size = 0;
    const q = this.queue;
    while (q.length > this.head && (taken.length === 0 || size + q[this.head].size <= this.maxBatchBytes)) {
      const w = q[this.head++];
      size += w.size;
      taken.push(w);
    }
    if (this.head === q.length) {
      q.length = 0;
      this.head = 0;
    }
    this.queuedSize -= size;
    this.inFlight++;
    this.score(taken.map((w) => w.item))
      .then(
        (results) => {
          for (let i = 0; i < taken.length; i++) taken[i].resolve(results[i]);
        },
        (e: unknown) => {
          for (const w of taken) w.reject(e);
        },
      )
      .finally(() => {
        this.inFlight--;
        this.pump();
      });
  }
}
