// The stream's shuffle buffer as rows: every waiting row sits in a slot of one row-major block (label, sample weight,
// single-valued ids and weights, dense values side by side), so drawing a random row reads a few adjacent cache
// lines instead of one line per column in whichever chunk it came from (2-3x faster to gather, and no chunk is kept
// alive by its last waiting rows). Multi-valued fields keep their values in a per-field arena, compacted when full.
//
//   slot s (Criteo, 39 single-valued fields): [label][f0 lo][f0 hi][f1 lo][f1 hi] … [f38 hi]   (79 words)
//   multi-valued field f: [start][count] in the slot; its ids at arena[f][2·start … 2·(start+count))

import type { BatchBuffer } from '../../core/batch.js';
import type { BatchShape, Columns } from './columns.js';

interface MultiArena {
  /** The field's values of the waiting rows: 2 u32 per value. */
  ids: Uint32Array;
  weights: Float32Array | null;
  /** Values written so far (live or left behind by rows drawn since the last compaction). */
  end: number;
}

/**
 * Slots of rows of one batch shape. add() copies rows of a chunk into slots, gather() appends slots' rows to a batch,
 * release() frees slots. Which slot holds which row is the caller's business (the stream keeps a list of them).
 */
export class RowStore {
  /** u32 words per slot. */
  readonly width: number;
  private readonly shape: BatchShape;
  private u32 = new Uint32Array(0);
  private f32 = new Float32Array(0);
  private free = new Int32Array(0);
  private nFree = 0;
  private cap = 0;
  // Word offsets in a slot: sample weight (-1: none), each single-valued field's ids and weight (-1: none), each
  // multi-valued field's [start, count], dense block.
  private readonly swAt: number;
  private readonly single: number[] = [];
  private readonly singleAt: number[] = [];
  private readonly singleWAt: number[] = [];
  private readonly multi: number[] = [];
  private readonly multiAt: number[] = [];
  private readonly denseAt: number;
  private readonly numDense: number;
  private readonly arenas: MultiArena[];
  /** Times an arena was compacted (tests follow it). */
  compactions = 0;

  constructor(shape: BatchShape) {
    this.shape = shape;
    let w = 1; // label
    this.swAt = shape.sampleWeights === true ? w++ : -1;
    shape.fields.forEach((f, i) => {
      if (f.multiValued) {
        this.multi.push(i);
        this.multiAt.push(w);
        w += 2;
      } else {
        this.single.push(i);
        this.singleAt.push(w);
        w += 2;
        this.singleWAt.push(f.weighted ? w++ : -1);
      }
    });
    this.denseAt = w;
    this.numDense = shape.numDense;
    this.width = w + shape.numDense;
    this.arenas = this.multi.map((f) => ({ ids: new Uint32Array(0), weights: shape.fields[f].weighted ? new Float32Array(0) : null, end: 0 }));
  }

  /** Free slots now. */
  get available(): number {
    return this.nFree;
  }

  /** Make at least n slots free: grows to max(needed, min(2 × capacity, limit)). Slots in use keep their rows. */
  reserve(n: number, limit: number): void {
    if (this.nFree >= n) return;
    const used = this.cap - this.nFree;
    const cap = Math.max(used + n, Math.min(2 * this.cap, limit), 1024);
    const u = new Uint32Array(cap * this.width);
    u.set(this.u32);
    this.u32 = u;
    this.f32 = new Float32Array(u.buffer);
    const free = new Int32Array(cap);
    free.set(this.free.subarray(0, this.nFree));
    // New slots are handed out lowest first.
    let k = this.nFree;
    for (let s = cap - 1; s >= this.cap; s--) free[k++] = s;
    this.free = free;
    this.nFree = k;
    this.cap = cap;
  }

  /** The next free slot (reserve first). */
  take(): number {
    return this.free[--this.nFree];
  }

  /** Free the slots. */
  release(slots: Int32Array, n: number): void {
    const free = this.free;
    let k = this.nFree;
    for (let i = 0; i < n; i++) free[k++] = slots[i];
    this.nFree = k;
  }

  /** Every slot free (a new pass); the memory is kept. */
  clear(): void {
    for (let s = 0; s < this.cap; s++) this.free[s] = this.cap - 1 - s;
    this.nFree = this.cap;
    for (const a of this.arenas) a.end = 0;
  }

  /** Drop the memory. */
  dispose(): void {
    this.u32 = new Uint32Array(0);
    this.f32 = new Float32Array(0);
    this.free = new Int32Array(0);
    this.nFree = 0;
    this.cap = 0;
    for (const a of this.arenas) {
      a.ids = new Uint32Array(0);
      a.weights = a.weights === null ? null : new Float32Array(0);
      a.end = 0;
    }
  }

  /**
   * Values of multi-valued fields that rows [r0, r0 + n) of c bring, per multi-valued field; makes room for them
   * in the arenas, compacting the live values of the slots `live[0 … nLive)` (every slot in use) when needed.
   */
  makeRoom(c: Columns, r0: number, n: number, live: Int32Array, nLive: number): void {
    for (let m = 0; m < this.multi.length; m++) {
      const o = c.fields[this.multi[m]].offsets as Int32Array | Uint32Array;
      const need = o[r0 + n] - o[r0];
      const a = this.arenas[m];
      if (a.end + need <= a.ids.length / 2) continue;
      this.compact(m, need, live, nLive);
    }
  }

  // Copies field m's values of the live slots to the front of a fresh arena, in slot-list order, with room for
  // `need` more (at least twice the live values, so compactions are rare: each value is copied O(1) times).
  private compact(m: number, need: number, live: Int32Array, nLive: number): void {
    const a = this.arenas[m];
    const at = this.multiAt[m];
    const u = this.u32;
    const W = this.width;
    let values = 0;
    for (let i = 0; i < nLive; i++) values += u[live[i] * W + at + 1];
    const cap = Math.max(1024, 2 * (values + need));
    const ids = new Uint32Array(2 * cap);
    const wts = a.weights === null ? null : new Float32Array(cap);
    let end = 0;
    for (let i = 0; i < nLive; i++) {
      const b = live[i] * W + at;
      const start = u[b];
      const n = u[b + 1];
      ids.set(a.ids.subarray(2 * start, 2 * (start + n)), 2 * end);
      if (wts !== null) wts.set((a.weights as Float32Array).subarray(start, start + n), end);
      u[b] = end;
      end += n;
    }
    a.ids = ids;
    a.weights = wts;
    a.end = end;
    this.compactions++;
  }

  /** Copy rows [r0, r0 + n) of c into slots[0 … n) (column by column: c is read in order). makeRoom first. */
  add(c: Columns, r0: number, n: number, slots: Int32Array): void {
    const u = this.u32;
    const F = this.f32;
    const W = this.width;
    const lab = c.labels;
    for (let i = 0; i < n; i++) F[slots[i] * W] = lab[r0 + i];
    if (this.swAt >= 0) {
      const sw = c.sampleWeights ?? null;
      const at = this.swAt;
      for (let i = 0; i < n; i++) F[slots[i] * W + at] = sw === null ? 1 : sw[r0 + i];
    }
    for (let s = 0; s < this.single.length; s++) {
      const col = c.fields[this.single[s]];
      const ids = col.ids;
      const at = this.singleAt[s];
      for (let i = 0; i < n; i++) {
        const b = slots[i] * W + at;
        const r = 2 * (r0 + i);
        u[b] = ids[r];
        u[b + 1] = ids[r + 1];
      }
      const wat = this.singleWAt[s];
      if (wat >= 0) {
        const w = col.weights ?? null;
        for (let i = 0; i < n; i++) F[slots[i] * W + wat] = w === null ? 1 : w[r0 + i];
      }
    }
    for (let m = 0; m < this.multi.length; m++) {
      const col = c.fields[this.multi[m]];
      const o = col.offsets as Int32Array | Uint32Array;
      const ids = col.ids;
      const w = col.weights ?? null;
      const a = this.arenas[m];
      const at = this.multiAt[m];
      let end = a.end;
      for (let i = 0; i < n; i++) {
        const lo = o[r0 + i];
        const k = o[r0 + i + 1] - lo;
        const b = slots[i] * W + at;
        u[b] = end;
        u[b + 1] = k;
        a.ids.set(ids.subarray(2 * lo, 2 * (lo + k)), 2 * end);
        if (a.weights !== null) {
          if (w === null) a.weights.fill(1, end, end + k);
          else a.weights.set(w.subarray(lo, lo + k), end);
        }
        end += k;
      }
      a.end = end;
    }
    const nd = this.numDense;
    if (nd > 0) {
      const d = c.dense as Float32Array;
      const at = this.denseAt;
      for (let i = 0; i < n; i++) {
        const b = slots[i] * W + at;
        const r = (r0 + i) * nd;
        for (let k = 0; k < nd; k++) F[b + k] = d[r + k];
      }
    }
  }

  /** Append the rows of slots[0 … n) to out after its out.size rows (row by row: each slot is read once). */
  gather(slots: Int32Array, n: number, out: BatchBuffer): void {
    const at0 = out.size;
    const u = this.u32;
    const F = this.f32;
    const W = this.width;
    const labels = out.labels;
    const sw = this.swAt >= 0 ? out.sampleWeights : null;
    const swAt = this.swAt;
    const S = this.single.length;
    const outIds = this.single.map((f) => out.fields[f].ids);
    const sAt = this.singleAt;
    // Weighted single-valued fields (libffm-like data) in a loop of their own: the common case has none.
    const weighted = this.single.flatMap((f, s) => (this.singleWAt[s] >= 0 && out.fields[f].weights ? [s] : []));
    const outW = weighted.map((s) => out.fields[this.single[s]].weights as Float32Array);
    const wAt = weighted.map((s) => this.singleWAt[s]);
    const nd = this.numDense;
    const dense = out.dense;
    const dAt = this.denseAt;
    for (let i = 0; i < n; i++) {
      const b = slots[i] * W;
      const o = at0 + i;
      labels[o] = F[b];
      if (sw !== null) sw[o] = F[b + swAt];
      for (let s = 0; s < S; s++) {
        const p = b + sAt[s];
        const ids = outIds[s];
        ids[2 * o] = u[p];
        ids[2 * o + 1] = u[p + 1];
      }
      for (let s = 0; s < outW.length; s++) outW[s][o] = F[b + wAt[s]];
      if (nd > 0 && dense !== null) {
        const p = b + dAt;
        const q = o * nd;
        for (let k = 0; k < nd; k++) dense[q + k] = F[p + k];
      }
    }
    for (let m = 0; m < this.multi.length; m++) {
      const f = this.multi[m];
      const a = this.arenas[m];
      const at = this.multiAt[m];
      const offs = out.fields[f].offsets as Int32Array;
      if (at0 === 0) offs[0] = 0;
      let total = offs[at0];
      for (let i = 0; i < n; i++) total += u[slots[i] * W + at + 1];
      const ids = out.reserveValues(f, total);
      const ow = out.fields[f].weights ?? null; // reserveValues may have replaced the arrays
      let v = offs[at0];
      for (let i = 0; i < n; i++) {
        const b = slots[i] * W + at;
        const start = u[b];
        const k = u[b + 1];
        ids.set(a.ids.subarray(2 * start, 2 * (start + k)), 2 * v);
        if (ow !== null) {
          if (a.weights === null) ow.fill(1, v, v + k);
          else ow.set(a.weights.subarray(start, start + k), v);
        }
        v += k;
        offs[at0 + i + 1] = v;
      }
    }
    out.size = at0 + n;
  }
}
