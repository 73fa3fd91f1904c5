// Batches from a stream of chunks (files read pass after pass), in order or shuffled through a bounded buffer:
// memory holds about 2 × shuffleBuffer rows whatever the length of the stream. The shuffle is seeded per pass,
// so a pass is reproducible and restore(state) replays the pass up to its position (reading, not training).
//
//   buffer of R rows: pull chunks until R rows wait (at the start of a pass min(R, 16384 + rows drawn), so
//   training starts at once); each batch row is a uniform draw among the waiting rows (swap-remove, drawn in blocks
//   and gathered column by column); a chunk is dropped once all its rows left; too many half-used chunks are
//   compacted into one.

import type { BatchBuffer } from '../../core/batch.js';
import { ConfigError } from '../../core/errors.js';
import { Rng } from '../../core/rng.js';
import { appendPicked, appendRows, batchBufferOf, type BatchShape, type Columns } from './columns.js';
import type { BatchSource, SourceState } from './source.js';

/** Rows the shuffle buffer holds before its first draw of a pass (then it grows by one per draw). */
const WARM_ROWS = 16_384;

export interface StreamSourceOptions {
  shape: BatchShape;
  /** A fresh pass over all rows, as chunks in order (called once per pass). */
  pass: () => AsyncIterable<Columns>;
  /** Rows the shuffle draws from; 0 keeps the stream's order. @default 0 */
  shuffleBuffer?: number;
  /** Shuffle seed (pass e draws from a generator seeded by (seed, e)). @default 1 */
  seed?: number;
  /** Called when a pass ends (e.g. to collect reader statistics). */
  onPassEnd?: (rows: number) => void;
}

export class StreamSource implements BatchSource {
  readonly mode = 'stream' as const;
  readonly shape: BatchShape;
  rowsPerPass: number | null = null;
  private readonly opts: StreamSourceOptions;
  private readonly bufferRows: number;
  private readonly seed: number;
  private it: AsyncIterator<Columns> | null = null;
  private prefetch: Promise<IteratorResult<Columns>> | null = null;
  private inputDone = false;
  private epoch = 0;
  private rows = 0;
  private ended = false;
  private rng: Rng;
  // In order: the current chunk and the next row in it.
  private cur: Columns | null = null;
  private curPos = 0;
  // Shuffled: live chunks, rows left in each, and the waiting rows as (slot, row) pairs.
  private pool: (Columns | null)[] = [];
  private left: number[] = [];
  private free: number[] = [];
  private refSlot = new Int32Array(0);
  private refRow = new Int32Array(0);
  // The slots and rows of one block of draws.
  private pickSlot = new Int32Array(0);
  private pickRow = new Int32Array(0);
  private waiting = 0;
  private liveRows = 0;

  constructor(opts: StreamSourceOptions) {
    const R = opts.shuffleBuffer ?? 0;
    if (!Number.isInteger(R) || R < 0) throw new ConfigError(`shuffleBuffer: must be a non-negative integer, got ${String(R)}`, { key: 'shuffleBuffer' });
    this.opts = opts;
    this.shape = opts.shape;
    this.bufferRows = R;
    this.seed = opts.seed ?? 1;
    this.rng = this.passRng(0);
  }

  private passRng(epoch: number): Rng {
    return new Rng((Math.imul(this.seed, 0x9e3779b1) + Math.imul(epoch + 1, 0x85ebca6b)) | 0);
  }

  private async pull(): Promise<Columns | null> {
    if (this.inputDone) return null;
    if (this.it === null) this.it = this.opts.pass()[Symbol.asyncIterator]();
    const p = this.prefetch ?? this.it.next();
    this.prefetch = null;
    const r = await p;
    if (r.done) {
      this.inputDone = true;
      return null;
    }
    // Ask for the next chunk now: its file read proceeds while the caller trains on this one.
    this.prefetch = this.it.next();
    this.prefetch.catch(() => undefined);
    return r.value;
  }

  private resetPass(): void {
    this.it = null;
    this.prefetch = null;
    this.inputDone = false;
    this.cur = null;
    this.curPos = 0;
    this.pool = [];
    this.left = [];
    this.free = [];
    this.waiting = 0;
    this.liveRows = 0;
    this.rows = 0;
    this.rng = this.passRng(this.epoch);
  }

  async next(out: BatchBuffer, max = out.maxBatch): Promise<number> {
    if (this.ended) {
      this.ended = false;
      this.epoch++;
      this.resetPass();
    }
    out.size = 0;
    const want = Math.min(max, out.maxBatch);
    if (this.bufferRows === 0) await this.nextInOrder(out, want);
    else await this.nextShuffled(out, want);
    this.rows += out.size;
    if (out.size === 0) {
      this.ended = true;
      this.rowsPerPass = this.rows;
      this.opts.onPassEnd?.(this.rows);
      await this.closeIterator();
    }
    return out.size;
  }

  private async nextInOrder(out: BatchBuffer, want: number): Promise<void> {
    while (out.size < want) {
      if (this.cur === null || this.curPos >= this.cur.rows) {
        this.cur = await this.pull();
        this.curPos = 0;
        if (this.cur === null) return;
        continue;
      }
      const n = Math.min(want - out.size, this.cur.rows - this.curPos);
      appendRows(this.cur, null, this.curPos, n, out);
      this.curPos += n;
    }
  }

  private addChunk(c: Columns): void {
    if (c.rows === 0) return;
    const slot = this.free.length > 0 ? (this.free.pop() as number) : this.pool.length;
    this.pool[slot] = c;
    this.left[slot] = c.rows;
    const need = this.waiting + c.rows;
    if (this.refSlot.length < need) {
      const cap = Math.max(need, 2 * this.refSlot.length, 1024);
      const s2 = new Int32Array(cap);
      const r2 = new Int32Array(cap);
      s2.set(this.refSlot.subarray(0, this.waiting));
      r2.set(this.refRow.subarray(0, this.waiting));
      this.refSlot = s2;
      this.refRow = r2;
    }
    const w = this.waiting;
    this.refSlot.fill(slot, w, w + c.rows);
    const rr = this.refRow;
    for (let r = 0; r < c.rows; r++) rr[w + r] = r;
    this.waiting = need;
    this.liveRows += c.rows;
  }

  /**
   * Rows that must wait before the next draw, after `drawn` draws of this pass: the buffer starts at WARM_ROWS
   * and grows by one row per row drawn up to bufferRows, so the first batch does not wait for a whole buffer to
   * be read and parsed (reading runs at most 2× the training speed while it grows). A function of the draws only:
   * seeded and restorable like the rest of the shuffle.
   */
  private target(drawn: number): number {
    return Math.min(this.bufferRows, WARM_ROWS + drawn);
  }

  // Block-wise: the draws that need no reading (while more rows wait than the target, or all at the end of the
  // stream) are drawn as a block of (slot, row) pairs (swap-remove), then gathered column by column in one
  // appendPicked. The draws depend on the stream and the seed only, not on batch sizes (restore replays a pass in
  // other batch sizes): the row-by-row loop "top up, then draw" in blocks.
  private async nextShuffled(out: BatchBuffer, want: number): Promise<void> {
    if (this.pickSlot.length < want) {
      this.pickSlot = new Int32Array(want);
      this.pickRow = new Int32Array(want);
    }
    const ps = this.pickSlot;
    const pr = this.pickRow;
    while (out.size < want) {
      while (this.waiting <= this.target(this.rows + out.size) && !this.inputDone) {
        const c = await this.pull();
        if (c !== null) this.addChunk(c);
      }
      if (this.waiting === 0) break;
      const rs = this.refSlot;
      const rr = this.refRow;
      const left = this.left;
      const rng = this.rng;
      const all = this.inputDone;
      const kmax = want - out.size;
      let drawn = this.rows + out.size;
      let w = this.waiting;
      let k = 0;
      while (k < kmax && w > 0 && (all || w > this.target(drawn))) {
        const j = rng.int(w);
        w--;
        const slot = rs[j];
        ps[k] = slot;
        pr[k] = rr[j];
        rs[j] = rs[w];
        rr[j] = rr[w];
        left[slot]--;
        k++;
        drawn++;
      }
      this.waiting = w;
      appendPicked(this.pool, ps, pr, k, out);
      // Chunks all of whose rows left are dropped after the gather (no top-up happened in between).
      for (let i = 0; i < k; i++) {
        const slot = ps[i];
        const c = this.pool[slot];
        if (left[slot] === 0 && c !== null) {
          this.liveRows -= c.rows;
          this.pool[slot] = null;
          this.free.push(slot);
        }
      }
    }
    // (Against the waiting rows too: a compacted chunk larger than the bound is not compacted again at every call.)
    if (this.liveRows > 2 * Math.max(this.bufferRows, this.waiting) + 65_536) this.compact();
  }

  // Copies the waiting rows into one chunk, so half-used chunks stop holding memory (the order of refs is kept).
  private compact(): void {
    const n = this.waiting;
    const buf = batchBufferOf(this.shape, Math.max(1, n));
    appendPicked(this.pool, this.refSlot, this.refRow, n, buf);
    const c: Columns = { rows: n, labels: buf.labels, fields: buf.fields, numDense: this.shape.numDense, dense: buf.dense, sampleWeights: buf.sampleWeights };
    this.pool = [c];
    this.left = [n];
    this.free = [];
    this.refSlot.fill(0, 0, n);
    for (let i = 0; i < n; i++) this.refRow[i] = i;
    this.liveRows = n;
  }

  state(): SourceState {
    return { kind: 'stream', epoch: this.epoch, rows: this.rows, seed: this.seed, shuffleBuffer: this.bufferRows, ended: this.ended };
  }

  async restore(s: SourceState): Promise<void> {
    if (s.kind !== 'stream' || s.seed !== this.seed || s.shuffleBuffer !== this.bufferRows) {
      throw new ConfigError(`cannot restore a '${s.kind}' source state (seed ${String(s.seed)}, shuffle buffer ${String(s.shuffleBuffer)}) into this stream (seed ${this.seed}, shuffle buffer ${this.bufferRows})`);
    }
    await this.closeIterator();
    this.epoch = s.epoch;
    this.ended = false;
    this.resetPass();
    // Replay the pass up to the position: the same seed draws the same rows.
    const scratch = batchBufferOf(this.shape, 4096);
    let todo = s.rows;
    while (todo > 0) {
      const n = await this.next(scratch, Math.min(todo, 4096));
      if (n === 0) throw new ConfigError(`cannot restore the stream position: the data ended after ${this.rows} of ${s.rows} rows (the input files changed?)`);
      todo -= n;
    }
    if (s.ended === true) this.ended = true;
  }

  private async closeIterator(): Promise<void> {
    const it = this.it;
    this.it = null;
    this.prefetch = null;
    if (it?.return) await it.return(undefined);
  }

  async close(): Promise<void> {
    await this.closeIterator();
  }
}
