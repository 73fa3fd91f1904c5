// Batches from a stream of chunks (files read pass after pass), in order or shuffled through a bounded buffer:
// memory holds the buffer's rows (a RowStore of about shuffleBuffer rows) and the chunks in flight, whatever the
// length of the stream. The shuffle is seeded per pass, so a pass is reproducible and restore(state) replays the
// pass up to its position (reading, not training).
//
//   buffer of R rows, T = min(R, 16384 + rows drawn so far in the pass) (a warm-up, so training starts at once):
//   before each draw the next rows of the stream join until T rows wait; the draw is uniform among them
//   (swap-remove). R = 1 is the stream's order; R ≥ the rows of a pass shuffles the pass whole. Draws are made in
//   blocks (the rows that join during a block are added to the store at once) and gathered row by row.

import type { BatchBuffer } from '../../core/batch.js';
import { ConfigError } from '../../core/errors.js';
import { Rng } from '../../core/rng.js';
import { appendRows, batchBufferOf, type BatchShape, type Columns } from './columns.js';
import { RowStore } from './row-store.js';
import type { BatchSource, SourceState } from './source.js';

/** Rows the shuffle buffer holds before its first draw of a pass (then it grows by one per draw). */
const WARM_ROWS = 16_384;
/**
 * The shuffle's rule, in state(): a state written under another rule (bhembed before it: whole chunks joined the
 * buffer) would replay other draws, so restore() refuses it instead of continuing with rows seen twice or never.
 */
const SHUFFLE_RULE = 'row-by-row';

export interface StreamSourceOptions {
  shape: BatchShape;
  /** A fresh pass over all rows, as chunks in order (called once per pass). */
  pass: () => AsyncIterable<Columns>;
  /** Rows the shuffle draws from; 0 (or 1) keeps the stream's order. @default 0 */
  shuffleBuffer?: number;
  /** Shuffle seed (pass e draws from a generator seeded by (seed, e)). @default 1 */
  seed?: number;
  /** Called when a pass ends (e.g. to collect reader statistics). */
  onPassEnd?: (rows: number) => void;
}

/**
 * @example
 *   const src = new StreamSource({ shape, pass: () => parsedOnWorker('criteo', files, {}), shuffleBuffer: 200_000 });
 *   const buf = batchBufferOf(src.shape, 1024);
 *   while ((await src.next(buf)) > 0) step(buf);
 */
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
  // Shuffled: the waiting rows' slots in the store (arrival order, changed by swap-removes), the chunk whose rows
  // join next and the next of them; the slots drawn and the slots joined in one block.
  private store: RowStore | null = null;
  private ref = new Int32Array(0);
  private waiting = 0;
  private pend: Columns | null = null;
  private pendPos = 0;
  private picked = new Int32Array(0);
  private joined = new Int32Array(0);

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
    this.store?.clear();
    this.waiting = 0;
    this.pend = null;
    this.pendPos = 0;
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
    if (this.bufferRows <= 1) await this.nextInOrder(out, want);
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

  /**
   * Rows that wait at each draw after `drawn` draws of this pass: the buffer starts at WARM_ROWS and grows by one
   * row per row drawn up to bufferRows, so the first batch does not wait for a whole buffer to be read and parsed
   * (reading runs at most 2× the training speed while it grows). A function of the draws only: seeded and
   * restorable like the rest of the shuffle.
   */
  private target(drawn: number): number {
    return Math.min(this.bufferRows, WARM_ROWS + drawn);
  }

  // Row by row the rule is "the next rows join until T wait, then draw one"; a block runs it over the indices only
  // (the joining rows take free slots, the draws swap-remove slots), then copies the joined rows into their slots,
  // gathers the drawn slots into the batch and frees them. The draws depend on the stream and the seed only, not on
  // batch sizes (restore replays a pass in other batch sizes).
  private async nextShuffled(out: BatchBuffer, want: number): Promise<void> {
    const store = (this.store ??= new RowStore(this.shape));
    while (out.size < want) {
      const drawn0 = this.rows + out.size;
      const c = this.pend;
      const avail = c === null ? 0 : c.rows - this.pendPos;
      if (avail === 0 && !this.inputDone && this.waiting < this.target(drawn0)) {
        this.pend = await this.pull();
        this.pendPos = 0;
        continue;
      }
      if (avail === 0 && this.inputDone && this.waiting === 0) break;
      const kmax = want - out.size;
      let w = this.waiting;
      // Rows that can join during the block: enough to refill T at every draw.
      const maxJoin = Math.min(avail, Math.max(0, this.target(drawn0 + kmax) - w + kmax));
      this.reserve(w + maxJoin, kmax, maxJoin);
      if (maxJoin > 0) store.makeRoom(c as Columns, this.pendPos, maxJoin, this.ref, w);
      const ref = this.ref;
      const picked = this.picked;
      const joined = this.joined;
      const rng = this.rng;
      const done = this.inputDone;
      let drawn = drawn0;
      let k = 0;
      let nJoin = 0;
      while (k < kmax) {
        const t = this.target(drawn);
        while (w < t && nJoin < maxJoin) {
          const s = store.take();
          joined[nJoin++] = s;
          ref[w++] = s;
        }
        if ((w < t && !done) || w === 0) break;
        const j = rng.int(w);
        w--;
        picked[k++] = ref[j];
        ref[j] = ref[w];
        drawn++;
      }
      if (nJoin > 0) {
        store.add(c as Columns, this.pendPos, nJoin, joined);
        this.pendPos += nJoin;
        if (this.pendPos >= (c as Columns).rows) this.pend = null; // its rows are all in the store now
      }
      this.waiting = w;
      store.gather(picked, k, out);
      store.release(picked, k);
    }
  }

  /** Room for `refs` waiting slots, `draws` draws and `joins` rows joining in one block. */
  private reserve(refs: number, draws: number, joins: number): void {
    if (this.ref.length < refs) {
      const r = new Int32Array(Math.max(refs, 2 * this.ref.length, 1024));
      r.set(this.ref.subarray(0, this.waiting));
      this.ref = r;
    }
    if (this.picked.length < draws) this.picked = new Int32Array(draws);
    if (this.joined.length < joins) this.joined = new Int32Array(Math.max(joins, 2 * this.joined.length));
    (this.store as RowStore).reserve(joins, this.bufferRows + 2 * draws + 1);
  }

  state(): SourceState {
    return { kind: 'stream', epoch: this.epoch, rows: this.rows, seed: this.seed, shuffleBuffer: this.bufferRows, ended: this.ended, ...(this.bufferRows > 0 ? { shuffle: SHUFFLE_RULE } : {}) };
  }

  async restore(s: SourceState): Promise<void> {
    if (s.kind !== 'stream' || s.seed !== this.seed || s.shuffleBuffer !== this.bufferRows) {
      throw new ConfigError(`cannot restore a '${s.kind}' source state (seed ${String(s.seed)}, shuffle buffer ${String(s.shuffleBuffer)}) into this stream (seed ${this.seed}, shuffle buffer ${this.bufferRows})`);
    }
    if (this.bufferRows > 0 && s.shuffle !== SHUFFLE_RULE) {
      throw new ConfigError(`cannot restore this stream position: it was written by an earlier bhembed whose shuffle buffer drew rows in another order (rule '${String(s.shuffle ?? 'whole chunks')}', now '${SHUFFLE_RULE}'); start the run again, or finish it with the version that wrote it`);
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
    this.pend = null;
    if (it?.return) await it.return(undefined);
  }

  async close(): Promise<void> {
    await this.closeIterator();
    this.store?.dispose();
    this.store = null;
  }
}
